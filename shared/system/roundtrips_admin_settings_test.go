package system_test

import (
	"context"
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the settings name a time zone, as the admin function links them

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

// Settings, templates and the audit log make no more DynamoDB calls than
// docs/data-model.md says they need, in a warm container.
func TestFlows_RoundTrips_AdminSettings(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d, counter := testenv.NewCountedDeps(t, clock.Now)
	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, "rtadm", "Round trips", "admin", "admin@rtadm.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	// More events than a page holds, and the tenant cached.
	for i := 0; i < 120; i++ {
		clock.Advance(time.Second)
		d.Store.Audit(ctx, latchkey.Event("rtadm", admin.ID, "s", latchkey.ActionUserLock, latchkey.ResultSuccess, fmt.Sprint(i)))
	}
	if _, err := d.Store.GetTenant(ctx, "rtadm"); err != nil {
		t.Fatal(err)
	}
	svc := d.TenantAdmin
	st := latchkey.DefaultSettings()
	st.TimeZone, st.ReminderDays = "Europe/London", 14
	override := templates.Template{Name: templates.PasswordEmailChange, Subject: "Reset", Text: "{{temporaryPassword}}", HTML: "<p>{{temporaryPassword}}</p>"}

	got := map[string]int{}
	run := func(flow string, f func() error) {
		t.Helper()
		counter.Reset()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
		_, got[flow] = counter.Calls()
	}
	run("settings-get", func() error { _, err := svc.GetSettings(ctx, "rtadm"); return err })
	run("settings-put", func() error { _, err := svc.PutSettings(ctx, "rtadm", admin.ID, st); return err })
	run("template-get", func() error { _, err := svc.GetTemplate(ctx, "rtadm", templates.PasswordEmailChange); return err })
	run("template-put", func() error { _, err := svc.PutTemplate(ctx, "rtadm", admin.ID, override); return err })
	run("template-delete", func() error { return svc.DeleteTemplate(ctx, "rtadm", admin.ID, templates.PasswordEmailChange) })
	run("audit-page", func() error {
		p, err := svc.AuditPage(ctx, "rtadm", latchkey.AuditQuery{Limit: latchkey.DefaultAuditLimit})
		if err == nil && (len(p.Events) != latchkey.DefaultAuditLimit || p.NextCursor == "") {
			err = fmt.Errorf("got %d events, cursor %q; want a full page and a cursor", len(p.Events), p.NextCursor)
		}
		return err
	})

	checkRoundTrips(t, got)
}
