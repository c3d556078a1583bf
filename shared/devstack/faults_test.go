package devstack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// startProxy starts a fault proxy in front of an echo server that answers
// 200 "ok", and stops both when the test ends.
func startProxy(t *testing.T) *FaultProxy {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	p, err := StartFaultProxy(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// post sends a POST with header X-Amz-Target target and a form body, and
// returns the status and body, or the transport error.
func post(c *http.Client, p *FaultProxy, target, action string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, p.Endpoint()+"/", strings.NewReader(url.Values{"Action": {action}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Amz-Target", target)
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// The proxy passes requests through until a fault is set; FailNext answers
// only the next n matching requests (by X-Amz-Target or by the form's
// Action) and leaves the rest alone; FailFrom fails the k-th matching
// request and every one after it until Heal; rules set one after another
// make a sequence; Requests counts them all.
func TestFaultProxy_Rules(t *testing.T) {
	p := startProxy(t)
	c := &http.Client{}
	want := func(name string, status int, body string, target, action string) {
		t.Helper()
		got, b, err := post(c, p, target, action)
		if err != nil || got != status || (body != "" && !strings.Contains(b, body)) {
			t.Fatalf("%s: got %d %q, %v; want %d %q", name, got, b, err, status, body)
		}
	}
	want("pass through", 200, "ok", "X.A", "Publish")
	p.FailNext(2, AmzTarget("DynamoDB_20120810.TransactWriteItems"), DynamoThrottling)
	want("other target", 200, "ok", "DynamoDB_20120810.GetItem", "")
	want("1st match", 400, "ThrottlingException", "DynamoDB_20120810.TransactWriteItems", "")
	want("2nd match", 400, "ThrottlingException", "DynamoDB_20120810.TransactWriteItems", "")
	want("3rd match", 200, "ok", "DynamoDB_20120810.TransactWriteItems", "")
	p.FailNext(1, FormAction("Publish"), SNSThrottling)
	want("other action", 200, "ok", "", "ListTopics")
	want("publish", 400, "<Code>Throttling</Code>", "", "Publish")
	p.FailFrom(3, AnyRequest, DynamoServerError)
	want("from 1", 200, "ok", "", "")
	want("from 2", 200, "ok", "", "")
	want("from 3", 500, "InternalServerError", "", "")
	want("from 4", 500, "InternalServerError", "", "")
	p.Heal()
	want("healed", 200, "ok", "", "")
	p.FailNext(2, AnyRequest, SNSThrottling)
	p.FailNext(1, AnyRequest, SNSUnavailable)
	want("sequence 1", 400, "Throttling", "", "")
	want("sequence 2", 400, "Throttling", "", "")
	want("sequence 3", 503, "ServiceUnavailable", "", "")
	want("sequence 4", 200, "ok", "", "")
	total, faulted := p.Requests()
	if total != 16 || faulted != 8 {
		t.Errorf("requests: got %d total, %d faulted; want 16, 8", total, faulted)
	}
}

// Unreachable closes the connection without an answer, so the client sees
// a transport error; Slow holds a request until the client's timeout ends
// it, or passes it through late when the client waits.
func TestFaultProxy_DropAndDelay(t *testing.T) {
	p := startProxy(t)
	p.FailNext(1, AnyRequest, Unreachable)
	if _, _, err := post(&http.Client{}, p, "", ""); err == nil {
		t.Fatal("dropped: got an answer, want a transport error")
	}
	p.FailNext(1, AnyRequest, Slow(5*time.Second))
	start := time.Now()
	_, _, err := post(&http.Client{Timeout: 100 * time.Millisecond}, p, "", "")
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 2*time.Second {
		t.Fatalf("slow past the timeout: got %v after %s, want a timeout after 100 ms", err, time.Since(start))
	}
	p.FailNext(1, AnyRequest, Slow(50*time.Millisecond))
	start = time.Now()
	if status, body, err := post(&http.Client{}, p, "", ""); status != 200 || body != "ok" || err != nil || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("slow within the timeout: got %d %q, %v after %s; want 200 ok after 50 ms", status, body, err, time.Since(start))
	}
}

// Each ready-made fault is what the real SDK client of its service parses
// into the error AWS would give: the throttling codes the SDK and the
// expiry notifier retry, and a 5xx response error.
func TestFaultProxy_SDKErrors(t *testing.T) {
	p := startProxy(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		RetryMaxAttempts: 1}
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(p.Endpoint()) })
	mail := sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { o.BaseEndpoint = aws.String(p.Endpoint()) })
	sms := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(p.Endpoint()) })
	calls := map[string]func() error{
		"dynamodb": func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"),
				Key: map[string]dbtypes.AttributeValue{"PK": &dbtypes.AttributeValueMemberS{Value: "k"}}})
			return err
		},
		"ses": func() error {
			_, err := mail.SendEmail(ctx, &sesv2.SendEmailInput{FromEmailAddress: aws.String("a@example.com"),
				Destination: &sestypes.Destination{ToAddresses: []string{"b@example.com"}},
				Content:     &sestypes.EmailContent{Simple: &sestypes.Message{Subject: &sestypes.Content{Data: aws.String("s")}, Body: &sestypes.Body{Text: &sestypes.Content{Data: aws.String("b")}}}}})
			return err
		},
		"sns": func() error {
			_, err := sms.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String("+447911123456"), Message: aws.String("m")})
			return err
		},
	}
	for _, tc := range []struct {
		name, service string
		match         Match
		fault         Fault
		code          string
		status        int
	}{
		{"dynamodb throttling", "dynamodb", AmzTarget("DynamoDB_20120810.GetItem"), DynamoThrottling, "ThrottlingException", 400},
		{"dynamodb 500", "dynamodb", AnyRequest, DynamoServerError, "InternalServerError", 500},
		{"dynamodb 503", "dynamodb", AnyRequest, DynamoUnavailable, "ServiceUnavailable", 503},
		{"ses throttling", "ses", PathPrefix("/v2/email/outbound-emails"), SESThrottling, "TooManyRequestsException", 429},
		{"ses 500", "ses", AnyRequest, SESServerError, "InternalFailure", 500},
		{"ses 503", "ses", AnyRequest, SESUnavailable, "ServiceUnavailable", 503},
		{"sns throttling", "sns", FormAction("Publish"), SNSThrottling, "Throttling", 400},
		{"sns 500", "sns", AnyRequest, SNSServerError, "InternalError", 500},
		{"sns 503", "sns", AnyRequest, SNSUnavailable, "ServiceUnavailable", 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer p.Heal()
			p.FailNext(1, tc.match, tc.fault)
			err := calls[tc.service]()
			var api smithy.APIError
			var re *smithyhttp.ResponseError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Errorf("got %v, want API error %s", err, tc.code)
			}
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("got %v, want HTTP status %d", err, tc.status)
			}
		})
	}
}
