package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// responseError is an SDK error of an AWS answer with the given status.
func responseError(status int, cause error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: cause}
}

// refused is the error of a real dial to a port nothing listens on.
func refused(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
		t.Fatal("dial to a closed port: got a connection, want an error")
	}
	return err
}

// sdkGaveUp is the error of the real DynamoDB client after its retries
// against a port nothing listens on.
func sdkGaveUp(t *testing.T) error {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 2}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String("http://" + refused(t).(*net.OpError).Addr.String())
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
	})
	_, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("t"),
		Key: map[string]dbtypes.AttributeValue{"PK": &dbtypes.AttributeValueMemberS{Value: "k"}}})
	var ma *retry.MaxAttemptsError
	if !errors.As(err, &ma) {
		t.Fatalf("SDK against a closed port: got %v, want a MaxAttemptsError", err)
	}
	return fmt.Errorf("get user: %w", err)
}

// Unavailable tells a dependency that could not serve (each kind: network
// errors, timeouts, the SDK giving up, throttling and 5xx codes, 5xx
// answers) from everything else, which stays an internal error: a plain
// bug, a conditional check that failed, a validation error, a 4xx answer,
// a cancelled request.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused (real dial)", refused(t), true},
		{"connection refused (errno)", fmt.Errorf("put: %w", syscall.ECONNREFUSED), true},
		{"connection reset", fmt.Errorf("put: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"dropped connection", fmt.Errorf("put: %w", &smithyhttp.RequestSendError{Err: io.EOF}), true},
		{"context deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), true},
		{"SDK gave up after its retries (real client)", sdkGaveUp(t), true},
		{"retry quota exhausted", fmt.Errorf("put: %w", ratelimit.QuotaExceededError{Available: 0, Requested: 5}), true},
		{"ThrottlingException", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"ProvisionedThroughputExceededException", &dbtypes.ProvisionedThroughputExceededException{}, true},
		{"RequestLimitExceeded", &dbtypes.RequestLimitExceeded{}, true},
		{"InternalServerError", &dbtypes.InternalServerError{}, true},
		{"ServiceUnavailable", &smithy.GenericAPIError{Code: "ServiceUnavailable"}, true},
		{"SES TooManyRequestsException", &smithy.GenericAPIError{Code: "TooManyRequestsException"}, true},
		{"SNS Throttling", &smithy.GenericAPIError{Code: "Throttling"}, true},
		{"5xx answer without a known code", responseError(502, errors.New("bad gateway")), true},
		{"503 answer", responseError(503, &smithy.GenericAPIError{Code: "Whatever"}), true},
		{"plain bug", errors.New("nil user"), false},
		{"wrapped bug", fmt.Errorf("decode user: %w", errors.New("bad attribute")), false},
		{"conditional check failed", &dbtypes.ConditionalCheckFailedException{}, false},
		{"validation", &smithy.GenericAPIError{Code: "ValidationException"}, false},
		{"4xx answer", responseError(400, &smithy.GenericAPIError{Code: "ValidationException"}), false},
		{"cancelled by the caller", fmt.Errorf("query: %w", context.Canceled), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := httpapi.Unavailable(tc.err); got != tc.want {
				t.Errorf("Unavailable(%v): got %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// Classify turns an unavailable dependency into service_unavailable with
// Retry-After and a generic message, and leaves coded errors and bugs as
// they are: a coded error keeps its code even when it wraps a network error.
func TestClassify(t *testing.T) {
	coded := latchkey.Errorf(latchkey.EConflict, "Already locked.")
	if got := httpapi.Classify(coded); got != error(coded) {
		t.Errorf("coded: got %v, want it unchanged", got)
	}
	bug := errors.New("nil user")
	if got := httpapi.Classify(bug); got != bug {
		t.Errorf("bug: got %v, want it unchanged", got)
	}
	if got := httpapi.Classify(nil); got != nil {
		t.Errorf("nil: got %v, want nil", got)
	}
	var e *latchkey.Error
	got := httpapi.Classify(fmt.Errorf("get user: %w", context.DeadlineExceeded))
	if !errors.As(got, &e) || e.Code != latchkey.EServiceUnavailable || e.RetryAfterSeconds != httpapi.RetryAfterUnavailable {
		t.Errorf("deadline: got %#v, want service_unavailable with Retry-After %d", got, httpapi.RetryAfterUnavailable)
	}
}

// A handler whose store is unreachable answers 503 service_unavailable with
// Retry-After and a generic message; the detail is logged with the error
// code, never answered.
func TestServer_Handle_DependencyUnavailable(t *testing.T) {
	f := newFixture(t)
	f.err = fmt.Errorf("query users at 10.0.0.7: %w", &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "secret detail"}})
	res := f.handle(t, signIn(`{}`))
	e := errorOf(t, res, http.StatusServiceUnavailable)
	if e.Error.Code != latchkey.EServiceUnavailable {
		t.Errorf("code: got %q, want %q", e.Error.Code, latchkey.EServiceUnavailable)
	}
	if got := res.Headers["Retry-After"]; got != fmt.Sprint(httpapi.RetryAfterUnavailable) {
		t.Errorf("Retry-After: got %q, want %d", got, httpapi.RetryAfterUnavailable)
	}
	if strings.Contains(res.Body, "secret") || strings.Contains(res.Body, "10.0.0.7") || strings.Contains(res.Body, "Throttling") {
		t.Errorf("body: got %s, want no detail of the error", res.Body)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "secret detail") || !strings.Contains(logs, `"error_code":"service_unavailable"`) {
		t.Errorf("logs: got %s, want the detail and error_code service_unavailable", logs)
	}
}

// Handle ends a request's work ResponseMargin before the invocation's
// deadline: the handler's context carries exactly that deadline (none when
// the invocation has none), and a handler stopped by it answers 503.
func TestServer_Handle_Deadline(t *testing.T) {
	var (
		got   time.Time
		hasDL bool
	)
	h := func(ctx context.Context, _ *httpapi.Request) (httpapi.Response, error) {
		got, hasDL = ctx.Deadline()
		return httpapi.Response{}, context.DeadlineExceeded
	}
	srv, err := httpapi.NewServer("fn", []httpapi.Endpoint{{Route: signInRoute, Handle: h}}, &fakeAuth{},
		httpapi.NewLogger(&bytes.Buffer{}, slog.LevelError))
	if err != nil {
		t.Fatal(err)
	}
	invocation := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(context.Background(), invocation)
	defer cancel()
	res, err := srv.Handle(ctx, signIn(`{}`))
	if err != nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("answer: got %d, %v, want 503", res.StatusCode, err)
	}
	if want := invocation.Add(-httpapi.ResponseMargin); !hasDL || !got.Equal(want) {
		t.Errorf("handler's deadline: got %v (%v), want %v", got, hasDL, want)
	}
	if _, err := srv.Handle(context.Background(), signIn(`{}`)); err != nil || hasDL {
		t.Errorf("without an invocation deadline: got a deadline %v (%v), want none", got, err)
	}
}
