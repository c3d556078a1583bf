// Package catalog assembles the route table from the capabilities that own
// their routes: every function and every route of Latchkey. The CDK stack,
// the local stack, the OpenAPI check and the sample-event tests read it;
// Lambda functions do not (each links only its own capability).
package catalog

import (
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/routes"
)

// Capability is a package that owns routes and the functions serving them.
type Capability struct {
	// Package is the capability's import path.
	Package   string
	Functions []routes.Function
}

// Capabilities lists every capability with its functions.
func Capabilities() []Capability {
	return []Capability{
		{Package: modulePath + "/shared/password", Functions: password.Functions},
		{Package: modulePath + "/shared/pinsignup", Functions: pinsignup.Functions},
		{Package: modulePath + "/shared/pinverify", Functions: pinverify.Functions},
	}
}

// modulePath is the module's import path.
const modulePath = "github.com/latchkey/latchkey"

// endpoints returns every capability's endpoints, without services.
func endpoints() []httpapi.Endpoint {
	var out []httpapi.Endpoint
	out = append(out, password.Endpoints(nil)...)
	out = append(out, pinsignup.Endpoints(nil)...)
	out = append(out, pinverify.Endpoints(nil)...)
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
