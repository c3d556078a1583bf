package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeFunction plays a function's part of the Runtime API, as aws-lambda-go's
// client does: GET …/next, then POST the result.
type fakeFunction struct {
	t    *testing.T
	base string
}

func (f fakeFunction) next() (id string, header http.Header, body string) {
	f.t.Helper()
	res, err := http.Get(f.base + "/invocation/next")
	if err != nil {
		f.t.Fatalf("GET next: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		f.t.Fatalf("GET next: got status %d, want 200", res.StatusCode)
	}
	return res.Header.Get(headerRequestID), res.Header, string(b)
}

func (f fakeFunction) post(path string, header map[string]string, body string) int {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("POST %s: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

func newAPI(t *testing.T) (*RuntimeAPI, fakeFunction) {
	t.Helper()
	api, err := NewRuntimeAPI("arn:aws:lambda:us-east-1:123456789012:function:test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Close() })
	return api, fakeFunction{t: t, base: "http://" + api.Addr() + apiPrefix}
}

// invokeAsync runs Invoke in the background and returns its outcome.
func invokeAsync(api *RuntimeAPI, event string) <-chan *Invocation {
	out := make(chan *Invocation, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		inv, _ := api.Invoke(ctx, []byte(event))
		out <- inv
	}()
	return out
}

func TestRuntimeAPI_Invoke(t *testing.T) {
	t.Run("response", func(t *testing.T) {
		api, fn := newAPI(t)
		done := invokeAsync(api, `{"rawPath":"/"}`)
		id, h, body := fn.next()
		select {
		case <-api.Polls():
		default:
			t.Error("polls: got none, want the time of the GET")
		}
		if body != `{"rawPath":"/"}` {
			t.Errorf("event: got %q, want the one given to Invoke", body)
		}
		if len(id) != 36 {
			t.Errorf("request id: got %q, want a UUID", id)
		}
		ms, err := strconv.ParseInt(h.Get(headerDeadlineMS), 10, 64)
		if left := time.Until(time.UnixMilli(ms)); err != nil || left <= 0 || left > invocationDeadline {
			t.Errorf("deadline: got %q, want epoch ms within %v", h.Get(headerDeadlineMS), invocationDeadline)
		}
		if got := h.Get(headerFunctionARN); got != api.FunctionARN {
			t.Errorf("function ARN: got %q, want %q", got, api.FunctionARN)
		}
		if got := h.Get(headerTraceID); !strings.HasPrefix(got, "Root=1-") {
			t.Errorf("trace id: got %q, want Root=1-…", got)
		}
		if code := fn.post("/invocation/"+id+"/response", nil, `{"statusCode":200,"body":"hello"}`); code != http.StatusAccepted {
			t.Errorf("POST response: got %d, want 202", code)
		}
		inv := <-done
		if inv == nil {
			t.Fatal("Invoke: got no invocation, want the response")
		}
		if inv.ID != id || string(inv.Response) != `{"statusCode":200,"body":"hello"}` || inv.Err != nil {
			t.Errorf("invocation: got id %q response %q err %v, want %q and the posted body", inv.ID, inv.Response, inv.Err, id)
		}
		if inv.Duration() <= 0 {
			t.Errorf("duration: got %v, want > 0", inv.Duration())
		}
		if code := fn.post("/invocation/"+id+"/response", nil, `{}`); code != http.StatusBadRequest {
			t.Errorf("second response to %s: got %d, want 400", id, code)
		}
	})

	t.Run("error", func(t *testing.T) {
		api, fn := newAPI(t)
		done := invokeAsync(api, `{}`)
		id, _, _ := fn.next()
		body := `{"errorMessage":"boom","errorType":"errorString"}`
		if code := fn.post("/invocation/"+id+"/error", map[string]string{headerErrorType: "errorString"}, body); code != http.StatusAccepted {
			t.Errorf("POST error: got %d, want 202", code)
		}
		inv := <-done
		if inv == nil || inv.Err == nil || inv.Err.Type != "errorString" || inv.Err.Body != body {
			t.Fatalf("invocation: got %+v, want the error posted", inv)
		}
	})

	t.Run("unknown request id", func(t *testing.T) {
		_, fn := newAPI(t)
		if code := fn.post("/invocation/nope/response", nil, `{}`); code != http.StatusBadRequest {
			t.Errorf("got %d, want 400", code)
		}
	})

	t.Run("init error", func(t *testing.T) {
		api, fn := newAPI(t)
		if code := fn.post("/init/error", map[string]string{headerErrorType: "Runtime.ExitError"}, `{"errorMessage":"no config"}`); code != http.StatusAccepted {
			t.Errorf("POST init/error: got %d, want 202", code)
		}
		if e := api.InitError(); e == nil || e.Type != "Runtime.ExitError" {
			t.Errorf("init error: got %v, want Runtime.ExitError", e)
		}
	})

	t.Run("nobody asks", func(t *testing.T) {
		api, _ := newAPI(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := api.Invoke(ctx, []byte(`{}`)); err == nil {
			t.Error("got no error, want one when no function asks for the event")
		}
	})
}

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"statusCode":201,"body":"{}"}`, 201},
		{`"hello"`, 0},
		{``, 0},
	} {
		if got := statusOf([]byte(c.body)); got != c.want {
			t.Errorf("statusOf(%q): got %d, want %d", c.body, got, c.want)
		}
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(helloEvent), &res); err != nil || res["version"] != "2.0" {
		t.Errorf("helloEvent: got %v (%v), want a payload-2.0 event", res["version"], err)
	}
}
