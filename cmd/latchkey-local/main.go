// Command latchkey-local runs the whole of Latchkey on this machine with real
// parts: DynamoDB Local (from the npm package amplify-dynamodb-simulator, run
// with Java), the SES v2 emulator aws-ses-v2-local, an SMS outbox that
// answers the real SNS client's Publish calls, and the API on
// http://localhost:8080, which turns each request into the payload-2.0 event
// of its route and calls the same handler the Lambda runs. It is what
// `make run` starts; `make invoke` uses its invoke sub-command.
//
// State lives in .local/ (ignored by git) and survives restarts until
// `make clean`. DYNAMODB_ENDPOINT and SES_ENDPOINT point at already running
// services instead of starting them. Ctrl-C stops every process it started.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // tenant time zones are checked by name, as in the admin function

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
	"github.com/latchkey/latchkey/shared/system"
)

// Local ports.
const (
	apiPort    = 8080
	dynamoPort = 8000
	sesPort    = 8005
	smsPort    = 8006
)

// Demo tenant created on first start.
const (
	demoTenant   = "demo"
	demoUsername = "admin"
	demoEmail    = "admin@demo.example"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "invoke" {
		err = invoke(ctx, os.Args[2:], os.Stdout)
	} else {
		err = run(ctx, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey-local:", err)
		os.Exit(1)
	}
}

// stack is the set of local services, started or reused.
type stack struct {
	root, state               string
	dynamoURL, sesURL, smsURL string
	inboxURL                  string
	stops                     []func() error
}

func (s *stack) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		_ = s.stops[i]()
	}
}

// reachable reports whether something answers on 127.0.0.1:port.
func reachable(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// startStack starts what is not already given by the environment. reuse
// lets `invoke` use services that `make run` has already started.
func startStack(ctx context.Context, reuse bool, log io.Writer) (*stack, error) {
	root, err := devstack.RepoRoot()
	if err != nil {
		return nil, err
	}
	s := &stack{root: root, state: filepath.Join(root, ".local")}
	if err := os.MkdirAll(s.state, 0o700); err != nil {
		return nil, err
	}
	if err := devstack.EnsureNodeTools(root); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	s.dynamoURL = os.Getenv("DYNAMODB_ENDPOINT")
	switch {
	case s.dynamoURL != "":
	case reuse && reachable(dynamoPort):
		s.dynamoURL = fmt.Sprintf("http://127.0.0.1:%d", dynamoPort)
	default:
		d, err := devstack.StartDynamoLocal(ctx, devstack.DynamoOptions{Root: root, Port: dynamoPort, DataDir: filepath.Join(s.state, "dynamodb"), Log: log})
		if err != nil {
			return nil, err
		}
		s.stops = append(s.stops, d.Stop)
		s.dynamoURL = d.Endpoint()
	}

	s.sesURL = os.Getenv("SES_ENDPOINT")
	switch {
	case s.sesURL != "":
		s.inboxURL = s.sesURL
	case reuse && reachable(sesPort):
		s.sesURL = fmt.Sprintf("http://127.0.0.1:%d", sesPort)
		s.inboxURL = s.sesURL
	default:
		e, err := devstack.StartSESLocal(ctx, devstack.SESOptions{Root: root, Port: sesPort, Log: log})
		if err != nil {
			return nil, err
		}
		s.stops = append(s.stops, e.Stop)
		s.sesURL, s.inboxURL = e.Endpoint(), e.InboxURL()
	}

	s.smsURL = os.Getenv("SNS_ENDPOINT")
	switch {
	case s.smsURL != "":
	case reuse && reachable(smsPort):
		s.smsURL = fmt.Sprintf("http://127.0.0.1:%d", smsPort)
	default:
		o, err := devstack.StartOutbox(ctx, devstack.OutboxOptions{Port: smsPort, Path: filepath.Join(s.state, "sms-outbox.json")})
		if err != nil {
			return nil, err
		}
		s.stops = append(s.stops, o.Stop)
		s.smsURL = o.Endpoint()
	}

	// The functions read their configuration from the environment, as in Lambda.
	env := map[string]string{
		"DYNAMODB_ENDPOINT": s.dynamoURL, "SES_ENDPOINT": s.sesURL, "SNS_ENDPOINT": s.smsURL,
		"TABLE_NAME": schema.DefaultTableName, "SECRETS_FILE": filepath.Join(s.state, "secrets.json"),
		"PUBLIC_BASE_URL": fmt.Sprintf("http://localhost:%d", apiPort),
	}
	if os.Getenv("SENDER_EMAIL") == "" {
		env["SENDER_EMAIL"] = "no-reply@latchkey.local"
	}
	for k, v := range env {
		if os.Getenv(k) == "" || strings.HasSuffix(k, "_ENDPOINT") {
			os.Setenv(k, v)
		}
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, "local")
		}
	}
	if os.Getenv("AWS_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	cfg, err := awscfg.Load(ctx, s.dynamoURL)
	if err != nil {
		return nil, err
	}
	db := dynamo.NewClientFrom(cfg, s.dynamoURL)
	if err := dynamo.CreateTable(ctx, db, os.Getenv("TABLE_NAME")); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	ok = true
	return s, nil
}

func newDeps(ctx context.Context, log io.Writer) (*system.Deps, error) {
	c, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return system.NewDeps(ctx, c, httpapi.NewLogger(log, c.LogLevel))
}

func run(ctx context.Context, out io.Writer) error {
	if reachable(apiPort) {
		return fmt.Errorf("port %d is in use: stop what is using it (another make run?) and try again", apiPort)
	}
	s, err := startStack(ctx, false, io.Discard)
	if err != nil {
		return err
	}
	defer s.Stop()
	logFile, err := os.OpenFile(filepath.Join(s.state, "api.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	d, err := newDeps(ctx, io.MultiWriter(logFile, os.Stderr))
	if err != nil {
		return err
	}
	gw, err := d.Gateway()
	if err != nil {
		return err
	}
	demo, err := ensureDemo(ctx, d, s.state)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", apiPort))
	if err != nil {
		return fmt.Errorf("port %d is in use: stop what is using it and try again", apiPort)
	}
	hs := &http.Server{Handler: withWeb(gw), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	if err := startExpirySchedule(ctx, d, out); err != nil {
		return err
	}
	if err := startLockNotifier(ctx, d); err != nil {
		return err
	}

	fmt.Fprintf(out, `
Latchkey is running locally.

  API          http://localhost:%d/v1/tenants/%s/...
  Pages        http://localhost:%d/t/%s/ (console: /t/%s/console)
  E-mail inbox %s
  SMS outbox   %s
  DynamoDB     %s (table %s, data in .local/dynamodb)
  API log      .local/api.log

  Demo tenant  %s
%s
Press Ctrl-C to stop.
`, apiPort, demoTenant, apiPort, demoTenant, demoTenant, s.inboxURL, s.smsURL, s.dynamoURL, os.Getenv("TABLE_NAME"), demoTenant, demo)

	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping...")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdown)
	return nil
}

// lockPollEvery is how often the local stack reads the table's stream for
// the lock notifier.
const lockPollEvery = 500 * time.Millisecond

// startLockNotifier stands in for the table stream's event source of the
// lock notifier (expiry.FnLockNotifier): it reads DynamoDB Local's stream
// and hands the records to the notifier's handler in process, so a lock
// sends its notice to the SES inbox and the SMS outbox as in AWS.
func startLockNotifier(ctx context.Context, d *system.Deps) error {
	cfg, err := awscfg.Load(ctx, "local")
	if err != nil {
		return err
	}
	p := &devstack.StreamPoller{
		DB: dynamo.NewClientFrom(cfg, d.Config.DynamoEndpoint), Streams: devstack.NewStreamsClientFrom(cfg, d.Config.DynamoEndpoint),
		Table: d.Config.TableName, Handle: d.Expiry.HandleStream, Logger: d.Logger,
	}
	go p.Run(ctx, lockPollEvery)
	return nil
}

// startExpirySchedule runs the expiry notifier on a fast local schedule
// when EXPIRY_EVERY is set (a Go duration, such as 10s): every tick acts as
// the next hour from EXPIRY_FROM (RFC 3339; the current hour when unset),
// so a day of hourly runs passes in 24 ticks. Without EXPIRY_EVERY nothing
// runs: use make invoke FN=expiry-notifier … AT=… for one run.
func startExpirySchedule(ctx context.Context, d *system.Deps, out io.Writer) error {
	every := os.Getenv("EXPIRY_EVERY")
	if every == "" {
		return nil
	}
	tick, err := time.ParseDuration(every)
	if err != nil || tick <= 0 {
		return fmt.Errorf("EXPIRY_EVERY %q: want a positive duration, such as 10s", every)
	}
	at := time.Now().UTC().Truncate(time.Hour)
	if from := os.Getenv("EXPIRY_FROM"); from != "" {
		if at, err = time.Parse(time.RFC3339, from); err != nil {
			return fmt.Errorf("EXPIRY_FROM %q: want RFC 3339, such as 2026-12-01T00:00:00Z", from)
		}
	}
	fmt.Fprintf(out, "expiry-notifier: every %s, acting as one hour later each time, from %s\n", tick, at.Format(time.RFC3339))
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			rep, err := d.Expiry.Run(ctx, at)
			if err != nil {
				d.Logger.WarnContext(ctx, "expiry-notifier run failed", "at", at.Format(time.RFC3339), "error", err.Error())
			}
			fmt.Fprintf(out, "expiry-notifier at %s: %d tenants, %d sent, %d duplicate, %d failed\n",
				at.Format(time.RFC3339), rep.Tenants, rep.Sent, rep.Duplicate, rep.Failed)
			at = at.Add(time.Hour)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// ensureDemo creates the demo tenant and its admin on first start, keeping
// the printed credentials in .local/demo-admin.txt so later starts can show
// them again (a local convenience; in AWS the operator CLI e-mails them).
func ensureDemo(ctx context.Context, d *system.Deps, state string) (string, error) {
	file := filepath.Join(state, "demo-admin.txt")
	_, err := d.Store.GetTenant(ctx, demoTenant)
	if err == nil {
		b, rerr := os.ReadFile(file)
		if rerr != nil {
			return "  (demo tenant exists; its admin credentials were printed at its creation)\n", nil
		}
		return string(b) + "               (as printed at its creation; it stops working once used)\n", nil
	}
	if latchkey.ErrorCode(err) != latchkey.ENotFound {
		return "", err
	}
	t, u, pw, err := d.Tenancy.CreateTenant(ctx, demoTenant, "Demo", demoUsername, demoEmail)
	if err != nil {
		return "", fmt.Errorf("create demo tenant: %w", err)
	}
	// The demo shows every capability: PIN-code signup is on for web pages,
	// the security PIN is on, and so is sign-in with username and user PIN.
	if _, err := d.Tenancy.UpdateSettings(ctx, t.ID, "operator", "pinSignup=web,securityPin=on,pinSignIn=on", func(st *latchkey.Settings) {
		st.PINSignup, st.SecurityPIN, st.PINSignIn = latchkey.PINSignupWeb, true, true
	}); err != nil {
		return "", fmt.Errorf("demo tenant settings: %w", err)
	}
	text := fmt.Sprintf("  Admin        username %q, temporary password %q (valid 48 h, e-mailed to %s)\n", u.Username, pw, u.Email)
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return "", err
	}
	return text, nil
}

// invoke runs one function on a sample event against the local stack and
// prints the response.
func invoke(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fn := fs.String("fn", "", "function name (a folder under functions/)")
	evFile := fs.String("event", "", "payload-2.0 event file, such as events/sessions.sign-in.json")
	atFlag := fs.String("at", os.Getenv("AT"), "for a scheduled function: act as this time (RFC 3339, such as 2026-12-01T09:00:00Z) instead of the event's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var at time.Time
	if *atFlag != "" {
		t, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			return fmt.Errorf("-at (AT) %q: want RFC 3339, such as 2026-12-01T09:00:00Z", *atFlag)
		}
		at = t
	}
	if *fn == "" || *evFile == "" {
		return errors.New("usage: make invoke FN=<function> EVENT=events/<file>.json")
	}
	s, err := startStack(ctx, true, io.Discard)
	if err != nil {
		return err
	}
	defer s.Stop()
	d, err := newDeps(ctx, os.Stderr)
	if err != nil {
		return err
	}
	// The functions without a route take their own kind of event and
	// answer with a report.
	unrouted := map[string]func(raw []byte) (any, error){
		expiry.FnExpiryNotifier: func(raw []byte) (any, error) { return d.InvokeScheduled(ctx, raw, at) },
		expiry.FnLockNotifier:   func(raw []byte) (any, error) { return d.InvokeStream(ctx, raw) },
		expiry.FnDeliveryEvents: func(raw []byte) (any, error) { return d.InvokeDeliveryEvent(ctx, raw) },
	}
	if handle, ok := unrouted[*fn]; ok {
		raw, err := os.ReadFile(*evFile)
		if err != nil {
			return err
		}
		rep, err := handle(raw)
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(out, string(b))
		return err
	}
	res, err := InvokeFile(ctx, d, *fn, *evFile)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, res)
	return nil
}

// InvokeFile sends the event in file through function fn and returns the
// response as indented JSON.
func InvokeFile(ctx context.Context, d *system.Deps, fn, file string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	res, err := d.Invoke(ctx, fn, raw)
	if err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	return string(b), err
}
