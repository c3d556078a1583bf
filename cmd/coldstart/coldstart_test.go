package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
)

// buildHello builds cmd/coldstart/hello for the host as the harness does.
func buildHello(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the hello-world function: %v", err)
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := Builder{Go: goCmd, Dir: root}.Build(ctx, helloPkg, helloName, runtime.GOOS, runtime.GOARCH, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// One cold start of the hello-world function through the Runtime API: init,
// two invocations answered 200, memory read from /proc.
func TestColdStart_Hello(t *testing.T) {
	bin := buildHello(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := ColdStart(ctx, Program{Name: helloName, Bootstrap: bin}, []byte(helloEvent))
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != 200 || s.WarmStatus != 200 {
		t.Errorf("statuses: got %d and %d, want 200 twice", s.Status, s.WarmStatus)
	}
	if s.Init <= 0 || s.First <= 0 || s.Warm <= 0 {
		t.Errorf("times: got init %v, first %v, warm %v, want all > 0", s.Init, s.First, s.Warm)
	}
	if s.RSSInit <= 0 || s.Peak < s.RSSInit {
		t.Errorf("memory: got RSS after init %d, peak %d, want 0 < RSS ≤ peak", s.RSSInit, s.Peak)
	}

	t.Run("init only", func(t *testing.T) {
		s, err := ColdStart(ctx, Program{Name: helloName, Bootstrap: bin}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Init <= 0 || s.First != 0 || s.Status != 0 {
			t.Errorf("got init %v, first %v, status %d, want init only", s.Init, s.First, s.Status)
		}
	})
}

func TestColdStart_ExitDuringInit(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'missing TABLE_NAME' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ColdStart(context.Background(), Program{Name: "broken", Bootstrap: bin}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing TABLE_NAME") {
		t.Errorf("got %v, want an error with the function's output", err)
	}
}

func TestResult_Summarize(t *testing.T) {
	r := Result{Samples: []Sample{
		{Init: 30 * time.Millisecond, RSSInit: 3, Peak: 9, Status: 201, WarmStatus: 201},
		{Init: 10 * time.Millisecond, RSSInit: 1, Peak: 7, Status: 201, WarmStatus: 201},
		{Init: 20 * time.Millisecond, RSSInit: 2, Peak: 8, Status: 429, WarmStatus: 201},
	}}
	s := r.Summarize()
	if s.Init != 20*time.Millisecond || s.RSSInit != 2 || s.Peak != 8 || s.Status != 201 {
		t.Errorf("got %+v, want the medians 20ms, 2, 8 and status 201", s)
	}
	if got := median([]int64{4, 1, 3, 2}); got != 2 {
		t.Errorf("median of 1..4: got %d, want 2 (integer mean of 2 and 3)", got)
	}
}

func TestJudge(t *testing.T) {
	hello := Summary{Init: 10 * time.Millisecond, RSSInit: 100}
	for _, c := range []struct {
		name                 string
		fn                   Summary
		size                 int64
		initOK, binOK, memOK bool
	}{
		{"all met at the limits", Summary{Init: 15 * time.Millisecond, RSSInit: 200}, maxBinaryBytes, true, true, true},
		{"slow init", Summary{Init: 16 * time.Millisecond, RSSInit: 100}, 1, false, true, true},
		{"big binary", Summary{Init: 10 * time.Millisecond, RSSInit: 100}, maxBinaryBytes + 1, true, false, true},
		{"memory", Summary{Init: 10 * time.Millisecond, RSSInit: 201}, 1, true, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Judge(c.fn, c.size, hello)
			if v.InitOK != c.initOK || v.BinaryOK != c.binOK || v.MemOK != c.memOK {
				t.Errorf("got init %v binary %v memory %v, want %v %v %v", v.InitOK, v.BinaryOK, v.MemOK, c.initOK, c.binOK, c.memOK)
			}
		})
	}
}

func TestWriteTable(t *testing.T) {
	hello := Result{Name: helloName, Event: "GET /", ARM64Size: 5_000_000, Samples: []Sample{{Init: 10 * time.Millisecond, RSSInit: 6 << 20, Peak: 7 << 20, Status: 200, WarmStatus: 200}}}
	fn := Result{Name: "sessions", Event: "sessions.sign-in.json", ARM64Size: 22_000_000, Samples: []Sample{{Init: 34 * time.Millisecond, RSSInit: 14 << 20, Peak: 50 << 20, Status: 201, WarmStatus: 201}}}
	var b bytes.Buffer
	if ok := WriteTable(&b, hello, []Result{fn}); ok {
		t.Error("all met: got true, want false (22 MB, 3.4× init)")
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want header, rule, hello-world and sessions:\n%s", len(lines), b.String())
	}
	for _, want := range []string{"| sessions |", "`sessions.sign-in.json` → 201", "| 34.0 | 3.40 |", "22.00 (22000000)", "| FAIL | FAIL | FAIL |"} {
		if !strings.Contains(lines[3], want) {
			t.Errorf("sessions row: got %q, want it to contain %q", lines[3], want)
		}
	}
}

func TestEventFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"sessions.sign-in.json", "sessions.new-password.json", "reminders.b.json", "reminders.a.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ fn, override, want string }{
		{"sessions", "", filepath.Join(dir, "sessions.sign-in.json")},
		{"reminders", "", filepath.Join(dir, "reminders.a.json")},
		{"sessions", "x.json", "x.json"},
	} {
		overrides := eventFlag{}
		if c.override != "" {
			overrides[c.fn] = c.override
		}
		if got, err := eventFile(dir, c.fn, overrides); err != nil || got != c.want {
			t.Errorf("eventFile(%s, override %q): got %q (%v), want %q", c.fn, c.override, got, err, c.want)
		}
	}
	if _, err := eventFile(dir, "nothing", nil); err == nil {
		t.Error("function without events: got no error, want one")
	}
}
