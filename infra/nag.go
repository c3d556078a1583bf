package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records on c (and its children when children is set) that the
// finding id is kept on purpose, for reason; appliesTo narrows it to those
// findings' details (an IAM5 wildcard).
func suppress(c constructs.IConstruct, children bool, id, reason string, appliesTo ...string) {
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

// nagSuppressions records, on the constructs they concern, the cdk-nag
// AwsSolutions findings the stack keeps on purpose, each with its reason
// (TestLatchkeyStack_Nag runs the pack and fails on any other finding).
// Each is scoped to the construct, and for IAM5 to the one wildcard,
// so that a new finding of the same rule elsewhere still fails.
func (s *latchkeyStack) nagSuppressions() {
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

// webNagSuppressions records the findings newWeb keeps on purpose.
func webNagSuppressions(stack awscdk.Stack, bucket awss3.Bucket, dist awscloudfront.Distribution, role awsiam.Role, origin awssecretsmanager.Secret) {
	suppress(origin, false, "AwsSolutions-SMG4",
		"The origin secret reaches CloudFront's origin header and the route functions' ORIGIN_VERIFY through dynamic "+
			"references, which CloudFormation resolves only when it updates those resources: a scheduled rotation would "+
			"leave both on the old value. It is rotated by replacing the secret (a new logical id) in a stack update, "+
			"which updates both.")
	suppress(dist, false, "AwsSolutions-CFR1",
		"The pages and the API serve every country a tenant's users may be in; a tenant that needs geo restrictions "+
			"adds them to the distribution.")
	suppress(dist, false, "AwsSolutions-CFR2",
		"No WAF by default: the API throttles per route and the functions limit per network and per account. A team "+
			"that wants one attaches a web ACL (in us-east-1) to the distribution: README \"Deploying\".")
	suppress(dist, false, "AwsSolutions-CFR3",
		"No CloudFront access logs: every /v1 call is in the API's access log group, and the rest are static pages "+
			"and assets holding no secret (link tokens travel in the URL fragment, never sent). A log bucket would hold "+
			"objects that stop a dev stack from being deleted.")
	suppress(dist, false, "AwsSolutions-CFR4",
		"The distribution uses CloudFront's default certificate (*.cloudfront.net), with which the minimum TLS version "+
			"cannot be set; a custom domain with its own ACM certificate sets TLSv1.2_2021.")
	suppress(bucket, false, "AwsSolutions-S1",
		"The bucket is private and read only through CloudFront's Origin Access Control; it holds the public pages' "+
			"static assets, written only by the stack's deployment, so server access logs would record nothing of interest.")
	suppress(role, true, "AwsSolutions-IAM5",
		"The web assets' deployment (CDK BucketDeployment): the CDK grants its copier read on the CDK asset bucket's "+
			"objects and read/write on this stack's web bucket (s3:GetObject*, s3:List*, s3:DeleteObject*, ...), and "+
			"cloudfront:CreateInvalidation/GetInvalidation, which take no narrower resource than *. The role is its own.")
	for _, c := range *stack.Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			suppress(c, true, "AwsSolutions-L1",
				"The CDK BucketDeployment's copier function: its runtime is the one the CDK version pins, upgraded with the CDK.")
		}
	}
}
