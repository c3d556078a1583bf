package password

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/dynamo"
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

// macPurposeSession separates challenge-session MACs from other MACs.
const macPurposeSession = "session"

// Service is the password capability. Build it once per cold start.
type Service struct {
	Store   *dynamo.Store
	Notify  *notify.Notifier
	Tokens  *token.Issuer
	HMACKey []byte
	Now     latchkey.Clock
	// ResetFloor is the least time ForgotPassword takes; DefaultResetFloor when zero,
	// none when negative.
	ResetFloor time.Duration
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

func lockPolicy(t *latchkey.Tenant) dynamo.LockPolicy {
	return dynamo.LockPolicy{Threshold: t.Settings.LockoutThreshold, Duration: time.Duration(t.Settings.LockoutMinutes) * time.Minute}
}

var errInvalidCredentials = latchkey.Errorf(latchkey.EInvalidCredentials, "The username or password is incorrect.")

func errLocked(until time.Time, now time.Time) error {
	e := latchkey.Errorf(latchkey.EAccountLocked, "The account is locked. Try again later or ask an administrator.")
	if secs := int(until.Sub(now).Seconds()); secs > 0 && secs < 24*3600 {
		e.RetryAfterSeconds = secs
	}
	return e
}

// anonSubject names the subject of an unauthenticated request: the user's id
// when the username belongs to one, else a keyed hash of the username, so the
// trail can link attempts on one name without storing what was typed (people
// type passwords into the username field).
func (s *Service) anonSubject(u *latchkey.User, norm string) string {
	if u != nil {
		return u.ID
	}
	return "username-mac:" + secure.MAC(s.HMACKey, "audit-username", norm)[:16]
}

// SignIn checks a username and password. It returns a token, or a
// NEW_PASSWORD_REQUIRED challenge when the password is the user's valid
// temporary password. Failures are counted per normalized username whether
// or not the user exists; at the threshold the username locks. It returns
// EValidation, EInvalidCredentials, EAccountLocked or ENotFound (tenant).
func (s *Service) SignIn(ctx context.Context, tid, username, pw string) (*SignInResult, error) {
	if strings.TrimSpace(username) == "" || pw == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "username and password are required.")
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	norm := latchkey.NormalizeUsername(username)
	lp := lockPolicy(t)
	now := s.Now()
	st, err := s.Store.GetLoginState(ctx, tid, norm)
	if err != nil {
		return nil, err
	}
	if until := st.LockedUntil(lp, now); !until.IsZero() {
		s.Store.Audit(ctx, tid, "anonymous", s.anonSubject(nil, norm), "session.sign_in", latchkey.ResultDenied, "locked")
		return nil, errLocked(until, now)
	}

	u, err := s.Store.GetUserByUsername(ctx, tid, username)
	if err != nil && latchkey.ErrorCode(err) != latchkey.ENotFound {
		return nil, err
	}
	// Every failure costs two argon2id verifications, whether the user
	// exists, has a password or has a temporary one, so timing tells nothing.
	var viaPassword, viaTemp bool
	if u != nil && u.PasswordHash != "" {
		viaPassword, _, err = secure.VerifyPassword(u.PasswordHash, pw)
		if err != nil {
			return nil, err
		}
	} else {
		secure.DummyVerify(pw)
	}
	if !viaPassword {
		var tp *dynamo.TempPassword
		if u != nil {
			tp, err = s.Store.GetTempPassword(ctx, tid, u.ID)
			if err != nil && latchkey.ErrorCode(err) != latchkey.ENotFound {
				return nil, err
			}
		}
		if tp != nil {
			viaTemp, _, err = secure.VerifyPassword(tp.Hash, pw)
			if err != nil {
				return nil, err
			}
		} else {
			secure.DummyVerify(pw)
		}
	}
	if !viaPassword && !viaTemp {
		locked, justLocked, err := s.Store.RecordLoginFailure(ctx, tid, norm, lp)
		if err != nil {
			return nil, err
		}
		if locked {
			reason := "locked"
			if justLocked {
				reason = "lockout"
			}
			s.Store.Audit(ctx, tid, "anonymous", s.anonSubject(u, norm), "session.sign_in", latchkey.ResultDenied, reason)
			return nil, errLocked(now.Add(lp.Duration), now)
		}
		s.Store.Audit(ctx, tid, "anonymous", s.anonSubject(u, norm), "session.sign_in", latchkey.ResultFailure, "invalid_credentials")
		return nil, errInvalidCredentials
	}
	if err := s.Store.ClearLoginFailures(ctx, tid, norm, lp); err != nil {
		if latchkey.ErrorCode(err) == latchkey.EAccountLocked {
			return nil, errLocked(now.Add(lp.Duration), now)
		}
		return nil, err
	}
	if viaTemp {
		sess, err := secure.RandomToken(32)
		if err != nil {
			return nil, err
		}
		c := dynamo.Challenge{MAC: secure.MAC(s.HMACKey, macPurposeSession, sess), UserID: u.ID, ExpiresAt: now.Add(ChallengeTTL)}
		if err := s.Store.PutChallenge(ctx, tid, c); err != nil {
			return nil, err
		}
		s.Store.Audit(ctx, tid, u.ID, u.ID, "session.sign_in", latchkey.ResultSuccess, "new_password_required")
		return &SignInResult{Challenge: ChallengeNewPassword, Session: sess, ExpiresAt: c.ExpiresAt}, nil
	}
	return s.issue(ctx, tid, u, u.SessionVersion, "session.sign_in")
}

func (s *Service) issue(ctx context.Context, tid string, u *latchkey.User, version int, action string) (*SignInResult, error) {
	tok, exp, err := s.Tokens.Issue(tid, u.ID, u.Roles, version)
	if err != nil {
		return nil, err
	}
	if err := s.Store.RecordSignIn(ctx, tid, u.ID, s.Now()); err != nil {
		return nil, err
	}
	s.Store.Audit(ctx, tid, u.ID, u.ID, action, latchkey.ResultSuccess, "")
	return &SignInResult{Token: tok, ExpiresAt: exp, User: u}, nil
}

// CompleteNewPassword answers a NEW_PASSWORD_REQUIRED challenge: it checks the
// new password against the policy, sets it, consumes the challenge (exactly
// once, even under concurrent requests), ends older sessions and returns a
// token. It returns EValidation, EPasswordPolicy (with the failed rules) or
// EInvalidSession.
func (s *Service) CompleteNewPassword(ctx context.Context, tid, session, newPassword string) (*SignInResult, error) {
	if session == "" || newPassword == "" {
		return nil, latchkey.Errorf(latchkey.EValidation, "session and newPassword are required.")
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
	if err != nil {
		return nil, latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
	}
	if rules := Check(t.Settings.Policy, newPassword, u.Username, u.Email); len(rules) > 0 {
		return nil, PolicyError(rules)
	}
	hash, err := secure.HashPassword(newPassword)
	if err != nil {
		return nil, err
	}
	hadPassword := !u.PasswordChangedAt.IsZero()
	version, err := s.Store.CompleteChallenge(ctx, tid, c, hash)
	if err != nil {
		s.Store.Audit(ctx, tid, u.ID, u.ID, "session.new_password", latchkey.ResultFailure, latchkey.ErrorCode(err))
		return nil, err
	}
	if hadPassword {
		s.notifyChanged(ctx, t, u)
	}
	return s.issue(ctx, tid, u, version, "session.new_password")
}

func (s *Service) notifyChanged(ctx context.Context, t *latchkey.Tenant, u *latchkey.User) {
	if u.Email == "" {
		return
	}
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordChanged, map[string]string{"username": u.Username}); err != nil {
		reqctx.Logger(ctx).Error("password changed notice failed", "error", err)
	}
}

// newTempPassword generates a temporary password and its stored form.
func (s *Service) newTempPassword(t *latchkey.Tenant) (string, dynamo.TempPassword, error) {
	pw, err := secure.TemporaryPassword()
	if err != nil {
		return "", dynamo.TempPassword{}, err
	}
	hash, err := secure.HashPassword(pw)
	if err != nil {
		return "", dynamo.TempPassword{}, err
	}
	now := s.Now()
	return pw, dynamo.TempPassword{Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Duration(t.Settings.TempPasswordHours) * time.Hour)}, nil
}

func (s *Service) tempPasswordFields(t *latchkey.Tenant, u *latchkey.User, pw string, tp dynamo.TempPassword) map[string]string {
	f := map[string]string{"temporaryPassword": pw, "expiresAt": tp.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")}
	if t.Settings.UsernameInResetEmail {
		f["username"] = u.Username
	}
	return f
}

// ForgotPassword e-mails a temporary password when the username belongs to a
// user with an e-mail address and the tenant allows reset by e-mail. The old
// password keeps working until the temporary one is used. It answers the
// same way, and takes at least ResetFloor, whether or not the user exists;
// requests beyond the tenant's limit per username and hour are dropped
// silently. Its only errors are EValidation, ENotFound (tenant) and internal ones.
func (s *Service) ForgotPassword(ctx context.Context, tid, username string) error {
	start := time.Now()
	defer s.waitFloor(start)
	if strings.TrimSpace(username) == "" {
		return latchkey.Errorf(latchkey.EValidation, "username is required.")
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return err
	}
	norm := latchkey.NormalizeUsername(username)
	allowed, _, err := s.Store.TakeRate(ctx, tid, "reset", norm, t.Settings.ResetRequestsPerHour, time.Hour)
	if err != nil {
		return err
	}
	if !allowed {
		s.Store.Audit(ctx, tid, "anonymous", s.anonSubject(nil, norm), "password.forgot", latchkey.ResultDenied, "rate_limited")
		return nil
	}
	u, err := s.Store.GetUserByUsername(ctx, tid, username)
	if err != nil && latchkey.ErrorCode(err) != latchkey.ENotFound {
		return err
	}
	if u == nil || u.Email == "" || !t.Settings.ResetByEmail {
		// Same hashing work as the real path.
		if _, _, err := s.newTempPassword(t); err != nil {
			return err
		}
		s.Store.Audit(ctx, tid, "anonymous", s.anonSubject(nil, norm), "password.forgot", latchkey.ResultFailure, "no_recipient")
		return nil
	}
	pw, tp, err := s.newTempPassword(t)
	if err != nil {
		return err
	}
	if err := s.Store.PutTempPassword(ctx, tid, u.ID, tp); err != nil {
		return err
	}
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordEmailChange, s.tempPasswordFields(t, u, pw, tp)); err != nil {
		return err
	}
	s.Store.Audit(ctx, tid, "anonymous", u.ID, "password.forgot", latchkey.ResultSuccess, "")
	return nil
}

func (s *Service) waitFloor(start time.Time) {
	floor := s.ResetFloor
	if floor == 0 {
		floor = DefaultResetFloor
	}
	if d := floor - time.Since(start); d > 0 {
		time.Sleep(d)
	}
}

// Reset is an agent's or admin's reset: the user's password is replaced at
// once by a temporary one, which is e-mailed; existing sessions end. It
// returns the masked address it was sent to, or ENotFound or ENoEmail.
func (s *Service) Reset(ctx context.Context, tid, actorID, userID string) (string, error) {
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return "", err
	}
	u, err := s.Store.GetUser(ctx, tid, userID)
	if err != nil {
		return "", err
	}
	if u.Email == "" {
		return "", latchkey.Errorf(latchkey.ENoEmail, "The user has no e-mail address to send a temporary password to.")
	}
	pw, tp, err := s.newTempPassword(t)
	if err != nil {
		return "", err
	}
	if err := s.Store.ResetPassword(ctx, tid, u.ID, tp); err != nil {
		return "", err
	}
	if err := s.Store.Unlock(ctx, tid, latchkey.NormalizeUsername(u.Username)); err != nil {
		return "", err
	}
	s.Store.Audit(ctx, tid, actorID, u.ID, "password.reset", latchkey.ResultSuccess, "")
	if err := s.Notify.Email(ctx, t, u.Email, templates.PasswordEmailChange, s.tempPasswordFields(t, u, pw, tp)); err != nil {
		return "", err
	}
	s.notifyChanged(ctx, t, u)
	return latchkey.MaskEmail(u.Email), nil
}

// ChangeOwn changes the caller's own password after checking the current
// one (a wrong one counts towards lockout), ends the caller's other sessions
// and sends the PASSWORD_CHANGED notice. It returns EValidation,
// EInvalidCredentials, EAccountLocked, EPasswordPolicy or EConflict.
func (s *Service) ChangeOwn(ctx context.Context, u *latchkey.User, current, newPassword string) error {
	if current == "" || newPassword == "" {
		return latchkey.Errorf(latchkey.EValidation, "currentPassword and newPassword are required.")
	}
	t, err := s.Store.GetTenant(ctx, u.TenantID)
	if err != nil {
		return err
	}
	norm := latchkey.NormalizeUsername(u.Username)
	lp := lockPolicy(t)
	now := s.Now()
	st, err := s.Store.GetLoginState(ctx, t.ID, norm)
	if err != nil {
		return err
	}
	if until := st.LockedUntil(lp, now); !until.IsZero() {
		return errLocked(until, now)
	}
	ok := false
	if u.PasswordHash != "" {
		if ok, _, err = secure.VerifyPassword(u.PasswordHash, current); err != nil {
			return err
		}
	} else {
		secure.DummyVerify(current)
	}
	if !ok {
		locked, _, err := s.Store.RecordLoginFailure(ctx, t.ID, norm, lp)
		if err != nil {
			return err
		}
		s.Store.Audit(ctx, t.ID, u.ID, u.ID, "password.change", latchkey.ResultFailure, "invalid_credentials")
		if locked {
			return errLocked(now.Add(lp.Duration), now)
		}
		return errInvalidCredentials
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
	s.Store.Audit(ctx, t.ID, u.ID, u.ID, "password.change", latchkey.ResultSuccess, "")
	s.notifyChanged(ctx, t, u)
	return nil
}

// Lock locks a user's sign-in until Unlock. It returns ENotFound.
func (s *Service) Lock(ctx context.Context, tid, actorID, userID string) error {
	u, err := s.Store.GetUser(ctx, tid, userID)
	if err != nil {
		return err
	}
	if err := s.Store.SetAdminLock(ctx, tid, latchkey.NormalizeUsername(u.Username)); err != nil {
		return err
	}
	s.Store.Audit(ctx, tid, actorID, u.ID, "user.lock", latchkey.ResultSuccess, "")
	return nil
}

// Unlock ends an admin lock or a lockout and clears the failure count. It returns ENotFound.
func (s *Service) Unlock(ctx context.Context, tid, actorID, userID string) error {
	u, err := s.Store.GetUser(ctx, tid, userID)
	if err != nil {
		return err
	}
	if err := s.Store.Unlock(ctx, tid, latchkey.NormalizeUsername(u.Username)); err != nil {
		return err
	}
	s.Store.Audit(ctx, tid, actorID, u.ID, "user.unlock", latchkey.ResultSuccess, "")
	return nil
}
