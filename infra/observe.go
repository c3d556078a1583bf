package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// alarmPeriod is the period of every alarm on a count: five minutes is
// short enough to page during an incident and long enough that a lone
// retried failure does not.
var alarmPeriod = awscdk.Duration_Minutes(jsii.Number(5))

// Thresholds of the alarms, in events per alarmPeriod unless said
// otherwise. A single failed invocation (a cold start that lost a race with
// Secrets Manager, a client that gave up mid-request) is noise the caller's
// retry absorbs; these fire on a pattern, most of them when 2 of the last 3
// periods breach.
const (
	// FunctionErrorThreshold is a function's failed invocations (panics,
	// timeouts, start-up failures: coded answers are not errors).
	FunctionErrorThreshold = 5
	// FunctionThrottleThreshold is a function's throttled invocations: the
	// account's concurrency is exhausted and callers see 429 or 5xx.
	FunctionThrottleThreshold = 5
	// DurationAlarmFraction is how close a function's p99 duration may come
	// to its timeout before its alarm fires: past it, the slowest calls are
	// about to time out.
	DurationAlarmFraction = 0.8
	// APIServerErrorThreshold is the API's 5xx answers.
	APIServerErrorThreshold = 5
	// APIServerErrorRatePercent is the share of the API's answers that are
	// 5xx, in percent: the count above misses a rising rate at high traffic.
	APIServerErrorRatePercent = 1
	// TableThrottleThreshold is the table's throttled reads or writes: an
	// on-demand table throttles past twice its previous peak or on a hot
	// partition, and each one costs a caller a retry or an error.
	TableThrottleThreshold = 10
	// SESBounceRate and SESComplaintRate are the account's reputation
	// rates at which SES puts an account under review (5 % and 0.1 %): past
	// them it may pause sending, and every reset e-mail with it.
	SESBounceRate    = 0.05
	SESComplaintRate = 0.001
)

// errorCodeMetric is a coded answer counted from the functions' structured
// logs (httpapi.Server logs every request with its error_code), with the
// count per alarmPeriod that is a spike worth a look.
type errorCodeMetric struct {
	Code, Metric string
	Spike        float64
	Why          string
}

// errorCodeMetrics are the codes that tell of an attack or a broken client:
// a credential-stuffing run locks accounts (account_locked answers every
// attempt on a locked account, so a few users retrying stay well under the
// spike), a scripted caller hits the per-network and per-account limits.
var errorCodeMetrics = []errorCodeMetric{
	{latchkey.EAccountLocked, "AccountLocked", 25, "accounts are being locked out: credential stuffing or a broken client?"},
	{latchkey.EPINVerificationLocked, "PinVerificationLocked", 25, "security PINs are being locked: guessing?"},
	{latchkey.ERateLimited, "RateLimited", 100, "callers are being rate limited: a scripted caller or a broken client?"},
}

// metricNamespace is the namespace of the stack's own metrics, one per
// stage so dev's traffic never shows on prod's alarms.
func (s *latchkeyStack) metricNamespace() string { return "Latchkey/" + *s.stack.StackName() }

// newAlarmTopic creates the SNS topic every alarm notifies, with the e-mail
// subscription of cfg.AlarmEmail when it is set. It is encrypted with a key
// of the stack: CloudWatch cannot publish to a topic under the AWS-managed
// aws/sns key, whose policy the account cannot extend to CloudWatch.
func (s *latchkeyStack) newAlarmTopic(cfg Config) awssns.Topic {
	stack := s.stack
	key := awskms.NewKey(stack, jsii.String("AlarmTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the Latchkey alarm topic of " + *stack.StackName()),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removalPolicy(cfg),
	})
	// The statement AWS documents for alarms publishing to an encrypted
	// topic. It needs no condition: the key encrypts this topic only, and
	// the topic's policy below lets only this account's alarms publish.
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), jsii.Bool(false))
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(*stack.StackName() + " alarms"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// With a topic policy (EnforceSSL makes one) only what it allows may
	// publish: the account's alarms.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]any{"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"), ResourceName: jsii.String("*"),
				ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		},
	}))
	if cfg.AlarmEmail != "" {
		// The address gets a confirmation e-mail on the first deploy; no
		// alarm reaches it until someone follows the link.
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	return topic
}

// alarm creates an alarm named after the stack and id that notifies the
// alarm topic when it fires and when it is OK again (so whoever was paged
// knows it is over).
func (s *latchkeyStack) alarm(id string, props *awscloudwatch.AlarmProps) awscloudwatch.Alarm {
	props.AlarmName = jsii.String(*s.stack.StackName() + "-" + id)
	if props.TreatMissingData == "" {
		props.TreatMissingData = awscloudwatch.TreatMissingData_NOT_BREACHING
	}
	a := awscloudwatch.NewAlarm(s.stack, jsii.String(id), props)
	action := awscloudwatchactions.NewSnsAction(s.topic)
	a.AddAlarmAction(action)
	a.AddOkAction(action)
	return a
}

// functionAlarms creates function fn's alarms: errors, throttles and a p99
// duration near its timeout (seconds).
func (s *latchkeyStack) functionAlarms(id, name string, fn awslambda.Function, timeout float64) {
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: alarmPeriod}
	s.alarm(id+"Errors", &awscloudwatch.AlarmProps{
		AlarmDescription:  jsii.String(fmt.Sprintf("Latchkey function %s failed %d times or more in 5 minutes, in 2 of the last 3 periods", name, FunctionErrorThreshold)),
		Metric:            fn.MetricErrors(sum),
		Threshold:         jsii.Number(FunctionErrorThreshold),
		EvaluationPeriods: jsii.Number(3),
		DatapointsToAlarm: jsii.Number(2),
	})
	s.alarm(id+"Throttles", &awscloudwatch.AlarmProps{
		AlarmDescription:  jsii.String(fmt.Sprintf("Latchkey function %s was throttled %d times or more in 5 minutes, in 2 of the last 3 periods: the account's Lambda concurrency is exhausted", name, FunctionThrottleThreshold)),
		Metric:            fn.MetricThrottles(sum),
		Threshold:         jsii.Number(FunctionThrottleThreshold),
		EvaluationPeriods: jsii.Number(3),
		DatapointsToAlarm: jsii.Number(2),
	})
	// Three periods in a row: one slow burst (a cold start on a busy
	// DynamoDB partition) is not yet a trend.
	s.alarm(id+"Duration", &awscloudwatch.AlarmProps{
		AlarmDescription:  jsii.String(fmt.Sprintf("Latchkey function %s's p99 duration is over %g%% of its %gs timeout for 15 minutes", name, DurationAlarmFraction*100, timeout)),
		Metric:            fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: alarmPeriod}),
		Threshold:         jsii.Number(DurationAlarmFraction * timeout * 1000),
		EvaluationPeriods: jsii.Number(3),
	})
}

// errorCodeFilters counts the errorCodeMetrics in the log group of function
// id: one filter per code, every function feeding the same metric.
func (s *latchkeyStack) errorCodeFilters(id string, logs awslogs.LogGroup) {
	for _, m := range errorCodeMetrics {
		awslogs.NewMetricFilter(s.stack, jsii.String(id+m.Metric+"Filter"), &awslogs.MetricFilterProps{
			LogGroup:        logs,
			FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.error_code"), jsii.String("="), jsii.String(m.Code)),
			MetricNamespace: jsii.String(s.metricNamespace()),
			MetricName:      jsii.String(m.Metric),
			MetricValue:     jsii.String("1"),
		})
	}
}

// errorCodeMetric is the metric of m, summed per alarmPeriod.
func (s *latchkeyStack) errorCodeMetric(m errorCodeMetric) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(s.metricNamespace()),
		MetricName: jsii.String(m.Metric),
		Statistic:  jsii.String("Sum"),
		Period:     alarmPeriod,
	})
}

// serviceAlarms creates the alarms that are not a function's: the API's
// 5xx count and rate, the table's throttles, SES's reputation and the
// error-code spikes.
func (s *latchkeyStack) serviceAlarms(stage awsapigatewayv2.HttpStage) {
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: alarmPeriod}
	s.alarm("ApiServerErrors", &awscloudwatch.AlarmProps{
		AlarmDescription:  jsii.String(fmt.Sprintf("The Latchkey API answered 5xx %d times or more in 5 minutes, in 2 of the last 3 periods", APIServerErrorThreshold)),
		Metric:            stage.MetricServerError(sum),
		Threshold:         jsii.Number(APIServerErrorThreshold),
		EvaluationPeriods: jsii.Number(3),
		DatapointsToAlarm: jsii.Number(2),
	})
	s.alarm("ApiServerErrorRate", &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("%g%% or more of the Latchkey API's answers were 5xx, in 2 of the last 3 periods of 5 minutes", float64(APIServerErrorRatePercent))),
		Metric: awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			// IF keeps a quiet period (no requests) at 0, not a division by zero.
			Expression:   jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": stage.MetricServerError(sum), "requests": stage.MetricCount(sum)},
			Label:        jsii.String("5xx %"),
			Period:       alarmPeriod,
		}),
		Threshold:         jsii.Number(APIServerErrorRatePercent),
		EvaluationPeriods: jsii.Number(3),
		DatapointsToAlarm: jsii.Number(2),
	})
	for _, op := range []string{"Read", "Write"} {
		s.alarm("Table"+op+"Throttles", &awscloudwatch.AlarmProps{
			AlarmDescription:  jsii.String(fmt.Sprintf("The Latchkey table throttled %d or more %ss in 5 minutes, in 2 of the last 3 periods", TableThrottleThreshold, op)),
			Metric:            s.table.Metric(jsii.String(op+"ThrottleEvents"), sum),
			Threshold:         jsii.Number(TableThrottleThreshold),
			EvaluationPeriods: jsii.Number(3),
			DatapointsToAlarm: jsii.Number(2),
		})
	}
	// The account's reputation metrics, which SES publishes for the whole
	// account (they have no dimension): the maximum over an hour, as SES
	// judges the account on them.
	for _, r := range []struct {
		id, metric string
		rate       float64
	}{{"SesBounceRate", "Reputation.BounceRate", SESBounceRate}, {"SesComplaintRate", "Reputation.ComplaintRate", SESComplaintRate}} {
		s.alarm(r.id, &awscloudwatch.AlarmProps{
			AlarmDescription: jsii.String(fmt.Sprintf("The account's SES %s reached %g%%, where SES reviews the account and may pause its sending", r.metric, r.rate*100)),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(r.metric),
				Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Hours(jsii.Number(1)),
			}),
			Threshold:          jsii.Number(r.rate),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
		})
	}
	// A spike is worth a look at once: 1 period of 5 minutes.
	for _, m := range errorCodeMetrics {
		s.alarm(m.Metric+"Spike", &awscloudwatch.AlarmProps{
			AlarmDescription:  jsii.String(fmt.Sprintf("%g or more %s answers in 5 minutes: %s", m.Spike, m.Code, m.Why)),
			Metric:            s.errorCodeMetric(m),
			Threshold:         jsii.Number(m.Spike),
			EvaluationPeriods: jsii.Number(1),
		})
	}
}

// newDashboard creates the stack's dashboard, named after the stack: the
// API, each function, the table, SES, the error codes and the failure queue.
func (s *latchkeyStack) newDashboard(stage awsapigatewayv2.HttpStage, fns []routes.Function) awscloudwatch.Dashboard {
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: alarmPeriod}
	p99 := &awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: alarmPeriod}
	graph := func(title string, left, right []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Right: &right, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	widgets := []awscloudwatch.IWidget{
		graph("API requests, 4xx, 5xx", []awscloudwatch.IMetric{stage.MetricCount(sum), stage.MetricClientError(sum), stage.MetricServerError(sum)}, nil),
		graph("API latency p99 (ms)", []awscloudwatch.IMetric{stage.MetricLatency(p99), stage.MetricIntegrationLatency(p99)}, nil),
	}
	for _, f := range fns {
		fn := s.functions[f.Name]
		widgets = append(widgets, graph("Function "+f.Name,
			[]awscloudwatch.IMetric{fn.MetricInvocations(sum), fn.MetricErrors(sum), fn.MetricThrottles(sum)},
			[]awscloudwatch.IMetric{fn.MetricDuration(p99)}))
	}
	var codes []awscloudwatch.IMetric
	for _, m := range errorCodeMetrics {
		codes = append(codes, s.errorCodeMetric(m))
	}
	ses := func(name, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(name), Statistic: jsii.String(stat), Period: alarmPeriod})
	}
	widgets = append(widgets,
		graph("Table consumed capacity and throttles",
			[]awscloudwatch.IMetric{s.table.MetricConsumedReadCapacityUnits(sum), s.table.MetricConsumedWriteCapacityUnits(sum)},
			[]awscloudwatch.IMetric{s.table.Metric(jsii.String("ReadThrottleEvents"), sum), s.table.Metric(jsii.String("WriteThrottleEvents"), sum)}),
		graph("SES sends, bounces, complaints (account)",
			[]awscloudwatch.IMetric{ses("Send", "Sum"), ses("Bounce", "Sum"), ses("Complaint", "Sum")},
			[]awscloudwatch.IMetric{ses("Reputation.BounceRate", "Maximum"), ses("Reputation.ComplaintRate", "Maximum")}),
		graph("Lockouts and rate limits", codes, nil),
		graph("EventFailures queue depth", []awscloudwatch.IMetric{s.failures.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Period: alarmPeriod,
		})}, nil),
	)
	return awscloudwatch.NewDashboard(s.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: s.stack.StackName(),
		Widgets:       &[]*[]awscloudwatch.IWidget{&widgets},
	})
}

// removalPolicy is what happens to the stack's data (the table, the master
// key secret, the alarm topic's key) when the stack is deleted or they are
// replaced: kept in prod, deleted with a dev stack (StageDefaults).
func removalPolicy(cfg Config) awscdk.RemovalPolicy {
	if cfg.RetainData {
		return awscdk.RemovalPolicy_RETAIN
	}
	return awscdk.RemovalPolicy_DESTROY
}
