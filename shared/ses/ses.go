// Package ses sends Latchkey's e-mail with Amazon SES v2 SendEmail, every
// message with an HTML and a text part. Locally the same client talks to the
// aws-ses-v2-local emulator (SES_ENDPOINT).
package ses

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// API is the part of the SES v2 client the Mailer uses.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Mailer sends e-mail through SES v2.
type Mailer struct {
	api API
	// from is used when a message has no From.
	from string
}

var _ latchkey.Mailer = (*Mailer)(nil)

// New returns a Mailer sending from the address from unless a message names another.
func New(api API, from string) *Mailer { return &Mailer{api: api, from: from} }

// SendEmail sends m, with its tags and under its configuration set when
// it names them, and returns the SES message id.
func (m *Mailer) SendEmail(ctx context.Context, e latchkey.Email) (string, error) {
	if e.To == "" {
		return "", errors.New("send email: no recipient")
	}
	from := e.From
	if from == "" {
		from = m.from
	}
	utf8 := aws.String("UTF-8")
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: utf8},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(e.Text), Charset: utf8},
				Html: &types.Content{Data: aws.String(e.HTML), Charset: utf8},
			},
		}},
	}
	if e.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(e.ConfigurationSet)
	}
	// Sorted, so that the request is the same for the same message.
	for _, k := range slices.Sorted(maps.Keys(e.Tags)) {
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(k), Value: aws.String(e.Tags[k])})
	}
	out, err := m.api.SendEmail(ctx, in)
	if err != nil {
		return "", fmt.Errorf("ses send email: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// NewClientFrom returns an SES v2 client on cfg, pointed at endpoint when it
// is set.
func NewClientFrom(cfg aws.Config, endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
