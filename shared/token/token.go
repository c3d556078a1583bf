// Package token issues and verifies Latchkey's access tokens: JWTs signed
// with EdDSA (Ed25519), valid one hour, carrying the tenant, the user, the
// roles and the user's session version. A password change or reset raises the
// session version, which ends every older token (checked by the API's
// authenticator against the stored user).
package token

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// DefaultTTL is how long a token lasts (one hour in the product).
const DefaultTTL = time.Hour

// Audience is the token's issuer and audience claim.
const Audience = "latchkey"

// Claims are what a token carries.
type Claims struct {
	Tenant         string          `json:"tid"`
	UserID         string          `json:"sub"`
	Roles          []latchkey.Role `json:"roles"`
	SessionVersion int             `json:"sv"`
	jwt.RegisteredClaims
}

// Issuer signs and verifies tokens with one Ed25519 key.
type Issuer struct {
	Key ed25519.PrivateKey
	Now latchkey.Clock
	// TTL is the token lifetime (one hour in the product).
	TTL time.Duration
}

// Issue returns a signed token for the user and its expiry.
func (i *Issuer) Issue(tenant, userID string, roles []latchkey.Role, sessionVersion int) (string, time.Time, error) {
	now := i.Now().UTC().Truncate(time.Second)
	exp := now.Add(i.TTL)
	c := Claims{
		Tenant: tenant, UserID: userID, Roles: roles, SessionVersion: sessionVersion,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Audience, Subject: userID, Audience: jwt.ClaimStrings{Audience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(i.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks the signature (EdDSA only), issuer, audience and expiry of
// tok against the injected clock, and returns its claims. It returns
// EUnauthorized for any invalid token.
func (i *Issuer) Verify(tok string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return i.Key.Public(), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(Audience), jwt.WithAudience(Audience), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.Now), jwt.WithLeeway(0))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, latchkey.Errorf(latchkey.EUnauthorized, "The token has expired. Sign in again.")
		}
		return nil, latchkey.Errorf(latchkey.EUnauthorized, "The token is not valid.")
	}
	if c.Tenant == "" || c.UserID == "" {
		return nil, latchkey.Errorf(latchkey.EUnauthorized, "The token is not valid.")
	}
	return &c, nil
}
