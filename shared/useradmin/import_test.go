package useradmin_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// batch returns 100 users of the fixture's tenant, every third with a
// mobile number in international form, every fifth with an expiry day, and
// three bad rows: row 20 an e-mail that is no address, row 30 a national
// mobile number, row 50 the username of row 10 in capitals (the same
// username key).
func (f *fixture) batch() []useradmin.NewUser {
	var out []useradmin.NewUser
	for i := 0; i < 100; i++ {
		nu := useradmin.NewUser{Username: fmt.Sprintf("user%03d", i), Email: f.email(fmt.Sprintf("user%03d", i))}
		if i%3 == 0 {
			nu.Mobile = fmt.Sprintf("+44 7911 %06d", 100000+i)
		}
		if i%5 == 0 {
			nu.PasswordExpiresOn = "2027-01-31"
		}
		out = append(out, nu)
	}
	out[20].Email = "not-an-address"
	out[30].Mobile = "07911 123456"
	out[50].Username = "USER010"
	out[50].Email = f.email("twin")
	return out
}

// nonAudit returns every item of the table but audit events, by key.
func (f *fixture) nonAudit() map[string]map[string]types.AttributeValue {
	out := map[string]map[string]types.AttributeValue{}
	for _, it := range f.scan() {
		if !strings.HasSuffix(pk(it), "#AUDIT") {
			out[pk(it)+"|"+sk(it)] = it
		}
	}
	return out
}

func TestService_Import(t *testing.T) {
	f := newFixture(t)
	before := f.kinds()
	if before["USER"] != 1 || before["USERNAME"] != 1 || before["TEMPPW"] != 1 {
		t.Fatalf("before: got %v, want the admin's user, claim and temporary password", before)
	}
	bad := map[int]struct{ code, field string }{
		20: {latchkey.EValidation, "email:"},
		30: {latchkey.EValidation, "mobile:"},
		50: {latchkey.EUsernameTaken, "username:"},
	}

	res, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, f.batch(), true)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	t.Run("97 created, the 3 bad rows refused with their reasons", func(t *testing.T) {
		if res.Created != 97 || res.Refused != 3 || len(res.Results) != 100 {
			t.Fatalf("got %d created, %d refused, %d results; want 97, 3, 100", res.Created, res.Refused, len(res.Results))
		}
		ids := map[string]bool{}
		for i, r := range res.Results {
			if r.Index != i || r.Username != f.batch()[i].Username {
				t.Errorf("result %d: got index %d username %q, want %d %q", i, r.Index, r.Username, i, f.batch()[i].Username)
			}
			want, isBad := bad[i]
			switch {
			case isBad && (r.Status != useradmin.StatusRefused || r.Error == nil || r.Error.Code != want.code || !strings.HasPrefix(r.Error.Message, want.field) || r.UserID != ""):
				t.Errorf("row %d: got %+v (error %+v), want refused %s naming %s", i, r, r.Error, want.code, want.field)
			case !isBad && (r.Status != useradmin.StatusCreated || r.UserID == "" || r.Error != nil || ids[r.UserID]):
				t.Errorf("row %d: got %+v, want created with a new user id", i, r)
			}
			ids[r.UserID] = true
		}
	})
	t.Run("nothing else written", func(t *testing.T) {
		after := f.kinds()
		for k, want := range map[string]int{"USER": 98, "USERNAME": 98, "TEMPPW": 98} {
			if after[k] != want {
				t.Errorf("%s items: got %d, want %d (before %d)", k, after[k], want, before[k])
			}
		}
		for k, n := range after {
			if k != "USER" && k != "USERNAME" && k != "TEMPPW" && k != "AUDIT" && k != "TENANT" {
				t.Errorf("got %d %s items, want none", n, k)
			}
		}
		if n := len(testenv.Emails(t, f.email("twin"))); n != 0 {
			t.Errorf("e-mails to the refused duplicate: got %d, want 0", n)
		}
		if n := len(f.audits(latchkey.ActionUserCreate)); n != 97+1 {
			t.Errorf("user.create events: got %d, want 97 and the admin's", n)
		}
	})
	t.Run("created users as given, self-serve off, with a temporary password by e-mail", func(t *testing.T) {
		u := f.get(res.Results[3].UserID)
		if u.Username != "user003" || u.Mobile != "+447911100003" || u.SelfServe || u.PasswordExpiresOn != "" {
			t.Errorf("user003: got %+v, want its E.164 mobile, self-serve off, no expiry day", u)
		}
		if got := u.View().RegistrationStatus; got != latchkey.RegistrationComplete {
			t.Errorf("user003 status: got %q, want %q", got, latchkey.RegistrationComplete)
		}
		u = f.get(res.Results[5].UserID)
		if u.PasswordExpiresOn != "2027-01-31" || u.Mobile != "" || len(u.Roles) != 1 || u.Roles[0] != latchkey.RoleUser {
			t.Errorf("user005: got %+v, want expiry 2027-01-31, no mobile, role user", u)
		}
		if got := u.View().RegistrationStatus; got != latchkey.RegistrationNotRegistered {
			t.Errorf("user005 status: got %q, want %q", got, latchkey.RegistrationNotRegistered)
		}
		temp := testenv.TempPassword(t, f.email("user003"))
		mail := testenv.WaitForEmail(t, f.email("user003"), func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Text, temp) })
		if !strings.Contains(mail.Subject, f.tenant.Name) {
			t.Errorf("subject: got %q, want the PASSWORD_EMAIL_NEW subject naming %s", mail.Subject, f.tenant.Name)
		}
	})

	t.Run("the same 100 again: every one refused, nothing changed", func(t *testing.T) {
		items := f.nonAudit()
		again, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, f.batch(), true)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		if again.Created != 0 || again.Refused != 100 {
			t.Fatalf("got %d created, %d refused; want 0 and 100", again.Created, again.Refused)
		}
		for i, r := range again.Results {
			want := latchkey.EUsernameTaken
			if b, ok := bad[i]; ok {
				want = b.code
			}
			if r.Status != useradmin.StatusRefused || r.Error == nil || r.Error.Code != want {
				t.Errorf("row %d: got %+v (%+v), want refused %s", i, r, r.Error, want)
			}
		}
		if got := f.nonAudit(); !reflect.DeepEqual(got, items) {
			t.Errorf("items: got %d, want the same %d items, unchanged", len(got), len(items))
		}
		if n := len(testenv.Emails(t, f.email("user003"))); n != 1 {
			t.Errorf("e-mails to user003: got %d, want still 1", n)
		}
	})
}

func TestService_Import_Refusals(t *testing.T) {
	f := newFixture(t)
	ok := useradmin.NewUser{Username: "valid", Email: f.email("valid")}
	for _, tc := range []struct {
		name  string
		edit  func(*useradmin.NewUser)
		field string
	}{
		{"bad username", func(u *useradmin.NewUser) { u.Username = "a b" }, "username:"},
		{"short username", func(u *useradmin.NewUser) { u.Username = "ab" }, "username:"},
		{"no e-mail", func(u *useradmin.NewUser) { u.Email = "" }, "email:"},
		{"national mobile", func(u *useradmin.NewUser) { u.Mobile = "07911 123456" }, "mobile:"},
		{"not a number", func(u *useradmin.NewUser) { u.Mobile = "+44 call me" }, "mobile:"},
		{"no such day", func(u *useradmin.NewUser) { u.PasswordExpiresOn = "2026-02-30" }, "passwordExpiresOn:"},
		{"day without zeros", func(u *useradmin.NewUser) { u.PasswordExpiresOn = "2026-2-3" }, "passwordExpiresOn:"},
		{"a time, not a day", func(u *useradmin.NewUser) { u.PasswordExpiresOn = "2026-02-03T00:00:00Z" }, "passwordExpiresOn:"},
		{"unknown role", func(u *useradmin.NewUser) { u.Roles = []latchkey.Role{"root"} }, "roles:"},
		{"no role", func(u *useradmin.NewUser) { u.Roles = []latchkey.Role{} }, "roles:"},
		{"blank permission", func(u *useradmin.NewUser) { u.Permissions = []string{" "} }, "permissions[0]:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nu := ok
			tc.edit(&nu)
			res, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, []useradmin.NewUser{nu}, true)
			if err != nil {
				t.Fatal(err)
			}
			r := res.Results[0]
			if r.Status != useradmin.StatusRefused || r.Error == nil || r.Error.Code != latchkey.EValidation || !strings.HasPrefix(r.Error.Message, tc.field) {
				t.Errorf("got %+v (%+v), want refused %s naming %s", r, r.Error, latchkey.EValidation, tc.field)
			}
		})
	}
	if k := f.kinds(); k["USER"] != 1 || k["USERNAME"] != 1 {
		t.Errorf("after refusals: got %v, want only the admin", k)
	}
	t.Run("a look-alike of a taken username", func(t *testing.T) {
		res, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, []useradmin.NewUser{{Username: "аdmin", Email: f.email("cyrillic")}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Results[0]; r.Error == nil || r.Error.Code != latchkey.EUsernameTaken {
			t.Errorf("got %+v, want %s", r, latchkey.EUsernameTaken)
		}
	})
	t.Run("batch size", func(t *testing.T) {
		if _, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, nil, true); code(err) != latchkey.EValidation {
			t.Errorf("none: got %v, want %s", err, latchkey.EValidation)
		}
		many := make([]useradmin.NewUser, useradmin.MaxBatch+1)
		for i := range many {
			many[i] = useradmin.NewUser{Username: fmt.Sprintf("many%d", i), Email: f.email(fmt.Sprintf("many%d", i))}
		}
		if _, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, many, true); code(err) != latchkey.EValidation {
			t.Errorf("101: got %v, want %s", err, latchkey.EValidation)
		}
		if k := f.kinds(); k["USER"] != 1 {
			t.Errorf("USER items: got %d, want 1", k["USER"])
		}
	})
	t.Run("without e-mail: no temporary password, no e-mail", func(t *testing.T) {
		res, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, []useradmin.NewUser{{Username: "quiet", Email: f.email("quiet"), Roles: []latchkey.Role{latchkey.RoleAgent}}}, false)
		if err != nil || res.Created != 1 {
			t.Fatalf("got %+v, %v; want one created", res, err)
		}
		if _, tp, err := f.deps.Store.GetUserWithTemp(f.ctx, f.tenant.ID, res.Results[0].UserID); err != nil || tp != nil {
			t.Errorf("temporary password: got %v, %v; want none", tp, err)
		}
		if n := len(testenv.Emails(t, f.email("quiet"))); n != 0 {
			t.Errorf("e-mails: got %d, want 0", n)
		}
		if u := f.get(res.Results[0].UserID); len(u.Roles) != 1 || u.Roles[0] != latchkey.RoleAgent {
			t.Errorf("roles: got %v, want [agent]", u.Roles)
		}
	})
}
