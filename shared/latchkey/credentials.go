package latchkey

import (
	"time"

	"github.com/latchkey/latchkey/shared/secure"
)

// TempPassword is a user's temporary password: its keyed MAC and expiry.
// It is usable only to reach the NEW_PASSWORD_REQUIRED challenge. A
// temporary password is a random secret of about 93 bits, not a password a
// person chose, so it is stored like the other generated secrets (PIN codes,
// challenge sessions): as an HMAC under a key kept outside the table, which
// no offline guessing can reverse and which costs microseconds to check, so
// that every sign-in costs exactly one argon2id run whatever the user has.
type TempPassword struct {
	MAC       string
	ExpiresAt time.Time
	CreatedAt time.Time
	// ChallengeMAC names the one NEW_PASSWORD_REQUIRED challenge this
	// temporary password may complete (the latest sign-in with it).
	ChallengeMAC string
}

// NewTempPassword generates a temporary password valid for the tenant's
// TempPasswordHours from now, and returns it with its stored form (keyed
// with macKey).
func NewTempPassword(st Settings, now time.Time, macKey []byte) (string, TempPassword, error) {
	pw, err := secure.TemporaryPassword()
	if err != nil {
		return "", TempPassword{}, err
	}
	return pw, TempPassword{MAC: TempPasswordMAC(macKey, pw), CreatedAt: now, ExpiresAt: now.Add(time.Duration(st.TempPasswordHours) * time.Hour)}, nil
}

// TempPasswordMAC is the stored form of temporary password pw.
func TempPasswordMAC(macKey []byte, pw string) string {
	return secure.MAC(macKey, "temp-password", pw)
}

// Matches reports, in constant time, whether pw is this temporary password.
func (tp *TempPassword) Matches(macKey []byte, pw string) bool {
	return secure.EqualMAC(tp.MAC, TempPasswordMAC(macKey, pw))
}

// TempPasswordFields are the merge fields of an e-mail carrying a temporary
// password: the username only when the tenant's UsernameInResetEmail is on,
// so that one intercepted e-mail does not hold both.
func TempPasswordFields(t *Tenant, u *User, pw string, tp TempPassword) map[string]string {
	f := map[string]string{"temporaryPassword": pw, "expiresAt": tp.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")}
	if t.Settings.UsernameInResetEmail {
		f["username"] = u.Username
	}
	return f
}

// Challenge is a pending NEW_PASSWORD_REQUIRED challenge, stored under the
// keyed MAC of its session token (the token itself is never stored). It is
// bound to what it was issued for: the user's session version and the
// temporary password (whose ChallengeMAC names this challenge), so a lock, a
// reset, a password change, a newer temporary password or a newer challenge
// ends it.
type Challenge struct {
	MAC            string
	UserID         string
	ExpiresAt      time.Time
	SessionVersion int
	// UsernameKey is the user's UsernameKey, whose lockout the completion
	// ends (the user proved the temporary password).
	UsernameKey string
}

// Sponsor is the PIN-code holder a user is created with: the creation
// happens only if the holder still holds the code whose MAC is PINCodeMAC
// and is not locked, checked in the creating transaction.
type Sponsor struct {
	UserID     string
	PINCodeMAC string
}

// SignInDone is what a successful sign-in writes, at once: the attempt and
// source slots given back; then either the user's sign-in time (ending a
// pending reset when EndPendingReset) or, for a temporary password, the new
// challenge bound to that temporary password; and the audit event.
type SignInDone struct {
	TenantID, UserID string
	// UsernameKey and Attempt name the attempt slot to give back (none when
	// Attempt.N is 0).
	UsernameKey string
	Attempt     LoginAttempt
	// Source is the per-source slot to give back (none when not Allowed).
	Source Rate
	At     time.Time
	// EndPendingReset deletes the user's temporary password (a sign-in with
	// the current password ends a forgot-password request).
	EndPendingReset bool
	// Challenge, when set, is stored and named on the temporary password
	// created at TempCreatedAt, instead of recording a sign-in.
	Challenge     *Challenge
	TempCreatedAt time.Time
	Audit         AuditEvent
}
