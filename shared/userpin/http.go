package userpin

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
)

// FnPINVerification is the function serving the user-PIN routes: the
// security-PIN capability's pin-verification function (declared in
// shared/pinverify, which this package does not import: a capability links
// no other). The two capabilities share it because both are small, need the
// same store, e-mail and SMS, and are used by the same clients; the route
// table's check (catalog.Validate) fails if the name ever stops naming a
// declared function.
const FnPINVerification = "pin-verification"

// Functions are the Lambda functions the user-PIN capability declares: none,
// its routes are served by FnPINVerification.
var Functions []routes.Function

// Endpoints are the user-PIN capability's routes with their handlers on s.
// With a nil s they describe the routes only (for the route table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "PUT", Path: "/users/{userId}/pin", Function: FnPINVerification, Roles: routes.Admin, Summary: "Set a user's PIN (marked as set by an admin)"}, Handle: s.httpSet},
		{Route: routes.Route{Method: "PUT", Path: "/me/pin", Function: FnPINVerification, Roles: routes.AnyUser, Summary: "Change one's own PIN"}, Handle: s.httpChangeOwn},
	}
}

func (s *Service) httpSet(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		PIN string `json:"pin"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.Set(ctx, r.Tenant, r.Caller.User, r.Params["userId"], in.PIN); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Service) httpChangeOwn(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in struct {
		CurrentPIN      string `json:"currentPin"`
		CurrentPassword string `json:"currentPassword"`
		NewPIN          string `json:"newPin"`
	}
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	if err := s.ChangeOwn(ctx, r.Caller.User, Change{CurrentPIN: in.CurrentPIN, CurrentPassword: in.CurrentPassword, NewPIN: in.NewPIN}); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}
