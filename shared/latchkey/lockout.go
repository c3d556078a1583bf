package latchkey

import (
	"context"
	"time"
)

// LockPolicy is the tenant's lockout setting.
type LockPolicy struct {
	Threshold int
	Duration  time.Duration
}

// LockPolicy returns the lockout rule of the settings.
func (s Settings) LockPolicy() LockPolicy {
	return LockPolicy{Threshold: s.LockoutThreshold, Duration: time.Duration(s.LockoutMinutes) * time.Minute}
}

// LoginState is the attempt record of one username key. It exists whether
// or not a user has that username, so a lockout reveals nothing about which
// usernames exist. Failures counts the attempts taken since the last
// success, including those still being checked: a slot is taken before a
// password is verified and given back when it was right.
type LoginState struct {
	Failures      int
	LastFailureAt time.Time
}

// LockedUntil returns when the lockout ends, or the zero time when the
// username is not locked out at now.
func (ls LoginState) LockedUntil(p LockPolicy, now time.Time) time.Time {
	if ls.Failures < p.Threshold {
		return time.Time{}
	}
	until := ls.LastFailureAt.Add(p.Duration)
	if now.Before(until) {
		return until
	}
	return time.Time{}
}

// LoginAttempt is an attempt slot taken before a password is checked.
type LoginAttempt struct {
	// Locked is true when no slot was free: the username is locked out until
	// LockedUntil, and no password may be checked.
	Locked      bool
	LockedUntil time.Time
	// N is the attempt count with this slot.
	N int
}

// Locks reports whether a failure of this attempt is the one that locks the
// username out: it took the last slot.
func (a LoginAttempt) Locks(p LockPolicy) bool { return a.N >= p.Threshold }

// Rate is the outcome of counting one event against a fixed-window limit:
// when Allowed, the slot taken, which Kind, Subject and Window name so that
// it can be given back into the same window.
type Rate struct {
	// Allowed is false when the limit was already reached in this window.
	Allowed bool
	// Count is the number of events counted in the window, this one included
	// when Allowed.
	Count int
	// RetryAfter is the time until the window ends, when not Allowed.
	RetryAfter time.Duration
	// Kind and Subject name the counter, Window the start of its window.
	Kind, Subject string
	Window        time.Time
}

// AttemptSlots are a username's attempt slots (shared/dynamo.Store): taken
// with a conditional write before a secret is checked, given back when it
// was right.
type AttemptSlots interface {
	TakeLoginAttempt(ctx context.Context, tid, ukey string, p LockPolicy) (LoginAttempt, error)
	GiveBackLoginAttempt(ctx context.Context, tid, ukey string, a LoginAttempt) error
}

// Why a signed-in user's current secret was refused (CheckOwnSecret), as
// audit reasons.
const (
	RefusedLocked  = "locked"              // locked out before this attempt
	RefusedLockout = "lockout"             // this wrong secret locked the username out
	RefusedWrong   = "invalid_credentials" // wrong, attempts remain
)

// CheckOwnSecret checks the current secret of signed-in user u of tenant t
// (before a change of password or PIN) with check, only once an attempt
// slot of u's username key is taken, the slot sign-in takes: a stolen token
// cannot guess past the lockout. A wrong secret keeps its slot, a right one
// gives it back. It returns "" when the secret is right, else the reason it
// was refused (RefusedLocked, RefusedLockout or RefusedWrong); err is a
// storage or hashing failure.
func CheckOwnSecret(ctx context.Context, slots AttemptSlots, t *Tenant, u *User, check func() (bool, error)) (refused string, err error) {
	ukey, lp := UsernameKey(u.Username), t.Settings.LockPolicy()
	slot, err := slots.TakeLoginAttempt(ctx, t.ID, ukey, lp)
	if err != nil {
		return "", err
	}
	if slot.Locked {
		return RefusedLocked, nil
	}
	ok, err := check()
	if err != nil {
		return "", err
	}
	if !ok {
		if slot.Locks(lp) {
			return RefusedLockout, nil
		}
		return RefusedWrong, nil
	}
	return "", slots.GiveBackLoginAttempt(ctx, t.ID, ukey, slot)
}
