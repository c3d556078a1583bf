// Package pinsignup is PIN-code signup (PRODUCT.md, "PIN-code signup"): an
// admin gives a user a PIN code; the holder creates new users in their own
// likeness with it from the sign-in page. Codes are never stored in
// plaintext: a keyed HMAC finds the holder, and a copy sealed with the data
// key lets an admin e-mail the current code again.
package pinsignup

import (
	"context"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// Clients that may send X-Client.
const (
	ClientWeb     = "web"
	ClientMobile  = "mobile"
	ClientDesktop = "desktop"
)

// Limits bound failed signups. Every attempt takes a slot from both counters
// before the code is checked (a conditional write, so concurrent attempts
// cannot exceed them); a signup that succeeds, or fails for a reason other
// than the code, gives its slots back. While the tenant is over its limit,
// a source with no failure in its own window still gets through (its
// attempt is then not counted against the tenant): so a few sources that
// exhaust the tenant's limit block only themselves, and a distributed
// attack gets one guess per source and window.
type Limits struct {
	// PerAddress failed attempts per source address in AddressWindow.
	PerAddress    int
	AddressWindow time.Duration
	// PerTenant failed attempts per tenant in TenantWindow, whatever the address.
	PerTenant    int
	TenantWindow time.Duration
}

// DefaultLimits are the limits a Service uses when its Limits are zero.
var DefaultLimits = Limits{PerAddress: 10, AddressWindow: 15 * time.Minute, PerTenant: 100, TenantWindow: time.Hour}

// Store is what PIN-code signup needs from storage; shared/dynamo.Store
// satisfies it.
type Store interface {
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
	// UserByPINCode returns the holder of the code whose MAC is mac, or ENotFound.
	UserByPINCode(ctx context.Context, tid, mac string) (*latchkey.User, error)
	// SetPINCode and RevokePINCode change a holder's code only while it is
	// still oldMAC; they return ENotFound or EConflict.
	SetPINCode(ctx context.Context, tid, uid, oldMAC, newMAC, sealed string) error
	RevokePINCode(ctx context.Context, tid, uid, oldMAC string) error
	TakeRate(ctx context.Context, tid, kind, subject string, limit int, window time.Duration) (latchkey.Rate, error)
	ReleaseRate(ctx context.Context, tid string, r latchkey.Rate) error
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// UserCreator creates a user with a temporary password (tenancy.Service).
type UserCreator interface {
	CreateUser(ctx context.Context, t *latchkey.Tenant, actor string, nu tenancy.NewUser) (*latchkey.User, string, error)
}

// Service generates, e-mails and revokes PIN codes and signs users up with them.
type Service struct {
	Store  Store
	Users  UserCreator
	Notify *notify.Notifier
	// HMACKey keys the PIN codes' MACs; DataKey seals their recoverable copies.
	HMACKey, DataKey []byte
	Now              latchkey.Clock
	Limits           Limits
}

// maxPINCodeBytes bounds the pinCode input (a code is 14 characters with hyphens).
const maxPINCodeBytes = 64

const (
	macPurpose = "pin-code"
	rateAddr   = "signup-addr"
	rateTenant = "signup-tenant"
)

func (s *Service) limits() Limits {
	if s.Limits.PerAddress == 0 {
		return DefaultLimits
	}
	return s.Limits
}

func (s *Service) mac(code string) string {
	return secure.MAC(s.HMACKey, macPurpose, secure.NormalizePINCode(code))
}

// aad binds a sealed code to its tenant and user.
func aad(tid, uid string) string { return "pin-code/" + tid + "/" + uid }

// Generate gives user uid a new random PIN code, replacing any previous one
// at once, and returns it: the only time it is shown. It returns ENotFound
// or EConflict (a concurrent change).
func (s *Service) Generate(ctx context.Context, tid, actorID, uid string) (string, error) {
	u, err := s.Store.GetUser(ctx, tid, uid)
	if err != nil {
		return "", err
	}
	code, err := secure.PINCode()
	if err != nil {
		return "", err
	}
	sealed, err := secure.Seal(s.DataKey, code, aad(tid, uid))
	if err != nil {
		return "", err
	}
	if err := s.Store.SetPINCode(ctx, tid, uid, u.PINCodeMAC, s.mac(code), sealed); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeGenerate, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return "", err
	}
	action := latchkey.ActionPINCodeGenerate
	if u.IsPINCodeUser() {
		action = latchkey.ActionPINCodeRegen
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, action, latchkey.ResultSuccess, ""))
	return code, nil
}

// Revoke removes user uid's PIN code; it stops working at once. Revoking a
// user without a code changes nothing. It returns ENotFound or EConflict.
func (s *Service) Revoke(ctx context.Context, tid, actorID, uid string) error {
	u, err := s.Store.GetUser(ctx, tid, uid)
	if err != nil {
		return err
	}
	if !u.IsPINCodeUser() {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeRevoke, latchkey.ResultSuccess, "no_code"))
		return nil
	}
	if err := s.Store.RevokePINCode(ctx, tid, uid, u.PINCodeMAC); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeRevoke, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeRevoke, latchkey.ResultSuccess, ""))
	return nil
}

// Email sends user uid's current PIN code with the PINCODE_EMAIL_BODY layout
// to the address to, or to the user's own address when to is empty, and
// returns the masked address. It returns ENotFound (no such user, or the user
// has no PIN code), EValidation (a bad address) or ENoEmail.
func (s *Service) Email(ctx context.Context, tid, actorID, uid, to string) (string, error) {
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return "", err
	}
	u, err := s.Store.GetUser(ctx, tid, uid)
	if err != nil {
		return "", err
	}
	if !u.IsPINCodeUser() {
		return "", latchkey.Errorf(latchkey.ENotFound, "The user has no PIN code.")
	}
	if to != "" {
		if to, err = latchkey.ValidateEmail(to); err != nil {
			return "", err
		}
	} else if to = u.Email; to == "" {
		return "", latchkey.Errorf(latchkey.ENoEmail, "The user has no e-mail address: give one in \"to\".")
	}
	code, err := secure.Open(s.DataKey, u.PINCodeSealed, aad(tid, uid))
	if err != nil {
		return "", err
	}
	if err := s.Notify.Email(ctx, t, to, templates.PINCodeEmailBody, map[string]string{"pinCode": code, "username": u.Username}); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeEmail, latchkey.ResultFailure, "send_failed"))
		return "", err
	}
	reason := "to_holder"
	if to != u.Email {
		reason = "to_other_address"
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionPINCodeEmail, latchkey.ResultSuccess, reason))
	return latchkey.MaskEmail(to), nil
}

// Signup is a request to create a user with a PIN code.
type Signup struct {
	PINCode  string
	Email    string
	Username string
	// Client is the X-Client header: web, mobile or desktop.
	Client string
	// SourceAddress is the caller's IP address, for the rate limit.
	SourceAddress string
}

// errInvalidCode is the one answer to every wrong, unknown, replaced or
// revoked code.
func errInvalidCode() error {
	return latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
}

// SignUp creates a user in the likeness of the PIN code's holder: the
// holder's permissions, profiles and company exceptions, the role user
// (never admin), the holder recorded as sponsor, and a temporary password
// e-mailed with PASSWORD_EMAIL_NEW. It returns EValidation, ENotFound
// (tenant), EPINSignupDisabled, ERateLimited (with the seconds to wait),
// EInvalidPINCode or EUsernameTaken.
func (s *Service) SignUp(ctx context.Context, tid string, in Signup) (*latchkey.User, error) {
	switch in.Client {
	case ClientWeb, ClientMobile, ClientDesktop:
	default:
		return nil, latchkey.Errorf(latchkey.EValidation, "The X-Client header must be web, mobile or desktop.")
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	switch t.Settings.PINSignup {
	case latchkey.PINSignupAll:
	case latchkey.PINSignupWeb:
		if in.Client != ClientWeb {
			return nil, latchkey.Errorf(latchkey.EPINSignupDisabled, "PIN-code signup is available on the web pages only.")
		}
	default:
		return nil, latchkey.Errorf(latchkey.EPINSignupDisabled, "PIN-code signup is not enabled.")
	}
	if in.PINCode == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "pinCode is required.")
	}
	if err := latchkey.CheckLength("pinCode", in.PINCode, maxPINCodeBytes); err != nil {
		return nil, err
	}
	username, err := latchkey.ValidateUsername(in.Username)
	if err != nil {
		return nil, err
	}
	email, err := latchkey.ValidateEmail(in.Email)
	if err != nil {
		return nil, err
	}

	release, err := s.take(ctx, tid, in.SourceAddress)
	if err != nil {
		return nil, err
	}
	mac := s.mac(in.PINCode)
	sponsor, err := s.Store.UserByPINCode(ctx, tid, mac)
	if err == nil && sponsor.AdminLocked() {
		// A locked holder's code creates nobody, and says so no differently.
		err = latchkey.Errorf(latchkey.ENotFound, "No such PIN code.")
	}
	if latchkey.ErrorCode(err) == latchkey.ENotFound {
		// The slots stay taken: this is the failure the limits count.
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", "address:"+in.SourceAddress, latchkey.ActionSignupPINCode, latchkey.ResultFailure, latchkey.EInvalidPINCode))
		return nil, errInvalidCode()
	}
	if err != nil {
		release()
		return nil, err
	}
	u, _, err := s.Users.CreateUser(ctx, t, sponsor.ID, tenancy.NewUser{
		Username: username, Email: email, Roles: []latchkey.Role{latchkey.RoleUser},
		Permissions: sponsor.Permissions, Profiles: sponsor.Profiles, CompanyExceptions: sponsor.CompanyExceptions,
		SponsorID: sponsor.ID, SponsorPINCodeMAC: mac,
	})
	if latchkey.ErrorCode(err) == latchkey.EInvalidPINCode {
		// Revoked, replaced or locked while this signup ran: a code failure,
		// whose slots stay taken.
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", "address:"+in.SourceAddress, latchkey.ActionSignupPINCode, latchkey.ResultFailure, "code_gone_during_signup"))
		return nil, errInvalidCode()
	}
	release()
	if err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, sponsor.ID, latchkey.NormalizeUsername(username), latchkey.ActionSignupPINCode, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	s.Store.Audit(ctx, latchkey.Event(tid, sponsor.ID, u.ID, latchkey.ActionSignupPINCode, latchkey.ResultSuccess, ""))
	return u, nil
}

// take reserves one attempt from the address and the tenant limits and
// returns the function that gives back what it took. It returns ERateLimited
// with the seconds until the window ends when the address is over its limit,
// or when the tenant is and the address already failed in its window.
func (s *Service) take(ctx context.Context, tid, addr string) (func(), error) {
	l := s.limits()
	src := latchkey.SourceKey(addr)
	a, err := s.Store.TakeRate(ctx, tid, rateAddr, src, l.PerAddress, l.AddressWindow)
	if err != nil {
		return nil, err
	}
	if !a.Allowed {
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", "address:"+src, latchkey.ActionSignupPINCode, latchkey.ResultDenied, "rate_limited_address"))
		return nil, rateLimited(a.RetryAfter)
	}
	// A context that outlives a cancelled request: the slots must come back.
	bg := context.WithoutCancel(ctx)
	releaseAddr := func() { _ = s.Store.ReleaseRate(bg, tid, a) }
	tn, err := s.Store.TakeRate(ctx, tid, rateTenant, "all", l.PerTenant, l.TenantWindow)
	if err != nil {
		releaseAddr()
		return nil, err
	}
	if !tn.Allowed {
		if a.Count > 1 {
			releaseAddr()
			s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", "address:"+src, latchkey.ActionSignupPINCode, latchkey.ResultDenied, "rate_limited_tenant"))
			return nil, rateLimited(tn.RetryAfter)
		}
		// The tenant is over its limit, but this address has no failure in
		// its window: let it through, counted against the address only.
		return releaseAddr, nil
	}
	return func() {
		releaseAddr()
		_ = s.Store.ReleaseRate(bg, tid, tn)
	}, nil
}

func rateLimited(wait time.Duration) error {
	secs := int(wait.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	e := latchkey.Errorf(latchkey.ERateLimited, "Too many failed signups. Try again in %s seconds.", strconv.Itoa(secs))
	e.RetryAfterSeconds = secs
	return e
}
