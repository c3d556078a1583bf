package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/shared/catalog"
)

// The authenticated flow of the soak: an admin signs in, then reads their
// own user, the tenant's settings and the first page of users with the
// token.
const (
	signInKey   = "POST /v1/tenants/{tenant}/sessions"
	userGetKey  = "GET /v1/tenants/{tenant}/users/{userId}"
	settingsKey = "GET /v1/tenants/{tenant}/settings"
	usersKey    = "GET /v1/tenants/{tenant}/users"
)

// sample is the process's state after one interval of the soak, taken with
// no request in flight and after a GC.
type sample struct {
	heapInuse  uint64
	goroutines int
	// full is false for a last interval cut short by the end of the run.
	full bool
}

// soak mixes every public route and the authenticated flow for o.duration,
// printing a line every o.every, then the per-route table. It fails on any
// 5xx or transport error and when checkGrowth does.
func (b *bench) soak(ctx context.Context, o options, out io.Writer, progress func(string, ...any)) error {
	table := map[string]bool{}
	var public []string
	for _, r := range catalog.Routes() {
		table[r.Key()] = true
		if r.Public() {
			public = append(public, r.Key())
		}
	}
	for _, k := range []string{signInKey, userGetKey, settingsKey, usersKey} {
		if !table[k] {
			return fmt.Errorf("the soak's authenticated flow names %s, which the route table does not have", k)
		}
	}
	perRoute := map[string]*stats{}
	order := append(append([]string(nil), public...), userGetKey, settingsKey, usersKey)
	for _, k := range order {
		perRoute[k] = &stats{}
	}
	// Step k%steps is the flow for 0 (so the shortest run has one), else
	// public route k%steps-1.
	steps := len(public) + 1
	progress("soak: %d clients for %s, every %s: %d public routes and the authenticated flow in turn", o.clients, o.duration, o.every, len(public))
	fmt.Fprintf(out, "\nsoak: %d clients for %s, loopback HTTP; every %s (clients paused, idle connections closed, after a GC):\n", o.clients, o.duration, o.every)

	var next atomic.Int64
	var samples []sample
	began := time.Now()
	for i := 1; ; i++ {
		end, full := began.Add(time.Duration(i)*o.every), true
		if stop := began.Add(o.duration); !end.Before(stop) {
			end, full = stop, end.Equal(stop)
		}
		iv, ivBegan := &stats{}, time.Now()
		record := func(key string, status int, d time.Duration, err error) {
			perRoute[key].add(status, d, err)
			iv.add(status, d, err)
		}
		err := workers(ctx, o.clients, end, &next, func(ctx context.Context, k int) {
			src := b.clients.source(k)
			if k%steps > 0 {
				key := public[k%steps-1]
				status, d, _, err := b.do(ctx, key, src, builders[key](b, k), false)
				record(key, status, d, err)
				return
			}
			b.flow(ctx, k/steps, src, record)
		})
		if err != nil {
			return err
		}
		s := iv.summary()
		elapsed := time.Since(ivBegan)
		smp := b.measure(full)
		samples = append(samples, smp)
		partial := ""
		if !full {
			partial = " (partial)"
		}
		fmt.Fprintf(out, "%3d  at %-8s %7d requests  %7.1f req/s  p99 %9s  5xx %d  errors %d  429 %5d  heap in use %6.1f MiB  goroutines %4d%s\n",
			i, time.Since(began).Round(time.Second), s.n, float64(s.n)/elapsed.Seconds(), ms(s.p99), s.c5xx, s.cerr, s.c429,
			float64(smp.heapInuse)/(1<<20), smp.goroutines, partial)
		if !end.Before(began.Add(o.duration)) {
			break
		}
	}
	total := time.Since(began)
	var rows []row
	for _, k := range order {
		rows = append(rows, row{name: k, stats: perRoute[k], elapsed: total})
	}
	fmt.Fprintf(out, "\nsoak, whole run (%s), by route:\n\n", total.Round(time.Second))
	writeTable(out, rows)
	if err := failures(rows); err != nil {
		return err
	}
	return checkGrowth(samples)
}

// measure samples the process between intervals: with no request in
// flight, the clients' idle connections closed (so the count leaves out
// the keep-alive connections of the 257 source addresses, which open as
// the sources first call; the server's connection goroutines are given a
// moment to end) and after a GC.
func (b *bench) measure(full bool) sample {
	b.clients.close()
	g := runtime.NumGoroutine()
	for range 40 {
		time.Sleep(25 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == g {
			break
		}
		g = n
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return sample{heapInuse: m.HeapInuse, goroutines: runtime.NumGoroutine(), full: full}
}

// flow is the authenticated flow from source src: admin j%rightUsers signs
// in with the right password and, with the token, reads their own user,
// the settings and the first page of users.
func (b *bench) flow(ctx context.Context, j int, src string, record func(string, int, time.Duration, error)) {
	a := b.users.right[j%len(b.users.right)]
	status, d, body, err := b.do(ctx, signInKey, src, request{body: jsonBody(map[string]string{"username": a.username, "password": a.password})}, true)
	record(signInKey, status, d, err)
	var tok struct {
		Token string `json:"token"`
	}
	if err != nil || status != http.StatusCreated || json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		return // a refused sign-in (429 from a busy source) is counted; there is no token to go on with
	}
	auth := map[string]string{"Authorization": "Bearer " + tok.Token}
	for _, step := range []struct {
		key string
		rq  request
	}{
		{userGetKey, request{params: map[string]string{"userId": a.id}, header: auth}},
		{settingsKey, request{header: auth}},
		{usersKey, request{query: "limit=20", header: auth}},
	} {
		status, d, _, err := b.do(ctx, step.key, src, step.rq, false)
		record(step.key, status, d, err)
	}
}

// checkGrowth is the soak's rule against unbounded growth: with three full
// intervals or more, the last full interval's heap in use must be at most
// twice the second's, and its goroutines at most twice the second's. The
// first interval is warm-up (connections, caches and pools filling), so the
// second is the baseline; fewer than three full intervals prove nothing
// about growth and pass.
func checkGrowth(samples []sample) error {
	var full []sample
	for _, s := range samples {
		if s.full {
			full = append(full, s)
		}
	}
	if len(full) < 3 {
		return nil
	}
	base, last := full[1], full[len(full)-1]
	if last.heapInuse > 2*base.heapInuse {
		return fmt.Errorf("heap in use grew from %.1f MiB (interval 2) to %.1f MiB (interval %d): more than twice",
			float64(base.heapInuse)/(1<<20), float64(last.heapInuse)/(1<<20), len(full))
	}
	if last.goroutines > 2*base.goroutines {
		return fmt.Errorf("goroutines grew from %d (interval 2) to %d (interval %d): more than twice", base.goroutines, last.goroutines, len(full))
	}
	return nil
}
