package pinverify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store satisfies the capability's interface.
var _ pinverify.Store = (*dynamo.Store)(nil)

type fixture struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	deps   *system.Deps
	svc    *pinverify.Service
	tenant *latchkey.Tenant
	admin  *latchkey.User
}

// newFixture gives each test its own table and a tenant with an admin.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := "a" + strings.ToLower(id[:10])
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, tid, "Accounts "+tid, "admin", "admin@"+tid+".latchkey.test")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	return &fixture{t: t, ctx: ctx, clock: clock, deps: d, svc: d.PINVerify, tenant: tn, admin: admin}
}

func code(err error) string { return latchkey.ErrorCode(err) }

// tally counts errs by error code ("" for a success).
func tally(errs []error) map[string]int {
	n := map[string]int{}
	for _, err := range errs {
		n[code(err)]++
	}
	return n
}

// sample is a valid account input with one contact of each role.
func sample() pinverify.AccountInput {
	return pinverify.AccountInput{
		Name: "Acme Holdings",
		Contacts: []latchkey.Contact{
			{ID: "c1", Name: "Olive Owner", Role: latchkey.ContactOwner, Email: "olive@acme.example", Mobile: "+44 7911 123456"},
			{ID: "c2", Name: "Arne Authorized", Role: latchkey.ContactAuthorized, Email: "arne@acme.example"},
			{ID: "c3", Name: "Front desk", Role: latchkey.ContactOther},
		},
	}
}

func TestService_Upsert(t *testing.T) {
	f := newFixture(t)
	tid := f.tenant.ID
	created := f.clock.Now()
	t.Run("round trip, mobile in E.164", func(t *testing.T) {
		a, err := f.svc.Upsert(f.ctx, tid, f.admin.ID, "acct-1", sample())
		if err != nil {
			t.Fatalf("upsert: %v", err)
		}
		got, err := f.svc.Get(f.ctx, tid, "acct-1")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		want := sample().Contacts
		want[0].Mobile = "+447911123456"
		if !reflect.DeepEqual(got.Contacts, want) {
			t.Errorf("contacts: got %+v, want %+v", got.Contacts, want)
		}
		if got.ID != "acct-1" || got.TenantID != tid || got.Name != "Acme Holdings" || got.UpdatedBy != f.admin.ID {
			t.Errorf("got id %q tenant %q name %q updatedBy %q, want acct-1, %s, Acme Holdings, %s", got.ID, got.TenantID, got.Name, got.UpdatedBy, tid, f.admin.ID)
		}
		if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(created) {
			t.Errorf("createdAt %v, updatedAt %v: want both %v", got.CreatedAt, got.UpdatedAt, created)
		}
		if !reflect.DeepEqual(a, got) {
			t.Errorf("upsert answered %+v, get %+v: want the same", a, got)
		}
		if st := got.Status(f.clock.Now()); st != (latchkey.SecurityStatus{}) {
			t.Errorf("status: got %+v, want nothing set", st)
		}
		events, err := f.deps.Store.ListAudit(f.ctx, tid, 50)
		if err != nil {
			t.Fatal(err)
		}
		audited := false
		for _, e := range events {
			if e.Action == latchkey.ActionAccountUpsert && e.Subject == "acct-1" && e.Actor == f.admin.ID && e.Result == latchkey.ResultSuccess {
				audited = true
			}
		}
		if !audited {
			t.Errorf("audit: got %+v, want account.upsert of acct-1 by admin", events)
		}
	})
	t.Run("a second upsert replaces contacts and keeps the PIN state", func(t *testing.T) {
		until := f.clock.Now().Add(time.Hour)
		setAt := f.clock.Now().Add(-time.Hour)
		_, err := testenv.DB(t).UpdateItem(f.ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(f.deps.Config.TableName),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "TENANT#" + tid + "#ACCOUNT#acct-1"},
				"SK": &types.AttributeValueMemberS{Value: "ACCOUNT"},
			},
			UpdateExpression: aws.String("SET pinMac = :mac, pinSetAt = :set, verifyFailures = :n, verifiedUntil = :until, verifiedBy = :by, verifiedMethod = :m"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":mac": &types.AttributeValueMemberS{Value: "mac-of-the-pin"}, ":set": &types.AttributeValueMemberS{Value: setAt.Format(time.RFC3339Nano)},
				":n": &types.AttributeValueMemberN{Value: "2"}, ":until": &types.AttributeValueMemberS{Value: until.Format(time.RFC3339Nano)},
				":by": &types.AttributeValueMemberS{Value: f.admin.ID}, ":m": &types.AttributeValueMemberS{Value: "pin"},
			},
		})
		if err != nil {
			t.Fatalf("set PIN state: %v", err)
		}
		f.clock.Advance(time.Minute)
		in := pinverify.AccountInput{Name: "Acme Holdings plc", Contacts: []latchkey.Contact{
			{ID: "c9", Name: "New Owner", Role: latchkey.ContactOwner, Email: "new@acme.example", Mobile: "+1 (415) 555-0100"},
		}}
		if _, err := f.svc.Upsert(f.ctx, tid, "agent-7", "acct-1", in); err != nil {
			t.Fatalf("upsert: %v", err)
		}
		got, err := f.svc.Get(f.ctx, tid, "acct-1")
		if err != nil {
			t.Fatal(err)
		}
		want := []latchkey.Contact{{ID: "c9", Name: "New Owner", Role: latchkey.ContactOwner, Email: "new@acme.example", Mobile: "+14155550100"}}
		if got.Name != "Acme Holdings plc" || !reflect.DeepEqual(got.Contacts, want) {
			t.Errorf("got %q %+v, want Acme Holdings plc %+v", got.Name, got.Contacts, want)
		}
		if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(f.clock.Now()) || got.UpdatedBy != "agent-7" {
			t.Errorf("createdAt %v updatedAt %v by %q: want %v, %v, agent-7", got.CreatedAt, got.UpdatedAt, got.UpdatedBy, created, f.clock.Now())
		}
		if got.PINMAC != "mac-of-the-pin" || got.PINSetAt == nil || !got.PINSetAt.Equal(setAt) || got.VerifyFailures != 2 {
			t.Errorf("PIN state: got mac %q setAt %v failures %d, want it kept", got.PINMAC, got.PINSetAt, got.VerifyFailures)
		}
		st, err := f.svc.Status(f.ctx, tid, "acct-1")
		if err != nil {
			t.Fatal(err)
		}
		if !st.PINSet || !st.Verified || st.VerifiedUntil == nil || !st.VerifiedUntil.Equal(until) || st.VerifiedBy != f.admin.ID || st.Method != "pin" || st.Locked {
			t.Errorf("status: got %+v, want PIN set, verified until %v by %s with pin", st, until, f.admin.ID)
		}
		f.clock.Advance(time.Hour)
		if st, _ := f.svc.Status(f.ctx, tid, "acct-1"); st.Verified || st.VerifiedUntil != nil || !st.PINSet {
			t.Errorf("status after the hour: got %+v, want PIN set, not verified", st)
		}
	})
	t.Run("another tenant's account is not found", func(t *testing.T) {
		other, _, temp, err := f.deps.Tenancy.CreateTenant(f.ctx, "x"+tid[1:], "Other", "admin", "admin@other.latchkey.test")
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp)
		if _, err := f.svc.Get(f.ctx, other.ID, "acct-1"); code(err) != latchkey.ENotFound {
			t.Errorf("get: got %v, want %s", err, latchkey.ENotFound)
		}
		if _, err := f.svc.Status(f.ctx, other.ID, "acct-1"); code(err) != latchkey.ENotFound {
			t.Errorf("status: got %v, want %s", err, latchkey.ENotFound)
		}
		if _, err := f.svc.Get(f.ctx, tid, "no-such"); code(err) != latchkey.ENotFound {
			t.Errorf("unknown account: got %v, want %s", err, latchkey.ENotFound)
		}
	})
}

func TestService_Upsert_Validation(t *testing.T) {
	f := newFixture(t)
	many := make([]latchkey.Contact, latchkey.MaxContacts+1)
	for i := range many {
		many[i] = latchkey.Contact{ID: fmt.Sprintf("c%d", i), Name: "Someone", Role: latchkey.ContactOther}
	}
	for _, tt := range []struct {
		name  string
		edit  func(in *pinverify.AccountInput)
		field string
	}{
		{"missing name", func(in *pinverify.AccountInput) { in.Name = "  " }, "name"},
		{"name too long", func(in *pinverify.AccountInput) { in.Name = strings.Repeat("é", 201) }, "name"},
		{"no contacts", func(in *pinverify.AccountInput) { in.Contacts = nil }, "contacts"},
		{"21 contacts", func(in *pinverify.AccountInput) { in.Contacts = many }, "contacts"},
		{"missing contact id", func(in *pinverify.AccountInput) { in.Contacts[1].ID = "" }, "contacts[1].id"},
		{"bad contact id", func(in *pinverify.AccountInput) { in.Contacts[1].ID = "a b" }, "contacts[1].id"},
		{"duplicate contact id", func(in *pinverify.AccountInput) { in.Contacts[2].ID = "c1" }, "contacts[2].id"},
		{"missing contact name", func(in *pinverify.AccountInput) { in.Contacts[0].Name = "" }, "contacts[0].name"},
		{"bad role", func(in *pinverify.AccountInput) { in.Contacts[2].Role = "boss" }, "contacts[2].role"},
		{"owner without e-mail", func(in *pinverify.AccountInput) { in.Contacts[0].Email = "" }, "contacts[0].email"},
		{"authorized without e-mail", func(in *pinverify.AccountInput) { in.Contacts[1].Email = " " }, "contacts[1].email"},
		{"bad e-mail", func(in *pinverify.AccountInput) { in.Contacts[2].Email = "not-an-address" }, "contacts[2].email"},
		{"bad mobile", func(in *pinverify.AccountInput) { in.Contacts[1].Mobile = "+1 555" }, "contacts[1].mobile"},
		{"national mobile", func(in *pinverify.AccountInput) { in.Contacts[0].Mobile = "07911 123456" }, "contacts[0].mobile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := sample()
			tt.edit(&in)
			_, err := f.svc.Upsert(f.ctx, f.tenant.ID, f.admin.ID, "acct-v", in)
			if code(err) != latchkey.EValidation {
				t.Fatalf("got %v, want %s", err, latchkey.EValidation)
			}
			if msg := latchkey.ErrorMessage(err); !strings.HasPrefix(msg, tt.field+": ") {
				t.Errorf("message: got %q, want it to start with %q", msg, tt.field+": ")
			}
		})
	}
	if _, err := f.svc.Get(f.ctx, f.tenant.ID, "acct-v"); code(err) != latchkey.ENotFound {
		t.Errorf("after refused upserts: got %v, want no account", err)
	}
}

// Over HTTP through the local gateway: staff may use the account routes, a
// plain user may not, and a body is decoded strictly.
func TestEndpoints_HTTP(t *testing.T) {
	f := newFixture(t)
	gw, err := f.deps.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	token := func(name string, role latchkey.Role) string {
		u, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, f.admin.ID, tenancy.NewUser{
			Username: name, Email: name + "@" + f.tenant.ID + ".latchkey.test", Roles: []latchkey.Role{role},
		})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.deps.Tokens.Issue(f.tenant.ID, u.ID, u.Roles, u.SessionVersion)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Remember(temp, tok)
		return tok
	}
	agent, user := token("agent1", latchkey.RoleAgent), token("user1", latchkey.RoleUser)
	base := srv.URL + "/v1/tenants/" + f.tenant.ID + "/accounts/acct-h"
	do := func(method, url, tok, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: body: %v", method, url, err)
		}
		return res.StatusCode, out
	}
	body := `{"name":"Acme","contacts":[{"id":"c1","name":"Olive","role":"owner","email":"olive@acme.example","mobile":"+44 7911 123456"}]}`
	routes := []struct{ method, url, body string }{
		{"PUT", base, body}, {"GET", base, ""}, {"GET", base + "/security-status", ""},
	}
	for _, r := range routes {
		if st, out := do(r.method, r.url, user, r.body); st != http.StatusForbidden {
			t.Errorf("user %s %s: got %d %v, want 403", r.method, r.url, st, out)
		}
	}
	for _, r := range routes {
		st, out := do(r.method, r.url, agent, r.body)
		if st != http.StatusOK {
			t.Errorf("agent %s %s: got %d %v, want 200", r.method, r.url, st, out)
		}
		if strings.HasSuffix(r.url, "/security-status") {
			if out["pinSet"] != false || out["verified"] != false || out["locked"] != false {
				t.Errorf("status: got %v, want nothing set", out)
			}
			continue
		}
		contacts, _ := out["contacts"].([]any)
		if out["id"] != "acct-h" || len(contacts) != 1 || out["securityStatus"] == nil || out["createdAt"] == nil {
			t.Errorf("account: got %v, want acct-h with one contact and securityStatus", out)
		} else if c, _ := contacts[0].(map[string]any); c["mobile"] != "+447911123456" {
			t.Errorf("mobile: got %v, want +447911123456", c["mobile"])
		}
	}
	t.Run("refused bodies", func(t *testing.T) {
		for _, tt := range []struct{ body, code, field string }{
			{`{"name":"Acme","contacts":[{"id":"c1","name":"O","role":"owner","email":"o@acme.example","fax":"1"}]}`, latchkey.EInvalidJSON, ""},
			{`{"name":"Acme","contacts":[{"id":"c1","name":"O","role":"owner","email":"o@acme.example","mobile":"+1 555"}]}`, latchkey.EValidation, "contacts[0].mobile"},
		} {
			st, out := do("PUT", base, agent, tt.body)
			e, _ := out["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if st != http.StatusBadRequest || e["code"] != tt.code || !strings.HasPrefix(msg, tt.field) {
				t.Errorf("body %s: got %d %v, want 400 %s naming %q", tt.body, st, out, tt.code, tt.field)
			}
		}
	})
	t.Run("unknown account", func(t *testing.T) {
		if st, out := do("GET", srv.URL+"/v1/tenants/"+f.tenant.ID+"/accounts/nobody", agent, ""); st != http.StatusNotFound || out["error"].(map[string]any)["code"] != latchkey.ENotFound {
			t.Errorf("got %d %v, want 404 not_found", st, out)
		}
	})
}
