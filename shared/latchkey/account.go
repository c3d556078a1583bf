package latchkey

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ContactRole is what a contact is to an account (PRODUCT.md, "Security PIN
// and verification codes").
type ContactRole string

// Contact roles. Security-PIN links go only to owners and authorized contacts.
const (
	ContactOwner      ContactRole = "owner"
	ContactAuthorized ContactRole = "authorized"
	ContactOther      ContactRole = "other"
)

// Valid reports whether r is one of the contact roles.
func (r ContactRole) Valid() bool {
	return r == ContactOwner || r == ContactAuthorized || r == ContactOther
}

// MayReceiveLinks reports whether a contact of role r may be sent a
// security-PIN set-up or reset link: owners and authorized contacts only.
func (r ContactRole) MayReceiveLinks() bool { return r == ContactOwner || r == ContactAuthorized }

// Limits of an account.
const (
	// MaxAccountNameChars bounds an account's and a contact's name.
	MaxAccountNameChars = 200
	// MaxContacts is the most contacts an account holds.
	MaxContacts = 20
)

// Contact is a person of an account. Its dynamodbav tags are the attribute
// names of each map in the ACCOUNT item's contacts list.
type Contact struct {
	// ID is chosen by the caller: 1 to 64 of [A-Za-z0-9_-], unique within the account.
	ID   string      `json:"id" dynamodbav:"id"`
	Name string      `json:"name" dynamodbav:"name"`
	Role ContactRole `json:"role" dynamodbav:"role"`
	// Email is required for owners and authorized contacts.
	Email string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	// Mobile is optional, in E.164 form once validated.
	Mobile string `json:"mobile,omitempty" dynamodbav:"mobile,omitempty"`
}

// Account is a customer account that staff verify callers against, with its
// contacts and its security-PIN state. Its dynamodbav tags are the
// attribute names of the ACCOUNT item (shared/dynamo maps accounts from
// this one struct). An upsert replaces Name and Contacts only: the
// security-PIN attributes are changed by the security-PIN flows alone.
type Account struct {
	TenantID  string    `dynamodbav:"tenantId"`
	ID        string    `dynamodbav:"accountId"`
	Name      string    `dynamodbav:"name"`
	Contacts  []Contact `dynamodbav:"contacts"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
	// UpdatedBy is the user id of the staff member who last upserted it.
	UpdatedBy string `dynamodbav:"updatedBy"`

	// PINMAC is the keyed HMAC of the security PIN, empty while none is
	// set; never shown. PINSetAt is when it was set.
	PINMAC   string     `json:"-" dynamodbav:"pinMac,omitempty"`
	PINSetAt *time.Time `json:"-" dynamodbav:"pinSetAt,omitempty"`
	// VerifyFailures counts consecutive wrong PINs; VerifyLockedAt is set
	// when they reach the limit, and PIN verification stays locked until a
	// reset link is used.
	VerifyFailures int        `json:"-" dynamodbav:"verifyFailures,omitempty"`
	VerifyLockedAt *time.Time `json:"-" dynamodbav:"verifyLockedAt,omitempty"`
	// VerifiedUntil ends the current verification, by the staff member
	// VerifiedBy (a user id) with VerifiedMethod ("pin" or "code").
	VerifiedUntil  *time.Time `json:"-" dynamodbav:"verifiedUntil,omitempty"`
	VerifiedBy     string     `json:"-" dynamodbav:"verifiedBy,omitempty"`
	VerifiedMethod string     `json:"-" dynamodbav:"verifiedMethod,omitempty"`
	// LinkMAC is the MAC of the account's one valid security-PIN set-up or
	// reset link (see PINLink); a newer link replaces it, so an older link
	// stops working, and setting the PIN removes it.
	LinkMAC string `json:"-" dynamodbav:"linkMac,omitempty"`
}

// Security-PIN link purposes: a set-up link while the account has no PIN, a
// reset link once it has one.
const (
	PINLinkSetup = "setup"
	PINLinkReset = "reset"
)

// PINLink is a security-PIN set-up or reset link sent to a contact of an
// account. Only the MAC of its token is stored (as the key of its item);
// the token itself is in the link alone. It is valid before ExpiresAt while
// the account still names it (Account.LinkMAC).
type PINLink struct {
	TenantID  string    `dynamodbav:"tenantId"`
	AccountID string    `dynamodbav:"accountId"`
	ContactID string    `dynamodbav:"contactId"`
	Purpose   string    `dynamodbav:"purpose"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	// CreatedBy is the staff member who sent it.
	CreatedBy string `dynamodbav:"createdBy"`
}

// Contact returns the account's contact with id, if any.
func (a *Account) Contact(id string) (Contact, bool) {
	for _, c := range a.Contacts {
		if c.ID == id {
			return c, true
		}
	}
	return Contact{}, false
}

// MaskMobile masks an E.164 number for display, keeping the "+", the first
// two and the last three digits: +447911123456 becomes +44*******456.
// Numbers too short to mask so are all stars but the "+".
func MaskMobile(m string) string {
	digits := strings.TrimPrefix(m, "+")
	if len(digits) < 7 {
		return "+" + strings.Repeat("*", len(digits))
	}
	return "+" + digits[:2] + strings.Repeat("*", len(digits)-5) + digits[len(digits)-3:]
}

// SecurityStatus is an account's security-PIN state as staff see it.
// VerifiedUntil, VerifiedBy and Method are set only while Verified.
type SecurityStatus struct {
	PINSet        bool       `json:"pinSet"`
	Verified      bool       `json:"verified"`
	VerifiedUntil *time.Time `json:"verifiedUntil,omitempty"`
	VerifiedBy    string     `json:"verifiedBy,omitempty"`
	Method        string     `json:"method,omitempty"`
	Locked        bool       `json:"locked"`
}

// MaxPINVerifyFailures consecutive wrong security PINs lock PIN
// verification of an account until a reset link is used.
const MaxPINVerifyFailures = 5

// ErrPINVerificationLocked is the one answer while PIN verification of an
// account is locked, and to the wrong PIN that locks it.
func ErrPINVerificationLocked() error {
	return Errorf(EPINVerificationLocked,
		"PIN verification is locked after %d wrong PINs in a row. Send the contact a reset link; setting a new PIN unlocks it.", MaxPINVerifyFailures)
}

// PINVerifyLocked reports whether PIN verification of the account is locked:
// it has reached MaxPINVerifyFailures consecutive failures.
func (a *Account) PINVerifyLocked() bool {
	return a.VerifyLockedAt != nil || a.VerifyFailures >= MaxPINVerifyFailures
}

// Verification methods, recorded with a verification.
const (
	VerifiedByPIN  = "pin"
	VerifiedByCode = "code"
)

// Verification is a successful verification of an account's caller.
type Verification struct {
	Until time.Time
	// By is the staff member's user id, Method VerifiedByPIN or VerifiedByCode.
	By, Method string
}

// Status returns the account's security status at now: verified only
// before VerifiedUntil.
func (a *Account) Status(now time.Time) SecurityStatus {
	st := SecurityStatus{PINSet: a.PINMAC != "", Locked: a.PINVerifyLocked()}
	if a.VerifiedUntil != nil && now.Before(*a.VerifiedUntil) {
		until := a.VerifiedUntil.UTC()
		st.Verified, st.VerifiedUntil, st.VerifiedBy, st.Method = true, &until, a.VerifiedBy, a.VerifiedMethod
	}
	return st
}

// AccountView is an account as the API shows it: never a secret.
type AccountView struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Contacts       []Contact      `json:"contacts"`
	SecurityStatus SecurityStatus `json:"securityStatus"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
}

// View returns the API view of a at now.
func (a *Account) View(now time.Time) AccountView {
	contacts := a.Contacts
	if contacts == nil {
		contacts = []Contact{}
	}
	return AccountView{
		ID: a.ID, Name: a.Name, Contacts: contacts, SecurityStatus: a.Status(now),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// maxMobileBytes bounds a mobile number before it is parsed (E.164 is at
// most 16 characters; separators add a few).
const maxMobileBytes = 64

// Validate checks an account's id, name and contacts and normalizes them in
// place: names and e-mail addresses trimmed, mobile numbers in E.164 form by
// mobile (phone.NormalizeE164, passed in so that this package does not link
// the phone-number library). It returns EValidation whose message starts
// with the field at fault, such as "contacts[1].mobile: ...".
func (a *Account) Validate(mobile func(string) (string, error)) error {
	if !ValidID(a.ID) {
		return Errorf(EValidation, "id: The account id must be 1 to 64 of A-Z, a-z, 0-9, _ and -.")
	}
	name, err := checkName("name", a.Name)
	if err != nil {
		return err
	}
	a.Name = name
	if len(a.Contacts) < 1 || len(a.Contacts) > MaxContacts {
		return Errorf(EValidation, "contacts: An account has 1 to %d contacts.", MaxContacts)
	}
	seen := make(map[string]bool, len(a.Contacts))
	for i := range a.Contacts {
		c := &a.Contacts[i]
		at := fmt.Sprintf("contacts[%d]", i)
		if !ValidID(c.ID) {
			return Errorf(EValidation, "%s.id: The contact id must be 1 to 64 of A-Z, a-z, 0-9, _ and -.", at)
		}
		if seen[c.ID] {
			return Errorf(EValidation, "%s.id: Another contact of the account has this id.", at)
		}
		seen[c.ID] = true
		if c.Name, err = checkName(at+".name", c.Name); err != nil {
			return err
		}
		if !c.Role.Valid() {
			return Errorf(EValidation, "%s.role: The role must be owner, authorized or other.", at)
		}
		switch {
		case strings.TrimSpace(c.Email) != "":
			if c.Email, err = ValidateEmail(c.Email); err != nil {
				return Errorf(EValidation, "%s.email: %s", at, ErrorMessage(err))
			}
		case c.Role.MayReceiveLinks():
			return Errorf(EValidation, "%s.email: An e-mail address is required for an owner or authorized contact.", at)
		default:
			c.Email = ""
		}
		if strings.TrimSpace(c.Mobile) == "" {
			c.Mobile = ""
			continue
		}
		if len(c.Mobile) > maxMobileBytes {
			return Errorf(EValidation, "%s.mobile: The mobile number is too long.", at)
		}
		if c.Mobile, err = mobile(c.Mobile); err != nil {
			return Errorf(EValidation, "%s.mobile: %s", at, ErrorMessage(err))
		}
	}
	return nil
}

// checkName returns a required name of at most MaxAccountNameChars
// characters, trimmed, or EValidation naming field.
func checkName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", Errorf(EValidation, "%s: A name is required.", field)
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxAccountNameChars:
		return "", Errorf(EValidation, "%s: A name is at most %d characters.", field, MaxAccountNameChars)
	}
	return s, nil
}

// Digits reports whether s is exactly n ASCII digits (a PIN, a code).
func Digits(s string, n int) bool {
	return len(s) == n && strings.Trim(s, "0123456789") == ""
}

// PINLength is the number of digits of a security PIN and of a user PIN.
const PINLength = 6

// CheckPIN checks a new PIN (security PIN or user PIN) and its confirmation: exactly 6 ASCII
// digits (EValidation), equal (EPINMismatch), and neither all one digit nor
// a straight run up or down such as 123456, 654321 or 012345
// (EPINTooSimple).
func CheckPIN(pin, confirm string) error {
	if !Digits(pin, PINLength) {
		return Errorf(EValidation, "pin: The PIN must be exactly %d digits.", PINLength)
	}
	if subtle.ConstantTimeCompare([]byte(pin), []byte(confirm)) != 1 {
		return Errorf(EPINMismatch, "pinConfirm: The two PINs differ.")
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same, up, down = same && d == 0, up && d == 1, down && d == -1
	}
	if same || up || down {
		return Errorf(EPINTooSimple, "pin: The PIN is too simple: not all one digit, nor a straight run like 123456.")
	}
	return nil
}

// Verification-code limits (PRODUCT.md, "Security PIN and verification
// codes").
const (
	// CodeDigits is the length of a verification code.
	CodeDigits = 6
	// CodeTTL is how long a code is valid.
	CodeTTL = 10 * time.Minute
	// MaxCodeAttempts wrong codes end the code; a newer code inherits the
	// count (see VerificationCode.NextSend).
	MaxCodeAttempts = 5
	// CodeResendGap is the least time between two codes of one account.
	CodeResendGap = 30 * time.Second
	// CodeSendsPerHour caps the codes of one account in an hour.
	CodeSendsPerHour = 10
	// CodeFailureMemory is how long failures are carried to a newer code
	// after the last one.
	CodeFailureMemory = 10 * time.Minute
)

// VerificationCode is the one live verification code of an account, kept in
// the account's VCODE item with the counters that outlive it: its failures
// (a newer code does not reset them) and the account's sends in the current
// hour. Only the MAC of the code is stored.
type VerificationCode struct {
	TenantID  string `dynamodbav:"tenantId"`
	AccountID string `dynamodbav:"accountId"`
	ContactID string `dynamodbav:"contactId"`
	// MAC is empty once the code was used.
	MAC       string    `dynamodbav:"codeMac,omitempty"`
	SentAt    time.Time `dynamodbav:"sentAt"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	// Failures counts wrong codes, of this code and of the ones it replaced
	// within CodeFailureMemory; LastFailedAt is the latest.
	Failures     int        `dynamodbav:"failures"`
	LastFailedAt *time.Time `dynamodbav:"lastFailedAt,omitempty"`
	// WindowStart and WindowSends count the account's sends in the hour
	// from WindowStart.
	WindowStart time.Time `dynamodbav:"windowStart"`
	WindowSends int       `dynamodbav:"windowSends"`
	CreatedBy   string    `dynamodbav:"createdBy"`
}

// NextSend decides whether a new code may replace prev (nil when the account
// has had none) at now. It returns the code to send, with the failures it
// inherits and the hour's count, or, when sends are throttled, how long to
// wait: CodeResendGap after the last send, the end of the hour after
// CodeSendsPerHour sends, or CodeFailureMemory after the last failure when
// prev's failures used every attempt (a new code would have none).
func NextSend(prev *VerificationCode, now time.Time) (next VerificationCode, wait time.Duration) {
	next = VerificationCode{SentAt: now, ExpiresAt: now.Add(CodeTTL), WindowStart: now, WindowSends: 1}
	if prev == nil {
		return next, 0
	}
	if d := prev.SentAt.Add(CodeResendGap).Sub(now); d > 0 {
		return next, d
	}
	if now.Before(prev.WindowStart.Add(time.Hour)) {
		if prev.WindowSends >= CodeSendsPerHour {
			return next, prev.WindowStart.Add(time.Hour).Sub(now)
		}
		next.WindowStart, next.WindowSends = prev.WindowStart, prev.WindowSends+1
	}
	if prev.LastFailedAt != nil && now.Before(prev.LastFailedAt.Add(CodeFailureMemory)) {
		if prev.Failures >= MaxCodeAttempts {
			return next, prev.LastFailedAt.Add(CodeFailureMemory).Sub(now)
		}
		next.Failures, next.LastFailedAt = prev.Failures, prev.LastFailedAt
	}
	return next, 0
}

// AttemptsRemaining returns the wrong codes still allowed after failures.
func AttemptsRemaining(max, failures int) int {
	if failures >= max {
		return 0
	}
	return max - failures
}
