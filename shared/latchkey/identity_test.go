package latchkey_test

import (
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
)

func TestNormalizeUsername(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"case", "Alice", "aLICE"},
		{"composed and decomposed", "\u00c5sa", "A\u030asa"},
		{"fullwidth", "ｂｏｂ", "bob"},
		{"german sharp s", "STRASSE", "straße"},
		{"surrounding space", "  carol ", "carol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := latchkey.NormalizeUsername(tt.a), latchkey.NormalizeUsername(tt.b); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	if latchkey.NormalizeUsername("alice") == latchkey.NormalizeUsername("alicia") {
		t.Error("different names normalized alike")
	}
}

func TestValidateUsername(t *testing.T) {
	for _, ok := range []string{"bob", "jane.doe@example.com", "Åsa_99", "x-y"} {
		if _, err := latchkey.ValidateUsername(ok); err != nil {
			t.Errorf("ValidateUsername(%q): got %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "ab", "has space", "semi;colon", string(make([]byte, 65))} {
		if _, err := latchkey.ValidateUsername(bad); latchkey.ErrorCode(err) != latchkey.EValidation {
			t.Errorf("ValidateUsername(%q): got %v, want %s", bad, err, latchkey.EValidation)
		}
	}
}

func TestValidateEmail(t *testing.T) {
	for _, ok := range []string{"a@example.com", "first.last+tag@sub.example.org"} {
		if _, err := latchkey.ValidateEmail(ok); err != nil {
			t.Errorf("ValidateEmail(%q): got %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "plain", "a@b", "Name <a@example.com>", "a@example.com.", "a@@example.com"} {
		if _, err := latchkey.ValidateEmail(bad); latchkey.ErrorCode(err) != latchkey.EValidation {
			t.Errorf("ValidateEmail(%q): got %v, want %s", bad, err, latchkey.EValidation)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	if got, want := latchkey.MaskEmail("jane@example.com"), "j***@e***.com"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestStatusOf(t *testing.T) {
	for _, c := range latchkey.Codes() {
		if s := latchkey.StatusOf(c); s < 400 || s > 599 {
			t.Errorf("code %s: got status %d, want 4xx/5xx", c, s)
		}
	}
	if got := latchkey.StatusOf("nonsense"); got != 500 {
		t.Errorf("unknown code: got %d, want 500", got)
	}
}
