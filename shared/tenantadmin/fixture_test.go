package tenantadmin_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
	_ "time/tzdata" // as in the admin function: time-zone names resolve whatever the host's zoneinfo

	"github.com/latchkey/latchkey/shared/devstack/gateway"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/tenantadmin"
	"github.com/latchkey/latchkey/shared/token"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The adapters satisfy the capability's interfaces.
var (
	_ tenantadmin.Store           = (*dynamo.Store)(nil)
	_ tenantadmin.SettingsUpdater = (*tenancy.Service)(nil)
)

// tenantName holds characters that HTML escapes, for the previews.
const tenantName = `Acme & "Sons" <Ltd>`

// fixture is one fresh table with a tenant (named tenantName) and its
// admin, an agent and a plain user, a second tenant with its own admin, the
// capability served as the admin function serves it (token check
// included) behind the local gateway, and a clock the test moves.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *testclock.Clock
	deps  *system.Deps
	svc   *tenantadmin.Service
	tid   string
	admin *latchkey.User
	// tokens of the tenant's admin, agent and user, and of the other
	// tenant's admin.
	adminTok, agentTok, userTok, otherTok string
	other                                 string
	server                                string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, clock: clock, deps: d, tid: "t" + id[:10], other: "o" + id[:10]}
	f.svc = &tenantadmin.Service{Store: d.Store, Settings: d.Tenancy, Now: clock.Now}
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, f.tid, tenantName, "admin", "admin@"+f.tid+".latchkey.test")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	f.admin = admin
	f.adminTok = f.token(admin)
	for _, u := range []struct {
		name string
		role latchkey.Role
		tok  *string
	}{{"agent", latchkey.RoleAgent, &f.agentTok}, {"plain", latchkey.RoleUser, &f.userTok}} {
		created, temp, err := d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: u.name, Email: u.name + "@" + f.tid + ".latchkey.test", Roles: []latchkey.Role{u.role}})
		if err != nil {
			t.Fatalf("create %s: %v", u.name, err)
		}
		testenv.Remember(temp)
		*u.tok = f.token(created)
	}
	_, otherAdmin, temp, err := d.Tenancy.CreateTenant(ctx, f.other, "Other", "admin", "admin@"+f.other+".latchkey.test")
	if err != nil {
		t.Fatalf("create other tenant: %v", err)
	}
	testenv.Remember(temp)
	f.otherTok = f.token(otherAdmin)

	eps := tenantadmin.Endpoints(f.svc)
	srv, err := httpapi.NewServer(tenantadmin.FnAdmin, eps, &token.Auth{Tokens: d.Tokens, Users: d.Store}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway.Gateway{Routes: httpapi.Routes(eps), Functions: map[string]gateway.LambdaHandler{tenantadmin.FnAdmin: srv.Handle}, NotFound: srv.Handle}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	f.server = hs.URL
	return f
}

// token returns a bearer token of u, remembered as a secret.
func (f *fixture) token(u *latchkey.User) string { return testenv.Token(f.t, f.deps, u) }

// answer is a response: its status, error code and message (of an error
// answer), and body.
type answer struct {
	status        int
	code, message string
	problems      []string
	body          []byte
}

// decode decodes the body into v.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
}

// do sends a request to path (with its query string) of tenant tid through
// the gateway with bearer token tok.
func (f *fixture) do(tid, method, path, tok, body string) answer {
	f.t.Helper()
	r := testenv.Call(f.t, method, f.server+"/v1/tenants/"+tid+path, tok, body)
	if r.Header.Get("X-Request-Id") == "" {
		f.t.Errorf("%s %s: got no X-Request-Id", method, path)
	}
	var e struct {
		Error struct {
			Problems []string `json:"problems"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Raw, &e)
	return answer{status: r.Status, code: r.Code(), message: r.Message(), problems: e.Error.Problems, body: r.Raw}
}

// admin sends a request as the tenant's admin.
func (f *fixture) asAdmin(method, path, body string) answer {
	f.t.Helper()
	return f.do(f.tid, method, path, f.adminTok, body)
}

// audited returns the tenant's audit events of action, newest first.
func (f *fixture) audited(action latchkey.Action) []latchkey.AuditEvent {
	f.t.Helper()
	page, err := f.deps.Store.QueryAudit(f.ctx, f.tid, latchkey.AuditQuery{Action: action, Limit: latchkey.MaxAuditLimit})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Events
}
