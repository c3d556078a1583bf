package latchkey_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// FuzzValidateEmail feeds any text to ValidateEmail. It proves that it
// never panics, refuses only with a coded EValidation and a message, and
// that an address it accepts is the input trimmed, at most 254 bytes, has
// a local part, an "@" and a dotted domain, holds no space or control
// character (nothing that could break a mail header), validates again to
// itself, and masks without panicking.
func FuzzValidateEmail(f *testing.F) {
	for _, s := range []string{
		"jane@example.com", " admin@demo.example ", "a.b+c@sub.example.co.uk", "\"a b\"@example.com",
		"Jane <jane@example.com>", "jane@localhost", "jane@example.com.", "jane@@example.com", "@example.com",
		"jane@example.com\r\nBcc: x@example.com", "jäne@exämple.com", "a@b.c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := latchkey.ValidateEmail(s)
		if err != nil {
			var e *latchkey.Error
			if !errors.As(err, &e) || e.Code != latchkey.EValidation || e.Message == "" {
				t.Fatalf("ValidateEmail(%q): got %v, want a coded EValidation with a message", s, err)
			}
			return
		}
		if got != strings.TrimSpace(s) || len(got) > 254 {
			t.Errorf("ValidateEmail(%q) = %q, want the input trimmed, at most 254 bytes", s, got)
		}
		at := strings.LastIndexByte(got, '@')
		if at < 1 || !strings.Contains(got[at+1:], ".") {
			t.Errorf("ValidateEmail(%q) = %q, want local@domain.tld", s, got)
		}
		if i := strings.IndexFunc(got, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
			t.Errorf("ValidateEmail(%q) = %q, want no space or control character (one at byte %d)", s, got, i)
		}
		if again, err := latchkey.ValidateEmail(got); err != nil || again != got {
			t.Errorf("ValidateEmail(%q) = %q, %v, want %q again", got, again, err, got)
		}
		if m := latchkey.MaskEmail(got); !strings.Contains(m, "***@") {
			t.Errorf("MaskEmail(%q) = %q, want a masked address", got, m)
		}
	})
}
