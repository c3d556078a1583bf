package userpin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/userpin"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store satisfies the capability's interface.
var _ userpin.Store = (*dynamo.Store)(nil)

// The PINs and password of these tests, remembered as secrets by
// newFixture: none may reach a log.
const (
	firstPIN  = "482917"
	secondPIN = "739105"
	wrongPIN  = "305826"
	password  = "Correct-horse-7"
)

func code(err error) string { return latchkey.ErrorCode(err) }

// fixture is one fresh table with a tenant that allows sign-in with a PIN,
// its first admin (signed in), the whole system served through the local
// gateway, SMS going to an outbox, and a clock the test moves.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	deps   *system.Deps
	svc    *userpin.Service
	box    *devstack.Outbox
	tenant *latchkey.Tenant
	admin  *latchkey.User
	// server is the gateway's base URL, api the tenant's under it.
	server, api string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testenv.Remember(firstPIN, secondPIN, wrongPIN, password)
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	base := testenv.NewDeps(t, clock.Now)
	box := testenv.NewOutbox(t)
	cfg, err := awscfg.Load(ctx, box.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	d := system.Build(config.Config{TableName: base.Config.TableName, SenderEmail: testenv.Sender}, testenv.Logger(), clock.Now,
		base.Keys, base.Store, ses.New(testenv.SESClient(t), testenv.Sender), sns.New(sns.NewClientFrom(cfg, box.Endpoint()), ""))
	d.Passwords.ResetFloor = -1
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := "u" + id[:10]
	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, tid, "Pins "+tid, "admin", "admin@"+tid+".latchkey.test")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	tn, err := d.Tenancy.UpdateSettings(ctx, tid, "test", "pinSignIn=on", func(s *latchkey.Settings) { s.PINSignIn = true })
	if err != nil {
		t.Fatal(err)
	}
	gw, err := d.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &fixture{t: t, ctx: ctx, clock: clock, deps: d, svc: d.UserPIN, box: box, tenant: tn, admin: admin,
		server: srv.URL, api: srv.URL + "/v1/tenants/" + tid}
}

// email returns an address unique to this fixture's tenant.
func (f *fixture) email(local string) string { return local + "@" + f.tenant.ID + ".latchkey.test" }

// user creates a user with roles (and mobile, when not empty) who has
// completed the first sign-in with the test's password, and returns it as
// stored.
func (f *fixture) user(name, mobile string, roles ...latchkey.Role) *latchkey.User {
	f.t.Helper()
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email(name), Mobile: mobile, Roles: roles})
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	testenv.Remember(temp)
	res, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, name, temp)
	if err != nil {
		f.t.Fatal(err)
	}
	testenv.Remember(res.Session)
	if _, err := f.deps.Passwords.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, password); err != nil {
		f.t.Fatal(err)
	}
	return f.reload(u)
}

// reload reads u again from the table.
func (f *fixture) reload(u *latchkey.User) *latchkey.User {
	f.t.Helper()
	cur, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return cur
}

// token returns a bearer token of u, remembered as a secret.
func (f *fixture) token(u *latchkey.User) string { return testenv.Token(f.t, f.deps, u) }

// do sends a request for the fixture's tenant through the gateway and
// returns the status, the error code (of an error answer) and the body.
func (f *fixture) do(method, path, tok, body string) (int, string, string) {
	f.t.Helper()
	return f.doIn(f.tenant.ID, method, path, tok, body)
}

// doIn is do for tenant tid.
func (f *fixture) doIn(tid, method, path, tok, body string) (int, string, string) {
	f.t.Helper()
	r := testenv.Call(f.t, method, f.server+"/v1/tenants/"+tid+path, tok, body)
	return r.Status, r.Code(), string(r.Raw)
}

// signIn signs in with username and PIN over HTTP and returns the status
// and the body.
func (f *fixture) signIn(username, pin string) (int, string) {
	f.t.Helper()
	st, _, body := f.do("POST", "/sessions", "", `{"username":"`+username+`","pin":"`+pin+`"}`)
	return st, body
}

// audited reports whether the tenant's audit log holds action on subject
// by actor with result and reason.
func (f *fixture) audited(action latchkey.Action, actor, subject, result, reason string) bool {
	f.t.Helper()
	events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 200)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range events {
		if e.Action == action && e.Actor == actor && e.Subject == subject && e.Result == result && e.Reason == reason {
			return true
		}
	}
	return false
}

// rawUser returns the USER item of u as stored, every attribute.
func (f *fixture) rawUser(u *latchkey.User) map[string]types.AttributeValue {
	f.t.Helper()
	res, err := testenv.DB(f.t).GetItem(f.ctx, &dynamodb.GetItemInput{
		TableName: aws.String(f.deps.Config.TableName),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#USER#" + u.ID},
			"SK": &types.AttributeValueMemberS{Value: "USER"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || res.Item == nil {
		f.t.Fatalf("get user item: %v (found %v)", err, res != nil && res.Item != nil)
	}
	return res.Item
}

// holds reports whether any attribute of item, at any depth, holds s.
func holds(item map[string]types.AttributeValue, s string) bool {
	var walk func(v types.AttributeValue) bool
	walk = func(v types.AttributeValue) bool {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			return strings.Contains(x.Value, s)
		case *types.AttributeValueMemberN:
			return strings.Contains(x.Value, s)
		case *types.AttributeValueMemberB:
			return bytes.Contains(x.Value, []byte(s))
		case *types.AttributeValueMemberSS:
			return strings.Contains(strings.Join(x.Value, "\x00"), s)
		case *types.AttributeValueMemberL:
			for _, e := range x.Value {
				if walk(e) {
					return true
				}
			}
		case *types.AttributeValueMemberM:
			for k, e := range x.Value {
				if strings.Contains(k, s) || walk(e) {
					return true
				}
			}
		}
		return false
	}
	for k, v := range item {
		if strings.Contains(k, s) || walk(v) {
			return true
		}
	}
	return false
}

// pinChangedTo waits for the n-th PIN_CHANGED e-mail to address to and
// returns it.
func pinChangedTo(t *testing.T, to string, n int) devstack.ReceivedEmail {
	t.Helper()
	var got devstack.ReceivedEmail
	testenv.WaitForEmail(t, to, func(devstack.ReceivedEmail) bool {
		var seen []devstack.ReceivedEmail
		for _, e := range testenv.Emails(t, to) {
			if strings.Contains(e.Subject, "PIN was changed") {
				seen = append(seen, e)
			}
		}
		if len(seen) < n {
			return false
		}
		got = seen[n-1]
		return true
	})
	return got
}

func TestService_Set(t *testing.T) {
	f := newFixture(t)
	bob := f.user("bob", "+447911123456")
	admin := f.token(f.admin)

	st, errCode, body := f.do("PUT", "/users/"+bob.ID+"/pin", admin, `{"pin":"`+firstPIN+`"}`)
	if st != http.StatusNoContent || body != "" {
		t.Fatalf("set: got %d %s %q, want 204 and no body", st, errCode, body)
	}
	stored := f.reload(bob)
	if want := latchkey.UserPINMAC(f.deps.Keys.HMACKey, f.tenant.ID, bob.ID, firstPIN); stored.PINMAC != want {
		t.Errorf("pinMac: got %q, want the keyed MAC of tenant/user/PIN", stored.PINMAC)
	}
	if !stored.PINSetByAdmin || stored.PINSetAt == nil || !stored.PINSetAt.Equal(f.clock.Now()) {
		t.Errorf("got pinSetByAdmin %v, pinSetAt %v; want true, %v", stored.PINSetByAdmin, stored.PINSetAt, f.clock.Now())
	}

	t.Run("the table holds no plaintext PIN", func(t *testing.T) {
		item := f.rawUser(bob)
		if holds(item, firstPIN) {
			t.Errorf("the USER item holds the PIN %s in plaintext: %v", firstPIN, item)
		}
		if _, ok := item["pinMac"]; !ok {
			t.Errorf("the USER item has no pinMac: %v", item)
		}
		if b, ok := item["pinSetByAdmin"].(*types.AttributeValueMemberBOOL); !ok || !b.Value {
			t.Errorf("pinSetByAdmin: got %v, want BOOL true", item["pinSetByAdmin"])
		}
	})
	t.Run("the user view shows only that a PIN is set, by an admin", func(t *testing.T) {
		if v := stored.View(); !v.PINSet || !v.PINSetByAdmin {
			t.Errorf("view: got pinSet %v, pinSetByAdmin %v, want both true", v.PINSet, v.PINSetByAdmin)
		}
		st, body := f.signIn("bob", firstPIN)
		if st != http.StatusCreated || !strings.Contains(body, `"pinSet":true`) || !strings.Contains(body, `"pinSetByAdmin":true`) {
			t.Fatalf("sign-in: got %d %s, want 201 with pinSet and pinSetByAdmin", st, body)
		}
		if strings.Contains(body, firstPIN) || strings.Contains(body, stored.PINMAC) {
			t.Errorf("sign-in answer %s holds the PIN or its MAC", body)
		}
		if b, _ := json.Marshal(stored); strings.Contains(string(b), stored.PINMAC) || strings.Contains(string(b), "pinMac") {
			t.Errorf("the user's JSON %s holds its PIN MAC", b)
		}
	})
	t.Run("audited, and the user is told without the PIN", func(t *testing.T) {
		if !f.audited(latchkey.ActionUserPINSet, f.admin.ID, bob.ID, latchkey.ResultSuccess, "") {
			t.Errorf("audit: want user_pin.set of bob by admin")
		}
		mail := pinChangedTo(t, f.email("bob"), 1)
		if strings.Contains(mail.Text+mail.HTML+mail.Subject, firstPIN) {
			t.Errorf("PIN_CHANGED e-mail holds the PIN: %q", mail.Text)
		}
		msgs := f.box.Messages()
		if len(msgs) != 1 || msgs[0].PhoneNumber != "+447911123456" || !strings.Contains(msgs[0].Message, "PIN") || strings.Contains(msgs[0].Message, firstPIN) {
			t.Errorf("SMS: got %+v, want one PIN_CHANGED notice to +447911123456 without the PIN", msgs)
		}
	})
	t.Run("refused PINs and unknown users", func(t *testing.T) {
		for _, tt := range []struct {
			path, body string
			status     int
			code       string
		}{
			{"/users/" + bob.ID + "/pin", `{"pin":"12345"}`, http.StatusBadRequest, latchkey.EValidation},
			{"/users/" + bob.ID + "/pin", `{"pin":"12a456"}`, http.StatusBadRequest, latchkey.EValidation},
			{"/users/" + bob.ID + "/pin", `{}`, http.StatusBadRequest, latchkey.EValidation},
			{"/users/" + bob.ID + "/pin", `{"pin":"111111"}`, http.StatusBadRequest, latchkey.EPINTooSimple},
			{"/users/" + bob.ID + "/pin", `{"pin":"654321"}`, http.StatusBadRequest, latchkey.EPINTooSimple},
			{"/users/no-such-user/pin", `{"pin":"` + secondPIN + `"}`, http.StatusNotFound, latchkey.ENotFound},
		} {
			if st, c, body := f.do("PUT", tt.path, admin, tt.body); st != tt.status || c != tt.code {
				t.Errorf("PUT %s %s: got %d %s, want %d %s", tt.path, tt.body, st, body, tt.status, tt.code)
			}
		}
		if after := f.reload(bob); after.PINMAC != stored.PINMAC {
			t.Errorf("a refused PIN changed the stored one")
		}
		if !f.audited(latchkey.ActionUserPINSet, f.admin.ID, bob.ID, latchkey.ResultFailure, latchkey.EPINTooSimple) {
			t.Errorf("audit: want the refused PIN as a failure")
		}
	})
}

func TestService_Set_Authorization(t *testing.T) {
	f := newFixture(t)
	bob := f.user("bob", "")
	agent := f.user("ada", "", latchkey.RoleAgent)
	second := f.user("alma", "", latchkey.RoleAdmin)
	body := `{"pin":"` + firstPIN + `"}`

	t.Run("agents and users may not set PINs", func(t *testing.T) {
		for _, caller := range []*latchkey.User{agent, bob} {
			if st, c, b := f.do("PUT", "/users/"+bob.ID+"/pin", f.token(caller), body); st != http.StatusForbidden || c != latchkey.EForbidden {
				t.Errorf("%s: got %d %s, want 403 %s", caller.Username, st, b, latchkey.EForbidden)
			}
		}
		if f.reload(bob).PINMAC != "" {
			t.Errorf("bob has a PIN after refused requests")
		}
	})
	t.Run("an admin of another tenant is refused", func(t *testing.T) {
		other := "o" + f.tenant.ID[1:]
		_, otherAdmin, temp, err := f.deps.Tenancy.CreateTenant(f.ctx, other, "Other", "admin", "admin@"+other+".latchkey.test")
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp)
		tok := f.token(otherAdmin)
		// A token of one tenant on another tenant's path is refused before
		// any handler runs, as on every route.
		if st, c, b := f.do("PUT", "/users/"+bob.ID+"/pin", tok, body); st != http.StatusForbidden || c != latchkey.EForbidden {
			t.Errorf("got %d %s, want 403 %s", st, b, latchkey.EForbidden)
		}
		// Its own tenant's path does not reach this tenant's users.
		if st, c, b := f.doIn(other, "PUT", "/users/"+bob.ID+"/pin", tok, body); st != http.StatusNotFound || c != latchkey.ENotFound {
			t.Errorf("own tenant's path: got %d %s, want 404 %s", st, b, latchkey.ENotFound)
		}
		if f.reload(bob).PINMAC != "" {
			t.Errorf("bob has a PIN after another tenant's requests")
		}
	})
	t.Run("an admin sets an agent's and another admin's PIN", func(t *testing.T) {
		for _, target := range []*latchkey.User{agent, second} {
			if st, c, b := f.do("PUT", "/users/"+target.ID+"/pin", f.token(f.admin), body); st != http.StatusNoContent {
				t.Errorf("%s: got %d %s %s, want 204", target.Username, st, c, b)
			}
			if !f.reload(target).PINSetByAdmin {
				t.Errorf("%s: want a PIN set by an admin", target.Username)
			}
		}
	})
	t.Run("staff act only on users of lower or equal privilege", func(t *testing.T) {
		// The route admits admins only; the service holds the rule itself.
		if err := f.svc.Set(f.ctx, f.tenant.ID, agent, second.ID, secondPIN); code(err) != latchkey.EForbidden {
			t.Errorf("agent on admin: got %v, want %s", err, latchkey.EForbidden)
		}
		if err := f.svc.Set(f.ctx, f.tenant.ID, agent, bob.ID, secondPIN); err != nil {
			t.Errorf("agent on user: got %v, want nil", err)
		}
	})
}

func TestService_ChangeOwn(t *testing.T) {
	t.Run("with the current PIN: the new PIN signs in, the old no longer", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.Set(f.ctx, f.tenant.ID, f.admin, bob.ID, firstPIN); err != nil {
			t.Fatal(err)
		}
		pinChangedTo(t, f.email("bob"), 1)
		f.clock.Advance(time.Hour)
		st, c, body := f.do("PUT", "/me/pin", f.token(bob), `{"currentPin":"`+firstPIN+`","newPin":"`+secondPIN+`"}`)
		if st != http.StatusNoContent || body != "" {
			t.Fatalf("change: got %d %s %q, want 204 and no body", st, c, body)
		}
		if st, body := f.signIn("bob", secondPIN); st != http.StatusCreated || !strings.Contains(body, `"pinSet":true`) || strings.Contains(body, "pinSetByAdmin") {
			t.Errorf("new PIN: got %d %s, want 201 with pinSet and without pinSetByAdmin", st, body)
		}
		if st, body := f.signIn("bob", firstPIN); st != http.StatusUnauthorized {
			t.Errorf("old PIN: got %d %s, want 401", st, body)
		}
		stored := f.reload(bob)
		if stored.PINSetByAdmin || stored.PINSetAt == nil || !stored.PINSetAt.Equal(f.clock.Now()) {
			t.Errorf("got pinSetByAdmin %v, pinSetAt %v; want false, %v", stored.PINSetByAdmin, stored.PINSetAt, f.clock.Now())
		}
		if holds(f.rawUser(bob), secondPIN) {
			t.Errorf("the USER item holds the new PIN in plaintext")
		}
		if !f.audited(latchkey.ActionUserPINChange, bob.ID, bob.ID, latchkey.ResultSuccess, "") {
			t.Errorf("audit: want user_pin.change by bob")
		}
		mail := pinChangedTo(t, f.email("bob"), 2)
		if all := mail.Subject + mail.Text + mail.HTML; strings.Contains(all, secondPIN) || strings.Contains(all, firstPIN) || !strings.Contains(mail.Text, "bob") {
			t.Errorf("PIN_CHANGED e-mail: got %q, want the username and no PIN", mail.Text)
		}
	})
	t.Run("with the current password, for a user who has no PIN yet", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if st, c, body := f.do("PUT", "/me/pin", f.token(bob), `{"currentPassword":"`+password+`","newPin":"`+secondPIN+`"}`); st != http.StatusNoContent {
			t.Fatalf("change: got %d %s %s, want 204", st, c, body)
		}
		if st, body := f.signIn("bob", secondPIN); st != http.StatusCreated {
			t.Errorf("new PIN: got %d %s, want 201", st, body)
		}
	})
	t.Run("refused requests", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.Set(f.ctx, f.tenant.ID, f.admin, bob.ID, firstPIN); err != nil {
			t.Fatal(err)
		}
		tok := f.token(bob)
		ukey := latchkey.UsernameKey("bob")
		failures := func() int {
			t.Helper()
			st, err := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, ukey)
			if err != nil {
				t.Fatal(err)
			}
			return st.Failures
		}
		for _, tt := range []struct {
			name, body string
			status     int
			code       string
			failures   int // the username's failures after it
		}{
			{"both current fields", `{"currentPin":"` + firstPIN + `","currentPassword":"` + password + `","newPin":"` + secondPIN + `"}`, http.StatusBadRequest, latchkey.EValidation, 0},
			{"no current field", `{"newPin":"` + secondPIN + `"}`, http.StatusBadRequest, latchkey.EValidation, 0},
			{"no new PIN", `{"currentPin":"` + firstPIN + `"}`, http.StatusBadRequest, latchkey.EValidation, 0},
			{"trivial new PIN (the right current PIN gives its slot back)", `{"currentPin":"` + firstPIN + `","newPin":"123456"}`, http.StatusBadRequest, latchkey.EPINTooSimple, 0},
			{"new PIN not 6 digits", `{"currentPin":"` + firstPIN + `","newPin":"12345"}`, http.StatusBadRequest, latchkey.EValidation, 0},
			{"wrong current PIN counts towards the lockout", `{"currentPin":"` + wrongPIN + `","newPin":"` + secondPIN + `"}`, http.StatusUnauthorized, latchkey.EInvalidCredentials, 1},
			{"wrong current password counts too", `{"currentPassword":"wrong-password-1","newPin":"` + secondPIN + `"}`, http.StatusUnauthorized, latchkey.EInvalidCredentials, 2},
		} {
			st, c, body := f.do("PUT", "/me/pin", tok, tt.body)
			if st != tt.status || c != tt.code {
				t.Errorf("%s: got %d %s, want %d %s", tt.name, st, body, tt.status, tt.code)
			}
			if got := failures(); got != tt.failures {
				t.Errorf("%s: failures after it: got %d, want %d", tt.name, got, tt.failures)
			}
		}
		_, _, body := f.do("PUT", "/me/pin", tok, `{"currentPin":"1","currentPassword":"x","newPin":"`+secondPIN+`"}`)
		if !strings.Contains(body, "currentPin") || !strings.Contains(body, "currentPassword") {
			t.Errorf("both current fields: got %s, want a message naming currentPin and currentPassword", body)
		}
		if !f.audited(latchkey.ActionUserPINChange, bob.ID, bob.ID, latchkey.ResultFailure, "invalid_credentials") ||
			!f.audited(latchkey.ActionUserPINChange, bob.ID, bob.ID, latchkey.ResultFailure, latchkey.EPINTooSimple) {
			t.Errorf("audit: want the wrong current PIN and the trivial new PIN as failures")
		}
		if f.reload(bob).PINMAC != latchkey.UserPINMAC(f.deps.Keys.HMACKey, f.tenant.ID, bob.ID, firstPIN) {
			t.Errorf("a refused change changed the PIN")
		}
	})
	t.Run("wrong current secrets lock out, the right one too", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.Set(f.ctx, f.tenant.ID, f.admin, bob.ID, firstPIN); err != nil {
			t.Fatal(err)
		}
		bob = f.reload(bob)
		threshold := f.tenant.Settings.LockoutThreshold
		for i := 1; i <= threshold; i++ {
			err := f.svc.ChangeOwn(f.ctx, bob, userpin.Change{CurrentPIN: wrongPIN, NewPIN: secondPIN})
			want := latchkey.EInvalidCredentials
			if i == threshold {
				want = latchkey.EAccountLocked
			}
			if code(err) != want {
				t.Fatalf("wrong PIN %d: got %v, want %s", i, err, want)
			}
		}
		if err := f.svc.ChangeOwn(f.ctx, bob, userpin.Change{CurrentPIN: firstPIN, NewPIN: secondPIN}); code(err) != latchkey.EAccountLocked {
			t.Errorf("right PIN while locked out: got %v, want %s", err, latchkey.EAccountLocked)
		}
		if st, body := f.signIn("bob", firstPIN); st != http.StatusLocked {
			t.Errorf("sign-in while locked out: got %d %s, want 423 (one count for sign-in and change)", st, body)
		}
		f.clock.Advance(time.Duration(f.tenant.Settings.LockoutMinutes) * time.Minute)
		if err := f.svc.ChangeOwn(f.ctx, bob, userpin.Change{CurrentPIN: firstPIN, NewPIN: secondPIN}); err != nil {
			t.Errorf("after the lockout: got %v, want nil", err)
		}
	})
	t.Run("parallel guesses of the current PIN get no more checks than the threshold", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.Set(f.ctx, f.tenant.ID, f.admin, bob.ID, firstPIN); err != nil {
			t.Fatal(err)
		}
		bob = f.reload(bob)
		errs := testenv.Concurrently(20, func(i int) error {
			return f.svc.ChangeOwn(f.ctx, bob, userpin.Change{CurrentPIN: fmt.Sprintf("%06d", 100000+i*7919), NewPIN: secondPIN})
		})
		codes := map[string]int{}
		for _, err := range errs {
			codes[code(err)]++
		}
		if codes[latchkey.EInvalidCredentials] != f.tenant.Settings.LockoutThreshold-1 || codes[latchkey.EAccountLocked] != 20-codes[latchkey.EInvalidCredentials] {
			t.Errorf("got %v, want %d %s and the rest %s", codes, f.tenant.Settings.LockoutThreshold-1, latchkey.EInvalidCredentials, latchkey.EAccountLocked)
		}
	})
	t.Run("a user locked by staff is refused", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.Set(f.ctx, f.tenant.ID, f.admin, bob.ID, firstPIN); err != nil {
			t.Fatal(err)
		}
		tok := f.token(bob)
		if err := f.deps.Passwords.Lock(f.ctx, f.tenant.ID, f.admin, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.ChangeOwn(f.ctx, f.reload(bob), userpin.Change{CurrentPIN: firstPIN, NewPIN: secondPIN}); code(err) != latchkey.EAccountLocked {
			t.Errorf("service: got %v, want %s", err, latchkey.EAccountLocked)
		}
		// Over HTTP the lock has already ended the user's tokens.
		if st, c, body := f.do("PUT", "/me/pin", tok, `{"currentPin":"`+firstPIN+`","newPin":"`+secondPIN+`"}`); st != http.StatusUnauthorized || c != latchkey.EUnauthorized {
			t.Errorf("HTTP: got %d %s, want 401 %s", st, body, latchkey.EUnauthorized)
		}
		if f.reload(bob).PINMAC != latchkey.UserPINMAC(f.deps.Keys.HMACKey, f.tenant.ID, bob.ID, firstPIN) {
			t.Errorf("a locked user changed the PIN")
		}
	})
	t.Run("a current PIN is refused for a user without one", func(t *testing.T) {
		f := newFixture(t)
		bob := f.user("bob", "")
		if err := f.svc.ChangeOwn(f.ctx, bob, userpin.Change{CurrentPIN: firstPIN, NewPIN: secondPIN}); code(err) != latchkey.EInvalidCredentials {
			t.Errorf("got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
}

func TestUserPINMatches(t *testing.T) {
	key := []byte("unit-test-hmac-key")
	u := &latchkey.User{TenantID: "acme", ID: "u1", PINMAC: latchkey.UserPINMAC(key, "acme", "u1", firstPIN)}
	for _, tt := range []struct {
		name string
		tid  string
		u    *latchkey.User
		pin  string
		want bool
	}{
		{"right PIN", "acme", u, firstPIN, true},
		{"wrong PIN", "acme", u, secondPIN, false},
		{"another tenant", "other", u, firstPIN, false},
		{"another user's MAC", "acme", &latchkey.User{ID: "u2", PINMAC: u.PINMAC}, firstPIN, false},
		{"no PIN", "acme", &latchkey.User{ID: "u1"}, firstPIN, false},
		{"no user", "acme", nil, firstPIN, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := latchkey.UserPINMatches(key, tt.tid, tt.u, tt.pin); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
