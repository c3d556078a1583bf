// Package sns sends Latchkey's SMS with Amazon SNS Publish to E.164 phone
// numbers, as transactional messages. Locally the same client talks to the
// local SMS outbox (SNS_ENDPOINT), which records what it receives.
package sns

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/nyaruka/phonenumbers"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// API is the part of the SNS client the Sender uses.
type API interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Sender sends SMS through SNS.
type Sender struct {
	api      API
	senderID string
}

var _ latchkey.SMSSender = (*Sender)(nil)

// New returns a Sender; senderID, when set, is the alphanumeric sender id.
func New(api API, senderID string) *Sender { return &Sender{api: api, senderID: senderID} }

// NormalizeE164 parses a phone number written in international form and
// returns it in E.164 ("+14155550100"). It returns EValidation for anything
// that is not a valid number.
func NormalizeE164(number string) (string, error) {
	n, err := phonenumbers.Parse(number, "")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", latchkey.Errorf(latchkey.EValidation, "The mobile number must be a valid number in international form, like +14155550100.")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// SendSMS sends m as a transactional SMS and returns the SNS message id. It
// returns EValidation when m.To is not a valid E.164 number.
func (s *Sender) SendSMS(ctx context.Context, m latchkey.SMS) (string, error) {
	to, err := NormalizeE164(m.To)
	if err != nil {
		return "", err
	}
	attrs := map[string]types.MessageAttributeValue{
		"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
	}
	if s.senderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s.senderID)}
	}
	out, err := s.api.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String(to), Message: aws.String(m.Body), MessageAttributes: attrs})
	if err != nil {
		return "", fmt.Errorf("sns publish: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// NewClient returns an SNS client from the standard AWS configuration chain,
// or, when endpoint is set, one pointed at it with fixed local credentials.
func NewClient(ctx context.Context, endpoint string) (*sns.Client, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}
