package latchkey

import (
	"context"
	"time"
)

// Role is what a user may do in their tenant.
type Role string

// Roles. admin manages settings, users and templates; agent is staff using
// verification tools and resets; user is everybody else.
const (
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
	RoleUser  Role = "user"
)

// ValidRole reports whether r is one of the known roles.
func ValidRole(r Role) bool { return r == RoleAdmin || r == RoleAgent || r == RoleUser }

// rank orders the roles by privilege.
func rank(roles []Role) int {
	best := 0
	for _, r := range roles {
		switch {
		case r == RoleAdmin:
			best = max(best, 3)
		case r == RoleAgent:
			best = max(best, 2)
		case r == RoleUser:
			best = max(best, 1)
		}
	}
	return best
}

// CanActOn reports whether staff member actor may reset, lock or unlock
// target: staff act only on users of lower or equal privilege, so an agent
// never acts on an admin, and admins are acted on by admins (PRODUCT.md,
// "Across everything").
func CanActOn(actor, target *User) bool {
	return actor.TenantID == target.TenantID && rank(target.Roles) <= rank(actor.Roles)
}

// Clock returns the current time. Every expiry, TTL and lockout decision reads
// time through an injected Clock so that tests move time instead of sleeping.
type Clock func() time.Time

// PasswordPolicy is the tenant-configurable password policy.
type PasswordPolicy struct {
	MinLength     int  `json:"minLength"`
	MaxLength     int  `json:"maxLength"`
	RequireLetter bool `json:"requireLetter"`
	RequireDigit  bool `json:"requireDigit"`
	// RefuseCommon refuses passwords found in the common-password list.
	RefuseCommon bool `json:"refuseCommon"`
	// RefuseIdentity refuses passwords containing the username or e-mail.
	RefuseIdentity bool `json:"refuseIdentity"`
}

// PINSignup values: which clients may use PIN-code signup.
const (
	PINSignupOff = "off"
	PINSignupWeb = "web"
	PINSignupAll = "all"
)

// Settings are a tenant's switches. Zero values are never stored: the
// defaults come from DefaultSettings and a tenant overrides them.
type Settings struct {
	Policy PasswordPolicy `json:"passwordPolicy"`
	// TempPasswordHours is how long a temporary password is valid (48 by default).
	TempPasswordHours int `json:"tempPasswordHours"`
	// LockoutThreshold consecutive failed logins lock the username.
	LockoutThreshold int `json:"lockoutThreshold"`
	// LockoutMinutes is how long a lockout lasts.
	LockoutMinutes int `json:"lockoutMinutes"`
	// ResetByEmail allows forgot-password by e-mail.
	ResetByEmail bool `json:"resetByEmail"`
	// UsernameInResetEmail puts the username in the e-mails that carry a
	// temporary password (PASSWORD_EMAIL_CHANGE and PASSWORD_EMAIL_NEW); off
	// by default, so one intercepted e-mail does not hold both.
	UsernameInResetEmail bool `json:"usernameInResetEmail"`
	// ResetRequestsPerHour caps forgot-password requests per username.
	ResetRequestsPerHour int `json:"resetRequestsPerHour"`
	// PINSignup is off, web or all.
	PINSignup string `json:"pinSignup"`
	// SenderEmail overrides the deployment's default From address; empty
	// means the deployment's (always in the JSON, so that a settings object
	// read from the API can be sent back whole).
	SenderEmail string `json:"senderEmail"`
	// SecurityPIN switches the security-PIN feature (set-up and reset links,
	// PIN verification) on; off by default.
	SecurityPIN bool `json:"securityPin"`
	// PINLinkHours is how long a security-PIN set-up or reset link is valid
	// (24 by default; 0, as in tenants created before the setting, means 24).
	PINLinkHours int `json:"pinLinkHours"`
	// VerificationMinutes is how long an account stays verified after a
	// right security PIN or verification code (60 by default; 0, as in
	// tenants created before the setting, means 60).
	VerificationMinutes int `json:"verificationMinutes"`
	// PINSignIn lets users sign in with username and user PIN (mobile); off
	// by default.
	PINSignIn bool `json:"pinSignIn"`
	// SelfServe is the tenant's global override of self-serve: when off, no
	// user gets reminders or self-service whatever their own switch, and the
	// per-user switch cannot be changed. On by default (each user's own
	// switch starts off).
	SelfServe bool `json:"selfServe"`
	// ReminderDays is how many days before a password expires the daily
	// reminders start (10 by default).
	ReminderDays int `json:"reminderDays"`
	// SendHour is the hour of the day, in TimeZone, at which reminders go
	// out (9 by default).
	SendHour int `json:"sendHour"`
	// TimeZone is the tenant's IANA time zone name ("UTC" by default).
	TimeZone string `json:"timeZone"`
}

// Defaults of the reminder settings (PRODUCT.md, "Users, self-serve and
// expiry notifications").
const (
	DefaultReminderDays = 10
	DefaultSendHour     = 9
)

// DefaultVerificationMinutes is how long a verification lasts unless the
// tenant says otherwise.
const DefaultVerificationMinutes = 60

// VerificationTTL returns how long an account stays verified.
func (s Settings) VerificationTTL() time.Duration {
	if s.VerificationMinutes <= 0 {
		return DefaultVerificationMinutes * time.Minute
	}
	return time.Duration(s.VerificationMinutes) * time.Minute
}

// DefaultPINLinkHours is how long a security-PIN link is valid unless the
// tenant says otherwise.
const DefaultPINLinkHours = 24

// PINLinkTTL returns how long the tenant's security-PIN links are valid.
func (s Settings) PINLinkTTL() time.Duration {
	if s.PINLinkHours <= 0 {
		return DefaultPINLinkHours * time.Hour
	}
	return time.Duration(s.PINLinkHours) * time.Hour
}

// DefaultSettings returns the settings a new tenant starts with (PRODUCT.md).
func DefaultSettings() Settings {
	return Settings{
		Policy: PasswordPolicy{
			MinLength: 8, MaxLength: 128, RequireLetter: true, RequireDigit: true,
			RefuseCommon: true, RefuseIdentity: true,
		},
		TempPasswordHours:    48,
		LockoutThreshold:     5,
		LockoutMinutes:       15,
		ResetByEmail:         true,
		UsernameInResetEmail: false,
		ResetRequestsPerHour: 3,
		PINSignup:            PINSignupOff,
		SecurityPIN:          false,
		PINLinkHours:         DefaultPINLinkHours,
		VerificationMinutes:  DefaultVerificationMinutes,
		PINSignIn:            false,
		SelfServe:            true,
		ReminderDays:         DefaultReminderDays,
		SendHour:             DefaultSendHour,
		TimeZone:             "UTC",
	}
}

// Tenant is one organisation.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"createdAt"`
}

// User is a login identity of a tenant. Its dynamodbav tags are the
// attribute names of the USER item (shared/dynamo maps users from this one
// struct); its json tags keep every secret out of any JSON.
type User struct {
	TenantID string `json:"tenantId" dynamodbav:"tenantId"`
	ID       string `json:"id" dynamodbav:"userId"`
	// Username as the user typed it; uniqueness uses UsernameKey.
	Username string `json:"username" dynamodbav:"username"`
	Email    string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	// Mobile in E.164 form.
	Mobile string `json:"mobile,omitempty" dynamodbav:"mobile,omitempty"`
	Roles  []Role `json:"roles" dynamodbav:"roles"`
	// PasswordHash is the argon2id PHC string of the current password; empty
	// when the user has only a temporary password.
	PasswordHash string `json:"-" dynamodbav:"passwordHash,omitempty"`
	// SessionVersion increases on every password change, reset and lock;
	// tokens and challenges carrying an older version are refused.
	SessionVersion int `json:"-" dynamodbav:"sessionVersion"`
	// PasswordChangedAt is when the password was last set by the user.
	PasswordChangedAt time.Time `json:"passwordChangedAt,omitempty" dynamodbav:"passwordChangedAt,omitempty"`
	// Permissions, Profiles and CompanyExceptions are inherited by users a
	// PIN-code user creates.
	Permissions       []string  `json:"permissions,omitempty" dynamodbav:"permissions,omitempty"`
	Profiles          []string  `json:"profiles,omitempty" dynamodbav:"profiles,omitempty"`
	CompanyExceptions []string  `json:"companyExceptions,omitempty" dynamodbav:"companyExceptions,omitempty"`
	CreatedAt         time.Time `json:"createdAt" dynamodbav:"createdAt"`
	// SponsorID is the PIN-code user who created this user, if any.
	SponsorID string `json:"sponsorId,omitempty" dynamodbav:"sponsorId,omitempty"`
	// LastLoginAt is set at every successful sign-in.
	LastLoginAt time.Time `json:"lastLoginAt,omitempty" dynamodbav:"lastLoginAt,omitempty"`
	// PINCodeMAC is the keyed HMAC of the user's PIN code (empty when the user
	// is not a PIN-code user); PINCodeSealed is the code encrypted with the
	// data key, so that an admin can e-mail it again. Neither is ever shown.
	PINCodeMAC    string `json:"-" dynamodbav:"pinCodeMac,omitempty"`
	PINCodeSealed string `json:"-" dynamodbav:"pinCodeSealed,omitempty"`
	// PINCodeSetAt is when the current PIN code was generated.
	PINCodeSetAt time.Time `json:"pinCodeSetAt,omitempty" dynamodbav:"pinCodeSetAt,omitempty"`
	// LockedAt is when staff locked the user, nil when not locked (a
	// pointer, so that an unlocked user's item has no lockedAt attribute,
	// which the storage's conditions test). An admin lock lasts until an
	// unlock; locking ends every session and pending challenge of the user.
	// It is distinct from the lockout after failed sign-ins, which is
	// counted per username key.
	LockedAt *time.Time `json:"lockedAt,omitempty" dynamodbav:"lockedAt,omitempty"`
	// PINMAC is the keyed HMAC of the user's PIN (for sign-in with username
	// and PIN where the tenant allows it), empty while none is set; nobody
	// can read it back. PINSetAt is when it was set, PINSetByAdmin whether
	// an admin set it (a temporary PIN the user should change).
	PINMAC        string     `json:"-" dynamodbav:"pinMac,omitempty"`
	PINSetAt      *time.Time `json:"-" dynamodbav:"pinSetAt,omitempty"`
	PINSetByAdmin bool       `json:"-" dynamodbav:"pinSetByAdmin,omitempty"`
	// SelfServe is the user's own switch for reminders and self-service
	// (off for created users); the tenant's Settings.SelfServe overrides it.
	SelfServe bool `json:"selfServe" dynamodbav:"selfServe,omitempty"`
	// PasswordExpiresOn is the day the user's password expires, as
	// YYYY-MM-DD in the tenant's time zone; empty when it does not.
	PasswordExpiresOn string `json:"passwordExpiresOn,omitempty" dynamodbav:"passwordExpiresOn,omitempty"`
	// AccessedSelfServeAt is when the user first used a self-serve flow (a
	// sign-in, or confirming their mobile number from a welcome link).
	AccessedSelfServeAt *time.Time `json:"accessedSelfServeAt,omitempty" dynamodbav:"accessedSelfServeAt,omitempty"`
	// WelcomeMAC is the keyed MAC of the user's one valid welcome link
	// (empty when none is pending): a newer link replaces it, so the older
	// one stops working at once. Never shown.
	WelcomeMAC string `json:"-" dynamodbav:"welcomeMac,omitempty"`
	// EmailBouncedAt and EmailComplainedAt are when SES reported a
	// permanent bounce of, or a complaint about, a notice sent to the
	// user's current e-mail address (nil when none): later notices skip
	// e-mail for that address. Changing the address clears both.
	EmailBouncedAt    *time.Time `json:"emailBouncedAt,omitempty" dynamodbav:"emailBouncedAt,omitempty"`
	EmailComplainedAt *time.Time `json:"emailComplainedAt,omitempty" dynamodbav:"emailComplainedAt,omitempty"`
}

// Registration statuses (PRODUCT.md glossary).
const (
	RegistrationNotRegistered = "not_registered"
	RegistrationComplete      = "registration_complete"
	RegistrationAccessed      = "accessed_self_serve"
)

// RegistrationStatus returns the user's registration status:
// accessed_self_serve once the user has used a self-serve flow, else
// registration_complete when both e-mail and mobile are present, else
// not_registered.
func (u *User) RegistrationStatus() string {
	switch {
	case u.AccessedSelfServeAt != nil:
		return RegistrationAccessed
	case u.Email != "" && u.Mobile != "":
		return RegistrationComplete
	default:
		return RegistrationNotRegistered
	}
}

// MarkAccessedSelfServe records that the user used a self-serve flow at t,
// unless it was recorded before (the first use is kept).
func (u *User) MarkAccessedSelfServe(t time.Time) {
	if u.AccessedSelfServeAt == nil {
		t = t.UTC()
		u.AccessedSelfServeAt = &t
	}
}

// Notifiable reports whether the user may get reminders and notices under
// settings st (PRODUCT.md): the tenant's override on, the user's self-serve
// on, and both e-mail and mobile present.
func (u *User) Notifiable(st Settings) bool {
	return st.SelfServe && u.SelfServe && u.Email != "" && u.Mobile != ""
}

// EmailSuppressed reports whether notices skip the user's e-mail address:
// SES reported a permanent bounce of, or a complaint about, one sent to it.
func (u *User) EmailSuppressed() bool {
	return u.EmailBouncedAt != nil || u.EmailComplainedAt != nil
}

// EmailStatus is "complained" or "bounced" when the user's address is
// marked (a complaint first), "" when it is not.
func (u *User) EmailStatus() string {
	switch {
	case u.EmailComplainedAt != nil:
		return "complained"
	case u.EmailBouncedAt != nil:
		return "bounced"
	}
	return ""
}

// AdminLocked reports whether the user is locked by staff.
func (u *User) AdminLocked() bool { return u.LockedAt != nil }

// IsPINCodeUser reports whether the user holds a PIN code.
func (u *User) IsPINCodeUser() bool { return u.PINCodeMAC != "" }

// HasRole reports whether the user holds role r.
func (u *User) HasRole(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Email is one message to send. HTML and Text are both always set.
type Email struct {
	From    string
	To      string
	Subject string
	Text    string
	HTML    string
	// Tags are SES message tags (names and values of [A-Za-z0-9_.@-]),
	// which come back in SES's delivery events; none when nil.
	Tags map[string]string
	// ConfigurationSet is the SES configuration set to send under, whose
	// event destination reports delivery, bounces and complaints; empty
	// for none (locally).
	ConfigurationSet string
}

// SMS is one text message to an E.164 number.
type SMS struct {
	To   string
	Body string
}

// Mailer sends e-mail (SES v2 in AWS and locally through its emulator).
type Mailer interface {
	SendEmail(ctx context.Context, m Email) (messageID string, err error)
}

// SMSSender sends SMS (SNS Publish in AWS, the local outbox locally).
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) (messageID string, err error)
}
