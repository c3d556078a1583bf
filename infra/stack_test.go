package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/schema"
)

// scheduledFn is an extra function used to test the schedule code path;
// routes has none yet.
var scheduledFn = routes.Function{
	Name:        "test-reminders",
	Description: "Test-only scheduled function",
	Needs:       routes.Needs{TableRead: true},
	Schedule:    "rate(1 hour)",
}

// buildDir holds a dummy bootstrap per function, made in TestMain.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latchkey-build-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, f := range append(catalog.Functions(), scheduledFn) {
		p := filepath.Join(dir, f.Name, "bootstrap")
		err := os.MkdirAll(filepath.Dir(p), 0o755)
		if err == nil {
			err = os.WriteFile(p, []byte("dummy "+f.Name), 0o755)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	buildDir = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synthed is one synthesized stack: the assertions template and its JSON.
type synthed struct {
	cfg       Config
	template  assertions.Template
	resources map[string]map[string]any
	err       error
}

var (
	mainOnce, schedOnce sync.Once
	mainStack, schedStk synthed
)

// cdkContext returns the context of the repository's cdk.json, so the tests
// see the same defaults and feature flags as `cdk synth`.
func cdkContext(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../cdk.json")
	if err != nil {
		t.Fatalf("read cdk.json: %v", err)
	}
	var doc struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse cdk.json: %v", err)
	}
	if got, want := doc.App, "go run ./infra"; got != want {
		t.Fatalf("cdk.json app: got %q, want %q", got, want)
	}
	return doc.Context
}

// synth builds a stack from cdk.json's context, with BuildDir pointing at the
// dummy build, and fns/rts replacing the routes tables when not nil.
func synth(t *testing.T, fns []routes.Function, rts []routes.Route) (s synthed) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			s.err = fmt.Errorf("synth panicked: %v", r)
		}
	}()
	ctx := cdkContext(t)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cfg, err := ConfigFromContext(app)
	if err != nil {
		return synthed{err: err}
	}
	cfg.BuildDir = buildDir
	stack := NewLatchkeyStack(app, "Test", &LatchkeyStackProps{Config: cfg, functions: fns, routes: rts})
	tpl := assertions.Template_FromStack(stack.Stack(), nil)
	s = synthed{cfg: cfg, template: tpl, resources: map[string]map[string]any{}}
	raw, _ := (*tpl.ToJSON())["Resources"].(map[string]any)
	for id, r := range raw {
		s.resources[id], _ = r.(map[string]any)
	}
	return s
}

// latchkeyTemplate is the stack of the real routes tables, synthesized once.
func latchkeyTemplate(t *testing.T) synthed {
	t.Helper()
	mainOnce.Do(func() { mainStack = synth(t, nil, nil) })
	if mainStack.err != nil {
		t.Fatal(mainStack.err)
	}
	return mainStack
}

// must turns an assertion's panic into a test error.
func must(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

// ofType returns the logical ids of the resources of type typ, sorted.
func (s synthed) ofType(typ string) []string {
	var ids []string
	for id, r := range s.resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// ref returns the logical id v refers to through {"Ref": id} or
// {"Fn::GetAtt": [id, attr]}, or "".
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if id, ok := m["Ref"].(string); ok {
		return id
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		id, _ := ga[0].(string)
		return id
	}
	return ""
}

// functionsByName maps each Lambda function's latchkey:function tag to its
// logical id.
func (s synthed) functionsByName(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range s.ofType("AWS::Lambda::Function") {
		tags, _ := props(s.resources[id])["Tags"].([]any)
		for _, tag := range tags {
			kv, _ := tag.(map[string]any)
			if kv["Key"] == FunctionTag {
				name, _ := kv["Value"].(string)
				out[name] = id
			}
		}
	}
	return out
}

// the returns the logical id of the only resource of type typ.
func (s synthed) the(t *testing.T, typ string) string {
	t.Helper()
	ids := s.ofType(typ)
	if len(ids) != 1 {
		t.Fatalf("%s resources: got %d, want 1", typ, len(ids))
	}
	return ids[0]
}

func TestLatchkeyStack_Routes(t *testing.T) {
	s := latchkeyTemplate(t)
	fnIDs := s.functionsByName(t)
	// Every route of the table, and $default (TestLatchkeyStack_DefaultRoute).
	must(t, "route count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Route"), jsii.Number(len(catalog.Routes())+1))
	})
	must(t, "invoke permission count", func() {
		s.template.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::Permission"),
			&map[string]any{"Principal": "apigateway.amazonaws.com"}, jsii.Number(len(catalog.Routes())+1))
	})
	for _, r := range catalog.Routes() {
		t.Run(r.Key(), func(t *testing.T) {
			target := assertions.NewCapture(nil)
			must(t, "route", func() {
				s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), &map[string]any{
					"RouteKey": r.Key(),
					"Target":   target,
				})
			})
			if t.Failed() {
				return
			}
			// Target is {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]}.
			join, _ := (*target.AsObject())["Fn::Join"].([]any)
			var integration string
			if len(join) == 2 {
				if parts, ok := join[1].([]any); ok && len(parts) == 2 && parts[0] == "integrations/" {
					integration = ref(parts[1])
				}
			}
			in := props(s.resources[integration])
			if in == nil {
				t.Fatalf("route target: got %v, want integrations/<integration>", *target.AsObject())
			}
			if got, want := in["IntegrationType"], "AWS_PROXY"; got != want {
				t.Errorf("IntegrationType: got %v, want %v", got, want)
			}
			if got, want := in["PayloadFormatVersion"], "2.0"; got != want {
				t.Errorf("PayloadFormatVersion: got %v, want %v", got, want)
			}
			if got, want := ref(in["IntegrationUri"]), fnIDs[r.Function]; got != want || want == "" {
				t.Errorf("integration function: got %q, want %q (function %s)", got, want, r.Function)
			}
		})
	}
}

func TestLatchkeyStack_IAM(t *testing.T) {
	s := latchkeyTemplate(t)

	t.Run("no wildcard actions", func(t *testing.T) {
		n := 0
		// The web assets' deployment role holds the CDK's own S3 grants
		// (TestWeb_DeploymentRole checks them).
		walkStatements(withoutWebDeployment(s.resources), func(where string, st map[string]any) {
			for _, a := range strings1(st["Action"]) {
				n++
				if strings.Contains(a, "*") {
					t.Errorf("%s: got action %q, want no wildcard", where, a)
				}
			}
			if _, ok := st["NotAction"]; ok {
				t.Errorf("%s: got NotAction, want Action", where)
			}
		})
		if n == 0 {
			t.Errorf("actions seen: got 0, want some")
		}
	})

	t.Run("no managed policies", func(t *testing.T) {
		for _, id := range s.ofType("AWS::IAM::Role") {
			if m, ok := props(s.resources[id])["ManagedPolicyArns"]; ok {
				t.Errorf("role %s: got managed policies %v, want none", id, m)
			}
		}
	})

	fnIDs := s.functionsByName(t)
	for _, f := range catalog.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			role := ref(props(s.resources[fnIDs[f.Name]])["Role"])
			if role == "" {
				t.Fatalf("function %s role: got none, want one", f.Name)
			}
			got := map[string]bool{}
			s.roleStatements(role, func(where string, st map[string]any) {
				for _, a := range strings1(st["Action"]) {
					got[a] = true
				}
				if st["Resource"] == "*" && !onlyStarActions(st) {
					t.Errorf("%s: got Resource * for %v, want a resource ARN", where, st["Action"])
				}
			})
			want := map[string]bool{"logs:CreateLogStream": true, "logs:PutLogEvents": true}
			add := func(on bool, actions []string) {
				for _, a := range actions {
					if on {
						want[a] = true
					}
				}
			}
			add(f.Needs.TableRead, tableReadActions)
			add(f.Needs.TableWrite, tableWriteActions)
			add(f.Needs.Secret, secretActions)
			add(f.Needs.Email, emailActions)
			add(f.Needs.SMS, smsActions)
			add(len(f.StreamFilters) > 0, streamReadActions)
			add(len(f.StreamFilters) > 0 || f.Schedule != "" || f.SESEvents, failureQueueActions)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("actions: got %v, want %v", keys(got), keys(want))
			}
		})
	}

	t.Run("email identities", func(t *testing.T) {
		addr, _ := senderAddress(s.cfg.SenderEmail)
		domain := addr[strings.LastIndexByte(addr, '@')+1:]
		var resources []string
		walkStatements(s.resources, func(where string, st map[string]any) {
			if reflect.DeepEqual(strings1(st["Action"]), emailActions) {
				b, _ := json.Marshal(st["Resource"])
				resources = append(resources, string(b))
			}
		})
		if len(resources) == 0 {
			t.Fatalf("ses:SendEmail statements: got 0, want at least 1")
		}
		for _, r := range resources {
			for _, want := range []string{":identity/" + addr + `"`, ":identity/" + domain + `"`} {
				if !strings.Contains(r, want) {
					t.Errorf("ses:SendEmail resources: got %s, want one ending %s", r, want)
				}
			}
		}
	})
}

// functionActions are the only IAM actions a function role may hold, by the
// routes.Needs that grant them: the operations shared/dynamo calls (a
// transaction's items are checked against PutItem, UpdateItem, DeleteItem and
// ConditionCheckItem), and no more. They are written out here, not read from
// stack.go, so that widening a grant there fails this test.
func functionActions(n routes.Needs) []string {
	out := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	if n.TableRead {
		out = append(out, "dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem")
	}
	if n.TableWrite {
		out = append(out, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
	}
	if n.Secret {
		out = append(out, "secretsmanager:GetSecretValue")
	}
	if n.Email {
		out = append(out, "ses:SendEmail")
	}
	if n.SMS {
		out = append(out, "sns:Publish")
	}
	sort.Strings(out)
	return out
}

// roleStatements calls f for every statement of the policies attached to the
// role with logical id role, and of its inline policies.
func (s synthed) roleStatements(role string, f func(where string, st map[string]any)) {
	mine := map[string]map[string]any{role: s.resources[role]}
	for _, id := range s.ofType("AWS::IAM::Policy") {
		for _, r := range anys(props(s.resources[id])["Roles"]) {
			if ref(r) == role {
				mine[id] = s.resources[id]
			}
		}
	}
	walkStatements(mine, f)
}

func TestLatchkeyStack_FunctionRoleActions(t *testing.T) {
	s := latchkeyTemplate(t)
	allowed := map[string]bool{}
	for _, a := range functionActions(routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true}) {
		allowed[a] = true
	}
	for _, a := range append(streamReadActions, failureQueueActions...) {
		allowed[a] = true
	}
	table := s.the(t, "AWS::DynamoDB::Table")
	queueArn := map[string]any{"Fn::GetAtt": []any{s.the(t, "AWS::SQS::Queue"), "Arn"}}
	tableArn := map[string]any{"Fn::GetAtt": []any{table, "Arn"}}
	indexArn := map[string]any{"Fn::Join": []any{"", []any{tableArn, "/index/*"}}}
	readOnly := map[string]bool{"dynamodb:GetItem": true, "dynamodb:Query": true, "dynamodb:ConditionCheckItem": true}

	fnIDs := s.functionsByName(t)
	for _, f := range catalog.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			role := ref(props(s.resources[fnIDs[f.Name]])["Role"])
			if role == "" {
				t.Fatalf("function %s role: got none, want one", f.Name)
			}
			got := map[string]bool{}
			s.roleStatements(role, func(where string, st map[string]any) {
				if e := st["Effect"]; e != "Allow" {
					t.Errorf("%s: got Effect %v, want Allow", where, e)
				}
				if acts := strings1(st["Action"]); len(acts) > 0 && strings.HasPrefix(acts[0], "sqs:") {
					// The failure queue's send actions, on that queue only.
					if !reflect.DeepEqual(acts, failureQueueActions) || !reflect.DeepEqual(st["Resource"], queueArn) {
						t.Errorf("%s: got %v on %v, want %v on %v", where, acts, st["Resource"], failureQueueActions, queueArn)
					}
					for _, a := range acts {
						got[a] = true
					}
					return
				}
				var dynamo, index bool
				for _, a := range strings1(st["Action"]) {
					got[a] = true
					if !allowed[a] {
						t.Errorf("%s: got action %q, want only %v", where, a, keys(allowed))
					}
					dynamo = dynamo || strings.HasPrefix(a, "dynamodb:")
					index = index || a == "dynamodb:Query"
				}
				if !dynamo || st["Resource"] == "*" && onlyStarActions(st) {
					return
				}
				if stream := strings1(st["Action"]); len(stream) > 0 && slices.Contains(streamReadActions, stream[0]) {
					// The stream's read actions, on the table's stream only.
					for _, a := range stream {
						if !slices.Contains(streamReadActions, a) {
							t.Errorf("%s: got %q with the stream's actions, want only %v", where, a, streamReadActions)
						}
					}
					if want := (map[string]any{"Fn::GetAtt": []any{table, "StreamArn"}}); !reflect.DeepEqual(st["Resource"], want) {
						t.Errorf("%s: got Resource %v for %v, want %v", where, st["Resource"], stream, want)
					}
					return
				}
				// Query reaches the indexes (ListUsers on GSI1 and GSI2, ListTenants); nothing else
				// touches an index, and nothing reaches another table.
				want := []any{tableArn}
				if index {
					want = append(want, indexArn)
					for _, a := range strings1(st["Action"]) {
						if !readOnly[a] {
							t.Errorf("%s: got %q on the indexes, want only %v there", where, a, keys(readOnly))
						}
					}
				}
				res, ok := st["Resource"].([]any)
				if !ok {
					res = []any{st["Resource"]}
				}
				if !reflect.DeepEqual(res, want) {
					t.Errorf("%s: got Resource %v for %v, want %v", where, res, st["Action"], want)
				}
			})
			if got, want := keys(got), roleActions(f); !reflect.DeepEqual(got, want) {
				t.Errorf("actions: got %v, want %v", got, want)
			}
		})
	}
}

func TestLatchkeyStack_NoBatchActions(t *testing.T) {
	s := latchkeyTemplate(t)
	banned := map[string]bool{"dynamodb:BatchGetItem": true, "dynamodb:BatchWriteItem": true}
	n := 0
	walkStatements(s.resources, func(where string, st map[string]any) {
		for _, a := range strings1(st["Action"]) {
			if strings.HasPrefix(a, "dynamodb:") {
				n++
			}
			if banned[a] || strings.HasPrefix(a, "dynamodb:Batch") {
				t.Errorf("%s: got action %q, want no batch operation (nothing calls one)", where, a)
			}
		}
	})
	if n == 0 {
		t.Errorf("dynamodb actions seen: got 0, want some")
	}
	for _, a := range append(append([]string{}, tableReadActions...), tableWriteActions...) {
		if banned[a] {
			t.Errorf("table actions: got %q, want no batch operation", a)
		}
	}
}

func TestLatchkeyStack_AccessLogs(t *testing.T) {
	s := latchkeyTemplate(t)
	dest, format := assertions.NewCapture(nil), assertions.NewCapture(nil)
	must(t, "stage access log settings", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), &map[string]any{
			"StageName": "$default",
			"AccessLogSettings": map[string]any{
				"DestinationArn": dest,
				"Format":         format,
			},
		})
	})
	if t.Failed() {
		return
	}

	t.Run("destination", func(t *testing.T) {
		arn := *dest.AsObject()
		ga, _ := arn["Fn::GetAtt"].([]any)
		if len(ga) != 2 || ga[1] != "Arn" {
			t.Fatalf("DestinationArn: got %v, want the Arn of a log group", arn)
		}
		lg := s.resources[ref(arn)]
		if got, want := lg["Type"], "AWS::Logs::LogGroup"; got != want {
			t.Fatalf("DestinationArn: got a %v, want a %s", got, want)
		}
		if got, want := props(lg)["RetentionInDays"], float64(s.cfg.LogRetention); got != want {
			t.Errorf("RetentionInDays: got %v, want %v", got, want)
		}
		// Retained on delete, like the functions' log groups.
		for _, k := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
			if got, want := lg[k], "Retain"; got != want {
				t.Errorf("%s: got %v, want %v", k, got, want)
			}
		}
		for _, id := range s.ofType("AWS::Lambda::Function") {
			logging, _ := props(s.resources[id])["LoggingConfig"].(map[string]any)
			if ref(logging["LogGroup"]) == ref(arn) {
				t.Errorf("access log group: got function %s's log group, want its own", id)
			}
		}
	})

	t.Run("format", func(t *testing.T) {
		raw := *format.AsString()
		var fields map[string]string
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			t.Fatalf("Format %s: got %v, want a JSON object of strings", raw, err)
		}
		for k, want := range map[string]string{
			"requestId":               "$context.requestId",
			"ip":                      "$context.identity.sourceIp",
			"requestTime":             "$context.requestTime",
			"httpMethod":              "$context.httpMethod",
			"routeKey":                "$context.routeKey",
			"path":                    "$context.path",
			"status":                  "$context.status",
			"protocol":                "$context.protocol",
			"responseLength":          "$context.responseLength",
			"integrationLatency":      "$context.integrationLatency",
			"responseLatency":         "$context.responseLatency",
			"integrationErrorMessage": "$context.integrationErrorMessage",
			"userAgent":               "$context.identity.userAgent",
		} {
			if got := fields[k]; got != want {
				t.Errorf("Format %s: got %q, want %q", k, got, want)
			}
		}
		// Tokens travel in the Authorization header, passwords in bodies.
		lower := strings.ToLower(raw)
		for _, bad := range []string{"authorization", "header", "body", "$input", "querystring", "$request"} {
			if strings.Contains(lower, bad) {
				t.Errorf("Format: got %s, want nothing matching %q", raw, bad)
			}
		}
		for k, v := range fields {
			if !strings.HasPrefix(v, "$context.") || strings.Count(v, "$") != 1 {
				t.Errorf("Format %s: got %q, want one $context variable", k, v)
			}
		}
	})

	must(t, "log group count", func() {
		// The functions', the API's access logs and the web deployment's.
		s.template.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(len(catalog.Functions())+2))
	})
}

func TestLatchkeyStack_Table(t *testing.T) {
	s := latchkeyTemplate(t)
	must(t, "table count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::DynamoDB::Table"), jsii.Number(1))
	})
	must(t, "table properties", func() {
		s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"TimeToLiveSpecification": map[string]any{
				"AttributeName": schema.Schema.TTLAttribute,
				"Enabled":       true,
			},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			// The dev stage's; prod's in TestLatchkeyStack_Stages.
			"DeletionProtectionEnabled": false,
			"KeySchema": []any{
				map[string]any{"AttributeName": schema.Schema.Keys.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": schema.Schema.Keys.SortKey, "KeyType": "RANGE"},
			},
		})
	})
	// A dev stack's data goes with it; prod's is retained (TestLatchkeyStack_Stages).
	must(t, "table deleted with a dev stack", func() {
		s.template.HasResource(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"DeletionPolicy":      "Delete",
			"UpdateReplacePolicy": "Delete",
		})
	})
	if got, want := schema.Schema.TTLAttribute, "ttl"; got != want {
		t.Errorf("TTL attribute: got %q, want %q", got, want)
	}

	table := props(s.resources[s.the(t, "AWS::DynamoDB::Table")])
	for _, ix := range schema.Schema.Indexes {
		t.Run("index "+ix.Name, func(t *testing.T) {
			var found map[string]any
			for _, g := range anys(table["GlobalSecondaryIndexes"]) {
				if m, _ := g.(map[string]any); m["IndexName"] == ix.Name {
					found = m
				}
			}
			if found == nil {
				t.Fatalf("index %s: got none, want one", ix.Name)
			}
			wantKeys := []any{
				map[string]any{"AttributeName": ix.Keys.PartitionKey, "KeyType": "HASH"},
				map[string]any{"AttributeName": ix.Keys.SortKey, "KeyType": "RANGE"},
			}
			if got := found["KeySchema"]; !reflect.DeepEqual(got, wantKeys) {
				t.Errorf("KeySchema: got %v, want %v", got, wantKeys)
			}
			// TestLatchkeyStack_IndexProjections checks the projection.
		})
	}
	t.Run("string keys", func(t *testing.T) {
		for _, a := range anys(table["AttributeDefinitions"]) {
			m, _ := a.(map[string]any)
			if m["AttributeType"] != "S" {
				t.Errorf("attribute %v: got type %v, want S", m["AttributeName"], m["AttributeType"])
			}
		}
	})
	must(t, "secret", func() {
		s.template.HasResource(jsii.String("AWS::SecretsManager::Secret"), &map[string]any{
			"DeletionPolicy": "Delete",
			"Properties": map[string]any{
				"GenerateSecretString": map[string]any{"ExcludePunctuation": true, "PasswordLength": 64},
			},
		})
	})
}

func TestLatchkeyStack_Functions(t *testing.T) {
	s := latchkeyTemplate(t)
	must(t, "function count", func() {
		// The catalog's and the web assets' deployment function (newWeb).
		s.template.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(len(catalog.Functions())+1))
	})
	// Errors, throttles and p99 duration of each function, the failure
	// queue, the API's 5xx count and rate, the table's read and write
	// throttles, SES's bounce and complaint rates, one per error code.
	must(t, "alarm count", func() {
		s.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(3*len(catalog.Functions())+1+2+2+2+len(errorCodeMetrics)))
	})
	table := s.the(t, "AWS::DynamoDB::Table")
	secret := s.masterKey(t)
	fnIDs := s.functionsByName(t)
	if got, want := len(fnIDs), len(catalog.Functions()); got != want {
		t.Errorf("tagged functions: got %d, want %d", got, want)
	}
	for _, f := range catalog.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			p := props(s.resources[fnIDs[f.Name]])
			if p == nil {
				t.Fatalf("function tagged %s: got none, want one", f.Name)
			}
			for k, want := range map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    memoryMB(f),
				"Timeout":       timeoutOf(f),
				"Description":   f.Description,
			} {
				if got := p[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %v, want %v", k, got, want)
				}
			}
			env, _ := p["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			if got, want := ref(vars["TABLE_NAME"]), table; got != want {
				t.Errorf("TABLE_NAME: got %v, want a Ref to %s", vars["TABLE_NAME"], want)
			}
			if got, want := ref(vars["SECRET_ARN"]), secret; got != want {
				t.Errorf("SECRET_ARN: got %v, want a Ref to %s", vars["SECRET_ARN"], want)
			}
			for k, want := range map[string]string{
				"SENDER_EMAIL":    s.cfg.SenderEmail,
				"SMS_SENDER_ID":   s.cfg.SMSSenderID,
				"PUBLIC_BASE_URL": s.cfg.PublicBaseURL,
				"LOG_LEVEL":       "info",
			} {
				if got, ok := vars[k]; !ok || got != want {
					t.Errorf("%s: got %v, want %q", k, got, want)
				}
			}
			logging, _ := p["LoggingConfig"].(map[string]any)
			lg := props(s.resources[ref(logging["LogGroup"])])
			if lg == nil {
				t.Fatalf("LoggingConfig.LogGroup: got %v, want a log group of the stack", logging["LogGroup"])
			}
			if got, want := lg["RetentionInDays"], float64(s.cfg.LogRetention); got != want {
				t.Errorf("RetentionInDays: got %v, want %v", got, want)
			}
			// Near its timeout: the slowest calls are about to fail.
			must(t, "Duration alarm", func() {
				s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
					"MetricName":        "Duration",
					"Namespace":         "AWS/Lambda",
					"ExtendedStatistic": "p99",
					"Threshold":         DurationAlarmFraction * timeoutOf(f) * 1000,
					"EvaluationPeriods": 3,
					"Period":            300,
					"Dimensions": []any{map[string]any{
						"Name":  "FunctionName",
						"Value": map[string]any{"Ref": fnIDs[f.Name]},
					}},
				})
			})
			for metric, threshold := range map[string]float64{"Errors": FunctionErrorThreshold, "Throttles": FunctionThrottleThreshold} {
				must(t, metric+" alarm", func() {
					s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
						"MetricName":         metric,
						"Namespace":          "AWS/Lambda",
						"Statistic":          "Sum",
						"Threshold":          threshold,
						"ComparisonOperator": "GreaterThanOrEqualToThreshold",
						"EvaluationPeriods":  3,
						"DatapointsToAlarm":  2,
						"Period":             300,
						"Dimensions": []any{map[string]any{
							"Name":  "FunctionName",
							"Value": map[string]any{"Ref": fnIDs[f.Name]},
						}},
					})
				})
			}
		})
	}
}

func TestLatchkeyStack_API(t *testing.T) {
	s := latchkeyTemplate(t)
	must(t, "api", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), &map[string]any{"ProtocolType": "HTTP"})
	})
	must(t, "stage", func() {
		s.template.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::Stage"), jsii.Number(1))
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), &map[string]any{
			"StageName":  "$default",
			"AutoDeploy": true,
			"DefaultRouteSettings": map[string]any{
				"ThrottlingRateLimit":  s.cfg.ThrottleRate,
				"ThrottlingBurstLimit": s.cfg.ThrottleBurst,
			},
		})
	})
	must(t, "5xx alarm", func() {
		s.template.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), &map[string]any{
			"MetricName": "5xx",
			"Namespace":  "AWS/ApiGateway",
		})
	})
	for _, name := range []string{"ApiUrl", "TableName"} {
		must(t, "output "+name, func() {
			s.template.HasOutput(jsii.String(name), &map[string]any{})
		})
	}
	if got, want := len(s.ofType("AWS::Events::Rule")), 2; got != want {
		t.Errorf("event rules: got %d, want %d (the expiry notifier's schedule, the SES events')", got, want)
	}
}

// The expiry notifier runs at minute 0 of every hour, started by one
// EventBridge rule targeting it, with the invoke permission, and its role
// holds exactly the actions of its Needs.
func TestLatchkeyStack_ExpiryNotifierSchedule(t *testing.T) {
	s := latchkeyTemplate(t)
	fn := s.functionsByName(t)[expiry.FnExpiryNotifier]
	if fn == "" {
		t.Fatalf("function %s: got none, want one", expiry.FnExpiryNotifier)
	}
	if got, want := expiry.Schedule, "cron(0 * * * ? *)"; got != want {
		t.Errorf("schedule: got %q, want %q (every hour at minute 0)", got, want)
	}
	must(t, "rule", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
			"ScheduleExpression": "cron(0 * * * ? *)",
			"State":              "ENABLED",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
			})},
		})
	})
	must(t, "invoke permission", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Principal":    "events.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
		})
	})
	f := declared(t, expiry.FnExpiryNotifier)
	if want := (routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true}); f.Needs != want {
		t.Errorf("needs: got %+v, want %+v", f.Needs, want)
	}
}

func TestLatchkeyStack_Schedule(t *testing.T) {
	schedOnce.Do(func() {
		fns := append(catalog.Functions(), scheduledFn)
		schedStk = synth(t, fns, nil)
	})
	s := schedStk
	if s.err != nil {
		t.Fatal(s.err)
	}
	fn := s.functionsByName(t)[scheduledFn.Name]
	if fn == "" {
		t.Fatalf("function %s: got none, want one", scheduledFn.Name)
	}
	if got, want := props(s.resources[fn])["Timeout"], float64(900); got != want {
		t.Errorf("Timeout: got %v, want %v", got, want)
	}
	must(t, "rule", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Events::Rule"), &map[string]any{
			"ScheduleExpression": scheduledFn.Schedule,
			"State":              "ENABLED",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
			})},
		})
	})
	must(t, "invoke permission", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Principal":    "events.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
		})
	})
}

func TestLatchkeyStack_InvalidConfig(t *testing.T) {
	base := DefaultConfig()
	base.BuildDir = buildDir
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"sender", func(c *Config) { c.SenderEmail = "not an address" }, "senderEmail"},
		{"retention", func(c *Config) { c.LogRetention = 31 }, "logRetentionDays"},
		{"throttle", func(c *Config) { c.ThrottleBurst = 0 }, "throttleBurst"},
		{"send rate", func(c *Config) { c.SMSSendRate = -1 }, "smsSendRate"},
		{"identity", func(c *Config) { c.SESIdentities = []string{"*"} }, "sesIdentities"},
		{"build", func(c *Config) { c.BuildDir = t.TempDir() }, "make build"},
		{"stage", func(c *Config) { c.Stage = "staging" }, "stage"},
		{"prod placeholder sender", func(c *Config) { c.Stage = StageProd }, "placeholder"},
		{"prod example sender", func(c *Config) { c.Stage, c.SenderEmail = StageProd, "Latchkey <id@mail.example.org>" }, "placeholder"},
		{"alarm email", func(c *Config) { c.AlarmEmail = "ops at latchkey" }, "alarmEmail"},
		{"public throttle above the stage's", func(c *Config) { c.PublicThrottleRate = c.ThrottleRate + 1 }, "publicThrottleRate"},
		{"public burst", func(c *Config) { c.PublicThrottleBurst = 0 }, "publicThrottleBurst"},
	}
	if err := base.Validate(catalog.Functions()); err != nil {
		t.Fatalf("default config: got %v, want no error", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.change(&c)
			err := c.Validate(catalog.Functions())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigFromContext(t *testing.T) {
	t.Run("cdk.json", func(t *testing.T) {
		ctx := cdkContext(t)
		got, err := ConfigFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}))
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		if want := DefaultConfig(); !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("command line strings", func(t *testing.T) {
		ctx := map[string]any{
			ctxDeletionProtection: "true",
			ctxRetainData:         "true",
			ctxAlarmEmail:         "ops@latchkey.dev",
			// The prod-only value is not dev's.
			ctxAlarmEmail + ".prod": "oncall@latchkey.dev",
			ctxPublicThrottleRate:   "2",
			ctxPublicThrottleBurst:  "4",
			ctxLogRetentionDays:     "7",
			ctxThrottleRate:         "5",
			ctxThrottleBurst:        "10",
			ctxEmailSendRate:        "1",
			ctxSMSSendRate:          "0",
			ctxSESIdentities:        "tenant.example, other.example",
			ctxBuildDir:             "/tmp/b",
		}
		got, err := ConfigFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}))
		if err != nil {
			t.Fatalf("got error %v, want none", err)
		}
		want := DefaultConfig()
		want.DeletionProtection, want.RetainData = true, true
		want.AlarmEmail = "ops@latchkey.dev"
		want.PublicThrottleRate, want.PublicThrottleBurst = 2, 4
		want.LogRetention = 7
		want.ThrottleRate, want.ThrottleBurst = 5, 10
		want.EmailSendRate, want.SMSSendRate = 1, 0
		want.SESIdentities = []string{"tenant.example", "other.example"}
		want.BuildDir = "/tmp/b"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("bad values", func(t *testing.T) {
		ctx := map[string]any{ctxDeletionProtection: "maybe", ctxLogRetentionDays: "a month"}
		_, err := ConfigFromContext(awscdk.NewApp(&awscdk.AppProps{Context: &ctx}))
		for _, want := range []string{ctxDeletionProtection, ctxLogRetentionDays} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got error %v, want one mentioning %s", err, want)
			}
		}
	})
}

// walkStatements calls f for every statement of every IAM policy in the
// template: AWS::IAM::Policy, managed policies and roles' inline policies.
func walkStatements(resources map[string]map[string]any, f func(where string, st map[string]any)) {
	ids := make([]string, 0, len(resources))
	for id := range resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := resources[id]
		p := props(r)
		var docs []any
		switch r["Type"] {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			docs = append(docs, p["PolicyDocument"])
		case "AWS::IAM::Role":
			for _, inline := range anys(p["Policies"]) {
				m, _ := inline.(map[string]any)
				docs = append(docs, m["PolicyDocument"])
			}
		}
		for _, d := range docs {
			doc, _ := d.(map[string]any)
			for i, st := range anys(doc["Statement"]) {
				if m, ok := st.(map[string]any); ok {
					f(fmt.Sprintf("%s statement %d", id, i), m)
				}
			}
		}
	}
}

// strings1 reads an IAM Action, a string or a list of strings.
func strings1(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func anys(v any) []any {
	l, _ := v.([]any)
	return l
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// timeoutOf is the timeout of f's function in seconds: 10 for a function
// serving routes, 900 for a scheduled one (the expiry notifier's paced
// run over every tenant at its send hour).
func timeoutOf(f routes.Function) float64 {
	if f.Schedule != "" {
		return 900
	}
	if len(f.StreamFilters) > 0 {
		return 60
	}
	return 10
}

// roleActions are the actions of function f's role: those of its Needs,
// and the stream's read actions when the table stream feeds it.
func roleActions(f routes.Function) []string {
	out := functionActions(f.Needs)
	if len(f.StreamFilters) > 0 {
		out = append(out, streamReadActions...)
	}
	if len(f.StreamFilters) > 0 || f.Schedule != "" || f.SESEvents {
		out = append(out, failureQueueActions...)
	}
	sort.Strings(out)
	return out
}

// failureQueueActions are what sending to the failure queue takes
// (Queue.GrantSendMessages), granted to the event-driven functions on that
// queue only.
var failureQueueActions = []string{"sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"}

// starActions are the only actions granted on Resource "*": those that have
// no resource ARN (publishing to a phone number, listing streams).
var starActions = map[string]bool{"sns:Publish": true, "dynamodb:ListStreams": true}

// onlyStarActions reports whether every action of st may be granted on "*".
func onlyStarActions(st map[string]any) bool {
	for _, a := range strings1(st["Action"]) {
		if !starActions[a] {
			return false
		}
	}
	return true
}

// The table's stream (new images) feeds the lock notifier through an event
// source mapping whose filters let through only inserts of the audit events
// of locks (session.sign_in lockouts and user.lock), in batches of
// StreamBatchSize, retried a bounded number of times and bisected on error.
func TestLatchkeyStack_LockNotifierStream(t *testing.T) {
	s := latchkeyTemplate(t)
	fn := s.functionsByName(t)[expiry.FnLockNotifier]
	if fn == "" {
		t.Fatalf("function %s: got none, want one", expiry.FnLockNotifier)
	}
	table := s.the(t, "AWS::DynamoDB::Table")
	if got := props(s.resources[table])["StreamSpecification"]; !reflect.DeepEqual(got, map[string]any{"StreamViewType": "NEW_IMAGE"}) {
		t.Errorf("table stream: got %v, want NEW_IMAGE", got)
	}
	mappings := s.ofType("AWS::Lambda::EventSourceMapping")
	if len(mappings) != 1 {
		t.Fatalf("event source mappings: got %d, want 1", len(mappings))
	}
	m := props(s.resources[mappings[0]])
	for k, want := range map[string]any{
		"FunctionName":               map[string]any{"Ref": fn},
		"EventSourceArn":             map[string]any{"Fn::GetAtt": []any{table, "StreamArn"}},
		"StartingPosition":           "TRIM_HORIZON",
		"BatchSize":                  float64(StreamBatchSize),
		"MaximumRetryAttempts":       float64(StreamRetryAttempts),
		"BisectBatchOnFunctionError": true,
		"DestinationConfig": map[string]any{"OnFailure": map[string]any{
			"Destination": map[string]any{"Fn::GetAtt": []any{s.the(t, "AWS::SQS::Queue"), "Arn"}},
		}},
	} {
		if got := m[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", k, got, want)
		}
	}
	fc, _ := m["FilterCriteria"].(map[string]any)
	var actions []string
	for _, f := range anys(fc["Filters"]) {
		pattern, _ := f.(map[string]any)["Pattern"].(string)
		var p struct {
			EventName []string `json:"eventName"`
			DynamoDB  struct {
				NewImage map[string]map[string][]string `json:"NewImage"`
			} `json:"dynamodb"`
		}
		if err := json.Unmarshal([]byte(pattern), &p); err != nil {
			t.Fatalf("filter %q: %v", pattern, err)
		}
		if !reflect.DeepEqual(p.EventName, []string{"INSERT"}) {
			t.Errorf("filter %s: got event names %v, want only INSERT", pattern, p.EventName)
		}
		actions = append(actions, p.DynamoDB.NewImage["Action"]["S"]...)
	}
	sort.Strings(actions)
	if want := []string{string(latchkey.ActionSignIn), string(latchkey.ActionUserLock)}; !reflect.DeepEqual(actions, want) {
		t.Errorf("filtered actions: got %v, want %v", actions, want)
	}
	f := declared(t, expiry.FnLockNotifier)
	if want := (routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true}); f.Needs != want {
		t.Errorf("needs: got %+v, want %+v", f.Needs, want)
	}
}

// The notice e-mail goes under one SES configuration set whose event
// destination sends deliveries, bounces and complaints to the default
// event bus; one rule lets through only that configuration set's events of
// those types to the delivery-events function, whose role only reads and
// writes the table; the functions that send notices get the configuration
// set's name and may send under it.
func TestLatchkeyStack_DeliveryEvents(t *testing.T) {
	s := latchkeyTemplate(t)
	cs := s.the(t, "AWS::SES::ConfigurationSet")
	csRef := map[string]any{"Ref": cs}
	dest := props(s.resources[s.the(t, "AWS::SES::ConfigurationSetEventDestination")])
	if got := dest["ConfigurationSetName"]; !reflect.DeepEqual(got, csRef) {
		t.Errorf("destination's configuration set: got %v, want %v", got, csRef)
	}
	ed, _ := dest["EventDestination"].(map[string]any)
	if got, want := ed["MatchingEventTypes"], []any{"delivery", "bounce", "complaint"}; !reflect.DeepEqual(got, want) {
		t.Errorf("event types: got %v, want %v", got, want)
	}
	if b, _ := json.Marshal(ed["EventBridgeDestination"]); !strings.Contains(string(b), ":event-bus/default") {
		t.Errorf("event bridge destination: got %s, want the default bus", b)
	}

	fns := s.functionsByName(t)
	fn := fns[expiry.FnDeliveryEvents]
	if fn == "" {
		t.Fatalf("function %s: got none, want one", expiry.FnDeliveryEvents)
	}
	var rule map[string]any
	for _, id := range s.ofType("AWS::Events::Rule") {
		if p := props(s.resources[id]); p["EventPattern"] != nil {
			rule = p
		}
	}
	want := map[string]any{
		"source":      []any{"aws.ses"},
		"detail-type": []any{"Email Delivered", "Email Bounced", "Email Complained"},
		"detail":      map[string]any{"mail": map[string]any{"tags": map[string]any{"ses:configuration-set": []any{csRef}}}},
	}
	if got := rule["EventPattern"]; !reflect.DeepEqual(got, want) {
		t.Errorf("rule pattern: got %v, want %v", got, want)
	}
	targets := anys(rule["Targets"])
	if len(targets) != 1 || !reflect.DeepEqual(targets[0].(map[string]any)["Arn"], map[string]any{"Fn::GetAtt": []any{fn, "Arn"}}) {
		t.Errorf("rule targets: got %v, want the %s function", targets, expiry.FnDeliveryEvents)
	}
	must(t, "invoke permission", func() {
		s.template.HasResourceProperties(jsii.String("AWS::Lambda::Permission"), &map[string]any{
			"Principal":    "events.amazonaws.com",
			"FunctionName": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}},
		})
	})

	f := declared(t, expiry.FnDeliveryEvents)
	if want := (routes.Needs{TableRead: true, TableWrite: true}); f.Needs != want || !f.SESEvents {
		t.Errorf("declaration: got needs %+v, SES events %v, want %+v and SES events", f.Needs, f.SESEvents, want)
	}
	role := ref(props(s.resources[fn])["Role"])
	got := map[string]bool{}
	s.roleStatements(role, func(_ string, st map[string]any) {
		for _, a := range strings1(st["Action"]) {
			got[a] = true
		}
	})
	if g, w := keys(got), roleActions(f); !reflect.DeepEqual(g, w) {
		t.Errorf("role actions: got %v, want %v", g, w)
	}

	for _, name := range []string{expiry.FnExpiryNotifier, expiry.FnLockNotifier} {
		env, _ := props(s.resources[fns[name]])["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		if got := vars["CONFIGURATION_SET"]; !reflect.DeepEqual(got, csRef) {
			t.Errorf("%s CONFIGURATION_SET: got %v, want %v", name, got, csRef)
		}
		// They send in bulk, paced under the configured rates.
		if vars["EMAIL_SEND_RATE"] != "10" || vars["SMS_SEND_RATE"] != "10" {
			t.Errorf("%s send rates: got %v and %v, want the defaults 10 and 10", name, vars["EMAIL_SEND_RATE"], vars["SMS_SEND_RATE"])
		}
		var under bool
		s.roleStatements(ref(props(s.resources[fns[name]])["Role"]), func(_ string, st map[string]any) {
			b, _ := json.Marshal(st["Resource"])
			under = under || slices.Contains(strings1(st["Action"]), "ses:SendEmail") && strings.Contains(string(b), ":configuration-set/")
		})
		if !under {
			t.Errorf("%s: got no ses:SendEmail on the configuration set, want it", name)
		}
	}
	env, _ := props(s.resources[fn])["Environment"].(map[string]any)
	if vars, _ := env["Variables"].(map[string]any); vars["CONFIGURATION_SET"] != nil {
		t.Errorf("%s: got CONFIGURATION_SET, want none (it sends nothing)", expiry.FnDeliveryEvents)
	}
}

// What the event-driven functions give up on reaches one queue, encrypted
// and kept 14 days, with an alarm as soon as it holds a message: the lock
// notifier's stream batches after their retries (above), and the
// asynchronous events (the schedule, SES's events) after Lambda's two
// retries, no older than an hour.
func TestLatchkeyStack_EventFailures(t *testing.T) {
	s := latchkeyTemplate(t)
	queue := s.the(t, "AWS::SQS::Queue")
	q := props(s.resources[queue])
	if q["SqsManagedSseEnabled"] != true || q["MessageRetentionPeriod"] != float64(14*24*3600) {
		t.Errorf("queue: got %v, want SQS-managed encryption and 14 days", q)
	}
	queueArn := map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}
	fnIDs := s.functionsByName(t)
	configs := map[string]map[string]any{}
	for _, id := range s.ofType("AWS::Lambda::EventInvokeConfig") {
		p := props(s.resources[id])
		configs[ref(p["FunctionName"])] = p
	}
	var want []string
	for _, f := range catalog.Functions() {
		if f.Schedule == "" && !f.SESEvents {
			continue
		}
		want = append(want, f.Name)
		c := configs[fnIDs[f.Name]]
		if c == nil {
			t.Errorf("%s: got no asynchronous invoke config, want one", f.Name)
			continue
		}
		dest := map[string]any{"OnFailure": map[string]any{"Destination": queueArn}}
		if c["MaximumRetryAttempts"] != float64(AsyncRetryAttempts) || c["MaximumEventAgeInSeconds"] != float64(3600) || !reflect.DeepEqual(c["DestinationConfig"], dest) {
			t.Errorf("%s: got %v, want %d retries, an hour, failures to the queue", f.Name, c, AsyncRetryAttempts)
		}
	}
	if len(configs) != len(want) {
		t.Errorf("asynchronous invoke configs: got %d, want %d (%v)", len(configs), len(want), want)
	}
	found := false
	for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
		a := props(s.resources[id])
		for _, d := range anys(a["Dimensions"]) {
			if reflect.DeepEqual(d.(map[string]any)["Value"], map[string]any{"Fn::GetAtt": []any{queue, "QueueName"}}) {
				found = a["MetricName"] == "ApproximateNumberOfMessagesVisible" && a["Threshold"] == float64(1) && a["Statistic"] == "Maximum"
			}
		}
	}
	if !found {
		t.Error("alarm on the failure queue: got none, want one at 1 visible message")
	}
}

// synthWith is synth of the real routes tables with extra context values
// over cdk.json's.
func synthWith(t *testing.T, extra map[string]any) synthed {
	t.Helper()
	ctx := cdkContext(t)
	for k, v := range extra {
		ctx[k] = v
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	cfg, err := ConfigFromContext(app)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BuildDir = buildDir
	stack := NewLatchkeyStack(app, "Test", &LatchkeyStackProps{Config: cfg})
	tpl := assertions.Template_FromStack(stack.Stack(), nil)
	s := synthed{cfg: cfg, template: tpl, resources: map[string]map[string]any{}}
	raw, _ := (*tpl.ToJSON())["Resources"].(map[string]any)
	for id, r := range raw {
		s.resources[id], _ = r.(map[string]any)
	}
	return s
}

// TestLatchkeyStack_IndexProjections proves that every index of the
// deployed table projects INCLUDE with exactly schema.Schema's attributes,
// and that none of them is a secret (a password hash, a MAC, a sealed code).
func TestLatchkeyStack_IndexProjections(t *testing.T) {
	s := latchkeyTemplate(t)
	table := props(s.resources[s.the(t, "AWS::DynamoDB::Table")])
	gsis := anys(table["GlobalSecondaryIndexes"])
	if got, want := len(gsis), len(schema.Schema.Indexes); got != want {
		t.Fatalf("indexes: got %d, want %d", got, want)
	}
	secret := map[string]bool{}
	for _, a := range schema.SecretAttributes {
		secret[a] = true
	}
	for _, ix := range schema.Schema.Indexes {
		t.Run(ix.Name, func(t *testing.T) {
			var proj map[string]any
			for _, g := range gsis {
				if m, _ := g.(map[string]any); m["IndexName"] == ix.Name {
					proj, _ = m["Projection"].(map[string]any)
				}
			}
			if got, want := proj["ProjectionType"], "INCLUDE"; got != want {
				t.Fatalf("ProjectionType: got %v, want %v", got, want)
			}
			got := strings1(proj["NonKeyAttributes"])
			want := slices.Clone(ix.Projection.NonKeyAttributes)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("NonKeyAttributes: got %v, want %v", got, want)
			}
			for _, a := range got {
				if secret[a] || strings.Contains(strings.ToLower(a), "mac") || strings.Contains(strings.ToLower(a), "sealed") || strings.Contains(strings.ToLower(a), "hash") {
					t.Errorf("NonKeyAttributes: %s is a secret, want none", a)
				}
			}
		})
	}
}

// TestLatchkeyStack_ContributorInsights proves that the table has
// CloudWatch Contributor Insights on (its most read and throttled keys).
func TestLatchkeyStack_ContributorInsights(t *testing.T) {
	s := latchkeyTemplate(t)
	must(t, "contributor insights", func() {
		s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"ContributorInsightsSpecification": map[string]any{"Enabled": true},
		})
	})
}

// TestLatchkeyStack_SecretReplica proves that the master key is replicated
// to the region context secretReplicaRegion names, and to none without it,
// and that a value that is not a region name fails Config.Validate.
func TestLatchkeyStack_SecretReplica(t *testing.T) {
	t.Run("none", func(t *testing.T) {
		s := latchkeyTemplate(t)
		p := props(s.resources[s.masterKey(t)])
		if got, ok := p["ReplicaRegions"]; ok {
			t.Errorf("ReplicaRegions: got %v, want none", got)
		}
	})
	t.Run("us-west-2", func(t *testing.T) {
		s := synthWith(t, map[string]any{ctxSecretReplicaRegion: "us-west-2"})
		p := props(s.resources[s.masterKey(t)])
		want := []any{map[string]any{"Region": "us-west-2"}}
		if got := p["ReplicaRegions"]; !reflect.DeepEqual(got, want) {
			t.Errorf("ReplicaRegions: got %v, want %v", got, want)
		}
	})
	t.Run("not a region", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.BuildDir = buildDir
		cfg.SecretReplicaRegion = "west"
		err := cfg.Validate(catalog.Functions())
		if err == nil || !strings.Contains(err.Error(), "secretReplicaRegion") {
			t.Errorf("Validate: got %v, want an error naming secretReplicaRegion", err)
		}
	})
}

// TestLatchkeyStack_Memory proves that the functions that run argon2id on a
// request path get HashingMemoryMB (one vCPU) and the others
// DefaultMemoryMB, that the hashing ones are the ones the code says
// (sessions, password-reset, pin-verification), and that the function
// answering forgot-password gets the floor of ResetFloorMS.
func TestLatchkeyStack_Memory(t *testing.T) {
	s := latchkeyTemplate(t)
	fnIDs := s.functionsByName(t)
	hashing := map[string]bool{"sessions": true, "password-reset": true, "pin-verification": true}
	for _, f := range catalog.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			if f.Hashes != hashing[f.Name] {
				t.Errorf("Hashes: got %v, want %v", f.Hashes, hashing[f.Name])
			}
			want := float64(DefaultMemoryMB)
			if hashing[f.Name] {
				want = HashingMemoryMB
			}
			p := props(s.resources[fnIDs[f.Name]])
			if got := p["MemorySize"]; got != want {
				t.Errorf("MemorySize: got %v, want %v", got, want)
			}
			env, _ := p["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			floor, ok := vars["RESET_FLOOR_MS"]
			if f.Name == "password-reset" {
				if want := fmt.Sprint(ResetFloorMS); floor != want {
					t.Errorf("RESET_FLOOR_MS: got %v, want %v", floor, want)
				}
			} else if ok {
				t.Errorf("RESET_FLOOR_MS: got %v, want none", floor)
			}
		})
	}
}

// TestCDKJSON_RecommendedFeatureFlags proves that cdk.json sets every
// feature flag that the aws-cdk-lib version the CDK app links (go.mod's
// awscdk/v2, whose jsii tarball carries recommended-feature-flags.json)
// recommends, to the recommended value, so `cdk synth` and these tests see
// the behaviour a new CDK project gets.
func TestCDKJSON_RecommendedFeatureFlags(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build info")
	}
	const mod = "github.com/aws/aws-cdk-go/awscdk/v2"
	version := ""
	for _, d := range bi.Deps {
		if d.Path == mod {
			version = d.Version
		}
	}
	if version == "" {
		t.Fatalf("%s: not a dependency", mod)
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	v := strings.TrimPrefix(version, "v")
	tgz := filepath.Join(strings.TrimSpace(string(out)), mod+"@"+version, "jsii", "aws-cdk-lib-"+v+".tgz")
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var recommended map[string]any
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no package/recommended-feature-flags.json (%v)", tgz, err)
		}
		if h.Name == "package/recommended-feature-flags.json" {
			if err := json.NewDecoder(tr).Decode(&recommended); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if len(recommended) == 0 {
		t.Fatal("recommended flags: got none")
	}
	ctx := cdkContext(t)
	for flag, want := range recommended {
		if got, ok := ctx[flag]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("cdk.json %s: got %v, want %v (aws-cdk-lib %s)", flag, got, want, v)
		}
	}
}

// declared is the route table's declaration of function name.
func declared(t *testing.T, name string) routes.Function {
	t.Helper()
	for _, f := range catalog.Functions() {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("function %s is not in the route table", name)
	return routes.Function{}
}
