package useradmin

import (
	"context"
	"net/http"
	"strconv"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// Endpoints are the user-administration routes with their handlers on s.
// With a nil s they describe the routes only (for the route table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "POST", Path: "/users", Function: FnUsers, Roles: routes.Admin, Summary: "Create or import up to 100 users"}, Handle: s.httpImport},
		{Route: routes.Route{Method: "GET", Path: "/users", Function: FnAdmin, Roles: routes.Admin, Summary: "List users, a page at a time"}, Handle: s.httpList},
		{Route: routes.Route{Method: "POST", Path: "/users/self-serve", Function: FnAdmin, Roles: routes.Admin, Summary: "Switch self-serve on or off for up to 100 users"}, Handle: s.httpSelfServe},
		{Route: routes.Route{Method: "GET", Path: "/users/{userId}", Function: FnAdmin, Roles: routes.Admin, Summary: "Read a user"}, Handle: s.httpGet},
		{Route: routes.Route{Method: "PATCH", Path: "/users/{userId}", Function: FnUsers, Roles: routes.Admin, Summary: "Change a user's e-mail, mobile, expiry day, roles or grants"}, Handle: s.httpPatch},
		{Route: routes.Route{Method: "POST", Path: "/users/{userId}/welcome", Function: FnAdmin, Roles: routes.Admin, Summary: "E-mail a user a welcome link to confirm their mobile number"}, Handle: s.httpSendWelcome},
		{Route: routes.Route{Method: "POST", Path: "/welcome/{token}", Function: FnUsers, Summary: "Confirm one's mobile number with a welcome link"}, Handle: s.httpConfirmWelcome},
	}
}

func (s *Service) httpImport(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Users     []NewUser `json:"users"`
		SendEmail *bool     `json:"sendEmail"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	send := in.SendEmail == nil || *in.SendEmail
	out, err := s.Import(ctx, r.Tenant, r.Caller.User.ID, in.Users, send)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}

// boolParam reads an optional true/false query parameter. It returns
// EValidation naming it.
func boolParam(q map[string]string, name string) (*bool, error) {
	v, ok := q[name]
	if !ok || v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil || (v != "true" && v != "false") {
		return nil, latchkey.Errorf(latchkey.EValidation, "%s: must be true or false.", name)
	}
	return &b, nil
}

func (s *Service) httpList(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	q := ListQuery{Cursor: r.Query["cursor"], Filter: latchkey.UserFilter{RegistrationStatus: r.Query["registrationStatus"]}}
	if v := r.Query["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPage {
			return httpapi.Response{}, latchkey.Errorf(latchkey.EValidation, "limit: must be 1 to %d.", MaxPage)
		}
		q.Limit = n
	}
	var err error
	if q.Filter.SelfServe, err = boolParam(r.Query, "selfServe"); err != nil {
		return httpapi.Response{}, err
	}
	if q.Filter.Locked, err = boolParam(r.Query, "locked"); err != nil {
		return httpapi.Response{}, err
	}
	page, err := s.List(ctx, r.Tenant, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: page}, nil
}

func (s *Service) httpGet(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	u, err := s.Get(ctx, r.Tenant, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: u.View()}, nil
}

func (s *Service) httpPatch(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Email             Field[string]          `json:"email"`
		Mobile            Field[string]          `json:"mobile"`
		PasswordExpiresOn Field[string]          `json:"passwordExpiresOn"`
		Roles             Field[[]latchkey.Role] `json:"roles"`
		Permissions       Field[[]string]        `json:"permissions"`
		Profiles          Field[[]string]        `json:"profiles"`
		CompanyExceptions Field[[]string]        `json:"companyExceptions"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	u, err := s.Update(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"], Patch(in))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: u.View()}, nil
}

func (s *Service) httpSelfServe(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		UserIDs []string `json:"userIds"`
		Enabled *bool    `json:"enabled"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if in.Enabled == nil {
		return httpapi.Response{}, latchkey.Errorf(latchkey.EValidation, "enabled: true or false is required.")
	}
	out, err := s.SetSelfServe(ctx, r.Tenant, r.Caller.User.ID, in.UserIDs, *in.Enabled)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}

func (s *Service) httpSendWelcome(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	out, err := s.SendWelcome(ctx, r.Tenant, r.Caller.User.ID, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusAccepted, Body: out}, nil
}

func (s *Service) httpConfirmWelcome(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		Mobile string `json:"mobile"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.ConfirmWelcome(ctx, r.Tenant, r.Params["token"], in.Mobile); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: map[string]string{"status": "mobile_confirmed"}}, nil
}
