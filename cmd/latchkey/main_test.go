package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/secure"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The CLI runs against DynamoDB Local and the SES emulator exactly as it runs
// against AWS: only the endpoints differ.
func TestRun_Tenants(t *testing.T) {
	_, table := testenv.NewTable(t)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("SECRETS_FILE", filepath.Join(t.TempDir(), "secrets.json"))
	t.Setenv("SENDER_EMAIL", "no-reply@latchkey.test")
	t.Setenv("SNS_ENDPOINT", "http://127.0.0.1:1")
	ctx := context.Background()
	id, _ := secure.NewID()
	tenant := "cli-" + id[:8]
	email := "alice@" + tenant + ".latchkey.test"

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenants", "create", "-id", tenant, "-name", "Acme Ltd", "-admin-username", "alice", "-admin-email", email}, &out, &errOut); err != nil {
		t.Fatalf("create: %v (%s)", err, errOut.String())
	}
	if !strings.Contains(out.String(), "created tenant "+tenant) || strings.Contains(out.String(), email) {
		t.Errorf("create output: got %q, want the tenant and a masked address", out.String())
	}
	mail := testenv.WaitForEmail(t, email, func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Subject, "Acme Ltd") })
	if !regexp.MustCompile(`(?m)^[A-Za-z0-9]{16}$`).MatchString(mail.Text) {
		t.Errorf("welcome e-mail holds no temporary password line: %q", mail.Text)
	}

	t.Run("the same id twice is refused", func(t *testing.T) {
		var o, e bytes.Buffer
		err := run(ctx, []string{"tenants", "create", "-id", tenant, "-admin-username", "bob", "-admin-email", "bob@x.example"}, &o, &e)
		if err == nil || !strings.Contains(err.Error(), "tenant_exists") {
			t.Fatalf("got %v, want tenant_exists", err)
		}
	})
	t.Run("bad input is refused", func(t *testing.T) {
		var o, e bytes.Buffer
		err := run(ctx, []string{"tenants", "create", "-id", "X", "-admin-username", "bob", "-admin-email", "bob@x.example"}, &o, &e)
		if err == nil || !strings.Contains(err.Error(), "validation_failed") {
			t.Fatalf("got %v, want a validation error", err)
		}
	})
	t.Run("set pin signup", func(t *testing.T) {
		var o, e bytes.Buffer
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-pin-signup", "web"}, &o, &e); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(o.String(), "pinSignup is web, securityPin is off") {
			t.Errorf("got %q", o.String())
		}
		o.Reset()
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-security-pin", "on"}, &o, &e); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(o.String(), "pinSignup is web, securityPin is on") {
			t.Errorf("security pin on: got %q", o.String())
		}
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-security-pin", "maybe"}, &o, &e); err == nil {
			t.Error("-security-pin maybe: got nil error")
		}
		o.Reset()
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-pin-sign-in", "on"}, &o, &e); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(o.String(), "pinSignup is web, securityPin is on, pinSignIn is on") {
			t.Errorf("pin sign-in on: got %q", o.String())
		}
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-pin-sign-in", "yes"}, &o, &e); err == nil || !strings.Contains(err.Error(), "-pin-sign-in") {
			t.Errorf("-pin-sign-in yes: got %v, want an error naming the flag", err)
		}
		o.Reset()
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-pin-sign-in", "off"}, &o, &e); err != nil || !strings.Contains(o.String(), "pinSignIn is off") {
			t.Errorf("pin sign-in off: got %q, %v", o.String(), err)
		}
		if err := run(ctx, []string{"tenants", "set", "-id", tenant, "-pin-signup", "sometimes"}, &o, &e); err == nil {
			t.Error("a bad value: got nil error")
		}
		if err := run(ctx, []string{"tenants", "set", "-id", "no-such-tenant", "-pin-signup", "all"}, &o, &e); err == nil || !strings.Contains(err.Error(), "not_found") {
			t.Errorf("unknown tenant: got %v, want not_found", err)
		}
	})
	t.Run("list shows the tenant", func(t *testing.T) {
		var o, e bytes.Buffer
		if err := run(ctx, []string{"tenants", "list"}, &o, &e); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^` + tenant + `\s+Acme Ltd\s`).MatchString(o.String()) {
			t.Fatalf("list: got %q, want a row for %s", o.String(), tenant)
		}
	})
}
