package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The tenant and its users.
const (
	tenantID = "load"
	// rightUsers are admins signed in with their right password (by the
	// sign-in route and the soak's authenticated flow); nothing else is sent
	// for them, so they never lock out.
	rightUsers = 16
	// wrongUsers are users signed in with wrong passwords (they lock out
	// after the tenant's threshold, and then answer as every lock does) and
	// named in forgot-password requests.
	wrongUsers = 4
)

// account is a user that signs in.
type account struct {
	id, username, password string
}

// users are the tenant's users the requests name.
type users struct {
	right []account
	wrong []string
}

// setup creates the tenant, with PIN-code signup for web pages, the
// security PIN and PIN sign-in on (as the demo tenant of `make run`), and
// its users, each with a password of its own set through the first
// sign-in's NEW_PASSWORD_REQUIRED challenge.
func (b *bench) setup(ctx context.Context) error {
	d := b.deps
	// The services log (and audit) through the context's logger, as they do
	// under the gateway.
	ctx = reqctx.WithLogger(ctx, d.Logger)
	if _, _, _, err := d.Tenancy.CreateTenant(ctx, tenantID, "Load", "admin", "admin@load.example"); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	t, err := d.Tenancy.UpdateSettings(ctx, tenantID, "loadbench", "pinSignup=web,securityPin=on,pinSignIn=on", func(st *latchkey.Settings) {
		st.PINSignup, st.SecurityPIN, st.PINSignIn = latchkey.PINSignupWeb, true, true
	})
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	b.users.right = make([]account, rightUsers)
	b.users.wrong = make([]string, wrongUsers)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range rightUsers + wrongUsers {
		g.Go(func() error {
			a := account{username: fmt.Sprintf("staff%02d", i), password: fmt.Sprintf("Correct-horse-battery-%02d", i)}
			roles := []latchkey.Role{latchkey.RoleAdmin}
			if i >= rightUsers {
				a.username, roles = fmt.Sprintf("member%02d", i-rightUsers), []latchkey.Role{latchkey.RoleUser}
			}
			u, temp, err := d.Tenancy.CreateUser(gctx, t, "loadbench", tenancy.NewUser{Username: a.username, Email: a.username + "@load.example", Roles: roles})
			if err != nil {
				return fmt.Errorf("create %s: %w", a.username, err)
			}
			res, err := d.Passwords.SignIn(gctx, tenantID, a.username, temp)
			if err != nil {
				return fmt.Errorf("%s's first sign-in: %w", a.username, err)
			}
			if _, err := d.Passwords.CompleteNewPassword(gctx, tenantID, res.Session, a.password); err != nil {
				return fmt.Errorf("%s's new password: %w", a.username, err)
			}
			a.id = u.ID
			if i < rightUsers {
				b.users.right[i] = a
			} else {
				b.users.wrong[i-rightUsers] = a.username
			}
			return nil
		})
	}
	return g.Wait()
}

// builder makes the k-th request of its route; k varies the usernames, the
// secrets and (in the caller) the source address.
type builder func(b *bench, k int) request

// builders has a request builder for every public route, by route key:
// what a caller without a token sends, right and wrong. checkBuilders fails
// the command (and its test) when a public route has none.
var builders = map[string]builder{
	// Sign-in: one in three an admin with the right password (201, one
	// argon2id run and a token), one a member with a wrong one (401, and
	// after the lockout threshold the lock answer), one an unknown username
	// (401 after a dummy argon2id run). Failures count against the source.
	"POST /v1/tenants/{tenant}/sessions": func(b *bench, k int) request {
		var user, pw string
		switch k % 3 {
		case 0:
			a := b.users.right[(k/3)%len(b.users.right)]
			user, pw = a.username, a.password
		case 1:
			user, pw = b.users.wrong[(k/3)%len(b.users.wrong)], fmt.Sprintf("Wrong-guess-%d", k)
		default:
			user, pw = fmt.Sprintf("nobody%d", k), "Correct-horse-battery-00"
		}
		return request{body: jsonBody(map[string]string{"username": user, "password": pw})}
	},
	// The challenge's answer with a session nobody was given: 401.
	"POST /v1/tenants/{tenant}/sessions/new-password": func(b *bench, k int) request {
		return request{body: jsonBody(map[string]string{"session": token(), "newPassword": fmt.Sprintf("Staple-lantern-%d", k)})}
	},
	// Forgot-password: half for existing members (an e-mail, up to the
	// tenant's per-username hourly limit), half for unknown usernames; every
	// answer is the same 202 after the response-time floor, and the
	// per-source limit answers 429.
	"POST /v1/tenants/{tenant}/password-resets": func(b *bench, k int) request {
		user := fmt.Sprintf("nobody%d", k)
		if k%2 == 0 {
			user = b.users.wrong[(k/2)%len(b.users.wrong)]
		}
		return request{body: jsonBody(map[string]string{"username": user})}
	},
	// PIN-code signup from the web pages with a code nobody holds: 401,
	// the slots of the address and the tenant kept (then 429).
	"POST /v1/tenants/{tenant}/signups": func(b *bench, k int) request {
		return request{header: map[string]string{"X-Client": "web"}, body: jsonBody(map[string]string{
			"pinCode": pinCode(k), "email": fmt.Sprintf("newcomer%d@load.example", k), "username": fmt.Sprintf("newcomer%d", k),
		})}
	},
	// A security-PIN link nobody was sent (a token of the real size): 410.
	"GET /v1/tenants/{tenant}/security-pin/links/{token}": func(b *bench, k int) request {
		return request{params: map[string]string{"token": token()}}
	},
	"POST /v1/tenants/{tenant}/security-pin/links/{token}": func(b *bench, k int) request {
		pin := fmt.Sprintf("%06d", 100000+(k*7919)%900000)
		return request{params: map[string]string{"token": token()}, body: jsonBody(map[string]string{"pin": pin, "pinConfirm": pin})}
	},
	// A welcome link nobody was sent: 410.
	"POST /v1/tenants/{tenant}/welcome/{token}": func(b *bench, k int) request {
		return request{params: map[string]string{"token": token()}, body: jsonBody(map[string]string{"mobile": fmt.Sprintf("+44 7911 %06d", k%1000000)})}
	},
}

// token is a random token of the size the links use.
func token() string {
	t, err := secure.RandomToken(32)
	if err != nil {
		panic(err) // crypto/rand does not fail on a supported system
	}
	return t
}

// pinCode is a well-formed PIN code (three groups of four) that nobody
// holds, different for each k.
func pinCode(k int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var sb strings.Builder
	n := uint64(k)*2654435761 + 12345
	for i := range 12 {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[n%uint64(len(alphabet))])
		n = n/uint64(len(alphabet)) + uint64(i+k)*40503
	}
	return sb.String()
}

// jsonBody encodes v.
func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
