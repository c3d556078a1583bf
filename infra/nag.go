package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// nagSuppressions records, on the constructs they concern, the cdk-nag
// AwsSolutions findings the stack keeps on purpose, each with its reason
// (TestLatchkeyStack_Nag runs the pack and fails on any other finding).
// Each is scoped to the construct, and for IAM5 to the one wildcard,
// so that a new finding of the same rule elsewhere still fails.
func (s *latchkeyStack) nagSuppressions() {
	suppress := func(c constructs.IConstruct, children bool, id, reason string, appliesTo ...string) {
		sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
		if len(appliesTo) > 0 {
			a := make([]any, len(appliesTo))
			for i, v := range appliesTo {
				a[i] = v
			}
			sup.AppliesTo = &a
		}
		cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(children))
	}

	suppress(s.api, true, "AwsSolutions-APIG4",
		"Authorization is done in the functions: httpapi.Server checks the Ed25519-signed bearer token (token.Auth) "+
			"and the route's roles before any handler runs, for every route but the public ones (sign-in, forgot password, "+
			"signup, the link routes, welcome), which by design take no token; $default answers route_not_found before any "+
			"check. A Lambda authorizer would add an invocation and its latency to every call and check the same token.")
	suppress(s.failures, false, "AwsSolutions-SQS3",
		"EventFailures is itself the dead-letter destination: the lock notifier's stream on-failure destination and the "+
			"asynchronous functions' OnFailure destination; nothing consumes it automatically, an operator replays it.")
	suppress(s.secret, false, "AwsSolutions-SMG4",
		"The master key derives the HMAC lookup keys, the token-signing key and the data key of sealed codes: a "+
			"scheduled rotation would orphan every HMAC-keyed item and sealed code. It is rotated by an operator, "+
			"as a planned operation that re-keys the data.")

	indexes := "Resource::<" + *s.stack.GetLogicalId(s.table.Node().DefaultChild().(awscdk.CfnElement)) + ".Arn>/index/*"
	for name, fn := range s.functions {
		suppress(fn.Role(), true, "AwsSolutions-IAM5",
			"Function "+name+": (1) Query on the table's own global secondary indexes (the user and tenant lists, the "+
				"expiry index): the wildcard is the index name under this one table's ARN, whose items the function "+
				"already reads; (2) on * only the actions with no resource ARN: sns:Publish to a phone number (SMS) and "+
				"dynamodb:ListStreams (the stream event source's); every other statement names its resources.",
			indexes, "Resource::*")
	}
}
