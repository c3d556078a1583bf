package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// sameAnswer fails unless every reply has the status, headers (less
// X-Request-Id and Date) and body of the first.
func sameAnswer(t *testing.T, what string, replies map[string]reply) {
	t.Helper()
	strip := func(h http.Header) http.Header {
		c := maps.Clone(h)
		c.Del("X-Request-Id")
		c.Del("Date")
		return c
	}
	var firstName string
	var first reply
	for name, r := range replies {
		if firstName == "" {
			firstName, first = name, r
			continue
		}
		if r.status != first.status || r.raw != first.raw || !reflect.DeepEqual(strip(r.header), strip(first.header)) {
			t.Errorf("%s: %s answers %d %v %s, %s answers %d %v %s; want the same",
				what, firstName, first.status, strip(first.header), first.raw, name, r.status, strip(r.header), r.raw)
		}
	}
}

// Audit finding 6: sign-in, forgot-password and PIN-code signup answer alike
// for known, unknown and locked subjects, over real HTTP.
func TestLocalAPI_Enumeration(t *testing.T) {
	l := newLocal(t)
	ctx := context.Background()
	tn, admin := l.pinSignupTenant("Enum")
	base := "/v1/tenants/" + l.id
	users := map[string]*latchkey.User{}
	for _, name := range []string{"known", "locked", "lockedout", "holder"} {
		u, temp, err := l.deps.Tenancy.CreateUser(ctx, tn, "test", newUser(name, l.email(name)))
		if err != nil {
			t.Fatal(err)
		}
		remember(temp)
		l.signInNew(l.id, name, temp, "Right-pass-2026")
		users[name] = u
	}
	if err := l.deps.Passwords.Lock(ctx, l.id, admin, users["locked"].ID); err != nil {
		t.Fatal(err)
	}
	signIn := func(username, pw string) reply {
		return l.do("POST", base+"/sessions", "", map[string]string{"username": username, "password": pw})
	}

	t.Run("sign-in with a wrong password", func(t *testing.T) {
		sameAnswer(t, "wrong password", map[string]reply{
			"known": signIn("known", "Wrong-pass-1"), "unknown": signIn("ghost", "Wrong-pass-1"), "admin-locked": signIn("locked", "Wrong-pass-1"),
		})
	})
	t.Run("locks: by failures, of a user and of a name nobody has, and by an admin", func(t *testing.T) {
		for i := 0; i < tn.Settings.LockoutThreshold; i++ {
			signIn("lockedout", "Wrong-pass-1")
			signIn("phantom", "Wrong-pass-1")
		}
		replies := map[string]reply{
			"locked out, right password":   signIn("lockedout", "Right-pass-2026"),
			"locked out, wrong password":   signIn("lockedout", "Wrong-pass-1"),
			"no such user, locked out":     signIn("phantom", "Wrong-pass-1"),
			"admin-locked, right password": signIn("locked", "Right-pass-2026"),
		}
		sameAnswer(t, "locked", replies)
		if r := replies["admin-locked, right password"]; r.status != http.StatusLocked || r.header.Get("Retry-After") != "" {
			t.Errorf("got %d with Retry-After %q, want 423 without it", r.status, r.header.Get("Retry-After"))
		}
	})
	t.Run("forgot-password, also when the e-mail cannot be sent", func(t *testing.T) {
		forgot := func(username string) reply {
			return l.do("POST", base+"/password-resets", "", map[string]string{"username": username})
		}
		sameAnswer(t, "forgot", map[string]reply{"known": forgot("known"), "unknown": forgot("ghost"), "admin-locked": forgot("locked")})
		good := l.deps.Notifier.Mailer
		l.deps.Notifier.Mailer = testenv.UnreachableMailer(t)
		defer func() { l.deps.Notifier.Mailer = good }()
		sameAnswer(t, "forgot with SES down", map[string]reply{"known": forgot("holder"), "unknown": forgot("ghost2")})
	})
	t.Run("PIN-code signup with codes that do not work", func(t *testing.T) {
		revoked, err := l.deps.PINSignup.Generate(ctx, l.id, admin.ID, users["holder"].ID)
		if err != nil {
			t.Fatal(err)
		}
		remember(revoked)
		if err := l.deps.PINSignup.Revoke(ctx, l.id, admin.ID, users["holder"].ID); err != nil {
			t.Fatal(err)
		}
		lockedCode, err := l.deps.PINSignup.Generate(ctx, l.id, admin.ID, users["locked"].ID)
		if err != nil {
			t.Fatal(err)
		}
		remember(lockedCode)
		signup := func(code string, i int) reply {
			return l.do("POST", base+"/signups", "", map[string]string{"pinCode": code, "email": l.email(fmt.Sprintf("new%d", i)), "username": fmt.Sprintf("newuser%d", i)}, "X-Client", "web")
		}
		sameAnswer(t, "signup", map[string]reply{
			"never issued": signup("AAAA-BBBB-CCCC", 1), "revoked": signup(revoked, 2), "holder locked": signup(lockedCode, 3),
		})
	})
}
