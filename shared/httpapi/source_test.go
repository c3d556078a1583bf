package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/reqctx"
)

// originSecret stands for the stack's origin secret (ORIGIN_VERIFY).
const originSecret = "Zq7mT2vKp9XwR4sLb8NcD3fHj6GyA5eU"

// viaCloudFront returns a sign-in event as the stack's distribution sends
// it: from an edge server's address, with the given origin secret and
// CloudFront-Viewer-Address headers (none when empty).
func viaCloudFront(secret, viewer string) events.APIGatewayV2HTTPRequest {
	ev := signIn(`{}`)
	ev.RequestContext.HTTP.SourceIP = "130.176.0.9"
	if secret != "" {
		ev.Headers[httpapi.OriginVerifyHeader] = secret
	}
	if viewer != "" {
		ev.Headers[httpapi.ViewerAddressHeader] = viewer
	}
	return ev
}

// SourceAddress takes the viewer's address from CloudFront-Viewer-Address
// only on a request carrying the configured origin secret, and only when
// that header holds an address and a port; in every other case (no secret
// configured, none or a wrong one sent, a forged or malformed viewer
// address) it is API Gateway's sourceIp.
func TestSourceAddress(t *testing.T) {
	const edge = "130.176.0.9"
	for _, c := range []struct {
		name, configured, sent, viewer, want string
	}{
		{"trusted IPv4", originSecret, originSecret, "198.51.100.10:46532", "198.51.100.10"},
		{"trusted IPv6 as CloudFront writes it", originSecret, originSecret, "2001:db8:1::7:443", "2001:db8:1::7"},
		{"trusted IPv6 bracketed", originSecret, originSecret, "[2001:db8::1]:46532", "2001:db8::1"},
		{"trusted IPv4-mapped IPv6", originSecret, originSecret, "[::ffff:198.51.100.10]:1", "198.51.100.10"},
		{"no secret sent", originSecret, "", "198.51.100.10:46532", edge},
		{"wrong secret", originSecret, "Zq7mT2vKp9XwR4sLb8NcD3fHj6GyA5eV", "198.51.100.10:46532", edge},
		{"secret prefix", originSecret, originSecret[:16], "198.51.100.10:46532", edge},
		{"no secret configured, none sent", "", "", "198.51.100.10:46532", edge},
		{"no secret configured, empty match", "", "", "", edge},
		{"trusted, no viewer address", originSecret, originSecret, "", edge},
		{"trusted, no port", originSecret, originSecret, "198.51.100.10", edge},
		{"trusted, empty port", originSecret, originSecret, "198.51.100.10:", edge},
		{"trusted, port not a number", originSecret, originSecret, "198.51.100.10:http", edge},
		{"trusted, port out of range", originSecret, originSecret, "198.51.100.10:65536", edge},
		{"trusted, not an address", originSecret, originSecret, "example.com:443", edge},
		{"trusted, two addresses", originSecret, originSecret, "203.0.113.5:1, 198.51.100.10:46532", edge},
		{"trusted, zone", originSecret, originSecret, "[fe80::1%eth0]:443", edge},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := httpapi.SourceAddress(viaCloudFront(c.sent, c.viewer), c.configured); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	t.Run("header names in any case", func(t *testing.T) {
		ev := viaCloudFront("", "")
		ev.Headers["X-Latchkey-Origin-Verify"] = originSecret
		ev.Headers["CloudFront-Viewer-Address"] = "198.51.100.10:46532"
		if got := httpapi.SourceAddress(ev, originSecret); got != "198.51.100.10" {
			t.Errorf("got %q, want 198.51.100.10", got)
		}
	})
}

// Server.Handle gives handlers the address SourceAddress decides
// (reqctx.SourceIP, which the per-source limits read): the viewer's behind
// the distribution with the server's OriginVerify, sourceIp without it; and
// the origin secret appears in no log line.
func TestServer_Handle_SourceAddress(t *testing.T) {
	for _, c := range []struct {
		name, configured, want string
	}{
		{"origin secret configured", originSecret, "198.51.100.10"},
		{"no origin secret configured", "", "130.176.0.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.OriginVerify = c.configured
			var got string
			for i := range f.srv.Endpoints {
				f.srv.Endpoints[i].Handle = func(ctx context.Context, _ *httpapi.Request) (httpapi.Response, error) {
					got = reqctx.SourceIP(ctx)
					return httpapi.Response{Status: 204}, nil
				}
			}
			res := f.handle(t, viaCloudFront(originSecret, "198.51.100.10:46532"))
			if res.StatusCode != 204 {
				t.Fatalf("status: got %d, want 204 (body %s)", res.StatusCode, res.Body)
			}
			if got != c.want {
				t.Errorf("reqctx.SourceIP: got %q, want %q", got, c.want)
			}
			if f.logs.Len() == 0 || strings.Contains(f.logs.String(), originSecret) {
				t.Errorf("logs: got %q, want request lines without the origin secret", f.logs.String())
			}
		})
	}
}
