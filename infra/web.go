package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/latchkey/latchkey/web"
)

// WebContentSecurityPolicy is the content security policy of every page,
// the one web.Handler sets under `make run` (TestWeb_SecurityHeaders checks
// they agree): only same-origin scripts, styles and requests, no framing.
const WebContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// WebExclude are the files of web/ that are not assets: the Go package
// that embeds them for the local server, and its tests.
var WebExclude = []string{"*.go"}

//go:embed pagefn.js
var pageFunctionSource string

// pageFunctionCode is the CloudFront Function mapping page paths to files
// (pagefn.js), with the names under web/assets filled in from web.FS, the
// files web.Page finds with fs.Stat.
func pageFunctionCode() string {
	names := map[string]bool{}
	err := fs.WalkDir(web.FS, "assets", func(p string, _ fs.DirEntry, err error) error {
		names[p] = true
		return err
	})
	b, _ := json.Marshal(names)
	if err != nil || len(names) < 2 {
		panic(fmt.Sprintf("latchkey stack: web assets: got %d names (%v)", len(names), err))
	}
	return strings.Replace(pageFunctionSource, "__ASSETS__", string(b), 1)
}

// webDir is the repository's web/ folder: beside infra/, found from this
// source file's path (`go run ./infra` and the tests build from source), or
// under the working directory (the repository root, where cdk.json is).
func webDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "..", "web")
		if _, err := os.Stat(filepath.Join(d, "index.html")); err == nil {
			return d
		}
	}
	d, err := filepath.Abs("web")
	if err == nil {
		_, err = os.Stat(filepath.Join(d, "index.html"))
	}
	if err != nil {
		panic(fmt.Sprintf("latchkey stack: web assets folder: %v", err))
	}
	return d
}

// newWeb serves the hosted pages and the console in AWS: web/'s assets in a
// private bucket, and a CloudFront distribution in front of both it and the
// API, so that pages and /v1/* share one origin and the browser needs no
// CORS. The distribution reaches the bucket through Origin Access Control
// only; a CloudFront Function maps each page path to its file as web.Page
// does under `make run`; a response headers policy adds web.Handler's
// security headers. /v1/* goes to the HTTP API uncached, with every viewer
// header but Host (API Gateway routes on its own host name), Authorization
// included, plus CloudFront-Viewer-Address and the origin secret
// (OriginVerifyHeader) that lets routeFns, the functions serving the API's
// routes, trust it (httpapi.SourceAddress).
//
// The functions' PUBLIC_BASE_URL cannot be the distribution's domain: the
// distribution depends on the API, the API on the functions. It stays the
// context's publicBaseUrl, which is set to the WebUrl output (or a custom
// domain in front of it) after the first deploy: README "Deploying".
func (s *latchkeyStack) newWeb(cfg Config, routeFns map[string]awsapigatewayv2.HttpRouteIntegration) {
	stack := s.stack
	bucket := awss3.NewBucket(stack, jsii.String("WebBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// A dev stack's bucket goes with it: the deployment below empties
		// it first (RetainOnDelete), so no auto-delete function is needed.
		RemovalPolicy: removalPolicy(cfg),
	})

	pageFn := awscloudfront.NewFunction(stack, jsii.String("WebPageFunction"), &awscloudfront.FunctionProps{
		Comment: jsii.String("Latchkey: page path to file (web.Page)"),
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(pageFunctionCode())),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
	})
	headers := awscloudfront.NewResponseHeadersPolicy(stack, jsii.String("WebHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("Latchkey: web.Handler's security headers"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(WebContentSecurityPolicy), Override: jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY, Override: jsii.Bool(true),
			},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_NO_REFERRER, Override: jsii.Bool(true),
			},
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(365)),
				IncludeSubdomains:   jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
		},
		// Browsers revalidate every page and asset, so a deployment's new
		// assets apply at once (the deployment also invalidates the
		// distribution's cache).
		CustomHeadersBehavior: &awscloudfront.ResponseCustomHeadersBehavior{
			CustomHeaders: &[]*awscloudfront.ResponseCustomHeader{
				{Header: jsii.String("Cache-Control"), Value: jsii.String("no-cache"), Override: jsii.Bool(true)},
			},
		},
	})
	// The origin secret proves to the functions that a request came through
	// this distribution, so that its CloudFront-Viewer-Address is the
	// caller's: a call straight to the API's URL can send that header too.
	// CloudFormation generates it and resolves it at deploy time into the
	// origin's custom header and the functions' ORIGIN_VERIFY (a
	// secretsmanager dynamic reference resolves in any resource property),
	// so the template holds only the reference; the functions need no
	// Secrets Manager call for it. Readers of the distribution's or the
	// functions' configuration can see it, as they can change either.
	originSecret := awssecretsmanager.NewSecret(stack, jsii.String("OriginVerify"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Latchkey: the header CloudFront sends to the API (" + OriginVerifyHeader + ")"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			ExcludePunctuation: jsii.Bool(true),
			PasswordLength:     jsii.Number(32),
		},
		// Nothing is lost with it: a new stack generates a new one.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	originVerify := originSecret.SecretValue().UnsafeUnwrap()
	names := make([]string, 0, len(routeFns))
	for name := range routeFns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.functions[name].AddEnvironment(jsii.String(OriginVerifyEnv), originVerify, nil)
	}

	// The endpoint is https://<id>.execute-api.<region>.<suffix>: its host.
	apiDomain := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), s.api.ApiEndpoint(), nil))
	dist := awscloudfront.NewDistribution(stack, jsii.String("Web"), &awscloudfront.DistributionProps{
		Comment: jsii.String(*stack.StackName() + " pages, console and API"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(bucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: headers,
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function: pageFn, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		},
		AdditionalBehaviors: &map[string]*awscloudfront.BehaviorOptions{
			WebAPIPathPattern: {
				Origin: awscloudfrontorigins.NewHttpOrigin(apiDomain, &awscloudfrontorigins.HttpOriginProps{
					ProtocolPolicy: awscloudfront.OriginProtocolPolicy_HTTPS_ONLY,
					CustomHeaders:  &map[string]*string{OriginVerifyHeader: originVerify},
				}),
				ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
				AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
				CachePolicy:          awscloudfront.CachePolicy_CACHING_DISABLED(),
				// The managed AllViewerExceptHostHeader forwards every viewer
				// header but Host, and "all device type and viewer location
				// headers", CloudFront-Viewer-Address among them ("Use managed
				// origin request policies", "Add CloudFront request headers").
				// A policy of our own cannot do as much: allViewer and
				// allViewerAndWhitelistCloudFront forward Host, which API
				// Gateway refuses; allExcept adds no CloudFront header; a
				// whitelist cannot name Authorization.
				OriginRequestPolicy: awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			},
		},
	})

	// The deployment's copier function gets a role and log group of its
	// own: logs kept as long as the functions', and no managed policy.
	logs := awslogs.NewLogGroup(stack, jsii.String("WebDeploymentLogs"), &awslogs.LogGroupProps{
		Retention: retentionDays[cfg.LogRetention],
	})
	role := awsiam.NewRole(stack, jsii.String("WebDeploymentRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Latchkey web assets deployment"),
	})
	logs.GrantWrite(role)
	awscdk.Tags_Of(role).Add(jsii.String(WebDeploymentTag), jsii.String("true"), nil)
	awss3deployment.NewBucketDeployment(stack, jsii.String("WebDeployment"), &awss3deployment.BucketDeploymentProps{
		Sources: &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(webDir()), &awss3assets.AssetOptions{
			Exclude: jsii.Strings(WebExclude...),
		})},
		DestinationBucket: bucket,
		Distribution:      dist,
		DistributionPaths: jsii.Strings("/*"),
		RetainOnDelete:    jsii.Bool(cfg.RetainData),
		Role:              role,
		LogGroup:          logs,
	})
	webNagSuppressions(stack, bucket, dist, role, originSecret)

	awscdk.NewCfnOutput(stack, jsii.String("WebUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the pages and the console (/t/<tenant>/); set publicBaseUrl to it, or to a custom domain in front of it"),
		Value:       jsii.String("https://" + *dist.DistributionDomainName()),
	})
}

// OriginVerifyHeader is the header in which the distribution sends the
// origin secret to the API (httpapi.OriginVerifyHeader, which payload 2.0
// events carry lower-cased); OriginVerifyEnv is the route functions'
// variable holding it (config.Config.OriginVerify).
const (
	OriginVerifyHeader = "X-Latchkey-Origin-Verify"
	OriginVerifyEnv    = "ORIGIN_VERIFY"
)

// WebAPIPathPattern is the distribution's behaviour sending requests to the
// API: every route starts with /v1 (routes.Prefix).
const WebAPIPathPattern = "/v1/*"

// WebDeploymentTag marks the role of the web assets' deployment function,
// which is not one of catalog.Functions() and whose S3 grants the CDK
// writes (s3:GetObject*, s3:List*, ...): the IAM tests leave it out.
const WebDeploymentTag = "latchkey:web-deployment"
