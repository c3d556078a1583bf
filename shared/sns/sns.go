// Package sns sends Latchkey's SMS with Amazon SNS Publish to E.164 phone
// numbers, as transactional messages. Locally the same client talks to the
// local SMS outbox (SNS_ENDPOINT), which records what it receives.
//
// Every function builds this adapter, so it does not link the phone-number
// library: numbers arrive already in E.164 form, normalized with shared/phone
// by the code that accepts them, and the adapter only checks their shape.
package sns

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

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

// isE164 reports whether s has the E.164 shape: a "+", then 7 to 15 digits
// of which the first is not 0. Whether the number exists is shared/phone's
// question, answered when the number was accepted.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return false
		}
	}
	return true
}

// SendSMS sends m as a transactional SMS and returns the SNS message id.
// m.To must already be in E.164 form (see shared/phone.NormalizeE164); it
// returns EValidation, without calling SNS, when it is not.
func (s *Sender) SendSMS(ctx context.Context, m latchkey.SMS) (string, error) {
	if !isE164(m.To) {
		return "", latchkey.Errorf(latchkey.EValidation, "The mobile number must be in E.164 form, like +14155550100.")
	}
	attrs := map[string]types.MessageAttributeValue{
		"AWS.SNS.SMS.SMSType": {DataType: aws.String("String"), StringValue: aws.String("Transactional")},
	}
	if s.senderID != "" {
		attrs["AWS.SNS.SMS.SenderID"] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(s.senderID)}
	}
	out, err := s.api.Publish(ctx, &sns.PublishInput{PhoneNumber: aws.String(m.To), Message: aws.String(m.Body), MessageAttributes: attrs})
	if err != nil {
		return "", fmt.Errorf("sns publish: %w", err)
	}
	return aws.ToString(out.MessageId), nil
}

// NewClientFrom returns an SNS client on cfg, pointed at endpoint when it
// is set (the local SMS outbox). Functions build it on their one AWS
// configuration (config.AWS), so they never link the SDK's config
// package.
func NewClientFrom(cfg aws.Config, endpoint string) *sns.Client {
	return sns.NewFromConfig(cfg, func(o *sns.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
