// Package config is a function's configuration, read once from the
// environment Lambda gives it (or the local stack sets), and its one AWS SDK
// configuration. It is a leaf: a function that needs only these (the
// delivery-events function) links neither the keys, nor SES, nor the token
// issuer that shared/app brings.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/latchkey/latchkey/shared/schema"
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
	// ConfigurationSet is the SES configuration set that the notice e-mail
	// is sent under, whose delivery events update the notice records
	// (CONFIGURATION_SET); empty locally, where SES reports no events.
	ConfigurationSet string
	// PublicBaseURL is where the public pages are served (PUBLIC_BASE_URL).
	PublicBaseURL string
	// EmailSendRate and SMSSendRate cap the notifiers' sends per second
	// by each channel (EMAIL_SEND_RATE, SMS_SEND_RATE), set below the
	// account's SES and SNS quotas; 0 (unset) is no cap.
	EmailSendRate, SMSSendRate float64
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel slog.Level
	// OriginVerify is the secret that the stack's CloudFront distribution
	// sends to the API in httpapi.OriginVerifyHeader (ORIGIN_VERIFY, which
	// the stack resolves from its OriginVerify secret at deploy time):
	// requests carrying it give their caller's address from
	// CloudFront-Viewer-Address (httpapi.SourceAddress). Empty (locally),
	// the address is always API Gateway's. Never logged.
	OriginVerify string
}

// FromEnv reads Config. It fails when neither SECRET_ARN nor
// SECRETS_FILE is set, or SENDER_EMAIL is missing.
func FromEnv() (Config, error) {
	c := Config{
		TableName:        os.Getenv("TABLE_NAME"),
		DynamoEndpoint:   os.Getenv("DYNAMODB_ENDPOINT"),
		SESEndpoint:      os.Getenv("SES_ENDPOINT"),
		SNSEndpoint:      os.Getenv("SNS_ENDPOINT"),
		SecretARN:        os.Getenv("SECRET_ARN"),
		SecretsFile:      os.Getenv("SECRETS_FILE"),
		SenderEmail:      os.Getenv("SENDER_EMAIL"),
		SMSSenderID:      os.Getenv("SMS_SENDER_ID"),
		ConfigurationSet: os.Getenv("CONFIGURATION_SET"),
		PublicBaseURL:    os.Getenv("PUBLIC_BASE_URL"),
		OriginVerify:     os.Getenv("ORIGIN_VERIFY"),
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
	for _, r := range []struct {
		name string
		dst  *float64
	}{{"EMAIL_SEND_RATE", &c.EmailSendRate}, {"SMS_SEND_RATE", &c.SMSSendRate}} {
		if v := os.Getenv(r.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				missing = append(missing, fmt.Errorf("%s %q: want messages per second, 0 or more", r.name, v))
			}
			*r.dst = f
		}
	}
	if c.SecretARN == "" && c.SecretsFile == "" {
		missing = append(missing, errors.New("set SECRET_ARN (in AWS) or SECRETS_FILE (locally)"))
	}
	if c.SenderEmail == "" {
		missing = append(missing, errors.New("set SENDER_EMAIL to the verified SES sender address"))
	}
	return c, errors.Join(missing...)
}

// Local reports whether the configuration points at local services (an
// endpoint override is set), which then need no AWS credentials.
func (c Config) Local() bool {
	return c.DynamoEndpoint != "" || c.SESEndpoint != "" || c.SNSEndpoint != ""
}

// AWS returns the one AWS SDK configuration of a function, from the
// environment Lambda gives it: the region (AWS_REGION) and the execution
// role's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN). It does not use the SDK's config package, whose
// credential chain (SSO, STS, IMDS, shared files) a function never needs and
// whose packages would add to every cold start; clients take the SDK's
// default retryer and HTTP client. Against local services (an endpoint
// override) it fills in a region and fixed local credentials when unset.
func AWS(c Config) (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	id, secret, token := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")
	if c.Local() {
		if region == "" {
			region = "us-east-1"
		}
		if id == "" {
			id, secret, token = "local", "local", ""
		}
	}
	if region == "" || id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them)")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, token)),
	}, nil
}

// Must returns v, or prints err and exits with status 1, so that a function
// that cannot start says why (Lambda then reports the failed
// initialisation). It is for main packages only, never a request path.
func Must[T any](v T, err error) T {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return v
}
