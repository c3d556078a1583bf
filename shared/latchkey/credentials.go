package latchkey

import (
	"time"

	"github.com/latchkey/latchkey/shared/secure"
)

// TempPassword is a user's temporary password: its argon2id hash and
// expiry. It is usable only to reach the NEW_PASSWORD_REQUIRED challenge.
type TempPassword struct {
	Hash      string
	ExpiresAt time.Time
	CreatedAt time.Time
	// ChallengeMAC names the one NEW_PASSWORD_REQUIRED challenge this
	// temporary password may complete (the latest sign-in with it).
	ChallengeMAC string
}

// NewTempPassword generates a temporary password valid for the tenant's
// TempPasswordHours from now, and returns it with its stored form.
func NewTempPassword(st Settings, now time.Time) (string, TempPassword, error) {
	pw, err := secure.TemporaryPassword()
	if err != nil {
		return "", TempPassword{}, err
	}
	hash, err := secure.HashPassword(pw)
	if err != nil {
		return "", TempPassword{}, err
	}
	return pw, TempPassword{Hash: hash, CreatedAt: now, ExpiresAt: now.Add(time.Duration(st.TempPasswordHours) * time.Hour)}, nil
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
