package expiry

import (
	"context"
	"net/http"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// FnAdmin is the function serving the notice history: the admin function
// (useradmin.FnAdmin), which this package does not import so that the
// notifier links no user administration.
const FnAdmin = "admin"

// HistoryLimit is how many of a user's notices GET
// /users/{userId}/notifications shows (the newest).
const HistoryLimit = 100

// Endpoints are the capability's routes on s: the notice history of a user.
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "GET", Path: "/users/{userId}/notifications", Function: FnAdmin, Roles: routes.Admin, Summary: "List the expiry and lock notices sent to a user, newest first"}, Handle: s.httpNotifications},
	}
}

// Notifications returns user uid's sent notices, newest day first, up to
// HistoryLimit. It returns ENotFound when there is no such user.
func (s *Service) Notifications(ctx context.Context, tid, uid string) ([]latchkey.Notice, error) {
	if _, err := s.Store.GetUser(ctx, tid, uid); err != nil {
		return nil, err
	}
	return s.Store.ListNotices(ctx, tid, uid, HistoryLimit)
}

func (s *Service) httpNotifications(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	ns, err := s.Notifications(ctx, r.Tenant, r.Params["userId"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: map[string]any{"notifications": ns}}, nil
}
