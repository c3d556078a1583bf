package main

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// enumerationCases names, for every public route, the test that shows its
// answers alike for known, unknown and locked subjects.
// TestPublicRoutes_EnumerationCases checks it against the route table, so
// a new public route without a case fails.
var enumerationCases = map[string]string{
	"POST /v1/tenants/{tenant}/sessions":                   "TestLocalAPI_Enumeration: sign-in, locks",
	"POST /v1/tenants/{tenant}/password-resets":            "TestLocalAPI_Enumeration: forgot-password",
	"POST /v1/tenants/{tenant}/signups":                    "TestLocalAPI_Enumeration: PIN-code signup",
	"POST /v1/tenants/{tenant}/sessions/new-password":      "TestLocalAPI_EnumerationLinks: new-password sessions",
	"GET /v1/tenants/{tenant}/security-pin/links/{token}":  "TestLocalAPI_EnumerationLinks: security-PIN links",
	"POST /v1/tenants/{tenant}/security-pin/links/{token}": "TestLocalAPI_EnumerationLinks: security-PIN links",
	"POST /v1/tenants/{tenant}/welcome/{token}":            "TestLocalAPI_EnumerationLinks: welcome links",
}

// TestPublicRoutes_EnumerationCases fails when a public route of the table
// has no enumeration case, or a case names a route that is not public.
func TestPublicRoutes_EnumerationCases(t *testing.T) {
	public := 0
	for _, r := range catalog.Routes() {
		if !r.Public() {
			continue
		}
		public++
		if _, ok := enumerationCases[r.Key()]; !ok {
			t.Errorf("public route %s: got no enumeration case, want one in enumerationCases and its test", r.Key())
		}
	}
	for key := range enumerationCases {
		if !strings.HasPrefix(key, "GET ") && !strings.HasPrefix(key, "POST ") {
			t.Errorf("enumerationCases names %s: want METHOD PATH", key)
		}
		found := false
		for _, r := range catalog.Routes() {
			found = found || (r.Key() == key && r.Public())
		}
		if !found {
			t.Errorf("enumerationCases names %s: got no public route by that key", key)
		}
	}
	if public != len(enumerationCases) || public == 0 {
		t.Errorf("got %d public routes and %d cases, want as many", public, len(enumerationCases))
	}
}

// movingClock is a clock the test moves forward (shared/internal/testclock
// is internal to shared/).
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time; use it as a latchkey.Clock.
func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *movingClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newLocalAt is newLocal on the clock c: the link tests move it past
// expiries.
func newLocalAt(t *testing.T, c *movingClock) *local {
	t.Helper()
	return startLocal(t, c.Now, "k")
}

// linkToken returns the token of the newest e-mail to address to holding a
// link to page ("security-pin" or "welcome") other than the ones in seen.
func linkToken(t *testing.T, to, page string, seen ...string) string {
	t.Helper()
	re := regexp.MustCompile(`/` + page + `#([A-Za-z0-9_-]+)`)
	var got string
	testenv.WaitForEmail(t, to, func(e devstack.ReceivedEmail) bool {
		for _, m := range re.FindAllStringSubmatch(e.Text, -1) {
			if !strings.Contains(strings.Join(seen, " "), m[1]) {
				got = m[1]
				return true
			}
		}
		return false
	})
	remember(got)
	return got
}

// madeUp returns a well-formed token of the length of real, that nobody was
// given.
func madeUp(t *testing.T, real string) string {
	t.Helper()
	for {
		tok, err := secure.RandomToken(len(real) * 3 / 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) == len(real) {
			return tok
		}
	}
}

// TestLocalAPI_EnumerationLinks shows, over real HTTP, that the public
// routes that take a secret from a link or a challenge answer a dead one
// alike whatever it was: GET and POST /security-pin/links/{token} and POST
// /welcome/{token} for an unknown token, a used one, an expired one (the
// clock moved past its expiry), a cancelled one (a newer link sent) and
// one whose account is verification-locked or whose user is admin-locked;
// POST /sessions/new-password for an unknown session, a used one, an
// expired one and one whose user was locked. Each with a body that would
// succeed and one that would be refused, so no check of the body runs
// before the check of the secret: same status, headers (less X-Request-Id
// and Date) and body.
func TestLocalAPI_EnumerationLinks(t *testing.T) {
	clock := &movingClock{t: time.Now().UTC().Truncate(time.Second)}
	l := newLocalAt(t, clock)
	ctx := context.Background()
	_, admin, temp, err := l.deps.Tenancy.CreateTenant(ctx, l.id, "Links", "admin", l.email("admin"))
	if err != nil {
		t.Fatal(err)
	}
	remember(temp)
	tn, err := l.deps.Tenancy.UpdateSettings(ctx, l.id, "test", "securityPin=on", func(s *latchkey.Settings) { s.SecurityPIN = true })
	if err != nil {
		t.Fatal(err)
	}
	base := "/v1/tenants/" + l.id

	// Security-PIN links: one account per state, each with its own owner.
	send := func(acct string) string {
		t.Helper()
		if _, err := l.deps.PINVerify.SendLink(ctx, l.id, admin.ID, acct, "c-owner"); err != nil {
			t.Fatalf("send link for %s: %v", acct, err)
		}
		return acct
	}
	pinLinks := map[string]string{}
	seen := map[string][]string{}
	next := func(acct string) string {
		t.Helper()
		tok := linkToken(t, l.email(acct), "security-pin", seen[acct]...)
		seen[acct] = append(seen[acct], tok)
		return tok
	}
	for _, acct := range []string{"acct-used", "acct-expired", "acct-cancelled", "acct-locked"} {
		if _, err := l.deps.PINVerify.Upsert(ctx, l.id, admin.ID, acct, pinverify.AccountInput{Name: acct,
			Contacts: []latchkey.Contact{{ID: "c-owner", Name: "Owner", Role: latchkey.ContactOwner, Email: l.email(acct)}}}); err != nil {
			t.Fatal(err)
		}
	}
	const pin = "482917"
	remember(pin, "739105")
	pinLinks["used"] = next(send("acct-used"))
	if err := l.deps.PINVerify.SetPIN(ctx, l.id, pinLinks["used"], pin, pin); err != nil {
		t.Fatalf("use the link: %v", err)
	}
	pinLinks["cancelled"] = next(send("acct-cancelled"))
	next(send("acct-cancelled"))
	// acct-locked: a PIN set by its first link, then verification locked by
	// wrong PINs; its later link is cancelled by a newer one.
	lockedFirst := next(send("acct-locked"))
	if err := l.deps.PINVerify.SetPIN(ctx, l.id, lockedFirst, pin, pin); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_, _ = l.deps.PINVerify.VerifyPIN(ctx, l.id, admin.ID, "acct-locked", "739105")
	}
	if st, err := l.deps.PINVerify.Status(ctx, l.id, "acct-locked"); err != nil || !st.Locked {
		t.Fatalf("acct-locked: got %+v, %v, want verification locked", st, err)
	}
	pinLinks["locked account, used"] = lockedFirst
	pinLinks["locked account, cancelled"] = next(send("acct-locked"))
	next(send("acct-locked"))
	pinLinks["expired"] = next(send("acct-expired"))
	pinLinks["unknown"] = madeUp(t, pinLinks["used"])

	// Welcome links: one user per state.
	welcomeLinks := map[string]string{}
	wseen := map[string][]string{}
	users := map[string]*latchkey.User{}
	for _, name := range []string{"wused", "wexpired", "wcancelled", "wlocked"} {
		u, temp, err := l.deps.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: name, Email: l.email(name)})
		if err != nil {
			t.Fatal(err)
		}
		remember(temp)
		users[name] = u
	}
	welcome := func(name string) string {
		t.Helper()
		if _, err := l.deps.UserAdmin.SendWelcome(ctx, l.id, admin.ID, users[name].ID); err != nil {
			t.Fatalf("send welcome to %s: %v", name, err)
		}
		tok := linkToken(t, l.email(name), "welcome", wseen[name]...)
		wseen[name] = append(wseen[name], tok)
		return tok
	}
	welcomeLinks["used"] = welcome("wused")
	if err := l.deps.UserAdmin.ConfirmWelcome(ctx, l.id, welcomeLinks["used"], "+44 7911 123456"); err != nil {
		t.Fatalf("use the welcome link: %v", err)
	}
	welcomeLinks["cancelled"] = welcome("wcancelled")
	welcome("wcancelled")
	welcomeLinks["locked user, cancelled"] = welcome("wlocked")
	welcome("wlocked")
	if err := l.deps.Passwords.Lock(ctx, l.id, admin, users["wlocked"].ID); err != nil {
		t.Fatal(err)
	}
	welcomeLinks["expired"] = welcome("wexpired")
	welcomeLinks["unknown"] = madeUp(t, welcomeLinks["used"])

	// New-password sessions: from first sign-ins with temporary passwords.
	sessions := map[string]string{}
	challenge := func(name string) string {
		t.Helper()
		u, temp, err := l.deps.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: name, Email: l.email(name)})
		if err != nil {
			t.Fatal(err)
		}
		remember(temp)
		users[name] = u
		r := l.want(l.do("POST", base+"/sessions", "", map[string]string{"username": name, "password": temp}), 200, "sign in with a temporary password")
		s, _ := r.body["session"].(string)
		remember(s)
		return s
	}
	sessions["used"] = challenge("nused")
	l.want(l.do("POST", base+"/sessions/new-password", "", map[string]string{"session": sessions["used"], "newPassword": "Settled-in-2026"}), 201, "complete")
	sessions["locked user"] = challenge("nlocked")
	if err := l.deps.Passwords.Lock(ctx, l.id, admin, users["nlocked"].ID); err != nil {
		t.Fatal(err)
	}
	sessions["expired"] = challenge("nexpired")
	sessions["unknown"] = madeUp(t, sessions["used"])

	// The tokens about to expire are live until then: a link's page shows,
	// and a refused mobile or password leaves link and session usable.
	l.want(l.do("GET", base+"/security-pin/links/"+pinLinks["expired"], "", nil), 200, "live security-PIN link")
	l.want(l.do("POST", base+"/welcome/"+welcomeLinks["expired"], "", map[string]string{"mobile": "not a number"}), 400, "live welcome link, bad mobile")
	l.want(l.do("POST", base+"/sessions/new-password", "", map[string]string{"session": sessions["expired"], "newPassword": "short"}), 400, "live session, short password")

	// Past every expiry: welcome links live 7 days, security-PIN links
	// pinLinkHours, challenges 15 minutes. What is not expired answers
	// regardless of the time.
	clock.Advance(latchkey.WelcomeLinkTTL + time.Second)

	t.Run("security-PIN links", func(t *testing.T) {
		for _, c := range []struct {
			what, method string
			body         any
		}{
			{"GET", "GET", nil},
			{"POST with a good PIN", "POST", map[string]string{"pin": "204816", "pinConfirm": "204816"}},
			{"POST with PINs that differ", "POST", map[string]string{"pin": "204816", "pinConfirm": "204817"}},
		} {
			replies := map[string]reply{}
			for _, state := range sortedKeys(pinLinks) {
				replies[state] = l.do(c.method, base+"/security-pin/links/"+pinLinks[state], "", c.body)
			}
			sameAnswer(t, "security-PIN link, "+c.what, replies)
			if r := replies["unknown"]; r.status != 410 || r.errCode() != latchkey.EGone {
				t.Errorf("%s, unknown: got %d %s, want 410 %s", c.what, r.status, r.raw, latchkey.EGone)
			}
		}
	})
	t.Run("welcome links", func(t *testing.T) {
		for _, c := range []struct {
			what string
			body any
		}{
			{"a good mobile", map[string]string{"mobile": "+44 7911 123457"}},
			{"a bad mobile", map[string]string{"mobile": "not a number"}},
			{"no mobile", map[string]string{"mobile": ""}},
		} {
			replies := map[string]reply{}
			for _, state := range sortedKeys(welcomeLinks) {
				replies[state] = l.do("POST", base+"/welcome/"+welcomeLinks[state], "", c.body)
			}
			sameAnswer(t, "welcome link, "+c.what, replies)
			if r := replies["unknown"]; r.status != 410 || r.errCode() != latchkey.EGone {
				t.Errorf("%s, unknown: got %d %s, want 410 %s", c.what, r.status, r.raw, latchkey.EGone)
			}
		}
	})
	t.Run("new-password sessions", func(t *testing.T) {
		for _, c := range []struct{ what, password string }{
			{"a good password", "Brand-new-pass-2026"},
			{"a password the policy refuses", "short"},
		} {
			replies := map[string]reply{}
			for _, state := range sortedKeys(sessions) {
				replies[state] = l.do("POST", base+"/sessions/new-password", "", map[string]string{"session": sessions[state], "newPassword": c.password})
			}
			sameAnswer(t, "new-password, "+c.what, replies)
			if r := replies["unknown"]; r.status != 401 || r.errCode() != latchkey.EInvalidSession {
				t.Errorf("%s, unknown: got %d %s, want 401 %s", c.what, r.status, r.raw, latchkey.EInvalidSession)
			}
		}
	})
}

// sortedKeys returns the keys of m in order, so requests go out in a fixed
// order.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
