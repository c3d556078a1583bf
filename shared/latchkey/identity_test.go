package latchkey_test

import (
	"strings"
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

func TestUsernameKey(t *testing.T) {
	same := []struct{ name, a, b string }{
		{"cyrillic a beside latin", "\u0430dmin", "admin"},
		{"all-cyrillic look-alike", "\u0440\u0430\u0443", "pay"},
		{"rn poses as m", "rnary", "mary"},
		{"digit one and small L", "pau1", "paul"},
		{"case and width", "ＡＤＭＩＮ", "admin"},
		{"greek omicron", "b\u03bfb", "bob"},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := latchkey.UsernameKey(tt.a), latchkey.UsernameKey(tt.b); got != want {
				t.Errorf("UsernameKey(%q) = %q, UsernameKey(%q) = %q; want equal", tt.a, got, tt.b, want)
			}
		})
	}
	for _, pair := range [][2]string{{"alice", "alicia"}, {"bob", "rob"}, {"admin", "admin2"}} {
		if latchkey.UsernameKey(pair[0]) == latchkey.UsernameKey(pair[1]) {
			t.Errorf("UsernameKey(%q) == UsernameKey(%q); want different", pair[0], pair[1])
		}
	}
}

func TestCheckLength(t *testing.T) {
	if err := latchkey.CheckLength("username", strings.Repeat("a", latchkey.MaxUsernameBytes), latchkey.MaxUsernameBytes); err != nil {
		t.Errorf("at the limit: got %v, want nil", err)
	}
	err := latchkey.CheckLength("username", strings.Repeat("a", 3000), latchkey.MaxUsernameBytes)
	if latchkey.ErrorCode(err) != latchkey.EValidation || !strings.Contains(latchkey.ErrorMessage(err), "username") {
		t.Errorf("3000 bytes: got %v, want %s naming the field", err, latchkey.EValidation)
	}
}

func TestCanActOn(t *testing.T) {
	u := func(tid string, roles ...latchkey.Role) *latchkey.User {
		return &latchkey.User{TenantID: tid, Roles: roles}
	}
	admin, agent, user := latchkey.RoleAdmin, latchkey.RoleAgent, latchkey.RoleUser
	tests := []struct {
		name          string
		actor, target *latchkey.User
		want          bool
	}{
		{"admin on admin", u("a", admin), u("a", admin), true},
		{"admin on agent", u("a", admin), u("a", agent), true},
		{"agent on user", u("a", agent), u("a", user), true},
		{"agent on agent", u("a", agent), u("a", agent), true},
		{"agent on admin", u("a", agent), u("a", admin), false},
		{"agent on agent who is also admin", u("a", agent), u("a", agent, admin), false},
		{"user-and-agent on admin", u("a", user, agent), u("a", admin), false},
		{"admin of another tenant", u("a", admin), u("b", user), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := latchkey.CanActOn(tt.actor, tt.target); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"", "unknown"},
		{"not an address", "unknown"},
	}
	for _, tt := range tests {
		if got := latchkey.SourceKey(tt.in); got != tt.want {
			t.Errorf("SourceKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
