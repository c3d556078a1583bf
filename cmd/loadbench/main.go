// Command loadbench loads the local API over loopback HTTP (issue 12):
// `make bench` runs it once per public route, `make soak` runs it as a long
// mixed soak.
//
// It starts DynamoDB Local, the SES emulator and the SMS outbox
// (shared/devstack), creates a table and a tenant with users, builds the
// system (system.Build) and serves every route through the local gateway
// (system.Deps.Gateway, as `make run` does) with net/http on 127.0.0.1 and a
// free port. The load goes through real loopback HTTP connections, and each
// request comes from one of many loopback source addresses (the gateway
// takes the source address from the connection, so a client bound to
// 127.77.0.9 is a caller at 127.77.0.9): one in four from a single busy
// address, the rest spread over 256, so the per-source rate limits answer
// 429 as they would for real callers.
//
// Without -soak it runs -c clients against each public route of the route
// table for -d, one route after another, and prints a table per route:
// requests, throughput, p50 and p99 latency and the answers by status class
// (2xx, 4xx less 429, 429, 5xx, transport errors). With -soak it runs -c
// clients for -d mixing every public route with the main authenticated
// flow (sign-in, then three GETs with the token), prints a line every
// -every with the interval's throughput, p99, 5xx and 429 counts, the
// process's heap in use and its goroutines (taken between intervals, with
// no request in flight, the clients' idle connections closed and after a
// GC; the process is the API server and the load clients together), then
// the same table for the whole run.
//
// It exits 1 when any request was answered 5xx or failed in transport,
// when a public route has no request builder here, and, with -soak, when
// heap or goroutines grow without bound: with three full intervals or
// more, the last full interval's heap in use more than twice the second
// interval's, or its goroutines more than twice the second interval's (the
// first interval is warm-up: connections, caches and pools filling).
//
//	go run ./cmd/loadbench [-c 8] [-d 10s]
//	go run ./cmd/loadbench -soak [-c 8] [-d 10m] [-every 1m]
//
// DYNAMODB_ENDPOINT and SES_ENDPOINT point it at running services instead
// of the ones it starts (DynamoDB Local in memory, the SES emulator).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/system"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	clients  int
	duration time.Duration
	soak     bool
	every    time.Duration
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	o := options{}
	fs.IntVar(&o.clients, "c", 8, "concurrent clients")
	fs.DurationVar(&o.duration, "d", 0, "time per public route (default 10s), or with -soak the whole run (default 10m)")
	fs.BoolVar(&o.soak, "soak", false, "mix every public route and the authenticated flow for -d, reporting every -every")
	fs.DurationVar(&o.every, "every", time.Minute, "with -soak: the reporting interval")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.duration == 0 {
		o.duration = map[bool]time.Duration{false: 10 * time.Second, true: 10 * time.Minute}[o.soak]
	}
	if o.clients <= 0 || o.duration <= 0 || o.every <= 0 {
		return o, errors.New("-c, -d and -every must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	o, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	// A new public route without a request builder fails before anything starts.
	if err := checkBuilders(catalog.Routes(), builders); err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(errOut, "loadbench: "+format+"\n", a...) }
	b, err := start(ctx, progress)
	if err != nil {
		return err
	}
	defer b.stop()
	progress("creating tenant %q with %d users", tenantID, rightUsers+wrongUsers+1)
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	writeMachine(out, b.sourcesNote)
	if o.soak {
		return b.soak(ctx, o, out, progress)
	}
	return b.load(ctx, o, out, progress)
}

// bench is the services, the API server and the clients of one run.
type bench struct {
	deps    *system.Deps
	baseURL string
	clients *clients
	// sourcesNote says how source addresses are varied (or why they are not).
	sourcesNote string
	users       users
	stops       []func() error
}

func (b *bench) stop() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		_ = b.stops[i]()
	}
}

// start starts (or finds) DynamoDB Local and the SES emulator, starts the
// SMS outbox, creates a table, builds the system on it and serves its
// gateway on 127.0.0.1 at a free port.
func start(ctx context.Context, progress func(string, ...any)) (b *bench, err error) {
	b = &bench{}
	defer func() {
		if err != nil {
			b.stop()
		}
	}()
	svc, err := devstack.StartServices(ctx, progress)
	if err != nil {
		return nil, err
	}
	b.stops = append(b.stops, func() error { svc.Stop(); return nil })
	c := config.Config{TableName: fmt.Sprintf("latchkey-loadbench-%d", time.Now().UnixNano()), SenderEmail: "no-reply@latchkey.local",
		PublicBaseURL: "http://localhost:8080", DynamoEndpoint: svc.DynamoEndpoint, SESEndpoint: svc.SESEndpoint, SNSEndpoint: svc.Outbox.Endpoint()}
	// Only errors are logged: the 5xx answers' causes, to stderr, the first
	// few of them.
	logger := slog.New(slog.NewTextHandler(&firstLines{w: os.Stderr, left: 20}, &slog.HandlerOptions{Level: slog.LevelError}))
	if b.deps, err = system.NewFresh(ctx, c, logger); err != nil {
		return nil, err
	}
	gw, err := b.deps.Gateway()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = hs.Serve(ln) }()
	b.stops = append(b.stops, func() error {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(shutdown)
	})
	b.baseURL = "http://" + ln.Addr().String()
	b.clients, b.sourcesNote = newClients(ln.Addr().String())
	b.stops = append(b.stops, func() error { b.clients.close(); return nil })
	progress("API on %s; %s", b.baseURL, b.sourcesNote)
	return b, nil
}

// firstLines writes the first left lines written to it and drops the rest,
// so a run answering many 5xx shows their causes without flooding stderr.
type firstLines struct {
	w    io.Writer
	left int
}

func (f *firstLines) Write(p []byte) (int, error) {
	if f.left > 0 {
		f.left--
		_, _ = f.w.Write(p)
	}
	return len(p), nil
}

// load runs o.clients clients against each public route in turn for
// o.duration and prints the table; it fails when any answer was 5xx.
func (b *bench) load(ctx context.Context, o options, out io.Writer, progress func(string, ...any)) error {
	var rows []row
	for _, r := range catalog.Routes() {
		if !r.Public() {
			continue
		}
		progress("%s: %d clients for %s", r.Key(), o.clients, o.duration)
		st := &stats{}
		began := time.Now()
		err := workers(ctx, o.clients, began.Add(o.duration), new(atomic.Int64), func(ctx context.Context, k int) {
			status, d, _, err := b.do(ctx, r.Key(), b.clients.source(k), builders[r.Key()](b, k), false)
			st.add(status, d, err)
		})
		if err != nil {
			return err
		}
		rows = append(rows, row{name: r.Key(), stats: st, elapsed: time.Since(began)})
	}
	fmt.Fprintf(out, "\n%d clients, %s per route, loopback HTTP:\n\n", o.clients, o.duration)
	writeTable(out, rows)
	return failures(rows)
}

// failures is the error a run ends with when any answer was 5xx or any
// request failed in transport.
func failures(rows []row) error {
	var bad []string
	for _, r := range rows {
		if r.stats.c5xx > 0 || r.stats.cerr > 0 {
			bad = append(bad, fmt.Sprintf("%s: %d 5xx, %d transport errors", r.name, r.stats.c5xx, r.stats.cerr))
		}
	}
	if len(bad) > 0 {
		return errors.New("server errors: " + strings.Join(bad, "; "))
	}
	return nil
}

// row is one line of the table.
type row struct {
	name    string
	stats   *stats
	elapsed time.Duration
}

// writeTable prints the per-route table.
func writeTable(out io.Writer, rows []row) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(w, "route\trequests\treq/s\tp50\tp99\t2xx\t4xx (not 429)\t429\t5xx\terrors\t")
	for _, r := range rows {
		s := r.stats.summary()
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", r.name, s.n, float64(s.n)/r.elapsed.Seconds(),
			ms(s.p50), ms(s.p99), s.c2xx, s.c4xx, s.c429, s.c5xx, s.cerr)
	}
	_ = w.Flush()
}

// ms formats a latency in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// writeMachine prints what the figures were measured on.
func writeMachine(out io.Writer, sourcesNote string) {
	fmt.Fprintf(out, "machine: %d CPUs, %s/%s, %s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, cpuModel(), runtime.Version())
	fmt.Fprintf(out, "sources: %s\n", sourcesNote)
}

// cpuModel is the CPU's model name from /proc/cpuinfo, or "CPU model unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "CPU model unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "CPU model unknown"
}

// checkBuilders fails when a public route of the table has no request
// builder, or a builder names a route that is not a public route of the
// table: every public route is loaded, and a new one must say how.
func checkBuilders(table []routes.Route, have map[string]builder) error {
	public := map[string]bool{}
	var missing, stale []string
	for _, r := range table {
		if !r.Public() {
			continue
		}
		public[r.Key()] = true
		if have[r.Key()] == nil {
			missing = append(missing, r.Key())
		}
	}
	for k := range have {
		if !public[k] {
			stale = append(stale, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("public routes without a request builder in cmd/loadbench (add one to builders): %s", strings.Join(missing, ", "))
	}
	if len(stale) > 0 {
		return fmt.Errorf("request builders in cmd/loadbench for routes that are not public routes of the table: %s", strings.Join(stale, ", "))
	}
	return nil
}
