package ses_test

import (
	"context"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/ses"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The real SES v2 client talks to the aws-ses-v2-local emulator.
func TestMailer_SendEmail(t *testing.T) {
	ctx := context.Background()
	m := ses.New(testenv.SESClient(t), "no-reply@latchkey.test")
	id, _ := secure.NewID()
	to := id + "@ses.latchkey.test"
	msgID, err := m.SendEmail(ctx, latchkey.Email{To: to, Subject: "Hello " + id, Text: "plain part", HTML: "<p>html part</p>"})
	if err != nil || msgID == "" {
		t.Fatalf("got %q, %v; want a message id", msgID, err)
	}
	e := testenv.WaitForEmail(t, to, func(e devstack.ReceivedEmail) bool { return strings.Contains(e.Subject, id) })
	if e.From != "no-reply@latchkey.test" || e.Text != "plain part" || e.HTML != "<p>html part</p>" {
		t.Errorf("got %+v, want both parts from the default sender", e)
	}
	if _, err := m.SendEmail(ctx, latchkey.Email{Subject: "x", Text: "x", HTML: "x"}); err == nil {
		t.Error("no recipient: got nil error")
	}
}
