package phone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/phone"
)

func TestNormalizeE164(t *testing.T) {
	t.Run("valid numbers in international form", func(t *testing.T) {
		for _, tc := range []struct{ in, want string }{
			{"+44 7911 123456", "+447911123456"},
			{"+447911123456", "+447911123456"},
			{"+1 (415) 555-0100", "+14155550100"},
			{"+33 6 12 34 56 78", "+33612345678"},
			{"+49 1512 3456789", "+4915123456789"},
		} {
			got, err := phone.NormalizeE164(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("NormalizeE164(%q): got %q, %v; want %q", tc.in, got, err, tc.want)
			}
		}
	})
	t.Run("anything else is a validation error that names the problem", func(t *testing.T) {
		for _, bad := range []string{"", "12345", "07911 123456", "+1 555", "+44 7911 123456 999", "+999 1234567", "mobile"} {
			got, err := phone.NormalizeE164(bad)
			if latchkey.ErrorCode(err) != latchkey.EValidation || got != "" {
				t.Errorf("NormalizeE164(%q): got %q, %v; want %s", bad, got, err, latchkey.EValidation)
				continue
			}
			var e *latchkey.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, "mobile number") || !strings.Contains(e.Message, "international form") {
				t.Errorf("NormalizeE164(%q): got %v, want a message naming the mobile number and its international form", bad, err)
			}
		}
	})
}
