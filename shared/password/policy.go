// Package password is the password capability: the policy, sign-in with the
// NEW_PASSWORD_REQUIRED challenge, forgot-password, agent/admin reset,
// changing one's own password, lockout, lock and unlock (PRODUCT.md,
// "Passwords").
package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/latchkey"
)

//go:generate go run ./internal/gencommon -o commonpasswords.txt

// Rule names reported when a password is refused. They are part of the API.
const (
	RuleMinLength        = "min_length"
	RuleMaxLength        = "max_length"
	RuleLetter           = "letter"
	RuleDigit            = "digit"
	RuleCommon           = "common"
	RuleContainsUsername = "contains_username"
	RuleContainsEmail    = "contains_email"
)

// commonPasswordsText is the common-password list of the zxcvbn project: the
// "Passwords" frequency list of github.com/ccojocar/zxcvbn-go v1.0.4 (MIT, see
// commonpasswords.LICENSE), 7,141 lowercase passwords, one a line, most common
// first. It lies in the binary's read-only data; go generate rebuilds it.
//
//go:embed commonpasswords.txt
var commonPasswordsText string

// common is the common-password list as a set, built on the first check.
var common = wordSet{text: &commonPasswordsText}

// wordSet is a set of lowercase words read from newline-separated text once,
// on first use: until then it costs nothing at start-up. The set's keys point
// into the text, so building it allocates only the map.
type wordSet struct {
	text  *string
	once  sync.Once
	words map[string]struct{}
}

func (s *wordSet) load() {
	text := *s.text
	s.words = make(map[string]struct{}, strings.Count(text, "\n")+1)
	for line := range strings.Lines(text) {
		if w := strings.TrimSuffix(line, "\n"); w != "" {
			s.words[w] = struct{}{}
		}
	}
}

// contains reports whether w, lowercased, is in the set.
func (s *wordSet) contains(w string) bool {
	s.once.Do(s.load)
	_, ok := s.words[strings.ToLower(w)]
	return ok
}

// IsCommon reports whether pw (case-insensitively) is on the common-password
// list. The first call reads the list (about half a millisecond).
func IsCommon(pw string) bool { return common.contains(pw) }

// Check returns the name of every rule of p that pw fails, in a fixed order;
// none means the password is acceptable. username and email are the user's,
// for the identity rules ("" skips that rule).
func Check(p latchkey.PasswordPolicy, pw, username, email string) []string {
	var failed []string
	n := utf8.RuneCountInString(pw)
	if n < p.MinLength {
		failed = append(failed, RuleMinLength)
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		failed = append(failed, RuleMaxLength)
	}
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if p.RequireLetter && !letter {
		failed = append(failed, RuleLetter)
	}
	if p.RequireDigit && !digit {
		failed = append(failed, RuleDigit)
	}
	if p.RefuseCommon && IsCommon(pw) {
		failed = append(failed, RuleCommon)
	}
	if p.RefuseIdentity {
		folded := latchkey.NormalizeUsername(pw)
		if u := latchkey.NormalizeUsername(username); len(u) >= 3 && strings.Contains(folded, u) {
			failed = append(failed, RuleContainsUsername)
		}
		if e := latchkey.NormalizeUsername(email); e != "" {
			local := e
			if at := strings.LastIndexByte(e, '@'); at > 0 {
				local = e[:at]
			}
			if strings.Contains(folded, e) || (len(local) >= 3 && strings.Contains(folded, local)) {
				failed = append(failed, RuleContainsEmail)
			}
		}
	}
	return failed
}

// PolicyError is the coded error for a refused password, naming every failed rule.
func PolicyError(rules []string) error {
	return &latchkey.Error{
		Code:    latchkey.EPasswordPolicy,
		Message: "The password does not meet the password policy: " + strings.Join(rules, ", ") + ".",
		Details: map[string]any{"rules": rules},
	}
}
