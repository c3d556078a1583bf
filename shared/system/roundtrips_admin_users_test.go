package system_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// The user-administration flows make no more DynamoDB calls than
// docs/data-model.md says they need, with the tenant and template caches
// warm: one transaction per created or switched user, one Query per page,
// and a welcome link read and used in one read and one transaction.
func TestFlows_RoundTrips_AdminUsers(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d, counter := testenv.NewCountedDeps(t, clock.Now)
	d.UserAdmin.PublicBaseURL = "https://pages.latchkey.test"
	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, "rtadm", "Round trips", "admin", "admin@rtadm.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	svc := d.UserAdmin
	one := func(name string) []useradmin.NewUser {
		return []useradmin.NewUser{{Username: name, Email: name + "@rtadm.example", Mobile: "+44 7911 123456"}}
	}
	// The caches warm: an import (tenant, PASSWORD_EMAIL_NEW) and a
	// welcome (WELCOME) before counting.
	warm, err := svc.Import(ctx, "rtadm", admin.ID, one("warm"), true)
	if err != nil || warm.Created != 1 {
		t.Fatalf("warm import: %+v, %v", warm, err)
	}
	if _, err := svc.SendWelcome(ctx, "rtadm", admin.ID, warm.Results[0].UserID); err != nil {
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
	var created string
	run("users-import", func() error {
		res, err := svc.Import(ctx, "rtadm", admin.ID, one("counted"), true)
		if err == nil && res.Created != 1 {
			return latchkey.Errorf(latchkey.EInternal, "%s", mustJSON(res))
		}
		if err == nil {
			created = res.Results[0].UserID
		}
		return err
	}, "")
	run("users-list", func() error { _, err := svc.List(ctx, "rtadm", useradmin.ListQuery{Limit: 10}); return err }, "")
	run("user-get", func() error { _, err := svc.Get(ctx, "rtadm", created); return err }, "")
	run("user-patch", func() error {
		_, err := svc.Update(ctx, "rtadm", admin.ID, created, useradmin.Patch{
			PasswordExpiresOn: useradmin.Field[string]{Set: true, Value: "2027-01-31"},
			Roles:             useradmin.Field[[]latchkey.Role]{Set: true, Value: []latchkey.Role{latchkey.RoleAdmin}},
		})
		return err
	}, "")
	run("self-serve", func() error {
		res, err := svc.SetSelfServe(ctx, "rtadm", admin.ID, []string{created}, true)
		if err == nil && res.Updated != 1 {
			return latchkey.Errorf(latchkey.EInternal, "%s", mustJSON(res))
		}
		return err
	}, "")
	run("welcome-send", func() error { _, err := svc.SendWelcome(ctx, "rtadm", admin.ID, created); return err }, "")
	link := regexp.MustCompile(`/welcome#([A-Za-z0-9_-]+)`)
	var token string
	testenv.WaitForEmail(t, "counted@rtadm.example", func(e devstack.ReceivedEmail) bool {
		if m := link.FindStringSubmatch(e.Text); m != nil {
			token = m[1]
		}
		return token != ""
	})
	testenv.Remember(token)
	run("welcome-confirm", func() error { return svc.ConfirmWelcome(ctx, "rtadm", token, "+1 415 555 0100") }, "")

	checkRoundTrips(t, got)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
