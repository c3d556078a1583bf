// Package routes holds the types of Latchkey's route table: routes, the
// Lambda functions serving them and what each function may touch. Each
// capability package declares its own routes with their handlers and roles
// (for example password.Endpoints); shared/catalog assembles them into the
// one table that the CDK stack, the local gateway, the OpenAPI check and the
// authorization read, so the deployed and the local system cannot drift.
package routes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// Prefix is the path prefix of every route: all of the API is per tenant.
const Prefix = "/v1/tenants/{tenant}"

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
	// StreamFilters, when set, feed the function the table's stream (new
	// images): each is a Lambda event filter pattern (JSON), and a record
	// matching any of them is delivered; the rest never start it.
	StreamFilters []string
	// SESEvents, when set, feeds the function SES's delivery, bounce and
	// complaint events of the deployment's configuration set, through an
	// EventBridge rule on the default bus.
	SESEvents bool
	// TrackedEmail, when set, sends e-mail under that configuration set
	// (CONFIGURATION_SET), so that its delivery events come back: the
	// functions that send notices.
	TrackedEmail bool
	// Hashes, when set, says that a request path of the function runs
	// argon2id (a sign-in, a password change, a temporary password, a
	// current password checked): the stack gives it a full vCPU of memory
	// (docs/operations.md, "Memory"); the others get less.
	Hashes bool
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

// Role sets of routes.
var (
	// Admin is for admins only.
	Admin = []latchkey.Role{latchkey.RoleAdmin}
	// Staff is for agents and admins.
	Staff = []latchkey.Role{latchkey.RoleAgent, latchkey.RoleAdmin}
	// AnyUser is for every signed-in user.
	AnyUser = []latchkey.Role{latchkey.RoleUser, latchkey.RoleAgent, latchkey.RoleAdmin}
)

// SortFunctions sorts functions by name.
func SortFunctions(fs []Function) []Function {
	out := append([]Function(nil), fs...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ForFunction returns the routes of rs served by the named function.
func ForFunction(rs []Route, name string) []Route {
	var out []Route
	for _, r := range rs {
		if r.Function == name {
			out = append(out, r)
		}
	}
	return out
}

// ByKey returns the route of rs with the given API Gateway route key.
func ByKey(rs []Route, key string) (Route, bool) {
	for _, r := range rs {
		if r.Key() == key {
			return r, true
		}
	}
	return Route{}, false
}

// Match finds the route of rs for a concrete method and path, such as
// "POST" and "/v1/tenants/demo/users/u1/lock", and returns it with the path
// parameters. ok is false when no route has that path; methodOK is false when
// a route has the path but not the method.
func Match(rs []Route, method, path string) (r Route, params map[string]string, ok, methodOK bool) {
	segs := split(path)
	for _, cand := range rs {
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

// Validate checks a table: every route names a known function, every
// function serves a route or has a schedule, a stream or SES events, no
// route key or function name is repeated.
func Validate(functions []Function, routes []Route) error {
	names := map[string]bool{}
	for _, f := range functions {
		if names[f.Name] {
			return fmt.Errorf("function %s declared twice", f.Name)
		}
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
		if !served[f.Name] && f.Schedule == "" && len(f.StreamFilters) == 0 && !f.SESEvents {
			return fmt.Errorf("function %s serves no route and has no schedule, stream or SES events", f.Name)
		}
	}
	return nil
}
