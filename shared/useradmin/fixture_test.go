package useradmin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/useradmin"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store satisfies the capability's interface.
var _ useradmin.Store = (*dynamo.Store)(nil)

// publicBase is where the fixture's public pages are served.
const publicBase = "https://pages.latchkey.test"

type fixture struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	deps   *system.Deps
	svc    *useradmin.Service
	tenant *latchkey.Tenant
	admin  *latchkey.User
}

// newFixture gives each test its own table and a tenant with an admin (who
// has an e-mail address and no mobile number).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	d.UserAdmin.PublicBaseURL = publicBase + "/"
	tn, admin, temp := newTenant(t, d, "u")
	testenv.Remember(temp)
	return &fixture{t: t, ctx: ctx, clock: clock, deps: d, svc: d.UserAdmin, tenant: tn, admin: admin}
}

// newTenant creates a tenant with a random id starting with prefix, and its admin.
func newTenant(t *testing.T, d *system.Deps, prefix string) (*latchkey.Tenant, *latchkey.User, string) {
	t.Helper()
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := prefix + strings.ToLower(id[:10])
	tn, admin, temp, err := d.Tenancy.CreateTenant(context.Background(), tid, "Admin "+tid, "admin", "admin@"+tid+".latchkey.test")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	return tn, admin, temp
}

func code(err error) string { return latchkey.ErrorCode(err) }

// email is an address of the fixture's tenant.
func (f *fixture) email(name string) string { return name + "@" + f.tenant.ID + ".latchkey.test" }

// user creates a user with roles through tenancy (with a temporary
// password, remembered as a secret).
func (f *fixture) user(name string, roles ...latchkey.Role) *latchkey.User {
	f.t.Helper()
	u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, "test", tenancy.NewUser{Username: name, Email: f.email(name), Roles: roles})
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	testenv.Remember(temp)
	return u
}

// get reads user uid as stored.
func (f *fixture) get(uid string) *latchkey.User {
	f.t.Helper()
	u, err := f.deps.Store.GetUser(f.ctx, f.tenant.ID, uid)
	if err != nil {
		f.t.Fatalf("get %s: %v", uid, err)
	}
	return u
}

// scan returns every item of the fixture's table.
func (f *fixture) scan() []map[string]types.AttributeValue {
	f.t.Helper()
	db, table := testenv.DB(f.t), f.deps.Config.TableName
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		page, err := p.NextPage(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

// sk returns an item's sort key.
func sk(it map[string]types.AttributeValue) string {
	s, _ := it["SK"].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

func pk(it map[string]types.AttributeValue) string {
	s, _ := it["PK"].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// kinds counts the fixture's items by sort key, audit events (whose sort
// key is a time) as "AUDIT".
func (f *fixture) kinds() map[string]int {
	f.t.Helper()
	out := map[string]int{}
	for _, it := range f.scan() {
		k := sk(it)
		if strings.HasSuffix(pk(it), "#AUDIT") {
			k = "AUDIT"
		}
		out[k]++
	}
	return out
}

// audits returns the tenant's audit events of action.
func (f *fixture) audits(action latchkey.Action) []latchkey.AuditEvent {
	f.t.Helper()
	events, err := f.deps.Store.ListAudit(f.ctx, f.tenant.ID, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []latchkey.AuditEvent
	for _, e := range events {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// token returns a bearer token of u, remembered as a secret.
func (f *fixture) token(u *latchkey.User) string { return testenv.Token(f.t, f.deps, u) }

// api is the local gateway over HTTP, as a client sees it.
type api struct {
	t    *testing.T
	base string
}

// serve starts the local gateway with every route of the route table.
func (f *fixture) serve() *api {
	f.t.Helper()
	gw, err := f.deps.Gateway()
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	f.t.Cleanup(srv.Close)
	return &api{t: f.t, base: srv.URL}
}

// reply is an HTTP answer.
type reply struct {
	status int
	raw    string
	body   map[string]any
}

// do sends method path (under /v1/tenants/) with a JSON body (a string as
// is, anything else encoded) and the bearer token tok, when not "".
func (a *api) do(method, path, tok string, body any) reply {
	a.t.Helper()
	var rd string
	switch b := body.(type) {
	case nil:
	case string:
		rd = b
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = string(raw)
	}
	r := testenv.Call(a.t, method, a.base+"/v1/tenants/"+path, tok, rd)
	return reply{status: r.Status, raw: string(r.Raw), body: r.Body}
}

// errorCode returns the error code of an error answer.
func (r reply) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.status, r.raw) }
