package phone_test

import (
	"errors"
	"regexp"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/phone"
)

// e164 is the E.164 form: "+", a country code not starting with 0, at
// most 15 digits in all.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// FuzzNormalizeE164 feeds any text to NormalizeE164. It proves that it
// never panics, refuses only with a coded EValidation and a message, and
// that every number it accepts is in E.164 form and normalizes to itself.
func FuzzNormalizeE164(f *testing.F) {
	for _, s := range []string{
		"+447911123456", "+44 7911 123456", "+1 (415) 555-0100", "+33.6.12.34.56.78", "07911 123456",
		"+", "++44", "+0000", "+1415555010012345678", "+44 7911 123456 ext. 12", "+８６ 138 0013 8000", "tel:+14155550100",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := phone.NormalizeE164(s)
		if err != nil {
			var e *latchkey.Error
			if !errors.As(err, &e) || e.Code != latchkey.EValidation || e.Message == "" {
				t.Fatalf("NormalizeE164(%q): got %v, want a coded EValidation with a message", s, err)
			}
			return
		}
		if !e164.MatchString(got) {
			t.Fatalf("NormalizeE164(%q) = %q, want E.164", s, got)
		}
		again, err := phone.NormalizeE164(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeE164(%q) = %q, %v, want %q again (from %q)", got, again, err, got, s)
		}
	})
}
