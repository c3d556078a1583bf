package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// FaultProxy is a reverse proxy on 127.0.0.1 in front of one local service
// (DynamoDB Local, the SES emulator, the SMS outbox) whose behaviour a test
// programs while it runs: every request passes through, except those a
// fault rule claims, which get the rule's answer instead (an error status
// and body, a dropped connection, or a delay). Clients are pointed at
// Endpoint in place of the service's own endpoint, so the real SDK clients
// and the real services are exercised, and only the network between them is
// made to fail.
type FaultProxy struct {
	target   *url.URL
	rp       *httputil.ReverseProxy
	srv      *http.Server
	endpoint string

	mu       sync.Mutex
	rules    []*faultRule
	requests int
	faulted  int
}

// Fault is what the proxy does with a request a rule claims. With Drop the
// connection is closed without an answer, as when the service is
// unreachable; otherwise, after Delay (cut short when the client gives up),
// a Status other than 0 is answered with Header and Body, and a Status of 0
// passes the request through (a slow service).
type Fault struct {
	Status int
	Header http.Header
	Body   string
	Drop   bool
	Delay  time.Duration
}

// Match picks the requests a rule applies to. It may read the request's
// body (FormAction does) as long as it puts back an unread copy.
type Match func(r *http.Request) bool

// faultRule answers the matching requests numbered from..from+count-1
// (counted from 1 since the rule was set; count 0 is without end) with f.
type faultRule struct {
	match       Match
	from, count int
	seen        int
	f           Fault
}

// Ready-made faults, each in its protocol's own wire form, so that the SDK
// parses them into the error it would get from AWS.
var (
	// DynamoThrottling is DynamoDB's throttling (JSON 1.0 protocol), which
	// the SDK retries and then returns as a ThrottlingException.
	DynamoThrottling = jsonFault(http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ThrottlingException", "Rate of requests exceeds the allowed throughput.")
	// DynamoServerError is DynamoDB's 500 InternalServerError.
	DynamoServerError = jsonFault(http.StatusInternalServerError, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error.")
	// DynamoUnavailable is a 503 ServiceUnavailable from DynamoDB.
	DynamoUnavailable = jsonFault(http.StatusServiceUnavailable, "com.amazonaws.dynamodb.v20120810#ServiceUnavailable", "Service unavailable.")
	// SESThrottling is SES v2's throttling (REST JSON protocol): 429 with
	// the error type in the x-amzn-ErrorType header.
	SESThrottling = restFault(http.StatusTooManyRequests, "TooManyRequestsException", "Too many requests.")
	// SESServerError is a 500 from SES v2.
	SESServerError = restFault(http.StatusInternalServerError, "InternalFailure", "Internal failure.")
	// SESUnavailable is a 503 from SES v2.
	SESUnavailable = restFault(http.StatusServiceUnavailable, "ServiceUnavailable", "Service unavailable.")
	// SNSThrottling is SNS's throttling (Query protocol): 400 with an XML
	// ErrorResponse whose Code is Throttling.
	SNSThrottling = queryFault(http.StatusBadRequest, "Sender", "Throttling", "Rate exceeded.")
	// SNSServerError is a 500 InternalError from SNS.
	SNSServerError = queryFault(http.StatusInternalServerError, "Receiver", "InternalError", "Internal error.")
	// SNSUnavailable is a 503 ServiceUnavailable from SNS.
	SNSUnavailable = queryFault(http.StatusServiceUnavailable, "Receiver", "ServiceUnavailable", "Service unavailable.")
	// Unreachable drops the connection without an answer.
	Unreachable = Fault{Drop: true}
)

// Slow is a fault that holds a request for d before passing it through.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

func jsonFault(status int, typ, msg string) Fault {
	return Fault{Status: status, Header: http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
		Body: fmt.Sprintf(`{"__type":%q,"message":%q}`, typ, msg)}
}

func restFault(status int, typ, msg string) Fault {
	return Fault{Status: status, Header: http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {typ}},
		Body: fmt.Sprintf(`{"message":%q}`, msg)}
}

func queryFault(status int, typ, code, msg string) Fault {
	return Fault{Status: status, Header: http.Header{"Content-Type": {"text/xml"}},
		Body: fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>`,
			typ, code, msg)}
}

// AnyRequest matches every request.
func AnyRequest(*http.Request) bool { return true }

// AmzTarget matches requests of a JSON-protocol operation by its
// X-Amz-Target header, such as "DynamoDB_20120810.TransactWriteItems".
func AmzTarget(target string) Match {
	return func(r *http.Request) bool { return r.Header.Get("X-Amz-Target") == target }
}

// PathPrefix matches requests whose path starts with prefix, such as
// "/v2/email/outbound-emails" for SES v2's SendEmail.
func PathPrefix(prefix string) Match {
	return func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, prefix) }
}

// FormAction matches Query-protocol requests (SNS) by their Action form
// value, such as "Publish". It reads the body and puts back a copy.
func FormAction(action string) Match {
	return func(r *http.Request) bool {
		if r.Body == nil {
			return false
		}
		b, err := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return false
		}
		v, err := url.ParseQuery(string(b))
		return err == nil && v.Get("Action") == action
	}
}

// StartFaultProxy starts a proxy on a free port of 127.0.0.1 in front of
// the service at target (such as "http://127.0.0.1:8000"), passing
// everything through until a test sets a fault. Close stops it.
func StartFaultProxy(target string) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("fault proxy: target %q is not a URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: %w", err)
	}
	p := &FaultProxy{target: u, endpoint: "http://" + ln.Addr().String()}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// The SDK signed the request for the proxy's host; keep it,
			// as the request's signature covers it.
			pr.Out.Host = pr.In.Host
		},
		// A client that gave up (its timeout) is what a test wants, not
		// noise in the test's output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Endpoint is the proxy's base URL, to give clients in place of the
// service's.
func (p *FaultProxy) Endpoint() string { return p.endpoint }

// Close stops the proxy and drops its connections.
func (p *FaultProxy) Close() error { return p.srv.Close() }

// FailNext answers the next n requests that match with f.
func (p *FaultProxy) FailNext(n int, match Match, f Fault) { p.add(match, 1, n, f) }

// FailFrom answers the k-th request that matches (counted from 1, from now)
// and every one after it with f, until Heal: a service that goes away in
// the middle of a flow.
func (p *FaultProxy) FailFrom(k int, match Match, f Fault) { p.add(match, k, 0, f) }

// Heal removes every fault: from now on everything passes through.
func (p *FaultProxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns how many requests reached the proxy, and how many of
// them a fault answered, since it started.
func (p *FaultProxy) Requests() (total, faulted int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.faulted
}

func (p *FaultProxy) add(match Match, from, count int, f Fault) {
	if match == nil {
		match = AnyRequest
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &faultRule{match: match, from: from, count: count, f: f})
}

// fault returns the fault for r, if a rule claims it. Rules are tried in
// the order they were set, and a rule counts only the matching requests no
// earlier rule claimed, so that rules set one after another make a
// sequence: FailNext(4, m, SESThrottling) then FailNext(1, m,
// SESUnavailable) throttles four sends, fails the fifth with a 503, and
// passes the sixth.
func (p *FaultProxy) fault(r *http.Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	for _, rule := range p.rules {
		if !rule.match(r) {
			continue
		}
		rule.seen++
		if rule.seen < rule.from || (rule.count > 0 && rule.seen >= rule.from+rule.count) {
			continue
		}
		p.faulted++
		return rule.f, true
	}
	return Fault{}, false
}

// ServeHTTP answers r by the faults set, or passes it through.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := p.fault(r)
	if !ok {
		p.rp.ServeHTTP(w, r)
		return
	}
	if f.Delay > 0 && !sleepCtx(r.Context(), f.Delay) {
		return // the client gave up waiting
	}
	switch {
	case f.Drop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case f.Status != 0:
		for k, vs := range f.Header {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(f.Body)))
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// sleepCtx waits for d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
