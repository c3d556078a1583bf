package latchkey_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
)

func TestValidTenantID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"1 char", "a", false},
		{"2 chars", "ab", false},
		{"min length", "abc", true},
		{"digits", "007", true},
		{"inner hyphen", "acme-corp", true},
		{"two single hyphens", "a-b-c", true},
		{"max length", strings.Repeat("a", 32), true},
		{"max+1", strings.Repeat("a", 33), false},
		{"3000 chars", strings.Repeat("a", 3000), false},
		{"double hyphen", "acme--corp", false},
		{"leading hyphen", "-acme", false},
		{"trailing hyphen", "acme-", false},
		{"only hyphens", "---", false},
		{"uppercase", "Acme", false},
		{"underscore", "acme_corp", false},
		{"dot", "acme.corp", false},
		{"slash", "acme/corp", false},
		{"space", "acme corp", false},
		{"unicode letter", "acmé", false},
		{"fullwidth digits", "１２３", false},
		{"NUL", "abc\x00", false},
		{"invalid UTF-8", "ab\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latchkey.ValidTenantID(tt.in); got != tt.want {
				t.Errorf("ValidTenantID(%.40q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestValidTenantID_MatchesRegexp checks the hand-written validator against
// the documented regular expression on random strings over a small alphabet
// that makes every edge (hyphens at ends, doubled, lengths around the limits)
// likely.
func TestValidTenantID_MatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`)
	const alphabet = "a9-Z_é"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(36) {
			b.WriteString(string([]rune(alphabet)[rng.IntN(len([]rune(alphabet)))]))
		}
		s := b.String()
		want := re.MatchString(s) && !strings.Contains(s, "--")
		if got := latchkey.ValidTenantID(s); got != want {
			t.Fatalf("ValidTenantID(%q): got %v, want %v", s, got, want)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"1 char", "u", true},
		{"generated id", "k3f7q2x9m4b8c6d2", true},
		{"mixed case, underscore and hyphen", "User_01-X", true},
		{"leading and trailing hyphen", "-u-", true},
		{"double hyphen", "u--1", true},
		{"max length", strings.Repeat("a", 64), true},
		{"max+1", strings.Repeat("a", 65), false},
		{"3000 chars", strings.Repeat("a", 3000), false},
		{"unicode letter", "usér", false},
		{"fullwidth letter", "ｕ1", false},
		{"dot", "u.1", false},
		{"slash", "u/1", false},
		{"percent", "u%2F1", false},
		{"plus", "u+1", false},
		{"padding", "dQ==", false},
		{"space", "u 1", false},
		{"NUL", "u\x00", false},
		{"invalid UTF-8", "u\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latchkey.ValidID(tt.in); got != tt.want {
				t.Errorf("ValidID(%.40q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidLinkToken(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"empty", "", false},
		{"1 char", "A", true},
		{"base64url alphabet", "Ab0_-zZ9", true},
		{"max length", strings.Repeat("A", 128), true},
		{"max+1", strings.Repeat("A", 129), false},
		{"3000 chars", strings.Repeat("A", 3000), false},
		{"standard base64 plus", "ab+c", false},
		{"standard base64 slash", "ab/c", false},
		{"padding", "abc=", false},
		{"dot", "a.b", false},
		{"unicode", "tökén", false},
		{"space", "ab c", false},
		{"NUL", "ab\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latchkey.ValidLinkToken(tt.in); got != tt.want {
				t.Errorf("ValidLinkToken(%.40q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
