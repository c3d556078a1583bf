package routes_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
)

// fill returns route's full path with every {param} replaced by value,
// and the parameters so filled.
func fill(r routes.Route, value string) (string, map[string]string) {
	params := map[string]string{}
	segs := strings.Split(r.FullPath(), "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			segs[i] = value
			params[name] = value
		}
	}
	return strings.Join(segs, "/"), params
}

// substitute is fill with each parameter's own value.
func substitute(r routes.Route, params map[string]string) string {
	segs := strings.Split(r.FullPath(), "/")
	for i, s := range segs {
		if name, ok := strings.CutPrefix(s, "{"); ok {
			segs[i] = params[strings.TrimSuffix(name, "}")]
		}
	}
	return strings.Join(segs, "/")
}

// FuzzMatch matches any method and path against the route table, and a
// path built from route number index of the table with every parameter
// set to value. It proves that Match never panics; that a match's
// parameters, substituted into the route's path, give the request path
// (less surrounding slashes), each one non-empty and slash-free, and that
// the route has the method and is the table's route of that key; that a
// path matched with the wrong method has another method that matches
// (405, not 404), and an unmatched path matches with no method; that a
// path built from a route with a non-empty, slash-free value is always
// found with that route's method; and that any parameter holding "..",
// NUL, "%", a backslash or a space is refused by httpapi.ValidPathParam,
// which httpapi.Server applies to every match before a handler runs.
func FuzzMatch(f *testing.F) {
	table := catalog.Routes()
	for i, r := range table {
		p, _ := fill(r, "demo")
		f.Add(r.Method, p, uint(i), "u-1")
	}
	f.Add("GET", "/v1/tenants/demo/users/../lock", uint(0), "..")
	f.Add("POST", "/v1/tenants/de\x00mo/sessions", uint(1), "a\x00b")
	f.Add("PATCH", "//v1/tenants/demo/users//", uint(2), "%2e%2e")
	f.Add("DELETE", "/v1/tenants/demo/", uint(3), "")
	methods := map[string]bool{}
	for _, r := range table {
		methods[r.Method] = true
	}
	f.Fuzz(func(t *testing.T, method, path string, index uint, value string) {
		r, params, ok, methodOK := routes.Match(table, method, path)
		switch {
		case ok && methodOK:
			if r.Method != method {
				t.Errorf("%s %q: got route %s, want one of that method", method, path, r.Key())
			}
			if got, want := substitute(r, params), "/"+strings.Trim(path, "/"); got != want {
				t.Errorf("%s %q: params %v in %s give %q, want %q", method, path, params, r.FullPath(), got, want)
			}
			if _, want := fill(r, "x"); len(params) != len(want) {
				t.Errorf("%s %q: got params %v, want the %d of %s", method, path, params, len(want), r.FullPath())
			}
			for name, v := range params {
				if v == "" || strings.Contains(v, "/") {
					t.Errorf("%s %q: param %s=%q, want non-empty and without /", method, path, name, v)
				}
				bad := strings.Contains(v, "..") || strings.ContainsAny(v, "\x00%\\ \t\r\n")
				if bad && httpapi.ValidPathParam(name, v) {
					t.Errorf("%s %q: ValidPathParam(%s, %q) is true, want .., NUL, %%, backslash and space refused", method, path, name, v)
				}
			}
			if k, found := routes.ByKey(table, r.Key()); !found || k.Function != r.Function {
				t.Errorf("ByKey(%s): got %v, %v, want the matched route", r.Key(), k, found)
			}
		case ok:
			other := false
			for m := range methods {
				if _, _, found, mOK := routes.Match(table, m, path); !found {
					t.Errorf("%q: found with %s, not found with %s, want the same path found", path, method, m)
				} else if mOK {
					other = true
				}
			}
			if !other {
				t.Errorf("%s %q: method not allowed, want another method allowed (405 means the path exists)", method, path)
			}
		default:
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				if _, _, found, _ := routes.Match(table, m, path); found {
					t.Errorf("%q: not found with %s, found with %s, want the same", path, method, m)
				}
			}
		}

		want := table[index%uint(len(table))]
		built, _ := fill(want, value)
		if value == "" || strings.Contains(value, "/") {
			return
		}
		got, params, ok, methodOK := routes.Match(table, want.Method, built)
		if !ok || !methodOK {
			t.Fatalf("%s %q (from %s): got found=%v methodOK=%v, want the route found", want.Method, built, want.Key(), ok, methodOK)
		}
		if substitute(got, params) != built {
			t.Errorf("%s %q: matched %s with %v, want the path given back", want.Method, built, got.Key(), params)
		}
	})
}
