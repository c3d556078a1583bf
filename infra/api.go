package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/tenantadmin"
)

// DefaultRouteFunction is the function behind the API's $default route,
// which answers every request that matches no route with the coded
// route_not_found (see NewLatchkeyStack).
const DefaultRouteFunction = tenantadmin.FnAdmin

// publicRouteThrottles throttles each public route (no token: sign-in,
// the new-password challenge, forgot password, signup, the link routes,
// welcome) at cfg.PublicThrottleRate and cfg.PublicThrottleBurst, below
// the stage's default: they are what an attacker without an account can
// call, and each sign-in costs an argon2id hash. The limit is per route
// for all callers together (API Gateway has no per-client limit); the
// functions' own per-network and per-account limits come on top.
// public maps each public route's key ("POST /v1/tenants/{tenant}/sessions")
// to its route.
func publicRouteThrottles(stage awsapigatewayv2.HttpStage, public map[string]awsapigatewayv2.HttpRoute, cfg Config) {
	if len(public) == 0 {
		return
	}
	settings := map[string]any{}
	cfn := stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	for key, r := range public {
		settings[key] = map[string]any{
			"ThrottlingRateLimit":  cfg.PublicThrottleRate,
			"ThrottlingBurstLimit": cfg.PublicThrottleBurst,
		}
		// A stage's route settings name routes that must exist first.
		cfn.Node().AddDependency(r)
	}
	cfn.AddPropertyOverride(jsii.String("RouteSettings"), settings)
}
