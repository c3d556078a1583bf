// Command infra is Latchkey's AWS CDK app: `cdk synth` and `cdk deploy` run
// it (cdk.json says "go run ./infra"). The deployment's settings come from the
// CDK context, with the defaults in cdk.json; see ConfigFromContext.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/latchkey/latchkey/shared/catalog"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey infra:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := catalog.Validate(); err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	cfg, err := ConfigFromContext(app)
	if err != nil {
		return err
	}
	if err := cfg.Validate(catalog.Functions()); err != nil {
		return err
	}
	NewLatchkeyStack(app, StackName(cfg.Stage), &LatchkeyStackProps{
		StackProps: awscdk.StackProps{
			Env:         env(),
			Description: jsii.String("Latchkey credential self-service backend (" + cfg.Stage + " stage)"),
		},
		Config: cfg,
	})
	app.Synth(nil)
	return nil
}

// env is the account and region the CDK CLI resolved, when it did; without
// them the stack is environment-agnostic, so synth needs no AWS credentials.
func env() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	e := &awscdk.Environment{}
	if account != "" {
		e.Account = jsii.String(account)
	}
	if region != "" {
		e.Region = jsii.String(region)
	}
	return e
}

// Context keys read by ConfigFromContext.
const (
	ctxStage               = "stage"
	ctxAlarmEmail          = "alarmEmail"
	ctxRetainData          = "retainData"
	ctxPublicThrottleRate  = "publicThrottleRate"
	ctxPublicThrottleBurst = "publicThrottleBurst"
	ctxSenderEmail         = "senderEmail"
	ctxSESIdentities       = "sesIdentities"
	ctxSMSSenderID         = "smsSenderId"
	ctxPublicBaseURL       = "publicBaseUrl"
	ctxDeletionProtection  = "deletionProtection"
	ctxLogRetentionDays    = "logRetentionDays"
	ctxThrottleRate        = "throttleRate"
	ctxThrottleBurst       = "throttleBurst"
	ctxEmailSendRate       = "emailSendRate"
	ctxSMSSendRate         = "smsSendRate"
	ctxBuildDir            = "buildDir"
)

// ConfigFromContext reads Config from the construct tree's context, starting
// from the StageDefaults of context stage (dev when unset). Every other key
// may also be given for one stage only as key.<stage> (alarmEmail.prod),
// which wins over key. Values from cdk.json arrive as JSON types, values
// from `-c key=value` as strings; both are accepted.
func ConfigFromContext(scope constructs.Construct) (Config, error) {
	stage := StageDev
	if v := scope.Node().TryGetContext(jsii.String(ctxStage)); v != nil {
		s, _ := v.(string)
		stage = strings.TrimSpace(s)
	}
	c, err := StageDefaults(stage)
	if err != nil {
		return c, fmt.Errorf("context %w", err)
	}
	get := func(key string) (any, bool) {
		if v := scope.Node().TryGetContext(jsii.String(key + "." + stage)); v != nil {
			return v, true
		}
		v := scope.Node().TryGetContext(jsii.String(key))
		return v, v != nil
	}
	var errs []string
	fail := func(key string, v any, want string) {
		errs = append(errs, fmt.Sprintf("context %s: got %v, want %s", key, v, want))
	}
	boolean := func(key string, dst *bool) {
		v, ok := get(key)
		if !ok {
			return
		}
		switch x := v.(type) {
		case bool:
			*dst = x
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				fail(key, v, "true or false")
			}
			*dst = b
		default:
			fail(key, v, "true or false")
		}
	}
	str := func(key string, dst *string) {
		if v, ok := get(key); ok {
			s, ok := v.(string)
			if !ok {
				fail(key, v, "a string")
				return
			}
			*dst = s
		}
	}
	num := func(key string) (float64, bool) {
		v, ok := get(key)
		if !ok {
			return 0, false
		}
		switch x := v.(type) {
		case float64:
			return x, true
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, true
			}
		}
		fail(key, v, "a number")
		return 0, false
	}

	str(ctxSenderEmail, &c.SenderEmail)
	str(ctxSMSSenderID, &c.SMSSenderID)
	str(ctxPublicBaseURL, &c.PublicBaseURL)
	str(ctxBuildDir, &c.BuildDir)
	var ids string
	str(ctxSESIdentities, &ids)
	for _, id := range strings.Split(ids, ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.SESIdentities = append(c.SESIdentities, id)
		}
	}
	str(ctxAlarmEmail, &c.AlarmEmail)
	str(ctxSecretReplicaRegion, &c.SecretReplicaRegion)
	boolean(ctxDeletionProtection, &c.DeletionProtection)
	boolean(ctxRetainData, &c.RetainData)
	if f, ok := num(ctxLogRetentionDays); ok {
		if f != float64(int(f)) {
			fail(ctxLogRetentionDays, f, "a whole number of days")
		}
		c.LogRetention = int(f)
	}
	if f, ok := num(ctxThrottleRate); ok {
		c.ThrottleRate = f
	}
	if f, ok := num(ctxThrottleBurst); ok {
		c.ThrottleBurst = f
	}
	if f, ok := num(ctxPublicThrottleRate); ok {
		c.PublicThrottleRate = f
	}
	if f, ok := num(ctxPublicThrottleBurst); ok {
		c.PublicThrottleBurst = f
	}
	if f, ok := num(ctxEmailSendRate); ok {
		c.EmailSendRate = f
	}
	if f, ok := num(ctxSMSSendRate); ok {
		c.SMSSendRate = f
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return c, nil
}
