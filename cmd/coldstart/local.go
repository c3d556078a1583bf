package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/system"
)

// The demo tenant the sample events name (events/README.md): tenant "demo",
// whose admin "admin" has completed the first sign-in with the password in
// events/sessions.sign-in.json.
const (
	demoTenant   = "demo"
	demoUsername = "admin"
	demoEmail    = "admin@demo.example"
	demoPassword = "Correct-horse-battery-9"
	senderEmail  = "no-reply@latchkey.local"
	tableName    = "coldstart"
)

// defaultEvents are the sample events sent to each function: ones that
// answer the same on every repetition (no e-mail, no rate limit, no
// response-time floor), so every run measures the same path. A function not
// named here gets the first events/<function>.*.json.
var defaultEvents = map[string]string{
	"sessions":         "sessions.sign-in.json",      // 201: argon2id verification, token
	"password-reset":   "password-reset.unlock.json", // 204: token check, one conditional update
	"pin-signup":       "pin-signup.generate.json",   // 201: token check, AES-GCM, one transaction
	"accounts":         "accounts.upsert.json",       // 200: token check, E.164 parsing, one update
	"pin-verification": "pin-verification.get.json",  // 200: token check, one read
	"admin":            "admin.user-get.json",        // 200: token check, one read
	"users":            "users.patch.json",           // 200: token check, E.164 parsing, read and one transaction
	"expiry-notifier":  "scheduled.daily.json",       // the EventBridge event: the tenants, the expiry index, no one due
}

// helloEvent is the payload-2.0 event the hello-world function receives.
const helloEvent = `{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"",` +
	`"headers":{"host":"localhost"},"requestContext":{"accountId":"123456789012","apiId":"local",` +
	`"domainName":"localhost","http":{"method":"GET","path":"/","protocol":"HTTP/1.1",` +
	`"sourceIp":"127.0.0.1","userAgent":"coldstart"},"requestId":"local","routeKey":"$default",` +
	`"stage":"$default","time":"01/Jan/2026:00:00:00 +0000","timeEpoch":1767225600000},"isBase64Encoded":false}`

// Local is the local stack the functions run against: DynamoDB Local, the
// SES emulator and the SMS outbox (shared/devstack), one table created from
// the schema, a secrets file and the demo tenant.
type Local struct {
	// Env is what a function needs to start against the local stack.
	Env []string

	deps  *system.Deps
	stops []func() error
}

// StartLocal starts the local services as `make run` and the integration
// tests do, creates the table and the demo tenant in dir.
func StartLocal(ctx context.Context, root, dir string, progress func(string)) (l *Local, err error) {
	l = &Local{}
	defer func() {
		if err != nil {
			l.Stop()
		}
	}()
	if err := devstack.EnsureNodeTools(root); err != nil {
		return nil, err
	}
	progress("starting DynamoDB Local, the SES emulator and the SMS outbox")
	ddb, err := devstack.StartDynamoLocal(ctx, devstack.DynamoOptions{Root: root})
	if err != nil {
		return nil, err
	}
	l.stops = append(l.stops, ddb.Stop)
	ses, err := devstack.StartSESLocal(ctx, devstack.SESOptions{Root: root})
	if err != nil {
		return nil, err
	}
	l.stops = append(l.stops, ses.Stop)
	sms, err := devstack.StartOutbox(ctx, devstack.OutboxOptions{})
	if err != nil {
		return nil, err
	}
	l.stops = append(l.stops, sms.Stop)

	cfg, err := awscfg.Load(ctx, ddb.Endpoint())
	if err != nil {
		return nil, err
	}
	db := dynamo.NewClientFrom(cfg, ddb.Endpoint())
	if err := dynamo.CreateTable(ctx, db, tableName); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	// The functions create the secrets file on first use; the harness
	// creates it first, to issue the tokens the sample events need.
	c := config.Config{
		TableName:      tableName,
		DynamoEndpoint: ddb.Endpoint(),
		SESEndpoint:    ses.Endpoint(),
		SNSEndpoint:    sms.Endpoint(),
		SecretsFile:    filepath.Join(dir, "secrets.json"),
		SenderEmail:    senderEmail,
	}
	l.Env = []string{
		"TABLE_NAME=" + c.TableName,
		"DYNAMODB_ENDPOINT=" + c.DynamoEndpoint,
		"SES_ENDPOINT=" + c.SESEndpoint,
		"SNS_ENDPOINT=" + c.SNSEndpoint,
		"SECRETS_FILE=" + c.SecretsFile,
		"SENDER_EMAIL=" + c.SenderEmail,
		"LOG_LEVEL=error",
	}
	if l.deps, err = system.NewDeps(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return nil, err
	}
	if err := l.createDemo(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// createDemo creates the demo tenant and its admin with demoPassword, as
// shared/system's event test does: what the default events need (an override
// needing more, such as a PIN code, answers its documented error).
func (l *Local) createDemo(ctx context.Context) error {
	d := l.deps
	_, _, temp, err := d.Tenancy.CreateTenant(ctx, demoTenant, "Demo", demoUsername, demoEmail)
	if err != nil {
		return fmt.Errorf("create demo tenant: %w", err)
	}
	res, err := d.Passwords.SignIn(ctx, demoTenant, demoUsername, temp)
	if err != nil {
		return fmt.Errorf("demo admin's first sign-in: %w", err)
	}
	if _, err := d.Passwords.CompleteNewPassword(ctx, demoTenant, res.Session, demoPassword); err != nil {
		return fmt.Errorf("set demo admin's password: %w", err)
	}
	return nil
}

// Event reads a sample event file and returns it ready to send: its
// placeholders replaced by a fresh token and the user's id
// (system.Deps.PrepareEvent, as `make invoke` does).
func (l *Local) Event(ctx context.Context, file string) ([]byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(raw, []byte(`"detail-type"`)) || bytes.Contains(raw, []byte(`"Records"`)) {
		// An EventBridge event or a stream batch: not payload 2.0, but a
		// stream record may name a user.
		return l.deps.FillPlaceholders(ctx, raw)
	}
	ev, err := l.deps.PrepareEvent(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(file), err)
	}
	return json.Marshal(ev)
}

// Stop stops the services, last started first.
func (l *Local) Stop() {
	for i := len(l.stops) - 1; i >= 0; i-- {
		_ = l.stops[i]()
	}
}

// eventFile picks the sample event of function fn in eventsDir: the
// override, else defaultEvents, else the first <fn>.*.json.
func eventFile(eventsDir, fn string, overrides map[string]string) (string, error) {
	if f, ok := overrides[fn]; ok {
		return f, nil
	}
	if f, ok := defaultEvents[fn]; ok {
		p := filepath.Join(eventsDir, f)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	matches, err := filepath.Glob(filepath.Join(eventsDir, fn+".*.json"))
	if err != nil {
		return "", err
	}
	sort.Strings(matches)
	if len(matches) == 0 {
		return "", errors.New("no sample event " + filepath.Join(eventsDir, fn+".*.json") + " for function " + fn)
	}
	return matches[0], nil
}

// eventFlag collects -event function=file overrides.
type eventFlag map[string]string

func (e eventFlag) String() string {
	var parts []string
	for k, v := range e {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (e eventFlag) Set(v string) error {
	fn, file, ok := strings.Cut(v, "=")
	if !ok || fn == "" || file == "" {
		return errors.New("want function=events/<file>.json")
	}
	e[fn] = file
	return nil
}
