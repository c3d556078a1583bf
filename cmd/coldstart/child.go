package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
)

// stepTimeout bounds each wait on a function: its init, each invocation,
// and its return to GET …/next.
const stepTimeout = 30 * time.Second

// Program is one bootstrap to measure.
type Program struct {
	// Name is the function name (AWS_LAMBDA_FUNCTION_NAME).
	Name string
	// Bootstrap is the host binary that runs.
	Bootstrap string
	// Env is added to the environment Lambda gives: what the function needs.
	Env []string
}

// Sample is one cold start of a Program.
type Sample struct {
	// Init is from exec to the first GET …/next.
	Init time.Duration
	// First and Warm are the first and second invocations, from delivery
	// of the event to the response; zero when no event was sent.
	First, Warm time.Duration
	// RSSInit is VmRSS right after init; Peak is VmHWM before the kill (bytes).
	RSSInit, Peak int64
	// Status is the statusCode of the first invocation's response (a
	// payload-2.0 answer), 0 when it has none.
	Status, WarmStatus int
}

// lambdaEnv is the environment Lambda gives a provided.al2023 function
// (the part a Go function can notice), for the Runtime API at addr.
func lambdaEnv(name, addr, taskRoot string) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + addr,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TZ=:UTC",
	}
}

// ColdStart runs p once as Lambda would: exec with a fresh Runtime API, wait
// for its first GET …/next (init), read its RSS, send event twice (first and
// warm invocation; none when event is nil), read its peak RSS and kill it.
func ColdStart(ctx context.Context, p Program, event []byte) (Sample, error) {
	var s Sample
	api, err := NewRuntimeAPI("arn:aws:lambda:us-east-1:123456789012:function:" + p.Name)
	if err != nil {
		return s, err
	}
	defer api.Close()

	cmd := exec.Command(p.Bootstrap)
	cmd.Dir = filepath.Dir(p.Bootstrap)
	cmd.Env = append(lambdaEnv(p.Name, api.Addr(), cmd.Dir), p.Env...)
	out := &devstack.TailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return s, fmt.Errorf("%s: start: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		cancel(fmt.Errorf("%s exited (%v); its output:\n%s", p.Name, err, strings.TrimSpace(out.String())))
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	poll := func(what string) (time.Time, error) {
		t := time.NewTimer(stepTimeout)
		defer t.Stop()
		select {
		case at := <-api.Polls():
			return at, nil
		case <-ctx.Done():
			if ie := api.InitError(); ie != nil {
				return time.Time{}, fmt.Errorf("%s: init error: %w", p.Name, ie)
			}
			return time.Time{}, fmt.Errorf("%s: %s: %w", p.Name, what, context.Cause(ctx))
		case <-t.C:
			return time.Time{}, fmt.Errorf("%s: %s: no GET …/next after %v", p.Name, what, stepTimeout)
		}
	}
	ready, err := poll("init")
	if err != nil {
		return s, err
	}
	s.Init = ready.Sub(start)
	pid := cmd.Process.Pid
	if s.RSSInit, err = procStatus(pid, "VmRSS"); err != nil {
		return s, err
	}

	if event != nil {
		for i, res := range []struct {
			d      *time.Duration
			status *int
		}{{&s.First, &s.Status}, {&s.Warm, &s.WarmStatus}} {
			ictx, icancel := context.WithTimeout(ctx, stepTimeout)
			inv, err := api.Invoke(ictx, event)
			icancel()
			if err != nil {
				return s, fmt.Errorf("%s: invocation %d: %w", p.Name, i+1, err)
			}
			if inv.Err != nil {
				return s, fmt.Errorf("%s: invocation %d: %w", p.Name, i+1, inv.Err)
			}
			*res.d, *res.status = inv.Duration(), statusOf(inv.Response)
			// An invocation is over when the function asks for the next one.
			if _, err := poll(fmt.Sprintf("after invocation %d", i+1)); err != nil {
				return s, err
			}
		}
	}
	if s.Peak, err = procStatus(pid, "VmHWM"); err != nil {
		return s, err
	}
	return s, nil
}

// statusOf returns the statusCode of a payload-2.0 response, 0 when the
// body is not one.
func statusOf(body []byte) int {
	var res struct {
		StatusCode int `json:"statusCode"`
	}
	_ = json.Unmarshal(body, &res)
	return res.StatusCode
}

// procStatus reads one "<field>: <n> kB" line of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read memory of process %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no " + field + " in /proc/" + strconv.Itoa(pid) + "/status")
}
