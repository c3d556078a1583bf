package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/schema"
)

// FunctionTag is the tag every Lambda function carries with its name from
// catalog.Functions(), so a template can be read back by function name.
const FunctionTag = "latchkey:function"

// Config is what a deployment chooses; main reads it from the CDK context
// (cdk.json, or -c key=value on the command line).
type Config struct {
	// Stage is the deployment stage, StageDev or StageProd (context stage):
	// it names the stack (StackName) and chooses the defaults of
	// StageDefaults.
	Stage string
	// AlarmEmail, when set, is subscribed to the alarm topic (context
	// alarmEmail, or alarmEmail.<stage> for one stage only).
	AlarmEmail string
	// RetainData keeps the table, the master-key secret and the alarm
	// topic's key when the stack is deleted (context retainData; on in
	// prod, off in dev: see StageDefaults).
	RetainData bool
	// PublicThrottleRate and PublicThrottleBurst throttle each public route
	// (the routes without a token: sign-in, forgot password, signup, the
	// link routes, welcome) below the stage's default (context
	// publicThrottleRate, publicThrottleBurst).
	PublicThrottleRate, PublicThrottleBurst float64
	// SenderEmail is the SES From address (context senderEmail). Functions
	// that send e-mail may use it and SESIdentities.
	SenderEmail string
	// SESIdentities are further SES identities (addresses or domains) the
	// functions may send from, such as tenants' own sender domains (context
	// sesIdentities, comma separated). The address and the domain of
	// SenderEmail are always allowed.
	SESIdentities []string
	// SMSSenderID is the SMS sender id (context smsSenderId).
	SMSSenderID string
	// PublicBaseURL is where the public pages are served (context publicBaseUrl).
	PublicBaseURL string
	// DeletionProtection turns on the table's deletion protection (context
	// deletionProtection; on in prod, off in dev: see StageDefaults).
	DeletionProtection bool
	// LogRetention is how many days function logs and API access logs are
	// kept (context logRetentionDays); it must be a value CloudWatch Logs
	// accepts.
	LogRetention int
	// ThrottleRate and ThrottleBurst are the API stage's steady-state
	// requests per second and burst (context throttleRate, throttleBurst).
	ThrottleRate, ThrottleBurst float64
	// EmailSendRate and SMSSendRate cap each notifier invocation's
	// e-mails and SMS per second (context emailSendRate, smsSendRate;
	// EMAIL_SEND_RATE, SMS_SEND_RATE): set them below the account's SES
	// sending rate and SNS SMS quota; 0 is no cap.
	EmailSendRate, SMSSendRate float64
	// BuildDir holds <function>/bootstrap for every function (context
	// buildDir); empty means "build".
	BuildDir string
	// SecretReplicaRegion, when set, is a second region the master-key
	// secret is replicated to (context secretReplicaRegion), so that a
	// table restored there can still use its HMAC lookups and sealed codes
	// (docs/operations.md, "Restore").
	SecretReplicaRegion string
}

// ctxSecretReplicaRegion is the context key of Config.SecretReplicaRegion.
const ctxSecretReplicaRegion = "secretReplicaRegion"

// regionName is what an AWS region name looks like (us-east-1, ap-southeast-2,
// us-gov-west-1).
var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)

// The stages a deployment may be: each is its own stack (StackName).
const (
	StageDev  = "dev"
	StageProd = "prod"
)

// PlaceholderSender is the sender of DefaultConfig, which no real mailbox
// answers: a prod stage refuses it (Config.Validate).
const PlaceholderSender = "no-reply@example.com"

// DefaultConfig is the configuration when the context sets nothing: the
// dev stage's.
func DefaultConfig() Config {
	c, _ := StageDefaults(StageDev)
	return c
}

// StageDefaults is the configuration of stage when the context sets
// nothing else. A dev stack is meant to be torn down and built again:
// no deletion protection, its data deleted with it (a retained table
// or secret of a deleted dev stack is an orphan nobody owns, billed
// until someone notices), two weeks of logs. A prod stack keeps its
// data whatever happens to the stack (deletion protection, the table,
// secret and key retained) and a year of logs, for investigating an
// account takeover reported months later.
func StageDefaults(stage string) (Config, error) {
	c := Config{
		Stage:               stage,
		SenderEmail:         PlaceholderSender,
		SMSSenderID:         "Latchkey",
		ThrottleRate:        50,
		ThrottleBurst:       100,
		PublicThrottleRate:  10,
		PublicThrottleBurst: 20,
		EmailSendRate:       10,
		SMSSendRate:         10,
		BuildDir:            "build",
	}
	switch stage {
	case StageDev:
		c.LogRetention = 14
	case StageProd:
		c.DeletionProtection, c.RetainData = true, true
		c.LogRetention = 365
	default:
		return c, fmt.Errorf("stage: got %q, want %s or %s", stage, StageDev, StageProd)
	}
	return c, nil
}

// StackName is the name of the stage's stack, such as Latchkey-prod. The
// names of what CloudFormation names (the table, the alarms, the topic)
// start with it, and the API and the dashboard are named after it, so two
// stages never share a resource.
func StackName(stage string) string { return "Latchkey-" + stage }

// retentionDays maps the day counts CloudWatch Logs accepts to the CDK enum.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

// Validate checks c and that BuildDir holds a bootstrap for every function.
func (c Config) Validate(fns []routes.Function) error {
	var errs []error
	if _, err := StageDefaults(c.Stage); err != nil {
		errs = append(errs, err)
	}
	if addr, err := senderAddress(c.SenderEmail); err != nil {
		errs = append(errs, err)
	} else if c.Stage == StageProd && placeholderAddress(addr) {
		// Deployed, every temporary password and reset link would go
		// nowhere, and SES would refuse the unverified identity anyway.
		errs = append(errs, fmt.Errorf("senderEmail: %s is a placeholder; the prod stage needs a real SES-verified sender: -c senderEmail=no-reply@your-domain", addr))
	}
	if c.AlarmEmail != "" {
		if a, err := mail.ParseAddress(c.AlarmEmail); err != nil || a.Address != c.AlarmEmail {
			errs = append(errs, fmt.Errorf("alarmEmail: %q is not a bare e-mail address", c.AlarmEmail))
		}
	}
	if c.PublicThrottleRate <= 0 || c.PublicThrottleBurst <= 0 || c.PublicThrottleRate > c.ThrottleRate || c.PublicThrottleBurst > c.ThrottleBurst {
		errs = append(errs, fmt.Errorf("publicThrottleRate and publicThrottleBurst must be positive and at most throttleRate and throttleBurst, got %v and %v", c.PublicThrottleRate, c.PublicThrottleBurst))
	}
	for _, id := range c.SESIdentities {
		if id == "" || strings.ContainsAny(id, "*? /") {
			errs = append(errs, fmt.Errorf("sesIdentities: %q is not an address or a domain", id))
		}
	}
	if _, ok := retentionDays[c.LogRetention]; !ok {
		errs = append(errs, fmt.Errorf("logRetentionDays: %d is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)", c.LogRetention))
	}
	if c.ThrottleRate <= 0 || c.ThrottleBurst <= 0 {
		errs = append(errs, fmt.Errorf("throttleRate and throttleBurst must be positive, got %v and %v", c.ThrottleRate, c.ThrottleBurst))
	}
	if c.EmailSendRate < 0 || c.SMSSendRate < 0 {
		errs = append(errs, fmt.Errorf("emailSendRate and smsSendRate must be 0 (no cap) or more, got %v and %v", c.EmailSendRate, c.SMSSendRate))
	}
	if r := c.SecretReplicaRegion; r != "" && !regionName.MatchString(r) {
		errs = append(errs, fmt.Errorf("secretReplicaRegion: %q is not a region name (such as us-west-2)", r))
	}
	for _, f := range fns {
		p := filepath.Join(c.buildDir(), f.Name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("function %s: %s is missing: run make build", f.Name, p))
		}
	}
	return errors.Join(errs...)
}

func (c Config) buildDir() string {
	if c.BuildDir == "" {
		return "build"
	}
	return c.BuildDir
}

// placeholderAddress reports whether addr is PlaceholderSender or any
// address at a domain reserved for examples (RFC 2606).
func placeholderAddress(addr string) bool {
	domain := strings.ToLower(addr[strings.LastIndexByte(addr, '@')+1:])
	for _, d := range []string{"example.com", "example.net", "example.org", "example", "test", "invalid", "localhost"} {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return strings.EqualFold(addr, PlaceholderSender)
}

// senderAddress returns the bare address of s, which may carry a display
// name ("Latchkey <no-reply@example.com>").
func senderAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("senderEmail %q: %w", s, err)
	}
	return a.Address, nil
}

// sesIdentities lists the SES identities functions may send from: the sender
// address, its domain and the extra identities, without repeats.
func (c Config) sesIdentities() []string {
	addr, _ := senderAddress(c.SenderEmail)
	out := []string{addr, addr[strings.LastIndexByte(addr, '@')+1:]}
	seen := map[string]bool{out[0]: true, out[1]: true}
	for _, id := range c.SESIdentities {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// LatchkeyStackProps configures NewLatchkeyStack.
type LatchkeyStackProps struct {
	awscdk.StackProps
	Config Config

	// functions and routes replace catalog.Functions() and catalog.Routes() when
	// set; only tests set them.
	functions []routes.Function
	routes    []routes.Route
}

// LatchkeyStack is the deployed Latchkey: the table, the secret, one Lambda
// function per catalog.Functions() and the HTTP API serving catalog.Routes().
type LatchkeyStack interface {
	// Stack is the CloudFormation stack itself.
	Stack() awscdk.Stack
	// Table is the single DynamoDB table.
	Table() awsdynamodb.ITable
	// Secret holds the master key.
	Secret() awssecretsmanager.ISecret
	// Function returns the Lambda function of a routes.Function by name.
	Function(name string) awslambda.IFunction
	// API is the HTTP API.
	API() awsapigatewayv2.IHttpApi
}

type latchkeyStack struct {
	stack     awscdk.Stack
	table     awsdynamodb.Table
	secret    awssecretsmanager.Secret
	functions map[string]awslambda.Function
	api       awsapigatewayv2.HttpApi
	// configSet is the SES configuration set of the notice e-mail, whose
	// delivery, bounce and complaint events go to the default event bus.
	configSet awsses.ConfigurationSet
	// failures receives what the event-driven functions gave up on: a
	// stream batch of the lock notifier after its retries, a scheduled or
	// SES event after Lambda's asynchronous retries (newFailureQueue).
	failures awssqs.Queue
	// topic is what every alarm notifies (newAlarmTopic).
	topic awssns.Topic
}

func (s *latchkeyStack) Stack() awscdk.Stack                      { return s.stack }
func (s *latchkeyStack) Table() awsdynamodb.ITable                { return s.table }
func (s *latchkeyStack) Secret() awssecretsmanager.ISecret        { return s.secret }
func (s *latchkeyStack) Function(name string) awslambda.IFunction { return s.functions[name] }
func (s *latchkeyStack) API() awsapigatewayv2.IHttpApi            { return s.api }

// NewLatchkeyStack builds the stack. It panics, as CDK constructs do, when
// props.Config is not valid (see Config.Validate) or a route names an unknown
// function.
func NewLatchkeyStack(scope constructs.Construct, id string, props *LatchkeyStackProps) LatchkeyStack {
	if props == nil {
		props = &LatchkeyStackProps{Config: DefaultConfig()}
	}
	cfg := props.Config
	fns, rts := props.functions, props.routes
	if fns == nil {
		fns = catalog.Functions()
	}
	if rts == nil {
		rts = catalog.Routes()
	}
	if err := cfg.Validate(fns); err != nil {
		panic(fmt.Sprintf("latchkey stack: %v", err))
	}

	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	s := &latchkeyStack{stack: stack, functions: map[string]awslambda.Function{}}

	s.table = newTable(stack, cfg)
	s.secret = awssecretsmanager.NewSecret(stack, jsii.String("MasterKey"), &awssecretsmanager.SecretProps{
		Description: jsii.String("Latchkey master key: the signing and HMAC keys are derived from it"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			ExcludePunctuation: jsii.Bool(true),
			PasswordLength:     jsii.Number(64),
		},
		// Losing the key makes every stored password hash and token useless.
		RemovalPolicy:  awscdk.RemovalPolicy_RETAIN,
		ReplicaRegions: secretReplicas(cfg),
	})

	// Created before anything with an alarm: every alarm notifies it.
	s.topic = s.newAlarmTopic(cfg)
	// A dev stack's data goes with it; prod's stays (StageDefaults).
	s.table.ApplyRemovalPolicy(removalPolicy(cfg))
	s.secret.ApplyRemovalPolicy(removalPolicy(cfg))

	s.configSet = newConfigurationSet(stack)
	s.failures = s.newFailureQueue()
	for _, f := range fns {
		s.functions[f.Name] = s.newFunction(f, cfg)
	}

	// The $default route takes what matches no route. Its function's
	// httpapi.Server finds no route of its own for the method and path, and
	// answers the coded route_not_found 404 (405 method_not_allowed on one
	// of its own paths) with X-Request-Id, as the local gateway's catch-all
	// does, instead of API Gateway's bare {"message":"Not Found"}. It is
	// admin's: the smallest init of the functions serving routes
	// (docs/performance.md), and an unknown path never reaches its
	// authenticator or the table.
	defaultFn, ok := s.functions[DefaultRouteFunction]
	if !ok {
		panic(fmt.Sprintf("latchkey stack: the $default route's function %q is not in the function list", DefaultRouteFunction))
	}
	integrations := map[string]awsapigatewayv2.HttpRouteIntegration{
		DefaultRouteFunction: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(pascal(DefaultRouteFunction)+"Integration"), defaultFn, nil),
	}
	s.api = awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(*stack.StackName() + "-api"),
		Description:        jsii.String("Latchkey credential self-service API (" + cfg.Stage + " stage)"),
		DefaultIntegration: integrations[DefaultRouteFunction],
		// The default stage is added below, with throttling.
		CreateDefaultStage: jsii.Bool(false),
	})
	// API Gateway writes HTTP API access logs through a CloudWatch Logs
	// delivery it sets up when the stage is deployed: no role in the stack.
	// Whoever deploys needs logs:CreateLogDelivery and logs:PutResourcePolicy,
	// which the CDK's default CloudFormation execution role has.
	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: retentionDays[cfg.LogRetention],
	})
	// Throttled calls get API Gateway's own 429 {"message":"Too Many
	// Requests"}: an HTTP API cannot add a header to its own answers, so
	// they carry no Retry-After (the functions' rate_limited 429s do). A
	// team that needs one puts CloudFront in front (a CloudFront Function
	// or response headers policy adding it on 429) or uses a REST API,
	// whose gateway responses take headers: see README "Deploying".
	stage := s.api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(cfg.ThrottleRate),
			BurstLimit: jsii.Number(cfg.ThrottleBurst),
		},
		AccessLogSettings: &accessLogSettings{
			destination: awsapigatewayv2.NewLogGroupLogDestination(accessLogs),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat())),
		},
	})
	public := map[string]awsapigatewayv2.HttpRoute{}
	for _, r := range rts {
		fn, ok := s.functions[r.Function]
		if !ok {
			panic(fmt.Sprintf("latchkey stack: route %s names unknown function %q", r.Key(), r.Function))
		}
		in, ok := integrations[r.Function]
		if !ok {
			in = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(pascal(r.Function)+"Integration"), fn, nil)
			integrations[r.Function] = in
		}
		added := s.api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.FullPath()),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: in,
		})
		if r.Public() {
			public[r.Key()] = (*added)[0]
		}
	}
	publicRouteThrottles(stage, public, cfg)
	s.serviceAlarms(stage)
	s.newDashboard(stage, fns)
	s.newWeb(cfg, integrations)
	s.nagSuppressions()

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("Base URL of the API; routes start with " + routes.Prefix),
		Value:       stage.Url(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("TableName"), &awscdk.CfnOutputProps{Value: s.table.TableName()})
	awscdk.NewCfnOutput(stack, jsii.String("SecretArn"), &awscdk.CfnOutputProps{Value: s.secret.SecretArn()})
	return s
}

// accessLogFields are the entries of an API access log line: who called which
// route and how it went. Never a header (Authorization carries tokens), a
// query string or a body.
var accessLogFields = map[string]string{
	"requestId":               "$context.requestId",
	"ip":                      "$context.identity.sourceIp",
	"userAgent":               "$context.identity.userAgent",
	"requestTime":             "$context.requestTime",
	"httpMethod":              "$context.httpMethod",
	"routeKey":                "$context.routeKey",
	"path":                    "$context.path",
	"protocol":                "$context.protocol",
	"status":                  "$context.status",
	"responseLength":          "$context.responseLength",
	"responseLatency":         "$context.responseLatency",
	"integrationLatency":      "$context.integrationLatency",
	"integrationErrorMessage": "$context.integrationErrorMessage",
	"errorMessage":            "$context.error.message",
}

// accessLogFormat is accessLogFields as a JSON object, one per log line.
func accessLogFormat() string {
	b, err := json.Marshal(accessLogFields)
	if err != nil {
		panic(fmt.Sprintf("latchkey stack: access log format: %v", err))
	}
	return string(b)
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings, for which
// the CDK has no ready-made type.
type accessLogSettings struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

var _ awsapigatewayv2.IAccessLogSettings = (*accessLogSettings)(nil)

// Destination is where API Gateway writes the access logs.
func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return a.destination
}

// Format is the format of a log line.
func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat { return a.format }

// newTable creates the table from schema.Schema.
func newTable(scope constructs.Construct, cfg Config) awsdynamodb.Table {
	sch := schema.Schema
	table := awsdynamodb.NewTable(scope, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        stringAttr(sch.Keys.PartitionKey),
		SortKey:             stringAttr(sch.Keys.SortKey),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(sch.TTLAttribute),
		// The stream feeds the lock notifier the audit events of locks
		// (routes.Function.StreamFilters): new images are all it reads.
		Stream: awsdynamodb.StreamViewType_NEW_IMAGE,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(cfg.DeletionProtection),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
		// The most read and most throttled keys, to find a hot partition
		// (a tenant's users, an expiry day) from CloudWatch.
		ContributorInsightsSpecification: &awsdynamodb.ContributorInsightsSpecification{Enabled: jsii.Bool(true)},
	})
	for _, ix := range sch.Indexes {
		props := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   stringAttr(ix.Keys.PartitionKey),
			SortKey:        stringAttr(ix.Keys.SortKey),
			ProjectionType: awsdynamodb.ProjectionType(ix.Projection.Type),
		}
		// Only what the index's readers read (schema.UserListAttributes
		// and the rest): no secret in an index, and a write of an
		// attribute no index holds (lastLoginAt) writes no index.
		if ix.Projection.Type == schema.ProjectInclude {
			props.NonKeyAttributes = jsii.Strings(ix.Projection.NonKeyAttributes...)
		}
		table.AddGlobalSecondaryIndex(props)
	}
	return table
}

// secretReplicas is the master key's replica regions: cfg's, if any.
func secretReplicas(cfg Config) *[]*awssecretsmanager.ReplicaRegion {
	if cfg.SecretReplicaRegion == "" {
		return nil
	}
	return &[]*awssecretsmanager.ReplicaRegion{{Region: jsii.String(cfg.SecretReplicaRegion)}}
}

// Lambda memory. Lambda gives a function CPU in proportion to its memory,
// one vCPU at 1769 MB; argon2id (p=1) runs on one core, so below 1769 MB a
// hash takes 1769/memory times its one-core time, and above it no less.
// docs/operations.md ("Memory") derives both sizes from the measured CPU
// and I/O time of a request: the memory giving the least cost × latency is
// 1769 MB × CPU time / I/O time, capped at one vCPU.
const (
	// HashingMemoryMB is the memory of a function that hashes on a request
	// path (routes.Function.Hashes): one full vCPU.
	HashingMemoryMB = 1769
	// DefaultMemoryMB is the memory of every other function.
	DefaultMemoryMB = 512
)

// memoryMB is function f's memory.
func memoryMB(f routes.Function) float64 {
	if f.Hashes {
		return HashingMemoryMB
	}
	return DefaultMemoryMB
}

// ResetFloorMS is the forgot-password floor the stack gives the function
// that answers it (password.ResetFloorEnv), derived in docs/operations.md
// ("The forgot-password floor") from the known-user path's measured worst
// case at HashingMemoryMB.
const ResetFloorMS = 400

func stringAttr(name string) *awsdynamodb.Attribute {
	if name == "" {
		return nil
	}
	return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
}

// IAM actions per routes.Needs. Each is an exact action (no wildcards) that
// shared/dynamo calls: GetItem, Query (ListUsers on GSI1 and GSI2, ListTenants on GSI1, the
// audit log on the table), PutItem, UpdateItem, DeleteItem and
// TransactWriteItems. A transaction needs no action of its own: IAM checks
// each item inside it against PutItem, UpdateItem, DeleteItem or, for a
// ConditionCheck item, ConditionCheckItem. Nothing calls the Batch* or
// TransactGetItems operations, so they are not granted.
var (
	tableReadActions  = []string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"}
	tableWriteActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
	secretActions     = []string{"secretsmanager:GetSecretValue"}
	emailActions      = []string{"ses:SendEmail"}
	smsActions        = []string{"sns:Publish"}
	// streamReadActions are what the stream's event source grants a
	// stream-fed function (Table.GrantStreamRead): the first three on the
	// table's stream, ListStreams, which has no resource ARN, on "*".
	streamReadActions = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
)

// The table stream's event source of a stream-fed function: up to
// StreamBatchSize records an invocation, and a failing batch retried (and
// bisected) up to StreamRetryAttempts times before its records are dropped,
// so a notice that cannot be sent does not hold up the locks after it.
const (
	StreamBatchSize     = 10
	StreamRetryAttempts = 10
)

// newFunction creates the Lambda function f with its log group, role,
// permissions, alarms and, when f.Schedule is set, its schedule; when
// f.StreamFilters are, its event source on the table stream.
func (s *latchkeyStack) newFunction(f routes.Function, cfg Config) awslambda.Function {
	id := pascal(f.Name)
	stack := s.stack

	logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention: retentionDays[cfg.LogRetention],
	})
	role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Latchkey function " + f.Name),
	})
	// Write to its own log group only, instead of AWSLambdaBasicExecutionRole.
	logs.GrantWrite(role)

	// A scheduled function (the expiry notifier) works through every
	// tenant at its send hour, its sends paced under the SES and SNS
	// quotas: Lambda's longest, 15 minutes, and it stops starting new work
	// before its deadline (see docs/expiry-large-tenants.md).
	timeout := 10.0
	if f.Schedule != "" {
		timeout = 900
	}
	// A stream-fed function (the lock notifier) sends a batch of notices,
	// each retried with backoff when SES or SNS throttle.
	if len(f.StreamFilters) > 0 {
		timeout = 60
	}
	code, err := filepath.Abs(filepath.Join(cfg.buildDir(), f.Name))
	if err != nil {
		panic(fmt.Sprintf("latchkey stack: function %s: %v", f.Name, err))
	}
	fn := awslambda.NewFunction(stack, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:  jsii.String(f.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(code), nil),
		MemorySize:   jsii.Number(memoryMB(f)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(timeout)),
		Role:         role,
		LogGroup:     logs,
		Environment: &map[string]*string{
			"TABLE_NAME":      s.table.TableName(),
			"SECRET_ARN":      s.secret.SecretArn(),
			"SENDER_EMAIL":    jsii.String(cfg.SenderEmail),
			"SMS_SENDER_ID":   jsii.String(cfg.SMSSenderID),
			"PUBLIC_BASE_URL": jsii.String(cfg.PublicBaseURL),
			"LOG_LEVEL":       jsii.String("info"),
		},
	})
	awscdk.Tags_Of(fn).Add(jsii.String(FunctionTag), jsii.String(f.Name), nil)
	if f.Name == password.FnPasswordReset {
		fn.AddEnvironment(jsii.String(password.ResetFloorEnv), jsii.String(strconv.Itoa(ResetFloorMS)), nil)
	}

	allow := func(actions []string, resources ...*string) {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Effect:    awsiam.Effect_ALLOW,
			Actions:   jsii.Strings(actions...),
			Resources: &resources,
		}))
	}
	tableArn := s.table.TableArn()
	indexArn := jsii.String(*tableArn + "/index/*")
	if f.Needs.TableRead {
		allow(tableReadActions, tableArn, indexArn)
	}
	if f.Needs.TableWrite {
		allow(tableWriteActions, tableArn)
	}
	if f.Needs.Secret {
		allow(secretActions, s.secret.SecretArn())
	}
	if f.Needs.Email {
		var arns []*string
		for _, ident := range cfg.sesIdentities() {
			arns = append(arns, stack.FormatArn(&awscdk.ArnComponents{
				Service:      jsii.String("ses"),
				Resource:     jsii.String("identity"),
				ResourceName: jsii.String(ident),
				ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
			}))
		}
		allow(emailActions, arns...)
	}
	if f.Needs.Email && f.TrackedEmail {
		// Sending under a configuration set needs ses:SendEmail on it too.
		// The notifiers, which send in bulk, pace their sends.
		fn.AddEnvironment(jsii.String("CONFIGURATION_SET"), s.configSet.ConfigurationSetName(), nil)
		fn.AddEnvironment(jsii.String("EMAIL_SEND_RATE"), jsii.String(strconv.FormatFloat(cfg.EmailSendRate, 'f', -1, 64)), nil)
		fn.AddEnvironment(jsii.String("SMS_SEND_RATE"), jsii.String(strconv.FormatFloat(cfg.SMSSendRate, 'f', -1, 64)), nil)
		allow(emailActions, stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ses"),
			Resource:     jsii.String("configuration-set"),
			ResourceName: s.configSet.ConfigurationSetName(),
			ArnFormat:    awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		}))
	}
	if f.Needs.SMS {
		// Publishing to a phone number has no resource ARN.
		allow(smsActions, jsii.String("*"))
	}

	s.functionAlarms(id, f.Name, fn, timeout)
	s.errorCodeFilters(id, logs)

	if len(f.StreamFilters) > 0 {
		// Lambda's event filtering drops every other record before the
		// function starts. A failing batch is split in two and retried
		// (the notices' claims skip what was sent), a bounded number of
		// times. The event source grants the role the stream's read actions.
		filters := make([]*map[string]any, len(f.StreamFilters))
		for i, p := range f.StreamFilters {
			filters[i] = &map[string]any{"pattern": p}
		}
		fn.AddEventSource(awslambdaeventsources.NewDynamoEventSource(s.table, &awslambdaeventsources.DynamoEventSourceProps{
			StartingPosition:   awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:          jsii.Number(StreamBatchSize),
			RetryAttempts:      jsii.Number(StreamRetryAttempts),
			BisectBatchOnError: jsii.Bool(true),
			Filters:            &filters,
			// What is still failing after the retries is not lost: the
			// queue keeps the batch's stream position (newFailureQueue).
			OnFailure: awslambdaeventsources.NewSqsDlq(s.failures),
		}))
	}
	if f.Schedule != "" || f.SESEvents {
		// EventBridge invokes these asynchronously: Lambda retries a failed
		// event twice (the notifier's claims make a retry send only what is
		// left), then sends it to the failure queue.
		fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
			RetryAttempts: jsii.Number(AsyncRetryAttempts),
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(1)),
			OnFailure:     awslambdadestinations.NewSqsDestination(s.failures),
		})
	}
	if f.Schedule != "" {
		awsevents.NewRule(stack, jsii.String(id+"Schedule"), &awsevents.RuleProps{
			Description: jsii.String("Runs Latchkey function " + f.Name),
			Schedule:    awsevents.Schedule_Expression(jsii.String(f.Schedule)),
			Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, nil)},
		})
	}
	if f.SESEvents {
		// SES puts the configuration set's events on the default bus; the
		// rule lets through only those of this configuration set (SES tags
		// each message with it) and of the types the function handles.
		awsevents.NewRule(stack, jsii.String(id+"SesEvents"), &awsevents.RuleProps{
			Description: jsii.String("SES delivery, bounce and complaint events of the notice e-mail to Latchkey function " + f.Name),
			EventPattern: &awsevents.EventPattern{
				Source:     jsii.Strings("aws.ses"),
				DetailType: jsii.Strings(expiry.DetailTypes...),
				Detail: &map[string]any{"mail": map[string]any{"tags": map[string]any{
					"ses:configuration-set": []any{s.configSet.ConfigurationSetName()},
				}}},
			},
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, nil)},
		})
	}
	return fn
}

// AsyncRetryAttempts is how many times Lambda retries a scheduled or SES
// event that failed (its maximum) before the failure queue gets it.
const AsyncRetryAttempts = 2

// newFailureQueue creates the queue of events the event-driven functions
// gave up on, encrypted, kept 14 days (time to fix the cause and replay
// them: docs/expiry-large-tenants.md), and an alarm as soon as it holds one:
// each message is a notice that was not sent, so one is worth a page.
func (s *latchkeyStack) newFailureQueue() awssqs.Queue {
	stack := s.stack
	q := awssqs.NewQueue(stack, jsii.String("EventFailures"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	s.alarm("EventFailuresAlarm", &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("A Latchkey notifier gave up on an event (a lock notice batch, a scheduled run or an SES event): see the EventFailures queue"),
		Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: alarmPeriod,
		}),
		Threshold:         jsii.Number(1),
		EvaluationPeriods: jsii.Number(1),
	})
	return q
}

// newConfigurationSet creates the SES configuration set of the notice
// e-mail, with an event destination sending its deliveries, bounces and
// complaints to the account's default event bus.
func newConfigurationSet(stack awscdk.Stack) awsses.ConfigurationSet {
	cs := awsses.NewConfigurationSet(stack, jsii.String("NoticeConfigurationSet"), nil)
	awsses.NewConfigurationSetEventDestination(stack, jsii.String("NoticeEventDestination"), &awsses.ConfigurationSetEventDestinationProps{
		ConfigurationSet: cs,
		Destination:      awsses.EventDestination_EventBus(awsevents.EventBus_FromEventBusName(stack, jsii.String("DefaultEventBus"), jsii.String("default"))),
		Events: &[]awsses.EmailSendingEvent{
			awsses.EmailSendingEvent_DELIVERY, awsses.EmailSendingEvent_BOUNCE, awsses.EmailSendingEvent_COMPLAINT,
		},
	})
	return cs
}

// pascal turns a function name such as "password-reset" into a construct id
// part, "PasswordReset".
func pascal(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
