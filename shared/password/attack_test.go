package password_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/token"
)

// from returns a context whose requests come from source address ip.
func (f *fixture) from(ip string) context.Context { return reqctx.WithSourceIP(f.ctx, ip) }

// staff creates a user with roles who has signed in with password pw.
func (f *fixture) staff(name, pw string, roles ...latchkey.Role) *latchkey.User {
	f.t.Helper()
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email(name), Roles: roles})
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	testenv.Remember(temp, pw)
	res, err := f.svc.SignIn(f.ctx, f.tenant.ID, name, temp)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, pw); err != nil {
		f.t.Fatal(err)
	}
	cur, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return cur
}

func (f *fixture) auth() *token.Auth {
	return &token.Auth{Tokens: f.deps.Tokens, Users: f.deps.Store}
}

// Finding 1: a slot is taken before the password is checked, so parallel
// guesses get no more checks than the lockout threshold.
func TestService_SignIn_ParallelGuesses(t *testing.T) {
	t.Run("attempts being checked hold their slots: the right password waits its turn", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("nina", "Correct-horse-7")
		lp := f.tenant.Settings.LockoutThreshold
		for i := 0; i < lp; i++ {
			// Five guesses in flight: their slots are taken, their verdicts not in yet.
			if a, err := f.deps.Store.TakeLoginAttempt(f.ctx, f.tenant.ID, latchkey.UsernameKey("nina"), f.tenant.Settings.LockPolicy()); err != nil || a.Locked {
				t.Fatalf("slot %d: got %+v, %v", i, a, err)
			}
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "nina", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("right password with every slot taken: got %v, want %s", err, latchkey.EAccountLocked)
		}
	})
	t.Run("the right password among 39 wrong ones, 10 batches", func(t *testing.T) {
		f := newFixture(t)
		threshold := f.tenant.Settings.LockoutThreshold
		wins := 0
		for batch := 0; batch < 10; batch++ {
			name := fmt.Sprintf("olga%d", batch)
			f.newUser(name, "Correct-horse-7")
			right := (batch * 7) % 40
			errs := testenv.Concurrently(40, func(i int) error {
				pw := "wrong-password-1"
				if i == right {
					pw = "Correct-horse-7"
				}
				_, err := f.svc.SignIn(f.from(fmt.Sprintf("198.51.100.%d", i)), f.tenant.ID, name, pw)
				return err
			})
			codes := map[string]int{}
			for _, err := range errs {
				codes[code(err)]++
			}
			if codes[latchkey.EInvalidCredentials]+codes[""] > threshold {
				t.Fatalf("batch %d: %v: more than %d passwords checked", batch, codes, threshold)
			}
			if codes[""] == 1 {
				wins++
				continue
			}
			// Locked at exactly the threshold: the right password is refused now too.
			st, err := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey(name))
			if err != nil || st.Failures != threshold {
				t.Fatalf("batch %d: stored failures %d (%v), want %d", batch, st.Failures, err, threshold)
			}
			if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, name, "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
				t.Fatalf("batch %d: right password after the lock: got %v, want %s", batch, err, latchkey.EAccountLocked)
			}
		}
		// The right password wins only when it is among the first five slots
		// taken (1 in 8 at random); before the fix it won nearly every batch.
		if wins > 5 {
			t.Fatalf("the right password won %d of 10 batches, want at most 5", wins)
		}
		t.Logf("the right password won %d of 10 batches", wins)
	})
	t.Run("a stolen token cannot guess the current password past the lockout", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("pia", "Correct-horse-7")
		cur, _ := f.deps.Store.GetUserByUsername(f.ctx, f.tenant.ID, "pia")
		errs := testenv.Concurrently(40, func(i int) error {
			pw := "wrong-password-1"
			if i == 39 {
				pw = "Correct-horse-7"
			}
			return f.svc.ChangeOwn(f.ctx, cur, pw, fmt.Sprintf("Stolen-choice-%d", i))
		})
		codes := map[string]int{}
		for _, err := range errs {
			codes[code(err)]++
		}
		if checked := codes[latchkey.EInvalidCredentials] + codes[""] + codes[latchkey.EConflict]; checked > f.tenant.Settings.LockoutThreshold {
			t.Fatalf("%v: more than %d current passwords checked", codes, f.tenant.Settings.LockoutThreshold)
		}
		if codes[""] == 0 {
			if err := f.svc.ChangeOwn(f.ctx, cur, "Correct-horse-7", "Stolen-choice-99"); code(err) != latchkey.EAccountLocked {
				t.Fatalf("right current password after the lock: got %v, want %s", err, latchkey.EAccountLocked)
			}
		}
	})
}

// Finding 2: a lock ends every token and pending challenge of the user.
func TestService_Lock_EndsSessions(t *testing.T) {
	f := newFixture(t)
	agent := f.staff("quinn", "Correct-horse-7", latchkey.RoleAgent)
	res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "quinn", "Correct-horse-7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth().Authenticate(f.ctx, f.tenant.ID, res.Token); err != nil {
		t.Fatalf("before the lock: got %v, want the caller", err)
	}
	if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, agent.ID); err != nil {
		t.Fatal(err)
	}
	t.Run("the token stops at once", func(t *testing.T) {
		if _, err := f.auth().Authenticate(f.ctx, f.tenant.ID, res.Token); code(err) != latchkey.EUnauthorized {
			t.Fatalf("after the lock: got %v, want %s", err, latchkey.EUnauthorized)
		}
	})
	t.Run("the right password is refused", func(t *testing.T) {
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "quinn", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("got %v, want %s", err, latchkey.EAccountLocked)
		}
	})
	t.Run("a wrong password answers as for anyone, so the lock reveals no user", func(t *testing.T) {
		_, known := f.svc.SignIn(f.ctx, f.tenant.ID, "quinn", "wrong-password-1")
		_, unknown := f.svc.SignIn(f.ctx, f.tenant.ID, "nobody-here", "wrong-password-1")
		if code(known) != latchkey.EInvalidCredentials || code(unknown) != latchkey.EInvalidCredentials {
			t.Fatalf("got %v and %v, want both %s", known, unknown, latchkey.EInvalidCredentials)
		}
	})
	t.Run("unlocking does not revive the old token", func(t *testing.T) {
		if err := f.svc.Unlock(f.ctx, f.tenant.ID, f.admin, agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth().Authenticate(f.ctx, f.tenant.ID, res.Token); code(err) != latchkey.EUnauthorized {
			t.Fatalf("after the unlock: got %v, want %s", err, latchkey.EUnauthorized)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "quinn", "Correct-horse-7"); err != nil {
			t.Fatalf("sign-in after the unlock: got %v, want a token", err)
		}
	})
}

// Finding 3: a challenge is bound to the credential and session version it
// was issued for.
func TestService_Challenge_Binding(t *testing.T) {
	newChallenge := func(f *fixture, name string) (temp string, sessions []string, u *latchkey.User) {
		t.Helper()
		u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email(name)})
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp)
		for i := 0; i < 2; i++ {
			res, err := f.svc.SignIn(f.ctx, f.tenant.ID, name, temp)
			if err != nil || res.Challenge == "" {
				t.Fatalf("sign-in %d with the temporary password: got %+v, %v", i, res, err)
			}
			testenv.Remember(res.Session)
			sessions = append(sessions, res.Session)
		}
		return temp, sessions, u
	}
	t.Run("one temporary password, one live challenge: the newer replaces the older", func(t *testing.T) {
		f := newFixture(t)
		_, sessions, _ := newChallenge(f, "rosa")
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[0], "Good-enough-42"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("older challenge: got %v, want %s", err, latchkey.EInvalidSession)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[1], "Good-enough-42"); err != nil {
			t.Fatalf("newer challenge: got %v, want a token", err)
		}
	})
	t.Run("an admin reset ends the challenge", func(t *testing.T) {
		f := newFixture(t)
		_, sessions, u := newChallenge(f, "sven")
		if _, err := f.svc.Reset(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[1], "Attacker-choice-1"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("challenge from before the reset: got %v, want %s", err, latchkey.EInvalidSession)
		}
	})
	t.Run("an admin lock ends the challenge, and an unlock does not revive it", func(t *testing.T) {
		f := newFixture(t)
		_, sessions, u := newChallenge(f, "tara")
		if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[1], "Attacker-choice-1"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("while locked: got %v, want %s", err, latchkey.EInvalidSession)
		}
		if err := f.svc.Unlock(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[1], "Attacker-choice-1"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("after the unlock: got %v, want %s", err, latchkey.EInvalidSession)
		}
	})
	t.Run("a newer temporary password ends the challenge", func(t *testing.T) {
		f := newFixture(t)
		temp, sessions, _ := newChallenge(f, "uma")
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "uma"); err != nil {
			t.Fatal(err)
		}
		f.tempPasswordFrom(f.email("uma"), temp)
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, sessions[1], "Attacker-choice-1"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("challenge of the replaced temporary password: got %v, want %s", err, latchkey.EInvalidSession)
		}
	})
}

// Finding 4: staff act only on users of lower or equal privilege.
func TestService_StaffPrivilege(t *testing.T) {
	f := newFixture(t)
	agent := f.staff("vera", "Correct-horse-7", latchkey.RoleAgent)
	other := f.staff("walt", "Correct-horse-7", latchkey.RoleAgent)
	user := f.newUser("xena", "Correct-horse-7")
	for _, tt := range []struct {
		name string
		do   func() error
	}{
		{"reset", func() error { _, err := f.svc.Reset(f.ctx, f.tenant.ID, agent, f.admin.ID); return err }},
		{"lock", func() error { return f.svc.Lock(f.ctx, f.tenant.ID, agent, f.admin.ID) }},
		{"unlock", func() error { return f.svc.Unlock(f.ctx, f.tenant.ID, agent, f.admin.ID) }},
	} {
		t.Run("an agent may not "+tt.name+" an admin", func(t *testing.T) {
			if err := tt.do(); code(err) != latchkey.EForbidden {
				t.Fatalf("got %v, want %s", err, latchkey.EForbidden)
			}
		})
	}
	t.Run("the admin is untouched", func(t *testing.T) {
		a, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, f.admin.ID)
		if err != nil || a.AdminLocked() || a.SessionVersion != f.admin.SessionVersion {
			t.Fatalf("admin after the refused actions: %+v, %v", a, err)
		}
	})
	t.Run("an agent may lock and unlock a user and another agent", func(t *testing.T) {
		for _, target := range []string{user.ID, other.ID} {
			if err := f.svc.Lock(f.ctx, f.tenant.ID, agent, target); err != nil {
				t.Fatalf("lock %s: %v", target, err)
			}
			if err := f.svc.Unlock(f.ctx, f.tenant.ID, agent, target); err != nil {
				t.Fatalf("unlock %s: %v", target, err)
			}
		}
	})
	t.Run("an admin may lock an admin", func(t *testing.T) {
		second := f.staff("yuri", "Correct-horse-7", latchkey.RoleAdmin)
		if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, second.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// Findings 6 and 7: every lock answers alike, strangers cannot block the
// reset path, and unauthenticated hashing is bounded per source.
func TestService_AbuseModel(t *testing.T) {
	t.Run("a lockout by strangers does not block the reset path", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("zoe", "Correct-horse-7")
		for i := 0; i < 6; i++ {
			_, _ = f.svc.SignIn(f.from("203.0.113.9"), f.tenant.ID, "zoe", "wrong-password-1")
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "zoe", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("right password while locked out: got %v, want %s", err, latchkey.EAccountLocked)
		}
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "zoe"); err != nil {
			t.Fatal(err)
		}
		temp := f.tempPasswordFrom(f.email("zoe"))
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "zoe", temp)
		if err != nil || res.Challenge != password.ChallengeNewPassword {
			t.Fatalf("temporary password while locked out: got %+v, %v; want the challenge", res, err)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, "Recovered-pass-5"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "zoe", "Recovered-pass-5"); err != nil {
			t.Fatalf("new password: got %v, want a token (the lockout ended)", err)
		}
	})
	t.Run("sign-in work is bounded per source, before any hashing", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("abel", "Correct-horse-7")
		f.svc.Limits = password.Limits{SignInPerSource: 8, SignInWindow: password.DefaultLimits.SignInWindow, ResetPerSource: 2, ResetWindow: password.DefaultLimits.ResetWindow}
		attacker := f.from("192.0.2.66")
		errs := testenv.Concurrently(20, func(i int) error {
			_, err := f.svc.SignIn(attacker, f.tenant.ID, fmt.Sprintf("random-%d", i), "wrong-password-1")
			return err
		})
		codes := map[string]int{}
		for _, err := range errs {
			codes[code(err)]++
			if code(err) == latchkey.ERateLimited {
				if e := err.(*latchkey.Error); e.RetryAfterSeconds <= 0 {
					t.Errorf("429 without Retry-After: %+v", e)
				}
			}
		}
		if codes[latchkey.EInvalidCredentials] != 8 || codes[latchkey.ERateLimited] != 12 {
			t.Fatalf("got %v, want 8 %s and 12 %s", codes, latchkey.EInvalidCredentials, latchkey.ERateLimited)
		}
		if _, err := f.svc.SignIn(attacker, f.tenant.ID, "abel", "Correct-horse-7"); code(err) != latchkey.ERateLimited {
			t.Fatalf("right password from the limited source: got %v, want %s", err, latchkey.ERateLimited)
		}
		if _, err := f.svc.SignIn(f.from("192.0.2.67"), f.tenant.ID, "abel", "Correct-horse-7"); err != nil {
			t.Fatalf("another source: got %v, want a token", err)
		}
		// Right passwords give their slot back: a busy office is not limited by its successes.
		for i := 0; i < 12; i++ {
			if _, err := f.svc.SignIn(f.from("192.0.2.68"), f.tenant.ID, "abel", "Correct-horse-7"); err != nil {
				t.Fatalf("success %d from one source: got %v", i, err)
			}
		}
	})
	t.Run("forgot-password work is bounded per source, whatever usernames it tries", func(t *testing.T) {
		f := newFixture(t)
		f.svc.Limits = password.Limits{SignInPerSource: 8, SignInWindow: password.DefaultLimits.SignInWindow, ResetPerSource: 2, ResetWindow: password.DefaultLimits.ResetWindow}
		src := f.from("192.0.2.70")
		for i := 0; i < 5; i++ {
			if err := f.svc.ForgotPassword(src, f.tenant.ID, fmt.Sprintf("random-%d", i)); err != nil {
				t.Fatalf("request %d: got %v, want nil (202)", i, err)
			}
		}
		for i := 0; i < 5; i++ {
			n, err := f.deps.Store.RateCount(f.ctx, f.tenant.ID, "reset", latchkey.UsernameKey(fmt.Sprintf("random-%d", i)), password.DefaultLimits.ResetWindow*4)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 0}[i < 2]; n != want {
				t.Errorf("username %d counted %d times, want %d (only the first 2 requests of the source do work)", i, n, want)
			}
		}
	})
	t.Run("a failed reset e-mail answers as for an unknown user", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("bert", "Correct-horse-7")
		good := f.deps.Notifier.Mailer
		f.deps.Notifier.Mailer = testenv.UnreachableMailer(t)
		known := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "bert")
		unknown := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "nobody-at-all")
		f.deps.Notifier.Mailer = good
		if known != nil || unknown != nil {
			t.Fatalf("got %v (known) and %v (unknown), want both nil (202)", known, unknown)
		}
		events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events {
			if e.Action == "password.forgot" && e.Reason == "send_failed" {
				found = true
			}
		}
		if !found {
			t.Fatal("the failed send is not in the audit log")
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "bert", "Correct-horse-7"); err != nil {
			t.Fatalf("old password after the failed reset: got %v, want a token", err)
		}
	})
	t.Run("too long inputs are refused before any store call, never with a 5xx", func(t *testing.T) {
		f := newFixture(t)
		long := strings.Repeat("u", 3000)
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, long, "whatever-1"); code(err) != latchkey.EValidation {
			t.Fatalf("sign-in: got %v, want %s", err, latchkey.EValidation)
		}
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, long); code(err) != latchkey.EValidation {
			t.Fatalf("forgot: got %v, want %s", err, latchkey.EValidation)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "bob", strings.Repeat("p", 5000)); code(err) != latchkey.EValidation {
			t.Fatalf("long password: got %v, want %s", err, latchkey.EValidation)
		}
	})
}

// Findings 10 and 11.
func TestService_Identity(t *testing.T) {
	t.Run("a look-alike of an existing username is taken", func(t *testing.T) {
		f := newFixture(t)
		for _, name := range []string{"\u0430dmin", "ADMIN", "ａｄｍｉｎ"} {
			if _, _, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email("twin")}); code(err) != latchkey.EUsernameTaken {
				t.Errorf("%q beside admin: got %v, want %s", name, err, latchkey.EUsernameTaken)
			}
		}
	})
	t.Run("the new-account e-mail holds the username only when the tenant says so", func(t *testing.T) {
		f := newFixture(t)
		_, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "cleo", Email: f.email("cleo")})
		if err != nil {
			t.Fatal(err)
		}
		e := testenv.WaitForEmail(t, f.email("cleo"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, temp) })
		if strings.Contains(e.Text+e.HTML+e.Subject, "cleo") {
			t.Errorf("PASSWORD_EMAIL_NEW holds the username beside the temporary password: %q", e.Text)
		}
		f.tenant.Settings.UsernameInResetEmail = true
		_, temp2, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "dora", Email: f.email("dora")})
		if err != nil {
			t.Fatal(err)
		}
		e = testenv.WaitForEmail(t, f.email("dora"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, temp2) })
		if !strings.Contains(e.Text, "dora") {
			t.Errorf("with the setting on, the username is missing: %q", e.Text)
		}
	})
	t.Run("a sign-in with the old password ends a pending reset", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("emil", "Correct-horse-7")
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "emil"); err != nil {
			t.Fatal(err)
		}
		temp := f.tempPasswordFrom(f.email("emil"))
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "emil", "Correct-horse-7"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "emil", temp); code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("temporary password after a sign-in with the old one: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
	t.Run("a reset whose e-mail fails changes nothing", func(t *testing.T) {
		f := newFixture(t)
		u := f.newUser("finn", "Correct-horse-7")
		before, _ := f.deps.Store.GetUser(f.ctx, f.tenant.ID, u.ID)
		good := f.deps.Notifier.Mailer
		f.deps.Notifier.Mailer = testenv.UnreachableMailer(t)
		_, err := f.svc.Reset(f.ctx, f.tenant.ID, f.admin, u.ID)
		f.deps.Notifier.Mailer = good
		if code(err) != latchkey.EServiceUnavailable {
			t.Fatalf("got %v, want %s", err, latchkey.EServiceUnavailable)
		}
		after, _, err := f.deps.Store.GetUserWithTemp(f.ctx, f.tenant.ID, u.ID)
		if err != nil || after.PasswordHash != before.PasswordHash || after.SessionVersion != before.SessionVersion {
			t.Fatalf("user after the failed reset: %+v, %v; want as before", after, err)
		}
		if _, tp, _ := f.deps.Store.GetUserWithTemp(f.ctx, f.tenant.ID, u.ID); tp != nil {
			t.Fatal("a temporary password was left behind")
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "finn", "Correct-horse-7"); err != nil {
			t.Fatalf("old password: got %v, want a token", err)
		}
	})
}
