package routes_test

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// specPath is api/openapi.yaml, relative to this package's directory.
const specPath = "../../api/openapi.yaml"

// spec is the part of an OpenAPI document the tests read.
type spec struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type         string `yaml:"type"`
			Scheme       string `yaml:"scheme"`
			BearerFormat string `yaml:"bearerFormat"`
		} `yaml:"securitySchemes"`
		Responses map[string]map[string]any `yaml:"responses"`
		Schemas   map[string]any            `yaml:"schemas"`
	} `yaml:"components"`
}

// operation is one operation of the document. Pointers tell a missing key
// from an empty list.
type operation struct {
	OperationID string                    `yaml:"operationId"`
	Summary     string                    `yaml:"summary"`
	Tags        []string                  `yaml:"tags"`
	Security    *[]map[string][]string    `yaml:"security"`
	Roles       *[]string                 `yaml:"x-latchkey-roles"`
	Function    *string                   `yaml:"x-latchkey-function"`
	Responses   map[string]map[string]any `yaml:"responses"`
}

// methods are the path-item keys that are operations.
var methods = map[string]string{
	"get": http.MethodGet, "put": http.MethodPut, "post": http.MethodPost, "delete": http.MethodDelete,
	"options": http.MethodOptions, "head": http.MethodHead, "patch": http.MethodPatch, "trace": http.MethodTrace,
}

func loadSpec(t *testing.T) (*spec, map[string]operation) {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatalf("read %s: %v", specPath, err)
	}
	var s spec
	if err := yaml.Unmarshal(raw, &s); err != nil {
		t.Fatalf("parse %s: %v", specPath, err)
	}
	ops := map[string]operation{} // by route key, "METHOD /path"
	for path, item := range s.Paths {
		for k, node := range item {
			m, ok := methods[k]
			if !ok {
				continue // parameters, summary, description, ...
			}
			var op operation
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", k, path, err)
			}
			ops[m+" "+path] = op
		}
	}
	return &s, ops
}

// resolve follows a local "#/components/responses/X" reference.
func (s *spec) resolve(t *testing.T, r map[string]any) map[string]any {
	t.Helper()
	ref, ok := r["$ref"].(string)
	if !ok {
		return r
	}
	name, ok := strings.CutPrefix(ref, "#/components/responses/")
	if !ok {
		t.Fatalf("unsupported $ref %q", ref)
	}
	out, ok := s.Components.Responses[name]
	if !ok {
		t.Fatalf("$ref %q: no such response", ref)
	}
	return out
}

// errorCodes returns every value of a "code" property's enum or const in a
// response, following the allOf layering used for error responses.
func errorCodes(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if code, ok := x["code"].(map[string]any); ok {
			if enum, ok := code["enum"].([]any); ok {
				for _, e := range enum {
					out = append(out, fmt.Sprint(e))
				}
			}
			if c, ok := code["const"]; ok {
				out = append(out, fmt.Sprint(c))
			}
		}
		for k, child := range x {
			if k == "example" || k == "examples" {
				continue
			}
			out = append(out, errorCodes(child)...)
		}
	case []any:
		for _, child := range x {
			out = append(out, errorCodes(child)...)
		}
	}
	return out
}

func roleStrings(rs []latchkey.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPI_MatchesRoutes(t *testing.T) {
	s, ops := loadSpec(t)

	t.Run("version is 3.1", func(t *testing.T) {
		if !strings.HasPrefix(s.OpenAPI, "3.1") {
			t.Errorf("openapi: got %q, want 3.1.x", s.OpenAPI)
		}
	})
	t.Run("bearerAuth is a JWT bearer scheme", func(t *testing.T) {
		b, ok := s.Components.SecuritySchemes["bearerAuth"]
		if !ok || b.Type != "http" || b.Scheme != "bearer" || b.BearerFormat != "JWT" {
			t.Errorf("bearerAuth: got %+v (present %v), want http bearer JWT", b, ok)
		}
	})

	for _, r := range catalog.Routes() {
		t.Run(r.Key(), func(t *testing.T) {
			op, ok := ops[r.Key()]
			if !ok {
				t.Fatalf("got no operation for %s %s, want one", strings.ToLower(r.Method), r.FullPath())
			}
			if op.Function == nil || *op.Function != r.Function {
				t.Errorf("x-latchkey-function: got %v, want %q", deref(op.Function), r.Function)
			}
			if op.Roles == nil {
				t.Errorf("x-latchkey-roles: got none, want %v (an empty list for public routes)", r.Roles)
			} else if got, want := sorted(*op.Roles), roleStrings(r.Roles); !slices.Equal(got, want) {
				t.Errorf("x-latchkey-roles: got %v, want %v", got, want)
			}
			if op.Summary != r.Summary {
				t.Errorf("summary: got %q, want %q (the route table's Summary)", op.Summary, r.Summary)
			}
			if op.OperationID == "" || len(op.Tags) == 0 {
				t.Errorf("operationId %q, tags %v: want both set", op.OperationID, op.Tags)
			}
			switch {
			case op.Security == nil:
				t.Errorf("security: got none, want %s", map[bool]string{true: "[] (public)", false: "[{bearerAuth: []}]"}[r.Public()])
			case r.Public() && len(*op.Security) != 0:
				t.Errorf("security of a public route: got %v, want []", *op.Security)
			case !r.Public() && !hasScheme(*op.Security, "bearerAuth"):
				t.Errorf("security of a route for %v: got %v, want bearerAuth", r.Roles, *op.Security)
			}
		})
	}

	t.Run("every operation is a route", func(t *testing.T) {
		ids := map[string]string{}
		for k, op := range ops {
			if _, ok := routes.ByKey(catalog.Routes(), k); !ok {
				t.Errorf("operation %s: got no route with that key, want one (document only routes of the route table)", k)
			}
			if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %q: used by %s and %s, want unique", op.OperationID, prev, k)
			}
			ids[op.OperationID] = k
		}
	})

	t.Run("responses", func(t *testing.T) {
		for k, op := range ops {
			if len(op.Responses) == 0 {
				t.Errorf("%s: got no responses", k)
			}
			for status, raw := range op.Responses {
				res := s.resolve(t, raw)
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("%s %s: got a status that is not a number, want every status listed", k, status)
					continue
				}
				headers, _ := res["headers"].(map[string]any)
				if _, ok := headers["X-Request-Id"]; !ok {
					t.Errorf("%s %s: got no X-Request-Id header, want one on every response", k, status)
				}
				_, retry := headers["Retry-After"]
				if code == http.StatusTooManyRequests && !retry {
					t.Errorf("%s %s: got no Retry-After header, want one", k, status)
				}
				if code == http.StatusLocked && retry {
					t.Errorf("%s %s: got a Retry-After header, want none (every lock answers alike)", k, status)
				}
				_, hasBody := res["content"]
				if code == http.StatusNoContent && hasBody {
					t.Errorf("%s %s: got content, want none", k, status)
				}
				if code < 400 {
					continue
				}
				codes := errorCodes(res)
				if len(codes) == 0 {
					t.Errorf("%s %s: got no error codes, want the codes this status carries", k, status)
				}
				for _, c := range codes {
					if got := latchkey.StatusOf(c); got != code {
						t.Errorf("%s %s: code %q has status %d in shared/latchkey, want %d", k, status, c, got, code)
					}
				}
			}
		}
	})

	t.Run("the Error schema lists every code", func(t *testing.T) {
		got := sorted(errorCodes(s.Components.Schemas["Error"]))
		want := sorted(latchkey.Codes())
		if !slices.Equal(got, want) {
			t.Errorf("Error.code enum: got %v, want %v", got, want)
		}
	})
}

func deref(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func hasScheme(sec []map[string][]string, name string) bool {
	for _, req := range sec {
		if _, ok := req[name]; ok {
			return true
		}
	}
	return false
}

func TestRoutes_Validate(t *testing.T) {
	if err := catalog.Validate(); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
}

func TestRoutes_Match(t *testing.T) {
	for _, tt := range []struct {
		name         string
		method, path string
		wantKey      string
		wantParams   map[string]string
		wantOK       bool
		wantMethodOK bool
	}{
		{
			name: "public route", method: "POST", path: "/v1/tenants/demo/sessions",
			wantKey: "POST /v1/tenants/{tenant}/sessions", wantParams: map[string]string{"tenant": "demo"},
			wantOK: true, wantMethodOK: true,
		},
		{
			name: "path parameters", method: "POST", path: "/v1/tenants/acme/users/u-123/lock",
			wantKey: "POST /v1/tenants/{tenant}/users/{userId}/lock", wantParams: map[string]string{"tenant": "acme", "userId": "u-123"},
			wantOK: true, wantMethodOK: true,
		},
		{
			name: "trailing slash", method: "PUT", path: "/v1/tenants/demo/me/password/",
			wantKey: "PUT /v1/tenants/{tenant}/me/password", wantParams: map[string]string{"tenant": "demo"},
			wantOK: true, wantMethodOK: true,
		},
		{name: "wrong method", method: "GET", path: "/v1/tenants/demo/users/u-123/unlock", wantOK: true, wantMethodOK: false},
		{name: "unknown path", method: "POST", path: "/v1/tenants/demo/nothing-here"},
		{name: "empty parameter", method: "POST", path: "/v1/tenants/demo/users//lock"},
		{name: "too short", method: "POST", path: "/v1/tenants/demo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, params, ok, methodOK := routes.Match(catalog.Routes(), tt.method, tt.path)
			if ok != tt.wantOK || methodOK != tt.wantMethodOK {
				t.Fatalf("ok, methodOK: got %v, %v, want %v, %v", ok, methodOK, tt.wantOK, tt.wantMethodOK)
			}
			if !methodOK {
				if r.Method != "" || params != nil {
					t.Errorf("got route %q and params %v, want the zero route and nil", r.Key(), params)
				}
				return
			}
			if r.Key() != tt.wantKey {
				t.Errorf("route: got %q, want %q", r.Key(), tt.wantKey)
			}
			if fmt.Sprint(params) != fmt.Sprint(tt.wantParams) {
				t.Errorf("params: got %v, want %v", params, tt.wantParams)
			}
		})
	}

	t.Run("every route matches its own path", func(t *testing.T) {
		for _, want := range catalog.Routes() {
			path := strings.NewReplacer("{tenant}", "demo", "{userId}", "u1").Replace(want.FullPath())
			got, _, ok, methodOK := routes.Match(catalog.Routes(), want.Method, path)
			if !ok || !methodOK || got.Key() != want.Key() {
				t.Errorf("%s %s: got %q (ok %v, methodOK %v), want %q", want.Method, path, got.Key(), ok, methodOK, want.Key())
			}
		}
	})
}

func TestRoute_Allows(t *testing.T) {
	byKey := func(key string) routes.Route {
		t.Helper()
		r, ok := routes.ByKey(catalog.Routes(), key)
		if !ok {
			t.Fatalf("no route %q", key)
		}
		return r
	}
	lock := byKey("POST /v1/tenants/{tenant}/users/{userId}/lock")
	reset := byKey("POST /v1/tenants/{tenant}/users/{userId}/password-reset")
	own := byKey("PUT /v1/tenants/{tenant}/me/password")
	signIn := byKey("POST /v1/tenants/{tenant}/sessions")
	for _, tt := range []struct {
		name  string
		route routes.Route
		roles []latchkey.Role
		want  bool
	}{
		{"admin may lock", lock, []latchkey.Role{latchkey.RoleAdmin}, true},
		{"agent may lock", lock, []latchkey.Role{latchkey.RoleAgent}, true},
		{"user may not lock", lock, []latchkey.Role{latchkey.RoleUser}, false},
		{"no roles may not lock", lock, nil, false},
		{"agent may reset", reset, []latchkey.Role{latchkey.RoleAgent}, true},
		{"one allowed role among others is enough", reset, []latchkey.Role{latchkey.RoleUser, latchkey.RoleAdmin}, true},
		{"user may change own password", own, []latchkey.Role{latchkey.RoleUser}, true},
		{"unknown role is refused", own, []latchkey.Role{"root"}, false},
		// Public routes need no token: Allows is not asked for them, and it
		// answers false because no role is listed.
		{"public route lists no role", signIn, []latchkey.Role{latchkey.RoleAdmin}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.route.Allows(tt.roles); got != tt.want {
				t.Errorf("Allows(%v) on %s: got %v, want %v", tt.roles, tt.route.Key(), got, tt.want)
			}
		})
	}
	t.Run("public route", func(t *testing.T) {
		if !signIn.Public() || lock.Public() {
			t.Errorf("Public: got sign-in %v, lock %v, want true, false", signIn.Public(), lock.Public())
		}
	})
}
