// Package tenancy creates tenants and users and changes tenant settings:
// the one place that the operator CLI, the local stack, PIN-code signup and
// the administration API call for these, so that every path writes the same
// items, audit events and e-mails.
package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
)

// Store is what tenancy needs from storage; shared/dynamo.Store satisfies it.
type Store interface {
	CreateTenant(ctx context.Context, t latchkey.Tenant) error
	DeleteNewTenant(ctx context.Context, tid string) error
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// ReadTenant is GetTenant without the per-container cache (a
	// consistent read); it returns ENotFound.
	ReadTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	ListTenants(ctx context.Context) ([]latchkey.Tenant, error)
	PutTenantSettings(ctx context.Context, tid string, st latchkey.Settings) error
	CreateUser(ctx context.Context, u latchkey.User, tp *latchkey.TempPassword, sponsor *latchkey.Sponsor, audit latchkey.AuditEvent) error
	DeleteNewUser(ctx context.Context, u latchkey.User) error
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// Service creates tenants and users. Build it once per cold start.
type Service struct {
	Store  Store
	Notify *notify.Notifier
	// HMACKey keys the temporary passwords' MACs.
	HMACKey []byte
	Now     latchkey.Clock
}

// NewUser describes a user to create.
type NewUser struct {
	Username string
	Email    string
	Mobile   string
	Roles    []latchkey.Role
	// Permissions, Profiles and CompanyExceptions, as a sponsor passes them on.
	Permissions       []string
	Profiles          []string
	CompanyExceptions []string
	// SponsorID is the PIN-code user creating this user, if any, and
	// SponsorPINCodeMAC the MAC of the code used: the user is created only
	// if the sponsor still holds that code and is not locked (checked in the
	// creating transaction).
	SponsorID         string
	SponsorPINCodeMAC string
	// PasswordExpiresOn is the day the user's password expires
	// (YYYY-MM-DD, checked by the caller), if any.
	PasswordExpiresOn string
	// WithoutEmail creates the user without a temporary password and sends
	// no e-mail (an import that says not to): nobody could know the
	// password, so none is made; the user gets one by forgot-password or a
	// reset by staff.
	WithoutEmail bool
}

// CreateUser creates a user of tenant t with a temporary password (valid for
// the tenant's TempPasswordHours) and e-mails it with PASSWORD_EMAIL_NEW
// (unless nu.WithoutEmail). The user, with self-serve off, the username
// claim and the temporary password are written in one
// transaction, and deleted again when the e-mail cannot be sent; the
// temporary password is returned only so that the local stack can print the
// demo admin's. The e-mail holds the username only when the tenant's
// UsernameInResetEmail setting is on. It returns EValidation,
// EUsernameTaken, EInvalidPINCode (the sponsor's code was revoked or
// replaced, or the sponsor locked, meanwhile) or EServiceUnavailable (the
// e-mail failed; nothing was created).
func (s *Service) CreateUser(ctx context.Context, t *latchkey.Tenant, actor string, nu NewUser) (*latchkey.User, string, error) {
	username, err := latchkey.ValidateUsername(nu.Username)
	if err != nil {
		return nil, "", err
	}
	email, err := latchkey.ValidateEmail(nu.Email)
	if err != nil {
		return nil, "", err
	}
	if len(nu.Roles) == 0 {
		nu.Roles = []latchkey.Role{latchkey.RoleUser}
	}
	for _, r := range nu.Roles {
		if !latchkey.ValidRole(r) {
			return nil, "", latchkey.Errorf(latchkey.EValidation, "Unknown role %q.", r)
		}
	}
	id, err := secure.NewID()
	if err != nil {
		return nil, "", err
	}
	var pw string
	var tp *latchkey.TempPassword
	if !nu.WithoutEmail {
		p, temp, err := latchkey.NewTempPassword(t.Settings, s.Now(), s.HMACKey)
		if err != nil {
			return nil, "", err
		}
		pw, tp = p, &temp
	}
	u := latchkey.User{
		TenantID: t.ID, ID: id, Username: username, Email: email, Mobile: nu.Mobile, Roles: nu.Roles,
		Permissions: nu.Permissions, Profiles: nu.Profiles, CompanyExceptions: nu.CompanyExceptions,
		CreatedAt: s.Now(), SponsorID: nu.SponsorID, PasswordExpiresOn: nu.PasswordExpiresOn,
	}
	var sponsor *latchkey.Sponsor
	if nu.SponsorID != "" && nu.SponsorPINCodeMAC != "" {
		sponsor = &latchkey.Sponsor{UserID: nu.SponsorID, PINCodeMAC: nu.SponsorPINCodeMAC}
	}
	created := latchkey.Event(t.ID, actor, u.ID, latchkey.ActionUserCreate, latchkey.ResultSuccess, "")
	if err := s.Store.CreateUser(ctx, u, tp, sponsor, created); err != nil {
		s.Store.Audit(ctx, latchkey.Event(t.ID, actor, latchkey.NormalizeUsername(username), latchkey.ActionUserCreate, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, "", err
	}
	if tp == nil {
		return &u, "", nil
	}
	fields := latchkey.TempPasswordFields(t, &u, pw, *tp)
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordEmailNew, fields); err != nil {
		// Without the e-mail nobody can sign in as the user: undo the creation
		// so that a retry starts afresh, and say why.
		reqctx.Logger(ctx).Error("welcome e-mail failed; user creation undone", "tenant", t.ID, "user", u.ID, "error", err)
		if derr := s.Store.DeleteNewUser(ctx, u); derr != nil {
			return nil, "", fmt.Errorf("undo user creation after %v: %w", err, derr)
		}
		s.Store.Audit(ctx, latchkey.Event(t.ID, actor, u.ID, latchkey.ActionUserCreate, latchkey.ResultFailure, "email_failed_undone"))
		return nil, "", latchkey.Errorf(latchkey.EServiceUnavailable, "The e-mail with the temporary password could not be sent, so the user was not created. Try again later.")
	}
	return &u, pw, nil
}

// ValidateTenantID checks a tenant id: 3 to 32 lowercase letters, digits and
// single inner hyphens (latchkey.ValidTenantID). It returns EValidation.
func ValidateTenantID(id string) error {
	if !latchkey.ValidTenantID(id) {
		return latchkey.Errorf(latchkey.EValidation, "Tenant id must be 3 to 32 lowercase letters, digits and single inner hyphens.")
	}
	return nil
}

// CreateTenant creates a tenant with default settings and its first admin,
// who receives a temporary password by e-mail. It returns EValidation,
// ETenantExists or EServiceUnavailable; when the admin cannot be created the
// tenant is not kept.
func (s *Service) CreateTenant(ctx context.Context, id, name, adminUsername, adminEmail string) (*latchkey.Tenant, *latchkey.User, string, error) {
	if err := ValidateTenantID(id); err != nil {
		return nil, nil, "", err
	}
	if strings.TrimSpace(name) == "" {
		name = id
	}
	if _, err := latchkey.ValidateUsername(adminUsername); err != nil {
		return nil, nil, "", err
	}
	if _, err := latchkey.ValidateEmail(adminEmail); err != nil {
		return nil, nil, "", err
	}
	t := latchkey.Tenant{ID: id, Name: strings.TrimSpace(name), Settings: latchkey.DefaultSettings(), CreatedAt: s.Now()}
	if err := s.Store.CreateTenant(ctx, t); err != nil {
		return nil, nil, "", err
	}
	u, pw, err := s.CreateUser(ctx, &t, "operator", NewUser{Username: adminUsername, Email: adminEmail, Roles: []latchkey.Role{latchkey.RoleAdmin}})
	if err != nil {
		// A tenant without its first admin is of no use: undo it, so that the
		// operator can run the same command again.
		if derr := s.Store.DeleteNewTenant(ctx, id); derr != nil {
			return nil, nil, "", fmt.Errorf("undo tenant creation after %v: %w", err, derr)
		}
		return nil, nil, "", err
	}
	// Recorded once the tenant is kept, so an undone creation leaves no
	// success in its audit log.
	s.Store.Audit(ctx, latchkey.Event(id, "operator", id, latchkey.ActionTenantCreate, latchkey.ResultSuccess, ""))
	return &t, u, pw, nil
}

// ListTenants returns every tenant, ordered by id.
func (s *Service) ListTenants(ctx context.Context) ([]latchkey.Tenant, error) {
	return s.Store.ListTenants(ctx)
}

// UpdateSettings applies change to tenant tid's settings, validates the
// result and stores it, recording actor and what changed in the audit log:
// reason, or when reason is empty the names of the settings that changed
// (latchkey.ChangedSettings, comma-separated). The settings are read with a
// consistent read, not from the per-container tenant cache, so that a
// change made elsewhere a moment ago is neither undone nor misreported. It
// returns ENotFound or EValidation (nothing is stored).
func (s *Service) UpdateSettings(ctx context.Context, tid, actor, reason string, change func(*latchkey.Settings)) (*latchkey.Tenant, error) {
	t, err := s.Store.ReadTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	before := t.Settings
	change(&t.Settings)
	if err := ValidateSettings(t.Settings); err != nil {
		return nil, err
	}
	if err := s.Store.PutTenantSettings(ctx, tid, t.Settings); err != nil {
		return nil, err
	}
	if reason == "" {
		reason = strings.Join(latchkey.ChangedSettings(before, t.Settings), ",")
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor, tid, latchkey.ActionSettingsUpdate, latchkey.ResultSuccess, reason))
	return t, nil
}

// Ranges of the settings, checked by ValidateSettings (PRODUCT.md,
// "Passwords" and "Users, self-serve and expiry notifications"; each
// default is in latchkey.DefaultSettings).
const (
	// MinPasswordLength is NIST SP 800-63B's floor for a password a user
	// chooses: no tenant may ask for less.
	MinPasswordLength = 8
	// MaxPasswordLength is the longest password a policy may allow: 128
	// characters are at most 512 bytes of UTF-8, within
	// latchkey.MaxPasswordBytes, the longest input hashed at all.
	MaxPasswordLength = 128
	// MaxTempPasswordHours caps a temporary password's lifetime at a week.
	// NIST SP 800-63B-4 caps e-mailed recovery secrets at 24 hours; the
	// default is 48 (the source document's), and a tenant may choose 24.
	MaxTempPasswordHours = 168
	MinLockoutThreshold  = 3
	MaxLockoutThreshold  = 20
	MaxLockoutMinutes    = 24 * 60
	MaxResetsPerHour     = 20
	MaxPINLinkHours      = 168
	MaxVerificationMins  = 24 * 60
	MaxReminderDays      = 30
	// maxTimeZoneBytes bounds a time-zone name before it is looked up (the
	// longest IANA name is about 30 bytes).
	maxTimeZoneBytes = 64
)

// The policy's maximum length, in bytes of UTF-8 at 4 bytes a character,
// must stay within what is hashed at all: this constant fails to compile
// (a negative value for a uint) if MaxPasswordLength grows past it.
const _ = uint(latchkey.MaxPasswordBytes - MaxPasswordLength*utf8.UTFMax)

// ValidateSettings checks every setting and returns EValidation whose
// message names each setting that is wrong (by its JSON name, such as
// "passwordPolicy.minLength") with its allowed values; Details.problems
// lists them one by one. A time zone is an IANA name that time.LoadLocation
// finds: a binary that validates settings should link time/tzdata, so
// that the answer does not depend on the host's zoneinfo files.
func ValidateSettings(st latchkey.Settings) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	inRange := func(name string, v, lo, hi int, note string) {
		if v < lo || v > hi {
			bad("%s must be %d to %d%s.", name, lo, hi, note)
		}
	}
	p := st.Policy
	inRange("passwordPolicy.minLength", p.MinLength, MinPasswordLength, MaxPasswordLength, "")
	if p.MaxLength < max(p.MinLength, MinPasswordLength) || p.MaxLength > MaxPasswordLength {
		bad("passwordPolicy.maxLength must be at least passwordPolicy.minLength and at most %d.", MaxPasswordLength)
	}
	inRange("tempPasswordHours", st.TempPasswordHours, 1, MaxTempPasswordHours, " (NIST SP 800-63B-4 advises at most 24 for e-mailed secrets)")
	inRange("lockoutThreshold", st.LockoutThreshold, MinLockoutThreshold, MaxLockoutThreshold, "")
	inRange("lockoutMinutes", st.LockoutMinutes, 1, MaxLockoutMinutes, "")
	inRange("resetRequestsPerHour", st.ResetRequestsPerHour, 1, MaxResetsPerHour, "")
	switch st.PINSignup {
	case latchkey.PINSignupOff, latchkey.PINSignupWeb, latchkey.PINSignupAll:
	default:
		bad("pinSignup must be off, web or all.")
	}
	inRange("pinLinkHours", st.PINLinkHours, 0, MaxPINLinkHours, " (0 means the default, 24)")
	inRange("verificationMinutes", st.VerificationMinutes, 0, MaxVerificationMins, " (0 means the default, 60)")
	inRange("reminderDays", st.ReminderDays, 1, MaxReminderDays, "")
	inRange("sendHour", st.SendHour, 0, 23, " (an hour of the day in timeZone)")
	if !validTimeZone(st.TimeZone) {
		bad("timeZone must be an IANA time zone name, such as Europe/London or UTC.")
	}
	if st.SenderEmail != "" {
		if e, err := latchkey.ValidateEmail(st.SenderEmail); err != nil || e != st.SenderEmail {
			bad("senderEmail must be an e-mail address, or empty for the deployment's sender.")
		}
	}
	if len(problems) == 0 {
		return nil
	}
	e := latchkey.Errorf(latchkey.EValidation, "%s", strings.Join(problems, " "))
	e.Details = map[string]any{"problems": problems}
	return e
}

// validTimeZone reports whether name is an IANA time zone name: not empty,
// not "Local" (the host's zone, whatever it is), and found by
// time.LoadLocation.
func validTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > maxTimeZoneBytes {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}
