package password

import (
	"context"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// The functions serving the password capability's routes.
const (
	FnSessions      = "sessions"
	FnPasswordReset = "password-reset"
)

// Functions are the Lambda functions of the password capability and what
// each may touch.
var Functions = []routes.Function{
	{
		Name:        FnSessions,
		Description: "Sign-in with password or user PIN and the NEW_PASSWORD_REQUIRED challenge",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
		// A sign-in verifies, a new password hashes: argon2id.
		Hashes: true,
	},
	{
		Name:        FnPasswordReset,
		Description: "Forgot password, agent/admin reset, change own password, lock and unlock",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
		// Changing one's password verifies the current one and hashes the
		// new one (temporary passwords are keyed MACs: no argon2id).
		Hashes: true,
	},
}

// Endpoints are the password capability's routes with their handlers on s.
// With a nil s they describe the routes only (for the route table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "POST", Path: "/sessions", Function: FnSessions, Summary: "Sign in with username and password, or username and PIN"}, Handle: s.httpSignIn},
		{Route: routes.Route{Method: "POST", Path: "/sessions/new-password", Function: FnSessions, Summary: "Complete the NEW_PASSWORD_REQUIRED challenge"}, Handle: s.httpNewPassword},
		{Route: routes.Route{Method: "POST", Path: "/password-resets", Function: FnPasswordReset, Summary: "Forgot password: e-mail a temporary password"}, Handle: s.httpForgotPassword},
		{Route: routes.Route{Method: "PUT", Path: "/me/password", Function: FnPasswordReset, Roles: routes.AnyUser, Summary: "Change one's own password"}, Handle: s.httpChangeOwn},
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/password-reset", Function: FnPasswordReset, Roles: routes.Staff, Summary: "Replace a user's password with a temporary one and e-mail it"}, Handle: s.httpReset},
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/lock", Function: FnPasswordReset, Roles: routes.Staff, Summary: "Lock a user's sign-in until unlocked"}, Handle: s.httpLock},
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/unlock", Function: FnPasswordReset, Roles: routes.Staff, Summary: "Unlock a user's sign-in"}, Handle: s.httpUnlock},
	}
}

type tokenBody struct {
	Token     string            `json:"token"`
	ExpiresAt time.Time         `json:"expiresAt"`
	User      latchkey.UserView `json:"user"`
}

type challengeBody struct {
	Challenge string    `json:"challenge"`
	Session   string    `json:"session"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func signInResponse(r *SignInResult) httpapi.Response {
	if r.Challenge != "" {
		return httpapi.Response{Status: http.StatusOK, Body: challengeBody{Challenge: r.Challenge, Session: r.Session, ExpiresAt: r.ExpiresAt.UTC()}}
	}
	return httpapi.Response{Status: http.StatusCreated, Body: tokenBody{Token: r.Token, ExpiresAt: r.ExpiresAt.UTC(), User: r.User.View()}}
}

func (s *Service) httpSignIn(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		PIN      string `json:"pin"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	var res *SignInResult
	var err error
	switch {
	case in.Password != "" && in.PIN != "":
		return httpapi.Response{}, latchkey.Errorf(latchkey.EValidation, "password, pin: Give one of password and pin, not both.")
	case in.PIN != "":
		res, err = s.SignInPIN(ctx, r.Tenant, in.Username, in.PIN)
	default:
		res, err = s.SignIn(ctx, r.Tenant, in.Username, in.Password)
	}
	if err != nil {
		return httpapi.Response{}, err
	}
	return signInResponse(res), nil
}

func (s *Service) httpNewPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Session     string `json:"session"`
		NewPassword string `json:"newPassword"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	res, err := s.CompleteNewPassword(ctx, r.Tenant, in.Session, in.NewPassword)
	if err != nil {
		return httpapi.Response{}, err
	}
	return signInResponse(res), nil
}

func (s *Service) httpForgotPassword(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Username string `json:"username"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.ForgotPassword(ctx, r.Tenant, in.Username); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: struct{}{}}, nil
}

func (s *Service) httpChangeOwn(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.ChangeOwn(ctx, r.Caller.User, in.CurrentPassword, in.NewPassword); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Service) httpReset(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Decode(&struct{}{}); err != nil {
		return httpapi.Response{}, err
	}
	sentTo, err := s.Reset(ctx, r.Tenant, r.Caller.User, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: map[string]string{"sentTo": sentTo}}, nil
}

func (s *Service) httpLock(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.Lock(ctx, r.Tenant, r.Caller.User, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Service) httpUnlock(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.Unlock(ctx, r.Tenant, r.Caller.User, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}
