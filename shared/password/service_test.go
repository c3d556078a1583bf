package password_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/token"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is one fresh table with one fresh tenant, real DynamoDB Local and
// the real SES emulator, and a clock the test moves.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	clock  *testclock.Clock
	deps   *system.Deps
	svc    *password.Service
	tenant *latchkey.Tenant
	// admin is the tenant's first admin, the actor of staff actions.
	admin *latchkey.User
	id    string
	// seen holds the temporary passwords already taken from each address.
	seen map[string][]string
}

var start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(start)
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	f := &fixture{t: t, ctx: ctx, clock: clock, deps: d, svc: d.Passwords, id: "t" + randomString(t, 10), seen: map[string][]string{}}
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, f.id, "Test "+f.id, "admin", f.email("admin"))
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	f.tenant, f.admin = tn, admin
	return f
}

func randomString(t testing.TB, n int) string {
	t.Helper()
	s, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return s[:n]
}

// email returns a recipient address unique to this fixture's tenant.
func (f *fixture) email(local string) string {
	return fmt.Sprintf("%s@%s.latchkey.test", local, f.id)
}

// tempPasswordFrom waits for an e-mail to `to` holding a temporary password
// newer than the ones already seen and returns it.
func (f *fixture) tempPasswordFrom(to string, seen ...string) string {
	f.t.Helper()
	got := testenv.TempPassword(f.t, to, append(seen, f.seen[to]...)...)
	f.seen[to] = append(f.seen[to], got)
	return got
}

// newUser creates a user and completes the first sign-in with password pw.
func (f *fixture) newUser(name, pw string) *latchkey.User {
	f.t.Helper()
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email(name)})
	if err != nil {
		f.t.Fatalf("create user: %v", err)
	}
	f.seen[f.email(name)] = append(f.seen[f.email(name)], temp)
	testenv.Remember(temp, pw)
	res, err := f.svc.SignIn(f.ctx, f.tenant.ID, name, temp)
	if err != nil || res.Challenge != password.ChallengeNewPassword {
		f.t.Fatalf("first sign-in: got %+v, %v; want challenge", res, err)
	}
	if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, pw); err != nil {
		f.t.Fatalf("complete new password: %v", err)
	}
	return u
}

func code(err error) string { return latchkey.ErrorCode(err) }

func TestService_SignIn(t *testing.T) {
	f := newFixture(t)
	f.newUser("bob", "Correct-horse-7")

	t.Run("right password gives a token", func(t *testing.T) {
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "BOB", "Correct-horse-7")
		if err != nil || res.Token == "" {
			t.Fatalf("got %+v, %v; want a token", res, err)
		}
		c, err := f.deps.Tokens.Verify(res.Token)
		if err != nil || c.Tenant != f.tenant.ID || c.UserID != res.User.ID {
			t.Fatalf("token claims: got %+v, %v", c, err)
		}
	})
	t.Run("wrong password and unknown user answer alike", func(t *testing.T) {
		_, err1 := f.svc.SignIn(f.ctx, f.tenant.ID, "bob", "wrong-password-1")
		_, err2 := f.svc.SignIn(f.ctx, f.tenant.ID, "nobody", "wrong-password-1")
		if code(err1) != latchkey.EInvalidCredentials || code(err2) != latchkey.EInvalidCredentials {
			t.Fatalf("got %v and %v, want both %s", err1, err2, latchkey.EInvalidCredentials)
		}
		if latchkey.ErrorMessage(err1) != latchkey.ErrorMessage(err2) {
			t.Errorf("messages differ: %q vs %q", latchkey.ErrorMessage(err1), latchkey.ErrorMessage(err2))
		}
	})
	t.Run("another tenant does not know the user", func(t *testing.T) {
		g := newFixture(t)
		_, err := g.svc.SignIn(g.ctx, g.tenant.ID, "bob", "Correct-horse-7")
		if code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
}

func TestService_Lockout(t *testing.T) {
	t.Run("20 concurrent wrong passwords lock at exactly the threshold", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("carol", "Correct-horse-7")
		codes := map[string]int{}
		for _, err := range testenv.Concurrently(20, func(int) error {
			_, err := f.svc.SignIn(f.ctx, f.tenant.ID, "carol", "wrong-password-1")
			return err
		}) {
			codes[code(err)]++
		}
		// Four failures are counted as invalid credentials; the fifth locks
		// and says so, as does every attempt that met the lock.
		if codes[latchkey.EInvalidCredentials] != 4 || codes[latchkey.EAccountLocked] != 16 {
			t.Fatalf("got %v, want 4 %s and 16 %s", codes, latchkey.EInvalidCredentials, latchkey.EAccountLocked)
		}
		st, err := f.deps.Store.GetLoginState(f.ctx, f.tenant.ID, latchkey.UsernameKey("carol"))
		if err != nil || st.Failures != 5 {
			t.Fatalf("stored failures: got %d (%v), want exactly 5", st.Failures, err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "carol", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("right password while locked: got %v, want %s", err, latchkey.EAccountLocked)
		}
	})
	t.Run("the lock ends after 15 minutes", func(t *testing.T) {
		f := newFixture(t)
		f.newUser("dave", "Correct-horse-7")
		for i := 0; i < 5; i++ {
			_, _ = f.svc.SignIn(f.ctx, f.tenant.ID, "dave", "wrong-password-1")
		}
		f.clock.Advance(14*time.Minute + 59*time.Second)
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "dave", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("at 14m59s: got %v, want %s", err, latchkey.EAccountLocked)
		}
		f.clock.Advance(2 * time.Second)
		if res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "dave", "Correct-horse-7"); err != nil || res.Token == "" {
			t.Fatalf("at 15m01s: got %v, want a token", err)
		}
		// A success clears the count: four more failures do not lock.
		for i := 0; i < 4; i++ {
			_, _ = f.svc.SignIn(f.ctx, f.tenant.ID, "dave", "wrong-password-1")
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "dave", "Correct-horse-7"); err != nil {
			t.Fatalf("after 4 new failures: got %v, want success", err)
		}
	})
	t.Run("unknown usernames lock too, revealing nothing", func(t *testing.T) {
		f := newFixture(t)
		var last error
		for i := 0; i < 6; i++ {
			_, last = f.svc.SignIn(f.ctx, f.tenant.ID, "ghost", "wrong-password-1")
		}
		if code(last) != latchkey.EAccountLocked {
			t.Fatalf("got %v, want %s", last, latchkey.EAccountLocked)
		}
	})
	t.Run("admin lock until unlock", func(t *testing.T) {
		f := newFixture(t)
		u := f.newUser("erin", "Correct-horse-7")
		if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * 24 * time.Hour)
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "erin", "Correct-horse-7"); code(err) != latchkey.EAccountLocked {
			t.Fatalf("locked: got %v, want %s", err, latchkey.EAccountLocked)
		}
		if err := f.svc.Unlock(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "erin", "Correct-horse-7"); err != nil {
			t.Fatalf("unlocked: got %v, want success", err)
		}
		if err := f.svc.Lock(f.ctx, f.tenant.ID, f.admin, "no-such-user"); code(err) != latchkey.ENotFound {
			t.Fatalf("unknown user: got %v, want %s", err, latchkey.ENotFound)
		}
	})
}

func TestService_TemporaryPassword(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"works at 47h59m", 47*time.Hour + 59*time.Minute, ""},
		{"refused at 48h01m", 48*time.Hour + time.Minute, latchkey.EInvalidCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "frank", Email: f.email("frank")})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(tt.after)
			res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "frank", temp)
			if code(err) != tt.want {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if tt.want == "" && res.Challenge != password.ChallengeNewPassword {
				t.Fatalf("got %+v, want the %s challenge", res, password.ChallengeNewPassword)
			}
		})
	}
}

func TestService_CompleteNewPassword(t *testing.T) {
	t.Run("two concurrent completions of one challenge: exactly one wins", func(t *testing.T) {
		f := newFixture(t)
		_, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "gina", Email: f.email("gina")})
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "gina", temp)
		if err != nil {
			t.Fatal(err)
		}
		pws := []string{"First-choice-11", "Second-choice-22"}
		errs := testenv.Concurrently(len(pws), func(i int) error {
			_, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, pws[i])
			return err
		})
		wins := 0
		winner := ""
		for i, err := range errs {
			switch code(err) {
			case "":
				wins++
				winner = pws[i]
			case latchkey.EInvalidSession:
			default:
				t.Fatalf("completion %d: got %v", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("got %d winners (%v), want exactly 1", wins, errs)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "gina", winner); err != nil {
			t.Fatalf("winner's password: got %v, want success", err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "gina", temp); code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("used temporary password: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
	t.Run("policy names every failed rule and changes nothing", func(t *testing.T) {
		f := newFixture(t)
		_, temp, _ := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "hank", Email: f.email("hank")})
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "hank", temp)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, "hank")
		var e *latchkey.Error
		if code(err) != latchkey.EPasswordPolicy {
			t.Fatalf("got %v, want %s", err, latchkey.EPasswordPolicy)
		}
		e = err.(*latchkey.Error)
		got := fmt.Sprint(e.Details["rules"])
		for _, r := range []string{password.RuleMinLength, password.RuleDigit, password.RuleContainsUsername} {
			if !strings.Contains(got, r) {
				t.Errorf("rules %s: missing %s", got, r)
			}
		}
		// The challenge is still usable.
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, "Good-enough-42"); err != nil {
			t.Fatalf("retry: got %v, want success", err)
		}
	})
	t.Run("the challenge expires", func(t *testing.T) {
		f := newFixture(t)
		_, temp, _ := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "ivan", Email: f.email("ivan")})
		res, _ := f.svc.SignIn(f.ctx, f.tenant.ID, "ivan", temp)
		f.clock.Advance(password.ChallengeTTL + time.Second)
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, "Good-enough-42"); code(err) != latchkey.EInvalidSession {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidSession)
		}
	})
}

func TestService_ForgotPassword(t *testing.T) {
	f := newFixture(t)
	f.newUser("judy", "Correct-horse-7")
	if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "Judy"); err != nil {
		t.Fatal(err)
	}
	temp := f.tempPasswordFrom(f.email("judy"))

	t.Run("the old password keeps working until the temporary one is used", func(t *testing.T) {
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "judy", "Correct-horse-7"); err != nil {
			t.Fatalf("old password: got %v, want success", err)
		}
	})
	t.Run("the e-mail does not carry the username", func(t *testing.T) {
		e := testenv.WaitForEmail(t, f.email("judy"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, temp) })
		if strings.Contains(e.Text, "judy") || strings.Contains(e.Subject, "judy") {
			t.Errorf("e-mail mentions the username: %q", e.Text)
		}
	})
	t.Run("the temporary password leads to the challenge and replaces the old one", func(t *testing.T) {
		// The sign-in with the old password above ended that reset: ask again.
		if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, "judy"); err != nil {
			t.Fatal(err)
		}
		temp := f.tempPasswordFrom(f.email("judy"), temp)
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "judy", temp)
		if err != nil || res.Challenge != password.ChallengeNewPassword {
			t.Fatalf("got %+v, %v", res, err)
		}
		if _, err := f.svc.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, "Brand-new-pass-9"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "judy", "Correct-horse-7"); code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("old password after reset: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
	t.Run("rate-limited per username", func(t *testing.T) {
		g := newFixture(t)
		g.newUser("kate", "Correct-horse-7")
		for i := 0; i < 5; i++ {
			if err := g.svc.ForgotPassword(g.ctx, g.tenant.ID, "kate"); err != nil {
				t.Fatal(err)
			}
		}
		n, err := g.deps.Store.RateCount(g.ctx, g.tenant.ID, "reset", latchkey.UsernameKey("kate"), time.Hour)
		if err != nil || n != g.tenant.Settings.ResetRequestsPerHour {
			t.Fatalf("counted: got %d (%v), want %d", n, err, g.tenant.Settings.ResetRequestsPerHour)
		}
		g.clock.Advance(time.Hour)
		if r, _ := g.deps.Store.TakeRate(g.ctx, g.tenant.ID, "reset", latchkey.UsernameKey("kate"), 3, time.Hour); !r.Allowed {
			t.Fatal("next hour: got refused, want allowed")
		}
	})
}

func TestService_Reset(t *testing.T) {
	f := newFixture(t)
	u := f.newUser("liam", "Correct-horse-7")
	old, err := f.svc.SignIn(f.ctx, f.tenant.ID, "liam", "Correct-horse-7")
	if err != nil {
		t.Fatal(err)
	}
	sentTo, err := f.svc.Reset(f.ctx, f.tenant.ID, f.admin, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := latchkey.MaskEmail(f.email("liam")); sentTo != want {
		t.Errorf("sentTo: got %q, want %q", sentTo, want)
	}
	t.Run("the old password stops at once", func(t *testing.T) {
		if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "liam", "Correct-horse-7"); code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
	t.Run("older sessions end", func(t *testing.T) {
		auth := &token.Auth{Tokens: f.deps.Tokens, Users: f.deps.Store}
		if _, err := auth.Authenticate(f.ctx, f.tenant.ID, old.Token); code(err) != latchkey.EUnauthorized {
			t.Fatalf("token from before the reset: got %v, want %s", err, latchkey.EUnauthorized)
		}
	})
	t.Run("the temporary password arrives and works", func(t *testing.T) {
		temp := f.tempPasswordFrom(f.email("liam"))
		res, err := f.svc.SignIn(f.ctx, f.tenant.ID, "liam", temp)
		if err != nil || res.Challenge != password.ChallengeNewPassword {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
}

func TestService_ChangeOwn(t *testing.T) {
	f := newFixture(t)
	u := f.newUser("mona", "Correct-horse-7")
	cur, _ := f.deps.Store.GetUser(f.ctx, f.tenant.ID, u.ID)
	if err := f.svc.ChangeOwn(f.ctx, cur, "wrong-password-1", "Another-pass-8"); code(err) != latchkey.EInvalidCredentials {
		t.Fatalf("wrong current: got %v, want %s", err, latchkey.EInvalidCredentials)
	}
	if err := f.svc.ChangeOwn(f.ctx, cur, "Correct-horse-7", "password1"); code(err) != latchkey.EPasswordPolicy {
		t.Fatalf("common password: got %v, want %s", err, latchkey.EPasswordPolicy)
	}
	if err := f.svc.ChangeOwn(f.ctx, cur, "Correct-horse-7", "Another-pass-8"); err != nil {
		t.Fatalf("change: %v", err)
	}
	if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, "mona", "Another-pass-8"); err != nil {
		t.Fatalf("new password: got %v", err)
	}
	testenv.WaitForEmail(t, f.email("mona"), func(e devstack.ReceivedEmail) bool {
		return strings.Contains(strings.ToLower(e.Subject), "password") && strings.Contains(strings.ToLower(e.Subject+e.Text), "changed")
	})
}

// A request leaves nothing half-written: when the e-mail with the temporary
// password cannot be sent (here: the real SES client against a closed port),
// the user, or the tenant with its first admin, is not kept.
func TestService_CreateUser_EmailFailureUndoes(t *testing.T) {
	f := newFixture(t)
	good := f.deps.Notifier.Mailer
	f.deps.Notifier.Mailer = testenv.UnreachableMailer(t)

	t.Run("user", func(t *testing.T) {
		u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "oscar", Email: f.email("oscar")})
		if code(err) != latchkey.EServiceUnavailable || u != nil || temp != "" {
			t.Fatalf("got %v, %q, %v; want nothing and %s", u, temp, err, latchkey.EServiceUnavailable)
		}
		if _, err := f.deps.Store.GetUserByUsername(f.ctx, f.tenant.ID, "oscar"); code(err) != latchkey.ENotFound {
			t.Fatalf("after the failure: got %v, want no user oscar", err)
		}
	})
	t.Run("tenant", func(t *testing.T) {
		id := "u" + f.id[1:]
		if _, _, _, err := f.deps.Tenancy.CreateTenant(f.ctx, id, "Undone", "admin", f.email("undone")); code(err) != latchkey.EServiceUnavailable {
			t.Fatalf("got %v, want %s", err, latchkey.EServiceUnavailable)
		}
		if _, err := f.deps.Store.GetTenant(f.ctx, id); code(err) != latchkey.ENotFound {
			t.Fatalf("after the failure: got %v, want no tenant", err)
		}
		f.deps.Notifier.Mailer = good
		if _, _, temp, err := f.deps.Tenancy.CreateTenant(f.ctx, id, "Undone", "admin", f.email("undone")); err != nil {
			t.Fatalf("retry: got %v, want success", err)
		} else {
			testenv.Remember(temp)
		}
	})
	t.Run("the username is free again", func(t *testing.T) {
		f.deps.Notifier.Mailer = good
		if _, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: "oscar", Email: f.email("oscar")}); err != nil {
			t.Fatalf("retry: got %v, want success", err)
		} else {
			testenv.Remember(temp)
		}
	})
}
