package config

import (
	"strings"
	"testing"
)

// The notifiers' send rates come from EMAIL_SEND_RATE and SMS_SEND_RATE:
// unset is no cap, a number of messages a second is taken as it is, and
// anything else (a word, a negative rate, infinity) is a configuration
// error naming the variable.
func TestFromEnv_SendRates(t *testing.T) {
	t.Setenv("SECRETS_FILE", "/tmp/secrets.json")
	t.Setenv("SENDER_EMAIL", "no-reply@latchkey.test")
	c, err := FromEnv()
	if err != nil || c.EmailSendRate != 0 || c.SMSSendRate != 0 {
		t.Fatalf("unset: got %v, %v and %v, want no cap", err, c.EmailSendRate, c.SMSSendRate)
	}
	t.Setenv("EMAIL_SEND_RATE", "12.5")
	t.Setenv("SMS_SEND_RATE", "0")
	if c, err = FromEnv(); err != nil || c.EmailSendRate != 12.5 || c.SMSSendRate != 0 {
		t.Errorf("set: got %v, %v and %v, want 12.5 and 0", err, c.EmailSendRate, c.SMSSendRate)
	}
	for _, bad := range []string{"fast", "-1", "+Inf", "NaN"} {
		t.Setenv("SMS_SEND_RATE", bad)
		if _, err := FromEnv(); err == nil || !strings.Contains(err.Error(), "SMS_SEND_RATE") {
			t.Errorf("SMS_SEND_RATE=%s: got %v, want an error naming it", bad, err)
		}
	}
}
