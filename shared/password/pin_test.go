package password_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
)

// The PINs of these tests, remembered as secrets by pinUser: none may
// reach a log.
const (
	bobPIN   = "482917"
	wrongPIN = "739105"
)

// pinSignIn switches the tenant's sign-in with username and PIN.
func (f *fixture) pinSignIn(on bool) {
	f.t.Helper()
	if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, f.tenant.ID, "test", fmt.Sprintf("pinSignIn=%v", on), func(s *latchkey.Settings) { s.PINSignIn = on }); err != nil {
		f.t.Fatal(err)
	}
}

// pinUser creates user name with password pw, then has the admin set its PIN.
func (f *fixture) pinUser(name, pw, pin string) *latchkey.User {
	f.t.Helper()
	testenv.Remember(pin, wrongPIN)
	u := f.newUser(name, pw)
	if err := f.deps.UserPIN.Set(f.ctx, f.tenant.ID, f.admin, u.ID, pin); err != nil {
		f.t.Fatalf("set %s's PIN: %v", name, err)
	}
	return u
}

// answer is an HTTP answer: status, headers and body.
type answer struct {
	status  int
	headers http.Header
	body    string
}

// api serves the whole system through the local gateway and returns the
// tenant's base URL.
func (f *fixture) api() string {
	f.t.Helper()
	gw, err := f.deps.Gateway()
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	f.t.Cleanup(srv.Close)
	return srv.URL + "/v1/tenants/" + f.tenant.ID
}

func post(t *testing.T, url, body string) answer {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: res.StatusCode, headers: res.Header, body: string(b)}
}

// sameAnswer fails unless a and b have the same status, body and headers,
// but for the request id and the date, which differ on every answer.
func sameAnswer(t *testing.T, what string, a, b answer) {
	t.Helper()
	if a.status != b.status || a.body != b.body {
		t.Errorf("%s: got %d %s and %d %s, want one and the same answer", what, a.status, a.body, b.status, b.body)
	}
	ha, hb := a.headers.Clone(), b.headers.Clone()
	for _, h := range []http.Header{ha, hb} {
		h.Del("X-Request-Id")
		h.Del("Date")
	}
	if fmt.Sprint(ha) != fmt.Sprint(hb) {
		t.Errorf("%s: headers %v and %v, want the same", what, ha, hb)
	}
}

// holdFinish holds every successful sign-in's write until release closes.
type holdFinish struct {
	password.Store
	release <-chan struct{}
}

func (h holdFinish) FinishSignIn(ctx context.Context, d latchkey.SignInDone) error {
	<-h.release
	return h.Store.FinishSignIn(ctx, d)
}

func TestService_SignInPIN(t *testing.T) {
	t.Run("the right PIN gives a token that authenticates, and shows only that a PIN is set", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		bob := f.pinUser("bob", "Correct-horse-7", bobPIN)
		api := f.api()
		a := post(t, api+"/sessions", `{"username":"BOB","pin":"`+bobPIN+`"}`)
		if a.status != http.StatusCreated {
			t.Fatalf("got %d %s, want 201", a.status, a.body)
		}
		cur, _ := f.deps.Store.GetUser(f.ctx, f.tenant.ID, bob.ID)
		if strings.Contains(a.body, bobPIN) || strings.Contains(a.body, cur.PINMAC) {
			t.Errorf("answer %s holds the PIN or its MAC", a.body)
		}
		for _, want := range []string{`"pinSet":true`, `"pinSetByAdmin":true`, `"token":"`, `"expiresAt":"`} {
			if !strings.Contains(a.body, want) {
				t.Errorf("answer %s: want %s in it", a.body, want)
			}
		}
		res, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", bobPIN)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(res.Token)
		caller, err := f.auth().Authenticate(f.ctx, f.tenant.ID, res.Token)
		if err != nil || caller.User.ID != bob.ID {
			t.Fatalf("token: got %+v, %v; want bob", caller, err)
		}
		if got := res.User.View(); !got.PINSet || !got.PINSetByAdmin {
			t.Errorf("user view: got pinSet %v, pinSetByAdmin %v, want both", got.PINSet, got.PINSetByAdmin)
		}
		if after, _ := f.deps.Store.GetUser(f.ctx, f.tenant.ID, bob.ID); !after.LastLoginAt.Equal(f.clock.Now()) {
			t.Errorf("lastLoginAt: got %v, want %v", after.LastLoginAt, f.clock.Now())
		}
		if st, _ := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey("bob")); st.Failures != 0 {
			t.Errorf("attempt slots after the successes: got %d, want 0", st.Failures)
		}
		events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		pins := 0
		for _, e := range events {
			if e.Action == latchkey.ActionSignIn && e.Subject == bob.ID && e.Result == latchkey.ResultSuccess && e.Reason == "pin" {
				pins++
			}
		}
		if pins != 2 {
			t.Errorf("audit: got %d sign-ins with reason pin, want 2", pins)
		}
	})

	t.Run("PIN sign-in off answers exactly as a wrong password", func(t *testing.T) {
		f := newFixture(t)
		f.pinUser("bob", "Correct-horse-7", bobPIN) // the PIN is right, but the tenant does not allow it
		api := f.api()
		wrongPassword := post(t, api+"/sessions", `{"username":"bob","password":"wrong-password-1"}`)
		if wrongPassword.status != http.StatusUnauthorized || !strings.Contains(wrongPassword.body, latchkey.EInvalidCredentials) {
			t.Fatalf("wrong password: got %d %s, want 401 %s", wrongPassword.status, wrongPassword.body, latchkey.EInvalidCredentials)
		}
		sameAnswer(t, "right PIN while off", wrongPassword, post(t, api+"/sessions", `{"username":"bob","pin":"`+bobPIN+`"}`))
		sameAnswer(t, "unknown user with a PIN while off", wrongPassword, post(t, api+"/sessions", `{"username":"nobody","pin":"`+bobPIN+`"}`))
		if _, err := f.svc.SignInPIN(f.ctx, "no-such-tenant", "bob", bobPIN); code(err) != latchkey.EInvalidCredentials {
			t.Errorf("unknown tenant: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
		f.pinSignIn(true)
		if a := post(t, api+"/sessions", `{"username":"bob","pin":"`+bobPIN+`"}`); a.status != http.StatusCreated {
			t.Errorf("switched on: got %d %s, want 201", a.status, a.body)
		}
	})

	t.Run("a wrong PIN and an unknown user answer alike", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		f.pinUser("bob", "Correct-horse-7", bobPIN)
		f.newUser("nopin", "Correct-horse-7")
		api := f.api()
		wrong := post(t, api+"/sessions", `{"username":"bob","pin":"`+wrongPIN+`"}`)
		if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, latchkey.EInvalidCredentials) {
			t.Fatalf("wrong PIN: got %d %s, want 401 %s", wrong.status, wrong.body, latchkey.EInvalidCredentials)
		}
		sameAnswer(t, "unknown user", wrong, post(t, api+"/sessions", `{"username":"nobody","pin":"`+bobPIN+`"}`))
		sameAnswer(t, "user without a PIN", wrong, post(t, api+"/sessions", `{"username":"nopin","pin":"`+bobPIN+`"}`))
		sameAnswer(t, "wrong password", wrong, post(t, api+"/sessions", `{"username":"bob","password":"wrong-password-1"}`))
		if a := post(t, api+"/sessions", `{"username":"bob","password":"Correct-horse-7","pin":"`+bobPIN+`"}`); a.status != http.StatusBadRequest || !strings.Contains(a.body, latchkey.EValidation) {
			t.Errorf("password and pin: got %d %s, want 400 %s", a.status, a.body, latchkey.EValidation)
		}
		if a := post(t, api+"/sessions", `{"username":"bob"}`); a.status != http.StatusBadRequest || !strings.Contains(a.body, latchkey.EValidation) {
			t.Errorf("neither: got %d %s, want 400 %s", a.status, a.body, latchkey.EValidation)
		}
		if st, _ := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey("bob")); st.Failures != 2 {
			t.Errorf("bob's failures: got %d, want 2 (the wrong PIN and the wrong password)", st.Failures)
		}
	})

	t.Run("five wrong PINs lock the username, the right one too, for the lockout time", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		f.pinUser("bob", "Correct-horse-7", bobPIN)
		threshold := f.tenant.Settings.LockoutThreshold
		for i := 1; i <= threshold; i++ {
			_, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", wrongPIN)
			want := latchkey.EInvalidCredentials
			if i == threshold {
				want = latchkey.EAccountLocked
			}
			if code(err) != want {
				t.Fatalf("wrong PIN %d: got %v, want %s", i, err, want)
			}
		}
		if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", bobPIN); code(err) != latchkey.EAccountLocked {
			t.Fatalf("right PIN while locked out: got %v, want %s", err, latchkey.EAccountLocked)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "bob", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("right password while locked out: got %v, want %s (one count for both)", err, latchkey.EAccountLocked)
		}
		f.clock.Advance(time.Duration(f.tenant.Settings.LockoutMinutes) * time.Minute)
		if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", bobPIN); err != nil {
			t.Fatalf("after the lockout: got %v, want a token", err)
		}
	})

	t.Run("the right PIN among 19 wrong ones in parallel: no more checks than the threshold", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		threshold := f.tenant.Settings.LockoutThreshold
		for batch := 0; batch < 5; batch++ {
			name := fmt.Sprintf("bob%d", batch)
			bob := f.pinUser(name, "Correct-horse-7", bobPIN)
			right := (batch * 7) % 20
			// A right PIN gives its slot back when its sign-in is written,
			// and a success ends the count of failures before it (PRODUCT.md:
			// consecutive failures). The guesses that matter are the ones
			// checked before the right one is known: hold the success until
			// every other attempt of the burst has its answer, so all of
			// them are.
			var others sync.WaitGroup
			others.Add(19)
			release := make(chan struct{})
			go func() { others.Wait(); close(release) }()
			svc := *f.svc
			svc.Store = holdFinish{Store: f.svc.Store, release: release}
			errs := testenv.Concurrently(20, func(i int) error {
				pin := wrongPIN
				if i == right {
					pin = bobPIN
				} else {
					defer others.Done()
				}
				_, err := svc.SignInPIN(f.from(fmt.Sprintf("198.51.100.%d", i)), f.tenant.ID, name, pin)
				return err
			})
			codes := map[string]int{}
			for _, err := range errs {
				codes[code(err)]++
			}
			if codes[latchkey.EInvalidCredentials]+codes[""] > threshold || codes[""] > 1 {
				t.Fatalf("batch %d: %v: more than %d PINs checked", batch, codes, threshold)
			}
			// The audit log agrees: every PIN whose verdict was given is there.
			events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 200)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, e := range events {
				if e.Action == latchkey.ActionSignIn && e.Subject == bob.ID &&
					((e.Result == latchkey.ResultSuccess && e.Reason == "pin") || e.Reason == "invalid_credentials" || e.Reason == "lockout") {
					checked++
				}
			}
			if checked > threshold {
				t.Errorf("batch %d: audit: %d PINs checked, want at most %d", batch, checked, threshold)
			}
			st, err := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey(name))
			if err != nil || st.Failures > threshold {
				t.Fatalf("batch %d: stored failures: got %d (%v), want at most %d", batch, st.Failures, err, threshold)
			}
			if codes[""] == 0 {
				if st.Failures != threshold {
					t.Errorf("batch %d: stored failures: got %d, want %d (locked out)", batch, st.Failures, threshold)
				}
				if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, name, bobPIN); code(err) != latchkey.EAccountLocked {
					t.Errorf("batch %d: right PIN after the lock: got %v, want %s", batch, err, latchkey.EAccountLocked)
				}
			}
		}
	})

	t.Run("a user locked by staff is refused after the right PIN, and gets the slots back", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		bob := f.pinUser("bob", "Correct-horse-7", bobPIN)
		if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, bob.ID); err != nil {
			t.Fatal(err)
		}
		api := f.api()
		right := post(t, api+"/sessions", `{"username":"bob","pin":"`+bobPIN+`"}`)
		if right.status != http.StatusLocked || !strings.Contains(right.body, latchkey.EAccountLocked) {
			t.Fatalf("right PIN: got %d %s, want 423 %s", right.status, right.body, latchkey.EAccountLocked)
		}
		if wrong := post(t, api+"/sessions", `{"username":"bob","pin":"`+wrongPIN+`"}`); wrong.status != http.StatusUnauthorized {
			t.Errorf("wrong PIN: got %d %s, want 401 as for anybody", wrong.status, wrong.body)
		}
		if st, _ := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey("bob")); st.Failures != 1 {
			t.Errorf("failures: got %d, want 1 (the wrong PIN only)", st.Failures)
		}
	})

	t.Run("a PIN sign-in leaves a pending forgot-password request", func(t *testing.T) {
		f := newFixture(t)
		f.pinSignIn(true)
		f.pinUser("bob", "Correct-horse-7", bobPIN)
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		temp := f.tempPasswordFrom(f.email("bob"))
		if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", bobPIN); err != nil {
			t.Fatal(err)
		}
		if res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "bob", temp); err != nil || res.Session == "" {
			t.Fatalf("temporary password after a PIN sign-in: got %+v, %v; want the challenge", res, err)
		} else {
			testenv.Remember(res.Session)
		}
	})

	t.Run("too long inputs are refused before any store call", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "bob", strings.Repeat("1", 65)); code(err) != latchkey.EValidation {
			t.Errorf("long PIN: got %v, want %s", err, latchkey.EValidation)
		}
		if _, err := f.svc.SignInPIN(f.ctx, f.tenant.ID, "", bobPIN); code(err) != latchkey.EValidation {
			t.Errorf("no username: got %v, want %s", err, latchkey.EValidation)
		}
	})
}

func TestService_SignInPIN_Unit(t *testing.T) {
	// pinUser stores user name with a password and the PIN pin.
	pinUser := func(u *unit, name, pin string) *latchkey.User {
		t.Helper()
		usr := u.addUser(t, name, goodPassword)
		u.store.update(unitTenantID, usr.ID, func(x *latchkey.User) {
			x.PINMAC = latchkey.UserPINMAC(u.svc.HMACKey, unitTenantID, usr.ID, pin)
		})
		return usr
	}
	pinOn := func(u *unit) {
		u.tenant.Settings.PINSignIn = true
		u.store.addTenant(u.tenant)
	}

	t.Run("PIN sign-in off makes a wrong password's store calls and audits why", func(t *testing.T) {
		wrong, off := newUnit(t), newUnit(t)
		pinUser(wrong, "bob", bobPIN)
		pinUser(off, "bob", bobPIN)
		_, errWrong := wrong.svc.SignIn(wrong.ctx, unitTenantID, "bob", badPassword)
		_, errOff := off.svc.SignInPIN(off.ctx, unitTenantID, "bob", bobPIN)
		if code(errWrong) != latchkey.EInvalidCredentials || latchkey.ErrorMessage(errOff) != latchkey.ErrorMessage(errWrong) || code(errOff) != code(errWrong) {
			t.Fatalf("got %v for the right PIN while off, %v for a wrong password; want the same %s", errOff, errWrong, latchkey.EInvalidCredentials)
		}
		if fmt.Sprint(off.store.calls) != fmt.Sprint(wrong.store.calls) {
			t.Errorf("store calls: got %v, want %v as for a wrong password", off.store.calls, wrong.store.calls)
		}
		if e := off.lastAudit(t, latchkey.ActionSignIn); e.Result != latchkey.ResultFailure || e.Reason != "pin_sign_in_off" {
			t.Errorf("audit: got %s/%s, want %s/pin_sign_in_off", e.Result, e.Reason, latchkey.ResultFailure)
		}
	})

	t.Run("a right PIN gives both slots back and records the sign-in", func(t *testing.T) {
		u := newUnit(t)
		pinOn(u)
		bob := pinUser(u, "bob", bobPIN)
		res, err := u.svc.SignInPIN(u.ctx, unitTenantID, "Bob", bobPIN)
		if err != nil || res.Token == "" || res.Challenge != "" {
			t.Fatalf("got %+v, %v; want a token", res, err)
		}
		if got := u.store.attemptCount(unitTenantID, latchkey.UsernameKey("bob")); got != 0 {
			t.Errorf("attempt slots: got %d, want 0", got)
		}
		if got := u.store.rateCount(unitTenantID); got != 0 {
			t.Errorf("source slots: got %d, want 0", got)
		}
		if got := u.store.user(unitTenantID, bob.ID).LastLoginAt; !got.Equal(u.clock.Now()) {
			t.Errorf("last login: got %v, want %v", got, u.clock.Now())
		}
		if e := u.lastAudit(t, latchkey.ActionSignIn); e.Result != latchkey.ResultSuccess || e.Reason != "pin" {
			t.Errorf("audit: got %s/%s, want %s/pin", e.Result, e.Reason, latchkey.ResultSuccess)
		}
	})

	t.Run("a temporary password is no PIN", func(t *testing.T) {
		u := newUnit(t)
		pinOn(u)
		bob := pinUser(u, "bob", bobPIN)
		temp := u.addTemp(t, bob)
		if _, err := u.svc.SignInPIN(u.ctx, unitTenantID, "bob", temp); code(err) != latchkey.EInvalidCredentials {
			t.Errorf("temporary password as a PIN: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})

	t.Run("store failure", func(t *testing.T) {
		for _, method := range []string{"GetTenant", "TakeRate", "TakeLoginAttempt", "GetUserByUsernameWithTemp", "FinishSignIn"} {
			t.Run(method+" is returned as-is", func(t *testing.T) {
				u := newUnit(t)
				pinOn(u)
				pinUser(u, "bob", bobPIN)
				injected := fmt.Errorf("injected %s failure", method)
				u.store.fail[method] = injected
				res, err := u.svc.SignInPIN(u.ctx, unitTenantID, "bob", bobPIN)
				if err != injected || res != nil {
					t.Fatalf("got %+v, %v; want %v", res, err, injected)
				}
			})
		}
	})
}
