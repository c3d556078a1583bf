package pinsignup_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t      testing.TB
	ctx    context.Context
	clock  *testclock.Clock
	deps   *system.Deps
	svc    *pinsignup.Service
	tenant *latchkey.Tenant
	admin  *latchkey.User
	id     string
}

// newFixture gives each test its own table and tenant (PIN signup "web"),
// with an admin and a PIN-code holder "sam" who has permissions, profiles,
// company exceptions and the agent role to pass on (all but the role).
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	id, _ := secure.NewID()
	f := &fixture{t: t, ctx: ctx, clock: clock, deps: d, svc: d.PINSignup, id: "p" + id[:10]}
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, f.id, "Pin "+f.id, "admin", f.email("admin"))
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	tn.Settings.PINSignup = latchkey.PINSignupWeb
	if err := d.Store.PutTenantSettings(ctx, tn.ID, tn.Settings); err != nil {
		t.Fatal(err)
	}
	f.tenant, f.admin = tn, admin
	return f
}

func (f *fixture) email(local string) string { return fmt.Sprintf("%s@%s.latchkey.test", local, f.id) }

// holder creates a user with things to inherit and gives them a PIN code.
func (f *fixture) holder(name string) (*latchkey.User, string) {
	f.t.Helper()
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, f.admin.ID, tenancy.NewUser{
		Username: name, Email: f.email(name), Roles: []latchkey.Role{latchkey.RoleAgent},
		Permissions: []string{"calibration.read", "calibration.write"}, Profiles: []string{"lab-east"},
		CompanyExceptions: []string{"acme-subsidiary"},
	})
	if err != nil {
		f.t.Fatalf("create holder: %v", err)
	}
	code, err := f.svc.Generate(f.ctx, f.tenant.ID, f.admin.ID, u.ID)
	if err != nil {
		f.t.Fatalf("generate: %v", err)
	}
	testenv.Remember(temp, code)
	return u, code
}

func (f *fixture) signup(code, username, client, addr string) (*latchkey.User, error) {
	return f.svc.SignUp(f.ctx, f.tenant.ID, pinsignup.Signup{
		PINCode: code, Email: f.email(username), Username: username, Client: client, SourceAddress: addr,
	})
}

func code(err error) string { return latchkey.ErrorCode(err) }

func TestService_Generate(t *testing.T) {
	f := newFixture(t)
	sam, pin := f.holder("sam")
	t.Run("the code is random, unambiguous and never stored in plaintext", func(t *testing.T) {
		if !regexp.MustCompile(`^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$`).MatchString(pin) {
			t.Fatalf("got %q, want XXXX-XXXX-XXXX", pin)
		}
		u, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, sam.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !u.IsPINCodeUser() {
			t.Error("user record: got not a PIN-code user, want one")
		}
		bare := strings.ReplaceAll(pin, "-", "")
		for _, v := range []string{u.PINCodeMAC, u.PINCodeSealed} {
			if strings.Contains(v, pin) || strings.Contains(v, bare) {
				t.Errorf("stored %q contains the code", v)
			}
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		if _, err := f.svc.Generate(f.ctx, f.tenant.ID, f.admin.ID, "nobody"); code(err) != latchkey.ENotFound {
			t.Fatalf("got %v, want %s", err, latchkey.ENotFound)
		}
	})
	t.Run("a user of another tenant cannot be reached", func(t *testing.T) {
		g := newFixture(t)
		if _, err := g.svc.Generate(g.ctx, g.tenant.ID, g.admin.ID, sam.ID); code(err) != latchkey.ENotFound {
			t.Fatalf("got %v, want %s", err, latchkey.ENotFound)
		}
	})
}

func TestService_SignUp(t *testing.T) {
	f := newFixture(t)
	sam, pin := f.holder("sam")

	t.Run("the new user inherits the holder's likeness but not admin", func(t *testing.T) {
		// The holder may type the code in any case and with spaces.
		typed := strings.ToLower(strings.ReplaceAll(pin, "-", " "))
		u, err := f.signup(typed, "newbie", pinsignup.ClientWeb, "198.51.100.1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SponsorID != sam.ID || strings.Join(got.Permissions, ",") != "calibration.read,calibration.write" ||
			strings.Join(got.Profiles, ",") != "lab-east" || strings.Join(got.CompanyExceptions, ",") != "acme-subsidiary" {
			t.Errorf("got %+v, want sam's permissions, profiles, exceptions and sponsor", got)
		}
		if len(got.Roles) != 1 || got.Roles[0] != latchkey.RoleUser {
			t.Errorf("roles: got %v, want [user]", got.Roles)
		}
		if got.IsPINCodeUser() {
			t.Error("the new user got a PIN code, want none")
		}
	})
	t.Run("the temporary password arrives and leads to the challenge", func(t *testing.T) {
		temp := testenv.TempPassword(t, f.email("newbie"))
		res, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, "newbie", temp)
		if err != nil || res.Challenge != password.ChallengeNewPassword {
			t.Fatalf("got %+v, %v; want %s", res, err, password.ChallengeNewPassword)
		}
		f.clock.Advance(47*time.Hour + 59*time.Minute)
		if _, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, "newbie", temp); err != nil {
			t.Fatalf("at 47h59m: got %v, want the challenge", err)
		}
		f.clock.Advance(2 * time.Minute)
		if _, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, "newbie", temp); code(err) != latchkey.EInvalidCredentials {
			t.Fatalf("at 48h01m: got %v, want %s", err, latchkey.EInvalidCredentials)
		}
	})
	t.Run("bad input gets clear 400s and changes nothing", func(t *testing.T) {
		for name, in := range map[string]pinsignup.Signup{
			"no client":     {PINCode: pin, Email: f.email("x1"), Username: "x1"},
			"odd client":    {PINCode: pin, Email: f.email("x1"), Username: "x1", Client: "tv"},
			"bad e-mail":    {PINCode: pin, Email: "not-an-address", Username: "x1", Client: "web"},
			"bad username":  {PINCode: pin, Email: f.email("x1"), Username: "a b<", Client: "web"},
			"no code":       {Email: f.email("x1"), Username: "x1", Client: "web"},
			"empty request": {Client: "web"},
		} {
			if _, err := f.svc.SignUp(f.ctx, f.tenant.ID, in); code(err) != latchkey.EValidation {
				t.Errorf("%s: got %v, want %s", name, err, latchkey.EValidation)
			}
		}
		if _, err := f.deps.Store.GetUserByUsername(f.ctx, f.tenant.ID, "x1"); code(err) != latchkey.ENotFound {
			t.Errorf("got %v, want no user x1", err)
		}
	})
	t.Run("a taken username is username_taken", func(t *testing.T) {
		if _, err := f.signup(pin, "NEWBIE", pinsignup.ClientWeb, "198.51.100.1"); code(err) != latchkey.EUsernameTaken {
			t.Fatalf("got %v, want %s", err, latchkey.EUsernameTaken)
		}
	})
	t.Run("pinSignup web refuses other clients; off refuses all", func(t *testing.T) {
		if _, err := f.signup(pin, "mob1", pinsignup.ClientMobile, "198.51.100.1"); code(err) != latchkey.EPINSignupDisabled {
			t.Fatalf("web, mobile client: got %v, want %s", err, latchkey.EPINSignupDisabled)
		}
		if latchkey.StatusOf(latchkey.EPINSignupDisabled) != http.StatusForbidden {
			t.Fatal("pin_signup_disabled is not 403")
		}
		settings := f.tenant.Settings
		settings.PINSignup = latchkey.PINSignupAll
		if err := f.deps.Store.PutTenantSettings(f.ctx, f.tenant.ID, settings); err != nil {
			t.Fatal(err)
		}
		if _, err := f.signup(pin, "mob1", pinsignup.ClientMobile, "198.51.100.1"); err != nil {
			t.Fatalf("all, mobile client: got %v, want success", err)
		}
		settings.PINSignup = latchkey.PINSignupOff
		if err := f.deps.Store.PutTenantSettings(f.ctx, f.tenant.ID, settings); err != nil {
			t.Fatal(err)
		}
		if _, err := f.signup(pin, "web1", pinsignup.ClientWeb, "198.51.100.1"); code(err) != latchkey.EPINSignupDisabled {
			t.Fatalf("off, web client: got %v, want %s", err, latchkey.EPINSignupDisabled)
		}
	})
}

func TestService_CodeLifecycle(t *testing.T) {
	f := newFixture(t)
	sam, first := f.holder("sam")
	const addr = "198.51.100.2"

	second, err := f.svc.Generate(f.ctx, f.tenant.ID, f.admin.ID, sam.ID)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(second)
	t.Run("a regenerated code replaces the old one at once", func(t *testing.T) {
		_, errOld := f.signup(first, "rr1", pinsignup.ClientWeb, addr)
		if code(errOld) != latchkey.EInvalidPINCode {
			t.Fatalf("old code: got %v, want %s", errOld, latchkey.EInvalidPINCode)
		}
		if _, err := f.signup(second, "rr2", pinsignup.ClientWeb, addr); err != nil {
			t.Fatalf("new code: got %v, want success", err)
		}
	})
	t.Run("a revoked code stops at once, and the answer is the same as for an unknown one", func(t *testing.T) {
		if err := f.svc.Revoke(f.ctx, f.tenant.ID, f.admin.ID, sam.ID); err != nil {
			t.Fatal(err)
		}
		_, errRevoked := f.signup(second, "rr3", pinsignup.ClientWeb, addr)
		_, errUnknown := f.signup("ABCD-EFGH-JKMN", "rr3", pinsignup.ClientWeb, addr)
		if code(errRevoked) != latchkey.EInvalidPINCode || code(errUnknown) != latchkey.EInvalidPINCode {
			t.Fatalf("got %v and %v, want both %s", errRevoked, errUnknown, latchkey.EInvalidPINCode)
		}
		if latchkey.ErrorMessage(errRevoked) != latchkey.ErrorMessage(errUnknown) {
			t.Errorf("messages differ: %q vs %q", latchkey.ErrorMessage(errRevoked), latchkey.ErrorMessage(errUnknown))
		}
		u, _ := f.deps.Store.GetUser(f.ctx, f.tenant.ID, sam.ID)
		if u.IsPINCodeUser() {
			t.Error("after revoke: still a PIN-code user")
		}
		if _, err := f.svc.Email(f.ctx, f.tenant.ID, f.admin.ID, sam.ID, ""); code(err) != latchkey.ENotFound {
			t.Errorf("e-mail after revoke: got %v, want %s", err, latchkey.ENotFound)
		}
		if err := f.svc.Revoke(f.ctx, f.tenant.ID, f.admin.ID, sam.ID); err != nil {
			t.Errorf("revoke twice: got %v, want nil", err)
		}
	})
	t.Run("every generate, revoke and signup is audited", func(t *testing.T) {
		events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, e := range events {
			count[string(e.Action)+"/"+e.Result]++
		}
		for k, want := range map[string]int{
			"pin_code.generate/success": 1, "pin_code.regenerate/success": 1, "pin_code.revoke/success": 2,
			"signup.pin_code/success": 1, "signup.pin_code/failure": 3,
		} {
			if count[k] != want {
				t.Errorf("%s: got %d events, want %d (all: %v)", k, count[k], want, count)
			}
		}
	})
}

func TestService_Email(t *testing.T) {
	f := newFixture(t)
	sam, pin := f.holder("sam")
	t.Run("to the holder, with the PIN code", func(t *testing.T) {
		sent, err := f.svc.Email(f.ctx, f.tenant.ID, f.admin.ID, sam.ID, "")
		if err != nil || sent != latchkey.MaskEmail(f.email("sam")) {
			t.Fatalf("got %q, %v", sent, err)
		}
		testenv.WaitForEmail(t, f.email("sam"), func(e devstack.ReceivedEmail) bool {
			return strings.Contains(e.Text, pin) && strings.Contains(e.HTML, pin)
		})
	})
	t.Run("to another address, with the tenant's own layout using !PINCODE!", func(t *testing.T) {
		override := templates.Template{Name: templates.PINCodeEmailBody, Subject: "Code for {{tenantName}}",
			Text: "Your code is !PINCODE! - keep it safe.", HTML: "<p>Code: <b>!PINCODE!</b></p>"}
		if err := templates.Validate(override); err != nil {
			t.Fatal(err)
		}
		if err := f.deps.Store.PutTemplate(f.ctx, f.tenant.ID, override); err != nil {
			t.Fatal(err)
		}
		other := f.email("requestor")
		if _, err := f.svc.Email(f.ctx, f.tenant.ID, f.admin.ID, sam.ID, other); err != nil {
			t.Fatal(err)
		}
		e := testenv.WaitForEmail(t, other, func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, pin) })
		if e.Text != "Your code is "+pin+" - keep it safe." || e.HTML != "<p>Code: <b>"+pin+"</b></p>" {
			t.Errorf("got %q / %q, want the override filled in", e.Text, e.HTML)
		}
	})
	t.Run("a bad address is refused", func(t *testing.T) {
		if _, err := f.svc.Email(f.ctx, f.tenant.ID, f.admin.ID, sam.ID, "nope"); code(err) != latchkey.EValidation {
			t.Fatalf("got %v, want %s", err, latchkey.EValidation)
		}
	})
	t.Run("a template without the PIN code field is refused", func(t *testing.T) {
		bad := templates.Template{Name: templates.PINCodeEmailBody, Subject: "x", Text: "no code here", HTML: "<p>none</p>"}
		if err := templates.Validate(bad); code(err) != latchkey.EValidation {
			t.Fatalf("got %v, want %s", err, latchkey.EValidation)
		}
	})
}

// Two concurrent signups with one username: exactly one wins.
func TestService_SignUp_ConcurrentSameUsername(t *testing.T) {
	f := newFixture(t)
	_, pin := f.holder("sam")
	errs := testenv.Concurrently(2, func(i int) error {
		_, err := f.svc.SignUp(f.ctx, f.tenant.ID, pinsignup.Signup{
			PINCode: pin, Email: fmt.Sprintf("twin%d@%s.latchkey.test", i, f.id), Username: "twin",
			Client: pinsignup.ClientWeb, SourceAddress: "198.51.100.3",
		})
		return err
	})
	ok, taken := 0, 0
	for _, err := range errs {
		switch code(err) {
		case "":
			ok++
		case latchkey.EUsernameTaken:
			taken++
		default:
			t.Errorf("got %v, want success or %s", err, latchkey.EUsernameTaken)
		}
	}
	if ok != 1 || taken != 1 {
		t.Fatalf("got %d created and %d username_taken, want 1 and 1", ok, taken)
	}
	users, _, err := f.deps.Store.ListUsers(f.ctx, f.tenant.ID, latchkey.UserFilter{}, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	twins := 0
	for _, u := range users {
		if latchkey.NormalizeUsername(u.Username) == "twin" {
			twins++
		}
	}
	if twins != 1 {
		t.Fatalf("got %d users named twin, want 1", twins)
	}
}

// More wrong codes than the limit from one address, concurrently: exactly
// the limit are checked, the rest get 429, and a right code from that
// address waits out the window too.
func TestService_SignUp_RateLimit(t *testing.T) {
	f := newFixture(t)
	f.svc.Limits = pinsignup.Limits{PerAddress: 5, AddressWindow: 15 * time.Minute, PerTenant: 1000, TenantWindow: time.Hour}
	_, pin := f.holder("sam")
	const addr, n = "203.0.113.9", 12
	errs := testenv.Concurrently(n, func(i int) error {
		_, err := f.signup(fmt.Sprintf("WRNG-C0DE-%04d", i), fmt.Sprintf("guess%d", i), pinsignup.ClientWeb, addr)
		return err
	})
	invalid, limited := 0, 0
	for _, err := range errs {
		switch code(err) {
		case latchkey.EInvalidPINCode:
			invalid++
		case latchkey.ERateLimited:
			limited++
			if e, ok := err.(*latchkey.Error); !ok || e.RetryAfterSeconds < 1 || e.RetryAfterSeconds > 15*60 {
				t.Errorf("Retry-After: got %+v, want 1..900 seconds", err)
			}
		default:
			t.Errorf("got %v, want %s or %s", err, latchkey.EInvalidPINCode, latchkey.ERateLimited)
		}
	}
	if invalid != 5 || limited != n-5 {
		t.Fatalf("got %d invalid_pin_code and %d rate_limited, want 5 and %d", invalid, limited, n-5)
	}
	t.Run("a right code from that address waits out the window", func(t *testing.T) {
		if _, err := f.signup(pin, "patient", pinsignup.ClientWeb, addr); code(err) != latchkey.ERateLimited {
			t.Fatalf("got %v, want %s", err, latchkey.ERateLimited)
		}
		if _, err := f.signup(pin, "elsewhere", pinsignup.ClientWeb, "203.0.113.10"); err != nil {
			t.Fatalf("another address: got %v, want success", err)
		}
		f.clock.Advance(15 * time.Minute)
		if _, err := f.signup(pin, "patient", pinsignup.ClientWeb, addr); err != nil {
			t.Fatalf("next window: got %v, want success", err)
		}
	})
	t.Run("successes do not use up the limit", func(t *testing.T) {
		for i := 0; i < 7; i++ {
			if _, err := f.signup(pin, fmt.Sprintf("many%d", i), pinsignup.ClientWeb, addr); err != nil {
				t.Fatalf("signup %d: got %v, want success", i, err)
			}
		}
	})
	t.Run("over the tenant limit, sources that failed wait and clean sources still get through", func(t *testing.T) {
		g := newFixture(t)
		g.svc.Limits = pinsignup.Limits{PerAddress: 100, AddressWindow: time.Minute, PerTenant: 3, TenantWindow: time.Hour}
		_, right := g.holder("tess")
		// A few attacking sources exhaust the tenant's limit...
		for i := 0; i < 3; i++ {
			if _, err := g.signup("WRNG-C0DE-AAAA", "ttt", pinsignup.ClientWeb, fmt.Sprintf("192.0.2.%d", i)); code(err) != latchkey.EInvalidPINCode {
				t.Fatalf("attempt %d: got %v, want %s", i, err, latchkey.EInvalidPINCode)
			}
		}
		// ...which then blocks them, even with a right code...
		for i := 0; i < 3; i++ {
			if _, err := g.signup(right, "blocked", pinsignup.ClientWeb, fmt.Sprintf("192.0.2.%d", i)); code(err) != latchkey.ERateLimited {
				t.Fatalf("attacking source %d: got %v, want %s", i, err, latchkey.ERateLimited)
			}
		}
		// ...but not a source with no failure: a holder elsewhere still signs users up.
		if _, err := g.signup(right, "welcome", pinsignup.ClientWeb, "198.51.100.7"); err != nil {
			t.Fatalf("clean source with the right code: got %v, want success", err)
		}
		// A clean source gets one guess; its second attempt is refused.
		if _, err := g.signup("WRNG-C0DE-BBBB", "ttt", pinsignup.ClientWeb, "198.51.100.8"); code(err) != latchkey.EInvalidPINCode {
			t.Fatalf("clean source, first wrong code: got %v, want %s", err, latchkey.EInvalidPINCode)
		}
		if _, err := g.signup(right, "second", pinsignup.ClientWeb, "198.51.100.8"); code(err) != latchkey.ERateLimited {
			t.Fatalf("that source again: got %v, want %s", err, latchkey.ERateLimited)
		}
	})
}
