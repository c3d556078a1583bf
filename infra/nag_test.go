package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// TestLatchkeyStack_Nag runs cdk-nag's AwsSolutions pack over the dev and
// the prod stack and proves that it finds no error and no warning that
// stack.go has not suppressed with a reason (nagSuppressions): a new
// resource that breaks a rule fails here until it is fixed or justified.
func TestLatchkeyStack_Nag(t *testing.T) {
	for _, stage := range []string{StageDev, StageProd} {
		t.Run(stage, func(t *testing.T) {
			ctx := cdkContext(t)
			ctx[ctxStage] = stage
			ctx[ctxSenderEmail] = "no-reply@mail.latchkey.dev"
			ctx[ctxAlarmEmail] = "oncall@latchkey.dev"
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			cfg, err := ConfigFromContext(app)
			if err != nil {
				t.Fatal(err)
			}
			cfg.BuildDir = buildDir
			stack := NewLatchkeyStack(app, StackName(stage), &LatchkeyStackProps{Config: cfg}).Stack()
			awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{
				Verbose: jsii.Bool(true), Reports: jsii.Bool(false),
				// Suppressed findings become info annotations: proof the pack ran.
				LogIgnores: jsii.Bool(true),
			}), nil)
			ann := assertions.Annotations_FromStack(stack)
			match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			var found []string
			for level, msgs := range map[string]any{
				"error":   ann.FindError(jsii.String("*"), match),
				"warning": ann.FindWarning(jsii.String("*"), match),
			} {
				// Read through JSON: the Go type of a message is deprecated.
				var list []struct {
					ID    string `json:"id"`
					Entry struct {
						Data any `json:"data"`
					} `json:"entry"`
				}
				b, err := json.Marshal(msgs)
				if err == nil {
					err = json.Unmarshal(b, &list)
				}
				if err != nil {
					t.Fatalf("%s annotations: %v", level, err)
				}
				for _, m := range list {
					found = append(found, fmt.Sprintf("%s %s: %v", level, m.ID, m.Entry.Data))
				}
			}
			sort.Strings(found)
			for _, f := range found {
				t.Errorf("cdk-nag: %s", f)
			}
			if got := len(*ann.FindInfo(jsii.String("*"), match)); got == 0 {
				t.Errorf("suppressed findings: got none, want some (did the pack run?)")
			}
		})
	}
}
