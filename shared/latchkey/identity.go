package latchkey

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

var folder = cases.Fold()

// NormalizeUsername returns the form in which usernames are compared and
// stored for uniqueness: Unicode NFKC, then case folding, then NFKC again
// (folding can denormalize), with surrounding space trimmed. "ÅSA", "åsa"
// and "a\u030asa" all normalize to the same string.
func NormalizeUsername(s string) string {
	s = norm.NFKC.String(strings.TrimSpace(s))
	return norm.NFKC.String(folder.String(s))
}

// UsernameKey returns the key under which a username is unique in a tenant
// and under which its sign-in failures are counted: the Unicode confusables
// skeleton (UTS #39, the table of github.com/mtibben/confusables) of the
// normalized username. Look-alikes share a key, so "аdmin" with a Cyrillic
// "а" cannot be created beside "admin", and "rn" cannot pose as "m". The
// key is an internal identifier: it is never shown.
func UsernameKey(s string) string {
	return confusables.Skeleton(NormalizeUsername(s))
}

// MaxUsernameBytes is the longest username input read at all: anything
// longer is refused before any store call (a valid username is at most 64
// characters, so at most 256 bytes of UTF-8).
const MaxUsernameBytes = 256

// MaxPasswordBytes is the longest password input hashed at all; longer ones
// are refused before any work (the policy's maximum is 128 characters).
const MaxPasswordBytes = 1024

// CheckLength refuses a field longer than max bytes, before any work is done
// with it. It returns EValidation naming the field.
func CheckLength(field, value string, max int) error {
	if len(value) > max {
		return Errorf(EValidation, "%s is too long (at most %d bytes).", field, max)
	}
	return nil
}

// ValidateUsername checks a proposed username and returns it trimmed.
// Usernames are 3 to 64 characters of letters, digits and . _ - @ after
// normalization. It returns EValidation.
func ValidateUsername(s string) (string, error) {
	if err := CheckLength("username", s, MaxUsernameBytes); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	n := NormalizeUsername(s)
	if l := utf8.RuneCountInString(n); l < 3 || l > 64 {
		return "", Errorf(EValidation, "Username must be 3 to 64 characters.")
	}
	for _, r := range n {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-@", r) {
			continue
		}
		return "", Errorf(EValidation, "Username may contain only letters, digits and . _ - @.")
	}
	return s, nil
}

// ValidateEmail checks an e-mail address (a bare address, at most 254
// characters, with a dot in the domain and no space or control character)
// and returns it trimmed. It returns EValidation.
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", Errorf(EValidation, "E-mail address is not valid.")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", Errorf(EValidation, "E-mail address is not valid.")
	}
	// mail.ParseAddress takes any non-ASCII character (RFC 6532), C1
	// controls and Unicode spaces such as U+0085 and U+00A0 included.
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return "", Errorf(EValidation, "E-mail address is not valid.")
	}
	return s, nil
}

// MaskEmail hides most of an address for showing to staff: "jane@example.com"
// becomes "j***@e***.com".
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return "***"
	}
	local, domain := s[:at], s[at+1:]
	tld := ""
	if dot := strings.LastIndexByte(domain, '.'); dot > 0 {
		domain, tld = domain[:dot], domain[dot:]
	}
	first := func(x string) string {
		r, _ := utf8.DecodeRuneInString(x)
		if r == utf8.RuneError {
			return ""
		}
		return string(r)
	}
	return first(local) + "***@" + first(domain) + "***" + tld
}
