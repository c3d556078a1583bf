// Package api binds every route of the route table to the service call that
// serves it: request decoding and response shapes of the HTTP contract
// (PRODUCT.md, "HTTP API v1") live here, behaviour lives in the services.
package api

import (
	"context"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/token"
)

// Services are what the handlers call.
type Services struct {
	Passwords *password.Service
	PINSignup *pinsignup.Service
}

// key returns the route key of a method and a path relative to routes.Prefix.
func key(method, path string) string { return method + " " + routes.Prefix + path }

// Handlers returns the handler of every route, by route key.
func Handlers(s *Services) map[string]httpapi.HandlerFunc {
	return map[string]httpapi.HandlerFunc{
		key("POST", "/sessions"):                      s.signIn,
		key("POST", "/sessions/new-password"):         s.newPassword,
		key("POST", "/password-resets"):               s.forgotPassword,
		key("PUT", "/me/password"):                    s.changeOwnPassword,
		key("POST", "/users/{userId}/password-reset"): s.resetPassword,
		key("POST", "/users/{userId}/lock"):           s.lock,
		key("POST", "/users/{userId}/unlock"):         s.unlock,
		key("POST", "/users/{userId}/pin-code"):       s.generatePINCode,
		key("DELETE", "/users/{userId}/pin-code"):     s.revokePINCode,
		key("POST", "/users/{userId}/pin-code/email"): s.emailPINCode,
		key("POST", "/signups"):                       s.signUp,
	}
}

// UserView is the user as the API shows it.
type UserView struct {
	ID                string          `json:"id"`
	Username          string          `json:"username"`
	Email             string          `json:"email,omitempty"`
	Mobile            string          `json:"mobile,omitempty"`
	Roles             []latchkey.Role `json:"roles"`
	Permissions       []string        `json:"permissions,omitempty"`
	Profiles          []string        `json:"profiles,omitempty"`
	CompanyExceptions []string        `json:"companyExceptions,omitempty"`
	// PINCodeUser is true when the user holds a PIN code.
	PINCodeUser bool `json:"pinCodeUser"`
	// SponsorID is the PIN-code user who created this user, if any.
	SponsorID string `json:"sponsorId,omitempty"`
}

// ViewUser returns the API view of u.
func ViewUser(u *latchkey.User) UserView {
	return UserView{
		ID: u.ID, Username: u.Username, Email: u.Email, Mobile: u.Mobile, Roles: u.Roles,
		Permissions: u.Permissions, Profiles: u.Profiles, CompanyExceptions: u.CompanyExceptions,
		PINCodeUser: u.IsPINCodeUser(), SponsorID: u.SponsorID,
	}
}

type tokenBody struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      UserView  `json:"user"`
}

type challengeBody struct {
	Challenge string    `json:"challenge"`
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func signInResponse(r *password.SignInResult) httpapi.Response {
	if r.Challenge != "" {
		return httpapi.Response{Status: http.StatusOK, Body: challengeBody{Challenge: r.Challenge, Session: r.Session, ExpiresAt: r.ExpiresAt.UTC()}}
	}
	return httpapi.Response{Status: http.StatusCreated, Body: tokenBody{Token: r.Token, ExpiresAt: r.ExpiresAt.UTC(), User: ViewUser(r.User)}}
}

func (s *Services) signIn(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		PIN      string `json:"pin"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if in.PIN != "" {
		return httpapi.Response{}, latchkey.Errorf(latchkey.EValidation, "Sign-in with a PIN is not enabled for this tenant.")
	}
	res, err := s.Passwords.SignIn(ctx, r.Tenant, in.Username, in.Password)
	if err != nil {
		return httpapi.Response{}, err
	}
	return signInResponse(res), nil
}

func (s *Services) newPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Session     string `json:"session"`
		NewPassword string `json:"newPassword"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	res, err := s.Passwords.CompleteNewPassword(ctx, r.Tenant, in.Session, in.NewPassword)
	if err != nil {
		return httpapi.Response{}, err
	}
	return signInResponse(res), nil
}

func (s *Services) forgotPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Username string `json:"username"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.Passwords.ForgotPassword(ctx, r.Tenant, in.Username); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: struct{}{}}, nil
}

func (s *Services) changeOwnPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.Passwords.ChangeOwn(ctx, r.Caller.User, in.CurrentPassword, in.NewPassword); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Services) resetPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Decode(&struct{}{}); err != nil {
		return httpapi.Response{}, err
	}
	sentTo, err := s.Passwords.Reset(ctx, r.Tenant, r.Caller.User, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: map[string]string{"sentTo": sentTo}}, nil
}

func (s *Services) lock(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.Passwords.Lock(ctx, r.Tenant, r.Caller.User, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Services) unlock(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.Passwords.Unlock(ctx, r.Tenant, r.Caller.User, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Services) generatePINCode(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Decode(&struct{}{}); err != nil {
		return httpapi.Response{}, err
	}
	code, err := s.PINSignup.Generate(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusCreated, Body: map[string]string{"pinCode": code}}, nil
}

func (s *Services) revokePINCode(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.PINSignup.Revoke(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Services) emailPINCode(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		To string `json:"to"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	sentTo, err := s.PINSignup.Email(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"], in.To)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: map[string]string{"sentTo": sentTo}}, nil
}

func (s *Services) signUp(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		PINCode  string `json:"pinCode"`
		Email    string `json:"email"`
		Username string `json:"username"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	u, err := s.PINSignup.SignUp(ctx, r.Tenant, pinsignup.Signup{
		PINCode: in.PINCode, Email: in.Email, Username: in.Username,
		Client: r.Header("X-Client"), SourceAddress: reqctx.SourceIP(ctx),
	})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusCreated, Body: map[string]string{"userId": u.ID, "username": u.Username}}, nil
}

// TokenAuth authenticates bearer tokens: the signature and expiry, the
// tenant (a token of one tenant is refused in every other), and the user's
// current session version (a password change, reset or lock ends older
// tokens), and that the user is not locked.
// Roles come from the stored user, so a role change applies at once.
type TokenAuth struct {
	Tokens *token.Issuer
	Store  *dynamo.Store
}

var _ httpapi.Authenticator = (*TokenAuth)(nil)

// Authenticate implements httpapi.Authenticator. It returns EUnauthorized or EForbidden.
func (a *TokenAuth) Authenticate(ctx context.Context, tenant, bearer string) (*httpapi.Caller, error) {
	c, err := a.Tokens.Verify(bearer)
	if err != nil {
		return nil, err
	}
	if c.Tenant != tenant {
		return nil, latchkey.Errorf(latchkey.EForbidden, "The token is not valid for this tenant.")
	}
	u, err := a.Store.GetUser(ctx, tenant, c.UserID)
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
