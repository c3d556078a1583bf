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

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
)

const publicBase = "https://pages.latchkey.test"

var linkToken = regexp.MustCompile(`/security-pin#([A-Za-z0-9_-]+)`)

// linkFixture is a fixture whose tenant has the security PIN on, whose
// services send SMS to an outbox, and which holds account acct-1 with an
// owner (with a mobile), an authorized and an other contact, each with an
// address of the test's own.
type linkFixture struct {
	*fixture
	deps  *system.Deps
	box   *devstack.Outbox
	owner string // the owner's e-mail address
	seen  map[string]bool
}

func newLinkFixture(t *testing.T) *linkFixture {
	t.Helper()
	f := newFixture(t)
	box := testenv.NewOutbox(t)
	cfg, err := awscfg.Load(f.ctx, box.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	d := system.Build(config.Config{TableName: f.deps.Config.TableName, SenderEmail: testenv.Sender, PublicBaseURL: publicBase + "/"},
		testenv.Logger(), f.clock.Now, f.deps.Keys, f.deps.Store, ses.New(testenv.SESClient(t), testenv.Sender),
		sns.New(sns.NewClientFrom(cfg, box.Endpoint()), ""))
	f.svc = d.PINVerify
	if _, err := d.Tenancy.UpdateSettings(f.ctx, f.tenant.ID, "test", "securityPin=on", func(s *latchkey.Settings) { s.SecurityPIN = true }); err != nil {
		t.Fatal(err)
	}
	lf := &linkFixture{fixture: f, deps: d, box: box, owner: "olive@" + f.tenant.ID + ".example", seen: map[string]bool{}}
	in := pinverify.AccountInput{Name: "Acme Holdings", Contacts: []latchkey.Contact{
		{ID: "c1", Name: "Olive Owner", Role: latchkey.ContactOwner, Email: lf.owner, Mobile: "+44 7911 123456"},
		{ID: "c2", Name: "Arne Authorized", Role: latchkey.ContactAuthorized, Email: "arne@" + f.tenant.ID + ".example"},
		{ID: "c3", Name: "Front desk", Role: latchkey.ContactOther, Email: "desk@" + f.tenant.ID + ".example"},
	}}
	if _, err := f.svc.Upsert(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", in); err != nil {
		t.Fatal(err)
	}
	return lf
}

// token waits for an e-mail to to holding a link token not seen before,
// remembers it as a secret and returns it.
func (f *linkFixture) token(to string) string {
	f.t.Helper()
	var got string
	testenv.WaitForEmail(f.t, to, func(e devstack.ReceivedEmail) bool {
		for _, m := range linkToken.FindAllStringSubmatch(e.Text, -1) {
			if !f.seen[m[1]] {
				got = m[1]
				return true
			}
		}
		return false
	})
	f.seen[got] = true
	testenv.Remember(got)
	return got
}

// send sends a link to contact c1 and returns its token.
func (f *linkFixture) send() (*pinverify.LinkSent, string) {
	f.t.Helper()
	out, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c1")
	if err != nil {
		f.t.Fatalf("send link: %v", err)
	}
	return out, f.token(f.owner)
}

func (f *linkFixture) account() *latchkey.Account {
	f.t.Helper()
	a, err := f.svc.Get(f.ctx, f.tenant.ID, "acct-1")
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// The journey over HTTP through the local gateway: an agent upserts an
// account and sends a link, which arrives by e-mail and SMS; the public
// page reads it and sets the PIN; the link is then gone.
func TestLinks_Journey(t *testing.T) {
	f := newLinkFixture(t)
	gw, err := f.deps.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, f.admin.ID, tenancy.NewUser{
		Username: "agent1", Email: "agent1@" + f.tenant.ID + ".latchkey.test", Roles: []latchkey.Role{latchkey.RoleAgent},
	})
	if err != nil {
		t.Fatal(err)
	}
	agent, _, err := f.deps.Tokens.Issue(f.tenant.ID, u.ID, u.Roles, u.SessionVersion)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp, agent)
	api := srv.URL + "/v1/tenants/" + f.tenant.ID
	do := func(method, url, tok, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
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
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: body: %v", method, url, err)
		}
		return res.StatusCode, out
	}
	email := "jane@" + f.tenant.ID + ".example"
	body := `{"name":"Demo Holdings Ltd","contacts":[{"id":"c-owner","name":"Jane Doe","role":"owner","email":"` + email + `","mobile":"+44 7911 123456"},{"id":"c-desk","name":"Front desk","role":"other"}]}`
	if st, out := do("PUT", api+"/accounts/acct-1001", agent, body); st != http.StatusOK {
		t.Fatalf("upsert: got %d %v, want 200", st, out)
	}
	st, out := do("POST", api+"/accounts/acct-1001/security-pin/links", agent, `{"contactId":"c-owner"}`)
	sentTo, _ := out["sentTo"].(map[string]any)
	if st != http.StatusAccepted || out["purpose"] != "setup" || out["expiresAt"] != "2026-11-03T09:00:00Z" ||
		sentTo["email"] != latchkey.MaskEmail(email) || sentTo["sms"] != "+44*******456" {
		t.Fatalf("send: got %d %v, want 202 setup, expiring in 24 h, sent to the masked e-mail and +44*******456", st, out)
	}
	tok := f.token(email)
	mail := testenv.Emails(t, email)[0]
	if !strings.Contains(mail.Text, publicBase+"/t/"+f.tenant.ID+"/security-pin#"+tok) || !strings.Contains(mail.Subject, "Set your") {
		t.Errorf("e-mail: got %q %q, want a set-up link %s/t/%s/security-pin#<token>", mail.Subject, mail.Text, publicBase, f.tenant.ID)
	}
	msgs := f.box.Messages()
	if len(msgs) != 1 || msgs[0].PhoneNumber != "+447911123456" || !strings.Contains(msgs[0].Message, publicBase+"/t/"+f.tenant.ID+"/security-pin#"+tok) {
		t.Errorf("SMS: got %+v, want one to +447911123456 with the same link", msgs)
	}
	link := api + "/security-pin/links/" + tok
	if st, out := do("GET", link, "", ""); st != http.StatusOK || out["accountName"] != "Demo Holdings Ltd" || out["purpose"] != "setup" || out["expiresAt"] != "2026-11-03T09:00:00Z" {
		t.Errorf("GET link: got %d %v, want 200 Demo Holdings Ltd, setup", st, out)
	}
	for _, tt := range []struct{ body, code string }{
		{`{"pin":"12345","pinConfirm":"12345"}`, latchkey.EValidation},
		{`{"pin":"12a456","pinConfirm":"12a456"}`, latchkey.EValidation},
		{`{"pin":"482917","pinConfirm":"482918"}`, latchkey.EPINMismatch},
		{`{"pin":"111111","pinConfirm":"111111"}`, latchkey.EPINTooSimple},
		{`{"pin":"987654","pinConfirm":"987654"}`, latchkey.EPINTooSimple},
	} {
		st, out := do("POST", link, "", tt.body)
		if e, _ := out["error"].(map[string]any); st != http.StatusBadRequest || e["code"] != tt.code {
			t.Errorf("POST %s: got %d %v, want 400 %s", tt.body, st, out, tt.code)
		}
	}
	if st, out := do("POST", link, "", `{"pin":"482917","pinConfirm":"482917"}`); st != http.StatusOK || out["status"] != "setup_complete" {
		t.Fatalf("POST link: got %d %v, want 200 setup_complete", st, out)
	}
	if st, out := do("GET", link, "", ""); st != http.StatusGone || out["error"].(map[string]any)["code"] != latchkey.EGone {
		t.Errorf("GET used link: got %d %v, want 410 link_gone", st, out)
	}
	if st, out := do("GET", api+"/accounts/acct-1001/security-status", agent, ""); st != http.StatusOK || out["pinSet"] != true || out["verified"] != false {
		t.Errorf("status: got %d %v, want pinSet, not verified", st, out)
	}
	// The caller tells the agent the PIN: verified for the hour, then not.
	if st, out := do("POST", api+"/accounts/acct-1001/security-pin/verify", agent, `{"pin":"482917"}`); st != http.StatusOK || out["verified"] != true || out["verifiedUntil"] != "2026-11-02T10:00:00Z" {
		t.Fatalf("verify: got %d %v, want 200 verified until 10:00", st, out)
	}
	if st, out := do("GET", api+"/accounts/acct-1001/security-status", agent, ""); st != http.StatusOK || out["verified"] != true || out["verifiedBy"] != u.ID || out["method"] != "pin" {
		t.Errorf("status: got %d %v, want verified by %s with pin", st, out, u.ID)
	}
	f.clock.Advance(61 * time.Minute)
	agent, _, err = f.deps.Tokens.Issue(f.tenant.ID, u.ID, u.Roles, u.SessionVersion) // the first one lasted an hour
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(agent)
	if st, out := do("GET", api+"/accounts/acct-1001/security-status", agent, ""); st != http.StatusOK || out["verified"] != false || out["pinSet"] != true {
		t.Errorf("status 61 minutes later: got %d %v, want not verified", st, out)
	}
	events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var sent, set, verified bool
	for _, e := range events {
		sent = sent || (e.Action == latchkey.ActionPINLinkSent && e.Subject == "acct-1001" && e.Actor == u.ID && e.Result == latchkey.ResultSuccess)
		set = set || (e.Action == latchkey.ActionSecurityPINSet && e.Subject == "acct-1001" && e.Actor == "contact:c-owner" && e.Result == latchkey.ResultSuccess)
		verified = verified || (e.Action == latchkey.ActionSecurityPINVerify && e.Subject == "acct-1001" && e.Actor == u.ID && e.Result == latchkey.ResultSuccess && e.RequestID != "")
	}
	if !sent || !set || !verified {
		t.Errorf("audit: got link_sent %v, set %v, verified %v; want all three (%+v)", sent, set, verified, events)
	}

	t.Run("unknown, used and expired tokens answer the same 410", func(t *testing.T) {
		_, err := f.svc.SendLink(f.ctx, f.tenant.ID, u.ID, "acct-1001", "c-owner")
		if err != nil {
			t.Fatal(err)
		}
		expired := f.token(email)
		f.clock.Advance(24*time.Hour + time.Second)
		var bodies []string
		for _, tk := range []string{"q3Jt0Yx8cVvN2bWfK7LmPzR4sT6uA9eHdG1iJ5kOwXE", tok, expired} {
			for _, m := range []struct{ method, body string }{{"GET", ""}, {"POST", `{"pin":"482917","pinConfirm":"482917"}`}} {
				req, _ := http.NewRequest(m.method, api+"/security-pin/links/"+tk, strings.NewReader(m.body))
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				_, _ = b.ReadFrom(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusGone {
					t.Errorf("%s %s…: got %d, want 410", m.method, tk[:4], res.StatusCode)
				}
				bodies = append(bodies, b.String())
			}
		}
		for _, b := range bodies[1:] {
			if b != bodies[0] {
				t.Errorf("bodies differ: %q and %q, want one and the same", bodies[0], b)
			}
		}
	})
}

// Ten concurrent uses of one link: exactly one sets the PIN, the others
// answer link_gone.
func TestService_SetPIN_Concurrent(t *testing.T) {
	f := newLinkFixture(t)
	_, tok := f.send()
	errs := testenv.Concurrently(10, func(int) error { return f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "482917", "482917") })
	if n := tally(errs); n[""] != 1 || n[latchkey.EGone] != 9 {
		t.Errorf("got %v by error code, want 1 success and 9 %s", n, latchkey.EGone)
	}
	if a := f.account(); a.PINMAC == "" || a.LinkMAC != "" {
		t.Errorf("account: got pinMac %q linkMac %q, want a PIN and no link", a.PINMAC, a.LinkMAC)
	}
}

func TestService_Links(t *testing.T) {
	t.Run("refused 1 second after expiry though the item is still in the table", func(t *testing.T) {
		f := newLinkFixture(t)
		sent, tok := f.send()
		if want := f.clock.Now().Add(24 * time.Hour); !sent.ExpiresAt.Equal(want) {
			t.Errorf("expiresAt: got %v, want %v", sent.ExpiresAt, want)
		}
		f.clock.Advance(24*time.Hour - time.Second)
		if _, err := f.svc.LinkInfo(f.ctx, f.tenant.ID, tok); err != nil {
			t.Fatalf("a second before expiry: got %v, want the link", err)
		}
		f.clock.Advance(2 * time.Second)
		if _, err := f.svc.LinkInfo(f.ctx, f.tenant.ID, tok); code(err) != latchkey.EGone {
			t.Errorf("info: got %v, want %s", err, latchkey.EGone)
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "482917", "482917"); code(err) != latchkey.EGone {
			t.Errorf("set: got %v, want %s", err, latchkey.EGone)
		}
		a := f.account()
		res, err := testenv.DB(t).Query(f.ctx, &dynamodb.QueryInput{
			TableName:              aws.String(f.deps.Config.TableName),
			KeyConditionExpression: aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#PINLINK#" + a.LinkMAC},
			},
		})
		if err != nil || len(res.Items) != 1 {
			t.Fatalf("got %v items (%v), want the expired link still in the table", len(res.Items), err)
		}
		// The transaction checks expiry itself too.
		l := &latchkey.PINLink{TenantID: f.tenant.ID, AccountID: "acct-1"}
		if err := f.deps.Store.UsePINLink(f.ctx, l, a.LinkMAC, "mac", f.clock.Now(), latchkey.Event(f.tenant.ID, "t", "acct-1", latchkey.ActionSecurityPINSet, latchkey.ResultSuccess, "")); code(err) != latchkey.EGone {
			t.Errorf("store: got %v, want %s", err, latchkey.EGone)
		}
		if a := f.account(); a.PINMAC != "" {
			t.Errorf("pinMac: got %q, want none", a.PINMAC)
		}
	})
	t.Run("a second link cancels the first", func(t *testing.T) {
		f := newLinkFixture(t)
		_, first := f.send()
		_, second := f.send()
		if _, err := f.svc.LinkInfo(f.ctx, f.tenant.ID, first); code(err) != latchkey.EGone {
			t.Errorf("first: got %v, want %s", err, latchkey.EGone)
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, first, "482917", "482917"); code(err) != latchkey.EGone {
			t.Errorf("set with first: got %v, want %s", err, latchkey.EGone)
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, second, "482917", "482917"); err != nil {
			t.Errorf("set with second: got %v, want nil", err)
		}
	})
	t.Run("only owners and authorized contacts", func(t *testing.T) {
		f := newLinkFixture(t)
		if _, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c3"); code(err) != latchkey.EContactNotAllowed {
			t.Errorf("other: got %v, want %s", err, latchkey.EContactNotAllowed)
		}
		_, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "nobody")
		if code(err) != latchkey.EValidation || !strings.HasPrefix(latchkey.ErrorMessage(err), "contactId: ") {
			t.Errorf("unknown contact: got %v, want %s naming contactId", err, latchkey.EValidation)
		}
		if _, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "no-such", "c1"); code(err) != latchkey.ENotFound {
			t.Errorf("unknown account: got %v, want %s", err, latchkey.ENotFound)
		}
		out, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c2")
		if err != nil || out.SentTo.SMS != "" || out.SentTo.Email != latchkey.MaskEmail("arne@"+f.tenant.ID+".example") {
			t.Errorf("authorized without mobile: got %+v, %v; want sent by e-mail only", out, err)
		}
		f.token("arne@" + f.tenant.ID + ".example")
		if got := len(f.box.Messages()); got != 0 {
			t.Errorf("SMS: got %d, want none to contacts without a mobile", got)
		}
	})
	t.Run("feature switch off", func(t *testing.T) {
		f := newLinkFixture(t)
		_, tok := f.send()
		if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, f.tenant.ID, "test", "securityPin=off", func(s *latchkey.Settings) { s.SecurityPIN = false }); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SendLink(f.ctx, f.tenant.ID, f.admin.ID, "acct-1", "c1"); code(err) != latchkey.ESecurityPINDisabled {
			t.Errorf("send: got %v, want %s", err, latchkey.ESecurityPINDisabled)
		}
		if _, err := f.svc.LinkInfo(f.ctx, f.tenant.ID, tok); code(err) != latchkey.ESecurityPINDisabled {
			t.Errorf("info: got %v, want %s", err, latchkey.ESecurityPINDisabled)
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "482917", "482917"); code(err) != latchkey.ESecurityPINDisabled {
			t.Errorf("set: got %v, want %s", err, latchkey.ESecurityPINDisabled)
		}
		if latchkey.StatusOf(latchkey.ESecurityPINDisabled) != http.StatusForbidden {
			t.Errorf("status: got %d, want 403", latchkey.StatusOf(latchkey.ESecurityPINDisabled))
		}
	})
	t.Run("a reset keeps the old PIN until the new one is set, and unlocks", func(t *testing.T) {
		f := newLinkFixture(t)
		_, tok := f.send()
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "482917", "482917"); err != nil {
			t.Fatal(err)
		}
		old := f.account().PINMAC
		_, err := testenv.DB(t).UpdateItem(f.ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(f.deps.Config.TableName),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#ACCOUNT#acct-1"},
				"SK": &types.AttributeValueMemberS{Value: "ACCOUNT"},
			},
			UpdateExpression: aws.String("SET verifyFailures = :n, verifyLockedAt = :at"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":n": &types.AttributeValueMemberN{Value: "5"}, ":at": &types.AttributeValueMemberS{Value: f.clock.Now().Format(time.RFC3339Nano)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		sent, tok := f.send()
		if sent.Purpose != latchkey.PINLinkReset {
			t.Errorf("purpose: got %q, want reset", sent.Purpose)
		}
		if info, err := f.svc.LinkInfo(f.ctx, f.tenant.ID, tok); err != nil || info.Purpose != latchkey.PINLinkReset || info.AccountName != "Acme Holdings" {
			t.Errorf("info: got %+v, %v; want reset of Acme Holdings", info, err)
		}
		testenv.WaitForEmail(t, f.owner, func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Subject, "Reset your") })
		if a := f.account(); a.PINMAC != old {
			t.Errorf("pinMac before the reset is used: changed, want the old one kept")
		}
		if err := f.svc.SetPIN(f.ctx, f.tenant.ID, tok, "739105", "739105"); err != nil {
			t.Fatal(err)
		}
		a := f.account()
		if a.PINMAC == old || a.PINMAC == "" || a.VerifyFailures != 0 || a.VerifyLockedAt != nil || a.LinkMAC != "" {
			t.Errorf("after reset: got mac changed %v, failures %d, lockedAt %v, linkMac %q; want a new PIN, 0, unlocked, no link",
				a.PINMAC != old, a.VerifyFailures, a.VerifyLockedAt, a.LinkMAC)
		}
		if st := a.Status(f.clock.Now()); !st.PINSet || st.Locked {
			t.Errorf("status: got %+v, want PIN set and not locked", st)
		}
	})
}

func TestCheckPIN(t *testing.T) {
	for _, tt := range []struct{ pin, confirm, code string }{
		{"482917", "482917", ""},
		{"135790", "135790", ""},
		{"12345", "12345", latchkey.EValidation},
		{"1234567", "1234567", latchkey.EValidation},
		{"12345a", "12345a", latchkey.EValidation},
		{"１２３４５６", "１２３４５６", latchkey.EValidation},
		{"", "", latchkey.EValidation},
		{"482917", "482918", latchkey.EPINMismatch},
		{"482917", "", latchkey.EPINMismatch},
		{"000000", "000000", latchkey.EPINTooSimple},
		{"999999", "999999", latchkey.EPINTooSimple},
		{"123456", "123456", latchkey.EPINTooSimple},
		{"012345", "012345", latchkey.EPINTooSimple},
		{"456789", "456789", latchkey.EPINTooSimple},
		{"654321", "654321", latchkey.EPINTooSimple},
		{"543210", "543210", latchkey.EPINTooSimple},
		{"890123", "890123", ""},
	} {
		t.Run(tt.pin+"/"+tt.confirm, func(t *testing.T) {
			if got := code(latchkey.CheckPIN(tt.pin, tt.confirm)); got != tt.code {
				t.Errorf("got %q, want %q", got, tt.code)
			}
		})
	}
}
