package pinverify

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
)

// purposeCode keys a verification code's MAC apart from PINs and links.
const purposeCode = "verification-code"

// Verified is the answer to a right security PIN or code.
type Verified struct {
	Verified      bool      `json:"verified"`
	VerifiedUntil time.Time `json:"verifiedUntil"`
}

// CodeSent is the answer to a sent verification code.
type CodeSent struct {
	SentTo    SentTo    `json:"sentTo"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// wrongAnswer is the 422 of a wrong PIN or code: the error, with verified
// false and the attempts left beside it, as the contract puts them.
func wrongAnswer(code, what string, remaining int) error {
	e := latchkey.Errorf(code, "The %s is wrong. %d attempts remain.", what, remaining)
	e.Fields = map[string]any{"verified": false, "attemptsRemaining": remaining}
	return e
}

// VerifyPIN checks the security PIN a caller told staff member actorID for
// account accountID of tenant tid. An attempt slot is taken with a
// conditional write before the PIN is compared (constant time, against the
// keyed MAC), so parallel guesses never get more than MaxPINVerifyFailures
// comparisons. A right PIN verifies the account for the tenant's
// verificationMinutes, recorded with the agent and the method, and ends the
// failure count; a wrong one answers EWrongPIN with the attempts remaining,
// and the one that reaches the limit locks PIN verification
// (EPINVerificationLocked) until a reset link is used. Every outcome is
// audited. It also returns ESecurityPINDisabled, ENotFound, EPINNotSet,
// EValidation or EConflict (the PIN was reset meanwhile).
func (s *Service) VerifyPIN(ctx context.Context, tid, actorID, accountID, pin string) (*Verified, error) {
	audit := func(result, reason string) latchkey.AuditEvent {
		return latchkey.Event(tid, actorID, accountID, latchkey.ActionSecurityPINVerify, result, reason)
	}
	t, err := s.tenantWithPIN(ctx, tid)
	if err != nil {
		s.Store.Audit(ctx, audit(latchkey.ResultDenied, latchkey.ErrorCode(err)))
		return nil, err
	}
	if !latchkey.Digits(pin, latchkey.PINLength) {
		return nil, latchkey.Errorf(latchkey.EValidation, "pin: A security PIN is %d digits.", latchkey.PINLength)
	}
	a, err := s.Store.TakePINAttempt(ctx, tid, accountID)
	if err != nil {
		if c := latchkey.ErrorCode(err); c == latchkey.EPINVerificationLocked || c == latchkey.EPINNotSet {
			s.Store.Audit(ctx, audit(latchkey.ResultDenied, c))
		}
		return nil, err
	}
	now := s.Now().UTC()
	if secure.EqualMAC(a.PINMAC, s.pinMAC(tid, accountID, pin)) {
		v := latchkey.Verification{Until: now.Truncate(time.Second).Add(t.Settings.VerificationTTL()), By: actorID, Method: latchkey.VerifiedByPIN}
		if err := s.Store.PINVerified(ctx, a, v, audit(latchkey.ResultSuccess, "")); err != nil {
			return nil, err
		}
		return &Verified{Verified: true, VerifiedUntil: v.Until}, nil
	}
	remaining := latchkey.AttemptsRemaining(latchkey.MaxPINVerifyFailures, a.VerifyFailures)
	if remaining == 0 {
		locked := latchkey.Event(tid, actorID, accountID, latchkey.ActionSecurityPINLocked, latchkey.ResultSuccess, "")
		if err := s.Store.LockPINVerification(ctx, tid, accountID, now, audit(latchkey.ResultFailure, "wrong_pin"), locked); err != nil {
			return nil, err
		}
		return nil, latchkey.ErrPINVerificationLocked()
	}
	s.Store.Audit(ctx, audit(latchkey.ResultFailure, "wrong_pin"))
	return nil, wrongAnswer(latchkey.EWrongPIN, "PIN", remaining)
}

func (s *Service) codeMAC(tid, accountID, code string) string {
	return secure.MAC(s.HMACKey, purposeCode, tid+"/"+accountID+"/"+code)
}

// newCode returns a uniformly random code of CodeDigits digits from crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("random code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// SendCode sends contact contactID of account accountID of tenant tid a new
// verification code, as staff member actorID, by e-mail and SMS (whichever
// the contact has; VERIFICATION_CODE). The code is 6 digits from
// crypto/rand, stored only as a keyed MAC, valid CodeTTL, and replaces the
// account's previous code without resetting its failure count. Sends are
// throttled per account (latchkey.NextSend): ERateLimited with Retry-After.
// It also returns ESecurityPINDisabled, ENotFound, EValidation (no such
// contact, or one with neither e-mail nor mobile) or EServiceUnavailable
// (neither message went out; the code stays stored, unknown to anyone, and
// counts toward the throttle).
func (s *Service) SendCode(ctx context.Context, tid, actorID, accountID, contactID string) (*CodeSent, error) {
	fail := func(err error) (*CodeSent, error) {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, accountID, latchkey.ActionCodeSent, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	t, err := s.tenantWithPIN(ctx, tid)
	if err != nil {
		return fail(err)
	}
	a, prev, err := s.Store.GetAccountWithCode(ctx, tid, accountID)
	if err != nil {
		return fail(err)
	}
	c, ok := a.Contact(contactID)
	if !ok {
		return fail(latchkey.Errorf(latchkey.EValidation, "contactId: The account has no contact with this id."))
	}
	if c.Email == "" && c.Mobile == "" {
		return fail(latchkey.Errorf(latchkey.EValidation, "contactId: The contact has neither an e-mail address nor a mobile number."))
	}
	now := s.Now().UTC().Truncate(time.Second)
	next, wait := latchkey.NextSend(prev, now)
	if wait > 0 {
		return fail(throttled(wait))
	}
	code, err := newCode()
	if err != nil {
		return fail(err)
	}
	next.TenantID, next.AccountID, next.ContactID, next.CreatedBy = tid, accountID, contactID, actorID
	next.MAC = s.codeMAC(tid, accountID, code)
	if err := s.Store.PutVerificationCode(ctx, next, prev); err != nil {
		if latchkey.ErrorCode(err) == latchkey.EConflict {
			err = throttled(latchkey.CodeResendGap)
		}
		return fail(err)
	}
	fields := map[string]string{"code": code, "expiresAt": next.ExpiresAt.Format("15:04 MST")}
	log := reqctx.Logger(ctx)
	out := &CodeSent{ExpiresAt: next.ExpiresAt}
	if c.Email != "" {
		if err := s.Notify.Email(ctx, t, c.Email, templates.VerificationCode, fields); err != nil {
			log.Error("verification code e-mail failed", "tenant", tid, "account", accountID, "error", err)
		} else {
			out.SentTo.Email = latchkey.MaskEmail(c.Email)
		}
	}
	if c.Mobile != "" {
		if err := s.Notify.Text(ctx, t, c.Mobile, templates.VerificationCode, fields); err != nil {
			log.Error("verification code SMS failed", "tenant", tid, "account", accountID, "error", err)
		} else {
			out.SentTo.SMS = latchkey.MaskMobile(c.Mobile)
		}
	}
	if out.SentTo.Email == "" && out.SentTo.SMS == "" {
		return fail(latchkey.Errorf(latchkey.EServiceUnavailable, "The code could not be sent. Try again later."))
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, accountID, latchkey.ActionCodeSent, latchkey.ResultSuccess, "contact:"+contactID))
	return out, nil
}

// throttled is the ERateLimited answer to a send that must wait d.
func throttled(d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	e := latchkey.Errorf(latchkey.ERateLimited, "Codes for this account are throttled. Try again in %d seconds.", secs)
	e.RetryAfterSeconds = secs
	return e
}

// VerifyCode checks the verification code a caller read to staff member
// actorID for account accountID of tenant tid. An attempt slot is taken on
// the live code with a conditional write before it is compared, so a code
// gets at most MaxCodeAttempts comparisons (counting those of the codes it
// replaced) however many requests race. A right code is used up (of
// concurrent uses exactly one succeeds) and verifies the account for the
// tenant's verificationMinutes; a wrong one answers EWrongCode with the
// attempts remaining. It returns ECodeGone when no code is live (none,
// used, replaced, out of attempts, or expired: checked at the injected
// clock, whatever the TTL has not yet deleted), and ESecurityPINDisabled
// or EValidation.
func (s *Service) VerifyCode(ctx context.Context, tid, actorID, accountID, code string) (*Verified, error) {
	audit := func(result, reason string) latchkey.AuditEvent {
		return latchkey.Event(tid, actorID, accountID, latchkey.ActionCodeVerify, result, reason)
	}
	t, err := s.tenantWithPIN(ctx, tid)
	if err != nil {
		s.Store.Audit(ctx, audit(latchkey.ResultDenied, latchkey.ErrorCode(err)))
		return nil, err
	}
	if !latchkey.Digits(code, latchkey.CodeDigits) {
		return nil, latchkey.Errorf(latchkey.EValidation, "code: A verification code is %d digits.", latchkey.CodeDigits)
	}
	now := s.Now().UTC()
	c, err := s.Store.TakeCodeAttempt(ctx, tid, accountID, now)
	if err != nil {
		if latchkey.ErrorCode(err) == latchkey.ECodeGone {
			s.Store.Audit(ctx, audit(latchkey.ResultDenied, latchkey.ECodeGone))
		}
		return nil, err
	}
	if secure.EqualMAC(c.MAC, s.codeMAC(tid, accountID, code)) {
		v := latchkey.Verification{Until: now.Truncate(time.Second).Add(t.Settings.VerificationTTL()), By: actorID, Method: latchkey.VerifiedByCode}
		if err := s.Store.CodeVerified(ctx, c, v, audit(latchkey.ResultSuccess, "contact:"+c.ContactID)); err != nil {
			if latchkey.ErrorCode(err) == latchkey.ECodeGone {
				s.Store.Audit(ctx, audit(latchkey.ResultDenied, "code_used"))
			}
			return nil, err
		}
		return &Verified{Verified: true, VerifiedUntil: v.Until}, nil
	}
	s.Store.Audit(ctx, audit(latchkey.ResultFailure, "wrong_code"))
	return nil, wrongAnswer(latchkey.EWrongCode, "code", latchkey.AttemptsRemaining(latchkey.MaxCodeAttempts, c.Failures))
}
