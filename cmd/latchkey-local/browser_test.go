package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The browser tests drive the real pages (package web) in headless Chromium
// (the pinned npm package @sparticuz/chromium, see devstack.Chromium)
// against the local stack over loopback HTTP: the API and the pages on one
// origin, as `make run` serves them, e-mail from the SES emulator and SMS
// from an outbox. A failing test saves a screenshot under
// .local/screenshots/ and prints its path.

// browserWait bounds each wait for the page; the API answers in
// milliseconds, so anything longer is a failure, not a slow machine.
const browserWait = 15 * time.Second

var (
	browserOnce sync.Once
	browserExe  string
	browserErr  error
)

// site is the local stack with the pages mounted, for one test.
type site struct {
	*local
	box *devstack.Outbox
}

// newSite starts the API and the pages on one httptest server (withWeb, as
// `make run` serves them) and wires the SMS sender to a fresh outbox.
func newSite(t *testing.T) *site {
	t.Helper()
	d := testenv.NewDeps(t, time.Now)
	d.Passwords.ResetFloor = -1
	box := testenv.NewOutbox(t)
	cfg, err := awscfg.Load(context.Background(), box.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	d.Notifier.SMS = sns.New(sns.NewClientFrom(cfg, box.Endpoint()), "")
	gw, err := d.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(withWeb(gw))
	t.Cleanup(ts.Close)
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	l := &local{t: t, url: ts.URL, deps: d, id: "b" + strings.ToLower(id[:10])}
	return &site{local: l, box: box}
}

// browser is one headless Chromium tab for one test.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Chromium for the test with a phone-sized window (the
// pages must be readable on a phone) and, when the test fails, saves a
// screenshot of the page as it was.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	browserOnce.Do(func() { browserExe, browserErr = devstack.Chromium(root) })
	if browserErr != nil {
		t.Fatalf("browser: %v", browserErr)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(browserExe), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(412, 915)}
	for _, f := range devstack.ChromiumFlags {
		name, value, ok := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if ok {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Start the browser now, so a failure to start is reported as such.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", browserExe, err)
	}
	b := &browser{t: t, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			b.screenshot(t.Name())
		}
		cancel()
		cancelAlloc()
	})
	return b
}

// screenshot saves the page as .local/screenshots/<name>.png.
func (b *browser) screenshot(name string) {
	root, err := devstack.RepoRoot()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot failed: %v", err)
		return
	}
	dir := filepath.Join(root, ".local", "screenshots")
	_ = os.MkdirAll(dir, 0o755)
	file := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".png")
	if err := os.WriteFile(file, png, 0o644); err == nil {
		b.t.Logf("screenshot of the failed page: %s", file)
	}
}

// shot saves the page as docs/screenshots/<name>.png when
// LATCHKEY_SCREENSHOTS=1: that is how the README's pictures are made
// (LATCHKEY_SCREENSHOTS=1 go test ./cmd/latchkey-local -run TestBrowser).
func (b *browser) shot(name string) {
	b.t.Helper()
	if os.Getenv("LATCHKEY_SCREENSHOTS") != "1" {
		return
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(root, "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// run runs browser actions with a deadline, failing the test on error.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open loads url afresh and waits for its body. It passes through
// about:blank: from a page of the same path, a URL that differs only in its
// fragment would otherwise only scroll, not load.
func (b *browser) open(url string) {
	b.t.Helper()
	b.run("open "+url, chromedp.Navigate("about:blank"), chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
	b.waitJS("the page "+url+" is ready", `document.documentElement.dataset.ready === "1"`)
}

// waitPage waits until the page whose path ends with suffix has loaded and
// set itself up (web/assets/api.js ready), so typing cannot race its
// initial focus.
func (b *browser) waitPage(suffix string) {
	b.t.Helper()
	b.waitJS("the page "+suffix+" opens", fmt.Sprintf(`location.pathname.endsWith(%q) && document.documentElement.dataset.ready === "1"`, suffix))
}

// typeInto types text into the field sel key by key, as a user does, so
// input events fire (the live password checks listen to them).
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	b.run("type into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	b.truth(fmt.Sprintf(`(()=>{const e=document.querySelector(%q);e.value="";e.dispatchEvent(new Event("input",{bubbles:true}));return true})()`, sel))
	b.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text))
}

// click clicks the element sel once it is visible and enabled (forms
// disable their buttons while a request is in flight).
func (b *browser) click(sel string) {
	b.t.Helper()
	b.run("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	b.waitJS(sel+" is enabled", fmt.Sprintf(`!document.querySelector(%q).disabled`, sel))
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// evalJS evaluates a JavaScript expression in the page.
func evalJS[T any](b *browser, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// truth evaluates a JavaScript condition, failing the test on error.
func (b *browser) truth(js string) bool {
	b.t.Helper()
	ok, err := evalJS[bool](b, "Boolean("+js+")")
	if err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
	return ok
}

// waitJS waits until the JavaScript expression js is true.
func (b *browser) waitJS(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(browserWait)
	for {
		ok, err := evalJS[bool](b, "Boolean("+js+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: still false after %s: %s (%v)", what, browserWait, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text returns the text of the first element matching sel, "" when none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := evalJS[string](b, fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||""`, sel))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the element sel holds want in its text.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	b.waitJS(fmt.Sprintf("%s holds %q (it holds %q)", sel, want, b.text(sel)),
		fmt.Sprintf(`((document.querySelector(%q)||{}).textContent||"").includes(%q)`, sel, want))
}

// visible reports whether sel matches an element that is displayed.
func (b *browser) visible(sel string) bool {
	b.t.Helper()
	return b.truth(fmt.Sprintf(`(()=>{const e=document.querySelector(%q);return !!e && e.getClientRects().length>0})()`, sel))
}

// fitsPhone checks that the page, in the phone-sized window, needs no
// sideways scrolling (wide tables scroll inside their own box), naming the
// elements that stick out when it does.
func (b *browser) fitsPhone() {
	b.t.Helper()
	wide, err := evalJS[string](b, `(() => {
		if (document.documentElement.scrollWidth <= window.innerWidth) return "";
		return [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.parentElement.closest(".table-wrap"))
			.slice(0, 5).map((e) => e.tagName + "#" + e.id + "." + e.className).join(", ") || "?";
	})()`)
	if err != nil {
		b.t.Fatal(err)
	}
	if wide != "" {
		b.t.Errorf("page %s is wider than a phone (%s)", b.path(), wide)
	}
}

// labelled checks that every field of the page has a label (a <label> or
// an aria-label), naming the ones that do not.
func (b *browser) labelled() {
	b.t.Helper()
	bare, err := evalJS[string](b, `[...document.querySelectorAll("input, select, textarea")]
		.filter((e) => e.type !== "hidden" && !(e.labels && e.labels.length) && !e.getAttribute("aria-label"))
		.map((e) => e.id || e.name || e.outerHTML).join(", ")`)
	if err != nil {
		b.t.Fatal(err)
	}
	if bare != "" {
		b.t.Errorf("page %s: fields without a label: %s", b.path(), bare)
	}
}

// keys sends key presses to whatever has the focus, as a keyboard user does.
func (b *browser) keys(k string) {
	b.t.Helper()
	b.run("press keys", chromedp.KeyEvent(k))
}

func (b *browser) path() string {
	b.t.Helper()
	p, err := evalJS[string](b, `location.pathname + location.hash`)
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}

// tenantWithAdmin creates the test's tenant with the security PIN and web
// PIN-code signup on, signs its admin in over the API and returns the
// tenant and the admin's token.
func (s *site) tenantWithAdmin() (*latchkey.Tenant, string) {
	s.t.Helper()
	ctx := context.Background()
	_, _, temp, err := s.deps.Tenancy.CreateTenant(ctx, s.id, "Browser", "admin", s.email("admin"))
	if latchkey.ErrorCode(err) == latchkey.ETenantExists {
		// The id is random and the table new: only the SDK's resend of a
		// create that committed (after a dropped connection to a cold
		// DynamoDB Local) gets here. A new id gives the test a tenant
		// whose e-mail it can wait for.
		s.t.Logf("tenant %s: %v; retrying with a new id", s.id, err)
		s.id += "x"
		_, _, temp, err = s.deps.Tenancy.CreateTenant(ctx, s.id, "Browser", "admin", s.email("admin"))
	}
	if err != nil {
		s.t.Fatal(err)
	}
	remember(temp)
	tn, err := s.deps.Tenancy.UpdateSettings(ctx, s.id, "test", "pinSignup=web,securityPin=on", func(st *latchkey.Settings) {
		st.PINSignup, st.SecurityPIN = latchkey.PINSignupWeb, true
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return tn, s.signInNew(s.id, "admin", s.tempPassword(s.email("admin")), "Keeper-pass-2026")
}

// user creates a user of role user with the given mobile ("" for none) and
// returns it with its temporary password (e-mailed too).
func (s *site) user(tn *latchkey.Tenant, name, mobile string) (*latchkey.User, string) {
	s.t.Helper()
	u, temp, err := s.deps.Tenancy.CreateUser(context.Background(), tn, "admin", tenancy.NewUser{
		Username: name, Email: s.email(name), Mobile: mobile, Roles: []latchkey.Role{latchkey.RoleUser},
	})
	if err != nil {
		s.t.Fatal(err)
	}
	remember(temp)
	return u, temp
}

// signInPage signs username in through the sign-in page with password pw,
// completing the new-password step with newPassword when it comes.
func (s *site) signInPage(b *browser, username, pw, newPassword string) {
	s.t.Helper()
	b.open(s.url + "/t/" + s.id + "/")
	b.typeInto("#username", username)
	b.typeInto("#password", pw)
	b.click("#signin-submit")
	if newPassword != "" {
		b.waitJS("the new-password step shows", `!document.querySelector("#newpw-card").hidden`)
		remember(newPassword)
		b.typeInto("#new-password", newPassword)
		b.typeInto("#new-password-confirm", newPassword)
		b.click("#newpw-submit")
	}
}

var linkIn = func(page string) *regexp.Regexp {
	return regexp.MustCompile(`\S*/` + page + `#[A-Za-z0-9_-]+`)
}

// link waits for an e-mail to addr holding a link to page and returns the
// link's path and fragment, to be opened on this test's server.
func (s *site) link(addr, page string) string {
	s.t.Helper()
	var got string
	testenv.WaitForEmail(s.t, addr, func(e devstack.ReceivedEmail) bool {
		got = linkIn(page).FindString(e.Text)
		return got != ""
	})
	remember(got[strings.Index(got, "#")+1:])
	if i := strings.Index(got, "/"+page+"#"); i > 0 {
		got = got[i:]
	}
	return got
}

// First sign-in with the temporary password from the inbox leads to the
// new-password step, whose rule list follows each keystroke and keeps the
// button disabled until every rule holds; then the user is signed in on the
// profile page, which shows the user and no token in the URL.
func TestBrowser_FirstSignIn(t *testing.T) {
	s := newSite(t)
	tn, _ := s.tenantWithAdmin()
	s.user(tn, "first", "")
	temp := s.tempPassword(s.email("first"))
	b := newBrowser(t)

	b.open(s.url + "/t/" + s.id + "/")
	b.typeInto("#username", "first")
	b.typeInto("#password", temp)
	b.click("#signin-submit")
	b.waitJS("the new-password step shows", `!document.querySelector("#newpw-card").hidden`)

	rule := func(name string) bool {
		return b.truth(fmt.Sprintf(`document.querySelector('#newpw-rules li[data-rule=%q]').classList.contains("met")`, name))
	}
	disabled := func() bool { return b.truth(`document.querySelector("#newpw-submit").disabled`) }
	b.typeInto("#new-password", "first")
	if rule("min_length") || rule("digit") || rule("contains_username") || !rule("letter") {
		t.Errorf("after %q: got min_length %v digit %v contains_username %v letter %v, want false false false true",
			"first", rule("min_length"), rule("digit"), rule("contains_username"), rule("letter"))
	}
	if !disabled() {
		t.Error("got the submit button enabled for a failing password, want disabled")
	}
	const good = "Lantern-harbour-42"
	remember(good)
	b.typeInto("#new-password", good)
	if !rule("min_length") || !rule("digit") || !rule("contains_username") || rule("match") {
		t.Errorf("after a good password: got min_length %v digit %v contains_username %v match %v, want true true true false",
			rule("min_length"), rule("digit"), rule("contains_username"), rule("match"))
	}
	b.shot("new-password") // every rule met but the confirmation
	b.typeInto("#new-password-confirm", good)
	b.fitsPhone()
	b.labelled()
	if !rule("match") || disabled() {
		t.Errorf("after confirming: got match %v disabled %v, want true false", rule("match"), disabled())
	}
	b.click("#newpw-submit")
	b.waitPage("/profile")
	b.waitText("#me", "first@")
	if p := b.path(); strings.Contains(p, "#") || strings.Contains(p, "token") {
		t.Errorf("got URL %s, want no token in it", p)
	}
	// The new password works over the API, the temporary one no longer.
	s.want(s.do("POST", "/v1/tenants/"+s.id+"/sessions", "", map[string]string{"username": "first", "password": good}), 201, "sign in with the new password")
}

// Forgot password: the page sends the request and says the same thing
// whatever happens; the temporary password arrives and leads through the
// new-password step to a signed-in session.
func TestBrowser_ForgotPassword(t *testing.T) {
	s := newSite(t)
	tn, _ := s.tenantWithAdmin()
	_, first := s.user(tn, "forgetful", "")
	b := newBrowser(t)

	b.open(s.url + "/t/" + s.id + "/")
	b.click("#forgot-link")
	b.waitPage("/forgot")
	b.typeInto("#username", "forgetful")
	b.click("#forgot button[type=submit]")
	b.waitText("#status", "temporary password is on its way")
	temp := s.tempPassword(s.email("forgetful"), first)

	s.signInPage(b, "forgetful", temp, "Remembered-now-77")
	b.waitPage("/profile")
	b.waitText("#me", "forgetful")
}

// PIN-code signup: the PIN-code icon on the sign-in page opens the signup
// form; a PIN-code user's code creates the new user, who receives a
// temporary password; a wrong code is refused with a message.
func TestBrowser_PINCodeSignup(t *testing.T) {
	s := newSite(t)
	tn, adminTok := s.tenantWithAdmin()
	holder, _ := s.user(tn, "holder", "")
	r := s.want(s.do("POST", "/v1/tenants/"+s.id+"/users/"+holder.ID+"/pin-code", adminTok, nil), 201, "generate a PIN code")
	code, _ := r.body["pinCode"].(string)
	remember(code)
	b := newBrowser(t)

	b.open(s.url + "/t/" + s.id + "/")
	if label := b.text("#pincode-link"); !strings.Contains(label, "PIN code") {
		t.Errorf("got PIN-code icon label %q, want it to say PIN code", label)
	}
	b.click("#pincode-link")
	b.waitPage("/signup")
	b.typeInto("#pin-code", "WRONGCODE23")
	b.typeInto("#email", s.email("newcomer"))
	b.typeInto("#username", "newcomer")
	b.click("#signup button[type=submit]")
	b.waitText("#status", "not valid")

	b.typeInto("#pin-code", code)
	b.click("#signup button[type=submit]")
	b.waitText("#status", "User newcomer created")
	temp := s.tempPassword(s.email("newcomer"))
	s.signInPage(b, "newcomer", temp, "Fresh-start-2026")
	b.waitPage("/profile")
}

// accountWithOwner stores an account whose owner and authorized contacts
// have e-mail and mobile, and another contact who may not receive links.
func (s *site) accountWithOwner(adminTok string) string {
	s.t.Helper()
	s.want(s.do("PUT", "/v1/tenants/"+s.id+"/accounts/acme", adminTok, map[string]any{
		"name": "Acme Ltd",
		"contacts": []map[string]string{
			{"id": "owner", "name": "Olive Owner", "role": "owner", "email": s.email("owner"), "mobile": "+447911123456"},
			{"id": "auth", "name": "Arthur Authorized", "role": "authorized", "email": s.email("auth"), "mobile": "+447911123457"},
			{"id": "other", "name": "Oscar Other", "role": "other", "email": s.email("other")},
		},
	}), 200, "store the account")
	return "acme"
}

// Security-PIN set-up from the link in the e-mail: the page reads the
// token from the fragment (and drops it from the URL), asks for the
// organisation (the link has none), refuses two different PINs, and ends
// with "Set-up complete"; the account then has a PIN and the link is spent.
func TestBrowser_SecurityPINSetup(t *testing.T) {
	s := newSite(t)
	_, adminTok := s.tenantWithAdmin()
	acct := s.accountWithOwner(adminTok)
	s.want(s.do("POST", "/v1/tenants/"+s.id+"/accounts/"+acct+"/security-pin/links", adminTok, map[string]string{"contactId": "owner"}), 202, "send the set-up link")
	link := s.link(s.email("owner"), "security-pin")
	if sms := s.box.Messages(); len(sms) == 0 || !strings.Contains(sms[len(sms)-1].Message, link[strings.Index(link, "#")+1:]) {
		t.Errorf("got SMS %v, want the link in the last one", sms)
	}
	b := newBrowser(t)

	b.open(s.url + link)
	b.waitJS("the fragment is dropped from the URL", `location.hash === ""`)
	if b.visible("#tenant-field") {
		b.typeInto("#tenant", s.id)
		b.click("#tenant-go")
	}
	b.waitText("#link-info", "Acme Ltd")
	b.labelled()
	b.typeInto("#pin", "482915")
	b.typeInto("#pin-confirm", "482916")
	b.click("#setup-submit")
	b.waitText("#status", "differ")
	b.typeInto("#pin-confirm", "482915")
	b.click("#setup-submit")
	b.waitJS("set-up complete shows", `!document.querySelector("#done-card").hidden`)
	b.waitText("#done-title", "Set-up complete")
	b.fitsPhone()
	b.shot("security-pin-setup-complete")
	remember("482915")

	r := s.want(s.do("GET", "/v1/tenants/"+s.id+"/accounts/"+acct+"/security-status", adminTok, nil), 200, "security status")
	if r.body["pinSet"] != true {
		t.Errorf("got pinSet %v, want true", r.body["pinSet"])
	}
	b.open(s.url + link)
	if b.visible("#tenant-field") {
		b.typeInto("#tenant", s.id)
		b.click("#tenant-go")
	}
	b.waitText("#link-info", "expired or was already used")
}

// Welcome link: the user confirms a mobile number on the page; the user's
// registration status becomes accessed_self_serve with that mobile.
func TestBrowser_WelcomeLink(t *testing.T) {
	s := newSite(t)
	tn, adminTok := s.tenantWithAdmin()
	u, _ := s.user(tn, "welcomed", "")
	s.want(s.do("POST", "/v1/tenants/"+s.id+"/users/"+u.ID+"/welcome", adminTok, nil), 202, "send the welcome")
	link := s.link(s.email("welcomed"), "welcome")
	b := newBrowser(t)

	b.open(s.url + link)
	b.waitJS("the fragment is dropped from the URL", `location.hash === ""`)
	if b.visible("#tenant-field") {
		b.typeInto("#tenant", s.id)
	}
	b.typeInto("#mobile", "+44 7911 123458")
	b.click("#welcome button[type=submit]")
	b.waitJS("the confirmation shows", `!document.querySelector("#done-card").hidden`)
	b.waitText("#done-title", "Mobile number confirmed")

	r := s.want(s.do("GET", "/v1/tenants/"+s.id+"/users/"+u.ID, adminTok, nil), 200, "get the user")
	if r.body["mobile"] != "+447911123458" || r.body["registrationStatus"] != "accessed_self_serve" {
		t.Errorf("got mobile %v status %v, want +447911123458 accessed_self_serve", r.body["mobile"], r.body["registrationStatus"])
	}
}

// My profile: a signed-in user changes the password (the live checks apply
// there too) and the user PIN with the current password; the new password
// and the new PIN are the ones the API then accepts.
func TestBrowser_ProfileChanges(t *testing.T) {
	s := newSite(t)
	tn, _ := s.tenantWithAdmin()
	s.user(tn, "profiled", "")
	if _, err := s.deps.Tenancy.UpdateSettings(context.Background(), s.id, "test", "pinSignIn=on", func(st *latchkey.Settings) { st.PINSignIn = true }); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	s.signInPage(b, "profiled", s.tempPassword(s.email("profiled")), "Profile-first-11")
	b.waitPage("/profile")

	// The user PIN first: the password change ends the session.
	b.click(`input[name=proof][value=password]`)
	b.typeInto("#proof-value", "Profile-first-11")
	b.typeInto("#new-pin", "583920")
	b.typeInto("#new-pin-confirm", "583920")
	remember("583920")
	b.click("#pin button[type=submit]")
	b.waitText("#pin-status", "PIN changed")

	b.typeInto("#current-password", "Profile-first-11")
	b.typeInto("#new-password", "profiled-9")
	if !b.truth(`document.querySelector("#pw-submit").disabled`) {
		t.Error("got submit enabled for a password holding the username, want disabled")
	}
	remember("Profile-second-22")
	b.typeInto("#new-password", "Profile-second-22")
	b.typeInto("#new-password-confirm", "Profile-second-22")
	b.click("#pw-submit")
	b.waitText("#pw-status", "Password changed")

	base := "/v1/tenants/" + s.id
	s.want(s.do("POST", base+"/sessions", "", map[string]string{"username": "profiled", "password": "Profile-second-22"}), 201, "sign in with the changed password")
	s.want(s.do("POST", base+"/sessions", "", map[string]string{"username": "profiled", "pin": "583920"}), 201, "sign in with the changed PIN")
}

// Keyboard only: from the sign-in page's first field, typing, Tab and
// Enter alone sign a user in through the new-password step; and every
// field of the pages met on the way has a label.
func TestBrowser_KeyboardOnly(t *testing.T) {
	s := newSite(t)
	tn, _ := s.tenantWithAdmin()
	s.user(tn, "keyboard", "")
	temp := s.tempPassword(s.email("keyboard"))
	b := newBrowser(t)

	b.open(s.url + "/t/" + s.id + "/")
	b.labelled()
	if !b.truth(`document.activeElement.id === "username"`) {
		t.Fatal("got the focus elsewhere on load, want it on the username")
	}
	b.keys("keyboard\t\t") // the username, past the method choice
	if !b.truth(`document.activeElement.id === "password"`) {
		id, _ := evalJS[string](b, `document.activeElement.id`)
		t.Fatalf("got the focus on %q after two tabs, want the password", id)
	}
	b.keys(temp + "\r")
	b.waitJS("the new-password step has the focus", `document.activeElement.id === "new-password"`)
	b.labelled()
	const pw = "Typed-by-keys-58"
	remember(pw)
	b.keys(pw + "\t" + pw + "\r")
	b.waitPage("/profile")
	b.labelled()
	b.fitsPhone()
}
