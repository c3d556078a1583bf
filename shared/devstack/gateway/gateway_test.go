package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/devstack/gateway"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
)

// A one-route table served by function "fn", whose handler answers {"ok":"yes"}.
var (
	signIn = routes.Route{Method: "POST", Path: "/sessions", Function: "fn"}
	table  = []routes.Route{signIn}
)

func newServer(t *testing.T) *httpapi.Server {
	t.Helper()
	ok := func(context.Context, *httpapi.Request) (httpapi.Response, error) {
		return httpapi.Response{Body: map[string]string{"ok": "yes"}}, nil
	}
	srv, err := httpapi.NewServer("fn", []httpapi.Endpoint{{Route: signIn, Handle: ok}}, nil, httpapi.NewLogger(io.Discard, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestGateway_ServeHTTP(t *testing.T) {
	srv := newServer(t)
	failing := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, errors.New("secret detail")
	}
	tests := []struct {
		name   string
		gw     *gateway.Gateway
		req    *http.Request
		status int
		body   string // part of the body
	}{
		{
			"function answer",
			&gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{"fn": srv.Handle}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", strings.NewReader(`{}`)),
			http.StatusOK, `"ok"`,
		},
		{
			"function answer for a bad tenant",
			&gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{"fn": srv.Handle}},
			httptest.NewRequest("POST", "/v1/tenants/"+strings.Repeat("a", 3000)+"/sessions", nil),
			http.StatusNotFound, `"not_found"`,
		},
		{
			"no handler for the route",
			&gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", nil),
			http.StatusBadGateway, `"message"`,
		},
		{
			"no NotFound handler",
			&gateway.Gateway{Routes: table},
			httptest.NewRequest("GET", "/nowhere", nil),
			http.StatusBadGateway, `"message"`,
		},
		{
			"handler fails",
			&gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{"fn": failing}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", nil),
			http.StatusInternalServerError, `{"message":"Internal Server Error"}`,
		},
		{
			"body cannot be read",
			&gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{"fn": srv.Handle}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", failingReader{}),
			http.StatusBadRequest, `"message"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			tt.gw.ServeHTTP(w, tt.req)
			res := w.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Errorf("status: got %d, want %d (body %s)", res.StatusCode, tt.status, body)
			}
			if !strings.Contains(string(body), tt.body) || strings.Contains(string(body), "secret") {
				t.Errorf("body: got %s, want it to contain %s and no error detail", body, tt.body)
			}
			for k, v := range map[string]string{
				"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
				"X-Content-Type-Options":    "nosniff",
				"Cache-Control":             "no-store",
				"Content-Type":              "application/json",
			} {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: got %q, want %q", k, got, v)
				}
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("X-Request-Id: got none, want one")
			}
		})
	}
}

// Each invocation gets the function's timeout as its deadline, as Lambda
// gives it, so that a slow dependency answers 503 locally as deployed.
func TestGateway_InvocationDeadline(t *testing.T) {
	var (
		left  time.Duration
		hasDL bool
	)
	fn := func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		var dl time.Time
		dl, hasDL = ctx.Deadline()
		left = time.Until(dl)
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent}, nil
	}
	gw := &gateway.Gateway{Routes: table, Functions: map[string]gateway.LambdaHandler{"fn": fn}}
	gw.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/tenants/demo/sessions", strings.NewReader(`{}`)))
	if !hasDL || left <= 0 || left > gateway.FunctionTimeout {
		t.Errorf("deadline: got %v left (%v), want at most %v", left, hasDL, gateway.FunctionTimeout)
	}
}
