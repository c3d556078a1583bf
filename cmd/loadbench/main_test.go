package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// tableRow returns the columns of the table row of route key in out, nil
// when there is none.
func tableRow(out, key string) []string {
	for _, line := range strings.Split(out, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) > 9 && strings.TrimSpace(cols[0]) == key {
			for i := range cols {
				cols[i] = strings.TrimSpace(cols[i])
			}
			return cols
		}
	}
	return nil
}

// count is column i of row as a number; it fails the test when it is not one.
func count(t *testing.T, row []string, i int) int {
	t.Helper()
	n, err := strconv.Atoi(row[i])
	if err != nil {
		t.Fatalf("column %d of %q: %v", i, row, err)
	}
	return n
}

// Table columns: route, requests, req/s, p50, p99, 2xx, 4xx (not 429), 429, 5xx, errors.
const (
	colRequests = 1
	col2xx      = 5
	col5xx      = 8
	colErrors   = 9
)

// A short load run (against the test services, over loopback HTTP) has a
// row for every public route of the route table, each with requests, no
// 5xx and no transport error, and it names the machine; the right-password
// sign-ins answer 2xx, so the sign-in route ran its real path.
func TestRun_Load(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-d", "300ms", "-c", "2"}, &out, io.Discard); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	n := 0
	for _, r := range catalog.Routes() {
		if !r.Public() {
			continue
		}
		n++
		row := tableRow(out.String(), r.Key())
		if row == nil {
			t.Errorf("%s: got no row, want one in\n%s", r.Key(), out.String())
			continue
		}
		if got := count(t, row, colRequests); got <= 0 {
			t.Errorf("%s: got %d requests, want some", r.Key(), got)
		}
		if got, errs := count(t, row, col5xx), count(t, row, colErrors); got != 0 || errs != 0 {
			t.Errorf("%s: got %d 5xx and %d errors, want none", r.Key(), got, errs)
		}
	}
	if n < 7 {
		t.Errorf("got %d public routes, want at least the 7 of issue 12", n)
	}
	if row := tableRow(out.String(), signInKey); row != nil && count(t, row, col2xx) == 0 {
		t.Errorf("sign-in: got no 2xx, want the right-password sign-ins to succeed: %q", row)
	}
	if !regexp.MustCompile(`(?m)^machine: \d+ CPUs, \w+/\w+, `).MatchString(out.String()) {
		t.Errorf("got %q, want the machine line", out.String())
	}
}

// A short soak reports each interval (three full ones and no more, the
// run being three intervals long) with heap and goroutines, then a row for
// every public route and for each GET of the authenticated flow, whose
// reads with the sign-in's token answer 2xx; nothing answers 5xx.
func TestRun_Soak(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-soak", "-d", "900ms", "-every", "300ms", "-c", "2"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	lines := regexp.MustCompile(`(?m)^\s+\d+\s+at .* req/s .* 5xx 0 .* heap in use\s+[\d.]+ MiB\s+goroutines\s+\d+$`).FindAllString(out.String(), -1)
	if len(lines) != 3 {
		t.Errorf("got %d interval lines, want 3 full ones in\n%s", len(lines), out.String())
	}
	for _, r := range catalog.Routes() {
		if r.Public() && tableRow(out.String(), r.Key()) == nil {
			t.Errorf("%s: got no row, want one in\n%s", r.Key(), out.String())
		}
	}
	for _, k := range []string{userGetKey, settingsKey, usersKey} {
		row := tableRow(out.String(), k)
		if row == nil {
			t.Errorf("%s: got no row, want one in\n%s", k, out.String())
			continue
		}
		if got := count(t, row, col2xx); got <= 0 {
			t.Errorf("%s: got %d 2xx, want the authenticated reads to succeed: %q", k, got, row)
		}
		if got := count(t, row, col5xx); got != 0 {
			t.Errorf("%s: got %d 5xx, want none", k, got)
		}
	}
}

// Every public route has a request builder and every builder a public
// route; a public route without one, or a builder whose route is gone or
// needs a token, fails the check (and so the command, before it starts).
func TestCheckBuilders(t *testing.T) {
	if err := checkBuilders(catalog.Routes(), builders); err != nil {
		t.Fatalf("the route table: %v", err)
	}
	extra := routes.Route{Method: "POST", Path: "/brand-new", Function: "sessions"}
	if err := checkBuilders(append(catalog.Routes(), extra), builders); err == nil || !strings.Contains(err.Error(), extra.Key()) {
		t.Errorf("a public route without a builder: got %v, want an error naming %s", err, extra.Key())
	}
	var table []routes.Route
	for _, r := range catalog.Routes() {
		if r.Key() == signInKey {
			r.Roles = []latchkey.Role{latchkey.RoleAdmin}
		}
		table = append(table, r)
	}
	if err := checkBuilders(table, builders); err == nil || !strings.Contains(err.Error(), signInKey) {
		t.Errorf("a builder for a route that needs a token: got %v, want an error naming %s", err, signInKey)
	}
}

// The growth rule: with three full intervals or more, the last one's heap
// in use or goroutines over twice the second's fails; the first interval
// (warm-up) and a last partial one do not count, nor do runs shorter than
// three full intervals.
func TestCheckGrowth(t *testing.T) {
	const mib = 1 << 20
	s := func(heapMiB uint64, g int) sample { return sample{heapInuse: heapMiB * mib, goroutines: g, full: true} }
	partial := sample{heapInuse: 900 * mib, goroutines: 9000}
	tests := []struct {
		name    string
		samples []sample
		wantErr string
	}{
		{"steady", []sample{s(10, 40), s(20, 300), s(22, 310), s(21, 305)}, ""},
		{"doubled exactly", []sample{s(5, 40), s(20, 300), s(40, 600)}, ""},
		{"heap over twice", []sample{s(5, 40), s(20, 300), s(30, 300), s(41, 300)}, "heap in use grew"},
		{"goroutines over twice", []sample{s(5, 40), s(20, 300), s(20, 601)}, "goroutines grew"},
		{"warm-up ignored", []sample{s(1, 10), s(20, 300), s(25, 320)}, ""},
		{"partial last ignored", []sample{s(5, 40), s(20, 300), s(21, 300), partial}, ""},
		{"two intervals prove nothing", []sample{s(1, 10), s(20, 300), partial}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkGrowth(tt.samples)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// One request in four comes from the busy address and the others go round
// the pool, so the per-source limits see one heavy caller and many light ones.
func TestClients_Source(t *testing.T) {
	c := &clients{bind: true}
	for i := range poolSize {
		c.pool = append(c.pool, strconv.Itoa(i))
	}
	seen := map[string]int{}
	for k := range 4 * poolSize {
		seen[c.source(k)]++
	}
	if seen[hotSource] != poolSize {
		t.Errorf("busy address: got %d of %d requests, want %d", seen[hotSource], 4*poolSize, poolSize)
	}
	for _, a := range c.pool {
		if seen[a] != 3 {
			t.Errorf("pool address %s: got %d requests, want 3", a, seen[a])
		}
	}
	if got := (&clients{}).source(4); got != "127.0.0.1" {
		t.Errorf("without binding: got %s, want 127.0.0.1", got)
	}
}

// The defaults are 8 clients for 10s per route, or 10m reported every
// minute with -soak; counts and durations must be positive.
func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || o.clients != 8 || o.duration != 10*time.Second || o.soak {
		t.Errorf("load defaults: got %+v, %v, want 8 clients for 10s", o, err)
	}
	o, err = parseFlags([]string{"-soak"}, io.Discard)
	if err != nil || o.duration != 10*time.Minute || o.every != time.Minute {
		t.Errorf("soak defaults: got %+v, %v, want 10m every 1m", o, err)
	}
	for _, bad := range [][]string{{"-c", "0"}, {"-d", "-1s"}, {"-every", "0s"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v: got no error, want one", bad)
		}
	}
}

// The nearest-rank percentile of a sorted list.
func TestPercentile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99); p50 != 50*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("got p50 %s, p99 %s, want 50ms, 99ms", p50, p99)
	}
	if got := percentile(nil, 0.99); got != 0 {
		t.Errorf("empty: got %s, want 0", got)
	}
}
