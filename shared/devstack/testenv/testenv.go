// Package testenv gives integration tests the real local parts: TestMain
// calls Main, which starts DynamoDB Local and the SES emulator on free ports
// (unless DYNAMODB_ENDPOINT / SES_ENDPOINT point at running ones) and stops
// them when the package's tests end. Each test then takes its own fresh table
// with NewTable and reads the e-mail it caused with WaitForEmail.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secrets"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/system"
)

// Runner is what Main runs: *testing.M, or a RunFunc wrapping m.Run with
// checks of its own.
type Runner interface{ Run() int }

// RunFunc adapts a function to Runner.
type RunFunc func() int

// Run calls f.
func (f RunFunc) Run() int { return f() }

// Main starts the local parts the tests need, runs the tests, stops the
// parts, and exits with the tests' code. It never skips: when a part cannot
// start, the run fails with the reason.
func Main(m Runner) { os.Exit(run(m)) }

func run(m Runner) int {
	ctx := context.Background()
	root, err := devstack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	if os.Getenv("DYNAMODB_ENDPOINT") == "" || os.Getenv("SES_ENDPOINT") == "" {
		if err := devstack.EnsureNodeTools(root); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
	}
	var stops []func() error
	defer func() {
		for _, s := range stops {
			_ = s()
		}
	}()
	if os.Getenv("DYNAMODB_ENDPOINT") == "" {
		p, err := devstack.StartDynamoLocal(ctx, devstack.DynamoOptions{Root: root})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
		stops = append(stops, p.Stop)
		os.Setenv("DYNAMODB_ENDPOINT", p.Endpoint())
	}
	if os.Getenv("SES_ENDPOINT") == "" {
		p, err := devstack.StartSESLocal(ctx, devstack.SESOptions{Root: root})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
			return 1
		}
		stops = append(stops, p.Stop)
		os.Setenv("SES_ENDPOINT", p.Endpoint())
	}
	slog.SetDefault(Logger())
	code := m.Run()
	if err := checkSecrets(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return code
}

// DynamoEndpoint is the DynamoDB endpoint the tests use.
func DynamoEndpoint() string { return os.Getenv("DYNAMODB_ENDPOINT") }

// SESEndpoint is the SES emulator endpoint the tests use.
func SESEndpoint() string { return os.Getenv("SES_ENDPOINT") }

var (
	clientOnce sync.Once
	client     *dynamodb.Client
	clientErr  error
)

// DB returns the DynamoDB client of the test endpoint.
func DB(t testing.TB) *dynamodb.Client {
	t.Helper()
	if DynamoEndpoint() == "" {
		t.Fatal("testenv: DYNAMODB_ENDPOINT is not set: call testenv.Main from TestMain")
	}
	clientOnce.Do(func() {
		var cfg aws.Config
		if cfg, clientErr = awscfg.Load(context.Background(), DynamoEndpoint()); clientErr == nil {
			client = dynamo.NewClientFrom(cfg, DynamoEndpoint())
		}
	})
	if clientErr != nil {
		t.Fatal(clientErr)
	}
	return client
}

// NewTable creates a fresh table from schema.Schema for one test and deletes
// it when the test ends.
func NewTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	db := DB(t)
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	name := "test-" + id
	ctx := context.Background()
	if err := dynamo.CreateTable(ctx, db, name); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() { _, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	return db, name
}

// SESClient returns an SES v2 client of the test emulator.
func SESClient(t testing.TB) *sesv2.Client {
	t.Helper()
	if SESEndpoint() == "" {
		t.Fatal("testenv: SES_ENDPOINT is not set: call testenv.Main from TestMain")
	}
	cfg, err := awscfg.Load(context.Background(), SESEndpoint())
	c := ses.NewClientFrom(cfg, SESEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Emails returns every e-mail the test emulator holds for the address to.
func Emails(t testing.TB, to string) []devstack.ReceivedEmail {
	t.Helper()
	all, err := devstack.FetchEmails(context.Background(), SESEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	var out []devstack.ReceivedEmail
	for _, e := range all {
		for _, r := range e.To {
			if strings.EqualFold(r, to) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// WaitForEmail returns the first e-mail to the address to that match
// accepts, waiting up to ten seconds for it to arrive (delivery through the
// emulator is asynchronous to nothing here, but a slow machine may lag).
func WaitForEmail(t testing.TB, to string, match func(devstack.ReceivedEmail) bool) devstack.ReceivedEmail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range Emails(t, to) {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching e-mail to %s after 10 s (%d e-mails to it)", to, len(Emails(t, to)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// NewOutbox starts an SMS outbox on a free port for one test.
func NewOutbox(t testing.TB) *devstack.Outbox {
	t.Helper()
	o, err := devstack.StartOutbox(context.Background(), devstack.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Stop() })
	return o
}

// The secret check: tests send their logs to LogWriter and name the secrets
// they use with Remember; Main fails the run when any remembered secret
// appears in any captured log line, or when secrets were remembered but no
// log line was captured (the check would prove nothing).
var (
	logMu      sync.Mutex
	logBuf     strings.Builder
	secretMu   sync.Mutex
	remembered []string
)

type logWriter struct{}

func (logWriter) Write(b []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return logBuf.Write(b)
}

// LogWriter captures log output for the secret check.
var LogWriter io.Writer = logWriter{}

// Logger returns a debug-level JSON logger writing to LogWriter.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(LogWriter, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Remember records secrets (passwords, temporary passwords, tokens, codes,
// PINs) that must never appear in a log. Values shorter than six characters
// are ignored; a value of digits only is found only where it stands alone
// (see appears).
func Remember(values ...string) {
	secretMu.Lock()
	defer secretMu.Unlock()
	for _, v := range values {
		if len(v) >= 6 {
			remembered = append(remembered, v)
		}
	}
}

// checkSecrets reports the first remembered secret found in the logs.
func checkSecrets() error {
	logMu.Lock()
	defer logMu.Unlock()
	secretMu.Lock()
	defer secretMu.Unlock()
	if len(remembered) == 0 {
		return nil
	}
	if logBuf.Len() == 0 {
		return fmt.Errorf("%d secrets remembered but no log line captured: the secret check would prove nothing", len(remembered))
	}
	logs := logBuf.String()
	for _, s := range remembered {
		if appears(logs, s) {
			return fmt.Errorf("a secret used in the tests (%d characters, starting %q) appears in the logs", len(s), s[:3])
		}
	}
	fmt.Fprintf(os.Stderr, "secret check: %d secrets, none in %d bytes of logs\n", len(remembered), logBuf.Len())
	return nil
}

// appears reports whether secret s is in logs. A secret of digits only (a
// PIN, a one-time code) counts only where it stands alone, not inside a
// longer run of digits: every log line's time carries nine digits of
// nanoseconds, which hold any given six digits now and then, while a
// logged PIN stands between quotes or other non-digits.
func appears(logs, s string) bool {
	if strings.Trim(s, "0123456789") != "" {
		return strings.Contains(logs, s)
	}
	isDigit := func(b byte) bool { return b >= '0' && b <= '9' }
	for from := 0; ; {
		i := strings.Index(logs[from:], s)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(s)
		if (i == 0 || !isDigit(logs[i-1])) && (end == len(logs) || !isDigit(logs[end])) {
			return true
		}
		from = i + 1
	}
}

// Sender is the From address of the deployments NewDeps builds.
const Sender = "no-reply@latchkey.test"

// NewDeps builds the whole application on a fresh table, with a new master
// key, the SES emulator as mailer, logs going to LogWriter and the clock now
// (a testclock's Now, or time.Now).
func NewDeps(t testing.TB, now latchkey.Clock) *system.Deps {
	t.Helper()
	db, table := NewTable(t)
	return build(t, now, db, table)
}

// NewCountedDeps is NewDeps with a DynamoDB client whose calls the returned
// counter counts (round trips per flow).
func NewCountedDeps(t testing.TB, now latchkey.Clock) (*system.Deps, *dynamo.CallCounter) {
	t.Helper()
	_, table := NewTable(t)
	cfg, err := awscfg.Load(context.Background(), DynamoEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	counter := &dynamo.CallCounter{}
	return build(t, now, dynamo.NewClientFrom(cfg, DynamoEndpoint(), counter.Attach), table), counter
}

func build(t testing.TB, now latchkey.Clock, db *dynamodb.Client, table string) *system.Deps {
	t.Helper()
	master, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secrets.Derive(master)
	if err != nil {
		t.Fatal(err)
	}
	return system.Build(config.Config{TableName: table, SenderEmail: Sender}, Logger(), now, keys,
		dynamo.New(db, table, now), ses.New(SESClient(t), Sender), nil)
}

var tempPasswordLine = regexp.MustCompile(`(?m)^\s*([A-Za-z0-9]{16})\s*$`)

// TempPassword waits for an e-mail to the address to holding a temporary
// password (alone on its line) other than the ones in seen, remembers it as a
// secret and returns it.
func TempPassword(t testing.TB, to string, seen ...string) string {
	t.Helper()
	var got string
	WaitForEmail(t, to, func(e devstack.ReceivedEmail) bool {
		for _, m := range tempPasswordLine.FindAllStringSubmatch(e.Text, -1) {
			if !slices.Contains(seen, m[1]) {
				got = m[1]
				return true
			}
		}
		return false
	})
	Remember(got)
	return got
}

// Concurrently runs f(0) … f(n-1) in n goroutines released at the same
// moment, waits for all of them and returns their errors by index: the
// shape of every test of a conditional write under concurrent requests.
func Concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// UnreachableMailer returns the real SES client pointed at a closed port:
// every send fails, as when SES is down.
func UnreachableMailer(t testing.TB) *ses.Mailer {
	t.Helper()
	const closed = "http://127.0.0.1:1"
	cfg, err := awscfg.Load(context.Background(), closed)
	if err != nil {
		t.Fatal(err)
	}
	return ses.New(ses.NewClientFrom(cfg, closed), Sender)
}

// Token issues a bearer token of u with d's issuer, remembered as a secret.
func Token(t testing.TB, d *system.Deps, u *latchkey.User) string {
	t.Helper()
	tok, _, err := d.Tokens.Issue(u.TenantID, u.ID, u.Roles, u.SessionVersion)
	if err != nil {
		t.Fatal(err)
	}
	Remember(tok)
	return tok
}

// Reply is an HTTP answer as a test reads it: Body is the JSON object of
// the answer, if it is one.
type Reply struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// Code returns the error code of an error answer ("" otherwise).
func (r Reply) Code() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// Message returns the error message of an error answer ("" otherwise).
func (r Reply) Message() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// Call sends a JSON request (body "" for none) to url with the bearer token
// tok ("" for none) and the headers given as name, value pairs, and returns
// the answer.
func Call(t testing.TB, method, url, tok, body string, headers ...string) Reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := Reply{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.Body)
	}
	return out
}
