package system_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/userpin"
)

// minimumRow is a row of the round-trip table in docs/data-model.md:
// | `flow` | minimum | ...
var minimumRow = regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (\\d+) \\|")

// minima reads the round trips each flow may make from docs/data-model.md,
// the one place they are written and explained.
func minima(t *testing.T) map[string]int {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "data-model.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range minimumRow.FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// checkRoundTrips fails t for every flow in got (its DynamoDB calls) that
// makes more calls than docs/data-model.md allows, or has no minimum there.
func checkRoundTrips(t *testing.T, got map[string]int) {
	t.Helper()
	want := minima(t)
	for flow, calls := range got {
		w, ok := want[flow]
		if !ok {
			t.Errorf("%s: %d calls, and no minimum in docs/data-model.md", flow, calls)
			continue
		}
		if calls > w {
			t.Errorf("%s: got %d DynamoDB calls, want at most %d (docs/data-model.md)", flow, calls, w)
		}
		t.Logf("%s: %d calls (minimum %d)", flow, calls, w)
	}
}

// Each flow makes no more DynamoDB calls than docs/data-model.md says it
// needs (counted by an SDK middleware on the real client, with the tenant
// and template caches warm, as in a warm container), and every way a
// sign-in fails makes the same number of calls, so that neither the answer
// nor its timing tells which it was.
func TestFlows_RoundTrips(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d, counter := testenv.NewCountedDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, "rtrip", "Round trips", "admin", "admin@rtrip.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp, "Right-horse-2026")
	res, err := d.Passwords.SignIn(ctx, "rtrip", "admin", temp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Passwords.CompleteNewPassword(ctx, "rtrip", res.Session, "Right-horse-2026"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Tenancy.UpdateSettings(ctx, "rtrip", "test", "pinSignup=web,pinSignIn=on", func(s *latchkey.Settings) {
		s.PINSignup, s.PINSignIn = latchkey.PINSignupWeb, true
	}); err != nil {
		t.Fatal(err)
	}
	// admin has a user PIN (and the PIN_CHANGED template is cached).
	const pin, newPIN = "482917", "739105"
	testenv.Remember(pin, newPIN)
	if err := d.UserPIN.Set(ctx, "rtrip", admin, admin.ID, pin); err != nil {
		t.Fatal(err)
	}
	code, err := d.PINSignup.Generate(ctx, "rtrip", admin.ID, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(code)
	newUser := func(name string) (*latchkey.User, string) {
		u, temp, err := d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: name, Email: name + "@rtrip.example"})
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp)
		return u, temp
	}
	// A user locked out by failures, and the caches warm.
	for i := 0; i < tn.Settings.LockoutThreshold; i++ {
		_, _ = d.Passwords.SignIn(ctx, "rtrip", "lockedout", "Wrong-horse-1")
	}
	_, _ = d.Passwords.SignIn(ctx, "rtrip", "admin", "Right-horse-2026")
	if err := d.Passwords.ForgotPassword(ctx, "rtrip", "admin"); err != nil {
		t.Fatal(err)
	}
	var session string
	got := map[string]int{}
	run := func(flow string, f func() error, want string) {
		t.Helper()
		counter.Reset()
		err := f()
		if latchkey.ErrorCode(err) != want {
			t.Fatalf("%s: got %v, want %q", flow, err, want)
		}
		_, got[flow] = counter.Calls()
	}
	signIn := func(tid, user, pw string) func() error {
		return func() error { _, err := d.Passwords.SignIn(ctx, tid, user, pw); return err }
	}
	run("signin-password", signIn("rtrip", "admin", "Right-horse-2026"), "")
	run("signin-wrong-password", signIn("rtrip", "admin", "Wrong-horse-1"), latchkey.EInvalidCredentials)
	run("signin-unknown-user", signIn("rtrip", "nobody", "Wrong-horse-1"), latchkey.EInvalidCredentials)
	run("signin-locked-out", signIn("rtrip", "lockedout", "Wrong-horse-1"), latchkey.EAccountLocked)
	run("signin-unknown-tenant", signIn("no-such-tenant", "admin", "Wrong-horse-1"), latchkey.EInvalidCredentials)
	signInPIN := func(user, pin string) func() error {
		return func() error { _, err := d.Passwords.SignInPIN(ctx, "rtrip", user, pin); return err }
	}
	run("signin-pin", signInPIN("admin", pin), "")
	run("signin-wrong-pin", signInPIN("admin", newPIN), latchkey.EInvalidCredentials)
	pinAdmin, err := d.Store.GetUser(ctx, "rtrip", admin.ID) // as the token check reads it
	if err != nil {
		t.Fatal(err)
	}
	run("user-pin-change", func() error {
		return d.UserPIN.ChangeOwn(ctx, pinAdmin, userpin.Change{CurrentPIN: pin, NewPIN: newPIN})
	}, "")
	run("user-pin-set", func() error { return d.UserPIN.Set(ctx, "rtrip", admin, admin.ID, pin) }, "")
	_, temp2 := newUser("newcomer")
	run("signin-temporary-password", func() error {
		r, err := d.Passwords.SignIn(ctx, "rtrip", "newcomer", temp2)
		if err == nil {
			session = r.Session
			testenv.Remember(session)
		}
		return err
	}, "")
	run("challenge-complete", func() error {
		_, err := d.Passwords.CompleteNewPassword(ctx, "rtrip", session, "Quiet-river-77")
		return err
	}, "")
	run("forgot-password-known", func() error { return d.Passwords.ForgotPassword(ctx, "rtrip", "admin") }, "")
	run("forgot-password-unknown", func() error { return d.Passwords.ForgotPassword(ctx, "rtrip", "nobody") }, "")
	n := 0
	run("pin-code-signup", func() error {
		n++
		_, err := d.PINSignup.SignUp(ctx, "rtrip", pinsignup.Signup{PINCode: code, Email: fmt.Sprintf("s%d@rtrip.example", n), Username: fmt.Sprintf("signed%d", n), Client: pinsignup.ClientWeb, SourceAddress: "192.0.2.1"})
		return err
	}, "")

	checkRoundTrips(t, got)
	for _, flow := range []string{"signin-unknown-user", "signin-locked-out", "signin-unknown-tenant", "signin-wrong-pin"} {
		if got[flow] != got["signin-wrong-password"] {
			t.Errorf("%s: got %d calls, want %d as for a wrong password: a failure's cost must not tell its reason", flow, got[flow], got["signin-wrong-password"])
		}
	}
}
