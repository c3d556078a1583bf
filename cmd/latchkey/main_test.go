package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
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

// users import reads a CSV file and imports it in batches of 100 through
// the service behind POST /users: a progress line per batch, a line per
// row, and an error when any row was refused.
func TestRun_UsersImport(t *testing.T) {
	_, table := testenv.NewTable(t)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("SECRETS_FILE", filepath.Join(t.TempDir(), "secrets.json"))
	t.Setenv("SENDER_EMAIL", "no-reply@latchkey.test")
	t.Setenv("SNS_ENDPOINT", "http://127.0.0.1:1")
	ctx := context.Background()
	id, _ := secure.NewID()
	tenant := "imp-" + id[:8]
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"tenants", "create", "-id", tenant, "-admin-username", "alice", "-admin-email", "alice@" + tenant + ".latchkey.test"}, &out, &errOut); err != nil {
		t.Fatalf("create: %v (%s)", err, errOut.String())
	}
	testenv.Remember(testenv.TempPassword(t, "alice@"+tenant+".latchkey.test"))
	addr := func(name string) string { return name + "@" + tenant + ".latchkey.test" }

	// 150 users, columns in another order; row 11 (user009) has a bad
	// e-mail address and row 122 (user120) a day that does not exist.
	var csv strings.Builder
	csv.WriteString("\ufeffemail,username,roles,mobile,passwordExpiresOn\n")
	for i := 0; i < 150; i++ {
		name := fmt.Sprintf("user%03d", i)
		email, day, roles, mobile := addr(name), "", "user", ""
		switch i {
		case 0:
			roles, mobile, day = "agent; user", "+44 7911 123456", "2027-01-31"
		case 9:
			email = "no-address"
		case 120:
			day = "2027-02-30"
		}
		fmt.Fprintf(&csv, "%s,%s,%s,%s,%s\n", email, name, roles, mobile, day)
	}
	file := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	importFile := func(extra ...string) (string, string, error) {
		var o, e bytes.Buffer
		err := run(ctx, append([]string{"users", "import", "-tenant", tenant, "-file", file}, extra...), &o, &e)
		return o.String(), e.String(), err
	}

	stdout, stderr, err := importFile()
	if err == nil || !strings.Contains(err.Error(), "2 of 150 rows refused") {
		t.Errorf("error: got %v, want 2 of 150 rows refused", err)
	}
	for _, want := range []string{"rows 2-101: 100 of 150 users done, 99 created, 1 refused", "rows 102-151: 150 of 150 users done, 148 created, 2 refused"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress: got %q, want a line %q", stderr, want)
		}
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^row 2\s+user000\s+created\s+[a-z2-7]{16}$`),
		regexp.MustCompile(`(?m)^row 11\s+user009\s+refused\s+validation_failed: email: `),
		regexp.MustCompile(`(?m)^row 122\s+user120\s+refused\s+validation_failed: passwordExpiresOn: `),
		regexp.MustCompile(`(?m)^row 151\s+user149\s+created\s`),
		regexp.MustCompile(`(?m)^150 users: 148 created, 2 refused$`),
	} {
		if !want.MatchString(stdout) {
			t.Errorf("report: got %q, want a line matching %s", stdout, want)
		}
	}
	if n := strings.Count(stdout, " created "); n != 148 {
		t.Errorf("created lines: got %d, want 148", n)
	}
	testenv.Remember(testenv.TempPassword(t, addr("user000")))

	t.Run("the same file again: every row refused as taken, but the two bad ones", func(t *testing.T) {
		stdout, _, err := importFile("-send-email=false")
		if err == nil || !strings.Contains(stdout, "150 users: 0 created, 150 refused") || strings.Count(stdout, "username_taken") != 148 {
			t.Errorf("got %v and %q, want 148 username_taken and 2 other refusals", err, stdout)
		}
	})
	t.Run("without e-mail", func(t *testing.T) {
		quiet := filepath.Join(t.TempDir(), "quiet.csv")
		if err := os.WriteFile(quiet, []byte("username,email\nquiet1,"+addr("quiet1")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var o, e bytes.Buffer
		if err := run(ctx, []string{"users", "import", "-tenant", tenant, "-file", quiet, "-send-email=false"}, &o, &e); err != nil {
			t.Fatalf("got %v (%s)", err, e.String())
		}
		if !strings.Contains(o.String(), "1 users: 1 created, 0 refused") || len(testenv.Emails(t, addr("quiet1"))) != 0 {
			t.Errorf("got %q and %d e-mails, want one created and no e-mail", o.String(), len(testenv.Emails(t, addr("quiet1"))))
		}
	})
	t.Run("bad files", func(t *testing.T) {
		for name, content := range map[string]string{
			"no email column":  "username,mobile\nbob,+14155550100\n",
			"unknown column":   "username,email,phone\nbob,bob@x.io,1\n",
			"no users":         "username,email\n",
			"wrong row length": "username,email\nbob,bob@x.io,extra\n",
		} {
			bad := filepath.Join(t.TempDir(), "bad.csv")
			if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var o, e bytes.Buffer
			if err := run(ctx, []string{"users", "import", "-tenant", tenant, "-file", bad}, &o, &e); err == nil {
				t.Errorf("%s: got nil, want an error", name)
			}
		}
		var o, e bytes.Buffer
		if err := run(ctx, []string{"users", "import", "-tenant", "no-such-tenant", "-file", file}, &o, &e); err == nil || !strings.Contains(err.Error(), "not_found") {
			t.Errorf("unknown tenant: got %v, want not_found", err)
		}
	})
}
