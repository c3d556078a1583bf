// Package phone holds the rule for phone numbers: Latchkey keeps and uses
// mobile numbers in E.164 form ("+14155550100"), and accepts them only in
// international form. It is the one package that links
// github.com/nyaruka/phonenumbers, whose metadata costs about 2.5 MB and a
// few milliseconds at start-up and which brings in protobuf; import it only
// from the code that accepts phone numbers, never from an adapter that every
// function builds.
package phone

import (
	"github.com/nyaruka/phonenumbers"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// NormalizeE164 parses a phone number written in international form (a "+"
// and the country code; spaces, dashes, dots and brackets may separate the
// digits) and returns it in E.164 form: "+44 7911 123456" gives
// "+447911123456". It returns EValidation for anything that is not a valid
// number of at most 15 digits, including national forms such as "07911 123456".
func NormalizeE164(number string) (string, error) {
	n, err := phonenumbers.Parse(number, "")
	// E.164 allows at most 15 digits; the library's metadata takes some
	// longer numbers as valid ("+49 20100002200002", 16 digits).
	if err != nil || !phonenumbers.IsValidNumber(n) || len(phonenumbers.Format(n, phonenumbers.E164)) > 1+15 {
		return "", latchkey.Errorf(latchkey.EValidation, "The mobile number must be a valid number in international form, like +14155550100.")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}
