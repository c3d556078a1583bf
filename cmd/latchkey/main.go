// Command latchkey is the operator's tool: it creates tenants with their
// first admin (who receives a temporary password by e-mail) and lists
// tenants. It uses the standard AWS configuration chain, or the local stack
// when DYNAMODB_ENDPOINT / SES_ENDPOINT are set (see README).
//
//	latchkey tenants create -id acme -name "Acme Ltd" -admin-username alice -admin-email alice@acme.example
//	latchkey tenants list
//	latchkey tenants set -id acme -pin-signup web -security-pin on -pin-sign-in on
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/system"
)

const usage = `usage:
  latchkey tenants create -id ID [-name NAME] -admin-username USERNAME -admin-email EMAIL
  latchkey tenants list
  latchkey tenants set -id ID [-pin-signup off|web|all] [-security-pin on|off] [-pin-sign-in on|off]

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
	if len(args) < 2 || args[0] != "tenants" {
		fmt.Fprint(stderr, usage)
		return errors.New("unknown command")
	}
	c, err := app.ConfigFromEnv()
	if err != nil {
		return err
	}
	d, err := system.NewDeps(ctx, c, slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
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
