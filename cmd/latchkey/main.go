// Command latchkey is the operator's tool: it creates tenants with their
// first admin (who receives a temporary password by e-mail), lists
// tenants, changes their switches, and imports a tenant's users from a CSV
// file (through the same service as POST /users). It uses the standard AWS
// configuration chain, or the local stack when DYNAMODB_ENDPOINT /
// SES_ENDPOINT are set (see README).
//
//	latchkey tenants create -id acme -name "Acme Ltd" -admin-username alice -admin-email alice@acme.example
//	latchkey tenants list
//	latchkey tenants set -id acme -pin-signup web -security-pin on -pin-sign-in on
//	latchkey users import -tenant acme -file users.csv [-send-email=false]
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	_ "time/tzdata" // tenant time zones are checked by name, as in the admin function

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/useradmin"
)

const usage = `usage:
  latchkey tenants create -id ID [-name NAME] -admin-username USERNAME -admin-email EMAIL
  latchkey tenants list
  latchkey tenants set -id ID [-pin-signup off|web|all] [-security-pin on|off] [-pin-sign-in on|off]
  latchkey users import -tenant ID -file users.csv [-send-email=false]

users.csv has a header row naming its columns: username and email (required),
mobile (international form), roles (admin, agent, user, separated by ;) and
passwordExpiresOn (YYYY-MM-DD), in any order.

Environment: TABLE_NAME, SENDER_EMAIL, SECRET_ARN (AWS) or SECRETS_FILE (local),
and DYNAMODB_ENDPOINT / SES_ENDPOINT for the local stack; AWS credentials and
region come from the standard AWS configuration chain (AWS_PROFILE, ...).
`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "latchkey:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || (args[0] != "tenants" && (args[0] != "users" || args[1] != "import")) {
		fmt.Fprint(stderr, usage)
		return errors.New("unknown command")
	}
	c, err := config.FromEnv()
	if err != nil {
		return err
	}
	d, err := system.NewDeps(ctx, c, slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if args[0] == "users" {
		return importUsers(ctx, d, args[2:], stdout, stderr)
	}
	switch args[1] {
	case "create":
		fs := flag.NewFlagSet("tenants create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		id := fs.String("id", "", "tenant id: 3-32 lowercase letters, digits, hyphens")
		name := fs.String("name", "", "display name (default: the id)")
		user := fs.String("admin-username", "", "username of the first admin")
		email := fs.String("admin-email", "", "e-mail of the first admin; the temporary password goes there")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		t, u, _, err := d.Tenancy.CreateTenant(ctx, *id, *name, *user, *email)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created tenant %s (%s); admin %s (id %s) has been e-mailed a temporary password at %s\n",
			t.ID, t.Name, u.Username, u.ID, latchkey.MaskEmail(u.Email))
		return nil
	case "list":
		ts, err := d.Tenancy.ListTenants(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tCREATED")
		for _, t := range ts {
			fmt.Fprintf(w, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format("2006-01-02 15:04Z"))
		}
		return w.Flush()
	case "set":
		fs := flag.NewFlagSet("tenants set", flag.ContinueOnError)
		fs.SetOutput(stderr)
		id := fs.String("id", "", "tenant id")
		pinSignup := fs.String("pin-signup", "", "which clients may use PIN-code signup: off, web or all")
		securityPIN := fs.String("security-pin", "", "the security-PIN feature: on or off")
		pinSignIn := fs.String("pin-sign-in", "", "sign-in with username and user PIN (mobile): on or off")
		if err := fs.Parse(args[2:]); err != nil {
			return err
		}
		if *pinSignup == "" && *securityPIN == "" && *pinSignIn == "" {
			return errors.New("nothing to set: give -pin-signup off|web|all, -security-pin on|off and/or -pin-sign-in on|off")
		}
		pinOn, err := onOff("-security-pin", *securityPIN)
		if err != nil {
			return err
		}
		signInOn, err := onOff("-pin-sign-in", *pinSignIn)
		if err != nil {
			return err
		}
		var reasons []string
		if *pinSignup != "" {
			reasons = append(reasons, "pinSignup="+*pinSignup)
		}
		if *securityPIN != "" {
			reasons = append(reasons, "securityPin="+*securityPIN)
		}
		if *pinSignIn != "" {
			reasons = append(reasons, "pinSignIn="+*pinSignIn)
		}
		t, err := d.Tenancy.UpdateSettings(ctx, *id, "operator", strings.Join(reasons, ","), func(st *latchkey.Settings) {
			if *pinSignup != "" {
				st.PINSignup = *pinSignup
			}
			if *securityPIN != "" {
				st.SecurityPIN = pinOn
			}
			if *pinSignIn != "" {
				st.PINSignIn = signInOn
			}
		})
		if err != nil {
			return describe(err)
		}
		word := map[bool]string{true: "on", false: "off"}
		fmt.Fprintf(stdout, "tenant %s: pinSignup is %s, securityPin is %s, pinSignIn is %s\n", t.ID, t.Settings.PINSignup, word[t.Settings.SecurityPIN], word[t.Settings.PINSignIn])
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command tenants %s", args[1])
	}
}

// onOff reads the value of an on/off flag: "" (not given) and "off" are
// false, "on" is true, anything else is refused naming the flag.
func onOff(flag, v string) (bool, error) {
	switch v {
	case "", "off":
		return false, nil
	case "on":
		return true, nil
	}
	return false, fmt.Errorf("%s must be on or off", flag)
}

// describe turns a coded error into its client-safe message.
func describe(err error) error {
	if code := latchkey.ErrorCode(err); code != latchkey.EInternal {
		return fmt.Errorf("%s: %s", code, latchkey.ErrorMessage(err))
	}
	return err
}

// csvColumns are the columns a users file may have; username and email are required.
var csvColumns = map[string]bool{"username": true, "email": true, "mobile": true, "roles": true, "passwordExpiresOn": true}

// csvRow is one user of a users file, with its row number (the header is row 1).
type csvRow struct {
	row  int
	user useradmin.NewUser
}

// readUsers reads a users file: a header row naming the columns, then one
// user per row. Roles are separated by ";". It fails on an unknown or
// missing column, a row of the wrong width, or a file without users.
func readUsers(r io.Reader) ([]csvRow, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read the header row: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !csvColumns[h] {
			return nil, fmt.Errorf("header row: unknown column %q (want username, email, mobile, roles, passwordExpiresOn)", h)
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("header row: column %q given twice", h)
		}
		col[h] = i
	}
	for _, need := range []string{"username", "email"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header row: no %s column", need)
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []csvRow
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", row, err)
		}
		nu := useradmin.NewUser{
			Username: field(rec, "username"), Email: field(rec, "email"), Mobile: field(rec, "mobile"),
			PasswordExpiresOn: field(rec, "passwordExpiresOn"),
		}
		for _, r := range strings.Split(field(rec, "roles"), ";") {
			if r = strings.TrimSpace(r); r != "" {
				nu.Roles = append(nu.Roles, latchkey.Role(r))
			}
		}
		out = append(out, csvRow{row: row, user: nu})
	}
	if len(out) == 0 {
		return nil, errors.New("the file has no users after its header row")
	}
	return out, nil
}

// importUsers is `users import`: it reads the file, imports its users in
// batches of useradmin.MaxBatch through the service behind POST /users,
// writes a progress line per batch to stderr and a line per row to stdout
// (its number, the username, and created with the user id or the
// refusal), and fails when any row was refused.
func importUsers(ctx context.Context, d *system.Deps, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenant := fs.String("tenant", "", "tenant id")
	file := fs.String("file", "", "CSV file with a header row: username,email,mobile,roles,passwordExpiresOn")
	sendEmail := fs.Bool("send-email", true, "e-mail each created user a temporary password (PASSWORD_EMAIL_NEW)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenant == "" || *file == "" {
		return errors.New("give -tenant and -file")
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := readUsers(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	created, refused := 0, 0
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for start := 0; start < len(rows); start += useradmin.MaxBatch {
		batch := rows[start:min(len(rows), start+useradmin.MaxBatch)]
		users := make([]useradmin.NewUser, len(batch))
		for i, r := range batch {
			users[i] = r.user
		}
		res, err := d.UserAdmin.Import(ctx, *tenant, "operator", users, *sendEmail)
		if err != nil {
			_ = w.Flush()
			return describe(err)
		}
		for i, r := range res.Results {
			if r.Status == useradmin.StatusCreated {
				fmt.Fprintf(w, "row %d\t%s\tcreated\t%s\n", batch[i].row, r.Username, r.UserID)
				continue
			}
			fmt.Fprintf(w, "row %d\t%s\trefused\t%s: %s\n", batch[i].row, r.Username, r.Error.Code, r.Error.Message)
		}
		created, refused = created+res.Created, refused+res.Refused
		fmt.Fprintf(stderr, "rows %d-%d: %d of %d users done, %d created, %d refused\n",
			batch[0].row, batch[len(batch)-1].row, start+len(batch), len(rows), created, refused)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d users: %d created, %d refused\n", len(rows), created, refused)
	if refused > 0 {
		return fmt.Errorf("%d of %d rows refused (see the report)", refused, len(rows))
	}
	return nil
}
