package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/useradmin"
)

// maxMessageBytes bounds a decoding error's message: it names at most a
// member (cut to 64 bytes) and its JSON pointer (cut to 128), never the body.
const maxMessageBytes = 400

// decodeTarget is one shape a route decodes its body into.
type decodeTarget struct {
	name string
	new  func() any
	// roundTrip is set when the type has no UnmarshalJSON of its own, so
	// that json.Marshal of a decoded value is a body Decode must accept and
	// decode to the same value.
	roundTrip bool
}

// decodeTargets are the request bodies of the routes (shared/*/http.go):
// the exported types themselves, and copies of the anonymous structs the
// handlers declare inline, plus the test's form, which has every shape
// Decode handles.
var decodeTargets = []decodeTarget{
	{"form", func() any { return new(form) }, true},
	{"empty", func() any { return new(struct{}) }, true},
	{"settings", func() any { return new(latchkey.Settings) }, true},
	{"sign-in", func() any {
		return new(struct {
			Username string `json:"username"`
			Password string `json:"password"`
			PIN      string `json:"pin"`
		})
	}, true},
	{"new-password", func() any {
		return new(struct {
			Session     string `json:"session"`
			NewPassword string `json:"newPassword"`
		})
	}, true},
	{"pin-signup", func() any {
		return new(struct {
			PINCode  string `json:"pinCode"`
			Email    string `json:"email"`
			Username string `json:"username"`
		})
	}, true},
	{"account", func() any {
		return new(struct {
			Name     string             `json:"name"`
			Contacts []latchkey.Contact `json:"contacts"`
		})
	}, true},
	{"import", func() any {
		return new(struct {
			Users     []useradmin.NewUser `json:"users"`
			SendEmail *bool               `json:"sendEmail"`
		})
	}, true},
	{"self-serve", func() any {
		return new(struct {
			UserIDs []string `json:"userIds"`
			Enabled *bool    `json:"enabled"`
		})
	}, true},
	{"user-patch", func() any {
		return new(struct {
			Email             useradmin.Field[string]          `json:"email"`
			Mobile            useradmin.Field[string]          `json:"mobile"`
			PasswordExpiresOn useradmin.Field[string]          `json:"passwordExpiresOn"`
			Roles             useradmin.Field[[]latchkey.Role] `json:"roles"`
			Permissions       useradmin.Field[[]string]        `json:"permissions"`
		})
	}, false},
	{"template", func() any {
		return new(struct {
			Subject string `json:"subject"`
			Text    string `json:"text"`
			HTML    string `json:"html"`
			SMS     string `json:"sms"`
		})
	}, true},
}

// checkDecodeError fails unless err is Decode's coded refusal:
// EInvalidJSON (never an internal error) with a short, valid UTF-8 message.
func checkDecodeError(t *testing.T, target string, err error) {
	t.Helper()
	var e *latchkey.Error
	if !errors.As(err, &e) || latchkey.ErrorCode(err) == latchkey.EInternal {
		t.Fatalf("%s: got %v, want a coded *latchkey.Error", target, err)
	}
	if e.Code != latchkey.EInvalidJSON {
		t.Errorf("%s: code got %q, want %q", target, e.Code, latchkey.EInvalidJSON)
	}
	if e.Message == "" || !utf8.ValidString(e.Message) || len(e.Message) > maxMessageBytes {
		t.Errorf("%s: message got %q (%d bytes), want non-empty valid UTF-8 of at most %d bytes", target, e.Message, len(e.Message), maxMessageBytes)
	}
}

// FuzzRequest_Decode feeds any body to Decode for every body shape of the
// routes. It proves that Decode never panics, refuses only with a coded
// EInvalidJSON error with a short message, accepts only blank or valid
// UTF-8 JSON, and that an accepted value, encoded again, is accepted again
// and decodes to the same value.
func FuzzRequest_Decode(f *testing.F) {
	for _, b := range sampleBodies(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"username":"ann","count":"4","contacts":[{"id":"c1","email":"a@example.com"}],"manager":{"id":"m"},"labels":{"k":"v"},"extra":[1,{"b":null}],"Plain":"p","note":"n"}`))
	f.Add([]byte(`{"email":null,"mobile":"+447911123456","roles":["admin"]}`))
	f.Add([]byte(`{"username":"\ud83d\ude00"} `))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range decodeTargets {
			v := target.new()
			err := (&httpapi.Request{Body: body}).Decode(v)
			if err != nil {
				checkDecodeError(t, target.name, err)
				continue
			}
			if blank := len(bytes.TrimSpace(body)) == 0; !blank && (!json.Valid(body) || !utf8.Valid(body)) {
				t.Fatalf("%s: accepted %q, want only blank or valid UTF-8 JSON accepted", target.name, body)
			}
			if !target.roundTrip {
				continue
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s: marshal %#v: %v", target.name, v, err)
			}
			w := target.new()
			if err := (&httpapi.Request{Body: again}).Decode(w); err != nil {
				t.Fatalf("%s: body %q accepted, its re-encoding %s refused: %v", target.name, body, again, err)
			}
			if !reflect.DeepEqual(v, w) {
				t.Fatalf("%s: body %q decoded to %#v, its re-encoding %s to %#v, want equal", target.name, body, v, again, w)
			}
		}
	})
}

// sampleBodies returns the bodies of the sample events in events/, the
// real requests of every route.
func sampleBodies(tb testing.TB) [][]byte {
	tb.Helper()
	paths, err := filepath.Glob("../../events/*.json")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("sample events: got %d files, %v, want some", len(paths), err)
	}
	var out [][]byte
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var ev struct {
			Body string `json:"body"`
		}
		if json.Unmarshal(raw, &ev) == nil && ev.Body != "" {
			out = append(out, []byte(ev.Body))
		}
	}
	return out
}

// FuzzServer_Handle sends events with any method, path, route key, body
// and base64 flag to a server whose handlers decode the body (as every
// route's handler does). It proves that Handle never panics and never
// answers 5xx to what a client sends, that every answer has X-Request-Id
// and a JSON body, every error answer is {"error":{"code","message"}} with
// a known code and its status, and that a handler only ever sees path
// parameters that ValidPathParam accepts: a path holding "..", NUL, "%",
// a backslash or a space never reaches one.
func FuzzServer_Handle(f *testing.F) {
	f.Add("POST", "/v1/tenants/demo/sessions", false, true, `{"username":"ann","password":"pw"}`)
	f.Add("POST", "/v1/tenants/demo/users/u1/lock", false, false, "")
	f.Add("POST", "/v1/tenants/demo/users/../lock", false, false, "")
	f.Add("POST", "/v1/tenants/demo/users/u%001/lock", true, true, "")
	f.Add("GET", "/v1/tenants/demo/sessions", false, false, "e30=")
	f.Add("POST", "//v1/tenants/demo//sessions/", true, false, "e30=")
	for _, b := range sampleBodies(f) {
		f.Add("POST", "/v1/tenants/demo/sessions", false, true, string(b))
	}
	var reached *httpapi.Request
	h := func(_ context.Context, r *httpapi.Request) (httpapi.Response, error) {
		reached = r
		var v form
		if err := r.Decode(&v); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Status: http.StatusOK, Body: v}, nil
	}
	srv, err := httpapi.NewServer("fn", []httpapi.Endpoint{
		{Route: signInRoute, Handle: h}, {Route: lockRoute, Handle: h},
	}, &fakeAuth{}, httpapi.NewLogger(io.Discard, 0))
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range latchkey.Codes() {
		known[c] = true
	}
	f.Fuzz(func(t *testing.T, method, path string, base64Body, byKey bool, body string) {
		ev := defaultEvent(method, path, body)
		if byKey {
			// Behind a route of its own, API Gateway sends the key and
			// the parameters it matched (made here with routes.Match).
			if r, params, ok, _ := routes.Match([]routes.Route{signInRoute, lockRoute}, method, path); ok {
				ev.RouteKey, ev.PathParameters = r.Key(), params
			}
		}
		if base64Body {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
			if len(body)%3 == 1 {
				ev.Body = body // not base64, most of the time
			}
		}
		reached = nil
		res, err := srv.Handle(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handle: got error %v, want nil (errors are responses)", err)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: got status %d (%s), want no 5xx", method, path, res.StatusCode, res.Body)
		}
		if res.Headers["X-Request-Id"] == "" {
			t.Errorf("X-Request-Id: got none, want one on every answer")
		}
		if !json.Valid([]byte(res.Body)) {
			t.Fatalf("body: got %q, want JSON", res.Body)
		}
		if res.StatusCode >= 300 {
			var e errorBody
			if err := json.Unmarshal([]byte(res.Body), &e); err != nil || !known[e.Error.Code] || e.Error.Message == "" {
				t.Fatalf("error answer: got %s, want {\"error\":{\"code\":<known>,\"message\":…}}", res.Body)
			}
			if got := latchkey.StatusOf(e.Error.Code); got != res.StatusCode {
				t.Errorf("status: got %d, want %d, the status of %q", res.StatusCode, got, e.Error.Code)
			}
		}
		if reached == nil {
			return
		}
		for name, v := range reached.Params {
			if !httpapi.ValidPathParam(name, v) {
				t.Fatalf("handler got path parameter %s=%q, want only ones ValidPathParam accepts", name, v)
			}
			if strings.Contains(v, "..") || strings.ContainsAny(v, "\x00%\\ /") {
				t.Fatalf("handler got path parameter %s=%q, want no .., NUL, %%, backslash, space or slash", name, v)
			}
		}
		if reached.Tenant == "" || reached.Tenant != reached.Params["tenant"] {
			t.Errorf("handler got tenant %q, params %v, want the {tenant} parameter", reached.Tenant, reached.Params)
		}
	})
}
