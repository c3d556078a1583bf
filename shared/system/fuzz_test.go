package system_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// openAPIErrorCodes returns the enum of the code of the Error schema in
// api/openapi.yaml: the codes a client may be answered.
func openAPIErrorCodes(tb testing.TB) map[string]bool {
	tb.Helper()
	raw, err := os.ReadFile("../../api/openapi.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []string `yaml:"enum"`
								} `yaml:"code"`
							} `yaml:"properties"`
						} `yaml:"error"`
					} `yaml:"properties"`
				} `yaml:"Error"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range doc.Components.Schemas.Error.Properties.Error.Properties.Code.Enum {
		out[c] = true
	}
	if len(out) == 0 {
		tb.Fatal("openapi: got no Error code enum, want the codes")
	}
	return out
}

// adminValue stands, in a fuzzed parameter value, for the id of the
// tenant's admin, so that the fuzzer reaches the handlers' paths for a
// user that exists (the id is random, so no corpus file can hold it).
const adminValue = "@admin"

// queryNames are the query parameters that handlers read.
var queryNames = []string{"cursor", "limit", "registrationStatus", "selfServe", "locked", "action", "actor", "subject"}

// FuzzHandle sends fuzzed requests through the real functions on DynamoDB
// Local and the SES emulator: a route of catalog.Routes() chosen by index,
// its path filled with the fuzzed tenant and parameter value, a fuzzed
// body (base64 or not), Content-Type and query, with a valid token of the
// admin of tenant "demo" on routes that need one, behind the route's own
// key as API Gateway sends it. It proves that no request gets a 5xx, that
// every answer has X-Request-Id and a JSON body (or none, for 204), and
// that every non-2xx answer is {"error":{"code":…,"message":…}} with a
// code of the OpenAPI Error enum and that code's status.
func FuzzHandle(f *testing.F) {
	table := catalog.Routes()
	for _, name := range sampleEventsOf(f) {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(readEventOf(f, name), &ev); err != nil {
			f.Fatal(err)
		}
		for i, r := range table {
			if r.Key() != ev.RouteKey {
				continue
			}
			value := ""
			for k, v := range ev.PathParameters {
				if k != "tenant" {
					value = v
				}
			}
			if strings.Contains(value, "${USERID:") {
				value = adminValue
			}
			f.Add(uint(i), "demo", value, "application/json", ev.Body, false, "")
		}
	}
	f.Add(uint(0), "demo", "..", "text/plain", "{", true, "x")
	f.Add(uint(1), "Demo", "a\x00b", "", "\xff", false, "10")
	f.Add(uint(2), "demo", adminValue, "application/json; charset=utf-8", `{"a":1,"a":2}`, false, "-1")

	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(f, clock.Now)
	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, "demo", "Demo", "admin", "admin@demo.example")
	if err != nil {
		f.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	tn, err := d.Store.GetTenant(ctx, "demo")
	if err != nil {
		f.Fatal(err)
	}
	tn.Settings.PINSignup = latchkey.PINSignupWeb
	tn.Settings.SecurityPIN = true
	tn.Settings.PINSignIn = true
	if err := d.Store.PutTenantSettings(ctx, "demo", tn.Settings); err != nil {
		f.Fatal(err)
	}
	tok := testenv.Token(f, d, admin)
	servers := map[string]*httpapi.Server{}
	for _, r := range table {
		if servers[r.Function] == nil {
			if servers[r.Function], err = d.Server(r.Function); err != nil {
				f.Fatal(err)
			}
		}
	}
	codes := openAPIErrorCodes(f)

	f.Fuzz(func(t *testing.T, index uint, tenant, value, contentType, body string, base64Body bool, query string) {
		route := table[index%uint(len(table))]
		if value == adminValue {
			value = admin.ID
		}
		params := map[string]string{}
		segs := strings.Split(route.FullPath(), "/")
		for i, s := range segs {
			if name, ok := strings.CutPrefix(s, "{"); ok {
				name = strings.TrimSuffix(name, "}")
				params[name] = value
				if name == "tenant" {
					params[name] = tenant
				}
				segs[i] = params[name]
			}
		}
		path := strings.Join(segs, "/")
		headers := map[string]string{"content-type": contentType}
		if !route.Public() {
			headers["authorization"] = "Bearer " + tok
		}
		var q map[string]string
		if query != "" {
			q = map[string]string{}
			for _, n := range queryNames {
				q[n] = query
			}
		}
		ev := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: route.Key(), RawPath: path, PathParameters: params, Body: body,
			Headers: headers, QueryStringParameters: q,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "fuzz-1", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: route.Method, Path: path, SourceIP: "192.0.2.1"},
			},
		}
		if base64Body {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
		}
		res, err := servers[route.Function].Handle(ctx, ev)
		if err != nil {
			t.Fatalf("%s: Handle returned %v, want errors as answers", route.Key(), err)
		}
		where := route.Method + " " + path
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: got %d %s, want no 5xx", where, body, res.StatusCode, res.Body)
		}
		if res.Headers["X-Request-Id"] == "" {
			t.Errorf("%s: got no X-Request-Id, want one", where)
		}
		if res.Body == "" && res.StatusCode == http.StatusNoContent {
			return
		}
		if !json.Valid([]byte(res.Body)) {
			t.Fatalf("%s: got %d %q, want a JSON body", where, res.StatusCode, res.Body)
		}
		if res.StatusCode < 300 {
			return
		}
		var e struct {
			Error *struct {
				Code    *string `json:"code"`
				Message *string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(res.Body), &e); err != nil || e.Error == nil || e.Error.Code == nil || e.Error.Message == nil || *e.Error.Message == "" {
			t.Fatalf("%s: got %d %s, want {\"error\":{\"code\":…,\"message\":…}}", where, res.StatusCode, res.Body)
		}
		if !codes[*e.Error.Code] {
			t.Errorf("%s: got code %q, want one of the OpenAPI Error enum", where, *e.Error.Code)
		}
		if want := latchkey.StatusOf(*e.Error.Code); res.StatusCode != want {
			t.Errorf("%s: got status %d for %q, want %d", where, res.StatusCode, *e.Error.Code, want)
		}
	})
}

// sampleEventsOf is sampleEvents for a fuzz target: the payload-2.0 files
// of events/.
func sampleEventsOf(tb testing.TB) []string {
	tb.Helper()
	var out []string
	ents, err := os.ReadDir(eventsDir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".json") && n != scheduledEvent && n != streamEvent && n != deliveryEvent {
			out = append(out, n)
		}
	}
	return out
}

// readEventOf is readEvent for a fuzz target.
func readEventOf(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(eventsDir + "/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}
