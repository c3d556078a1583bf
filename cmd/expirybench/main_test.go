package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A small run (against the test services): both sizes notify every due
// user, the table has a row per size with its reads, and the reads per
// notified user do not grow with the tenant (the command would fail).
func TestRun_Small(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-sizes", "300,1500", "-due", "60"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	rows := regexp.MustCompile(`(?m)^\s*(300|1500)\s+60\s+60\s`).FindAllString(out.String(), -1)
	if len(rows) != 2 {
		t.Errorf("got %q, want a row per size, each with 60 due and 60 notified", out.String())
	}
	if !strings.Contains(out.String(), "reads per notified user, 1500 users / 300 users: ") {
		t.Errorf("got %q, want the ratio line", out.String())
	}
}

// A ratio over -max-ratio fails the command: the reads of the larger tenant
// cannot fall under a cap of 0.5 of the smaller one's.
func TestRun_RatioOverCap(t *testing.T) {
	err := run(context.Background(), []string{"-sizes", "100,200", "-due", "20", "-max-ratio", "0.5"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "reads per notified user grew") {
		t.Errorf("got %v, want the ratio refused", err)
	}
}

func TestParseFlags(t *testing.T) {
	for _, bad := range [][]string{
		{"-sizes", "1000,500"},
		{"-sizes", "5", "-due", "10"},
		{"-sizes", "many"},
		{"-due", "0"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v: got no error, want one", bad)
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil || len(o.sizes) != 2 || o.sizes[0] != 100000 || o.sizes[1] != 1000000 || o.due != 10000 || o.maxRatio != 1.1 {
		t.Errorf("defaults: got %+v, %v, want 100000 and 1000000 users, 10000 due, at most 1.1", o, err)
	}
}
