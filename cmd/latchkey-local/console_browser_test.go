package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// consoleAs signs the tenant's admin in through the sign-in page (staff
// land on the console) and waits for the console to be ready.
func (s *site) consoleAs(b *browser) {
	s.t.Helper()
	s.signInPage(b, "admin", "Keeper-pass-2026", "")
	b.waitPage("/console")
}

// rowSel is the selector of a user's row in the users table.
func rowSel(u *latchkey.User) string { return fmt.Sprintf(`#users-table tr[data-user=%q]`, u.ID) }

// The users table of the console: registration status, the self-serve
// switch in bulk, the PIN-code user marker after generating a code, the
// code e-mailed, lock and unlock, a password reset by staff, the
// notifications list with a reminder's delivery results; and with the tenant's self-serve override off, the
// switches are disabled with the reason shown.
func TestBrowser_ConsoleUsers(t *testing.T) {
	s := newSite(t)
	tn, adminTok := s.tenantWithAdmin()
	alice, aliceTemp := s.user(tn, "alice", "+447911123450")
	bob, _ := s.user(tn, "bob", "")
	b := newBrowser(t)
	s.consoleAs(b)
	base := "/v1/tenants/" + s.id

	b.waitText(rowSel(alice), "registration complete")
	b.waitText(rowSel(bob), "not registered")
	b.fitsPhone()
	b.labelled()

	b.click(rowSel(alice) + " .pick")
	b.click(rowSel(bob) + " .pick")
	b.click("#bulk-on")
	b.waitText("#users-status", "2 updated, 0 refused")
	r := s.want(s.do("GET", base+"/users/"+alice.ID, adminTok, nil), 200, "get alice")
	if r.body["selfServe"] != true {
		t.Errorf("got alice selfServe %v, want true", r.body["selfServe"])
	}

	// A reminder for alice (self-serve on, e-mail and mobile), sent by the
	// expiry notifier at the tenant's send hour, for the notifications list.
	at := time.Now().UTC().Truncate(24 * time.Hour).Add(9 * time.Hour)
	s.want(s.do("PATCH", base+"/users/"+alice.ID, adminTok, map[string]string{"passwordExpiresOn": at.AddDate(0, 0, 3).Format(time.DateOnly)}), 200, "set alice's expiry")
	if rep, err := s.deps.Expiry.Run(context.Background(), at); err != nil || rep.Sent != 1 {
		t.Fatalf("expiry run: got %+v %v, want 1 sent", rep, err)
	}

	b.click(rowSel(alice) + " button")
	b.waitJS("the user dialog opens", `document.querySelector("#user-dialog").open`)
	b.waitText("#notifications", "PASSWORD_EXPIRY_REMINDER")
	b.waitText("#notifications", "email: sent, sms: sent")
	b.click("#u-pincode")
	b.waitText("#user-status", "New PIN code (shown once):")
	code := strings.TrimSpace(strings.TrimPrefix(b.text("#user-status"), "New PIN code (shown once):"))
	testenv.Remember(code)
	b.waitText(rowSel(alice), "PIN-code user")
	b.shot("console-user")
	b.click("#u-pincode-email")
	b.waitText("#user-status", "PIN code e-mailed to the user")
	testenv.WaitForEmail(t, s.email("alice"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, code) })

	// An admin sets alice's user PIN: the view then says a PIN is set, by
	// an admin (the user is asked to change it).
	b.typeInto("#u-pin", "604918")
	testenv.Remember("604918")
	b.click("#u-pin-set")
	b.waitText("#user-status", "User PIN set for alice")
	if r := s.want(s.do("GET", base+"/users/"+alice.ID, adminTok, nil), 200, "get alice"); r.body["pinSet"] != true || r.body["pinSetByAdmin"] != true {
		t.Errorf("after setting the user PIN: got pinSet %v, pinSetByAdmin %v, want true and true", r.body["pinSet"], r.body["pinSetByAdmin"])
	}

	b.click("#u-lock")
	b.waitText("#user-status", "alice is locked")
	b.waitText(rowSel(alice), "locked")
	if r := s.want(s.do("GET", base+"/users/"+alice.ID, adminTok, nil), 200, "get alice"); r.body["locked"] != true {
		t.Errorf("after lock: got locked %v, want true", r.body["locked"])
	}
	b.click("#u-unlock")
	b.waitText("#user-status", "alice is unlocked")
	if r := s.want(s.do("GET", base+"/users/"+alice.ID, adminTok, nil), 200, "get alice"); r.body["locked"] != false {
		t.Errorf("after unlock: got locked %v, want false", r.body["locked"])
	}
	b.click("#u-reset")
	b.waitText("#user-status", "Temporary password sent to")
	s.tempPassword(s.email("alice"), aliceTemp)
	b.click("#user-close")

	// The tenant's override off: every switch is disabled, and says why.
	if _, err := s.deps.Tenancy.UpdateSettings(context.Background(), s.id, "test", "selfServe=off", func(st *latchkey.Settings) { st.SelfServe = false }); err != nil {
		t.Fatal(err)
	}
	b.open(s.url + "/t/" + s.id + "/console")
	b.waitText(rowSel(bob), "bob")
	if !b.visible("#selfserve-reason") || !b.truth(`document.querySelector("#bulk-on").disabled`) ||
		!b.truth(fmt.Sprintf(`document.querySelector('%s input[aria-label^="Self-serve"]').disabled`, rowSel(bob))) {
		t.Error("with the override off: got the reason hidden or a switch enabled, want the reason shown and every switch disabled")
	}
}

var sixDigitCode = regexp.MustCompile(`\b[0-9]{6}\b`)

// The security verification modal: verify PIN disabled until a PIN exists;
// "Create PIN" offers only the owner and authorized contacts and sends the
// set-up link; once the client has set a PIN the button reads "Reset PIN",
// a wrong PIN tells the attempts left, the right one turns the status
// button green, and it turns red once the verified hour is over; a 2-step
// code sent by SMS (read from the outbox) verifies too.
func TestBrowser_ConsoleSecurityVerification(t *testing.T) {
	s := newSite(t)
	_, adminTok := s.tenantWithAdmin()
	acct := s.accountWithOwner(adminTok)
	b := newBrowser(t)
	s.consoleAs(b)

	b.click("#tab-accounts")
	b.typeInto("#account-id", acct)
	b.click("#open-account button[type=submit]")
	b.waitText("#account-name", "Acme Ltd")
	b.fitsPhone()
	if cls := b.text("#security-button"); !strings.Contains(cls, "not verified") || !b.truth(`document.querySelector("#security-button").classList.contains("unverified")`) {
		t.Errorf("got status button %q, want red and not verified", cls)
	}
	b.click("#security-button")
	b.waitJS("the modal opens", `document.querySelector("#security-dialog").open`)
	b.waitText("#verify-pin-hint", "once the client has set up a PIN")
	if !b.truth(`document.querySelector("#verify-pin-button").disabled`) {
		t.Error("got Verify PIN enabled before a PIN exists, want disabled")
	}
	b.click("#pin-link-button")
	b.waitText("#pick-list", "Olive Owner")
	if picker := b.text("#pick-list"); !strings.Contains(picker, "Arthur Authorized") || strings.Contains(picker, "Oscar") {
		t.Errorf("got contact picker %q, want the owner and the authorized contact only", picker)
	}
	b.click(`#pick-list input[value="auth"]`)
	b.click("#pick-send")
	b.waitText("#security-status", "Set-up link sent to")

	// The client sets the PIN from the link (the page has its own test).
	link := s.link(s.email("auth"), "security-pin")
	token := link[strings.Index(link, "#")+1:]
	s.want(s.do("POST", "/v1/tenants/"+s.id+"/security-pin/links/"+token, "", map[string]string{"pin": "604281", "pinConfirm": "604281"}), 200, "set the PIN")
	testenv.Remember("604281")

	b.click("#security-close")
	b.click("#security-button")
	b.waitJS("Verify PIN becomes available", `!document.querySelector("#verify-pin-button").disabled`)
	b.waitText("#pin-link-button", "Reset PIN")
	b.typeInto("#verify-pin-input", "604282")
	b.click("#verify-pin-button")
	b.waitText("#security-status", "4 attempts remain")
	b.typeInto("#verify-pin-input", "604281")
	b.click("#verify-pin-button")
	b.waitText("#security-status", "PIN verified until")
	b.shot("console-security-verification")
	b.click("#security-close")
	b.waitText("#security-button", "verified until")
	if !b.truth(`document.querySelector("#security-button").classList.contains("verified")`) {
		t.Error("got the status button not green after a right PIN, want green")
	}

	// An hour and a minute later (the page's clock moved), the button is red.
	b.truth(`(() => { const real = Date.now; Date.now = () => real() + 61 * 60 * 1000; return true })()`)
	b.click("#security-button")
	b.waitJS("the modal reopens", `document.querySelector("#security-dialog").open`)
	b.click("#security-close")
	b.waitText("#security-button", "not verified")
	if !b.truth(`document.querySelector("#security-button").classList.contains("unverified")`) {
		t.Error("got the status button not red after the verified hour, want red")
	}
	b.truth(`(() => { Date.now = () => new Date().getTime(); return true })()`)

	// The 2-step code: sent to the owner by SMS and e-mail, read back.
	b.click("#security-button")
	b.click("#code-button")
	b.waitText("#pick-list", "Oscar Other")
	b.click(`#pick-list input[value="owner"]`)
	b.click("#pick-send")
	b.waitText("#security-status", "Code sent to")
	var code string
	for _, m := range s.box.Messages() {
		if m.PhoneNumber == "+447911123456" {
			code = sixDigitCode.FindString(m.Message)
		}
	}
	if code == "" {
		t.Fatalf("no code in the SMS outbox to +447911123456: %v", s.box.Messages())
	}
	testenv.Remember(code)
	b.typeInto("#verify-code-input", code)
	b.click("#verify-code button[type=submit]")
	b.waitText("#security-status", "Code verified")
	st := s.want(s.do("GET", "/v1/tenants/"+s.id+"/accounts/"+acct+"/security-status", adminTok, nil), 200, "security status")
	if st.body["verified"] != true || st.body["method"] != "code" {
		t.Errorf("got verified %v method %v, want true code", st.body["verified"], st.body["method"])
	}
}

// Settings, templates and the audit log: a setting changed in the form is
// the one the API then holds; a template edited, previewed and saved; and
// the audit log pages forward and back.
func TestBrowser_ConsoleSettingsTemplatesAudit(t *testing.T) {
	s := newSite(t)
	tn, adminTok := s.tenantWithAdmin()
	u, _ := s.user(tn, "audited", "")
	base := "/v1/tenants/" + s.id
	// Enough audit events for two pages of 20.
	for range 12 {
		s.want(s.do("POST", base+"/users/"+u.ID+"/lock", adminTok, nil), 204, "lock")
		s.want(s.do("POST", base+"/users/"+u.ID+"/unlock", adminTok, nil), 204, "unlock")
	}
	b := newBrowser(t)
	s.consoleAs(b)

	b.click("#tab-settings")
	b.waitJS("the settings form loads", `document.querySelector("#set-lockoutThreshold")`)
	b.labelled()
	b.typeInto("#set-lockoutThreshold", "6")
	b.click("#settings-form button[type=submit]")
	b.waitText("#settings-status", "Settings saved")
	r := s.want(s.do("GET", base+"/settings", adminTok, nil), 200, "get settings")
	if r.body["lockoutThreshold"] != float64(6) {
		t.Errorf("got lockoutThreshold %v, want 6", r.body["lockoutThreshold"])
	}

	b.click("#tab-templates")
	b.waitJS("the template loads", `document.querySelector("#template-subject").value !== ""`)
	b.typeInto("#template-subject", "Your account is locked (custom)")
	b.click("#template-preview")
	b.waitText("#preview-subject", "(custom)")
	b.click("#template-form button[type=submit]")
	b.waitText("#template-status", "Template saved")
	r = s.want(s.do("GET", base+"/templates/ACCOUNT_LOCKED", adminTok, nil), 200, "get the template")
	if r.body["isDefault"] != false || !strings.Contains(fmt.Sprint(r.body["subject"]), "(custom)") {
		t.Errorf("got isDefault %v subject %v, want false and the custom subject", r.body["isDefault"], r.body["subject"])
	}

	b.click("#tab-audit")
	b.waitText("#audit-table", "template.update")
	rows := func() int {
		n, err := evalJS[int](b, `document.querySelectorAll("#audit-table tbody tr").length`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 20 {
		t.Errorf("got %d rows on page 1, want 20", n)
	}
	b.click("#audit-older")
	b.waitText("#audit-page", "Page 2")
	if n := rows(); n == 0 {
		t.Error("got no rows on page 2, want the older events")
	}
	b.click("#audit-newer")
	b.waitText("#audit-page", "Page 1")
	b.waitText("#audit-table", "template.update")
}

// An agent's console: no settings, templates or audit tabs and no users
// table (those routes are the admin's), but a user opened by id can be
// locked, unlocked and sent a password reset.
func TestBrowser_ConsoleAgent(t *testing.T) {
	s := newSite(t)
	tn, adminTok := s.tenantWithAdmin()
	target, targetTemp := s.user(tn, "customer", "")
	if _, temp, err := s.deps.Tenancy.CreateUser(context.Background(), tn, "admin", tenancy.NewUser{
		Username: "agent", Email: s.email("agent"), Roles: []latchkey.Role{latchkey.RoleAgent},
	}); err != nil {
		t.Fatal(err)
	} else {
		remember(temp)
	}
	b := newBrowser(t)
	s.signInPage(b, "agent", s.tempPassword(s.email("agent")), "On-duty-staff-64")
	b.waitPage("/console")

	for _, tab := range []string{"#tab-settings", "#tab-templates", "#tab-audit"} {
		if b.visible(tab) {
			t.Errorf("got %s shown to an agent, want it hidden", tab)
		}
	}
	if b.visible("#users-admin") || !b.visible("#users-agent") {
		t.Error("got the users table shown to an agent or the by-id form hidden, want the by-id form only")
	}
	b.typeInto("#user-id", target.ID)
	b.click("#by-id button[type=submit]")
	b.waitJS("the user dialog opens", `document.querySelector("#user-dialog").open`)
	b.click("#u-lock")
	b.waitText("#user-status", "is locked")
	if r := s.want(s.do("GET", "/v1/tenants/"+s.id+"/users/"+target.ID, adminTok, nil), 200, "get the user"); r.body["locked"] != true {
		t.Errorf("after the agent's lock: got locked %v, want true", r.body["locked"])
	}
	b.click("#u-unlock")
	b.waitText("#user-status", "is unlocked")
	b.click("#u-reset")
	b.waitText("#user-status", "Temporary password sent to")
	s.tempPassword(s.email("customer"), targetTemp)
}
