package system_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/pinverify"
)

// The security-PIN flows make no more DynamoDB calls than
// docs/data-model.md says they need, with the tenant and template caches
// warm; a wrong PIN or code costs what a right one does.
func TestFlows_RoundTrips_SecurityPIN(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d, counter := testenv.NewCountedDeps(t, clock.Now)
	d.PINVerify.NormalizeMobile = phone.NormalizeE164
	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, "rtpin", "Round trips", "admin", "admin@rtpin.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	if _, err := d.Tenancy.UpdateSettings(ctx, "rtpin", "test", "securityPin=on", func(s *latchkey.Settings) { s.SecurityPIN = true }); err != nil {
		t.Fatal(err)
	}
	owner := "owner@rtpin-" + strings.ToLower(clock.Now().Format("150405")) + ".example"
	in := pinverify.AccountInput{Name: "Acme", Contacts: []latchkey.Contact{{ID: "c1", Name: "Olive", Role: latchkey.ContactOwner, Email: owner}}}
	svc := d.PINVerify
	token := regexp.MustCompile(`/security-pin#([A-Za-z0-9_-]+)`)
	code := regexp.MustCompile(`\b(\d{6})\b`)
	var link, vcode string
	// The caches warm: one link sent and a code sent before counting.
	warm := pinverify.AccountInput{Name: "Warm", Contacts: []latchkey.Contact{{ID: "c1", Name: "Will", Role: latchkey.ContactOwner, Email: "warm-" + owner}}}
	if _, err := svc.Upsert(ctx, "rtpin", admin.ID, "acct-0", warm); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendLink(ctx, "rtpin", admin.ID, "acct-0", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendCode(ctx, "rtpin", admin.ID, "acct-0", "c1"); err != nil {
		t.Fatal(err)
	}
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
	run("account-upsert", func() error { _, err := svc.Upsert(ctx, "rtpin", admin.ID, "acct-1", in); return err }, "")
	run("pin-link-send", func() error { _, err := svc.SendLink(ctx, "rtpin", admin.ID, "acct-1", "c1"); return err }, "")
	testenv.WaitForEmail(t, owner, func(e devstack.ReceivedEmail) bool {
		if m := token.FindStringSubmatch(e.Text); m != nil && strings.Contains(e.Subject, "Set your") {
			link = m[1]
		}
		return link != ""
	})
	testenv.Remember(link)
	run("pin-link-info", func() error { _, err := svc.LinkInfo(ctx, "rtpin", link); return err }, "")
	run("pin-link-set", func() error { return svc.SetPIN(ctx, "rtpin", link, "482917", "482917") }, "")
	run("pin-verify-wrong", func() error { _, err := svc.VerifyPIN(ctx, "rtpin", admin.ID, "acct-1", "739105"); return err }, latchkey.EWrongPIN)
	run("pin-verify-right", func() error { _, err := svc.VerifyPIN(ctx, "rtpin", admin.ID, "acct-1", "482917"); return err }, "")
	run("code-send", func() error { _, err := svc.SendCode(ctx, "rtpin", admin.ID, "acct-1", "c1"); return err }, "")
	testenv.WaitForEmail(t, owner, func(e devstack.ReceivedEmail) bool {
		if m := code.FindStringSubmatch(e.Text); m != nil && strings.Contains(e.Subject, "verification code") {
			vcode = m[1]
		}
		return vcode != ""
	})
	wrong := "000000"
	if vcode == wrong {
		wrong = "000001"
	}
	run("code-verify-wrong", func() error { _, err := svc.VerifyCode(ctx, "rtpin", admin.ID, "acct-1", wrong); return err }, latchkey.EWrongCode)
	run("code-verify-right", func() error { _, err := svc.VerifyCode(ctx, "rtpin", admin.ID, "acct-1", vcode); return err }, "")

	checkRoundTrips(t, got)
	for _, p := range [][2]string{{"pin-verify-wrong", "pin-verify-right"}, {"code-verify-wrong", "code-verify-right"}} {
		if got[p[0]] != got[p[1]] {
			t.Errorf("%s: got %d calls, want %d as %s", p[0], got[p[0]], got[p[1]], p[1])
		}
	}
}
