package tenantadmin_test

import (
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/tenantadmin"
)

// Every route is for the tenant's admins only: an agent, a plain user and
// an admin of another tenant are refused (403) before anything is read or
// changed, and a request without a token answers 401.
func TestEndpoints_AdminsOfTheTenantOnly(t *testing.T) {
	f := newFixture(t)
	bodies := map[string]string{
		"PUT /settings":                  `{"lockoutThreshold":3}`,
		"PUT /templates/{name}":          customReset,
		"POST /templates/{name}/preview": "",
	}
	eps := tenantadmin.Endpoints(nil)
	if len(eps) != 7 {
		t.Fatalf("got %d routes, want 7", len(eps))
	}
	for _, e := range eps {
		if e.Function != tenantadmin.FnAdmin || len(e.Roles) != 1 || e.Roles[0] != latchkey.RoleAdmin {
			t.Errorf("%s: got function %s roles %v, want admin and [admin]", e.Key(), e.Function, e.Roles)
		}
		path := strings.ReplaceAll(e.Path, "{name}", "PASSWORD_EMAIL_CHANGE")
		body := bodies[e.Method+" "+e.Path]
		for _, c := range []struct{ who, tok, code string }{
			{"agent", f.agentTok, latchkey.EForbidden},
			{"user", f.userTok, latchkey.EForbidden},
			{"admin of another tenant", f.otherTok, latchkey.EForbidden},
			{"no token", "", latchkey.EUnauthorized},
		} {
			a := f.do(f.tid, e.Method, path, c.tok, body)
			if a.code != c.code || a.status != latchkey.StatusOf(c.code) {
				t.Errorf("%s %s as %s: got %d %s, want %d %s", e.Method, path, c.who, a.status, a.code, latchkey.StatusOf(c.code), c.code)
			}
		}
		if a := f.do(f.tid, e.Method, path, f.adminTok, body); a.status == 403 || a.status == 401 {
			t.Errorf("%s %s as the admin: got %d, want it allowed", e.Method, path, a.status)
		}
	}
	// Nothing changed.
	if tn, err := f.deps.Store.ReadTenant(f.ctx, f.tid); err != nil || tn.Settings.LockoutThreshold != latchkey.DefaultSettings().LockoutThreshold {
		t.Errorf("settings: got %+v, %v; want unchanged", tn, err)
	}
	if tn, err := f.deps.Store.ReadTenant(f.ctx, f.other); err != nil || tn.Settings != latchkey.DefaultSettings() {
		t.Errorf("other tenant's settings: got %+v, %v; want unchanged", tn, err)
	}
}
