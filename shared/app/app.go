// Package app wires Latchkey together: configuration from the environment,
// the SDK clients and adapters (built once per cold start), the services, and
// the Lambda handler of each function. functions/<name>/main.go and the local
// stack (cmd/latchkey-local) both build their handlers here, so the code that
// runs locally is the code that runs in Lambda.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/latchkey/latchkey/shared/api"
	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/schema"
	"github.com/latchkey/latchkey/shared/secrets"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/token"
)

// Config is read once from the environment.
type Config struct {
	// TableName is the DynamoDB table (TABLE_NAME, default "latchkey").
	TableName string
	// DynamoEndpoint, SESEndpoint and SNSEndpoint override the AWS endpoints
	// (DYNAMODB_ENDPOINT, SES_ENDPOINT, SNS_ENDPOINT), for the local stack.
	DynamoEndpoint, SESEndpoint, SNSEndpoint string
	// SecretARN names the Secrets Manager secret holding the master key
	// (SECRET_ARN); SecretsFile is the local alternative (SECRETS_FILE).
	SecretARN, SecretsFile string
	// SenderEmail is the From address (SENDER_EMAIL).
	SenderEmail string
	// SMSSenderID is the optional SMS sender id (SMS_SENDER_ID).
	SMSSenderID string
	// PublicBaseURL is where the public pages are served (PUBLIC_BASE_URL).
	PublicBaseURL string
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel slog.Level
}

// ConfigFromEnv reads Config. It fails when neither SECRET_ARN nor
// SECRETS_FILE is set, or SENDER_EMAIL is missing.
func ConfigFromEnv() (Config, error) {
	c := Config{
		TableName:      os.Getenv("TABLE_NAME"),
		DynamoEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		SESEndpoint:    os.Getenv("SES_ENDPOINT"),
		SNSEndpoint:    os.Getenv("SNS_ENDPOINT"),
		SecretARN:      os.Getenv("SECRET_ARN"),
		SecretsFile:    os.Getenv("SECRETS_FILE"),
		SenderEmail:    os.Getenv("SENDER_EMAIL"),
		SMSSenderID:    os.Getenv("SMS_SENDER_ID"),
		PublicBaseURL:  os.Getenv("PUBLIC_BASE_URL"),
	}
	if c.TableName == "" {
		c.TableName = schema.DefaultTableName
	}
	if lvl := os.Getenv("LOG_LEVEL"); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return c, fmt.Errorf("LOG_LEVEL %q: %w", lvl, err)
		}
	}
	var missing []error
	if c.SecretARN == "" && c.SecretsFile == "" {
		missing = append(missing, errors.New("set SECRET_ARN (in AWS) or SECRETS_FILE (locally)"))
	}
	if c.SenderEmail == "" {
		missing = append(missing, errors.New("set SENDER_EMAIL to the verified SES sender address"))
	}
	return c, errors.Join(missing...)
}

// Deps are the adapters and services, built once per cold start.
type Deps struct {
	Config    Config
	Logger    *slog.Logger
	Now       latchkey.Clock
	Keys      *secrets.Keys
	Store     *dynamo.Store
	Notifier  *notify.Notifier
	Tokens    *token.Issuer
	Passwords *password.Service
	Tenancy   *tenancy.Service
	PINSignup *pinsignup.Service
}

// NewDeps builds the SDK clients, loads the keys and builds the services.
func NewDeps(ctx context.Context, c Config, logger *slog.Logger) (*Deps, error) {
	keys, err := loadKeys(ctx, c)
	if err != nil {
		return nil, err
	}
	db, err := dynamo.NewClient(ctx, c.DynamoEndpoint)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: %w", err)
	}
	sesClient, err := ses.NewClient(ctx, c.SESEndpoint)
	if err != nil {
		return nil, fmt.Errorf("ses client: %w", err)
	}
	snsClient, err := sns.NewClient(ctx, c.SNSEndpoint)
	if err != nil {
		return nil, fmt.Errorf("sns client: %w", err)
	}
	return Build(c, logger, time.Now, keys, dynamo.New(db, c.TableName, time.Now),
		ses.New(sesClient, c.SenderEmail), sns.New(snsClient, c.SMSSenderID)), nil
}

// Build assembles the services from ready adapters; tests use it with their
// own clock.
func Build(c Config, logger *slog.Logger, now latchkey.Clock, keys *secrets.Keys, store *dynamo.Store, mailer latchkey.Mailer, sms latchkey.SMSSender) *Deps {
	n := &notify.Notifier{Templates: &templates.Renderer{Store: store}, Mailer: mailer, SMS: sms, From: c.SenderEmail}
	tokens := &token.Issuer{Key: keys.SigningKey, Now: now, TTL: time.Hour}
	passwords := &password.Service{Store: store, Notify: n, Tokens: tokens, HMACKey: keys.HMACKey, Now: now}
	ten := &tenancy.Service{Store: store, Notify: n, Now: now}
	return &Deps{
		Config: c, Logger: logger, Now: now, Keys: keys, Store: store, Notifier: n, Tokens: tokens,
		Passwords: passwords, Tenancy: ten,
		PINSignup: &pinsignup.Service{Store: store, Users: ten, Notify: n, HMACKey: keys.HMACKey, DataKey: keys.DataKey, Now: now},
	}
}

func loadKeys(ctx context.Context, c Config) (*secrets.Keys, error) {
	if c.SecretARN == "" {
		path, err := filepath.Abs(c.SecretsFile)
		if err != nil {
			return nil, err
		}
		return secrets.LoadOrCreateFile(path)
	}
	awsCfg, err := awscfg.Load(ctx, "")
	if err != nil {
		return nil, err
	}
	return secrets.FromSecretsManager(ctx, secretsmanager.NewFromConfig(awsCfg), c.SecretARN)
}

// Server returns the HTTP server of the named function: the handlers of its
// routes only, with token authentication.
func (d *Deps) Server(function string) (*httpapi.Server, error) {
	all := api.Handlers(&api.Services{Passwords: d.Passwords, PINSignup: d.PINSignup})
	mine := map[string]httpapi.HandlerFunc{}
	for _, r := range routes.ForFunction(function) {
		h, ok := all[r.Key()]
		if !ok {
			return nil, fmt.Errorf("route %s of function %s has no handler", r.Key(), function)
		}
		mine[r.Key()] = h
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("function %q serves no route", function)
	}
	return &httpapi.Server{Handlers: mine, Auth: &api.TokenAuth{Tokens: d.Tokens, Store: d.Store}, Logger: d.Logger}, nil
}

// MustHandler is Main for a function's main package: it returns the
// handler, or prints why the function cannot start and exits with status 1
// (Lambda then reports the failed initialisation).
func MustHandler(function string) Handler {
	h, err := Main(context.Background(), function)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return h
}

// Handler is the Lambda handler type of every HTTP function.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Main is the whole of a function's main: read the configuration, build the
// dependencies once, and return the handler. It returns an error with a
// clear message when configuration is missing.
func Main(ctx context.Context, function string) (Handler, error) {
	c, err := ConfigFromEnv()
	if err != nil {
		return nil, fmt.Errorf("%s: configuration: %w", function, err)
	}
	logger := httpapi.NewLogger(os.Stdout, c.LogLevel).With("function", function)
	d, err := NewDeps(ctx, c, logger)
	if err != nil {
		return nil, fmt.Errorf("%s: start-up: %w", function, err)
	}
	srv, err := d.Server(function)
	if err != nil {
		return nil, err
	}
	return srv.Handle, nil
}
