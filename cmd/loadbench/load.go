package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Source addresses. Linux routes the whole of 127.0.0.0/8 to the loopback
// interface, so a client can bind any of them and the gateway sees that
// address as the caller's.
const (
	// hotSource sends one request in four: a busy office behind one NAT
	// address, or one attacker, which the per-source limits are for.
	hotSource = "127.66.0.1"
	// poolSize addresses under 127.77.0.0/16 send the rest, in turn.
	poolSize = 256
)

// clients holds one HTTP client per source address, each with its own
// keep-alive connections, as separate callers have.
type clients struct {
	bind bool
	pool []string
	mu   sync.Mutex
	m    map[string]*http.Client
}

// newClients checks that a client can bind a loopback address other than
// 127.0.0.1 and connect to server; where it cannot (not Linux), every
// request comes from 127.0.0.1, which the note says.
func newClients(server string) (*clients, string) {
	c := &clients{m: map[string]*http.Client{}}
	for i := range poolSize {
		c.pool = append(c.pool, fmt.Sprintf("127.77.%d.%d", i/250, i%250+1))
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.pool[0])}, Timeout: 2 * time.Second}
	conn, err := d.Dial("tcp", server)
	if err != nil {
		return c, fmt.Sprintf("binding %s failed (%v): every request comes from 127.0.0.1, so the per-source limits answer 429 sooner than for real callers", c.pool[0], err)
	}
	conn.Close()
	c.bind = true
	return c, fmt.Sprintf("1 request in 4 from %s, the others in turn from %d addresses %s to %s", hotSource, poolSize, c.pool[0], c.pool[poolSize-1])
}

// source is the address request k comes from: hotSource for every fourth,
// else the next address of the pool.
func (c *clients) source(k int) string {
	if !c.bind {
		return "127.0.0.1"
	}
	if k%4 == 0 {
		return hotSource
	}
	return c.pool[(k-k/4-1)%poolSize]
}

// client is the HTTP client of source address src.
func (c *clients) client(src string) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.m[src]; ok {
		return h
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if c.bind {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	h := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second,
	}}
	c.m[src] = h
	return h
}

// close closes every client's idle connections.
func (c *clients) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.m {
		h.CloseIdleConnections()
	}
}

// request is one request of a route: its path parameters (the tenant is
// filled in), headers and JSON body.
type request struct {
	params map[string]string
	query  string
	header map[string]string
	body   string
}

// do sends rq to the route with key routeKey from source src and returns
// the status, the time to the end of the body, and the body when keep.
func (b *bench) do(ctx context.Context, routeKey, src string, rq request, keep bool) (int, time.Duration, []byte, error) {
	method, path, _ := strings.Cut(routeKey, " ")
	params := map[string]string{"tenant": tenantID}
	for k, v := range rq.params {
		params[k] = v
	}
	for k, v := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	if rq.query != "" {
		path += "?" + rq.query
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.baseURL+path, body)
	if err != nil {
		return 0, 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "loadbench")
	if rq.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	began := time.Now()
	res, err := b.clients.client(src).Do(req)
	if err != nil {
		return 0, time.Since(began), nil, err
	}
	defer res.Body.Close()
	var kept []byte
	if keep {
		kept, err = io.ReadAll(res.Body)
	} else {
		_, err = io.Copy(io.Discard, res.Body)
	}
	return res.StatusCode, time.Since(began), kept, err
}

// workers runs n clients calling f with consecutive request numbers k
// (taken from next, shared by the clients) until end, each finishing its
// request in flight. It returns ctx's error when ctx ends first.
func workers(ctx context.Context, n int, end time.Time, next *atomic.Int64, f func(ctx context.Context, k int)) error {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				f(ctx, int(next.Add(1)-1))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// stats counts the answers of some requests and keeps their latencies.
type stats struct {
	mu                              sync.Mutex
	n, c2xx, c4xx, c429, c5xx, cerr int
	lat                             []time.Duration
}

// add records one request: its status (0 when err) and latency.
func (s *stats) add(status int, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	switch {
	case err != nil:
		s.cerr++
		return
	case status == http.StatusTooManyRequests:
		s.c429++
	case status >= 500:
		s.c5xx++
	case status >= 400:
		s.c4xx++
	case status >= 200 && status < 300:
		s.c2xx++
	}
	s.lat = append(s.lat, d)
}

// summary is a copy of the counts with the latencies' p50 and p99.
type summary struct {
	n, c2xx, c4xx, c429, c5xx, cerr int
	p50, p99                        time.Duration
}

func (s *stats) summary() summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := append([]time.Duration(nil), s.lat...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return summary{n: s.n, c2xx: s.c2xx, c4xx: s.c4xx, c429: s.c429, c5xx: s.c5xx, cerr: s.cerr,
		p50: percentile(lat, 0.50), p99: percentile(lat, 0.99)}
}

// percentile is the nearest-rank q-quantile of sorted, 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
