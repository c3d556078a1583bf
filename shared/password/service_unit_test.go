package password_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/token"
)

// The unit tests here run password.Service against fakeStore (no DynamoDB)
// and a recording mailer; every name holds "Unit", so -run Unit selects them.

const (
	unitTenantID = "acme"
	goodPassword = "Correct-horse-7"
	badPassword  = "wrong-password-1"
)

// unit is a password.Service on in-memory fakes, with a clock the test moves.
type unit struct {
	ctx    context.Context
	clock  *testclock.Clock
	store  *fakeStore
	mailer *fakeMailer
	svc    *password.Service
	tenant latchkey.Tenant
	// slept are the durations the service slept, in order.
	slept []time.Duration
}

func newUnit(t *testing.T) *unit {
	t.Helper()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{clock: clock, store: newFakeStore(clock.Now), mailer: &fakeMailer{}}
	u.ctx = reqctx.WithSourceIP(reqctx.WithLogger(context.Background(), slog.New(slog.DiscardHandler)), "203.0.113.7")
	u.svc = &password.Service{
		Store:   u.store,
		Notify:  &notify.Notifier{Templates: &templates.Renderer{Store: noOverrides{}}, Mailer: u.mailer, From: "no-reply@latchkey.test"},
		Tokens:  &token.Issuer{Key: key, Now: clock.Now, TTL: token.DefaultTTL},
		HMACKey: []byte("unit-test-hmac-key"),
		Now:     clock.Now,
		// No floor unless a test sets one; sleeping moves the clock.
		ResetFloor: -1,
		Sleep: func(d time.Duration) {
			u.slept = append(u.slept, d)
			clock.Advance(d)
		},
	}
	u.tenant = latchkey.Tenant{ID: unitTenantID, Name: "Acme", Settings: latchkey.DefaultSettings(), CreatedAt: clock.Now()}
	u.store.addTenant(u.tenant)
	return u
}

// cheapParams make the stored users' hashes fast to check; verification
// reads the parameters from the hash.
var cheapParams = secure.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// addUser stores user name of the tenant at session version 3, with password
// pw (none when empty) and an e-mail address.
func (u *unit) addUser(t *testing.T, name, pw string, roles ...latchkey.Role) *latchkey.User {
	t.Helper()
	if len(roles) == 0 {
		roles = []latchkey.Role{latchkey.RoleUser}
	}
	usr := latchkey.User{
		TenantID: unitTenantID, ID: "id-" + name, Username: name, Email: name + "@acme.latchkey.test",
		Roles: roles, SessionVersion: 3, CreatedAt: u.clock.Now(),
	}
	if pw != "" {
		h, err := secure.HashPasswordWith(pw, cheapParams)
		if err != nil {
			t.Fatal(err)
		}
		usr.PasswordHash, usr.PasswordChangedAt = h, u.clock.Now()
	}
	u.store.addUser(usr)
	return &usr
}

// addTemp gives user usr a temporary password and returns it.
func (u *unit) addTemp(t *testing.T, usr *latchkey.User) string {
	t.Helper()
	pw, tp, err := latchkey.NewTempPassword(u.tenant.Settings, u.clock.Now(), u.svc.HMACKey)
	if err != nil {
		t.Fatal(err)
	}
	u.store.putTemp(unitTenantID, usr.ID, tp)
	return pw
}

// lastAudit returns the last audit event of action, failing when there is none.
func (u *unit) lastAudit(t *testing.T, action latchkey.Action) latchkey.AuditEvent {
	t.Helper()
	ev := u.store.audited(action)
	if len(ev) == 0 {
		t.Fatalf("no %s audit event", action)
	}
	return ev[len(ev)-1]
}

func TestService_SignIn_Unit(t *testing.T) {
	t.Run("right password gives a token and gives both slots back", func(t *testing.T) {
		u := newUnit(t)
		bob := u.addUser(t, "bob", goodPassword)
		res, err := u.svc.SignIn(u.ctx, unitTenantID, "Bob", goodPassword)
		if err != nil || res.Token == "" {
			t.Fatalf("got %+v, %v; want a token", res, err)
		}
		c, err := u.svc.Tokens.Verify(res.Token)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if c.Tenant != unitTenantID || c.UserID != bob.ID || c.SessionVersion != bob.SessionVersion {
			t.Errorf("claims: got tenant %q user %q version %d, want %q %q %d", c.Tenant, c.UserID, c.SessionVersion, unitTenantID, bob.ID, bob.SessionVersion)
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
	})

	t.Run("wrong password answers invalid_credentials and keeps both slots", func(t *testing.T) {
		u := newUnit(t)
		u.addUser(t, "bob", goodPassword)
		res, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", badPassword)
		if code(err) != latchkey.EInvalidCredentials || res != nil {
			t.Fatalf("got %+v, %v; want %s", res, err, latchkey.EInvalidCredentials)
		}
		if got := u.store.attemptCount(unitTenantID, latchkey.UsernameKey("bob")); got != 1 {
			t.Errorf("attempt slots: got %d, want 1", got)
		}
		if got := u.store.rateCount(unitTenantID); got != 1 {
			t.Errorf("source slots: got %d, want 1", got)
		}
		if e := u.lastAudit(t, latchkey.ActionSignIn); e.Result != latchkey.ResultFailure || e.Reason != "invalid_credentials" {
			t.Errorf("audit: got %s/%s, want %s/invalid_credentials", e.Result, e.Reason, latchkey.ResultFailure)
		}
	})

	t.Run("the threshold-th wrong password locks the username", func(t *testing.T) {
		u := newUnit(t)
		u.addUser(t, "bob", goodPassword)
		ukey := latchkey.UsernameKey("bob")
		threshold := u.tenant.Settings.LockoutThreshold
		for i := 1; i < threshold; i++ {
			if _, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", badPassword); code(err) != latchkey.EInvalidCredentials {
				t.Fatalf("attempt %d: got %v, want %s", i, err, latchkey.EInvalidCredentials)
			}
			if got := u.store.attemptCount(unitTenantID, ukey); got != i {
				t.Fatalf("attempt %d: got %d slots taken, want %d", i, got, i)
			}
		}
		if _, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", badPassword); code(err) != latchkey.EAccountLocked {
			t.Fatalf("attempt %d: got %v, want %s", threshold, err, latchkey.EAccountLocked)
		}
		if e := u.lastAudit(t, latchkey.ActionSignIn); e.Reason != "lockout" {
			t.Errorf("audit reason: got %q, want lockout", e.Reason)
		}
		res, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", goodPassword)
		if code(err) != latchkey.EAccountLocked || res != nil {
			t.Fatalf("right password while locked out: got %+v, %v; want %s", res, err, latchkey.EAccountLocked)
		}
		if got := u.store.attemptCount(unitTenantID, ukey); got != threshold {
			t.Errorf("slots while locked out: got %d, want %d", got, threshold)
		}
		u.clock.Advance(time.Duration(u.tenant.Settings.LockoutMinutes) * time.Minute)
		if res, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", goodPassword); err != nil || res.Token == "" {
			t.Fatalf("after the lockout: got %+v, %v; want a token", res, err)
		}
	})

	t.Run("store failure", func(t *testing.T) {
		for _, method := range []string{"GetTenant", "TakeRate", "TakeLoginAttempt", "GetUserByUsernameWithTemp", "FinishSignIn"} {
			t.Run(method+" is returned as-is", func(t *testing.T) {
				u := newUnit(t)
				u.addUser(t, "bob", goodPassword)
				injected := errors.New("injected " + method + " failure")
				u.store.fail[method] = injected
				res, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", goodPassword)
				if !errors.Is(err, injected) {
					t.Fatalf("got %v, want %v", err, injected)
				}
				if res != nil {
					t.Errorf("got result %+v, want none", res)
				}
				if got := latchkey.StatusOf(code(err)); got != 500 {
					t.Errorf("status: got %d, want 500", got)
				}
				if msg := latchkey.ErrorMessage(err); strings.Contains(msg, "injected") {
					t.Errorf("client message %q holds the internal error", msg)
				}
			})
		}
	})

	t.Run("unknown tenant answers as an unknown user", func(t *testing.T) {
		// SignIn does not answer not_found for an unknown tenant (that would
		// tell which tenants exist): it counts the attempt in one shared
		// namespace and answers invalid_credentials, writing no audit event.
		u := newUnit(t)
		res, err := u.svc.SignIn(u.ctx, "no-such-tenant", "bob", goodPassword)
		if code(err) != latchkey.EInvalidCredentials || res != nil {
			t.Fatalf("got %+v, %v; want %s", res, err, latchkey.EInvalidCredentials)
		}
		if got := u.store.attemptCount("_unknown", latchkey.UsernameKey("bob")); got != 1 {
			t.Errorf("attempt slots in the unknown-tenant namespace: got %d, want 1", got)
		}
		if got := u.store.callCount("Audit"); got != 0 {
			t.Errorf("audit writes: got %d, want 0", got)
		}
	})

	t.Run("admin-locked user with the right password is refused and gives the slots back", func(t *testing.T) {
		u := newUnit(t)
		bob := u.addUser(t, "bob", goodPassword)
		u.store.update(unitTenantID, bob.ID, func(x *latchkey.User) { at := u.clock.Now(); x.LockedAt = &at })
		res, err := u.svc.SignIn(u.ctx, unitTenantID, "bob", goodPassword)
		if code(err) != latchkey.EAccountLocked || res != nil {
			t.Fatalf("got %+v, %v; want %s", res, err, latchkey.EAccountLocked)
		}
		if got := u.store.callCount("GiveBackLoginAttempt"); got != 1 {
			t.Errorf("GiveBackLoginAttempt calls: got %d, want 1", got)
		}
		if got := u.store.attemptCount(unitTenantID, latchkey.UsernameKey("bob")); got != 0 {
			t.Errorf("attempt slots: got %d, want 0", got)
		}
		if got := u.store.rateCount(unitTenantID); got != 0 {
			t.Errorf("source slots: got %d, want 0", got)
		}
		if got := u.store.callCount("FinishSignIn"); got != 0 {
			t.Errorf("FinishSignIn calls: got %d, want 0", got)
		}
		if e := u.lastAudit(t, latchkey.ActionSignIn); e.Result != latchkey.ResultDenied || e.Reason != "admin_locked" {
			t.Errorf("audit: got %s/%s, want %s/admin_locked", e.Result, e.Reason, latchkey.ResultDenied)
		}
	})
}

func TestService_ForgotPassword_Unit_Floor(t *testing.T) {
	const floor = 400 * time.Millisecond
	tests := []struct {
		name     string
		username string
		// work is how far each store call moves the clock.
		work      time.Duration
		wantSleep bool
	}{
		{"known user, work under the floor", "bob", 50 * time.Millisecond, true},
		{"unknown user, work under the floor", "nobody", 50 * time.Millisecond, true},
		{"known user, no time spent", "bob", 0, true},
		{"known user, work over the floor", "bob", 100 * time.Millisecond, false},
		{"unknown user, work over the floor", "nobody", 100 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnit(t)
			bob := u.addUser(t, "bob", goodPassword)
			u.svc.ResetFloor = floor
			u.store.onCall = func(string) { u.clock.Advance(tt.work) }
			var workDone time.Duration
			start := u.clock.Now()
			u.svc.Sleep = func(d time.Duration) {
				workDone = u.clock.Now().Sub(start)
				u.slept = append(u.slept, d)
				u.clock.Advance(d)
			}

			if err := u.svc.ForgotPassword(u.ctx, unitTenantID, tt.username); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			total := u.clock.Now().Sub(start)
			if !tt.wantSleep {
				if len(u.slept) != 0 {
					t.Errorf("slept %v after %v of work, want no sleep", u.slept, total)
				}
				if total <= floor {
					t.Errorf("work took %v, want more than the floor %v", total, floor)
				}
			} else {
				if len(u.slept) != 1 {
					t.Fatalf("got sleeps %v, want one", u.slept)
				}
				if want := floor - workDone; u.slept[0] != want {
					t.Errorf("slept %v after %v of work, want %v", u.slept[0], workDone, want)
				}
				if total != floor {
					t.Errorf("took %v, want the floor %v", total, floor)
				}
				if tt.work > 0 && workDone == 0 {
					t.Error("the store calls moved no time")
				}
			}
			wantSent := 0
			if tt.username == "bob" {
				wantSent = 1
			}
			if got := len(u.mailer.sentTo(bob.Email)); got != wantSent {
				t.Errorf("e-mails to bob: got %d, want %d", got, wantSent)
			}
		})
	}
}

func TestService_ForgotPassword_Unit(t *testing.T) {
	t.Run("sent e-mail carries the temporary password that is stored", func(t *testing.T) {
		u := newUnit(t)
		bob := u.addUser(t, "bob", goodPassword)
		if err := u.svc.ForgotPassword(u.ctx, unitTenantID, "bob"); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		tp, ok := u.store.temp(unitTenantID, bob.ID)
		if !ok {
			t.Fatal("no temporary password stored")
		}
		mails := u.mailer.sentTo(bob.Email)
		if len(mails) != 1 {
			t.Fatalf("e-mails to bob: got %d, want 1", len(mails))
		}
		matched := false
		for _, w := range strings.Fields(mails[0].Text) {
			matched = matched || tp.Matches(u.svc.HMACKey, w)
		}
		if !matched {
			t.Errorf("the e-mail holds no word matching the stored temporary password:\n%s", mails[0].Text)
		}
		if want := u.clock.Now().Add(time.Duration(u.tenant.Settings.TempPasswordHours) * time.Hour); !tp.ExpiresAt.Equal(want) {
			t.Errorf("expiry: got %v, want %v", tp.ExpiresAt, want)
		}
	})

	t.Run("failed e-mail answers nil, audits send_failed and stores nothing", func(t *testing.T) {
		u := newUnit(t)
		bob := u.addUser(t, "bob", goodPassword)
		u.mailer.err = errors.New("injected SES failure")
		if err := u.svc.ForgotPassword(u.ctx, unitTenantID, "bob"); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if u.mailer.attempts != 1 {
			t.Errorf("send attempts: got %d, want 1", u.mailer.attempts)
		}
		e := u.lastAudit(t, latchkey.ActionPasswordForgot)
		if e.Result != latchkey.ResultFailure || e.Reason != "send_failed" || e.Subject != bob.ID {
			t.Errorf("audit: got %s/%s on %q, want %s/send_failed on %q", e.Result, e.Reason, e.Subject, latchkey.ResultFailure, bob.ID)
		}
		if got := u.store.callCount("PutTempPassword"); got != 0 {
			t.Errorf("PutTempPassword calls: got %d, want 0", got)
		}
		if _, ok := u.store.temp(unitTenantID, bob.ID); ok {
			t.Error("a temporary password was stored")
		}
	})

	t.Run("unknown tenant answers not_found", func(t *testing.T) {
		u := newUnit(t)
		if err := u.svc.ForgotPassword(u.ctx, "no-such-tenant", "bob"); code(err) != latchkey.ENotFound {
			t.Fatalf("got %v, want %s", err, latchkey.ENotFound)
		}
	})
}

func TestService_Reset_Unit(t *testing.T) {
	t.Run("failed e-mail undoes the reset with the old hash and version", func(t *testing.T) {
		u := newUnit(t)
		admin := u.addUser(t, "ada", goodPassword, latchkey.RoleAdmin)
		bob := u.addUser(t, "bob", goodPassword)
		u.mailer.err = errors.New("injected SES failure")
		if _, err := u.svc.Reset(u.ctx, unitTenantID, admin, bob.ID); code(err) != latchkey.EServiceUnavailable {
			t.Fatalf("got %v, want %s", err, latchkey.EServiceUnavailable)
		}
		want := undoCall{tid: unitTenantID, uid: bob.ID, expectedVersion: bob.SessionVersion, oldHash: bob.PasswordHash}
		if len(u.store.undos) != 1 || u.store.undos[0] != want {
			t.Fatalf("UndoReset calls: got %+v, want [%+v]", u.store.undos, want)
		}
		after := u.store.user(unitTenantID, bob.ID)
		if after.PasswordHash != bob.PasswordHash || after.SessionVersion != bob.SessionVersion {
			t.Errorf("after the undo: got version %d and hash changed %v, want version %d and the old hash",
				after.SessionVersion, after.PasswordHash != bob.PasswordHash, bob.SessionVersion)
		}
		if _, ok := u.store.temp(unitTenantID, bob.ID); ok {
			t.Error("the temporary password is still stored")
		}
		if e := u.lastAudit(t, latchkey.ActionPasswordReset); e.Reason != "email_failed_undone" {
			t.Errorf("audit reason: got %q, want email_failed_undone", e.Reason)
		}
	})

	t.Run("failed undo still answers service_unavailable", func(t *testing.T) {
		u := newUnit(t)
		admin := u.addUser(t, "ada", goodPassword, latchkey.RoleAdmin)
		bob := u.addUser(t, "bob", goodPassword)
		u.mailer.err = errors.New("injected SES failure")
		u.store.fail["UndoReset"] = errors.New("injected UndoReset failure")
		if _, err := u.svc.Reset(u.ctx, unitTenantID, admin, bob.ID); code(err) != latchkey.EServiceUnavailable {
			t.Fatalf("got %v, want %s", err, latchkey.EServiceUnavailable)
		}
		if e := u.lastAudit(t, latchkey.ActionPasswordReset); e.Reason != "email_failed" {
			t.Errorf("audit reason: got %q, want email_failed", e.Reason)
		}
	})

	t.Run("an agent resetting an admin is forbidden and writes nothing", func(t *testing.T) {
		u := newUnit(t)
		agent := u.addUser(t, "alf", goodPassword, latchkey.RoleAgent)
		admin := u.addUser(t, "ada", goodPassword, latchkey.RoleAdmin)
		if _, err := u.svc.Reset(u.ctx, unitTenantID, agent, admin.ID); code(err) != latchkey.EForbidden {
			t.Fatalf("got %v, want %s", err, latchkey.EForbidden)
		}
		for _, m := range []string{"ResetPassword", "PutTempPassword", "UndoReset", "ChangePassword", "Audit"} {
			if got := u.store.callCount(m); got != 0 {
				t.Errorf("%s calls: got %d, want 0", m, got)
			}
		}
		if u.mailer.attempts != 0 {
			t.Errorf("send attempts: got %d, want 0", u.mailer.attempts)
		}
		if after := u.store.user(unitTenantID, admin.ID); after.SessionVersion != admin.SessionVersion || after.PasswordHash != admin.PasswordHash {
			t.Error("the admin changed")
		}
	})
}

func TestService_CompleteNewPassword_Unit(t *testing.T) {
	// challenge signs carol in with a temporary password and returns the session.
	challenge := func(t *testing.T, u *unit) (*latchkey.User, string) {
		t.Helper()
		carol := u.addUser(t, "carol", "")
		temp := u.addTemp(t, carol)
		res, err := u.svc.SignIn(u.ctx, unitTenantID, "carol", temp)
		if err != nil || res.Challenge != password.ChallengeNewPassword || res.Session == "" {
			t.Fatalf("sign-in with the temporary password: got %+v, %v; want a challenge", res, err)
		}
		return carol, res.Session
	}
	const newPassword = "Fresh-meadow-42"

	t.Run("policy failure answers password_policy and completes nothing", func(t *testing.T) {
		u := newUnit(t)
		carol, session := challenge(t, u)
		if _, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, "short"); code(err) != latchkey.EPasswordPolicy {
			t.Fatalf("got %v, want %s", err, latchkey.EPasswordPolicy)
		}
		if got := u.store.callCount("CompleteChallenge"); got != 0 {
			t.Errorf("CompleteChallenge calls: got %d, want 0", got)
		}
		if _, ok := u.store.temp(unitTenantID, carol.ID); !ok {
			t.Error("the temporary password is gone")
		}
		// The challenge is still there to complete.
		if res, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, newPassword); err != nil || res.Token == "" {
			t.Fatalf("then a good password: got %+v, %v; want a token", res, err)
		}
	})

	t.Run("user at another session version answers invalid_session", func(t *testing.T) {
		u := newUnit(t)
		carol, session := challenge(t, u)
		u.store.update(unitTenantID, carol.ID, func(x *latchkey.User) { x.SessionVersion++ })
		res, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, newPassword)
		if code(err) != latchkey.EInvalidSession || res != nil {
			t.Fatalf("got %+v, %v; want %s", res, err, latchkey.EInvalidSession)
		}
		if got := u.store.callCount("CompleteChallenge"); got != 0 {
			t.Errorf("CompleteChallenge calls: got %d, want 0", got)
		}
	})

	t.Run("expired challenge answers invalid_session", func(t *testing.T) {
		u := newUnit(t)
		_, session := challenge(t, u)
		u.clock.Advance(password.ChallengeTTL)
		if _, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, newPassword); code(err) != latchkey.EInvalidSession {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidSession)
		}
	})

	t.Run("good password gives a token at the next session version, once", func(t *testing.T) {
		u := newUnit(t)
		carol, session := challenge(t, u)
		res, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, newPassword)
		if err != nil || res.Token == "" {
			t.Fatalf("got %+v, %v; want a token", res, err)
		}
		c, err := u.svc.Tokens.Verify(res.Token)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if want := carol.SessionVersion + 1; c.SessionVersion != want {
			t.Errorf("token session version: got %d, want %d", c.SessionVersion, want)
		}
		if _, ok := u.store.temp(unitTenantID, carol.ID); ok {
			t.Error("the temporary password is still stored")
		}
		if _, err := u.svc.CompleteNewPassword(u.ctx, unitTenantID, session, "Other-meadow-43"); code(err) != latchkey.EInvalidSession {
			t.Errorf("second completion: got %v, want %s", err, latchkey.EInvalidSession)
		}
	})
}
