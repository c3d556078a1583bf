package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// remember names secrets for testenv's check that none reaches a log.
func remember(s ...string) { testenv.Remember(s...) }

// local is the local API over real HTTP, as `make run` serves it.
type local struct {
	t    *testing.T
	url  string
	deps *system.Deps
	id   string
}

func newLocal(t *testing.T) *local {
	t.Helper()
	return startLocal(t, time.Now, "j")
}

// startLocal serves the whole local API on the clock now, with the test's
// addresses and names marked by prefix.
func startLocal(t *testing.T, now latchkey.Clock, prefix string) *local {
	t.Helper()
	d := testenv.NewDeps(t, now)
	d.Passwords.ResetFloor = -1
	gw, err := d.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gw)
	t.Cleanup(ts.Close)
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return &local{t: t, url: ts.URL, deps: d, id: prefix + id[:10]}
}

func (l *local) email(name string) string { return fmt.Sprintf("%s@%s.latchkey.test", name, l.id) }

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r reply) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// do sends a request; headers are name, value pairs.
func (l *local) do(method, path, tok string, body any, headers ...string) reply {
	l.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, l.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			l.t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
		}
	}
	if res.Header.Get("X-Request-Id") == "" {
		l.t.Errorf("%s %s: no X-Request-Id header", method, path)
	}
	return r
}

func (l *local) want(r reply, status int, what string) reply {
	l.t.Helper()
	if r.status != status {
		l.t.Fatalf("%s: got %d %s, want %d", what, r.status, r.raw, status)
	}
	return r
}

func (l *local) tempPassword(to string, not ...string) string {
	l.t.Helper()
	return testenv.TempPassword(l.t, to, not...)
}

// signInNew signs in with a temporary password and completes the challenge.
func (l *local) signInNew(tenant, username, temp, newPassword string) string {
	l.t.Helper()
	base := "/v1/tenants/" + tenant
	r := l.want(l.do("POST", base+"/sessions", "", map[string]string{"username": username, "password": temp}), 200, "sign in with temporary password")
	if r.body["challenge"] != "NEW_PASSWORD_REQUIRED" {
		l.t.Fatalf("got %v, want challenge NEW_PASSWORD_REQUIRED", r.body)
	}
	session, _ := r.body["session"].(string)
	remember(session, newPassword)
	r = l.want(l.do("POST", base+"/sessions/new-password", "", map[string]string{"session": session, "newPassword": newPassword}), 201, "new password")
	tok, _ := r.body["token"].(string)
	remember(tok)
	return tok
}

func TestLocalAPI_PasswordJourney(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	_, admin, temp, err := l.deps.Tenancy.CreateTenant(ctx, l.id, "Journey", "admin", l.email("admin"))
	if err != nil {
		t.Fatal(err)
	}
	remember(temp)
	base := "/v1/tenants/" + l.id

	mailed := l.tempPassword(l.email("admin"))
	if mailed != temp {
		t.Fatalf("e-mailed temporary password differs from the created one")
	}
	tok := l.signInNew(l.id, "admin", mailed, "Keeper-pass-2026")

	t.Run("forgot password answers alike for known and unknown users", func(t *testing.T) {
		known := l.want(l.do("POST", base+"/password-resets", "", map[string]string{"username": "admin"}), 202, "known")
		unknown := l.want(l.do("POST", base+"/password-resets", "", map[string]string{"username": "nobody-here"}), 202, "unknown")
		if known.raw != unknown.raw || known.raw != "{}" {
			t.Fatalf("bodies: got %q and %q, want both {}", known.raw, unknown.raw)
		}
		reset := l.tempPassword(l.email("admin"), mailed)
		tok = l.signInNew(l.id, "admin", reset, "Keeper-pass-2027")
	})

	t.Run("agent reset and lock need a token with the role", func(t *testing.T) {
		l.want(l.do("POST", base+"/users/"+admin.ID+"/lock", "", nil), 401, "no token")
		l.want(l.do("POST", base+"/users/"+admin.ID+"/lock", "not-a-token", nil), 401, "bad token")
		u, temp, err := l.deps.Tenancy.CreateUser(ctx, mustTenant(t, l), "admin", newUser("plain", l.email("plain")))
		if err != nil {
			t.Fatal(err)
		}
		remember(temp)
		plainTok := l.signInNew(l.id, "plain", temp, "Simple-pass-2026")
		r := l.want(l.do("POST", base+"/users/"+admin.ID+"/lock", plainTok, nil), 403, "user role")
		if r.errCode() != "forbidden" {
			t.Errorf("got %s, want forbidden", r.errCode())
		}
		r = l.want(l.do("POST", base+"/users/"+u.ID+"/password-reset", tok, nil), 202, "admin resets plain")
		if r.body["sentTo"] == "" || strings.Contains(r.raw, l.email("plain")) {
			t.Errorf("sentTo: got %v, want a masked address", r.body["sentTo"])
		}
		l.want(l.do("PUT", base+"/me/password", plainTok, map[string]string{"currentPassword": "Simple-pass-2026", "newPassword": "Other-pass-2026"}), 401, "token ended by the reset")
		resetTemp := l.tempPassword(l.email("plain"), temp)
		l.want(l.do("POST", base+"/users/"+u.ID+"/lock", tok, nil), 204, "lock")
		r = l.want(l.do("POST", base+"/sessions", "", map[string]string{"username": "plain", "password": resetTemp}), 423, "locked user, right password")
		if r.header.Get("Retry-After") != "" {
			t.Errorf("423 with Retry-After %q: every lock answers alike, without it", r.header.Get("Retry-After"))
		}
		if r.errCode() != "account_locked" {
			t.Errorf("got %s, want account_locked", r.errCode())
		}
		l.want(l.do("POST", base+"/users/"+u.ID+"/unlock", tok, nil), 204, "unlock")
	})

	t.Run("change own password ends the old token", func(t *testing.T) {
		r := l.want(l.do("PUT", base+"/me/password", tok, map[string]string{"currentPassword": "Keeper-pass-2027", "newPassword": "short"}), 400, "policy")
		if r.errCode() != "password_policy" || !strings.Contains(r.raw, "min_length") {
			t.Errorf("got %s, want password_policy naming min_length", r.raw)
		}
		remember("Keeper-pass-2028")
		l.want(l.do("PUT", base+"/me/password", tok, map[string]string{"currentPassword": "Keeper-pass-2027", "newPassword": "Keeper-pass-2028"}), 204, "change")
		l.want(l.do("PUT", base+"/me/password", tok, map[string]string{"currentPassword": "Keeper-pass-2028", "newPassword": "Keeper-pass-2029"}), 401, "old token")
		r = l.want(l.do("POST", base+"/sessions", "", map[string]string{"username": "ADMIN", "password": "Keeper-pass-2028"}), 201, "sign in with the new password")
		tok, _ = r.body["token"].(string)
		remember(tok)
	})

	t.Run("a token of one tenant is refused in another", func(t *testing.T) {
		other := "o" + l.id[1:]
		if _, _, _, err := l.deps.Tenancy.CreateTenant(ctx, other, "Other", "admin", l.email("other")); err != nil {
			t.Fatal(err)
		}
		r := l.want(l.do("POST", "/v1/tenants/"+other+"/users/"+admin.ID+"/lock", tok, nil), 403, "cross-tenant")
		if r.errCode() != "forbidden" {
			t.Errorf("got %s, want forbidden", r.errCode())
		}
	})

	t.Run("bad input gets coded errors", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			status                   int
			code                     string
		}{
			{"invalid JSON", "POST", base + "/sessions", "{", 400, "invalid_json"},
			{"unknown field", "POST", base + "/sessions", `{"user":"x"}`, 400, "invalid_json"},
			{"missing fields", "POST", base + "/sessions", `{}`, 400, "validation_failed"},
			{"body over 16 KiB", "POST", base + "/sessions", `{"username":"` + strings.Repeat("a", 17<<10) + `"}`, 413, "body_too_large"},
			{"unknown route", "GET", base + "/nothing", "", 404, "route_not_found"},
			{"wrong method", "GET", base + "/sessions", "", 405, "method_not_allowed"},
			{"sign-in at an unknown tenant answers as an unknown user", "POST", "/v1/tenants/no-such-tenant/sessions", `{"username":"a","password":"b"}`, 401, "invalid_credentials"},
			{"unknown tenant", "POST", "/v1/tenants/no-such-tenant/password-resets", `{"username":"a"}`, 404, "not_found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body any
				if tt.body != "" {
					body = tt.body
				}
				r := l.want(l.do(tt.method, tt.path, "", body), tt.status, tt.name)
				if r.errCode() != tt.code {
					t.Errorf("got code %q, want %q", r.errCode(), tt.code)
				}
			})
		}
	})
}

// pinSignupTenant creates the test's tenant with PIN-code signup on for web
// pages, and returns it and its first admin.
func (l *local) pinSignupTenant(name string) (*latchkey.Tenant, *latchkey.User) {
	l.t.Helper()
	ctx := context.Background()
	_, admin, temp, err := l.deps.Tenancy.CreateTenant(ctx, l.id, name, "admin", l.email("admin"))
	if err != nil {
		l.t.Fatal(err)
	}
	remember(temp)
	tn, err := l.deps.Tenancy.UpdateSettings(ctx, l.id, "test", "pinSignup=web", func(s *latchkey.Settings) { s.PINSignup = latchkey.PINSignupWeb })
	if err != nil {
		l.t.Fatal(err)
	}
	return tn, admin
}

func mustTenant(t *testing.T, l *local) *latchkey.Tenant {
	t.Helper()
	tn, err := l.deps.Store.GetTenant(context.Background(), l.id)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func newUser(name, email string) tenancy.NewUser {
	return tenancy.NewUser{Username: name, Email: email}
}

// The PIN-code journey over real HTTP: an admin gives a holder a code and
// e-mails it; the holder signs up a new user; the new user's temporary
// password arrives; the new user signs in, completes the challenge and holds
// the holder's likeness but not admin.
func TestLocalAPI_PINSignupJourney(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	l.deps.PINSignup.Limits = pinsignup.Limits{PerAddress: 3, AddressWindow: 15 * time.Minute, PerTenant: 100, TenantWindow: time.Hour}
	tn, _ := l.pinSignupTenant("Journey")
	base := "/v1/tenants/" + l.id
	adminTok := l.signInNew(l.id, "admin", l.tempPassword(l.email("admin")), "Keeper-pass-2026")

	holder, holderTemp, err := l.deps.Tenancy.CreateUser(ctx, tn, "admin", tenancy.NewUser{
		Username: "holder", Email: l.email("holder"), Roles: []latchkey.Role{latchkey.RoleUser},
		Permissions: []string{"gauges.read", "gauges.calibrate"}, Profiles: []string{"plant-north"}, CompanyExceptions: []string{"supplier-7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	remember(holderTemp)

	// The admin generates a code and e-mails it; the e-mail holds it.
	l.want(l.do("POST", base+"/users/"+holder.ID+"/pin-code", "", nil), 401, "no token")
	r := l.want(l.do("POST", base+"/users/"+holder.ID+"/pin-code", adminTok, nil), 201, "generate")
	pin, _ := r.body["pinCode"].(string)
	remember(pin)
	r = l.want(l.do("POST", base+"/users/"+holder.ID+"/pin-code/email", adminTok, map[string]string{}), 202, "e-mail the code")
	if r.body["sentTo"] != latchkey.MaskEmail(l.email("holder")) {
		t.Errorf("sentTo: got %v", r.body["sentTo"])
	}
	testenv.WaitForEmail(t, l.email("holder"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, pin) })

	// A non-admin may not manage codes.
	holderTok := l.signInNew(l.id, "holder", holderTemp, "Bearer-of-code-26")
	l.want(l.do("POST", base+"/users/"+holder.ID+"/pin-code", holderTok, nil), 403, "holder generates")

	// The holder signs up a new user from the web page.
	signup := map[string]string{"pinCode": pin, "email": l.email("newcomer"), "username": "newcomer"}
	r = l.want(l.do("POST", base+"/signups", "", signup, "X-Client", "mobile"), 403, "mobile client on a web-only tenant")
	if r.errCode() != "pin_signup_disabled" {
		t.Errorf("got %s, want pin_signup_disabled", r.errCode())
	}
	r = l.want(l.do("POST", base+"/signups", "", signup, "X-Client", "web"), 201, "signup")
	if r.body["username"] != "newcomer" || r.body["userId"] == "" {
		t.Errorf("got %v, want the new user", r.body)
	}
	r = l.want(l.do("POST", base+"/signups", "", signup, "X-Client", "web"), 409, "same username again")
	if r.errCode() != "username_taken" {
		t.Errorf("got %s, want username_taken", r.errCode())
	}

	// The new user's temporary password arrives; first sign-in sets a password.
	newTok := l.signInNew(l.id, "newcomer", l.tempPassword(l.email("newcomer")), "Fresh-start-2026")
	r = l.want(l.do("POST", base+"/sessions", "", map[string]string{"username": "newcomer", "password": "Fresh-start-2026"}), 201, "sign in")
	remember(newTok)
	user, _ := r.body["user"].(map[string]any)
	if fmt.Sprint(user["permissions"]) != "[gauges.read gauges.calibrate]" || fmt.Sprint(user["profiles"]) != "[plant-north]" ||
		fmt.Sprint(user["companyExceptions"]) != "[supplier-7]" || user["sponsorId"] != holder.ID {
		t.Errorf("new user: got %v, want the holder's likeness and sponsor", user)
	}
	if fmt.Sprint(user["roles"]) != "[user]" {
		t.Errorf("roles: got %v, want [user]", user["roles"])
	}

	// Revoked: the code stops at once; wrong codes then hit the address limit.
	l.want(l.do("DELETE", base+"/users/"+holder.ID+"/pin-code", adminTok, nil), 204, "revoke")
	signup["username"], signup["email"] = "late", l.email("late")
	r = l.want(l.do("POST", base+"/signups", "", signup, "X-Client", "web"), 401, "revoked code")
	if r.errCode() != "invalid_pin_code" {
		t.Errorf("got %s, want invalid_pin_code", r.errCode())
	}
	for i := 0; i < 2; i++ {
		l.want(l.do("POST", base+"/signups", "", map[string]string{"pinCode": "AAAA-BBBB-CCCC", "email": l.email("late"), "username": "late"}, "X-Client", "web"), 401, "wrong code")
	}
	r = l.want(l.do("POST", base+"/signups", "", signup, "X-Client", "web"), 429, "over the address limit")
	if r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Errorf("got %s with Retry-After %q, want rate_limited with Retry-After", r.errCode(), r.header.Get("Retry-After"))
	}
}
