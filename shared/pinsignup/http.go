package pinsignup

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/routes"
)

// FnPINSignup is the function serving PIN-code signup's routes.
const FnPINSignup = "pin-signup"

// Functions are the Lambda functions of PIN-code signup and what each may touch.
var Functions = []routes.Function{
	{
		Name:        FnPINSignup,
		Description: "PIN codes (generate, revoke, e-mail) and PIN-code signup",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
}

// Endpoints are PIN-code signup's routes with their handlers on s. With a
// nil s they describe the routes only (for the route table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/pin-code", Function: FnPINSignup, Roles: routes.Admin, Summary: "Generate (or regenerate) a user's PIN code, shown once"}, Handle: s.httpGenerate},
		{Route: routes.Route{Method: "DELETE", Path: "/users/{userId}/pin-code", Function: FnPINSignup, Roles: routes.Admin, Summary: "Revoke a user's PIN code"}, Handle: s.httpRevoke},
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/pin-code/email", Function: FnPINSignup, Roles: routes.Admin, Summary: "E-mail a user's current PIN code to them or to another address"}, Handle: s.httpEmail},
		{Route: routes.Route{Method: "POST", Path: "/signups", Function: FnPINSignup, Summary: "Create a user with a PIN code, in the likeness of its holder"}, Handle: s.httpSignUp},
	}
}

func (s *Service) httpGenerate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := r.Decode(&struct{}{}); err != nil {
		return httpapi.Response{}, err
	}
	code, err := s.Generate(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusCreated, Body: map[string]string{"pinCode": code}}, nil
}

func (s *Service) httpRevoke(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.Revoke(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Service) httpEmail(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		To string `json:"to"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	sentTo, err := s.Email(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"], in.To)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: map[string]string{"sentTo": sentTo}}, nil
}

func (s *Service) httpSignUp(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		PINCode  string `json:"pinCode"`
		Email    string `json:"email"`
		Username string `json:"username"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	u, err := s.SignUp(ctx, r.Tenant, Signup{
		PINCode: in.PINCode, Email: in.Email, Username: in.Username,
		Client: r.Header("X-Client"), SourceAddress: reqctx.SourceIP(ctx),
	})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusCreated, Body: map[string]string{"userId": u.ID, "username": u.Username}}, nil
}
