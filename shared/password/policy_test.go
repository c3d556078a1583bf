package password

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// commonReadAtInit records whether anything read the common-password list
// while the program started. Test files' init functions run after those of
// the package's own files and of every import, and before TestMain and any
// test, whatever -run, -shuffle or -count say.
var commonReadAtInit bool

func init() { commonReadAtInit = common.words != nil }

func TestCheck(t *testing.T) {
	strict := latchkey.PasswordPolicy{
		MinLength: 8, MaxLength: 128, RequireLetter: true, RequireDigit: true,
		RefuseCommon: true, RefuseIdentity: true,
	}
	lenient := strict
	lenient.RefuseCommon = false
	for _, tc := range []struct {
		name   string
		policy latchkey.PasswordPolicy
		pw     string
		want   []string
	}{
		{"a common password is refused", strict, "password1", []string{RuleCommon}},
		{"common passwords are matched case-insensitively", strict, "TrustNo1", []string{RuleCommon}},
		{"an entry from the end of the list is refused", strict, "qwerty123", []string{RuleCommon}},
		{"a common password passes when the policy allows it", lenient, "password1", nil},
		{"a strong password is accepted", strict, "Correct-horse-7-battery", nil},
		{"a strong password with the username is refused", strict, "alice-horse-7-battery", []string{RuleContainsUsername}},
		{"every failed rule is named, in order", strict, "dragon", []string{RuleMinLength, RuleDigit, RuleCommon}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Check(tc.policy, tc.pw, "alice", "alice.smith@example.com"); !slices.Equal(got, tc.want) {
				t.Errorf("Check(%q): got %v, want %v", tc.pw, got, tc.want)
			}
		})
	}
}

func TestIsCommon(t *testing.T) {
	t.Run("every listed password, in any case", func(t *testing.T) {
		for w := range strings.Lines(commonPasswordsText) {
			w = strings.TrimSuffix(w, "\n")
			if !IsCommon(w) || !IsCommon(strings.ToUpper(w)) {
				t.Fatalf("IsCommon(%q): got false, want true", w)
			}
		}
	})
	t.Run("passwords not on the list", func(t *testing.T) {
		for _, pw := range []string{"", "Correct-horse-7-battery", "password1!", " password", "pass word"} {
			if IsCommon(pw) {
				t.Errorf("IsCommon(%q): got true, want false", pw)
			}
		}
	})
}

// The embedded list is in the shape the set reads: one lowercase password a
// line, no blank lines, no duplicates, most common first.
func TestCommonPasswords_File(t *testing.T) {
	if !strings.HasSuffix(commonPasswordsText, "\n") {
		t.Fatal("the list does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) != 7141 || lines[0] != "password" {
		t.Errorf("got %d entries starting with %q, want 7141 starting with \"password\" (zxcvbn-go v1.0.4)", len(lines), lines[0])
	}
	seen := make(map[string]bool, len(lines))
	for i, w := range lines {
		if w == "" || w != strings.ToLower(w) || strings.TrimSpace(w) != w || seen[w] {
			t.Errorf("line %d: got %q, want a new lowercase password without blanks", i+1, w)
		}
		seen[w] = true
	}
}

// The list costs nothing at start-up: it is read on the first check, once.
func TestIsCommon_Lazy(t *testing.T) {
	t.Run("not read while the program starts", func(t *testing.T) {
		if commonReadAtInit {
			t.Error("the common-password list was read during package initialisation")
		}
	})
	t.Run("read on the first check, once", func(t *testing.T) {
		s := &wordSet{text: &commonPasswordsText}
		if s.words != nil {
			t.Fatal("read before the first check")
		}
		if !s.contains("Dragon") {
			t.Fatal("contains(\"Dragon\"): got false, want true")
		}
		first := reflect.ValueOf(s.words).UnsafePointer()
		if first == nil {
			t.Fatal("not read by the first check")
		}
		s.contains("monkey")
		if again := reflect.ValueOf(s.words).UnsafePointer(); again != first {
			t.Error("read again on the second check")
		}
	})
	t.Run("concurrent first checks read it once", func(t *testing.T) {
		s := &wordSet{text: &commonPasswordsText}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if !s.contains("letmein") {
					t.Error("contains(\"letmein\"): got false, want true")
				}
			})
		}
		wg.Wait()
	})
}

// BenchmarkIsCommon measures the first check, which reads the list, and the
// later ones: go test -run '^$' -bench IsCommon -benchmem ./shared/password
func BenchmarkIsCommon(b *testing.B) {
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			s := &wordSet{text: &commonPasswordsText}
			s.contains("Correct-horse-7-battery")
		}
	})
	b.Run("later", func(b *testing.B) {
		IsCommon("")
		for b.Loop() {
			IsCommon("Correct-horse-7-battery")
		}
	})
}
