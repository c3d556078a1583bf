// Package catalog assembles the route table from the capabilities that own
// their routes: every function and every route of Latchkey. The CDK stack,
// the local stack, the OpenAPI check and the sample-event tests read it;
// Lambda functions do not (each links only the capabilities whose routes it
// serves).
package catalog

import (
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/tenantadmin"
	"github.com/latchkey/latchkey/shared/useradmin"
	"github.com/latchkey/latchkey/shared/userpin"
)

// Capability is a package that owns routes and the functions serving them.
type Capability struct {
	// Package is the capability's import path.
	Package string
	// Functions are the functions it declares; none when its routes are
	// served by another capability's function (userpin's by
	// pin-verification, tenantadmin's by admin).
	Functions []routes.Function
	// Endpoints are its routes, without a service (Endpoints(nil)). A
	// function links every capability whose routes it serves, and no other
	// (TestFunctions_ImportGraph).
	Endpoints []httpapi.Endpoint
}

// Capabilities lists every capability with its functions and routes.
func Capabilities() []Capability {
	return []Capability{
		{Package: modulePath + "/shared/password", Functions: password.Functions, Endpoints: password.Endpoints(nil)},
		{Package: modulePath + "/shared/pinsignup", Functions: pinsignup.Functions, Endpoints: pinsignup.Endpoints(nil)},
		{Package: modulePath + "/shared/pinverify", Functions: pinverify.Functions, Endpoints: pinverify.Endpoints(nil)},
		{Package: modulePath + "/shared/userpin", Functions: userpin.Functions, Endpoints: userpin.Endpoints(nil)},
		{Package: modulePath + "/shared/useradmin", Functions: useradmin.Functions, Endpoints: useradmin.Endpoints(nil)},
		{Package: modulePath + "/shared/tenantadmin", Functions: tenantadmin.Functions, Endpoints: tenantadmin.Endpoints(nil)},
		{Package: modulePath + "/shared/expiry", Functions: expiry.Functions, Endpoints: expiry.Endpoints(nil)},
	}
}

// modulePath is the module's import path.
const modulePath = "github.com/latchkey/latchkey"

// endpoints returns every capability's endpoints, without services.
func endpoints() []httpapi.Endpoint {
	var out []httpapi.Endpoint
	for _, c := range Capabilities() {
		out = append(out, c.Endpoints...)
	}
	return out
}

// Functions returns every Lambda function, sorted by name.
func Functions() []routes.Function {
	var all []routes.Function
	for _, c := range Capabilities() {
		all = append(all, c.Functions...)
	}
	return routes.SortFunctions(all)
}

// Routes returns every route, in declaration order.
func Routes() []routes.Route { return httpapi.Routes(endpoints()) }

// Validate checks the table (see routes.Validate).
func Validate() error { return routes.Validate(Functions(), Routes()) }
