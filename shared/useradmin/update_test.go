package useradmin_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// patch decodes a PATCH body as the route does.
func patch(t *testing.T, body string) useradmin.Patch {
	t.Helper()
	var p useradmin.Patch
	var in struct {
		Email             useradmin.Field[string]          `json:"email"`
		Mobile            useradmin.Field[string]          `json:"mobile"`
		PasswordExpiresOn useradmin.Field[string]          `json:"passwordExpiresOn"`
		Roles             useradmin.Field[[]latchkey.Role] `json:"roles"`
		Permissions       useradmin.Field[[]string]        `json:"permissions"`
		Profiles          useradmin.Field[[]string]        `json:"profiles"`
		CompanyExceptions useradmin.Field[[]string]        `json:"companyExceptions"`
	}
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	p = useradmin.Patch(in)
	return p
}

// item reads a user's raw item.
func (f *fixture) item(uid string) map[string]types.AttributeValue {
	f.t.Helper()
	table := f.deps.Config.TableName
	res, err := testenv.DB(f.t).GetItem(f.ctx, &dynamodb.GetItemInput{
		TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#USER#" + uid},
			"SK": &types.AttributeValueMemberS{Value: "USER"},
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Item
}

func sAttr(it map[string]types.AttributeValue, name string) string {
	s, _ := it[name].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// adminCount reads the tenant's admin count ("" when it has none).
func (f *fixture) adminCount() string {
	f.t.Helper()
	table := f.deps.Config.TableName
	res, err := testenv.DB(f.t).GetItem(f.ctx, &dynamodb.GetItemInput{
		TableName: &table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID},
			"SK": &types.AttributeValueMemberS{Value: "TENANT"},
		},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	n, _ := res.Item["adminCount"].(*types.AttributeValueMemberN)
	if n == nil {
		return ""
	}
	return n.Value
}

func TestService_Update(t *testing.T) {
	f := newFixture(t)
	u := f.user("editee")
	t.Run("fields set, E.164, status stored for the list", func(t *testing.T) {
		got, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, u.ID, patch(t, `{"email":"new@`+f.tenant.ID+`.latchkey.test","mobile":"+44 7911 123456",
			"passwordExpiresOn":"2027-03-01","roles":["agent","user"],"permissions":["p1"],"profiles":["pr1","pr2"],"companyExceptions":["c1"]}`))
		if err != nil {
			t.Fatal(err)
		}
		stored := f.get(u.ID)
		if !reflect.DeepEqual(got, stored) {
			t.Errorf("answer %+v, stored %+v: want the same", got, stored)
		}
		if stored.Email != "new@"+f.tenant.ID+".latchkey.test" || stored.Mobile != "+447911123456" || stored.PasswordExpiresOn != "2027-03-01" ||
			!reflect.DeepEqual(stored.Roles, []latchkey.Role{latchkey.RoleAgent, latchkey.RoleUser}) ||
			!reflect.DeepEqual(stored.Profiles, []string{"pr1", "pr2"}) || stored.Permissions[0] != "p1" || stored.CompanyExceptions[0] != "c1" {
			t.Errorf("stored: got %+v", stored)
		}
		it := f.item(u.ID)
		if sAttr(it, "registrationStatus") != latchkey.RegistrationComplete || sAttr(it, "GSI2PK") != "TENANT#"+f.tenant.ID+"#REG#registration_complete" || sAttr(it, "GSI2SK") != "editee" {
			t.Errorf("stored status: got %s %s %s, want registration_complete in GSI2", sAttr(it, "registrationStatus"), sAttr(it, "GSI2PK"), sAttr(it, "GSI2SK"))
		}
		page, err := f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{Filter: latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationComplete}})
		if err != nil || len(page.Users) != 1 || page.Users[0].ID != u.ID {
			t.Errorf("complete users: got %+v, %v; want editee", page, err)
		}
		ev := f.audits(latchkey.ActionUserUpdate)
		if len(ev) != 1 || ev[0].Subject != u.ID || ev[0].Actor != f.admin.ID || ev[0].Result != latchkey.ResultSuccess ||
			ev[0].Reason != "email,mobile,passwordExpiresOn,roles,permissions,profiles,companyExceptions" {
			t.Errorf("audit: got %+v, want one user.update naming the fields", ev)
		}
	})
	t.Run("null and empty clear, absent keeps", func(t *testing.T) {
		got, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, u.ID, patch(t, `{"mobile":null,"passwordExpiresOn":"","permissions":[],"profiles":null}`))
		if err != nil {
			t.Fatal(err)
		}
		stored := f.get(u.ID)
		if stored.Mobile != "" || stored.PasswordExpiresOn != "" || stored.Permissions != nil || stored.Profiles != nil ||
			len(stored.CompanyExceptions) != 1 || stored.Email == "" || len(stored.Roles) != 2 {
			t.Errorf("stored: got %+v, want mobile, expiry, permissions and profiles cleared, the rest kept", stored)
		}
		if got.View().RegistrationStatus != latchkey.RegistrationNotRegistered || sAttr(f.item(u.ID), "registrationStatus") != latchkey.RegistrationNotRegistered {
			t.Errorf("status: got %s, want not_registered once the mobile is gone", sAttr(f.item(u.ID), "registrationStatus"))
		}
		for _, a := range []string{"mobile", "passwordExpiresOn", "permissions", "profiles"} {
			if _, ok := f.item(u.ID)[a]; ok {
				t.Errorf("attribute %s: got it, want it removed", a)
			}
		}
	})
	t.Run("refusals name the field and change nothing", func(t *testing.T) {
		before := f.item(u.ID)
		for body, field := range map[string]string{
			`{"email":"nope"}`:                   "email:",
			`{"email":null}`:                     "email:",
			`{"mobile":"07911 123456"}`:          "mobile:",
			`{"passwordExpiresOn":"2027-02-29"}`: "passwordExpiresOn:",
			`{"roles":[]}`:                       "roles:",
			`{"roles":null}`:                     "roles:",
			`{"roles":["boss"]}`:                 "roles:",
			`{"profiles":["` + strings.Repeat("x", 129) + `"]}`: "profiles[0]:",
		} {
			_, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, u.ID, patch(t, body))
			if code(err) != latchkey.EValidation || !strings.HasPrefix(latchkey.ErrorMessage(err), field) {
				t.Errorf("%s: got %v, want %s naming %s", body, err, latchkey.EValidation, field)
			}
		}
		if after := f.item(u.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("item changed by refused edits")
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, "nobody", patch(t, `{"mobile":null}`)); code(err) != latchkey.ENotFound {
			t.Errorf("unknown user: got %v, want %s", err, latchkey.ENotFound)
		}
	})
}

func TestService_Update_LastAdmin(t *testing.T) {
	f := newFixture(t)
	demote := patch(t, `{"roles":["user"]}`)
	promote := patch(t, `{"roles":["admin","agent"]}`)
	if got := f.adminCount(); got != "1" {
		t.Fatalf("admin count of a new tenant: got %q, want 1", got)
	}
	t.Run("the only admin cannot be demoted", func(t *testing.T) {
		_, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, f.admin.ID, demote)
		if code(err) != latchkey.ELastAdmin {
			t.Fatalf("got %v, want %s", err, latchkey.ELastAdmin)
		}
		if u := f.get(f.admin.ID); !u.HasRole(latchkey.RoleAdmin) || f.adminCount() != "1" {
			t.Errorf("got roles %v, count %s; want admin kept, count 1", u.Roles, f.adminCount())
		}
		if ev := f.audits(latchkey.ActionUserUpdate); len(ev) != 1 || ev[0].Result != latchkey.ResultFailure || ev[0].Reason != latchkey.ELastAdmin {
			t.Errorf("audit: got %+v, want one failure last_admin", ev)
		}
	})
	second := f.user("second")
	t.Run("with two admins one may go", func(t *testing.T) {
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, f.admin.ID, second.ID, promote); err != nil {
			t.Fatal(err)
		}
		if got := f.adminCount(); got != "2" {
			t.Fatalf("count after promotion: got %s, want 2", got)
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, second.ID, f.admin.ID, demote); err != nil {
			t.Fatalf("demote admin: %v", err)
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, second.ID, second.ID, demote); code(err) != latchkey.ELastAdmin {
			t.Fatalf("demote the last: got %v, want %s", err, latchkey.ELastAdmin)
		}
		if got := f.adminCount(); got != "1" {
			t.Errorf("count: got %s, want 1", got)
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, second.ID, f.admin.ID, patch(t, `{"roles":["admin"]}`)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two concurrent demotions of the last two admins: exactly one", func(t *testing.T) {
		for round := 0; round < 5; round++ {
			// Both are admins again.
			for _, id := range []string{f.admin.ID, second.ID} {
				if !f.get(id).HasRole(latchkey.RoleAdmin) {
					if _, err := f.svc.Update(f.ctx, f.tenant.ID, "test", id, promote); err != nil {
						t.Fatal(err)
					}
				}
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, id := range []string{f.admin.ID, second.ID} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = f.svc.Update(f.ctx, f.tenant.ID, "test", id, demote)
				}()
			}
			close(start)
			wg.Wait()
			ok, last := 0, 0
			for _, err := range errs {
				switch code(err) {
				case "":
					ok++
				case latchkey.ELastAdmin:
					last++
				default:
					t.Errorf("round %d: got %v, want success or %s", round, err, latchkey.ELastAdmin)
				}
			}
			admins := 0
			for _, id := range []string{f.admin.ID, second.ID} {
				if f.get(id).HasRole(latchkey.RoleAdmin) {
					admins++
				}
			}
			if ok != 1 || last != 1 || admins != 1 || f.adminCount() != "1" {
				t.Fatalf("round %d: got %d succeeded, %d last_admin, %d admins left, count %s; want 1, 1, 1, 1", round, ok, last, admins, f.adminCount())
			}
		}
	})
	t.Run("a tenant stored before the count gets it counted", func(t *testing.T) {
		for _, id := range []string{f.admin.ID, second.ID} {
			if !f.get(id).HasRole(latchkey.RoleAdmin) {
				if _, err := f.svc.Update(f.ctx, f.tenant.ID, "test", id, promote); err != nil {
					t.Fatal(err)
				}
			}
		}
		table := f.deps.Config.TableName
		if _, err := testenv.DB(t).UpdateItem(f.ctx, &dynamodb.UpdateItemInput{
			TableName: &table, UpdateExpression: aws.String("REMOVE adminCount"),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID}, "SK": &types.AttributeValueMemberS{Value: "TENANT"},
			},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, "test", second.ID, demote); err != nil {
			t.Fatalf("demote one of two: %v", err)
		}
		if got := f.adminCount(); got != "1" {
			t.Errorf("count: got %q, want 1 (2 counted, less the demotion)", got)
		}
		if _, err := f.svc.Update(f.ctx, f.tenant.ID, "test", f.admin.ID, demote); code(err) != latchkey.ELastAdmin {
			t.Errorf("demote the last: got %v, want %s", err, latchkey.ELastAdmin)
		}
	})
	t.Run("creating an admin counts it", func(t *testing.T) {
		f.user("third", latchkey.RoleAdmin)
		if got := f.adminCount(); got != "2" {
			t.Errorf("count: got %s, want 2", got)
		}
	})
}

func TestService_SetSelfServe(t *testing.T) {
	f := newFixture(t)
	a, b := f.user("alpha"), f.user("beta")
	if a.SelfServe || f.get(a.ID).SelfServe {
		t.Fatal("a created user: got self-serve on, want off")
	}
	setOverride := func(on bool) {
		t.Helper()
		tn, err := f.deps.Store.GetTenant(f.ctx, f.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		tn.Settings.SelfServe = on
		if err := f.deps.Store.PutTenantSettings(f.ctx, f.tenant.ID, tn.Settings); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("override off: 409, nothing changed", func(t *testing.T) {
		setOverride(false)
		before := f.nonAudit()
		_, err := f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, []string{a.ID, b.ID}, true)
		if code(err) != latchkey.ETenantSelfServiceDisabled {
			t.Fatalf("got %v, want %s", err, latchkey.ETenantSelfServiceDisabled)
		}
		if !reflect.DeepEqual(f.nonAudit(), before) {
			t.Error("items changed")
		}
		setOverride(true)
	})
	t.Run("per-item results", func(t *testing.T) {
		res, err := f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, []string{a.ID, "nobody", b.ID, "bad id!"}, true)
		if err != nil {
			t.Fatal(err)
		}
		want := []useradmin.SelfServeItem{
			{UserID: a.ID, Status: useradmin.StatusUpdated},
			{UserID: "nobody", Status: useradmin.StatusRefused, Error: &useradmin.ItemError{Code: latchkey.ENotFound, Message: "User not found."}},
			{UserID: b.ID, Status: useradmin.StatusUpdated},
			{UserID: "bad id!", Status: useradmin.StatusRefused, Error: &useradmin.ItemError{Code: latchkey.ENotFound, Message: "User not found."}},
		}
		if !reflect.DeepEqual(res.Results, want) || res.Updated != 2 || res.Refused != 2 {
			t.Errorf("got %+v (%d, %d), want %+v", res.Results, res.Updated, res.Refused, want)
		}
		if !f.get(a.ID).SelfServe || !f.get(b.ID).SelfServe || f.get(f.admin.ID).SelfServe {
			t.Error("got the wrong users switched")
		}
		if ev := f.audits(latchkey.ActionSelfServe); len(ev) < 2 {
			t.Errorf("audit: got %+v, want user.self_serve for each", ev)
		}
		res, err = f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, []string{b.ID}, false)
		if err != nil || res.Updated != 1 || f.get(b.ID).SelfServe {
			t.Errorf("off: got %+v, %v, stored %v; want beta off", res, err, f.get(b.ID).SelfServe)
		}
	})
	t.Run("the override turned off elsewhere wins over a cached tenant", func(t *testing.T) {
		if _, err := f.deps.Store.GetTenant(f.ctx, f.tenant.ID); err != nil { // cached: on
			t.Fatal(err)
		}
		other := dynamo.New(testenv.DB(t), f.deps.Config.TableName, f.clock.Now)
		tn, err := other.GetTenant(f.ctx, f.tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		tn.Settings.SelfServe = false
		if err := other.PutTenantSettings(f.ctx, f.tenant.ID, tn.Settings); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, []string{b.ID}, true)
		if code(err) != latchkey.ETenantSelfServiceDisabled || f.get(b.ID).SelfServe {
			t.Errorf("got %v, stored %v; want %s and beta still off", err, f.get(b.ID).SelfServe, latchkey.ETenantSelfServiceDisabled)
		}
		f.clock.Advance(dynamo.TenantCacheTTL + time.Second)
	})
	t.Run("batch size", func(t *testing.T) {
		setOverride(true)
		if _, err := f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, nil, true); code(err) != latchkey.EValidation {
			t.Errorf("none: got %v, want %s", err, latchkey.EValidation)
		}
		if _, err := f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, make([]string, useradmin.MaxBatch+1), true); code(err) != latchkey.EValidation {
			t.Errorf("101: got %v, want %s", err, latchkey.EValidation)
		}
	})
}

// A successful sign-in marks the user as having used self-serve, with the
// stored registration status, in the sign-in's own transaction: by the
// challenge of a first sign-in and by a sign-in with the password, and the
// first time is kept.
func TestSignIn_MarksAccessedSelfServe(t *testing.T) {
	f := newFixture(t)
	u := f.user("walker")
	if st := sAttr(f.item(u.ID), "registrationStatus"); st != latchkey.RegistrationNotRegistered {
		t.Fatalf("before: got %q, want not_registered", st)
	}
	signIn(t, f, "walker")
	first := f.get(u.ID).AccessedSelfServeAt
	if first == nil || sAttr(f.item(u.ID), "GSI2PK") != "TENANT#"+f.tenant.ID+"#REG#accessed_self_serve" {
		t.Fatalf("after the first sign-in: got %v, %s; want accessed", first, sAttr(f.item(u.ID), "GSI2PK"))
	}
	// Forget it, as for a user stored before the attribute, and sign in with the password.
	table := f.deps.Config.TableName
	if _, err := testenv.DB(t).UpdateItem(f.ctx, &dynamodb.UpdateItemInput{
		TableName: &table, Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#USER#" + u.ID}, "SK": &types.AttributeValueMemberS{Value: "USER"},
		},
		UpdateExpression:          aws.String("SET registrationStatus = :s, GSI2PK = :k REMOVE accessedSelfServeAt, GSI2SK"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "x"}, ":k": &types.AttributeValueMemberS{Value: "x"}},
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	res, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, "walker", "Chosen-by-them-2026")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(res.Token)
	it := f.item(u.ID)
	if sAttr(it, "registrationStatus") != latchkey.RegistrationAccessed || sAttr(it, "GSI2SK") != "walker" || f.get(u.ID).AccessedSelfServeAt == nil {
		t.Errorf("after a password sign-in: got %s, %s; want accessed_self_serve in GSI2", sAttr(it, "registrationStatus"), sAttr(it, "GSI2SK"))
	}
	second := f.get(u.ID).AccessedSelfServeAt
	f.clock.Advance(time.Hour)
	if _, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, "walker", "Chosen-by-them-2026"); err != nil {
		t.Fatal(err)
	}
	if got := f.get(u.ID).AccessedSelfServeAt; got == nil || !got.Equal(*second) {
		t.Errorf("first use: got %v, want kept at %v", got, second)
	}
}
