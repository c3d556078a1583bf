// Package gateway plays API Gateway's part in the local stack: it turns each
// HTTP request into the payload-2.0 event of its route and calls the handler
// of the route's function. Only the local stack and tests import it, never a
// Lambda function.
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/secure"
)

// LambdaHandler is the signature of every HTTP function's Lambda handler.
type LambdaHandler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Gateway plays API Gateway's part locally: it turns each HTTP request
// into the payload-2.0 event of its route (from the route table), calls the
// handler of the route's function, the same handler the Lambda runs, and
// writes its response.
type Gateway struct {
	// Routes is the route table (shared/catalog.Routes).
	Routes []routes.Route
	// Functions holds the handler of each function, by function name.
	Functions map[string]LambdaHandler
	// NotFound answers requests that match no route (a handler that gets
	// the event with route key "$default").
	NotFound LambdaHandler
}

// FunctionTimeout is the deadline of each invocation, the timeout the stack
// gives a function serving routes.
const FunctionTimeout = 10 * time.Second

// ServeHTTP implements http.Handler. The gateway's own answers (a body it
// cannot read, no handler for the route, a handler that fails) are JSON
// {"message": ...} bodies as API Gateway's are, and carry the headers of
// every response (Cache-Control, the security headers, X-Request-Id).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBodyBytes+1))
	if err != nil {
		id, _ := secure.RandomToken(12)
		writeGatewayError(w, id, http.StatusBadRequest, "Bad Request")
		return
	}
	route, params, found, methodOK := routes.Match(g.Routes, r.Method, r.URL.Path)
	h := g.NotFound
	ev := EventFromHTTP(r, body)
	if found && methodOK {
		ev.RouteKey = route.Key()
		ev.PathParameters = params
		h = g.Functions[route.Function]
	}
	if h == nil {
		writeGatewayError(w, ev.RequestContext.RequestID, http.StatusBadGateway, "No handler")
		return
	}
	// As Lambda does, each invocation gets the function's timeout as its
	// deadline (httpapi.Server.Handle answers 503 before it).
	ctx, cancel := context.WithTimeout(r.Context(), FunctionTimeout)
	defer cancel()
	res, err := h(ctx, ev)
	if err != nil {
		writeGatewayError(w, ev.RequestContext.RequestID, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	WriteResponse(w, res)
}

// writeGatewayError writes one of the gateway's own answers.
func writeGatewayError(w http.ResponseWriter, reqID string, status int, message string) {
	b, _ := json.Marshal(map[string]string{"message": message})
	WriteResponse(w, events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: httpapi.BaseHeaders(reqID), Body: string(b)})
}

// EventFromHTTP builds the API Gateway HTTP API payload-2.0 event for r, with
// route key "$default"; the caller sets RouteKey and PathParameters.
func EventFromHTTP(r *http.Request, body []byte) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			cookies = append(cookies, v...)
			continue
		}
		headers[lk] = strings.Join(v, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, v := range q {
			query[k] = strings.Join(v, ",")
		}
	}
	id, _ := secure.RandomToken(12)
	now := time.Now()
	ip := r.RemoteAddr
	if i := strings.LastIndexByte(ip, ':'); i > 0 {
		ip = strings.Trim(ip[:i], "[]")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "000000000000", APIID: "local", DomainName: r.Host, Stage: "$default",
			RequestID: id, Time: now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// WriteResponse writes a payload-2.0 response to w.
func WriteResponse(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) {
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.WriteHeader(res.StatusCode)
	if res.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(res.Body)
		if err == nil {
			_, _ = w.Write(b)
		}
		return
	}
	_, _ = io.WriteString(w, res.Body)
}
