package app

import (
	"log/slog"
	"testing"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
)

// ORIGIN_VERIFY reaches Config.OriginVerify and, through Env.Server, the
// function's httpapi.Server; unset, it is empty, so no request's
// CloudFront-Viewer-Address is trusted.
func TestEnv_Server_OriginVerify(t *testing.T) {
	t.Setenv("SECRETS_FILE", "/tmp/secrets.json")
	t.Setenv("SENDER_EMAIL", "no-reply@latchkey.test")
	eps := []httpapi.Endpoint{{Route: routes.Route{Method: "GET", Path: "/x", Function: "fn"}}}
	for _, want := range []string{"", "Zq7mT2vKp9XwR4sLb8NcD3fHj6GyA5eU"} {
		t.Setenv("ORIGIN_VERIFY", want)
		c, err := config.FromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if c.OriginVerify != want {
			t.Errorf("Config.OriginVerify: got %q, want %q", c.OriginVerify, want)
		}
		s, err := (&Env{Config: c, Logger: slog.New(slog.DiscardHandler)}).Server("fn", eps, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.OriginVerify != want {
			t.Errorf("Server.OriginVerify: got %q, want %q", s.OriginVerify, want)
		}
	}
}
