package password

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/token"
)

// ChallengeNewPassword is the challenge answered when a temporary password is used.
const ChallengeNewPassword = "NEW_PASSWORD_REQUIRED"

// ChallengeTTL is how long a NEW_PASSWORD_REQUIRED session may be completed.
const ChallengeTTL = 15 * time.Minute

// DefaultResetFloor is the least time a forgot-password request takes, so the
// answer takes as long whether or not the user exists (sending e-mail is the
// slow part of the known-user path).
const DefaultResetFloor = 400 * time.Millisecond

// ResetFloorEnv names the environment variable that sets the floor of a
// Service whose ResetFloor is zero, in whole milliseconds. The stack sets it
// from the known-user path's worst case measured at the function's memory
// (docs/operations.md, "The forgot-password floor"), since that path's time
// depends on the CPU share the memory buys.
const ResetFloorEnv = "RESET_FLOOR_MS"

// ResetFloorFromEnv returns the floor getenv(ResetFloorEnv) names, and
// DefaultResetFloor when it is unset; a value that is not a positive whole
// number of milliseconds is an error.
func ResetFloorFromEnv(getenv func(string) string) (time.Duration, error) {
	v := getenv(ResetFloorEnv)
	if v == "" {
		return DefaultResetFloor, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms <= 0 {
		return DefaultResetFloor, fmt.Errorf("%s: %q is not a positive number of milliseconds", ResetFloorEnv, v)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// envResetFloor is the floor of the environment, read once per cold start.
// A malformed value keeps DefaultResetFloor (the stack only ever sets a
// number): a floor must never be dropped by a typo.
var envResetFloor, _ = ResetFloorFromEnv(os.Getenv)

// macPurposeSession separates challenge-session MACs from other MACs.
const macPurposeSession = "session"

// Limits bound unauthenticated work per source address (latchkey.SourceKey)
// in each tenant. A slot is taken with a conditional write before any
// password is hashed, so a source cannot make the service hash more than
// its limit allows, whichever usernames it tries.
type Limits struct {
	// SignInPerSource failed sign-ins per source in SignInWindow. A right
	// password gives its slot back, so busy offices behind one address are
	// not limited by their successes.
	SignInPerSource int
	SignInWindow    time.Duration
	// ResetPerSource forgot-password requests per source in ResetWindow;
	// beyond it requests still answer 202 but do nothing.
	ResetPerSource int
	ResetWindow    time.Duration
}

// DefaultLimits are the limits a Service uses when its Limits are zero.
var DefaultLimits = Limits{SignInPerSource: 100, SignInWindow: 15 * time.Minute, ResetPerSource: 20, ResetWindow: 15 * time.Minute}

// Rate-limit kinds.
const (
	rateSignInSource = "signin-src"
	rateResetSource  = "reset-src"
	rateResetUser    = "reset"
)

// Service is the password capability. Build it once per cold start.
type Service struct {
	Store   Store
	Notify  *notify.Notifier
	Tokens  *token.Issuer
	HMACKey []byte
	Now     latchkey.Clock
	// ResetFloor is the least time ForgotPassword takes; when zero, the
	// floor of ResetFloorEnv (DefaultResetFloor when unset); none when negative.
	ResetFloor time.Duration
	// Limits bound unauthenticated work per source; DefaultLimits when zero.
	Limits Limits
	// Sleep waits out the ResetFloor (time.Sleep when nil); tests inject it
	// with the clock, so the floor is asserted without waiting.
	Sleep func(time.Duration)
}

func (s *Service) limits() Limits {
	if s.Limits.SignInPerSource == 0 {
		return DefaultLimits
	}
	return s.Limits
}

// SignInResult is the outcome of a sign-in: a token, or a challenge.
type SignInResult struct {
	Token     string
	ExpiresAt time.Time
	User      *latchkey.User
	// Challenge is ChallengeNewPassword and Session its one-time session
	// token when a temporary password was used.
	Challenge string
	Session   string
}

var errInvalidCredentials = latchkey.Errorf(latchkey.EInvalidCredentials, "The username or password is incorrect.")

// errLocked is the one answer to every lock, whatever its reason (failures
// of a username that may not exist, or a lock by staff), so that it tells
// nothing; it carries no Retry-After for the same reason.
func errLocked() error {
	return latchkey.Errorf(latchkey.EAccountLocked, "The account is locked. Try again later or ask an administrator.")
}

var errInvalidSession = latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")

// maxSessionBytes bounds a challenge session token (43 characters when valid).
const maxSessionBytes = 256

// anonSubject names the subject of an unauthenticated request: the user's id
// when the username belongs to one, else a keyed hash of the username key,
// so the trail can link attempts on one name without storing what was typed
// (people type passwords into the username field).
func (s *Service) anonSubject(u *latchkey.User, ukey string) string {
	if u != nil {
		return u.ID
	}
	return latchkey.UsernameMACPrefix + secure.MAC(s.HMACKey, "audit-username", ukey)[:16]
}

// unknownTenant is the namespace of the counters of sign-ins to tenants that
// do not exist: one namespace, so that rotating through made-up tenant ids
// gains nothing against the per-source limit.
const unknownTenant = "_unknown"

// takeSource takes one slot of kind for the request's source address in
// tenant tid. When the source is over its limit it returns the ERateLimited
// error to answer (with Retry-After) and takes nothing.
func (s *Service) takeSource(ctx context.Context, tid, kind string, limit int, window time.Duration) (latchkey.Rate, error) {
	r, err := s.Store.TakeRate(ctx, tid, kind, latchkey.SourceKey(reqctx.SourceIP(ctx)), limit, window)
	if err != nil || r.Allowed {
		return r, err
	}
	secs := int(r.RetryAfter.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	e := latchkey.Errorf(latchkey.ERateLimited, "Too many attempts from your network. Try again in %d seconds.", secs)
	e.RetryAfterSeconds = secs
	return r, e
}

// SignIn checks a username and password. It returns a token, or a
// NEW_PASSWORD_REQUIRED challenge when the password is the user's valid
// temporary password. Before any hashing it takes a slot from the source's
// limit and from the username's attempt count (conditional writes), so
// parallel guesses never get more checks than the lockout threshold; a right
// password gives both back. Failures are counted per username key whether
// or not the user exists; at the threshold the username locks out, and then
// only its pending temporary password is accepted (strangers can delay a
// password sign-in, but cannot block recovery by a reset). A user locked by
// staff is refused even with the right password. Every lock answers alike.
//
// Every attempt costs exactly one argon2id run (the user's hash, or a dummy
// of the same parameters) and, whatever the reason it fails (wrong password,
// unknown user, locked out, unknown tenant), the same sequence of round
// trips. It returns EValidation, ERateLimited, EInvalidCredentials or
// EAccountLocked.
func (s *Service) SignIn(ctx context.Context, tid, username, pw string) (*SignInResult, error) {
	if strings.TrimSpace(username) == "" || pw == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "username and password are required.")
	}
	if err := latchkey.CheckLength("username", username, latchkey.MaxUsernameBytes); err != nil {
		return nil, err
	}
	if err := latchkey.CheckLength("password", pw, latchkey.MaxPasswordBytes); err != nil {
		return nil, err
	}
	return s.signIn(ctx, tid, username, s.passwordCheck(pw))
}

// SignInPIN checks a username and user PIN (the mobile sign-in), where the
// tenant's PINSignIn setting allows it, and returns a token as SignIn does.
// It is SignIn with another secret: the same source and attempt slots taken
// before the PIN is compared, the same lookups whether or not the user
// exists, one constant-time MAC comparison (against a dummy when there is
// no user or no PIN), the same lockout (a locked-out username is refused
// even with the right PIN; a PIN has no temporary form to get through it)
// and the same refusal of a user locked by staff after a right PIN. When the
// tenant has PIN sign-in off (or does not exist) it answers exactly as a
// wrong password, after a wrong password's work (one dummy argon2id run), so
// the answer does not tell which tenants allow PINs. A PIN sign-in does not
// end a pending forgot-password request: the PIN proves nothing about the
// password. It returns EValidation, ERateLimited, EInvalidCredentials or
// EAccountLocked.
func (s *Service) SignInPIN(ctx context.Context, tid, username, pin string) (*SignInResult, error) {
	if strings.TrimSpace(username) == "" || pin == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "username and pin are required.")
	}
	if err := latchkey.CheckLength("username", username, latchkey.MaxUsernameBytes); err != nil {
		return nil, err
	}
	if err := latchkey.CheckLength("pin", pin, latchkey.MaxPINInputBytes); err != nil {
		return nil, err
	}
	return s.signIn(ctx, tid, username, s.pinCheck(pin))
}

// proof is what the secret of a sign-in proved.
type proof int

const (
	// proofNone: the secret is wrong (or there is nobody to check it for).
	proofNone proof = iota
	// proofSecret: the user's own password or PIN, refused while the
	// username is locked out.
	proofSecret
	// proofTemp: the user's pending temporary password, which gets through
	// a lockout (strangers cannot read the reset e-mail) to the challenge.
	proofTemp
)

// secretCheck is how one sign-in checks its secret. check is given the
// tenant (a stand-in with the default settings when the tenant does not
// exist), the user the username names (nil when none) and the user's
// pending temporary password (nil when none), and must do the same work
// whoever the user is; it returns what the secret proved and, for a wrong
// one, the audit reason ("" for invalid_credentials).
type secretCheck struct {
	check func(t *latchkey.Tenant, u *latchkey.User, tp *latchkey.TempPassword) (proof, string, error)
	// method is the audit reason of a success with proofSecret ("" for a
	// password).
	method string
	// endsReset: a success with proofSecret deletes a pending temporary
	// password (a sign-in with the current password ends a forgot-password
	// request).
	endsReset bool
}

// passwordCheck checks pw with exactly one argon2id run: the user's hash,
// or the dummy when there is no user or it has no password; then the
// pending temporary password by its MAC.
func (s *Service) passwordCheck(pw string) secretCheck {
	return secretCheck{endsReset: true, check: func(_ *latchkey.Tenant, u *latchkey.User, tp *latchkey.TempPassword) (proof, string, error) {
		if u != nil && u.PasswordHash != "" {
			ok, _, err := secure.VerifyPassword(u.PasswordHash, pw)
			if err != nil {
				return proofNone, "", err
			}
			if ok {
				return proofSecret, "", nil
			}
		} else {
			secure.DummyVerify(pw)
		}
		if tp != nil && tp.Matches(s.HMACKey, pw) {
			return proofTemp, "", nil
		}
		return proofNone, "", nil
	}}
}

// pinCheck checks pin with one MAC and one constant-time comparison
// (latchkey.UserPINMatches). Where the tenant has PIN sign-in off (an
// unknown tenant has it off), it does a wrong password's work instead (one
// dummy argon2id run) and fails, so that the answer and its cost are a
// wrong password's.
func (s *Service) pinCheck(pin string) secretCheck {
	return secretCheck{method: "pin", check: func(t *latchkey.Tenant, u *latchkey.User, _ *latchkey.TempPassword) (proof, string, error) {
		if !t.Settings.PINSignIn {
			secure.DummyVerify(pin)
			return proofNone, "pin_sign_in_off", nil
		}
		if latchkey.UserPINMatches(s.HMACKey, t.ID, u, pin) {
			return proofSecret, "", nil
		}
		return proofNone, "", nil
	}}
}

// signIn is every sign-in, whatever its secret: the tenant (an unknown one
// answers as an unknown user, after the same work), the source slot and the
// username's attempt slot taken before the secret is checked, the user
// looked up with the same round trips whether or not it exists, the secret
// checked by sc, then the lockout, the staff lock and the one transaction
// of a success (FinishSignIn), or the audit of a failure.
func (s *Service) signIn(ctx context.Context, tid, username string, sc secretCheck) (*SignInResult, error) {
	t, err := s.Store.GetTenant(ctx, tid)
	known := err == nil
	if latchkey.ErrorCode(err) == latchkey.ENotFound {
		// An unknown tenant answers as an unknown user, after the same work.
		t, err = &latchkey.Tenant{ID: unknownTenant, Settings: latchkey.DefaultSettings()}, nil
	}
	if err != nil {
		return nil, err
	}
	l := s.limits()
	ukey := latchkey.UsernameKey(username)
	src, err := s.takeSource(ctx, t.ID, rateSignInSource, l.SignInPerSource, l.SignInWindow)
	if latchkey.ErrorCode(err) == latchkey.ERateLimited {
		s.audit(ctx, known, latchkey.Event(t.ID, "anonymous", s.anonSubject(nil, ukey), latchkey.ActionSignIn, latchkey.ResultDenied, "rate_limited_source"))
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	lp := t.Settings.LockPolicy()
	slot, err := s.Store.TakeLoginAttempt(ctx, t.ID, ukey, lp)
	if err != nil {
		return nil, err
	}
	var u *latchkey.User
	var tp *latchkey.TempPassword
	if known {
		u, tp, err = s.Store.GetUserByUsernameWithTemp(ctx, t.ID, username)
	} else {
		_, _, err = s.Store.GetUserWithTemp(ctx, t.ID, "-") // the same round trip as a lookup
	}
	if err != nil && latchkey.ErrorCode(err) != latchkey.ENotFound {
		return nil, err
	}
	got, failReason, err := sc.check(t, u, tp)
	if err != nil {
		return nil, err
	}
	if got == proofSecret && slot.Locked {
		// Locked out by failures: only the pending temporary password (from
		// a reset e-mail, which strangers cannot read) gets through.
		got = proofNone
	}
	if got == proofNone {
		// Both slots stay taken: this is the failure they count.
		reason, answer := "invalid_credentials", error(errInvalidCredentials)
		if failReason != "" {
			reason = failReason
		}
		result := latchkey.ResultFailure
		switch {
		case slot.Locked:
			reason, answer, result = "locked", errLocked(), latchkey.ResultDenied
		case slot.Locks(lp):
			reason, answer, result = latchkey.ReasonLockout, errLocked(), latchkey.ResultDenied
		}
		s.audit(ctx, known, latchkey.Event(t.ID, "anonymous", s.anonSubject(u, ukey), latchkey.ActionSignIn, result, reason))
		return nil, answer
	}
	if u.AdminLocked() {
		// A right secret: its slots come back, but staff locked the user.
		_ = s.Store.ReleaseRate(ctx, t.ID, src)
		if !slot.Locked {
			if err := s.Store.GiveBackLoginAttempt(ctx, t.ID, ukey, slot); err != nil {
				return nil, err
			}
		}
		s.Store.Audit(ctx, latchkey.Event(t.ID, "anonymous", u.ID, latchkey.ActionSignIn, latchkey.ResultDenied, "admin_locked"))
		return nil, errLocked()
	}
	done := latchkey.SignInDone{
		TenantID: t.ID, UserID: u.ID, UsernameKey: ukey, Source: src, At: s.Now(),
		EndPendingReset: got == proofSecret && sc.endsReset && tp != nil,
		Audit:           latchkey.Event(t.ID, u.ID, u.ID, latchkey.ActionSignIn, latchkey.ResultSuccess, sc.method),
	}
	if !slot.Locked {
		done.Attempt = slot
	}
	if got == proofTemp {
		sess, err := secure.RandomToken(32)
		if err != nil {
			return nil, err
		}
		c := latchkey.Challenge{
			MAC: secure.MAC(s.HMACKey, macPurposeSession, sess), UserID: u.ID, ExpiresAt: s.Now().Add(ChallengeTTL),
			SessionVersion: u.SessionVersion, UsernameKey: ukey,
		}
		done.Challenge, done.TempCreatedAt, done.Audit.Reason = &c, tp.CreatedAt, "new_password_required"
		if err := s.Store.FinishSignIn(ctx, done); err != nil {
			return nil, err
		}
		return &SignInResult{Challenge: ChallengeNewPassword, Session: sess, ExpiresAt: c.ExpiresAt}, nil
	}
	tok, exp, err := s.Tokens.Issue(t.ID, u.ID, u.Roles, u.SessionVersion)
	if err != nil {
		return nil, err
	}
	if err := s.Store.FinishSignIn(ctx, done); err != nil {
		return nil, err
	}
	u.MarkAccessedSelfServe(done.At) // as FinishSignIn stored it
	return &SignInResult{Token: tok, ExpiresAt: exp, User: u}, nil
}

// audit records e, for a tenant that exists; for an unknown tenant it reads
// instead (nothing to record, the same round trip).
func (s *Service) audit(ctx context.Context, tenantExists bool, e latchkey.AuditEvent) {
	if tenantExists {
		s.Store.Audit(ctx, e)
		return
	}
	_, _ = s.Store.GetTenant(ctx, unknownTenant)
}

// CompleteNewPassword answers a NEW_PASSWORD_REQUIRED challenge: it checks the
// new password against the policy, sets it, consumes the challenge (exactly
// once, even under concurrent requests, and only while the user is not
// locked and nothing ended the challenge: see the Credentials store),
// ends older sessions and the username's lockout, and returns a token. It
// returns EValidation, EPasswordPolicy (with the failed rules) or
// EInvalidSession.
func (s *Service) CompleteNewPassword(ctx context.Context, tid, session, newPassword string) (*SignInResult, error) {
	if session == "" || newPassword == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "session and newPassword are required.")
	}
	if err := latchkey.CheckLength("newPassword", newPassword, latchkey.MaxPasswordBytes); err != nil {
		return nil, err
	}
	if len(session) > maxSessionBytes {
		return nil, errInvalidSession
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	c, err := s.Store.GetChallenge(ctx, tid, secure.MAC(s.HMACKey, macPurposeSession, session))
	if err != nil {
		return nil, err
	}
	u, err := s.Store.GetUser(ctx, tid, c.UserID)
	switch {
	case latchkey.ErrorCode(err) == latchkey.ENotFound:
		return nil, errInvalidSession
	case err != nil:
		// A store that cannot answer is not a reason to sign in again.
		return nil, err
	case u.AdminLocked() || u.SessionVersion != c.SessionVersion:
		return nil, errInvalidSession
	}
	if rules := Check(t.Settings.Policy, newPassword, u.Username, u.Email); len(rules) > 0 {
		return nil, PolicyError(rules)
	}
	hash, err := secure.HashPassword(newPassword)
	if err != nil {
		return nil, err
	}
	hadPassword := !u.PasswordChangedAt.IsZero()
	version, err := s.Store.CompleteChallenge(ctx, tid, c, hash, latchkey.Event(tid, u.ID, u.ID, latchkey.ActionNewPassword, latchkey.ResultSuccess, ""))
	if err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, u.ID, u.ID, latchkey.ActionNewPassword, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	u.MarkAccessedSelfServe(s.Now()) // as CompleteChallenge stored it
	if hadPassword {
		s.notifyChanged(ctx, t, u)
	}
	tok, exp, err := s.Tokens.Issue(tid, u.ID, u.Roles, version)
	if err != nil {
		return nil, err
	}
	return &SignInResult{Token: tok, ExpiresAt: exp, User: u}, nil
}

func (s *Service) notifyChanged(ctx context.Context, t *latchkey.Tenant, u *latchkey.User) {
	if u.Email == "" {
		return
	}
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordChanged, map[string]string{"username": u.Username}); err != nil {
		reqctx.Logger(ctx).Error("password changed notice failed", "error", err)
	}
}

// ForgotPassword e-mails a temporary password when the username belongs to a
// user with an e-mail address and the tenant allows reset by e-mail. The old
// password keeps working until the temporary one is used. It answers the
// same way, and takes at least ResetFloor, whether or not the user exists
// and whether or not the e-mail could be sent (a failed send is retried by
// the SDK, then logged and audited, never shown to the caller). Requests
// beyond the source's limit or the tenant's limit per username and hour are
// dropped silently, before any hashing. Its only errors are EValidation,
// ENotFound (tenant) and internal ones that do not depend on the user.
func (s *Service) ForgotPassword(ctx context.Context, tid, username string) error {
	start := s.Now()
	defer s.waitFloor(start)
	if strings.TrimSpace(username) == "" {
		return latchkey.Errorf(latchkey.EValidation, "username is required.")
	}
	if err := latchkey.CheckLength("username", username, latchkey.MaxUsernameBytes); err != nil {
		return err
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return err
	}
	ukey := latchkey.UsernameKey(username)
	l := s.limits()
	if _, err := s.takeSource(ctx, tid, rateResetSource, l.ResetPerSource, l.ResetWindow); latchkey.ErrorCode(err) == latchkey.ERateLimited {
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", s.anonSubject(nil, ukey), latchkey.ActionPasswordForgot, latchkey.ResultDenied, "rate_limited_source"))
		return nil
	} else if err != nil {
		return err
	}
	r, err := s.Store.TakeRate(ctx, tid, rateResetUser, ukey, t.Settings.ResetRequestsPerHour, time.Hour)
	if err != nil {
		return err
	}
	if !r.Allowed {
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", s.anonSubject(nil, ukey), latchkey.ActionPasswordForgot, latchkey.ResultDenied, "rate_limited"))
		return nil
	}
	u, err := s.Store.GetUserByUsername(ctx, tid, username)
	if err != nil && latchkey.ErrorCode(err) != latchkey.ENotFound {
		return err
	}
	if u == nil || u.Email == "" || !t.Settings.ResetByEmail {
		// Same hashing work as the real path.
		if _, _, err := latchkey.NewTempPassword(t.Settings, s.Now(), s.HMACKey); err != nil {
			return err
		}
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", s.anonSubject(nil, ukey), latchkey.ActionPasswordForgot, latchkey.ResultFailure, "no_recipient"))
		return nil
	}
	pw, tp, err := latchkey.NewTempPassword(t.Settings, s.Now(), s.HMACKey)
	if err != nil {
		return err
	}
	// Send first, store second: when the e-mail fails, a temporary password
	// sent earlier (and still in the user's inbox) keeps working.
	log := reqctx.Logger(ctx)
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordEmailChange, latchkey.TempPasswordFields(t, u, pw, tp)); err != nil {
		log.Error("forgot-password e-mail failed", "tenant", tid, "user", u.ID, "error", err)
		s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", u.ID, latchkey.ActionPasswordForgot, latchkey.ResultFailure, "send_failed"))
		return nil
	}
	if err := s.Store.PutTempPassword(ctx, tid, u.ID, tp); err != nil {
		log.Error("forgot-password temporary password not stored", "tenant", tid, "user", u.ID, "error", err)
		return nil
	}
	s.Store.Audit(ctx, latchkey.Event(tid, "anonymous", u.ID, latchkey.ActionPasswordForgot, latchkey.ResultSuccess, ""))
	return nil
}

func (s *Service) waitFloor(start time.Time) {
	floor := s.ResetFloor
	if floor == 0 {
		floor = envResetFloor
	}
	if d := floor - s.Now().Sub(start); d > 0 {
		sleep := s.Sleep
		if sleep == nil {
			sleep = time.Sleep
		}
		sleep(d)
	}
}

// target loads the user staff member actor acts on. It returns ENotFound or
// EForbidden (the target has more privilege than the actor).
func (s *Service) target(ctx context.Context, tid string, actor *latchkey.User, userID string) (*latchkey.User, error) {
	u, err := s.Store.GetUser(ctx, tid, userID)
	if err != nil {
		return nil, err
	}
	if !latchkey.CanActOn(actor, u) {
		return nil, latchkey.Errorf(latchkey.EForbidden, "Staff may act only on users of lower or equal privilege.")
	}
	return u, nil
}

// Reset is an agent's or admin's reset: the user's password is replaced at
// once by a temporary one, which is e-mailed; existing sessions and
// challenges end. When the e-mail cannot be sent the reset is undone and
// nothing changes. An admin lock stays; a lockout by failures does not stop
// the temporary password. It returns the masked address it was sent to, or
// ENotFound, EForbidden (an agent resetting an admin), ENoEmail, EConflict or
// EServiceUnavailable (the e-mail failed; nothing changed).
func (s *Service) Reset(ctx context.Context, tid string, actor *latchkey.User, userID string) (string, error) {
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return "", err
	}
	// The user with their pending temporary password (one read, as
	// target's), which an undone reset puts back.
	u, prev, err := s.Store.GetUserWithTemp(ctx, tid, userID)
	if err != nil {
		return "", err
	}
	if !latchkey.CanActOn(actor, u) {
		return "", latchkey.Errorf(latchkey.EForbidden, "Staff may act only on users of lower or equal privilege.")
	}
	if u.Email == "" {
		return "", latchkey.Errorf(latchkey.ENoEmail, "The user has no e-mail address to send a temporary password to.")
	}
	pw, tp, err := latchkey.NewTempPassword(t.Settings, s.Now(), s.HMACKey)
	if err != nil {
		return "", err
	}
	if err := s.Store.ResetPassword(ctx, tid, u.ID, u.SessionVersion, tp); err != nil {
		return "", err
	}
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordEmailChange, latchkey.TempPasswordFields(t, u, pw, tp)); err != nil {
		log := reqctx.Logger(ctx)
		log.Error("reset e-mail failed; undoing the reset", "tenant", tid, "user", u.ID, "error", err)
		if uerr := s.Store.UndoReset(context.WithoutCancel(ctx), tid, u.ID, u.SessionVersion, u.PasswordHash, tp, prev); uerr != nil {
			log.Error("undo reset failed", "tenant", tid, "user", u.ID, "error", uerr)
			s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionPasswordReset, latchkey.ResultFailure, "email_failed"))
			return "", latchkey.Errorf(latchkey.EServiceUnavailable, "The e-mail with the temporary password could not be sent. Try again later.")
		}
		s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionPasswordReset, latchkey.ResultFailure, "email_failed_undone"))
		return "", latchkey.Errorf(latchkey.EServiceUnavailable, "The e-mail with the temporary password could not be sent, so the password was not reset. Try again later.")
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionPasswordReset, latchkey.ResultSuccess, ""))
	s.notifyChanged(ctx, t, u)
	return latchkey.MaskEmail(u.Email), nil
}

// ChangeOwn changes the caller's own password after checking the current
// one, ends the caller's other sessions and sends the PASSWORD_CHANGED
// notice. The current password is checked only with an attempt slot taken
// first (as in SignIn), so a stolen token cannot guess past the lockout. It
// returns EValidation, EInvalidCredentials, EAccountLocked, EPasswordPolicy
// or EConflict.
func (s *Service) ChangeOwn(ctx context.Context, u *latchkey.User, current, newPassword string) error {
	if current == "" || newPassword == "" {
		return latchkey.Errorf(latchkey.EValidation, "currentPassword and newPassword are required.")
	}
	if err := latchkey.CheckLength("currentPassword", current, latchkey.MaxPasswordBytes); err != nil {
		return err
	}
	if err := latchkey.CheckLength("newPassword", newPassword, latchkey.MaxPasswordBytes); err != nil {
		return err
	}
	if u.AdminLocked() {
		return errLocked()
	}
	t, err := s.Store.GetTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	refused, err := latchkey.CheckOwnSecret(ctx, s.Store, t, u, func() (bool, error) {
		if u.PasswordHash == "" {
			secure.DummyVerify(current)
			return false, nil
		}
		ok, _, err := secure.VerifyPassword(u.PasswordHash, current)
		return ok, err
	})
	if err != nil {
		return err
	}
	switch refused {
	case "":
	case latchkey.RefusedWrong:
		s.Store.Audit(ctx, latchkey.Event(t.ID, u.ID, u.ID, latchkey.ActionPasswordChange, latchkey.ResultFailure, refused))
		return errInvalidCredentials
	default:
		s.Store.Audit(ctx, latchkey.Event(t.ID, u.ID, u.ID, latchkey.ActionPasswordChange, latchkey.ResultDenied, refused))
		return errLocked()
	}
	if rules := Check(t.Settings.Policy, newPassword, u.Username, u.Email); len(rules) > 0 {
		return PolicyError(rules)
	}
	hash, err := secure.HashPassword(newPassword)
	if err != nil {
		return err
	}
	if err := s.Store.ChangePassword(ctx, t.ID, u.ID, u.SessionVersion, hash); err != nil {
		return err
	}
	s.Store.Audit(ctx, latchkey.Event(t.ID, u.ID, u.ID, latchkey.ActionPasswordChange, latchkey.ResultSuccess, ""))
	s.notifyChanged(ctx, t, u)
	return nil
}

// Lock locks a user until Unlock: sign-in is refused even with the right
// password, and every session and pending challenge of the user ends at
// once. It returns ENotFound or EForbidden (an agent locking an admin).
func (s *Service) Lock(ctx context.Context, tid string, actor *latchkey.User, userID string) error {
	u, err := s.target(ctx, tid, actor, userID)
	if err != nil {
		return err
	}
	newly, err := s.Store.LockUser(ctx, tid, u.ID)
	if err != nil {
		return err
	}
	reason := ""
	if !newly {
		reason = latchkey.ReasonAlreadyLocked
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionUserLock, latchkey.ResultSuccess, reason))
	return nil
}

// Unlock ends an admin lock and any lockout by failures of the user's
// username. It returns ENotFound or EForbidden (an agent unlocking an admin).
func (s *Service) Unlock(ctx context.Context, tid string, actor *latchkey.User, userID string) error {
	u, err := s.target(ctx, tid, actor, userID)
	if err != nil {
		return err
	}
	if err := s.Store.UnlockUser(ctx, tid, u.ID, latchkey.UsernameKey(u.Username)); err != nil {
		return err
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor.ID, u.ID, latchkey.ActionUserUnlock, latchkey.ResultSuccess, ""))
	return nil
}
