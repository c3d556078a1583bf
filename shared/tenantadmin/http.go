package tenantadmin

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/templates"
)

// Endpoints are the capability's routes with their handlers on s, all for
// admins only. With a nil s they describe the routes only (for the route
// table).
func Endpoints(s *Service) []httpapi.Endpoint {
	return []httpapi.Endpoint{
		{Route: routes.Route{Method: "GET", Path: "/settings", Function: FnAdmin, Roles: routes.Admin, Summary: "Read the tenant's settings"}, Handle: s.httpGetSettings},
		{Route: routes.Route{Method: "PUT", Path: "/settings", Function: FnAdmin, Roles: routes.Admin, Summary: "Replace the tenant's settings"}, Handle: s.httpPutSettings},
		{Route: routes.Route{Method: "GET", Path: "/templates/{name}", Function: FnAdmin, Roles: routes.Admin, Summary: "Read a template (the tenant's own or the default)"}, Handle: s.httpGetTemplate},
		{Route: routes.Route{Method: "PUT", Path: "/templates/{name}", Function: FnAdmin, Roles: routes.Admin, Summary: "Replace a template with the tenant's own"}, Handle: s.httpPutTemplate},
		{Route: routes.Route{Method: "DELETE", Path: "/templates/{name}", Function: FnAdmin, Roles: routes.Admin, Summary: "Return a template to its default"}, Handle: s.httpDeleteTemplate},
		{Route: routes.Route{Method: "POST", Path: "/templates/{name}/preview", Function: FnAdmin, Roles: routes.Admin, Summary: "Render a template with sample values"}, Handle: s.httpPreviewTemplate},
		{Route: routes.Route{Method: "GET", Path: "/audit", Function: FnAdmin, Roles: routes.Admin, Summary: "Page the tenant's audit log, newest first"}, Handle: s.httpAudit},
	}
}

func (s *Service) httpGetSettings(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	st, err := s.GetSettings(ctx, r.Tenant)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: st}, nil
}

func (s *Service) httpPutSettings(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var st latchkey.Settings
	if err := r.Decode(&st); err != nil {
		return httpapi.Response{}, err
	}
	if err := requireAll(r.Body, reflect.TypeOf(st)); err != nil {
		return httpapi.Response{}, err
	}
	out, err := s.PutSettings(ctx, r.Tenant, r.Caller.User.ID, st)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: out}, nil
}

// requireAll checks that the JSON object body (already decoded strictly)
// holds every field of struct type t, and of the structs inside it, none
// null: a PUT replaces every setting, so a setting left out would silently
// become false or 0. It returns EValidation naming each one missing.
func requireAll(body []byte, t reflect.Type) error {
	missing := missingFields(body, t, "")
	if len(missing) == 0 {
		return nil
	}
	e := latchkey.Errorf(latchkey.EValidation, "Every setting is required (PUT replaces them all); missing: %s.", strings.Join(missing, ", "))
	e.Details = map[string]any{"problems": prefixEach(missing, " is required")}
	return e
}

func missingFields(body []byte, t reflect.Type, prefix string) []string {
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(body, &obj)
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := latchkey.SettingName(f)
		if name == "" {
			continue
		}
		raw, ok := obj[name]
		if !ok || string(raw) == "null" {
			out = append(out, prefix+name)
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, missingFields(raw, f.Type, prefix+name+".")...)
		}
	}
	return out
}

func prefixEach(names []string, suffix string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + suffix
	}
	return out
}

// templateBody is a template in a request: the name comes from the path.
type templateBody struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	SMS     string `json:"sms"`
}

func (b templateBody) template(name string) templates.Template {
	return templates.Template{Name: name, Subject: b.Subject, Text: b.Text, HTML: b.HTML, SMS: b.SMS}
}

func (s *Service) httpGetTemplate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	v, err := s.GetTemplate(ctx, r.Tenant, r.Params["name"])
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: v}, nil
}

func (s *Service) httpPutTemplate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in templateBody
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	v, err := s.PutTemplate(ctx, r.Tenant, r.Caller.User.ID, in.template(r.Params["name"]))
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: v}, nil
}

func (s *Service) httpPreviewTemplate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	var in templateBody
	if err := r.Decode(&in); err != nil {
		return httpapi.Response{}, err
	}
	var draft *templates.Template
	if in != (templateBody{}) {
		t := in.template(r.Params["name"])
		draft = &t
	}
	p, err := s.PreviewTemplate(ctx, r.Tenant, r.Params["name"], draft)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: p}, nil
}

func (s *Service) httpDeleteTemplate(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	if err := s.DeleteTemplate(ctx, r.Tenant, r.Caller.User.ID, r.Params["name"]); err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusNoContent}, nil
}

func (s *Service) httpAudit(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
	q, err := ParseAuditQuery(r.Query)
	if err != nil {
		return httpapi.Response{}, err
	}
	page, err := s.AuditPage(ctx, r.Tenant, q)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.Response{Status: http.StatusOK, Body: page}, nil
}
