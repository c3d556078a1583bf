// Package system wires the whole of Latchkey together: every adapter and
// every service, and a server per function built from the capabilities'
// endpoints. The local stack (cmd/latchkey-local), the operator CLI
// (cmd/latchkey) and the integration tests use it. Lambda functions never
// import it: each functions/<name>/main.go builds only what its routes need.
package system

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack/gateway"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/secrets"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/tenantadmin"
	"github.com/latchkey/latchkey/shared/token"
	"github.com/latchkey/latchkey/shared/useradmin"
	"github.com/latchkey/latchkey/shared/userpin"
)

// Deps are the adapters and services, built once per cold start.
type Deps struct {
	Config    config.Config
	Logger    *slog.Logger
	Now       latchkey.Clock
	Keys      *secrets.Keys
	Store     *dynamo.Store
	Notifier  *notify.Notifier
	Tokens    *token.Issuer
	Passwords *password.Service
	Tenancy   *tenancy.Service
	PINSignup *pinsignup.Service
	PINVerify *pinverify.Service
	UserPIN   *userpin.Service
	UserAdmin *useradmin.Service
	// TenantAdmin serves settings, templates and the audit log.
	TenantAdmin *tenantadmin.Service
	// Expiry sends the expiry reminders and serves their history.
	Expiry *expiry.Service
}

// NewDeps builds the SDK clients, loads the keys and builds the services.
func NewDeps(ctx context.Context, c config.Config, logger *slog.Logger) (*Deps, error) {
	endpoint := ""
	if c.Local() {
		endpoint = "local"
	}
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	keys, err := app.LoadKeys(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	return Build(c, logger, time.Now, keys, dynamo.New(dynamo.NewClientFrom(cfg, c.DynamoEndpoint), c.TableName, time.Now),
		ses.New(ses.NewClientFrom(cfg, c.SESEndpoint), c.SenderEmail), sns.New(sns.NewClientFrom(cfg, c.SNSEndpoint), c.SMSSenderID)), nil
}

// NewFresh creates table c.TableName at c's endpoints (DynamoDB Local, the
// SES emulator, the SMS outbox), generates a master key held in memory
// only, and builds the services on it with the real clock: what a local
// command that needs a system of its own starts with (cmd/expirybench,
// cmd/loadbench). dbOpts go to the DynamoDB client, such as a
// CallCounter's Attach.
func NewFresh(ctx context.Context, c config.Config, logger *slog.Logger, dbOpts ...func(*dynamodb.Options)) (*Deps, error) {
	cfg, err := awscfg.Load(ctx, c.DynamoEndpoint)
	if err != nil {
		return nil, err
	}
	db := dynamo.NewClientFrom(cfg, c.DynamoEndpoint, dbOpts...)
	if err := dynamo.CreateTable(ctx, db, c.TableName); err != nil {
		return nil, fmt.Errorf("create table: %w", err)
	}
	master, err := secrets.GenerateMasterKey()
	if err != nil {
		return nil, err
	}
	keys, err := secrets.Derive(master)
	if err != nil {
		return nil, err
	}
	return Build(c, logger, time.Now, keys, dynamo.New(db, c.TableName, time.Now),
		ses.New(ses.NewClientFrom(cfg, c.SESEndpoint), c.SenderEmail), sns.New(sns.NewClientFrom(cfg, c.SNSEndpoint), c.SMSSenderID)), nil
}

// Build assembles the services from ready adapters; tests use it with their
// own clock.
func Build(c config.Config, logger *slog.Logger, now latchkey.Clock, keys *secrets.Keys, store *dynamo.Store, mailer latchkey.Mailer, sms latchkey.SMSSender) *Deps {
	n := &notify.Notifier{Templates: &templates.Renderer{Store: store}, Mailer: mailer, SMS: sms, From: c.SenderEmail}
	tokens := &token.Issuer{Key: keys.SigningKey, Now: now, TTL: token.DefaultTTL}
	passwords := &password.Service{Store: store, Notify: n, Tokens: tokens, HMACKey: keys.HMACKey, Now: now}
	ten := &tenancy.Service{Store: store, Notify: n, HMACKey: keys.HMACKey, Now: now}
	return &Deps{
		Config: c, Logger: logger, Now: now, Keys: keys, Store: store, Notifier: n, Tokens: tokens,
		Passwords: passwords, Tenancy: ten,
		PINSignup: &pinsignup.Service{Store: store, Users: ten, Notify: n, HMACKey: keys.HMACKey, DataKey: keys.DataKey, Now: now},
		PINVerify: &pinverify.Service{
			Store: store, Notify: n, HMACKey: keys.HMACKey, PublicBaseURL: c.PublicBaseURL, Now: now,
			NormalizeMobile: phone.NormalizeE164,
		},
		UserPIN: &userpin.Service{Store: store, Notify: n, HMACKey: keys.HMACKey, Now: now},
		UserAdmin: &useradmin.Service{
			Store: store, Users: ten, Notify: n, HMACKey: keys.HMACKey, PublicBaseURL: c.PublicBaseURL, Now: now,
			NormalizeMobile: phone.NormalizeE164,
		},
		TenantAdmin: &tenantadmin.Service{Store: store, Settings: ten, Now: now},
		Expiry: &expiry.Service{Store: store, Notify: n, Now: now, Logger: logger,
			EmailRate: c.EmailSendRate, SMSRate: c.SMSSendRate},
	}
}

// Endpoints returns every capability's endpoints on the services of d.
func (d *Deps) Endpoints() []httpapi.Endpoint {
	var out []httpapi.Endpoint
	out = append(out, password.Endpoints(d.Passwords)...)
	out = append(out, pinsignup.Endpoints(d.PINSignup)...)
	out = append(out, pinverify.Endpoints(d.PINVerify)...)
	out = append(out, userpin.Endpoints(d.UserPIN)...)
	out = append(out, useradmin.Endpoints(d.UserAdmin)...)
	out = append(out, tenantadmin.Endpoints(d.TenantAdmin)...)
	out = append(out, expiry.Endpoints(d.Expiry)...)
	return out
}

// Server returns the HTTP server of the named function: the handlers of its
// routes only, with token authentication, as its Lambda builds it.
func (d *Deps) Server(function string) (*httpapi.Server, error) {
	return httpapi.NewServer(function, d.Endpoints(), d.auth(), d.Logger)
}

// Functions are the names of every function, from the route table.
func Functions() []string {
	var out []string
	for _, f := range catalog.Functions() {
		out = append(out, f.Name)
	}
	return out
}

// Gateway returns the local API Gateway stand-in: every route of the table,
// each to its function's server as the Lambda builds it. Requests that
// match no route go to a server that knows the whole table, which answers
// the coded 404, or 405 when only the method is wrong.
func (d *Deps) Gateway() (*gateway.Gateway, error) {
	gw := &gateway.Gateway{Routes: catalog.Routes(), Functions: map[string]gateway.LambdaHandler{}}
	for _, f := range catalog.Functions() {
		if len(routes.ForFunction(gw.Routes, f.Name)) == 0 {
			continue // a scheduled function (expiry-notifier): no route, run by Schedule
		}
		name := f.Name
		srv, err := d.Server(name)
		if err != nil {
			return nil, err
		}
		gw.Functions[name] = srv.Handle
	}
	gw.NotFound = (&httpapi.Server{Endpoints: d.Endpoints(), Auth: d.auth(), Logger: d.Logger}).Handle
	return gw, nil
}

func (d *Deps) auth() *token.Auth { return &token.Auth{Tokens: d.Tokens, Users: d.Store} }
