package password

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// The stores the password capability needs, declared here where they are
// used; shared/dynamo.Store satisfies them all (checked at compile time in
// its tests and by every function's wiring).

// Tenants reads tenants. GetTenant returns ENotFound.
type Tenants interface {
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
}

// Users reads users with their temporary password.
// The getters return ENotFound.
type Users interface {
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
	GetUserWithTemp(ctx context.Context, tid, uid string) (*latchkey.User, *latchkey.TempPassword, error)
	GetUserByUsername(ctx context.Context, tid, username string) (*latchkey.User, error)
	GetUserByUsernameWithTemp(ctx context.Context, tid, username string) (*latchkey.User, *latchkey.TempPassword, error)
}

// Credentials stores temporary passwords, challenges and password changes,
// each change a conditional write (see shared/dynamo for the conditions).
type Credentials interface {
	PutTempPassword(ctx context.Context, tid, uid string, tp latchkey.TempPassword) error
	ResetPassword(ctx context.Context, tid, uid string, expectedVersion int, tp latchkey.TempPassword) error
	UndoReset(ctx context.Context, tid, uid string, expectedVersion int, oldHash string, tp latchkey.TempPassword, prev *latchkey.TempPassword) error
	GetChallenge(ctx context.Context, tid, mac string) (*latchkey.Challenge, error)
	CompleteChallenge(ctx context.Context, tid string, c *latchkey.Challenge, newHash string, audit latchkey.AuditEvent) (int, error)
	// FinishSignIn writes what a successful sign-in writes, in one round trip.
	FinishSignIn(ctx context.Context, d latchkey.SignInDone) error
	ChangePassword(ctx context.Context, tid, uid string, expectedVersion int, newHash string) error
}

// Lockouts counts sign-in attempts per username key and holds admin locks.
type Lockouts interface {
	TakeLoginAttempt(ctx context.Context, tid, ukey string, p latchkey.LockPolicy) (latchkey.LoginAttempt, error)
	GiveBackLoginAttempt(ctx context.Context, tid, ukey string, a latchkey.LoginAttempt) error
	LockUser(ctx context.Context, tid, uid string) (newly bool, err error)
	UnlockUser(ctx context.Context, tid, uid, ukey string) error
}

// Rates counts events against fixed-window limits.
type Rates interface {
	TakeRate(ctx context.Context, tid, kind, subject string, limit int, window time.Duration) (latchkey.Rate, error)
	ReleaseRate(ctx context.Context, tid string, r latchkey.Rate) error
}

// AuditLog records security events; it never fails the request.
type AuditLog interface {
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// Store is every store the password capability uses.
type Store interface {
	Tenants
	Users
	Credentials
	Lockouts
	Rates
	AuditLog
}
