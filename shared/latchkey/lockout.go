package latchkey

import "time"

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
