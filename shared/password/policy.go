// Package password is the password capability: the policy, sign-in with the
// NEW_PASSWORD_REQUIRED challenge, forgot-password, agent/admin reset,
// changing one's own password, lockout, lock and unlock (PRODUCT.md,
// "Passwords").
package password

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go/frequency"

	"github.com/latchkey/latchkey/shared/latchkey"
)

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

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

// commonPasswords is the common-password list of the zxcvbn project
// (github.com/ccojocar/zxcvbn-go, "Passwords" frequency list, about 30 000
// entries), loaded once.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		list := frequency.Lists["Passwords"].List
		common = make(map[string]struct{}, len(list))
		for _, p := range list {
			common[strings.ToLower(p)] = struct{}{}
		}
	})
	return common
}

// IsCommon reports whether pw (case-insensitively) is on the common-password list.
func IsCommon(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}

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
