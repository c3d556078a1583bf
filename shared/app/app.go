// Package app is what a function that holds keys needs at start-up: the
// configuration from the environment (shared/config: read once, with a clear
// message when something is missing), one AWS SDK configuration for all its
// clients, the keys, and the JSON logger. Each functions/<name>/main.go then builds the
// adapters and the service its routes need, and nothing more; the whole
// system wired together (for the local stack, the operator CLI and tests)
// is shared/system.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/secrets"
	"github.com/latchkey/latchkey/shared/token"
)

// Env is what a function starts with: its configuration, its logger, one
// AWS SDK configuration for all its clients, and the keys.
type Env struct {
	Config config.Config
	Logger *slog.Logger
	AWS    aws.Config
	Keys   *secrets.Keys
}

// Load reads the configuration, loads the AWS configuration once and the
// keys, and returns the function's Env. Its errors say what is missing.
func Load(ctx context.Context, function string) (*Env, error) {
	c, err := config.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("%s: configuration: %w", function, err)
	}
	cfg, err := config.AWS(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", function, err)
	}
	keys, err := LoadKeys(ctx, c, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: keys: %w", function, err)
	}
	logger := httpapi.NewLogger(os.Stdout, c.LogLevel).With("function", function)
	return &Env{Config: c, Logger: logger, AWS: cfg, Keys: keys}, nil
}

// LoadKeys reads the master key from Secrets Manager (SECRET_ARN), or from
// the local file SECRETS_FILE (created on first use), and derives the keys.
func LoadKeys(ctx context.Context, c config.Config, cfg aws.Config) (*secrets.Keys, error) {
	if c.SecretARN == "" {
		path, err := filepath.Abs(c.SecretsFile)
		if err != nil {
			return nil, err
		}
		return secrets.LoadOrCreateFile(path)
	}
	return secrets.FromSecretsManager(ctx, secretsmanager.NewFromConfig(cfg), c.SecretARN)
}

// Store returns the DynamoDB store of the function's table.
func (e *Env) Store() *dynamo.Store {
	return dynamo.New(dynamo.NewClientFrom(e.AWS, e.Config.DynamoEndpoint), e.Config.TableName, time.Now)
}

// Tokens returns the issuer of the function's access tokens.
func (e *Env) Tokens() *token.Issuer {
	return &token.Issuer{Key: e.Keys.SigningKey, Now: time.Now, TTL: token.DefaultTTL}
}

// Server returns the HTTP server of the function: its endpoints among eps,
// authenticating bearer tokens of tokens against users, and trusting
// CloudFront-Viewer-Address on requests that carry Config.OriginVerify.
func (e *Env) Server(function string, eps []httpapi.Endpoint, tokens *token.Issuer, users token.Users) (*httpapi.Server, error) {
	s, err := httpapi.NewServer(function, eps, &token.Auth{Tokens: tokens, Users: users}, e.Logger)
	if err != nil {
		return nil, err
	}
	s.OriginVerify = e.Config.OriginVerify
	return s, nil
}
