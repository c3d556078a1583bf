// Package httpapi turns API Gateway HTTP API (payload 2.0) events into calls
// of route handlers and their results into responses, with Latchkey's HTTP
// conventions: coded JSON errors, X-Request-Id and the security headers on
// every response, a 16 KiB body limit, strict JSON bodies, path parameters
// checked before any handler runs, structured JSON logs carrying the request
// id (never a body or a header value), and authorization from the route
// table.
package httpapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/secure"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 16 << 10

// Security headers sent on every response, success or error.
const (
	// HSTS is the Strict-Transport-Security value: two years, subdomains too.
	HSTS = "max-age=63072000; includeSubDomains"
	// NoSniff is the X-Content-Type-Options value.
	NoSniff = "nosniff"
)

// BaseHeaders returns the headers of every response: JSON, never cached, the
// security headers and the request id.
func BaseHeaders(reqID string) map[string]string {
	return map[string]string{
		"Content-Type":              "application/json",
		"Cache-Control":             "no-store",
		"Strict-Transport-Security": HSTS,
		"X-Content-Type-Options":    NoSniff,
		"X-Request-Id":              reqID,
	}
}

// Request is what a route handler receives.
type Request struct {
	Route routes.Route
	// Tenant is the {tenant} path parameter, a valid tenant id
	// (latchkey.ValidTenantID).
	Tenant string
	// Params are the path parameters, such as "userId", each checked by
	// ValidPathParam before the handler runs.
	Params map[string]string
	// Query holds the query string's parameters (a parameter given more
	// than once holds its values joined by commas, as API Gateway sends
	// them); handlers check each one they read.
	Query   map[string]string
	Body    []byte
	Headers map[string]string
	// Caller is the authenticated caller, nil on public routes.
	Caller *Caller
}

// Header returns a request header by case-insensitive name.
func (r *Request) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Decode reads the JSON body into v, which must be a non-nil pointer. An
// empty body means {}. Decoding is strict at every depth (objects inside
// arrays and objects too): member names must match the fields' `json` tag
// names (or Go names when untagged) exactly, case included; unknown members,
// a name repeated within one object, invalid UTF-8 (raw, or escaped as half a
// surrogate pair) and data after the JSON value are refused. The message
// names the problem and at most the member concerned, never a value from the
// body. v may be partly filled on error.
//
// It returns EInvalidJSON, or an internal error when v is not a pointer.
func (r *Request) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode request body: need a non-nil pointer, got %T", v)
	}
	body := r.Body
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := checkStrictJSON(body, rv.Type()); err != nil {
		if errors.Is(err, errTrailingData) {
			return latchkey.Errorf(latchkey.EInvalidJSON, "The request body has data after the JSON value.")
		}
		return latchkey.Errorf(latchkey.EInvalidJSON, "The request body is not valid JSON for this request: %s.", jsonProblem(err))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return latchkey.Errorf(latchkey.EInvalidJSON, "The request body is not valid JSON for this request: %s.", jsonProblem(err))
	}
	if dec.More() {
		return latchkey.Errorf(latchkey.EInvalidJSON, "The request body has data after the JSON value.")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing request data:
// encoding/json's own messages quote characters and values from the body.
func jsonProblem(err error) string {
	var pe *jsonProblemError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &pe):
		return pe.problem
	case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON"
	case errors.As(err, &te) && te.Field == "":
		return "the body must be a JSON object"
	case errors.As(err, &te):
		return fmt.Sprintf("field %s has the wrong type or value", strconv.Quote(truncate(te.Field, 128)))
	default:
		// Such as a `json:",string"` field holding no number, or an unknown
		// field that checkStrictJSON missed.
		return "a field has the wrong type or value"
	}
}

// Caller is an authenticated user.
type Caller struct {
	User *latchkey.User
}

// Response is what a handler returns on success: a status and a body that is
// encoded as JSON (nil for no body).
type Response struct {
	Status int
	Body   any
}

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (Response, error)

// Authenticator turns a bearer token into the caller, for the tenant in the
// path. It returns EUnauthorized or EForbidden.
type Authenticator interface {
	Authenticate(ctx context.Context, tenant, bearer string) (*Caller, error)
}

// Endpoint is a route with the handler that serves it. Capability packages
// declare theirs (for example password.Endpoints), so that a route's method,
// path, roles and handler are written in one place.
type Endpoint struct {
	routes.Route
	Handle HandlerFunc
}

// Server dispatches events to the endpoints of one function.
type Server struct {
	Endpoints []Endpoint
	Auth      Authenticator
	Logger    *slog.Logger
	// OriginVerify is the secret that the stack's CloudFront distribution
	// sends in OriginVerifyHeader (config.Config.OriginVerify); empty, the
	// caller's address is always API Gateway's sourceIp (SourceAddress).
	OriginVerify string
	table        []routes.Route
}

// NewServer returns the server of the named function: the endpoints of eps
// that the function serves, with token authentication by auth. It fails
// when the function serves none of them.
func NewServer(function string, eps []Endpoint, auth Authenticator, logger *slog.Logger) (*Server, error) {
	s := &Server{Auth: auth, Logger: logger}
	for _, e := range eps {
		if e.Function == function {
			s.Endpoints = append(s.Endpoints, e)
			s.table = append(s.table, e.Route)
		}
	}
	if len(s.Endpoints) == 0 {
		return nil, fmt.Errorf("function %q serves no route", function)
	}
	return s, nil
}

// Routes returns the routes of endpoints eps, without their handlers.
func Routes(eps []Endpoint) []routes.Route {
	out := make([]routes.Route, len(eps))
	for i, e := range eps {
		out[i] = e.Route
	}
	return out
}

func (s *Server) handler(key string) HandlerFunc {
	for _, e := range s.Endpoints {
		if e.Key() == key {
			return e.Handle
		}
	}
	return nil
}

func (s *Server) routes() []routes.Route {
	if s.table == nil {
		return Routes(s.Endpoints)
	}
	return s.table
}

// ResponseMargin is how long before the invocation's deadline Handle ends a
// request's work: enough to log and answer. The AWS SDK does not retry a
// call whose context ended (shared/dynamo's client has no timeout of its
// own), so the bound never sends a write twice.
const ResponseMargin = time.Second

// Handle is the Lambda handler. Every response carries X-Request-Id (the
// event's request id, or a random one), Cache-Control: no-store and the
// security headers (HSTS, X-Content-Type-Options). Errors answer a coded JSON
// body: ERouteNotFound, EMethodNotAllowed, ENotFound for a malformed path
// parameter, EBodyTooLarge, EBadRequest, EUnauthorized, EForbidden, the
// handler's coded errors, EServiceUnavailable with Retry-After for an
// uncoded error that means a dependency is unavailable (Classify), and
// EInternal with a generic message for any other error that is not coded
// (the detail of both is logged, never answered).
func (s *Server) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	start := time.Now()
	// The request's work ends ResponseMargin before the invocation's
	// deadline (Lambda's timeout), so that a slow dependency answers a
	// coded 503 instead of the function being killed mid-answer.
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-ResponseMargin))
		defer cancel()
	}
	reqID := ev.RequestContext.RequestID
	if reqID == "" {
		reqID, _ = secure.RandomToken(12)
	}
	log := s.Logger.With("request_id", reqID)
	ctx = reqctx.WithLogger(reqctx.WithRequestID(ctx, reqID), log)
	ctx = reqctx.WithSourceIP(ctx, SourceAddress(ev, s.OriginVerify))

	res, route, cause := s.serve(ctx, ev)
	err := Classify(cause)
	out := s.respond(ctx, reqID, res, err)
	attrs := []any{"route", route, "status", out.StatusCode, "duration_ms", time.Since(start).Milliseconds()}
	if err != nil {
		code := latchkey.ErrorCode(err)
		attrs = append(attrs, "error_code", code)
		switch {
		case code == latchkey.EInternal:
			log.ErrorContext(ctx, "internal error", "route", route, "error", cause.Error())
		case err != cause:
			log.ErrorContext(ctx, "dependency unavailable", "route", route, "error", cause.Error())
		}
	}
	log.InfoContext(ctx, "request", attrs...)
	return out, nil
}

// Headers of requests that come through the stack's CloudFront distribution
// (infra/web.go), lower case as payload 2.0 events carry them.
const (
	// OriginVerifyHeader carries the origin secret, which the distribution
	// adds to every request it sends to the API.
	OriginVerifyHeader = "x-latchkey-origin-verify"
	// ViewerAddressHeader is CloudFront's CloudFront-Viewer-Address: the
	// viewer's address and source port, "198.51.100.10:46532", an IPv6
	// address unbracketed before its port ("2001:db8::1:46532").
	ViewerAddressHeader = "cloudfront-viewer-address"
)

// SourceAddress returns the caller's address that per-source limits count
// (reqctx.SourceIP): API Gateway's sourceIp, which for a call through
// CloudFront is an edge server's, unless the request proves that it came
// through the stack's distribution. It does when originVerify is not empty
// and OriginVerifyHeader equals it (compared in constant time); the address
// is then ViewerAddressHeader's, without its port, when it holds a valid
// address and port. Anybody can send a CloudFront-Viewer-Address header to
// the API's own URL: without the secret it is ignored, and a malformed one
// falls back to sourceIp too.
func SourceAddress(ev events.APIGatewayV2HTTPRequest, originVerify string) string {
	source := ev.RequestContext.HTTP.SourceIP
	if originVerify == "" {
		return source
	}
	got := header(ev.Headers, OriginVerifyHeader)
	if subtle.ConstantTimeCompare([]byte(got), []byte(originVerify)) != 1 {
		return source
	}
	if ip, ok := viewerIP(header(ev.Headers, ViewerAddressHeader)); ok {
		return ip.String()
	}
	return source
}

// header returns the event header name (lower case), by case-insensitive
// name when the event does not carry it lower-cased (a hand-made event).
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// viewerIP parses a CloudFront-Viewer-Address value, "ip:port": the port
// follows the last colon, and the address before it may be IPv6, bracketed
// or not. It refuses an empty or non-numeric port, a zone and anything
// netip does not parse (a list joined by commas included).
func viewerIP(v string) (netip.Addr, bool) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return netip.Addr{}, false
	}
	host, port := v[:i], v[i+1:]
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return netip.Addr{}, false
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

func (s *Server) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (Response, string, error) {
	route, params, err := s.route(ev)
	if err != nil {
		return Response{}, ev.RouteKey, err
	}
	// Before any handler, authenticator or store sees them: a malformed
	// tenant or id cannot name anything, so it answers as an unknown one.
	if !validParams(route, params) {
		return Response{}, route.Key(), latchkey.Errorf(latchkey.ENotFound, "Not found.")
	}
	h := s.handler(route.Key())
	if h == nil {
		return Response{}, route.Key(), latchkey.Errorf(latchkey.ERouteNotFound, "No such route.")
	}
	body, err := decodeBody(ev)
	if err != nil {
		return Response{}, route.Key(), err
	}
	req := &Request{Route: route, Tenant: params["tenant"], Params: params, Query: ev.QueryStringParameters, Body: body, Headers: ev.Headers}
	if !route.Public() {
		bearer, ok := strings.CutPrefix(req.Header("Authorization"), "Bearer ")
		if !ok || bearer == "" {
			return Response{}, route.Key(), latchkey.Errorf(latchkey.EUnauthorized, "A bearer token is required.")
		}
		caller, err := s.Auth.Authenticate(ctx, req.Tenant, strings.TrimSpace(bearer))
		if err != nil {
			return Response{}, route.Key(), err
		}
		if !route.Allows(caller.User.Roles) {
			return Response{}, route.Key(), latchkey.Errorf(latchkey.EForbidden, "Your role may not do this.")
		}
		req.Caller = caller
	}
	res, err := h(ctx, req)
	return res, route.Key(), err
}

// route finds the route by the event's route key, or by method and path when
// the key is $default (as behind a catch-all route).
func (s *Server) route(ev events.APIGatewayV2HTTPRequest) (routes.Route, map[string]string, error) {
	table := s.routes()
	if r, ok := routes.ByKey(table, ev.RouteKey); ok {
		params := map[string]string{}
		for k, v := range ev.PathParameters {
			params[k] = v
		}
		if params["tenant"] == "" {
			if _, p, found, _ := routes.Match(table, r.Method, ev.RawPath); found {
				params = p
			}
		}
		return r, params, nil
	}
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	r, params, found, methodOK := routes.Match(table, method, path)
	switch {
	case !found:
		return routes.Route{}, nil, latchkey.Errorf(latchkey.ERouteNotFound, "No such route.")
	case !methodOK:
		return routes.Route{}, nil, latchkey.Errorf(latchkey.EMethodNotAllowed, "Method not allowed on this path.")
	}
	return r, params, nil
}

// ValidPathParam reports whether value is well formed for the path parameter
// called name: "tenant" must be a tenant id (latchkey.ValidTenantID), "token"
// a link token (latchkey.ValidLinkToken), and every other parameter, whose
// name ends in "Id" by convention ("userId", "accountId"), an id
// (latchkey.ValidID). A parameter of a new kind is held to the id format
// until it gets its own rule here: refusing is the safe default.
func ValidPathParam(name, value string) bool {
	switch name {
	case "tenant":
		return latchkey.ValidTenantID(value)
	case "token":
		return latchkey.ValidLinkToken(value)
	default:
		return latchkey.ValidID(value)
	}
}

// validParams reports whether params holds every parameter of route's path
// and every parameter in it is well formed.
func validParams(route routes.Route, params map[string]string) bool {
	for _, seg := range strings.Split(route.FullPath(), "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			if _, ok := params[strings.TrimSuffix(name, "}")]; !ok {
				return false
			}
		}
	}
	for name, value := range params {
		if !ValidPathParam(name, value) {
			return false
		}
	}
	return true
}

func decodeBody(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	tooLarge := latchkey.Errorf(latchkey.EBodyTooLarge, "The request body is larger than %d bytes.", MaxBodyBytes)
	if !ev.IsBase64Encoded {
		if len(ev.Body) > MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(ev.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(ev.Body)) > MaxBodyBytes+3 {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		return nil, latchkey.Errorf(latchkey.EBadRequest, "The request body is not valid base64.")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

func (s *Server) respond(ctx context.Context, reqID string, res Response, err error) events.APIGatewayV2HTTPResponse {
	headers := BaseHeaders(reqID)
	if err != nil {
		code := latchkey.ErrorCode(err)
		obj := map[string]any{"code": code, "message": latchkey.ErrorMessage(err)}
		var e *latchkey.Error
		if errors.As(err, &e) {
			for k, v := range e.Details {
				if k != "code" && k != "message" {
					obj[k] = v
				}
			}
			if e.RetryAfterSeconds > 0 {
				headers["Retry-After"] = strconv.Itoa(e.RetryAfterSeconds)
			}
		}
		top := map[string]any{}
		if e != nil {
			for k, v := range e.Fields {
				top[k] = v
			}
		}
		top["error"] = obj
		b, _ := json.Marshal(top)
		return events.APIGatewayV2HTTPResponse{StatusCode: latchkey.StatusOf(code), Headers: headers, Body: string(b)}
	}
	if res.Status == 0 {
		res.Status = http.StatusOK
	}
	if res.Body == nil {
		delete(headers, "Content-Type")
		return events.APIGatewayV2HTTPResponse{StatusCode: res.Status, Headers: headers}
	}
	b, mErr := json.Marshal(res.Body)
	if mErr != nil {
		reqctx.Logger(ctx).Error("encode response", "error", mErr)
		b, _ = json.Marshal(map[string]any{"error": map[string]any{"code": latchkey.EInternal, "message": "An internal error occurred."}})
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusInternalServerError, Headers: headers, Body: string(b)}
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: res.Status, Headers: headers, Body: string(b)}
}

// RetryAfterUnavailable is the Retry-After, in seconds, of a
// service_unavailable answer: long enough for the SDK's retries of the next
// request to meet a service that throttled or restarted, short enough for a
// person at a sign-in page.
const RetryAfterUnavailable = 5

// unavailableCodes are the AWS error codes with which DynamoDB, SES and SNS
// refuse a request for their own state (throttling, an internal failure),
// not for what was asked: the SDK retried them and then gave up.
var unavailableCodes = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "ThrottledException": true,
	"ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true,
	"TooManyRequestsException": true, "LimitExceededException": true,
	"InternalServerError": true, "InternalFailure": true, "InternalError": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true,
}

// Classify returns err as the HTTP answer should see it: a coded error, or
// nil, unchanged; an uncoded error that means a dependency is unavailable
// (Unavailable) as EServiceUnavailable with a generic message and
// RetryAfterUnavailable; any other error unchanged, which answers
// EInternal.
func Classify(err error) error {
	if err == nil || latchkey.ErrorCode(err) != latchkey.EInternal || !Unavailable(err) {
		return err
	}
	return &latchkey.Error{Code: latchkey.EServiceUnavailable,
		Message:           "A service Latchkey depends on is unavailable. Try again shortly.",
		RetryAfterSeconds: RetryAfterUnavailable}
}

// Unavailable reports whether err means that a dependency could not serve
// the request, rather than that Latchkey has a bug: a network error (a
// refused, reset or dropped connection, a timeout: net.Error, or a request
// the SDK could not send), a context deadline, the SDK giving up after its
// retries (retry.MaxAttemptsError) or running out of its retry quota, an
// AWS error code of throttling or of a service's internal failure
// (unavailableCodes), or any AWS response with a 5xx status.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		netErr   net.Error
		sendErr  *smithyhttp.RequestSendError
		attempts *retry.MaxAttemptsError
		quota    ratelimit.QuotaExceededError
		api      smithy.APIError
		resp     *smithyhttp.ResponseError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case errors.As(err, &netErr), errors.As(err, &sendErr), errors.As(err, &attempts), errors.As(err, &quota):
		return true
	case errors.As(err, &api) && unavailableCodes[api.ErrorCode()]:
		return true
	case errors.As(err, &resp) && resp.HTTPStatusCode() >= 500:
		return true
	}
	return false
}

// NewLogger returns the JSON slog logger every function uses.
func NewLogger(w interface{ Write([]byte) (int, error) }, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
