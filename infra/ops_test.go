package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/routes"
)

// realSender is a sender a prod stage accepts.
const realSender = "Latchkey <no-reply@mail.latchkey.dev>"

// synthStage synthesizes the stack of cdk.json's context with overrides,
// under its stage's stack name (as main does), with the dummy build.
func synthStage(t *testing.T, overrides map[string]any) (s synthed, name string) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("synth panicked: %v", r)
		}
	}()
	ctx := cdkContext(t)
	for k, v := range overrides {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cfg, err := ConfigFromContext(app)
	if err != nil {
		return synthed{err: err}, ""
	}
	cfg.BuildDir = buildDir
	name = StackName(cfg.Stage)
	stack := NewLatchkeyStack(app, name, &LatchkeyStackProps{Config: cfg})
	tpl := assertions.Template_FromStack(stack.Stack(), nil)
	s = synthed{cfg: cfg, template: tpl, resources: map[string]map[string]any{}}
	raw, _ := (*tpl.ToJSON())["Resources"].(map[string]any)
	for id, r := range raw {
		s.resources[id], _ = r.(map[string]any)
	}
	return s, name
}

var (
	prodOnce  sync.Once
	prodStack synthed
)

// prodTemplate is the prod stage's stack with a real sender and an alarm
// address, synthesized once.
func prodTemplate(t *testing.T) synthed {
	t.Helper()
	prodOnce.Do(func() {
		prodStack, _ = synthStage(t, map[string]any{ctxStage: StageProd, ctxSenderEmail: realSender, ctxAlarmEmail + ".prod": "oncall@latchkey.dev"})
	})
	if prodStack.err != nil {
		t.Fatal(prodStack.err)
	}
	return prodStack
}

// Every alarm of the stack, the functions', the API's, the table's, SES's,
// the error codes' and the failure queue's, notifies the alarm topic when it
// fires and when it is OK again, and is named after the stack.
func TestLatchkeyStack_AlarmActions(t *testing.T) {
	for stage, s := range map[string]synthed{StageDev: latchkeyTemplate(t), StageProd: prodTemplate(t)} {
		t.Run(stage, func(t *testing.T) {
			topic := []any{map[string]any{"Ref": s.the(t, "AWS::SNS::Topic")}}
			alarms := s.ofType("AWS::CloudWatch::Alarm")
			if len(alarms) < 3*len(catalog.Functions()) {
				t.Fatalf("alarms: got %d, want at least 3 a function", len(alarms))
			}
			prefix := "Test-"
			if stage == StageProd {
				prefix = StackName(StageProd) + "-"
			}
			for _, id := range alarms {
				p := props(s.resources[id])
				for _, k := range []string{"AlarmActions", "OKActions"} {
					if got := p[k]; !reflect.DeepEqual(got, topic) {
						t.Errorf("alarm %s %s: got %v, want %v", id, k, got, topic)
					}
				}
				if name, _ := p["AlarmName"].(string); !strings.HasPrefix(name, prefix) {
					t.Errorf("alarm %s name: got %q, want it to start with %q", id, name, prefix)
				}
				if p["TreatMissingData"] != "notBreaching" {
					t.Errorf("alarm %s: got TreatMissingData %v, want notBreaching (no traffic is not an incident)", id, p["TreatMissingData"])
				}
			}
		})
	}
}

// The alarm topic is encrypted with a rotated key of the stack whose
// policy lets CloudWatch use it, refuses publishing without TLS, lets the
// account's alarms publish, and has an e-mail subscription only when
// alarmEmail names one (alarmEmail.prod only in the prod stage).
func TestLatchkeyStack_AlarmTopic(t *testing.T) {
	dev, prod := latchkeyTemplate(t), prodTemplate(t)
	for stage, s := range map[string]synthed{StageDev: dev, StageProd: prod} {
		t.Run(stage, func(t *testing.T) {
			topic := props(s.resources[s.the(t, "AWS::SNS::Topic")])
			key := s.the(t, "AWS::KMS::Key")
			if got := topic["KmsMasterKeyId"]; !reflect.DeepEqual(got, map[string]any{"Fn::GetAtt": []any{key, "Arn"}}) {
				t.Errorf("KmsMasterKeyId: got %v, want the stack's key", got)
			}
			if props(s.resources[key])["EnableKeyRotation"] != true {
				t.Errorf("key rotation: got off, want on")
			}
			kp, _ := json.Marshal(props(s.resources[key])["KeyPolicy"])
			if !strings.Contains(string(kp), `"cloudwatch.amazonaws.com"`) || !strings.Contains(string(kp), `"kms:GenerateDataKey*"`) {
				t.Errorf("key policy: got %s, want CloudWatch allowed to encrypt", kp)
			}
			policy, _ := json.Marshal(props(s.resources[s.the(t, "AWS::SNS::TopicPolicy")])["PolicyDocument"])
			for _, want := range []string{`"aws:SecureTransport":"false"`, `"Effect":"Deny"`, `"Service":"cloudwatch.amazonaws.com"`, `:alarm:*`} {
				if !strings.Contains(string(policy), want) {
					t.Errorf("topic policy: got %s, want %s", policy, want)
				}
			}
		})
	}
	if got := dev.ofType("AWS::SNS::Subscription"); len(got) != 0 {
		t.Errorf("dev subscriptions: got %v, want none (alarmEmail.prod is prod's only)", got)
	}
	must(t, "prod e-mail subscription", func() {
		prod.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
			"Protocol": "email",
			"Endpoint": "oncall@latchkey.dev",
			"TopicArn": map[string]any{"Ref": prod.the(t, "AWS::SNS::Topic")},
		})
	})
}

// Besides the functions' alarms (TestLatchkeyStack_Functions): the API's
// 5xx count and rate, the table's read and write throttles, and SES's
// account bounce (5 %) and complaint (0.1 %) rates, with their periods and
// thresholds.
func TestLatchkeyStack_ServiceAlarms(t *testing.T) {
	s := latchkeyTemplate(t)
	byName := map[string]map[string]any{}
	for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
		p := props(s.resources[id])
		name, _ := p["AlarmName"].(string)
		byName[strings.TrimPrefix(name, "Test-")] = p
	}
	for name, want := range map[string]map[string]any{
		"ApiServerErrors":            {"MetricName": "5xx", "Namespace": "AWS/ApiGateway", "Threshold": float64(APIServerErrorThreshold), "EvaluationPeriods": float64(3), "DatapointsToAlarm": float64(2), "Period": float64(300)},
		"ApiServerErrorRate":         {"Threshold": float64(APIServerErrorRatePercent), "EvaluationPeriods": float64(3), "DatapointsToAlarm": float64(2)},
		"TableReadThrottles":         {"MetricName": "ReadThrottleEvents", "Namespace": "AWS/DynamoDB", "Threshold": float64(TableThrottleThreshold), "Statistic": "Sum"},
		"TableWriteThrottles":        {"MetricName": "WriteThrottleEvents", "Namespace": "AWS/DynamoDB", "Threshold": float64(TableThrottleThreshold), "Statistic": "Sum"},
		"SesBounceRate":              {"MetricName": "Reputation.BounceRate", "Namespace": "AWS/SES", "Threshold": 0.05, "Statistic": "Maximum", "Period": float64(3600), "ComparisonOperator": "GreaterThanOrEqualToThreshold"},
		"SesComplaintRate":           {"MetricName": "Reputation.ComplaintRate", "Namespace": "AWS/SES", "Threshold": 0.001, "Statistic": "Maximum", "Period": float64(3600), "ComparisonOperator": "GreaterThanOrEqualToThreshold"},
		"EventFailuresAlarm":         {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": float64(1), "EvaluationPeriods": float64(1)},
		"AccountLockedSpike":         {"MetricName": "AccountLocked", "Threshold": float64(25)},
		"RateLimitedSpike":           {"MetricName": "RateLimited", "Threshold": float64(100)},
		"PinVerificationLockedSpike": {"MetricName": "PinVerificationLocked", "Threshold": float64(25)},
	} {
		p := byName[name]
		if p == nil {
			t.Errorf("alarm %s: got none, want one", name)
			continue
		}
		for k, v := range want {
			if got := p[k]; !reflect.DeepEqual(got, v) {
				t.Errorf("alarm %s %s: got %v, want %v", name, k, got, v)
			}
		}
	}
	// The rate divides the 5xx by the requests, guarded against no traffic.
	var metrics strings.Builder
	enc := json.NewEncoder(&metrics)
	enc.SetEscapeHTML(false)
	enc.Encode(byName["ApiServerErrorRate"]["Metrics"])
	for _, want := range []string{`"Expression":"IF(requests > 0, 100 * errors / requests, 0)"`, `"MetricName":"5xx"`, `"MetricName":"Count"`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("ApiServerErrorRate metrics: got %s, want %s", metrics.String(), want)
		}
	}
}

// Each function's log group has one metric filter per counted error code,
// matching the structured logs' error_code, feeding one metric per code in
// the stack's own namespace, which the spike alarms watch.
func TestLatchkeyStack_ErrorCodeFilters(t *testing.T) {
	s := latchkeyTemplate(t)
	fnIDs := s.functionsByName(t)
	groups := map[string]string{} // log group id -> function name
	for name, id := range fnIDs {
		logging, _ := props(s.resources[id])["LoggingConfig"].(map[string]any)
		groups[ref(logging["LogGroup"])] = name
	}
	got := map[string][]string{} // metric -> function names
	for _, id := range s.ofType("AWS::Logs::MetricFilter") {
		p := props(s.resources[id])
		fn := groups[ref(p["LogGroupName"])]
		if fn == "" {
			t.Errorf("filter %s: got log group %v, want a function's", id, p["LogGroupName"])
			continue
		}
		trs := anys(p["MetricTransformations"])
		if len(trs) != 1 {
			t.Fatalf("filter %s: got %d transformations, want 1", id, len(trs))
		}
		tr := trs[0].(map[string]any)
		if tr["MetricNamespace"] != "Latchkey/Test" || tr["MetricValue"] != "1" {
			t.Errorf("filter %s: got namespace %v value %v, want Latchkey/Test and 1", id, tr["MetricNamespace"], tr["MetricValue"])
		}
		metric, _ := tr["MetricName"].(string)
		for _, m := range errorCodeMetrics {
			if m.Metric == metric {
				if want := fmt.Sprintf(`{ $.error_code = "%s" }`, m.Code); p["FilterPattern"] != want {
					t.Errorf("filter %s: got pattern %v, want %s", id, p["FilterPattern"], want)
				}
			}
		}
		got[metric] = append(got[metric], fn)
	}
	var all []string
	for _, f := range catalog.Functions() {
		all = append(all, f.Name)
	}
	sort.Strings(all)
	codes := map[string]bool{}
	for _, m := range errorCodeMetrics {
		codes[m.Code] = true
		fns := got[m.Metric]
		sort.Strings(fns)
		if !reflect.DeepEqual(fns, all) {
			t.Errorf("metric %s: got filters on %v, want on every function %v", m.Metric, fns, all)
		}
		must(t, m.Metric+" spike alarm", func() {
			s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
				"Namespace": "Latchkey/Test", "MetricName": m.Metric, "Statistic": "Sum", "Period": 300, "Threshold": m.Spike,
			})
		})
	}
	for _, c := range []string{"account_locked", "rate_limited"} {
		if !codes[c] {
			t.Errorf("counted codes: got %v, want %s among them", codes, c)
		}
	}
}

// dashboardBody is the dashboard's JSON body with its tokens left as they
// are (the body is an Fn::Join of strings and references).
func dashboardBody(t *testing.T, s synthed) (name any, body string) {
	t.Helper()
	p := props(s.resources[s.the(t, "AWS::CloudWatch::Dashboard")])
	join, _ := p["DashboardBody"].(map[string]any)["Fn::Join"].([]any)
	var b strings.Builder
	if len(join) == 2 {
		for _, part := range anys(join[1]) {
			if str, ok := part.(string); ok {
				b.WriteString(str)
			} else {
				j, _ := json.Marshal(part)
				b.Write(j)
			}
		}
	}
	return p["DashboardName"], b.String()
}

// One dashboard, named after the stack, shows the API's requests, 4xx, 5xx
// and latency, a graph per function (invocations, errors, throttles, p99
// duration), the table's consumed capacity and throttles, SES's sends,
// bounces and complaints, the error-code metrics and the failure queue.
func TestLatchkeyStack_Dashboard(t *testing.T) {
	s := latchkeyTemplate(t)
	name, body := dashboardBody(t, s)
	if name != "Test" {
		t.Errorf("DashboardName: got %v, want the stack name Test", name)
	}
	for _, f := range catalog.Functions() {
		if !strings.Contains(body, `"title":"Function `+f.Name+`"`) {
			t.Errorf("dashboard: got no widget titled %q", "Function "+f.Name)
		}
	}
	for _, want := range []string{
		`"AWS/ApiGateway","Count"`, `"AWS/ApiGateway","4xx"`, `"AWS/ApiGateway","5xx"`, `"AWS/ApiGateway","Latency"`,
		`"AWS/Lambda","Invocations"`, `"AWS/Lambda","Errors"`, `"AWS/Lambda","Throttles"`, `"AWS/Lambda","Duration"`, `"stat":"p99"`,
		`"AWS/DynamoDB","ConsumedReadCapacityUnits"`, `"AWS/DynamoDB","ConsumedWriteCapacityUnits"`, `"AWS/DynamoDB","ReadThrottleEvents"`, `"AWS/DynamoDB","WriteThrottleEvents"`,
		`"AWS/SES","Send"`, `"AWS/SES","Bounce"`, `"AWS/SES","Complaint"`,
		`"Latchkey/Test","AccountLocked"`, `"Latchkey/Test","RateLimited"`,
		`"AWS/SQS","ApproximateNumberOfMessagesVisible"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard: got no metric %s", want)
		}
	}
}

// The $default route sends what matches no route to the DefaultRouteFunction
// (admin) through its Lambda integration, with its invoke permission; that
// function's server answers route_not_found there (shared/httpapi's
// TestServer_Handle_DefaultRoute).
func TestLatchkeyStack_DefaultRoute(t *testing.T) {
	s := latchkeyTemplate(t)
	if DefaultRouteFunction != "admin" || len(routes.ForFunction(catalog.Routes(), DefaultRouteFunction)) == 0 {
		t.Fatalf("DefaultRouteFunction: got %q, want admin, a function serving routes", DefaultRouteFunction)
	}
	fn := s.functionsByName(t)[DefaultRouteFunction]
	var target string
	for _, id := range s.ofType("AWS::ApiGatewayV2::Route") {
		if p := props(s.resources[id]); p["RouteKey"] == "$default" {
			b, _ := json.Marshal(p["Target"])
			target = string(b)
		}
	}
	if target == "" {
		t.Fatal("$default route: got none, want one")
	}
	var integration string
	for _, id := range s.ofType("AWS::ApiGatewayV2::Integration") {
		if p := props(s.resources[id]); ref(p["IntegrationUri"]) == fn && strings.Contains(target, `"Ref":"`+id+`"`) {
			integration = id
			if p["IntegrationType"] != "AWS_PROXY" || p["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration: got %v, want AWS_PROXY payload 2.0", p)
			}
		}
	}
	if integration == "" {
		t.Errorf("$default target: got %s, want the %s function's integration", target, DefaultRouteFunction)
	}
	// One integration per function: $default shares admin's.
	n := 0
	for _, id := range s.ofType("AWS::ApiGatewayV2::Integration") {
		if ref(props(s.resources[id])["IntegrationUri"]) == fn {
			n++
		}
	}
	if n != 1 {
		t.Errorf("integrations of %s: got %d, want 1", DefaultRouteFunction, n)
	}
	found := false
	for _, id := range s.ofType("AWS::Lambda::Permission") {
		p := props(s.resources[id])
		b, _ := json.Marshal(p["SourceArn"])
		if p["Principal"] == "apigateway.amazonaws.com" && reflect.DeepEqual(p["FunctionName"], map[string]any{"Fn::GetAtt": []any{fn, "Arn"}}) && strings.HasSuffix(string(b), `"/*/*"]]}`) {
			found = true
		}
	}
	if !found {
		t.Errorf("invoke permission for $default (source <api>/*/*, which $default's <api>/<stage>/$default matches): got none, want one")
	}
}

// Every public route (no roles: sign-in, the new-password challenge,
// forgot password, signup, the link routes, welcome), and no other, has its
// own throttle on the stage at publicThrottleRate and publicThrottleBurst,
// and the stage is created after those routes.
func TestLatchkeyStack_PublicRouteThrottles(t *testing.T) {
	s := latchkeyTemplate(t)
	stageID := s.the(t, "AWS::ApiGatewayV2::Stage")
	stage := s.resources[stageID]
	settings, _ := props(stage)["RouteSettings"].(map[string]any)
	var want []string
	for _, r := range catalog.Routes() {
		if r.Public() {
			want = append(want, r.Key())
		}
	}
	if len(want) < 5 {
		t.Fatalf("public routes: got %v, want sign-in, reset, signup, links, welcome", want)
	}
	var got []string
	for k, v := range settings {
		got = append(got, k)
		wantSettings := map[string]any{"ThrottlingRateLimit": s.cfg.PublicThrottleRate, "ThrottlingBurstLimit": s.cfg.PublicThrottleBurst}
		if !reflect.DeepEqual(v, wantSettings) {
			t.Errorf("route %s: got %v, want %v", k, v, wantSettings)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("throttled routes: got %v, want the public routes %v", got, want)
	}
	if s.cfg.PublicThrottleRate >= s.cfg.ThrottleRate || s.cfg.PublicThrottleBurst >= s.cfg.ThrottleBurst {
		t.Errorf("public throttle %v/%v: want it below the stage's %v/%v", s.cfg.PublicThrottleRate, s.cfg.PublicThrottleBurst, s.cfg.ThrottleRate, s.cfg.ThrottleBurst)
	}
	deps := strings1(stage["DependsOn"])
	for _, id := range s.ofType("AWS::ApiGatewayV2::Route") {
		if key, _ := props(s.resources[id])["RouteKey"].(string); slices.Contains(want, key) && !slices.Contains(deps, id) {
			t.Errorf("stage: got DependsOn %v, want route %s (%s) among them", deps, id, key)
		}
	}
}

// The dev and prod stages synthesize as two independent stacks: their own
// stack, API, dashboard, alarm and metric names, and their own settings:
// prod's table has deletion protection and is retained with the secret and
// the topic key, keeps a year of logs; dev's has no deletion protection, is
// deleted with the stack, keeps two weeks.
func TestLatchkeyStack_Stages(t *testing.T) {
	dev, prod := latchkeyTemplate(t), prodTemplate(t)
	if StackName(StageDev) != "Latchkey-dev" || StackName(StageProd) != "Latchkey-prod" {
		t.Errorf("stack names: got %s and %s, want Latchkey-dev and Latchkey-prod", StackName(StageDev), StackName(StageProd))
	}
	// The dev stage of cdk.json, synthesized under its stage's name as main does.
	devNamed, name := synthStage(t, nil)
	if devNamed.err != nil {
		t.Fatal(devNamed.err)
	}
	if name != "Latchkey-dev" {
		t.Errorf("dev stack: got %s, want Latchkey-dev", name)
	}
	for stage, c := range map[string]struct {
		s         synthed
		stack     string
		protect   bool
		policy    string
		retention float64
	}{
		StageDev:  {devNamed, "Latchkey-dev", false, "Delete", 14},
		StageProd: {prod, "Latchkey-prod", true, "Retain", 365},
	} {
		t.Run(stage, func(t *testing.T) {
			s := c.s
			if got := props(s.resources[s.the(t, "AWS::ApiGatewayV2::Api")])["Name"]; got != c.stack+"-api" {
				t.Errorf("API name: got %v, want %s-api", got, c.stack)
			}
			if name, _ := dashboardBody(t, s); name != c.stack {
				t.Errorf("dashboard name: got %v, want %s", name, c.stack)
			}
			table := s.resources[s.the(t, "AWS::DynamoDB::Table")]
			if got := props(table)["DeletionProtectionEnabled"]; got != c.protect {
				t.Errorf("table deletion protection: got %v, want %v", got, c.protect)
			}
			for _, id := range []string{s.the(t, "AWS::DynamoDB::Table"), s.masterKey(t), s.the(t, "AWS::KMS::Key")} {
				if got := s.resources[id]["DeletionPolicy"]; got != c.policy {
					t.Errorf("%s DeletionPolicy: got %v, want %s", id, got, c.policy)
				}
			}
			for _, id := range s.ofType("AWS::Logs::LogGroup") {
				if got := props(s.resources[id])["RetentionInDays"]; got != c.retention {
					t.Errorf("log group %s retention: got %v, want %v", id, got, c.retention)
				}
			}
			for _, id := range s.ofType("AWS::Logs::MetricFilter") {
				tr := anys(props(s.resources[id])["MetricTransformations"])[0].(map[string]any)
				if tr["MetricNamespace"] != "Latchkey/"+c.stack {
					t.Errorf("filter %s namespace: got %v, want Latchkey/%s", id, tr["MetricNamespace"], c.stack)
				}
			}
			for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
				if name, _ := props(s.resources[id])["AlarmName"].(string); !strings.HasPrefix(name, c.stack+"-") {
					t.Errorf("alarm %s: got name %q, want it to start with %s-", id, name, c.stack)
				}
			}
		})
	}
	// Both stages in one app, as two stacks of one `cdk synth`.
	ctx := cdkContext(t)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	for _, cfg := range []Config{dev.cfg, prod.cfg} {
		cfg.BuildDir = buildDir
		NewLatchkeyStack(app, StackName(cfg.Stage), &LatchkeyStackProps{Config: cfg})
	}
	var names []string
	for _, st := range *app.Synth(nil).Stacks() {
		names = append(names, *st.StackName())
	}
	sort.Strings(names)
	if want := []string{"Latchkey-dev", "Latchkey-prod"}; !reflect.DeepEqual(names, want) {
		t.Errorf("stacks of one app: got %v, want %v", names, want)
	}
}

// A prod stage refuses the placeholder sender of cdk.json: from the
// context, Validate fails with a message naming it, and so the stack (and
// `cdk synth -c stage=prod`) does not build; a real sender builds.
func TestLatchkeyStack_ProdRefusesPlaceholderSender(t *testing.T) {
	s, _ := synthStage(t, map[string]any{ctxStage: StageProd})
	if s.err == nil || !strings.Contains(s.err.Error(), "senderEmail") || !strings.Contains(s.err.Error(), PlaceholderSender) || !strings.Contains(s.err.Error(), "prod stage") {
		t.Errorf("prod with the placeholder sender: got %v, want an error naming senderEmail, %s and the prod stage", s.err, PlaceholderSender)
	}
	// The same sender is fine for dev, and a real one for prod.
	if dev, _ := synthStage(t, nil); dev.err != nil {
		t.Errorf("dev with the placeholder sender: got %v, want no error", dev.err)
	}
	prodTemplate(t)
	t.Run("stage", func(t *testing.T) {
		s, _ := synthStage(t, map[string]any{ctxStage: "staging"})
		if s.err == nil || !strings.Contains(s.err.Error(), "stage") {
			t.Errorf("stage staging: got %v, want an error naming the stage", s.err)
		}
	})
}
