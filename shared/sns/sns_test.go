package sns_test

import (
	"context"
	"testing"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/sns"
)

// The SNS client is the real SDK client; the outbox receives its Publish
// calls over HTTP, as the local stack does.
func TestSender_SendSMS(t *testing.T) {
	ctx := context.Background()
	box := testenv.NewOutbox(t)
	cfg, err := awscfg.Load(ctx, box.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	s := sns.New(sns.NewClientFrom(cfg, box.Endpoint()), "Latchkey")

	t.Run("transactional SMS to an E.164 number", func(t *testing.T) {
		id, err := s.SendSMS(ctx, latchkey.SMS{To: "+447911123456", Body: "Your code: 123456"})
		if err != nil || id == "" {
			t.Fatalf("got %q, %v; want a message id", id, err)
		}
		msgs := box.Messages()
		if len(msgs) != 1 {
			t.Fatalf("got %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if m.MessageID != id || m.PhoneNumber != "+447911123456" || m.Message != "Your code: 123456" {
			t.Errorf("got %+v", m)
		}
		if m.Attributes["AWS.SNS.SMS.SMSType"] != "Transactional" || m.Attributes["AWS.SNS.SMS.SenderID"] != "Latchkey" {
			t.Errorf("attributes: got %v, want Transactional from Latchkey", m.Attributes)
		}
	})
	t.Run("a number normalized by shared/phone is sent as it is", func(t *testing.T) {
		to, err := phone.NormalizeE164("+1 (415) 555-0100")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendSMS(ctx, latchkey.SMS{To: to, Body: "x"}); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		msgs := box.Messages()
		if got := msgs[len(msgs)-1].PhoneNumber; got != "+14155550100" {
			t.Errorf("got %q, want +14155550100", got)
		}
	})
	t.Run("numbers not in E.164 form are refused before sending", func(t *testing.T) {
		before := len(box.Messages())
		for _, bad := range []string{"", "12345", "07911 123456", "+1 555", "+44 7911 123456", "+44 7911 123456 999", "+0447911123456", "+4479111234569999", "+44791112345x"} {
			if _, err := s.SendSMS(ctx, latchkey.SMS{To: bad, Body: "x"}); latchkey.ErrorCode(err) != latchkey.EValidation {
				t.Errorf("%q: got %v, want %s", bad, err, latchkey.EValidation)
			}
		}
		if n := len(box.Messages()); n != before {
			t.Errorf("got %d messages in the outbox, want still %d", n, before)
		}
	})
}

func TestMain(m *testing.M) { testenv.Main(m) }
