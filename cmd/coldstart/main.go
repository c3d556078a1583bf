// Command coldstart measures each Lambda function's cold start, size and
// memory against a hello-world aws-lambda-go function, on this machine:
// `make bench` runs it after the Go benchmarks.
//
// It builds every main package under functions/ and cmd/coldstart/hello for
// the host with the Makefile's flags (to run them) and for linux/arm64
// exactly as the Makefile does (to weigh them), starts DynamoDB Local, the
// SES emulator and the SMS outbox (shared/devstack) with a table and the
// demo tenant, and serves the Lambda Runtime API (2018-06-01) on
// 127.0.0.1. Each run execs a bootstrap with a Lambda's environment and
// times exec → first GET …/next (init), then one sample event from events/
// (first invocation) and the same again (warm), reads the process's VmRSS
// after init and VmHWM at the end, and kills it. Runs go round the programs
// in turn (hello-world, f1, f2, …, hello-world, …); the table shows medians.
//
// It exits 0 even when a function misses a target (init ≤ 1.5× hello-world,
// arm64 binary ≤ 12 MB, memory after init ≤ 2× hello-world) unless -strict
// is given; it exits 1 when a function cannot start or fails an invocation.
//
//	go run ./cmd/coldstart [-runs 15] [-strict] [-services=false] [-event fn=events/file.json]
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
	"path/filepath"
	"syscall"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
)

// errTargets is returned under -strict when a function misses a target.
var errTargets = errors.New("a function misses a target (see the table)")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The demo set-up runs services in this process: keep their info-level
	// audit lines out of the report.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	runs     int
	warmup   int
	strict   bool
	services bool
	goCmd    string
	events   eventFlag
	timeout  time.Duration
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	o := options{events: eventFlag{}}
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.IntVar(&o.runs, "runs", 15, "cold starts of each program (medians are reported)")
	fs.IntVar(&o.warmup, "warmup", 1, "rounds run first and not counted (they warm the page cache and DynamoDB Local)")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a function misses a target")
	fs.BoolVar(&o.services, "services", true, "start the local services and invoke each function; false measures init and memory only")
	fs.StringVar(&o.goCmd, "go", "go", "the go command that builds")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "stop with an error after this long (builds included)")
	fs.Var(o.events, "event", "function=events/<file>.json: the sample event of a function (repeatable)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.runs < 1 || o.warmup < 0 {
		return o, errors.New("-runs must be at least 1 and -warmup at least 0")
	}
	return o, nil
}

// program is a built program with what it runs on.
type program struct {
	Program
	built     Built
	eventFile string // "" for none
	hello     bool
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	o, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	progress := func(msg string) { fmt.Fprintln(errOut, "coldstart:", msg) }
	root, err := devstack.RepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	b := Builder{Go: o.goCmd, Dir: root}
	goVersion, err := b.Version(ctx)
	if err != nil {
		return err
	}
	built, err := b.BuildAll(ctx, filepath.Join(tmp, "build"), progress)
	if err != nil {
		return err
	}

	var local *Local
	env := []string{ // init only: the endpoints are never called
		"TABLE_NAME=" + tableName, "DYNAMODB_ENDPOINT=http://127.0.0.1:1", "SES_ENDPOINT=http://127.0.0.1:1",
		"SNS_ENDPOINT=http://127.0.0.1:1", "SECRETS_FILE=" + filepath.Join(tmp, "secrets.json"),
		"SENDER_EMAIL=" + senderEmail, "LOG_LEVEL=error",
	}
	if o.services {
		if local, err = StartLocal(ctx, root, tmp, progress); err != nil {
			return err
		}
		defer local.Stop()
		env = local.Env
	}
	var progs []*program
	for _, bt := range built {
		p := &program{Program: Program{Name: bt.Name, Bootstrap: bt.Host, Env: env}, built: bt, hello: bt.Pkg == helloPkg}
		if !p.hello && o.services {
			if p.eventFile, err = eventFile(filepath.Join(root, "events"), bt.Name, o.events); err != nil {
				return err
			}
		}
		progs = append(progs, p)
	}

	load := loadAverage()
	samples := map[string][]Sample{}
	failed := map[string]error{}
	total := o.warmup + o.runs
	started := time.Now()
	for i := range total {
		if i < o.warmup {
			progress(fmt.Sprintf("warm-up round %d/%d (not counted)", i+1, o.warmup))
		} else if n := i - o.warmup + 1; n == 1 || n%5 == 0 || n == o.runs {
			progress(fmt.Sprintf("run %d/%d (%.0f s so far)", n, o.runs, time.Since(started).Seconds()))
		}
		for _, p := range progs {
			if failed[p.Name] != nil {
				continue
			}
			s, err := p.coldStart(ctx, local)
			if err == nil && s.Status >= 500 {
				err = fmt.Errorf("%s: %s answered %d: the function or the local stack is broken", p.Name, filepath.Base(p.eventFile), s.Status)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed[p.Name] = err
				continue
			}
			if i >= o.warmup {
				samples[p.Name] = append(samples[p.Name], s)
			}
		}
	}

	var hello Result
	var fns []Result
	for _, p := range progs {
		if failed[p.Name] != nil {
			continue
		}
		r := Result{Name: p.Name, ARM64Size: p.built.ARM64Size, Samples: samples[p.Name]}
		switch {
		case p.hello:
			r.Event = "GET / (inline)"
			hello = r
		default:
			if p.eventFile != "" {
				r.Event = filepath.Base(p.eventFile)
			}
			fns = append(fns, r)
		}
	}
	if hello.Samples == nil {
		return fmt.Errorf("hello-world did not run: %w", failed[helloName])
	}
	fmt.Fprintf(out, "\nMachine: %s. %d runs per program (after %d warm-up), medians; %s.\n\n",
		Machine(goVersion, load), o.runs, o.warmup, servicesLine(o.services))
	allOK := WriteTable(out, hello, fns)
	var errs []error
	for _, p := range progs {
		if err := failed[p.Name]; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if o.strict && !allOK {
		return errTargets
	}
	return nil
}

func servicesLine(on bool) string {
	if on {
		return "DynamoDB Local, the SES emulator and the SMS outbox on the same machine"
	}
	return "no local services (-services=false): init and memory only"
}

// coldStart runs p once with a freshly prepared sample event.
func (p *program) coldStart(ctx context.Context, local *Local) (Sample, error) {
	var event []byte
	switch {
	case p.hello:
		event = []byte(helloEvent)
	case p.eventFile != "" && local != nil:
		var err error
		if event, err = local.Event(ctx, p.eventFile); err != nil {
			return Sample{}, fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return ColdStart(ctx, p.Program, event)
}
