package pinverify

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// The functions serving the security-PIN capability's routes: accounts
// upserts accounts (and so parses mobile numbers, linking the phone-number
// library); pin-verification serves everything else and stays lean.
const (
	FnAccounts        = "accounts"
	FnPINVerification = "pin-verification"
)

// Functions are the Lambda functions of the security-PIN capability and what
// each may touch. SMS: set-up links and verification codes go by SMS too.
var Functions = []routes.Function{
	{
		Name:        FnAccounts,
		Description: "Create or replace accounts with their contacts (parses mobile numbers)",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true},
	},
	{
		Name:        FnPINVerification,
		Description: "Accounts with contacts, security PINs and verification codes",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true},
		// PUT /me/pin verifies the caller's current password (argon2id);
		// PINs and codes are keyed MACs.
		Hashes: true,
	},
}

// Endpoints are the security-PIN capability's routes with their handlers on
// s. With a nil s they describe the routes only (for the route table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "PUT", Path: "/accounts/{accountId}", Function: FnAccounts, Roles: routes.Staff, Summary: "Create an account or replace its name and contacts"}, Handle: s.httpUpsert},
		{Route: routes.Route{Method: "GET", Path: "/accounts/{accountId}", Function: FnPINVerification, Roles: routes.Staff, Summary: "Read an account with its contacts and security status"}, Handle: s.httpGet},
		{Route: routes.Route{Method: "GET", Path: "/accounts/{accountId}/security-status", Function: FnPINVerification, Roles: routes.Staff, Summary: "Read an account's security status"}, Handle: s.httpStatus},
		{Route: routes.Route{Method: "POST", Path: "/accounts/{accountId}/security-pin/links", Function: FnPINVerification, Roles: routes.Staff, Summary: "Send a contact a security-PIN set-up or reset link"}, Handle: s.httpSendLink},
		{Route: routes.Route{Method: "POST", Path: "/accounts/{accountId}/security-pin/verify", Function: FnPINVerification, Roles: routes.Staff, Summary: "Verify a caller by the account's security PIN"}, Handle: s.httpVerifyPIN},
		{Route: routes.Route{Method: "POST", Path: "/accounts/{accountId}/verification-codes", Function: FnPINVerification, Roles: routes.Staff, Summary: "Send a contact a one-time verification code"}, Handle: s.httpSendCode},
		{Route: routes.Route{Method: "POST", Path: "/accounts/{accountId}/verification-codes/verify", Function: FnPINVerification, Roles: routes.Staff, Summary: "Verify a caller by the code they received"}, Handle: s.httpVerifyCode},
		{Route: routes.Route{Method: "GET", Path: "/security-pin/links/{token}", Function: FnPINVerification, Summary: "Read what a security-PIN link is for"}, Handle: s.httpLinkInfo},
		{Route: routes.Route{Method: "POST", Path: "/security-pin/links/{token}", Function: FnPINVerification, Summary: "Set the security PIN with a link"}, Handle: s.httpSetPIN},
	}
}

func (s *Service) httpUpsert(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Name     string             `json:"name"`
		Contacts []latchkey.Contact `json:"contacts"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	a, err := s.Upsert(ctx, r.Tenant, r.Caller.User.ID, r.Params["accountId"], AccountInput{Name: in.Name, Contacts: in.Contacts})
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: a.View(s.Now())}, nil
}

func (s *Service) httpGet(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	a, err := s.Get(ctx, r.Tenant, r.Params["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: a.View(s.Now())}, nil
}

func (s *Service) httpStatus(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	st, err := s.Status(ctx, r.Tenant, r.Params["accountId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: st}, nil
}

func (s *Service) httpSendLink(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		ContactID string `json:"contactId"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	out, err := s.SendLink(ctx, r.Tenant, r.Caller.User.ID, r.Params["accountId"], in.ContactID)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: out}, nil
}

func (s *Service) httpLinkInfo(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	out, err := s.LinkInfo(ctx, r.Tenant, r.Params["token"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}

func (s *Service) httpSetPIN(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		PIN        string `json:"pin"`
		PINConfirm string `json:"pinConfirm"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.SetPIN(ctx, r.Tenant, r.Params["token"], in.PIN, in.PINConfirm); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: map[string]string{"status": "setup_complete"}}, nil
}

func (s *Service) httpVerifyPIN(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		PIN string `json:"pin"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	out, err := s.VerifyPIN(ctx, r.Tenant, r.Caller.User.ID, r.Params["accountId"], in.PIN)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}

func (s *Service) httpSendCode(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		ContactID string `json:"contactId"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	out, err := s.SendCode(ctx, r.Tenant, r.Caller.User.ID, r.Params["accountId"], in.ContactID)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: out}, nil
}

func (s *Service) httpVerifyCode(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Code string `json:"code"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	out, err := s.VerifyCode(ctx, r.Tenant, r.Caller.User.ID, r.Params["accountId"], in.Code)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}
