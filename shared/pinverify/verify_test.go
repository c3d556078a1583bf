package pinverify_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/tenancy"
)

const rightPIN = "482917"

// withPIN returns a link fixture whose account acct-1 has the PIN rightPIN.
func withPIN(t *testing.T) *linkFixture {
	t.Helper()
	f := newLinkFixture(t)
	_, tok := f.send()
	if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, rightPIN, rightPIN); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *linkFixture) verify(pin string) (*pinverify.Verified, error) {
	return f.svc.VerifyPIN(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", pin)
}

// remaining returns the attemptsRemaining a wrong answer carries, or -1.
func remaining(err error) int {
	e, ok := err.(*latchkey.Error)
	if !ok {
		return -1
	}
	n, ok := e.Fields["attemptsRemaining"].(int)
	if !ok || e.Fields["verified"] != false {
		return -1
	}
	return n
}

// audits counts the tenant's audit events of action with result and reason.
func (f *linkFixture) audits(action latchkey.Action, result, reason string) int {
	f.t.Helper()
	events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 500)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Action == action && e.Result == result && (reason == "*" || e.Reason == reason) {
			n++
		}
	}
	return n
}

func TestService_VerifyPIN(t *testing.T) {
	t.Run("right PIN verifies for the tenant's hour, recorded with agent and method", func(t *testing.T) {
		f := withPIN(t)
		v, err := f.verify(rightPIN)
		if err != nil || !v.Verified || !v.VerifiedUntil.Equal(f.clock.Now().Add(time.Hour)) {
			t.Fatalf("got %+v, %v; want verified until now+1h", v, err)
		}
		st, _ := f.svc.Status(f.ctx, f.tenant.ID, "acct-1")
		if !st.Verified || st.VerifiedBy != f.admin.ID || st.Method != latchkey.VerifiedByPIN || st.Locked {
			t.Errorf("status: got %+v, want verified by %s with pin", st, f.admin.ID)
		}
		f.clock.Advance(59*time.Minute + 59*time.Second)
		if st, _ := f.svc.Status(f.ctx, f.tenant.ID, "acct-1"); !st.Verified {
			t.Errorf("status a second before the hour ends: got %+v, want verified", st)
		}
		f.clock.Advance(time.Second)
		if st, _ := f.svc.Status(f.ctx, f.tenant.ID, "acct-1"); st.Verified || st.VerifiedUntil != nil || st.VerifiedBy != "" {
			t.Errorf("status after the hour: got %+v, want not verified, nothing shown", st)
		}
		if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, f.tenant.ID, "test", "verificationMinutes=15", func(s *latchkey.Settings) { s.VerificationMinutes = 15 }); err != nil {
			t.Fatal(err)
		}
		if v, err := f.verify(rightPIN); err != nil || !v.VerifiedUntil.Equal(f.clock.Now().Add(15*time.Minute)) {
			t.Errorf("with verificationMinutes 15: got %+v, %v; want until now+15m", v, err)
		}
		if n := f.audits(latchkey.ActionSecurityPINVerify, latchkey.ResultSuccess, ""); n != 2 {
			t.Errorf("audit: got %d successful verifications, want 2", n)
		}
	})
	t.Run("wrong PINs count down, the fifth locks until a reset link is used", func(t *testing.T) {
		f := withPIN(t)
		for want := 4; want >= 1; want-- {
			_, err := f.verify("739105")
			if code(err) != latchkey.EWrongPIN || remaining(err) != want {
				t.Fatalf("wrong PIN: got %v (remaining %d), want %s with %d remaining", err, remaining(err), latchkey.EWrongPIN, want)
			}
		}
		if _, err := f.verify("739105"); code(err) != latchkey.EPINVerificationLocked {
			t.Fatalf("fifth wrong PIN: got %v, want %s", err, latchkey.EPINVerificationLocked)
		}
		if _, err := f.verify(rightPIN); code(err) != latchkey.EPINVerificationLocked {
			t.Errorf("right PIN while locked: got %v, want %s", err, latchkey.EPINVerificationLocked)
		}
		if st, _ := f.svc.Status(f.ctx, f.tenant.ID, "acct-1"); !st.Locked || st.Verified {
			t.Errorf("status: got %+v, want locked", st)
		}
		if n := f.audits(latchkey.ActionSecurityPINLocked, latchkey.ResultSuccess, ""); n != 1 {
			t.Errorf("audit: got %d lock events, want 1", n)
		}
		sent, tok := f.send()
		if sent.Purpose != latchkey.PINLinkReset {
			t.Fatalf("link: got %s, want reset", sent.Purpose)
		}
		if _, err := f.verify(rightPIN); code(err) != latchkey.EPINVerificationLocked {
			t.Errorf("locked until the reset link is used: got %v", err)
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "739105", "739105"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.verify(rightPIN); code(err) != latchkey.EWrongPIN || remaining(err) != 4 {
			t.Errorf("old PIN after the reset: got %v, want wrong with 4 remaining", err)
		}
		if v, err := f.verify("739105"); err != nil || !v.Verified {
			t.Errorf("new PIN: got %+v, %v; want verified", v, err)
		}
	})
	t.Run("a right PIN ends the count of consecutive failures", func(t *testing.T) {
		f := withPIN(t)
		for i := 0; i < 4; i++ {
			_, _ = f.verify("739105")
		}
		if _, err := f.verify(rightPIN); err != nil {
			t.Fatal(err)
		}
		if _, err := f.verify("739105"); remaining(err) != 4 {
			t.Errorf("after a success: got %v (remaining %d), want 4 remaining", err, remaining(err))
		}
	})
	t.Run("refusals that take no attempt", func(t *testing.T) {
		f := newLinkFixture(t)
		if _, err := f.verify(rightPIN); code(err) != latchkey.EPINNotSet {
			t.Errorf("no PIN yet: got %v, want %s", err, latchkey.EPINNotSet)
		}
		if _, err := f.svc.VerifyPIN(f.ctx, f.tenant.ID, f.admin.ID, "nobody", rightPIN); code(err) != latchkey.ENotFound {
			t.Errorf("unknown account: got %v, want %s", err, latchkey.ENotFound)
		}
		for _, pin := range []string{"", "12345", "1234567", "12345a", "１２３４５６"} {
			if _, err := f.verify(pin); code(err) != latchkey.EValidation {
				t.Errorf("PIN %q: got %v, want %s", pin, err, latchkey.EValidation)
			}
		}
		if a := f.account(); a.VerifyFailures != 0 {
			t.Errorf("failures: got %d, want 0", a.VerifyFailures)
		}
		if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, f.tenant.ID, "test", "securityPin=off", func(s *latchkey.Settings) { s.SecurityPIN = false }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.verify(rightPIN); code(err) != latchkey.ESecurityPINDisabled {
			t.Errorf("switch off: got %v, want %s", err, latchkey.ESecurityPINDisabled)
		}
	})
}

// 20 concurrent wrong PINs: exactly 5 are compared and recorded as
// failures, every other answer is 423; and with the right PIN among 19
// wrong ones no more than 5 are compared.
func TestService_VerifyPIN_Concurrent(t *testing.T) {
	f := withPIN(t)
	errs := testenv.Concurrently(20, func(int) error { _, err := f.verify("739105"); return err })
	if n := tally(errs); n[latchkey.EWrongPIN] != 4 || n[latchkey.EPINVerificationLocked] != 16 {
		t.Errorf("got %v by error code, want 4 wrong, then the fifth and the 15 refused locked", n)
	}
	if n := f.audits(latchkey.ActionSecurityPINVerify, latchkey.ResultFailure, "wrong_pin"); n != 5 {
		t.Errorf("audit: got %d failures recorded, want exactly 5", n)
	}
	if a := f.account(); a.VerifyFailures != 5 || a.VerifyLockedAt == nil {
		t.Errorf("account: got %d failures, lockedAt %v; want 5 and locked", a.VerifyFailures, a.VerifyLockedAt)
	}
	if _, err := f.verify(rightPIN); code(err) != latchkey.EPINVerificationLocked {
		t.Errorf("then the right PIN: got %v, want 423", err)
	}

	g := withPIN(t)
	errs = testenv.Concurrently(20, func(i int) error {
		pin := "739105"
		if i == 13 {
			pin = rightPIN
		}
		_, err := g.verify(pin)
		return err
	})
	compared := g.audits(latchkey.ActionSecurityPINVerify, latchkey.ResultFailure, "wrong_pin") + g.audits(latchkey.ActionSecurityPINVerify, latchkey.ResultSuccess, "")
	if compared > latchkey.MaxPINVerifyFailures {
		t.Errorf("right among wrong: %d PINs compared, want at most %d", compared, latchkey.MaxPINVerifyFailures)
	}
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok > 1 {
		t.Errorf("got %d successes, want at most the one right PIN", ok)
	}
}

var sixDigits = regexp.MustCompile(`\b(\d{6})\b`)

// code waits for a verification code e-mail to to that holds a code not
// seen before, checks the SMS to mobile (when given) carries the same code,
// remembers it as a secret and returns it.
func (f *linkFixture) code(to, mobile string) string {
	f.t.Helper()
	var got string
	testenv.WaitForEmail(f.t, to, func(e devstack.ReceivedEmail) bool {
		m := sixDigits.FindStringSubmatch(e.Text)
		if !strings.Contains(e.Subject, "verification code") || m == nil || f.seen[m[1]] {
			return false
		}
		got = m[1]
		return true
	})
	f.seen[got] = true
	testenv.Remember(got)
	if mobile != "" {
		found := false
		for _, m := range f.box.Messages() {
			found = found || (m.PhoneNumber == mobile && strings.Contains(m.Message, got))
		}
		if !found {
			f.t.Errorf("SMS: no message to %s with the code (%+v)", mobile, f.box.Messages())
		}
	}
	return got
}

func (f *linkFixture) sendCode() (*pinverify.CodeSent, string) {
	f.t.Helper()
	out, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c1")
	if err != nil {
		f.t.Fatalf("send code: %v", err)
	}
	return out, f.code(f.owner, "+447911123456")
}

func (f *linkFixture) verifyCode(c string) (*pinverify.Verified, error) {
	return f.svc.VerifyCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", c)
}

// wrongCode returns a 6-digit code that is not c.
func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

func TestService_Codes(t *testing.T) {
	t.Run("sent by e-mail and SMS, used once, verifies for the hour", func(t *testing.T) {
		f := newLinkFixture(t)
		out, c := f.sendCode()
		if out.SentTo.Email != latchkey.MaskEmail(f.owner) || out.SentTo.SMS != "+44*******456" || !out.ExpiresAt.Equal(f.clock.Now().Add(10*time.Minute)) {
			t.Errorf("sent: got %+v, want masked e-mail and mobile, expiring in 10 minutes", out)
		}
		v, err := f.verifyCode(c)
		if err != nil || !v.Verified || !v.VerifiedUntil.Equal(f.clock.Now().Add(time.Hour)) {
			t.Fatalf("verify: got %+v, %v; want verified for an hour", v, err)
		}
		if st, _ := f.svc.Status(f.ctx, f.tenant.ID, "acct-1"); !st.Verified || st.Method != latchkey.VerifiedByCode || st.VerifiedBy != f.admin.ID {
			t.Errorf("status: got %+v, want verified by code", st)
		}
		if _, err := f.verifyCode(c); code(err) != latchkey.ECodeGone {
			t.Errorf("second use: got %v, want %s", err, latchkey.ECodeGone)
		}
		if n := f.audits(latchkey.ActionCodeSent, latchkey.ResultSuccess, "contact:c1"); n != 1 {
			t.Errorf("audit: got %d code sends, want 1", n)
		}
		if n := f.audits(latchkey.ActionCodeVerify, latchkey.ResultSuccess, "contact:c1"); n != 1 {
			t.Errorf("audit: got %d code uses, want 1", n)
		}
		// Only a MAC is at rest.
		res, err := testenv.DB(t).Query(f.ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(f.deps.Config.TableName),
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#ACCOUNT#acct-1"}},
		})
		if err != nil || len(res.Items) != 2 {
			t.Fatalf("partition: got %d items (%v), want the account and its code record", len(res.Items), err)
		}
		for _, it := range res.Items {
			for name, v := range it {
				if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, c) {
					t.Errorf("the code %s is stored in plaintext, in %s", c, name)
				}
			}
		}
	})
	t.Run("refused 1 second after its 10 minutes though still in the table", func(t *testing.T) {
		f := newLinkFixture(t)
		_, c := f.sendCode()
		f.clock.Advance(10*time.Minute + time.Second)
		if _, err := f.verifyCode(c); code(err) != latchkey.ECodeGone {
			t.Errorf("got %v, want %s", err, latchkey.ECodeGone)
		}
		_, rec, err := f.deps.Store.GetAccountWithCode(f.ctx, f.tenant.ID, "acct-1")
		if err != nil || rec == nil || rec.MAC == "" {
			t.Fatalf("record: got %+v, %v; want the expired code still in the table", rec, err)
		}
		g := newLinkFixture(t)
		_, c = g.sendCode()
		g.clock.Advance(10*time.Minute - time.Second)
		if _, err := g.verifyCode(c); err != nil {
			t.Errorf("a second before: got %v, want verified", err)
		}
	})
	t.Run("a resend after 4 failures leaves one attempt; a new code cancels the old", func(t *testing.T) {
		f := newLinkFixture(t)
		_, first := f.sendCode()
		for want := 4; want >= 1; want-- {
			if _, err := f.verifyCode(wrongCode(first)); code(err) != latchkey.EWrongCode || remaining(err) != want {
				t.Fatalf("wrong code: got %v (remaining %d), want %s with %d", err, remaining(err), latchkey.EWrongCode, want)
			}
		}
		f.clock.Advance(latchkey.CodeResendGap)
		_, second := f.sendCode()
		if first != second {
			if _, err := f.verifyCode(first); code(err) != latchkey.EWrongCode || remaining(err) != 0 {
				t.Errorf("the old code: got %v (remaining %d), want wrong with 0 remaining", err, remaining(err))
			}
		} else if _, err := f.verifyCode(wrongCode(second)); remaining(err) != 0 {
			t.Errorf("one wrong: got %v (remaining %d), want 0 remaining", err, remaining(err))
		}
		if _, err := f.verifyCode(second); code(err) != latchkey.ECodeGone {
			t.Errorf("the new code after its one attempt: got %v, want %s", err, latchkey.ECodeGone)
		}
		// Out of attempts: a new code waits until the failures are forgotten.
		f.clock.Advance(latchkey.CodeResendGap)
		_, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c1")
		var le *latchkey.Error
		if code(err) != latchkey.ERateLimited || !asError(err, &le) || le.RetryAfterSeconds < 500 || le.RetryAfterSeconds > 600 {
			t.Fatalf("send out of attempts: got %v, want %s with Retry-After ~ 10 minutes", err, latchkey.ERateLimited)
		}
		f.clock.Advance(time.Duration(le.RetryAfterSeconds) * time.Second)
		_, third := f.sendCode()
		if _, err := f.verifyCode(wrongCode(third)); remaining(err) != 4 {
			t.Errorf("after the failures are forgotten: got %v (remaining %d), want 4", err, remaining(err))
		}
		if _, err := f.verifyCode(third); err != nil {
			t.Errorf("third code: got %v, want verified", err)
		}
	})
	t.Run("sends are throttled per account with Retry-After", func(t *testing.T) {
		f := newLinkFixture(t)
		f.sendCode()
		_, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c2")
		var le *latchkey.Error
		if !asError(err, &le) || le.Code != latchkey.ERateLimited || le.RetryAfterSeconds != 30 {
			t.Fatalf("at once: got %v, want %s with Retry-After 30", err, latchkey.ERateLimited)
		}
		for i := 2; i <= latchkey.CodeSendsPerHour; i++ {
			f.clock.Advance(latchkey.CodeResendGap)
			if _, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c2"); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		f.clock.Advance(latchkey.CodeResendGap)
		_, err = f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c2")
		wait := time.Hour - time.Duration(latchkey.CodeSendsPerHour)*latchkey.CodeResendGap
		if !asError(err, &le) || le.Code != latchkey.ERateLimited || le.RetryAfterSeconds != int(wait.Seconds()) {
			t.Fatalf("send %d: got %v, want %s with Retry-After %v", latchkey.CodeSendsPerHour+1, err, latchkey.ERateLimited, wait)
		}
		f.clock.Advance(wait)
		if _, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c2"); err != nil {
			t.Errorf("after the hour: got %v, want sent", err)
		}
	})
	t.Run("contacts", func(t *testing.T) {
		f := newLinkFixture(t)
		out, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c3")
		if err != nil || out.SentTo.SMS != "" || out.SentTo.Email == "" {
			t.Errorf("an other contact with an e-mail only: got %+v, %v; want e-mail only", out, err)
		}
		if _, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "nobody"); code(err) != latchkey.EValidation {
			t.Errorf("unknown contact: got %v, want %s", err, latchkey.EValidation)
		}
		if _, err := f.svc.SendCode(f.ctx, f.tenant.ID, f.admin.ID, "no-such", "c1"); code(err) != latchkey.ENotFound {
			t.Errorf("unknown account: got %v, want %s", err, latchkey.ENotFound)
		}
		if _, err := f.verifyCode("12345"); code(err) != latchkey.EValidation {
			t.Errorf("5 digits: got %v, want %s", err, latchkey.EValidation)
		}
		if _, err := f.svc.VerifyCode(f.ctx, f.tenant.ID, f.admin.ID, "no-such", "123456"); code(err) != latchkey.ECodeGone {
			t.Errorf("no code: got %v, want %s", err, latchkey.ECodeGone)
		}
	})
}

func asError(err error, out **latchkey.Error) bool {
	e, ok := err.(*latchkey.Error)
	*out = e
	return ok
}

// Ten concurrent verifications of one right code: exactly one succeeds.
func TestService_VerifyCode_Concurrent(t *testing.T) {
	f := newLinkFixture(t)
	_, c := f.sendCode()
	errs := testenv.Concurrently(10, func(int) error { _, err := f.verifyCode(c); return err })
	if n := tally(errs); n[""] != 1 || n[latchkey.ECodeGone] != 9 {
		t.Errorf("got %v by error code, want 1 success and 9 %s", n, latchkey.ECodeGone)
	}
}

// Over HTTP: the answers' shapes, and who may call each route of the
// functions serving accounts: a user without a staff role is refused on
// every staff route, an agent of another tenant on every route.
func TestVerify_HTTP(t *testing.T) {
	f := withPIN(t)
	other := withPIN(t)
	gw, err := f.deps.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	token := func(fx *linkFixture, name string, role latchkey.Role) string {
		u, temp, err := fx.deps.Tenancy.CreateUser(fx.ctx, fx.tenant, fx.admin.ID, tenancy.NewUser{
			Username: name, Email: name + "@" + fx.tenant.ID + ".latchkey.test", Roles: []latchkey.Role{role},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := fx.deps.Tokens.Issue(fx.tenant.ID, u.ID, u.Roles, u.SessionVersion)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp, tok)
		return tok
	}
	agent, user, stranger := token(f, "agent1", latchkey.RoleAgent), token(f, "user1", latchkey.RoleUser), token(other, "agent2", latchkey.RoleAgent)
	api := srv.URL + "/v1/tenants/" + f.tenant.ID
	do := func(method, path, tok, body string) (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, api+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, res.Header, out
	}

	st, _, out := do("POST", "/accounts/acct-1/security-pin/verify", agent, `{"pin":"739105"}`)
	if e, _ := out["error"].(map[string]any); st != http.StatusUnprocessableEntity || out["verified"] != false || out["attemptsRemaining"] != 4.0 || e["code"] != latchkey.EWrongPIN {
		t.Errorf("wrong PIN: got %d %v, want 422 {verified:false, attemptsRemaining:4, error:{code:wrong_pin}}", st, out)
	}
	st, _, out = do("POST", "/accounts/acct-1/security-pin/verify", agent, `{"pin":"`+rightPIN+`"}`)
	if st != http.StatusOK || out["verified"] != true || out["verifiedUntil"] != "2026-11-02T10:00:00Z" {
		t.Errorf("right PIN: got %d %v, want 200 verified until 10:00", st, out)
	}
	st, _, out = do("POST", "/accounts/acct-1/verification-codes", agent, `{"contactId":"c1"}`)
	if sent, _ := out["sentTo"].(map[string]any); st != http.StatusAccepted || sent["sms"] != "+44*******456" || out["expiresAt"] != "2026-11-02T09:10:00Z" {
		t.Errorf("send code: got %d %v, want 202 sent to the masked mobile, expiring 09:10", st, out)
	}
	c := f.code(f.owner, "+447911123456")
	st, hdr, out := do("POST", "/accounts/acct-1/verification-codes", agent, `{"contactId":"c1"}`)
	if st != http.StatusTooManyRequests || hdr.Get("Retry-After") != "30" {
		t.Errorf("resend at once: got %d Retry-After %q %v, want 429 with Retry-After 30", st, hdr.Get("Retry-After"), out)
	}
	st, _, out = do("POST", "/accounts/acct-1/verification-codes/verify", agent, `{"code":"`+wrongCode(c)+`"}`)
	if st != http.StatusUnprocessableEntity || out["attemptsRemaining"] != 4.0 || out["verified"] != false {
		t.Errorf("wrong code: got %d %v, want 422 with 4 remaining", st, out)
	}
	if st, _, out = do("POST", "/accounts/acct-1/verification-codes/verify", agent, `{"code":"`+c+`"}`); st != http.StatusOK || out["verified"] != true {
		t.Errorf("right code: got %d %v, want 200", st, out)
	}
	if st, _, out = do("POST", "/accounts/acct-1/verification-codes/verify", agent, `{"code":"`+c+`"}`); st != http.StatusGone || out["error"].(map[string]any)["code"] != latchkey.ECodeGone {
		t.Errorf("used code: got %d %v, want 410 code_gone", st, out)
	}

	// Every route of the functions serving accounts, from the route table.
	bodies := map[string]string{
		"PUT /accounts/{accountId}":                            `{"name":"X","contacts":[{"id":"c1","name":"O","role":"owner","email":"o@x.example"}]}`,
		"POST /accounts/{accountId}/security-pin/links":        `{"contactId":"c1"}`,
		"POST /accounts/{accountId}/security-pin/verify":       `{"pin":"` + rightPIN + `"}`,
		"POST /accounts/{accountId}/verification-codes":        `{"contactId":"c1"}`,
		"POST /accounts/{accountId}/verification-codes/verify": `{"code":"123456"}`,
		"POST /security-pin/links/{token}":                     `{"pin":"` + rightPIN + `","pinConfirm":"` + rightPIN + `"}`,
		"PUT /users/{userId}/pin":                              `{"pin":"` + rightPIN + `"}`,
		"PUT /me/pin":                                          `{"currentPin":"` + rightPIN + `","newPin":"739105"}`,
	}
	staff := 0
	for _, r := range catalog.Routes() {
		if r.Function != pinverify.FnPINVerification && r.Function != pinverify.FnAccounts {
			continue
		}
		path := strings.NewReplacer("{accountId}", "acct-1", "{userId}", f.admin.ID, "{token}", "q3Jt0Yx8cVvN2bWfK7LmPzR4sT6uA9eHdG1iJ5kOwXE").Replace(r.Path)
		body := bodies[r.Method+" "+r.Path]
		if r.Public() {
			// A token of another tenant changes nothing on a public route:
			// the unknown link is gone for everyone.
			if st, _, out := do(r.Method, path, stranger, body); st != http.StatusGone {
				t.Errorf("%s with another tenant's token: got %d %v, want 410", r.Key(), st, out)
			}
			continue
		}
		if st, _, out := do(r.Method, path, stranger, body); st != http.StatusForbidden && st != http.StatusUnauthorized {
			t.Errorf("%s by another tenant's agent: got %d %v, want 401 or 403", r.Key(), st, out)
		}
		if r.Allows([]latchkey.Role{latchkey.RoleUser}) {
			continue
		}
		staff++
		if st, _, out := do(r.Method, path, user, body); st != http.StatusForbidden {
			t.Errorf("%s by a user without a staff role: got %d %v, want 403", r.Key(), st, out)
		}
	}
	if staff < 7 {
		t.Errorf("checked %d staff routes, want every one of the function's (at least 7)", staff)
	}
	// Nothing the strangers and users sent changed the account.
	if a := f.account(); a.Name != "Acme Holdings" || a.VerifyFailures != 0 {
		t.Errorf("account after refused calls: got name %q failures %d, want unchanged", a.Name, a.VerifyFailures)
	}
}
