package system_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The expiry notifier and the notice history make no more DynamoDB calls
// than docs/data-model.md says they need: per tenant at its send hour a
// fixed number of Queries (never a Scan, whatever its number of users),
// then two writes per notice sent and one per notice another run had
// claimed.
func TestFlows_RoundTrips_Expiry(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d, counter := testenv.NewCountedDeps(t, clock.Now)
	tn, _, temp, err := d.Tenancy.CreateTenant(ctx, "rtexp", "Round trips", "admin", "admin@rtexp.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	u, _, err := d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{
		Username: "due", Email: "due@rtexp.example", Mobile: "+447911123456", PasswordExpiresOn: "2026-11-05", WithoutEmail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := latchkey.AuditEvent{TenantID: tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionSelfServe, Result: latchkey.ResultSuccess}
	if err := d.Store.SetSelfServe(ctx, tn.ID, u.ID, true, ev); err != nil {
		t.Fatal(err)
	}
	// Warm the template cache, as in a warm container.
	if _, err := d.Notifier.Templates.Render(ctx, tn.ID, templates.PasswordExpiryReminder, map[string]string{"daysLeft": "3"}); err != nil {
		t.Fatal(err)
	}
	calls := func(at time.Time) int {
		t.Helper()
		counter.Reset()
		// No SMS sender in this deployment: the e-mail alone makes the notice sent.
		_, _ = d.Expiry.Run(ctx, at)
		_, n := counter.Calls()
		return n
	}
	oneDue := calls(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	duplicate := calls(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	none := calls(time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC))
	got := map[string]int{
		"notifier-tenant-day": none,
		"notifier-notice":     oneDue - none,
		"notifier-duplicate":  duplicate - none,
	}
	counter.Reset()
	ns, err := d.Expiry.Notifications(ctx, tn.ID, u.ID)
	if err != nil || len(ns) != 1 {
		t.Fatalf("notifications: got %v, %v; want one", ns, err)
	}
	_, got["notifications-get"] = counter.Calls()
	if got["notifier-notice"] < 2 {
		t.Errorf("notifier-notice: got %d calls, want the claim and the record (2)", got["notifier-notice"])
	}
	checkRoundTrips(t, got)
}
