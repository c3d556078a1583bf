// Package routes is the single source of truth for Latchkey's HTTP API and its
// Lambda functions. The CDK stack, the local API server, the OpenAPI check and
// the authorization middleware all read these tables, so the deployed and the
// local system cannot drift apart.
package routes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// Prefix is the path prefix of every route: all of the API is per tenant.
const Prefix = "/v1/tenants/{tenant}"

// Function names (one main package per name under functions/).
const (
	FnSessions      = "sessions"
	FnPasswordReset = "password-reset"
	FnPINSignup     = "pin-signup"
)

// Needs lists what a function may touch; the CDK stack turns each into IAM
// statements naming exact actions and resources.
type Needs struct {
	// TableRead allows GetItem, Query and ConditionCheckItem on the table and its indexes.
	TableRead bool
	// TableWrite allows PutItem, UpdateItem and DeleteItem (also inside TransactWriteItems).
	TableWrite bool
	// Secret allows GetSecretValue on the application secret.
	Secret bool
	// Email allows ses:SendEmail from the sender identity.
	Email bool
	// SMS allows sns:Publish (to phone numbers only).
	SMS bool
}

// Function is one Lambda function.
type Function struct {
	Name        string
	Description string
	Needs       Needs
	// Schedule, when set, is an EventBridge schedule expression that invokes
	// the function (for example "rate(1 hour)").
	Schedule string
}

// Route is one API route.
type Route struct {
	Method string
	// Path is relative to Prefix, in API Gateway syntax ("/users/{userId}/lock").
	Path string
	// Function is the Name of the function serving the route.
	Function string
	// Roles allowed to call the route; empty means public (no token).
	Roles []latchkey.Role
	// Summary is a one-line description used in docs.
	Summary string
}

// FullPath is the route's path including Prefix.
func (r Route) FullPath() string { return Prefix + r.Path }

// Key is the API Gateway route key, "METHOD /v1/tenants/{tenant}/...". It is
// what arrives in APIGatewayV2HTTPRequest.RouteKey.
func (r Route) Key() string { return r.Method + " " + r.FullPath() }

// Public reports whether the route needs no token.
func (r Route) Public() bool { return len(r.Roles) == 0 }

// Allows reports whether a caller holding roles may call the route.
func (r Route) Allows(roles []latchkey.Role) bool {
	for _, want := range r.Roles {
		for _, have := range roles {
			if want == have {
				return true
			}
		}
	}
	return false
}

var (
	admin      = []latchkey.Role{latchkey.RoleAdmin}
	agent      = []latchkey.Role{latchkey.RoleAgent, latchkey.RoleAdmin}
	adminAgent = []latchkey.Role{latchkey.RoleAdmin, latchkey.RoleAgent}
	anyUser    = []latchkey.Role{latchkey.RoleUser, latchkey.RoleAgent, latchkey.RoleAdmin}
)

// functions lists every Lambda function.
var functions = []Function{
	{
		Name:        FnSessions,
		Description: "Sign-in with password and the NEW_PASSWORD_REQUIRED challenge",
		Needs:       Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
	{
		Name:        FnPasswordReset,
		Description: "Forgot password, agent/admin reset, change own password, lock and unlock",
		Needs:       Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
	{
		Name:        FnPINSignup,
		Description: "PIN codes (generate, revoke, e-mail) and PIN-code signup",
		Needs:       Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
}

// routes lists every API route.
var routes = []Route{
	{Method: "POST", Path: "/sessions", Function: FnSessions, Summary: "Sign in with username and password"},
	{Method: "POST", Path: "/sessions/new-password", Function: FnSessions, Summary: "Complete the NEW_PASSWORD_REQUIRED challenge"},
	{Method: "POST", Path: "/password-resets", Function: FnPasswordReset, Summary: "Forgot password: e-mail a temporary password"},
	{Method: "PUT", Path: "/me/password", Function: FnPasswordReset, Roles: anyUser, Summary: "Change one's own password"},
	{Method: "POST", Path: "/users/{userId}/password-reset", Function: FnPasswordReset, Roles: agent, Summary: "Replace a user's password with a temporary one and e-mail it"},
	{Method: "POST", Path: "/users/{userId}/lock", Function: FnPasswordReset, Roles: adminAgent, Summary: "Lock a user's sign-in until unlocked"},
	{Method: "POST", Path: "/users/{userId}/unlock", Function: FnPasswordReset, Roles: adminAgent, Summary: "Unlock a user's sign-in"},
	{Method: "POST", Path: "/users/{userId}/pin-code", Function: FnPINSignup, Roles: admin, Summary: "Generate (or regenerate) a user's PIN code, shown once"},
	{Method: "DELETE", Path: "/users/{userId}/pin-code", Function: FnPINSignup, Roles: admin, Summary: "Revoke a user's PIN code"},
	{Method: "POST", Path: "/users/{userId}/pin-code/email", Function: FnPINSignup, Roles: admin, Summary: "E-mail a user's current PIN code to them or to another address"},
	{Method: "POST", Path: "/signups", Function: FnPINSignup, Summary: "Create a user with a PIN code, in the likeness of its holder"},
}

// Functions returns every function, sorted by name.
func Functions() []Function {
	out := append([]Function(nil), functions...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// All returns every route in declaration order.
func All() []Route { return append([]Route(nil), routes...) }

// ForFunction returns the routes served by the named function.
func ForFunction(name string) []Route {
	var out []Route
	for _, r := range routes {
		if r.Function == name {
			out = append(out, r)
		}
	}
	return out
}

// ByKey returns the route with the given API Gateway route key.
func ByKey(key string) (Route, bool) {
	for _, r := range routes {
		if r.Key() == key {
			return r, true
		}
	}
	return Route{}, false
}

// Match finds the route for a concrete method and path, such as
// "POST" and "/v1/tenants/demo/users/u1/lock", and returns it with the path
// parameters. ok is false when no route has that path; methodOK is false when
// a route has the path but not the method.
func Match(method, path string) (r Route, params map[string]string, ok, methodOK bool) {
	segs := split(path)
	for _, cand := range routes {
		p, match := matchPath(split(cand.FullPath()), segs)
		if !match {
			continue
		}
		ok = true
		if cand.Method == method {
			return cand, p, true, true
		}
	}
	return Route{}, nil, ok, false
}

func split(p string) []string { return strings.Split(strings.Trim(p, "/"), "/") }

func matchPath(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}

// Validate checks the tables: every route names a known function, every
// function serves a route or has a schedule, no route key is repeated.
func Validate() error {
	names := map[string]bool{}
	for _, f := range functions {
		names[f.Name] = true
	}
	seen := map[string]bool{}
	served := map[string]bool{}
	for _, r := range routes {
		if !names[r.Function] {
			return fmt.Errorf("route %s: unknown function %q", r.Key(), r.Function)
		}
		if seen[r.Key()] {
			return fmt.Errorf("route %s declared twice", r.Key())
		}
		seen[r.Key()] = true
		served[r.Function] = true
	}
	for _, f := range functions {
		if !served[f.Name] && f.Schedule == "" {
			return fmt.Errorf("function %s serves no route and has no schedule", f.Name)
		}
	}
	return nil
}
