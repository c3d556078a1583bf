package useradmin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// pathParam matches a path parameter of a route other than the tenant.
var pathParam = regexp.MustCompile(`\{[A-Za-z]+\}`)

// Every route of the admin and users functions that needs a token, as the route table
// lists them (so a route added later is covered too, whichever package
// declares it), refuses agents, users and another tenant's admin with 403
// before it reads the body, which is {} here.
func TestEndpoints_Forbidden(t *testing.T) {
	f := newFixture(t)
	a := f.serve()
	agent, user := f.user("staffer", latchkey.RoleAgent), f.user("member", latchkey.RoleUser)
	_, otherAdmin, temp := newTenant(t, f.deps, "x")
	testenv.Remember(temp)
	target := f.user("target")
	callers := map[string]string{
		"agent": f.token(agent), "user": f.token(user), "admin of another tenant": f.token(otherAdmin),
	}
	var admin []routes.Route
	for _, fn := range []string{useradmin.FnAdmin, useradmin.FnUsers} {
		for _, r := range routes.ForFunction(catalog.Routes(), fn) {
			if !r.Public() {
				admin = append(admin, r)
			}
		}
	}
	if len(admin) < 13 {
		t.Fatalf("got %d admin routes with a token, want at least the 6 of user administration and the 7 of settings, templates and audit", len(admin))
	}
	before := f.nonAudit()
	for _, r := range admin {
		path := strings.Replace(r.Path, "{userId}", target.ID, 1)
		path = pathParam.ReplaceAllString(path, "x1")
		for who, tok := range callers {
			t.Run(r.Key()+" by "+who, func(t *testing.T) {
				got := a.do(r.Method, f.tenant.ID+path, tok, "{}")
				if got.status != http.StatusForbidden || got.errorCode() != latchkey.EForbidden {
					t.Errorf("got %s, want 403 %s", got, latchkey.EForbidden)
				}
			})
		}
		t.Run(r.Key()+" without a token", func(t *testing.T) {
			if got := a.do(r.Method, f.tenant.ID+path, "", "{}"); got.status != http.StatusUnauthorized {
				t.Errorf("got %s, want 401", got)
			}
		})
	}
	t.Run("nothing changed", func(t *testing.T) {
		after := f.nonAudit()
		if len(after) != len(before) {
			t.Errorf("items: got %d, want %d", len(after), len(before))
		}
	})
}

// The routes as a client uses them with curl: import, page, read, edit,
// switch self-serve, send and confirm a welcome.
func TestEndpoints_Journey(t *testing.T) {
	f := newFixture(t)
	a := f.serve()
	tok := f.token(f.admin)
	base := f.tenant.ID

	r := a.do("POST", base+"/users", tok, map[string]any{
		"users": []map[string]any{
			{"username": "ann", "email": f.email("ann"), "mobile": "+1 (415) 555-0199", "passwordExpiresOn": "2027-06-30", "roles": []string{"agent"}},
			{"username": "bob", "email": f.email("bob"), "permissions": []string{"billing"}},
			{"username": "ann", "email": f.email("ann2")},
		},
		"sendEmail": false,
	})
	if r.status != http.StatusOK || r.body["created"] != 2.0 || r.body["refused"] != 1.0 {
		t.Fatalf("import: got %s, want 200 with 2 created and 1 refused", r)
	}
	results, _ := r.body["results"].([]any)
	ann, _ := results[0].(map[string]any)
	dup, _ := results[2].(map[string]any)
	annID, _ := ann["userId"].(string)
	if ann["status"] != "created" || annID == "" || dup["status"] != "refused" || dup["index"] != 2.0 {
		t.Fatalf("results: got %v", results)
	}
	if e, _ := dup["error"].(map[string]any); e["code"] != latchkey.EUsernameTaken {
		t.Errorf("duplicate: got %v, want %s", dup, latchkey.EUsernameTaken)
	}
	t.Run("import limits", func(t *testing.T) {
		many := make([]map[string]string, useradmin.MaxBatch+1)
		for i := range many {
			many[i] = map[string]string{"username": fmt.Sprintf("m%d", i), "email": "m@x.io"}
		}
		if r := a.do("POST", base+"/users", tok, map[string]any{"users": many}); r.status != http.StatusBadRequest || r.errorCode() != latchkey.EValidation {
			t.Errorf("101 users: got %s, want 400 %s", r, latchkey.EValidation)
		}
		if r := a.do("POST", base+"/users", tok, `{"users":[{"username":"x1","email":"x@x.io","extra":1}]}`); r.status != http.StatusBadRequest || r.errorCode() != latchkey.EInvalidJSON {
			t.Errorf("unknown member: got %s, want 400 %s", r, latchkey.EInvalidJSON)
		}
	})

	t.Run("pages follow the cursor", func(t *testing.T) {
		var names []string
		q := "?limit=1"
		for i := 0; i < 10; i++ {
			r := a.do("GET", base+"/users"+q, tok, nil)
			if r.status != http.StatusOK {
				t.Fatalf("page: got %s", r)
			}
			users, _ := r.body["users"].([]any)
			for _, u := range users {
				names = append(names, u.(map[string]any)["username"].(string))
			}
			next, _ := r.body["nextCursor"].(string)
			if next == "" {
				break
			}
			q = "?limit=1&cursor=" + url.QueryEscape(next)
		}
		if strings.Join(names, ",") != "admin,ann,bob" {
			t.Errorf("got %v, want admin, ann, bob", names)
		}
		r := a.do("GET", base+"/users?registrationStatus=registration_complete&selfServe=false&locked=false", tok, nil)
		users, _ := r.body["users"].([]any)
		if r.status != http.StatusOK || len(users) != 1 || users[0].(map[string]any)["id"] != annID {
			t.Errorf("filtered: got %s, want ann alone", r)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "selfServe=yes", "locked=1", "registrationStatus=done", "cursor=%25%25"} {
			if r := a.do("GET", base+"/users?"+q, tok, nil); r.status != http.StatusBadRequest || r.errorCode() != latchkey.EValidation {
				t.Errorf("%s: got %s, want 400 %s", q, r, latchkey.EValidation)
			}
		}
	})
	t.Run("read and edit", func(t *testing.T) {
		r := a.do("GET", base+"/users/"+annID, tok, nil)
		want := map[string]any{
			"username": "ann", "mobile": "+14155550199", "registrationStatus": "registration_complete",
			"selfServe": false, "locked": false, "passwordExpiresOn": "2027-06-30",
		}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("%s: got %v, want %v (%s)", k, r.body[k], v, r)
			}
		}
		r = a.do("PATCH", base+"/users/"+annID, tok, `{"mobile":null,"roles":["admin"]}`)
		if r.status != http.StatusOK || r.body["mobile"] != nil || r.body["registrationStatus"] != "not_registered" {
			t.Errorf("patch: got %s, want no mobile, not_registered", r)
		}
		if r := a.do("PATCH", base+"/users/"+annID, tok, `{"passwordExpiresOn":"2027-13-01"}`); r.status != http.StatusBadRequest || !strings.Contains(r.raw, "passwordExpiresOn:") {
			t.Errorf("bad day: got %s, want 400 naming passwordExpiresOn", r)
		}
		if r := a.do("PATCH", base+"/users/"+annID, tok, `{"roles":["user"]}`); r.status != http.StatusOK {
			t.Errorf("demote one of two admins: got %s, want 200", r)
		}
		if r := a.do("PATCH", base+"/users/"+f.admin.ID, tok, `{"roles":["agent"]}`); r.status != http.StatusConflict || r.errorCode() != latchkey.ELastAdmin {
			t.Errorf("demote the last admin: got %s, want 409 %s", r, latchkey.ELastAdmin)
		}
	})
	t.Run("self-serve", func(t *testing.T) {
		r := a.do("POST", base+"/users/self-serve", tok, map[string]any{"userIds": []string{annID, "ghost"}, "enabled": true})
		if r.status != http.StatusOK || r.body["updated"] != 1.0 || r.body["refused"] != 1.0 {
			t.Errorf("got %s, want 1 updated, 1 refused", r)
		}
		if r := a.do("POST", base+"/users/self-serve", tok, map[string]any{"userIds": []string{annID}}); r.status != http.StatusBadRequest {
			t.Errorf("without enabled: got %s, want 400", r)
		}
		if r := a.do("GET", base+"/users?selfServe=true", tok, nil); !strings.Contains(r.raw, annID) || strings.Contains(r.raw, f.admin.ID) {
			t.Errorf("self-serve users: got %s, want ann only", r)
		}
	})
	t.Run("welcome", func(t *testing.T) {
		r := a.do("POST", base+"/users/"+annID+"/welcome", tok, nil)
		if r.status != http.StatusAccepted || r.body["sentTo"] != latchkey.MaskEmail(f.email("ann")) {
			t.Fatalf("send: got %s", r)
		}
		link := welcomeToken(t, f.email("ann"), map[string]bool{})
		if r := a.do("POST", base+"/welcome/"+link, "", `{"mobile":"+44 20 7946 0958"}`); r.status != http.StatusOK || r.raw != `{"status":"mobile_confirmed"}` {
			t.Errorf("confirm: got %s", r)
		}
		if r := a.do("GET", base+"/users/"+annID, tok, nil); r.body["mobile"] != "+442079460958" || r.body["registrationStatus"] != "accessed_self_serve" {
			t.Errorf("after confirm: got %s", r)
		}
	})
}
