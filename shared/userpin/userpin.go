// Package userpin is the user-PIN capability (PRODUCT.md, "User PIN"): a
// user's own 6-digit PIN for the mobile sign-in, which an admin may set (a
// temporary one, marked as set by admin) and the user changes privately with
// their current PIN or password. The PIN is stored only as a keyed HMAC
// bound to tenant and user (latchkey.UserPINMAC) and nobody can read it back:
// the user view says only whether one is set and whether an admin set it.
// Sign-in with username and PIN is the password capability's (the sessions
// function); this package only sets and changes PINs.
package userpin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
)

// Store is what the user-PIN capability needs from storage;
// shared/dynamo.Store satisfies it.
type Store interface {
	// GetTenant returns ENotFound.
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// GetUser returns ENotFound.
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
	// SetUserPIN stores a user's PIN MAC with when and by whom it was set,
	// and audit, in one transaction; it returns ENotFound.
	SetUserPIN(ctx context.Context, tid, uid, mac string, byAdmin bool, at time.Time, audit latchkey.AuditEvent) error
	// TakeLoginAttempt and GiveBackLoginAttempt are the username's attempt
	// slots of sign-in: the current secret of a PIN change is checked only
	// with a slot taken, so a stolen token cannot guess past the lockout.
	TakeLoginAttempt(ctx context.Context, tid, ukey string, p latchkey.LockPolicy) (latchkey.LoginAttempt, error)
	GiveBackLoginAttempt(ctx context.Context, tid, ukey string, a latchkey.LoginAttempt) error
	// Audit records a security event; it never fails the request.
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// Service sets and changes user PINs. Build it once per cold start.
type Service struct {
	Store Store
	// Notify sends the PIN_CHANGED notice by e-mail and, when it has an SMS
	// sender and the user a mobile number, by SMS.
	Notify *notify.Notifier
	// HMACKey keys the PINs' MACs (latchkey.UserPINMAC).
	HMACKey []byte
	Now     latchkey.Clock
}

var errInvalidCredentials = latchkey.Errorf(latchkey.EInvalidCredentials, "The current PIN or password is incorrect.")

// errLocked is the one answer to every lock, as at sign-in: it tells
// nothing about why, and carries no Retry-After.
func errLocked() error {
	return latchkey.Errorf(latchkey.EAccountLocked, "The account is locked. Try again later or ask an administrator.")
}

// checkNewPIN checks a new PIN (latchkey.CheckPIN: 6 digits, not trivial)
// and names field in the error, so that the caller sees which field is at
// fault. It returns EValidation or EPINTooSimple.
func checkNewPIN(field, pin string) error {
	err := latchkey.CheckPIN(pin, pin)
	var e *latchkey.Error
	if errors.As(err, &e) {
		msg, _ := strings.CutPrefix(e.Message, "pin: ")
		return latchkey.Errorf(e.Code, "%s: %s", field, msg)
	}
	return err
}

// Set sets the PIN of user userID of tenant tid to pin, as admin actor (the
// route admits admins only; staff act only on users of lower or equal
// privilege, latchkey.CanActOn). The PIN is marked as set by an admin, so
// that the user knows to change it; the user gets the PIN_CHANGED notice
// (never the PIN). It returns ENotFound, EForbidden, EValidation (not 6
// digits) or EPINTooSimple.
func (s *Service) Set(ctx context.Context, tid string, actor *latchkey.User, userID, pin string) error {
	fail := func(err error) error {
		s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, userID, latchkey.ActionUserPINSet, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	if err := latchkey.CheckLength("pin", pin, latchkey.MaxPINInputBytes); err != nil {
		return err
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return err
	}
	u, err := s.Store.GetUser(ctx, tid, userID)
	if err != nil {
		return fail(err)
	}
	if !latchkey.CanActOn(actor, u) {
		return fail(latchkey.Errorf(latchkey.EForbidden, "Staff may act only on users of lower or equal privilege."))
	}
	if err := checkNewPIN("pin", pin); err != nil {
		return fail(err)
	}
	ev := latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionUserPINSet, latchkey.ResultSuccess, "")
	if err := s.Store.SetUserPIN(ctx, tid, u.ID, latchkey.UserPINMAC(s.HMACKey, tid, u.ID, pin), true, s.Now().UTC(), ev); err != nil {
		return fail(err)
	}
	s.notifyChanged(ctx, t, u)
	return nil
}

// Change is what a user gives to change their own PIN: exactly one of
// CurrentPIN and CurrentPassword, and the new PIN.
type Change struct {
	CurrentPIN      string
	CurrentPassword string
	NewPIN          string
}

// ChangeOwn changes user u's own PIN after checking the current PIN or the
// current password, and sends the PIN_CHANGED notice (never the PIN). The
// current secret is checked only after an attempt slot of u's username key
// is taken, the slot sign-in takes, so a stolen token cannot guess past the
// lockout: a wrong one keeps its slot (the one that reaches the threshold,
// and every attempt while locked out, answer EAccountLocked), a right one
// gives it back. A user locked by staff gets EAccountLocked. It returns
// EValidation, EInvalidCredentials, EAccountLocked or EPINTooSimple.
func (s *Service) ChangeOwn(ctx context.Context, u *latchkey.User, in Change) error {
	if (in.CurrentPIN == "") == (in.CurrentPassword == "") {
		return latchkey.Errorf(latchkey.EValidation, "currentPin, currentPassword: Give exactly one of currentPin and currentPassword.")
	}
	if in.NewPIN == "" {
		return latchkey.Errorf(latchkey.EValidation, "newPin: The new PIN is required.")
	}
	for _, f := range []struct{ name, value string }{{"currentPin", in.CurrentPIN}, {"newPin", in.NewPIN}} {
		if err := latchkey.CheckLength(f.name, f.value, latchkey.MaxPINInputBytes); err != nil {
			return err
		}
	}
	if err := latchkey.CheckLength("currentPassword", in.CurrentPassword, latchkey.MaxPasswordBytes); err != nil {
		return err
	}
	audit := func(result, reason string) {
		s.Store.Audit(ctx, latchkey.Event(u.TenantID, u.ID, u.ID, latchkey.ActionUserPINChange, result, reason))
	}
	if u.AdminLocked() {
		audit(latchkey.ResultDenied, "admin_locked")
		return errLocked()
	}
	t, err := s.Store.GetTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	refused, err := latchkey.CheckOwnSecret(ctx, s.Store, t, u, func() (bool, error) { return s.checkCurrent(t.ID, u, in) })
	if err != nil {
		return err
	}
	switch refused {
	case "":
	case latchkey.RefusedWrong:
		audit(latchkey.ResultFailure, refused)
		return errInvalidCredentials
	default:
		audit(latchkey.ResultDenied, refused)
		return errLocked()
	}
	if err := checkNewPIN("newPin", in.NewPIN); err != nil {
		audit(latchkey.ResultFailure, latchkey.ErrorCode(err))
		return err
	}
	ev := latchkey.Event(t.ID, u.ID, u.ID, latchkey.ActionUserPINChange, latchkey.ResultSuccess, "")
	if err := s.Store.SetUserPIN(ctx, t.ID, u.ID, latchkey.UserPINMAC(s.HMACKey, t.ID, u.ID, in.NewPIN), false, s.Now().UTC(), ev); err != nil {
		audit(latchkey.ResultFailure, latchkey.ErrorCode(err))
		return err
	}
	s.notifyChanged(ctx, t, u)
	return nil
}

// checkCurrent reports whether the current secret of in is u's: the
// password with one argon2id run (a dummy one when u has no password, so
// the work is the same), or the PIN with one MAC and a constant-time
// comparison (against a dummy when u has no PIN).
func (s *Service) checkCurrent(tid string, u *latchkey.User, in Change) (bool, error) {
	if in.CurrentPassword != "" {
		if u.PasswordHash == "" {
			secure.DummyVerify(in.CurrentPassword)
			return false, nil
		}
		ok, _, err := secure.VerifyPassword(u.PasswordHash, in.CurrentPassword)
		return ok, err
	}
	return latchkey.UserPINMatches(s.HMACKey, tid, u, in.CurrentPIN), nil
}

// notifyChanged sends u the PIN_CHANGED notice by e-mail and, when u has a
// mobile number and the notifier an SMS sender, by SMS, so that a change the
// user did not make is noticed. The PIN is never in it. A failed send is
// logged: the PIN is changed either way.
func (s *Service) notifyChanged(ctx context.Context, t *latchkey.Tenant, u *latchkey.User) {
	log := reqctx.Logger(ctx)
	fields := map[string]string{"username": u.Username}
	if u.Email != "" {
		if err := s.Notify.Email(ctx, t, u.Email, templates.PINChanged, fields); err != nil {
			log.Error("PIN changed e-mail failed", "tenant", t.ID, "user", u.ID, "error", err)
		}
	}
	if u.Mobile != "" && s.Notify.SMS != nil {
		if err := s.Notify.Text(ctx, t, u.Mobile, templates.PINChanged, fields); err != nil {
			log.Error("PIN changed SMS failed", "tenant", t.ID, "user", u.ID, "error", err)
		}
	}
}
