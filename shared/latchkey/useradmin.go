package latchkey

import "time"

// ValidRegistrationStatus reports whether s is one of the registration
// statuses (RegistrationNotRegistered, RegistrationComplete,
// RegistrationAccessed).
func ValidRegistrationStatus(s string) bool {
	return s == RegistrationNotRegistered || s == RegistrationComplete || s == RegistrationAccessed
}

// DateLayout is the form of a calendar day, such as a password's expiry day.
const DateLayout = "2006-01-02"

// ValidateDate checks that s is a real calendar day written YYYY-MM-DD
// ("2026-02-30" and "2026-2-3" are refused) and returns it. field names the
// input in the error. It returns EValidation.
func ValidateDate(field, s string) (string, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil || d.Format(DateLayout) != s {
		return "", Errorf(EValidation, "%s: must be a real day written YYYY-MM-DD.", field)
	}
	return s, nil
}

// UserFilter selects users in a list. Zero values select everybody.
type UserFilter struct {
	// RegistrationStatus, when set, keeps users of that status only.
	RegistrationStatus string
	// SelfServe and Locked, when not nil, keep users whose own self-serve
	// switch, or staff lock, is as given.
	SelfServe *bool
	Locked    *bool
}

// WelcomeLinkTTL is how long a welcome link is valid.
const WelcomeLinkTTL = 7 * 24 * time.Hour

// WelcomeLink is a single-use link e-mailed to a user (the WELCOME
// template) with which the user confirms their mobile number. Only the
// keyed MAC of its token is stored, as the item's key; its dynamodbav tags
// are the attribute names of that item.
type WelcomeLink struct {
	TenantID  string    `dynamodbav:"tenantId"`
	UserID    string    `dynamodbav:"userId"`
	CreatedAt time.Time `dynamodbav:"createdAt"`
	ExpiresAt time.Time `dynamodbav:"expiresAt"`
	// CreatedBy is the admin who sent it.
	CreatedBy string `dynamodbav:"createdBy"`
}
