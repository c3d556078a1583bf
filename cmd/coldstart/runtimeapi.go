package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The Lambda Runtime API (version 2018-06-01) as aws-lambda-go's client
// (lambda/runtime_api_client.go, built with -tags lambda.norpc) speaks it:
// GET …/invocation/next answers one event with the request id, deadline,
// function ARN and trace id in headers; the function posts the result to
// …/invocation/{id}/response or …/invocation/{id}/error and expects 202.
const (
	apiPrefix          = "/2018-06-01/runtime"
	headerRequestID    = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS   = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN  = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID      = "Lambda-Runtime-Trace-Id"
	headerErrorType    = "Lambda-Runtime-Function-Error-Type"
	invocationDeadline = 30 * time.Second
)

// RuntimeAPI is a Lambda Runtime API server on 127.0.0.1 for one function
// process at a time. It records when the process asks for its next event
// (the first request ends the init phase) and hands out the events given to
// Invoke, one per request, recording the answer of each.
type RuntimeAPI struct {
	// FunctionARN is sent as Lambda-Runtime-Invoked-Function-Arn.
	FunctionARN string

	ln     net.Listener
	srv    *http.Server
	polls  chan time.Time
	queue  chan *Invocation
	closed chan struct{}

	mu        sync.Mutex
	inflight  map[string]*Invocation
	initError *FunctionError
	closeOnce sync.Once
}

// Invocation is one event handed out by the RuntimeAPI and its outcome.
type Invocation struct {
	// ID is the request id (Lambda-Runtime-Aws-Request-Id).
	ID string
	// Event is the payload sent.
	Event []byte
	// Delivered is when the answer to GET …/next was written.
	Delivered time.Time
	// Done is when the response or error arrived.
	Done time.Time
	// Response is the body posted to …/response.
	Response []byte
	// Err is the error posted to …/error (or in a streamed response's
	// trailer); nil when the function answered.
	Err *FunctionError

	done chan struct{}
}

// Duration is the time from delivery of the event to its answer.
func (inv *Invocation) Duration() time.Duration { return inv.Done.Sub(inv.Delivered) }

// FunctionError is an error a function reported: the error type header and
// the body (aws-lambda-go sends {"errorMessage", "errorType"}).
type FunctionError struct {
	Type string
	Body string
}

func (e *FunctionError) Error() string { return fmt.Sprintf("function error %s: %s", e.Type, e.Body) }

// NewRuntimeAPI listens on a free port of 127.0.0.1 and serves the Runtime
// API until Close.
func NewRuntimeAPI(functionARN string) (*RuntimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime api: %w", err)
	}
	a := &RuntimeAPI{
		FunctionARN: functionARN,
		ln:          ln,
		polls:       make(chan time.Time, 16),
		queue:       make(chan *Invocation),
		closed:      make(chan struct{}),
		inflight:    map[string]*Invocation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", a.next)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", a.response)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", a.invocationError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", a.initErr)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	return a, nil
}

// Addr is the value of AWS_LAMBDA_RUNTIME_API: host:port, no scheme.
func (a *RuntimeAPI) Addr() string { return a.ln.Addr().String() }

// Polls delivers the arrival time of every GET …/next.
func (a *RuntimeAPI) Polls() <-chan time.Time { return a.polls }

// InitError returns what the function posted to …/init/error, if anything.
func (a *RuntimeAPI) InitError() *FunctionError {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.initError
}

// Close stops the server and ends every waiting request.
func (a *RuntimeAPI) Close() error {
	a.closeOnce.Do(func() { close(a.closed) })
	return a.srv.Close()
}

// Invoke hands event to the function's next GET …/next and waits for its
// response or error. It fails when ctx ends first; a function error is in
// the Invocation's Err, not in the error returned.
func (a *RuntimeAPI) Invoke(ctx context.Context, event []byte) (*Invocation, error) {
	inv := &Invocation{ID: newRequestID(), Event: event, done: make(chan struct{})}
	select {
	case a.queue <- inv:
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke: no request for the next event: %w", context.Cause(ctx))
	case <-a.closed:
		return nil, errors.New("invoke: runtime api closed")
	}
	select {
	case <-inv.done:
		return inv, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: no response: %w", inv.ID, context.Cause(ctx))
	}
}

func (a *RuntimeAPI) next(w http.ResponseWriter, r *http.Request) {
	select {
	case a.polls <- time.Now():
	default: // nobody is counting: drop
	}
	var inv *Invocation
	select {
	case inv = <-a.queue:
	case <-r.Context().Done():
		return
	case <-a.closed:
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(headerRequestID, inv.ID)
	h.Set(headerDeadlineMS, strconv.FormatInt(time.Now().Add(invocationDeadline).UnixMilli(), 10))
	h.Set(headerFunctionARN, a.FunctionARN)
	h.Set(headerTraceID, newTraceID())
	a.mu.Lock()
	inv.Delivered = time.Now()
	a.inflight[inv.ID] = inv
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.Event)
}

// finish records the outcome of invocation id; it answers 400 for an id
// that was never handed out or has already been answered.
func (a *RuntimeAPI) finish(w http.ResponseWriter, id string, body []byte, ferr *FunctionError) {
	now := time.Now()
	a.mu.Lock()
	inv, ok := a.inflight[id]
	delete(a.inflight, id)
	a.mu.Unlock()
	if !ok {
		writeStatus(w, http.StatusBadRequest, "InvalidRequestID", "unknown or already answered request id "+id)
		return
	}
	inv.Done, inv.Response, inv.Err = now, body, ferr
	close(inv.done)
	writeStatus(w, http.StatusAccepted, "", "")
}

func (a *RuntimeAPI) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "InvalidBody", err.Error())
		return
	}
	var ferr *FunctionError
	// A response whose reader failed midway carries the error in trailers,
	// which are known once the body is read.
	if t := r.Trailer.Get(headerErrorType); t != "" {
		ferr = &FunctionError{Type: t, Body: r.Trailer.Get("Lambda-Runtime-Function-Error-Body")}
	}
	a.finish(w, r.PathValue("id"), body, ferr)
}

func (a *RuntimeAPI) invocationError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.finish(w, r.PathValue("id"), nil, &FunctionError{Type: r.Header.Get(headerErrorType), Body: string(body)})
}

func (a *RuntimeAPI) initErr(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.initError = &FunctionError{Type: r.Header.Get(headerErrorType), Body: string(body)}
	a.mu.Unlock()
	writeStatus(w, http.StatusAccepted, "", "")
}

// writeStatus answers as the Runtime API does: {"status":"OK"} with 202, or
// {"errorMessage", "errorType"}.
func writeStatus(w http.ResponseWriter, code int, errType, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if errType == "" {
		_, _ = io.WriteString(w, `{"status":"OK"}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": msg, "errorType": errType})
}

// newRequestID returns a random UUID, the shape of Lambda's request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header, not sampled.
func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), h[:24], h[24:40])
}
