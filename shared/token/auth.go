package token

import (
	"context"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// Users finds the user a token names; shared/dynamo.Store satisfies it.
// GetUser returns ENotFound.
type Users interface {
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
}

// Auth authenticates bearer tokens: the signature and expiry, the tenant (a
// token of one tenant is refused in every other), the user's current
// session version (a password change, reset or lock ends older tokens), and
// that the user is not locked. Roles come from the stored user, so a role
// change applies at once.
type Auth struct {
	Tokens *Issuer
	Users  Users
}

var _ httpapi.Authenticator = (*Auth)(nil)

// Authenticate implements httpapi.Authenticator. It returns EUnauthorized or EForbidden.
func (a *Auth) Authenticate(ctx context.Context, tenant, bearer string) (*httpapi.Caller, error) {
	c, err := a.Tokens.Verify(bearer)
	if err != nil {
		return nil, err
	}
	if c.Tenant != tenant {
		return nil, latchkey.Errorf(latchkey.EForbidden, "The token is not valid for this tenant.")
	}
	u, err := a.Users.GetUser(ctx, tenant, c.UserID)
	if latchkey.ErrorCode(err) == latchkey.ENotFound {
		return nil, latchkey.Errorf(latchkey.EUnauthorized, "The token is no longer valid. Sign in again.")
	}
	if err != nil {
		return nil, err
	}
	if u.SessionVersion != c.SessionVersion || u.AdminLocked() {
		return nil, latchkey.Errorf(latchkey.EUnauthorized, "The token is no longer valid. Sign in again.")
	}
	return &httpapi.Caller{User: u}, nil
}
