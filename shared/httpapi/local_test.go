package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
)

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestLocalGateway_ServeHTTP(t *testing.T) {
	f := newFixture(t)
	failing := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, errors.New("secret detail")
	}
	tests := []struct {
		name   string
		gw     *httpapi.LocalGateway
		req    *http.Request
		status int
		body   string // part of the body
	}{
		{
			"function answer",
			&httpapi.LocalGateway{Functions: map[string]httpapi.LambdaHandler{routes.FnSessions: f.srv.Handle}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", strings.NewReader(`{}`)),
			http.StatusOK, `"ok"`,
		},
		{
			"function answer for a bad tenant",
			&httpapi.LocalGateway{Functions: map[string]httpapi.LambdaHandler{routes.FnSessions: f.srv.Handle}},
			httptest.NewRequest("POST", "/v1/tenants/"+strings.Repeat("a", 3000)+"/sessions", nil),
			http.StatusNotFound, `"not_found"`,
		},
		{
			"no handler for the route",
			&httpapi.LocalGateway{Functions: map[string]httpapi.LambdaHandler{}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", nil),
			http.StatusBadGateway, `"message"`,
		},
		{
			"no NotFound handler",
			&httpapi.LocalGateway{},
			httptest.NewRequest("GET", "/nowhere", nil),
			http.StatusBadGateway, `"message"`,
		},
		{
			"handler fails",
			&httpapi.LocalGateway{Functions: map[string]httpapi.LambdaHandler{routes.FnSessions: failing}},
			httptest.NewRequest("POST", "/v1/tenants/demo/sessions", nil),
			http.StatusInternalServerError, `{"message":"Internal Server Error"}`,
		},
		{
			"body cannot be read",
			&httpapi.LocalGateway{Functions: map[string]httpapi.LambdaHandler{routes.FnSessions: f.srv.Handle}},
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
