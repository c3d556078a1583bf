package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// Two routes of function "fn": one public, one that needs a token.
var (
	signInRoute = routes.Route{Method: "POST", Path: "/sessions", Function: "fn"}
	lockRoute   = routes.Route{Method: "POST", Path: "/users/{userId}/lock", Function: "fn", Roles: routes.Staff}
	signInKey   = signInRoute.Key()
	lockKey     = lockRoute.Key()
)

// fakeAuth accepts every bearer token as an admin of the tenant and counts
// its calls.
type fakeAuth struct{ calls int }

func (a *fakeAuth) Authenticate(_ context.Context, tenant, _ string) (*httpapi.Caller, error) {
	a.calls++
	return &httpapi.Caller{User: &latchkey.User{TenantID: tenant, ID: "admin1", Roles: []latchkey.Role{latchkey.RoleAdmin}}}, nil
}

// fixture is a Server with fake handlers for signInKey and lockKey, a fake
// Authenticator and a log buffer.
type fixture struct {
	srv   *httpapi.Server
	auth  *fakeAuth
	logs  *bytes.Buffer
	calls int // handler calls
	got   *httpapi.Request
	// res and err are what the handlers return.
	res httpapi.Response
	err error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{auth: &fakeAuth{}, logs: &bytes.Buffer{}, res: httpapi.Response{Body: map[string]string{"ok": "yes"}}}
	h := func(_ context.Context, r *httpapi.Request) (httpapi.Response, error) {
		f.calls++
		f.got = r
		return f.res, f.err
	}
	srv, err := httpapi.NewServer("fn", []httpapi.Endpoint{
		{Route: signInRoute, Handle: h}, {Route: lockRoute, Handle: h},
		{Route: routes.Route{Method: "GET", Path: "/elsewhere", Function: "other"}, Handle: h},
	}, f.auth, httpapi.NewLogger(f.logs, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	return f
}

func (f *fixture) handle(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	res, err := f.srv.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handle: got error %v, want nil (errors are responses)", err)
	}
	return res
}

// event returns a payload-2.0 event for a route key, as API Gateway sends it
// behind a route of that key.
func event(key, path string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	method, _, _ := strings.Cut(key, " ")
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: key, RawPath: path, PathParameters: params, Body: body,
		Headers: map[string]string{"content-type": "application/json", "authorization": "Bearer t0ken"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-123", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "192.0.2.1"},
		},
	}
}

// defaultEvent returns the event of a request behind a catch-all route.
func defaultEvent(method, path, body string) events.APIGatewayV2HTTPRequest {
	ev := event("$default", path, nil, body)
	ev.RequestContext.HTTP.Method = method
	return ev
}

func signIn(body string) events.APIGatewayV2HTTPRequest {
	return event(signInKey, "/v1/tenants/demo/sessions", map[string]string{"tenant": "demo"}, body)
}

func lock(tenant, userID string) events.APIGatewayV2HTTPRequest {
	return event(lockKey, "/v1/tenants/"+tenant+"/users/"+userID+"/lock", map[string]string{"tenant": tenant, "userId": userID}, "")
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// errorOf parses a coded error response and checks its status.
func errorOf(t *testing.T, res events.APIGatewayV2HTTPResponse, status int) errorBody {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("status: got %d, want %d (body %s)", res.StatusCode, status, res.Body)
	}
	var e errorBody
	if err := json.Unmarshal([]byte(res.Body), &e); err != nil {
		t.Fatalf("error body %q: %v", res.Body, err)
	}
	return e
}

func TestServer_Handle_MasksInternalErrors(t *testing.T) {
	f := newFixture(t)
	f.err = fmt.Errorf("query users: %w", errors.New("secret detail"))
	res := f.handle(t, signIn(`{}`))
	e := errorOf(t, res, http.StatusInternalServerError)
	if e.Error.Code != latchkey.EInternal {
		t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.EInternal)
	}
	if e.Error.Message != "An internal error occurred." {
		t.Errorf("message: got %q, want the generic message", e.Error.Message)
	}
	if strings.Contains(res.Body, "secret") || strings.Contains(res.Body, "query users") {
		t.Errorf("body: got %s, want no detail of the error", res.Body)
	}
	for k, v := range res.Headers {
		if strings.Contains(v, "secret") {
			t.Errorf("header %s: got %q, want no detail of the error", k, v)
		}
	}
	if !strings.Contains(f.logs.String(), "secret detail") {
		t.Errorf("logs: got %s, want the detail logged", f.logs)
	}
}

func TestServer_Handle_CodedErrors(t *testing.T) {
	f := newFixture(t)
	f.err = fmt.Errorf("lock: %w", latchkey.Errorf(latchkey.EConflict, "Already locked."))
	e := errorOf(t, f.handle(t, lock("demo", "u1")), http.StatusConflict)
	if e.Error.Code != latchkey.EConflict || e.Error.Message != "Already locked." {
		t.Errorf("got %+v, want the coded error", e.Error)
	}
}

func TestServer_Handle_BodyLimit(t *testing.T) {
	b64 := func(n int) events.APIGatewayV2HTTPRequest {
		ev := signIn(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte(" "), n)))
		ev.IsBase64Encoded = true
		return ev
	}
	tests := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"plain at the limit", signIn(strings.Repeat(" ", httpapi.MaxBodyBytes)), http.StatusOK, ""},
		{"plain over the limit", signIn(strings.Repeat(" ", httpapi.MaxBodyBytes+1)), http.StatusRequestEntityTooLarge, latchkey.EBodyTooLarge},
		{"plain far over the limit", signIn(strings.Repeat(" ", 10*httpapi.MaxBodyBytes)), http.StatusRequestEntityTooLarge, latchkey.EBodyTooLarge},
		{"base64 at the limit", b64(httpapi.MaxBodyBytes), http.StatusOK, ""},
		{"base64 over the limit", b64(httpapi.MaxBodyBytes + 1), http.StatusRequestEntityTooLarge, latchkey.EBodyTooLarge},
		{"base64 far over the limit", b64(10 * httpapi.MaxBodyBytes), http.StatusRequestEntityTooLarge, latchkey.EBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.handle(t, tt.ev)
			if tt.code == "" {
				if res.StatusCode != tt.status || f.calls != 1 {
					t.Errorf("got status %d and %d handler calls, want %d and 1", res.StatusCode, f.calls, tt.status)
				}
				return
			}
			if e := errorOf(t, res, tt.status); e.Error.Code != tt.code {
				t.Errorf("code: got %q, want %q", e.Error.Code, tt.code)
			}
			if f.calls != 0 {
				t.Errorf("handler calls: got %d, want 0", f.calls)
			}
		})
	}
}

func TestServer_Handle_Base64Body(t *testing.T) {
	t.Run("decoded", func(t *testing.T) {
		f := newFixture(t)
		ev := signIn(base64.StdEncoding.EncodeToString([]byte(`{"username":"ann"}`)))
		ev.IsBase64Encoded = true
		f.handle(t, ev)
		if f.got == nil {
			t.Fatal("handler not called")
		}
		if got, want := string(f.got.Body), `{"username":"ann"}`; got != want {
			t.Errorf("body: got %q, want %q", got, want)
		}
	})
	t.Run("invalid base64", func(t *testing.T) {
		f := newFixture(t)
		ev := signIn("not base64!")
		ev.IsBase64Encoded = true
		if e := errorOf(t, f.handle(t, ev), http.StatusBadRequest); e.Error.Code != latchkey.EBadRequest {
			t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.EBadRequest)
		}
		if f.calls != 0 {
			t.Errorf("handler calls: got %d, want 0", f.calls)
		}
	})
}

func TestServer_Handle_DefaultRoute(t *testing.T) {
	t.Run("unknown path", func(t *testing.T) {
		f := newFixture(t)
		e := errorOf(t, f.handle(t, defaultEvent("GET", "/v1/tenants/demo/nothing-here", "")), http.StatusNotFound)
		if e.Error.Code != latchkey.ERouteNotFound {
			t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.ERouteNotFound)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		f := newFixture(t)
		e := errorOf(t, f.handle(t, defaultEvent("DELETE", "/v1/tenants/demo/sessions", "")), http.StatusMethodNotAllowed)
		if e.Error.Code != latchkey.EMethodNotAllowed {
			t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.EMethodNotAllowed)
		}
	})
	t.Run("route of another function", func(t *testing.T) {
		f := newFixture(t)
		e := errorOf(t, f.handle(t, defaultEvent("POST", "/v1/tenants/demo/signups", "")), http.StatusNotFound)
		if e.Error.Code != latchkey.ERouteNotFound {
			t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.ERouteNotFound)
		}
	})
	t.Run("known route", func(t *testing.T) {
		f := newFixture(t)
		res := f.handle(t, defaultEvent("POST", "/v1/tenants/acme/users/u-123/lock", ""))
		if res.StatusCode != http.StatusOK || f.got == nil {
			t.Fatalf("got status %d, handler called: %v; want 200 and a call", res.StatusCode, f.got != nil)
		}
		if f.got.Route.Key() != lockKey || f.got.Tenant != "acme" || f.got.Params["userId"] != "u-123" {
			t.Errorf("got route %q, tenant %q, params %v; want %q, acme, userId u-123", f.got.Route.Key(), f.got.Tenant, f.got.Params, lockKey)
		}
	})
}

func TestServer_Handle_RequestID(t *testing.T) {
	tests := []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"success", signIn(`{}`)},
		{"route not found", defaultEvent("GET", "/nowhere", "")},
		{"method not allowed", defaultEvent("PUT", "/v1/tenants/demo/sessions", "")},
		{"body too large", signIn(strings.Repeat(" ", httpapi.MaxBodyBytes+1))},
		{"bad tenant", lock(strings.Repeat("a", 3000), "u1")},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/from the event", func(t *testing.T) {
			res := newFixture(t).handle(t, tt.ev)
			if got := res.Headers["X-Request-Id"]; got != "req-123" {
				t.Errorf("X-Request-Id: got %q, want the event's %q", got, "req-123")
			}
		})
		t.Run(tt.name+"/generated", func(t *testing.T) {
			ev := tt.ev
			ev.RequestContext.RequestID = ""
			f := newFixture(t)
			a, b := f.handle(t, ev).Headers["X-Request-Id"], f.handle(t, ev).Headers["X-Request-Id"]
			if a == "" || a == b {
				t.Errorf("X-Request-Id: got %q then %q, want two different generated ids", a, b)
			}
			if !strings.Contains(f.logs.String(), a) {
				t.Errorf("logs: got %s, want the request id %q", f.logs, a)
			}
		})
	}
}

func TestServer_Handle_Headers(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *fixture)
		ev     events.APIGatewayV2HTTPRequest
		status int
	}{
		{"success", nil, signIn(`{}`), http.StatusOK},
		{"success without body", func(f *fixture) { f.res = httpapi.Response{Status: http.StatusNoContent} }, lock("demo", "u1"), http.StatusNoContent},
		{"coded error", func(f *fixture) { f.err = latchkey.Errorf(latchkey.EAccountLocked, "Locked.") }, signIn(`{}`), http.StatusLocked},
		{"internal error", func(f *fixture) { f.err = errors.New("boom") }, signIn(`{}`), http.StatusInternalServerError},
		{"unencodable response", func(f *fixture) { f.res = httpapi.Response{Body: func() {}} }, signIn(`{}`), http.StatusInternalServerError},
		{"route not found", nil, defaultEvent("GET", "/v1/tenants/demo/nope", ""), http.StatusNotFound},
		{"method not allowed", nil, defaultEvent("GET", "/v1/tenants/demo/sessions", ""), http.StatusMethodNotAllowed},
		{"body too large", nil, signIn(strings.Repeat(" ", httpapi.MaxBodyBytes+1)), http.StatusRequestEntityTooLarge},
		{"bad path parameter", nil, lock("demo", "u.1"), http.StatusNotFound},
		{"no token", nil, func() events.APIGatewayV2HTTPRequest {
			ev := lock("demo", "u1")
			delete(ev.Headers, "authorization")
			return ev
		}(), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			res := f.handle(t, tt.ev)
			if res.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d", res.StatusCode, tt.status)
			}
			want := map[string]string{
				"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
				"X-Content-Type-Options":    "nosniff",
				"Cache-Control":             "no-store",
				"X-Request-Id":              "req-123",
			}
			if res.Body != "" {
				want["Content-Type"] = "application/json"
			}
			for k, v := range want {
				if got := res.Headers[k]; got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestServer_Handle_PathParams(t *testing.T) {
	long := strings.Repeat("a", 3000)
	tests := []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"3000-character tenant", lock(long, "u1")},
		{"3000-character tenant on a public route", event(signInKey, "/v1/tenants/"+long+"/sessions", map[string]string{"tenant": long}, "")},
		{"3000-character userId", lock("demo", long)},
		{"3000-character tenant behind $default", defaultEvent("POST", "/v1/tenants/"+long+"/sessions", "")},
		{"3000-character userId behind $default", defaultEvent("POST", "/v1/tenants/demo/users/"+long+"/lock", "")},
		{"uppercase tenant", lock("Demo", "u1")},
		{"tenant with --", lock("de--mo", "u1")},
		{"tenant with trailing hyphen", lock("demo-", "u1")},
		{"2-character tenant", lock("de", "u1")},
		{"33-character tenant", lock(strings.Repeat("d", 33), "u1")},
		{"unicode tenant", lock("démo", "u1")},
		{"tenant with NUL", lock("demo\x00", "u1")},
		{"empty tenant", lock("", "u1")},
		{"dot-dot userId", lock("demo", "..")},
		{"userId with slash", lock("demo", "u%2F1")},
		{"unicode userId", lock("demo", "ü1")},
		{"65-character userId", lock("demo", strings.Repeat("u", 65))},
		{"empty userId", lock("demo", "")},
		{"missing userId", event(lockKey, "", map[string]string{"tenant": "demo"}, "")},
		{"unexpected parameter", event(signInKey, "", map[string]string{"tenant": "demo", "userId": "bad id"}, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			res := f.handle(t, tt.ev)
			e := errorOf(t, res, http.StatusNotFound)
			if e.Error.Code != latchkey.ENotFound || e.Error.Message != "Not found." {
				t.Errorf("got %+v, want code %q, message %q", e.Error, latchkey.ENotFound, "Not found.")
			}
			if f.calls != 0 || f.auth.calls != 0 {
				t.Errorf("got %d handler and %d authenticator calls, want none", f.calls, f.auth.calls)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		for _, ev := range []events.APIGatewayV2HTTPRequest{
			lock("demo", "u1"), lock("a-b-c", "k3f7q2x9m4b8c6d2"), lock(strings.Repeat("d", 32), strings.Repeat("U", 64)), signIn(""),
		} {
			f := newFixture(t)
			if res := f.handle(t, ev); res.StatusCode != http.StatusOK || f.calls != 1 {
				t.Errorf("%s: got status %d and %d handler calls, want 200 and 1", ev.RawPath, res.StatusCode, f.calls)
			}
		}
	})
}

func TestValidPathParam(t *testing.T) {
	tests := []struct {
		name, param, value string
		want               bool
	}{
		{"tenant", "tenant", "acme-corp", true},
		{"tenant uppercase", "tenant", "Acme", false},
		{"userId", "userId", "User_01-x", true},
		{"userId too long", "userId", strings.Repeat("u", 65), false},
		{"accountId", "accountId", "acct_1", true},
		{"accountId with dot", "accountId", "acct.1", false},
		{"token", "token", strings.Repeat("A", 128), true},
		{"token too long", "token", strings.Repeat("A", 129), false},
		{"token with plus", "token", "ab+c", false},
		{"token empty", "token", "", false},
		{"unknown kind held to the id format", "name", "a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := httpapi.ValidPathParam(tt.param, tt.value); got != tt.want {
				t.Errorf("ValidPathParam(%q, %.40q): got %v, want %v", tt.param, tt.value, got, tt.want)
			}
		})
	}
}

func TestServer_Handle_InvalidJSON(t *testing.T) {
	f := newFixture(t)
	f.srv.Endpoints[0].Handle = func(_ context.Context, r *httpapi.Request) (httpapi.Response, error) {
		var in struct {
			Username string `json:"username"`
		}
		if err := r.Decode(&in); err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.Response{Body: in}, nil
	}
	e := errorOf(t, f.handle(t, signIn(`{"username":"a","username":"hunter2"}`)), http.StatusBadRequest)
	if e.Error.Code != latchkey.EInvalidJSON {
		t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.EInvalidJSON)
	}
	if want := `duplicate field "username"`; !strings.Contains(e.Error.Message, want) {
		t.Errorf("message: got %q, want it to contain %q", e.Error.Message, want)
	}
}
