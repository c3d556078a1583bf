package useradmin_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// pages collects every page of a list with limit, failing on a repeated
// id, and returns the ids in the order listed.
func (f *fixture) pages(limit int, filter latchkey.UserFilter) []string {
	f.t.Helper()
	var ids []string
	seen := map[string]bool{}
	cursor := ""
	for n := 0; ; n++ {
		if n > 1000 {
			f.t.Fatal("more than 1000 pages: the cursor does not advance")
		}
		page, err := f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{Cursor: cursor, Limit: limit, Filter: filter})
		if err != nil {
			f.t.Fatalf("page %d: %v", n, err)
		}
		if len(page.Users) > limit {
			f.t.Fatalf("page %d: got %d users, want at most %d", n, len(page.Users), limit)
		}
		for _, u := range page.Users {
			if seen[u.ID] {
				f.t.Fatalf("page %d: user %s listed twice", n, u.Username)
			}
			seen[u.ID] = true
			ids = append(ids, u.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		if len(page.Users) == 0 {
			f.t.Fatalf("page %d: empty page with a next cursor", n)
		}
		cursor = page.NextCursor
	}
}

func TestService_List(t *testing.T) {
	f := newFixture(t)
	// 250 users in three imports: every third with a mobile number
	// (registration complete), every fourth with self-serve on, every
	// seventh locked; one of them signs in (accessed self-serve).
	var all []latchkey.User
	for b := 0; b < 3; b++ {
		var batch []useradmin.NewUser
		for i := b * 100; i < min(250, (b+1)*100); i++ {
			nu := useradmin.NewUser{Username: fmt.Sprintf("p%03d", i), Email: f.email(fmt.Sprintf("p%03d", i))}
			if i%3 == 0 {
				nu.Mobile = fmt.Sprintf("+1 415 555 %04d", i)
			}
			batch = append(batch, nu)
		}
		res, err := f.svc.Import(f.ctx, f.tenant.ID, f.admin.ID, batch, false)
		if err != nil || res.Created != len(batch) {
			t.Fatalf("import %d: got %+v, %v", b, res, err)
		}
	}
	var selfServe, locked []string
	for i := 0; i < 250; i++ {
		u, err := f.deps.Store.GetUserByUsername(f.ctx, f.tenant.ID, fmt.Sprintf("p%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			selfServe = append(selfServe, u.ID)
		}
		if i%7 == 0 {
			if err := f.deps.Passwords.Lock(f.ctx, f.tenant.ID, f.admin, u.ID); err != nil {
				t.Fatal(err)
			}
			locked = append(locked, u.ID)
		}
		all = append(all, *u)
	}
	for i := 0; i < len(selfServe); i += useradmin.MaxBatch {
		res, err := f.svc.SetSelfServe(f.ctx, f.tenant.ID, f.admin.ID, selfServe[i:min(len(selfServe), i+useradmin.MaxBatch)], true)
		if err != nil || res.Refused != 0 {
			t.Fatalf("self-serve: got %+v, %v", res, err)
		}
	}
	signer := f.user("signer")
	signIn(t, f, "signer")
	allIDs := []string{f.admin.ID, signer.ID}
	byStatus := map[string][]string{
		latchkey.RegistrationNotRegistered: {f.admin.ID},
		latchkey.RegistrationAccessed:      {signer.ID},
	}
	for i, u := range all {
		allIDs = append(allIDs, u.ID)
		st := latchkey.RegistrationNotRegistered
		if i%3 == 0 {
			st = latchkey.RegistrationComplete
		}
		byStatus[st] = append(byStatus[st], u.ID)
	}
	sorted := func(ids []string) []string { return slices.Sorted(slices.Values(ids)) }

	t.Run("every user once, over pages of every size", func(t *testing.T) {
		for _, limit := range []int{100, 7, 1} {
			got := f.pages(limit, latchkey.UserFilter{})
			if !slices.Equal(sorted(got), sorted(allIDs)) {
				t.Errorf("limit %d: got %d users, want the %d, each once", limit, len(got), len(allIDs))
			}
		}
	})
	t.Run("pages in username order, the last without a cursor", func(t *testing.T) {
		page, err := f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) != 100 || page.NextCursor == "" || page.Users[0].Username != "admin" || page.Users[1].Username != "p000" {
			t.Fatalf("first page: got %d users from %s, cursor %q; want 100 from admin, and a cursor", len(page.Users), page.Users[0].Username, page.NextCursor)
		}
		page, err = f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{Limit: 52, Cursor: page.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		page, err = f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{Limit: 100, Cursor: page.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) != 100 || page.NextCursor != "" || page.Users[99].Username != "signer" {
			t.Errorf("last page: got %d users ending %s, cursor %q; want exactly the last 100, no cursor", len(page.Users), page.Users[len(page.Users)-1].Username, page.NextCursor)
		}
		def, err := f.svc.List(f.ctx, f.tenant.ID, useradmin.ListQuery{})
		if err != nil || len(def.Users) != useradmin.DefaultPage {
			t.Errorf("default page: got %d users, %v; want %d", len(def.Users), err, useradmin.DefaultPage)
		}
	})
	t.Run("by registration status", func(t *testing.T) {
		for st, want := range byStatus {
			for _, limit := range []int{100, 9} {
				got := f.pages(limit, latchkey.UserFilter{RegistrationStatus: st})
				if !slices.Equal(sorted(got), sorted(want)) {
					t.Errorf("%s, limit %d: got %d users, want exactly the %d", st, limit, len(got), len(want))
				}
			}
		}
	})
	yes, no := true, false
	t.Run("by self-serve and lock", func(t *testing.T) {
		others := func(ids []string) []string {
			var out []string
			for _, id := range allIDs {
				if !slices.Contains(ids, id) {
					out = append(out, id)
				}
			}
			return out
		}
		for _, tc := range []struct {
			name   string
			filter latchkey.UserFilter
			want   []string
		}{
			{"self-serve on", latchkey.UserFilter{SelfServe: &yes}, selfServe},
			{"self-serve off", latchkey.UserFilter{SelfServe: &no}, others(selfServe)},
			{"locked", latchkey.UserFilter{Locked: &yes}, locked},
			{"not locked", latchkey.UserFilter{Locked: &no}, others(locked)},
		} {
			for _, limit := range []int{100, 4} {
				got := f.pages(limit, tc.filter)
				if !slices.Equal(sorted(got), sorted(tc.want)) {
					t.Errorf("%s, limit %d: got %d users, want exactly the %d", tc.name, limit, len(got), len(tc.want))
				}
			}
		}
	})
	t.Run("filters together", func(t *testing.T) {
		var want []string
		for i, u := range all {
			if i%3 == 0 && i%4 == 0 && i%7 != 0 {
				want = append(want, u.ID)
			}
		}
		got := f.pages(5, latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationComplete, SelfServe: &yes, Locked: &no})
		if len(want) == 0 || !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("got %d users, want exactly the %d complete, self-serve, unlocked ones", len(got), len(want))
		}
		views := f.pages(100, latchkey.UserFilter{RegistrationStatus: latchkey.RegistrationComplete, Locked: &yes})
		for _, id := range views {
			u := f.get(id)
			if v := u.View(); !v.Locked || v.RegistrationStatus != latchkey.RegistrationComplete {
				t.Errorf("%s: got %+v, want locked and complete", u.Username, v)
			}
		}
	})
	t.Run("bad queries", func(t *testing.T) {
		other := dynamoCursorOf(t, f)
		for _, q := range []useradmin.ListQuery{
			{Limit: -1}, {Limit: useradmin.MaxPage + 1},
			{Cursor: "not-a-cursor"}, {Cursor: "eyJ0IjoieCJ9"}, {Cursor: other},
			{Filter: latchkey.UserFilter{RegistrationStatus: "registered"}},
		} {
			if _, err := f.svc.List(f.ctx, f.tenant.ID, q); code(err) != latchkey.EValidation {
				t.Errorf("%+v: got %v, want %s", q, err, latchkey.EValidation)
			}
		}
	})
}

// dynamoCursorOf returns a valid next cursor of another tenant's list.
func dynamoCursorOf(t *testing.T, f *fixture) string {
	t.Helper()
	tn, _, temp := newTenant(t, f.deps, "o")
	testenv.Remember(temp)
	if _, err := f.svc.Import(f.ctx, tn.ID, "test", []useradmin.NewUser{{Username: "zed", Email: "zed@" + tn.ID + ".latchkey.test"}}, false); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.List(f.ctx, tn.ID, useradmin.ListQuery{Limit: 1})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("other tenant's first page: got %+v, %v; want a cursor", page, err)
	}
	return page.NextCursor
}

// signIn signs user name in for the first time, with the temporary
// password e-mailed to them, completes the new-password challenge, and
// signs in once more with the new password.
func signIn(t *testing.T, f *fixture, name string) {
	t.Helper()
	temp := testenv.TempPassword(t, f.email(name))
	const pw = "Chosen-by-" + "them-2026"
	testenv.Remember(pw)
	res, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, name, temp)
	if err != nil || res.Session == "" {
		t.Fatalf("sign-in with the temporary password: got %+v, %v; want a challenge", res, err)
	}
	testenv.Remember(res.Session)
	done, err := f.deps.Passwords.CompleteNewPassword(f.ctx, f.tenant.ID, res.Session, pw)
	if err != nil {
		t.Fatalf("new password: %v", err)
	}
	if got := done.User.View().RegistrationStatus; got != latchkey.RegistrationAccessed {
		t.Errorf("view after the challenge: got %q, want %q", got, latchkey.RegistrationAccessed)
	}
	testenv.Remember(done.Token)
	again, err := f.deps.Passwords.SignIn(f.ctx, f.tenant.ID, name, pw)
	if err != nil || again.Token == "" {
		t.Fatalf("sign-in: got %+v, %v; want a token", again, err)
	}
	testenv.Remember(again.Token)
	if got := again.User.View().RegistrationStatus; got != latchkey.RegistrationAccessed {
		t.Errorf("view after sign-in: got %q, want %q", got, latchkey.RegistrationAccessed)
	}
}
