// Command expirybench measures the expiry notifier against tenants of
// growing size with the same users due (issue 11): `make bench` runs it.
//
// For each size it creates a tenant whose send hour is its own, fills
// DynamoDB Local with that many users (the USER items CreateUser writes,
// loaded with BatchWriteItem), of which -due have a password expiring
// within the reminder window (spread over its 11 days) and the rest later
// (spread over the year after it), all with e-mail, mobile and self-serve
// on. It then runs the notifier once at that tenant's send hour, sending
// through the SES emulator and the SMS outbox with the real SDK clients,
// and counts the DynamoDB calls the run made. The tenants share one table,
// so the last run reads a table holding every size's users.
//
// It prints, per size, the run's time and its DynamoDB reads (Query,
// GetItem, BatchGetItem, Scan) per notified user, and the ratio of the
// largest size's reads per notified user to the smallest's; it exits 1
// when a run does not notify every due user or the ratio is over -max-ratio.
//
//	go run ./cmd/expirybench [-sizes 100000,1000000] [-due 10000] [-loaders 8] [-max-ratio 1.1]
//
// DYNAMODB_ENDPOINT and SES_ENDPOINT point it at running services instead
// of the ones it starts (DynamoDB Local in memory, the SES emulator).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/system"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "expirybench:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	sizes    []int
	due      int
	loaders  int
	maxRatio float64
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	fs := flag.NewFlagSet("expirybench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	sizes := fs.String("sizes", "100000,1000000", "tenant sizes (users), comma-separated, smallest first")
	o := options{}
	fs.IntVar(&o.due, "due", 10000, "users due (within the reminder window) in every tenant")
	fs.IntVar(&o.loaders, "loaders", 8, "concurrent BatchWriteItem calls while loading")
	fs.Float64Var(&o.maxRatio, "max-ratio", 1.1, "largest allowed ratio of reads per notified user, largest size to smallest")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < o.due || n <= 0 {
			return o, fmt.Errorf("-sizes: %q is not a number of users at least -due (%d)", s, o.due)
		}
		if len(o.sizes) > 0 && n <= o.sizes[len(o.sizes)-1] {
			return o, fmt.Errorf("-sizes: give them smallest first, each larger")
		}
		o.sizes = append(o.sizes, n)
	}
	if o.due <= 0 || o.loaders <= 0 || len(o.sizes) > 24 {
		return o, errors.New("-due and -loaders must be positive, and at most 24 sizes (one send hour each)")
	}
	return o, nil
}

// Result is one size's run.
type Result struct {
	Users    int
	Due      int
	Sent     int
	Load     time.Duration
	Run      time.Duration
	Reads    int
	Writes   int
	ReadsOps map[string]int
}

// ReadsPerNotified is the run's DynamoDB reads per user notified.
func (r Result) ReadsPerNotified() float64 { return float64(r.Reads) / float64(max(r.Sent, 1)) }

// readOps are the DynamoDB operations that read.
var readOps = map[string]bool{"Query": true, "GetItem": true, "BatchGetItem": true, "Scan": true, "TransactGetItems": true}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	o, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(errOut, "expirybench: "+format+"\n", a...) }
	b, err := start(ctx, progress)
	if err != nil {
		return err
	}
	defer b.stop()

	// Every run acts on the same local day; tenant i sends at hour i (UTC).
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var results []Result
	for i, n := range o.sizes {
		tid := fmt.Sprintf("bench-%d", n)
		st := latchkey.DefaultSettings()
		st.SendHour, st.TimeZone = i, "UTC"
		if err := b.store.CreateTenant(ctx, latchkey.Tenant{ID: tid, Name: tid, Settings: st, CreatedAt: day}); err != nil {
			return err
		}
		progress("tenant %s: loading %d users, %d due", tid, n, o.due)
		began := time.Now()
		if err := load(ctx, b.store, tid, n, o.due, st.ReminderDays, day, o.loaders, progress); err != nil {
			return err
		}
		r := Result{Users: n, Due: o.due, Load: time.Since(began)}
		progress("tenant %s: loaded in %s; running the notifier", tid, r.Load.Round(time.Second))
		b.counter.Reset()
		began = time.Now()
		rep, err := b.deps.Expiry.Run(ctx, day.Add(time.Duration(i)*time.Hour))
		r.Run = time.Since(began)
		if err != nil {
			return fmt.Errorf("tenant %s: run: %w", tid, err)
		}
		ops, _ := b.counter.Calls()
		r.Sent, r.ReadsOps = rep.Sent, map[string]int{}
		for op, c := range ops {
			if readOps[op] {
				r.Reads += c
				r.ReadsOps[op] = c
			} else {
				r.Writes += c
			}
		}
		if rep.Sent != o.due {
			return fmt.Errorf("tenant %s: %d notices sent, %d users due (report %+v)", tid, rep.Sent, o.due, rep)
		}
		results = append(results, r)
	}
	ratio := writeTable(out, results)
	if ratio > o.maxRatio {
		return fmt.Errorf("reads per notified user grew %.3f× from %d to %d users (at most %.2f×)",
			ratio, results[0].Users, results[len(results)-1].Users, o.maxRatio)
	}
	return nil
}

// writeTable prints the results and returns the ratio of the last size's
// reads per notified user to the first's.
func writeTable(out io.Writer, results []Result) float64 {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "users\tdue\tnotified\tload\trun\tnotices/s\treads\treads/notified\twrites/notified\treads by operation\t")
	for _, r := range results {
		fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%.0f\t%d\t%.4f\t%.2f\t%v\t\n", r.Users, r.Due, r.Sent,
			r.Load.Round(time.Second), r.Run.Round(10*time.Millisecond), float64(r.Sent)/r.Run.Seconds(),
			r.Reads, r.ReadsPerNotified(), float64(r.Writes)/float64(max(r.Sent, 1)), r.ReadsOps)
	}
	_ = w.Flush()
	first, last := results[0], results[len(results)-1]
	ratio := last.ReadsPerNotified() / first.ReadsPerNotified()
	fmt.Fprintf(out, "reads per notified user, %d users / %d users: %.3f×\n", last.Users, first.Users, ratio)
	return ratio
}

// bench is the services and the system the runs use.
type bench struct {
	store   *dynamo.Store
	deps    *system.Deps
	counter *dynamo.CallCounter
	stops   []func() error
}

func (b *bench) stop() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		_ = b.stops[i]()
	}
}

// start starts (or finds) DynamoDB Local, the SES emulator and the SMS
// outbox, creates a table and builds the system on it with a DynamoDB
// client whose calls are counted.
func start(ctx context.Context, progress func(string, ...any)) (b *bench, err error) {
	b = &bench{counter: &dynamo.CallCounter{}}
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
	c := config.Config{TableName: fmt.Sprintf("latchkey-expirybench-%d", time.Now().UnixNano()), SenderEmail: "no-reply@latchkey.local",
		DynamoEndpoint: svc.DynamoEndpoint, SESEndpoint: svc.SESEndpoint, SNSEndpoint: svc.Outbox.Endpoint()}
	if b.deps, err = system.NewFresh(ctx, c, slog.New(slog.NewJSONHandler(io.Discard, nil)), b.counter.Attach); err != nil {
		return nil, err
	}
	b.store = b.deps.Store
	return b, nil
}

// load writes n users of tenant tid: user j < due expires on day +
// j mod (days+1), the others from days+1 to days+365 days after day.
func load(ctx context.Context, store *dynamo.Store, tid string, n, due, days int, day time.Time, loaders int, progress func(string, ...any)) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(loaders)
	const batch = 25
	began := time.Now()
	for from := 0; from < n; from += batch {
		if from > 0 && from%100000 == 0 {
			progress("  %d users (%.0f/s)", from, float64(from)/time.Since(began).Seconds())
		}
		users := make([]latchkey.User, 0, batch)
		for j := from; j < min(n, from+batch); j++ {
			users = append(users, user(tid, j, due, days, day))
		}
		g.Go(func() error { return store.BulkPutUsers(ctx, users) })
	}
	return g.Wait()
}

// passwordHash is an argon2id PHC string of the length a real one has, so
// that the items weigh what real ones do.
const passwordHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8kq9qC1B9Cq2dUUjy6qjYo2J8yX0dNn3fS7v0b6m6Zk"

// user is tenant tid's j-th user.
func user(tid string, j, due, days int, day time.Time) latchkey.User {
	expires := day.AddDate(0, 0, j%(days+1))
	if j >= due {
		expires = day.AddDate(0, 0, days+1+j%365)
	}
	name := fmt.Sprintf("user%07d", j)
	return latchkey.User{
		TenantID: tid, ID: fmt.Sprintf("%s-%07d", tid, j), Username: name,
		Email: name + "@bench.example", Mobile: fmt.Sprintf("+4477%08d", j),
		Roles: []latchkey.Role{latchkey.RoleUser}, PasswordHash: passwordHash,
		PasswordChangedAt: day.AddDate(0, 0, -80), CreatedAt: day.AddDate(-1, 0, 0),
		SelfServe: true, PasswordExpiresOn: expires.Format(time.DateOnly),
	}
}
