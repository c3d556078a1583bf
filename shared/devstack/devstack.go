// Package devstack runs Latchkey's real local parts: DynamoDB Local (the jar
// shipped in the npm package amplify-dynamodb-simulator, run with Java), the
// SES v2 emulator aws-ses-v2-local (run with Node), and the SMS outbox that
// answers the real SNS client's Publish calls. `make run` (cmd/latchkey-local)
// and the integration tests (devstack/testenv) both start them from here.
//
// Every child process runs in its own process group and is killed with its
// parent (Linux parent-death signal), so none is left behind.
package devstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Module is the module path that marks the repository root.
const Module = "github.com/latchkey/latchkey"

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory whose go.mod declares Module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+Module)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Latchkey repository: run this from the repository")
		}
		dir = parent
	}
}

// nodeModules is where make installs the pinned Node tools.
func nodeModules(root string) string { return filepath.Join(root, "infra", "node_modules") }

// EnsureNodeTools installs the pinned Node tools (infra/package-lock.json)
// into infra/node_modules when they are not there yet, as `make tools` does.
func EnsureNodeTools(root string) error {
	marker := filepath.Join(nodeModules(root), ".bin", ".installed")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	// Test packages run in parallel: one installs while the others wait.
	lock, err := os.OpenFile(filepath.Join(root, "infra", ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock infra/.install.lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node.js 20+ is required: install it from https://nodejs.org and try again")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("npm is required (it comes with Node.js 20+): install Node.js and try again")
	}
	cmd := exec.Command("npm", "ci", "--prefix", filepath.Join(root, "infra"), "--no-audit", "--no-fund", "--loglevel=error")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci --prefix infra failed: %v\n%s", err, tail(out.String()))
	}
	// node_modules holds .go files (CDK init templates): a go.mod keeps them out of ./...
	if err := os.WriteFile(filepath.Join(nodeModules(root), "go.mod"), []byte("module ignored/node_modules\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(marker, nil, 0o644)
}

// Process is a started local service.
type Process struct {
	name     string
	endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	out      *TailBuffer
	stopOnce sync.Once
}

// Endpoint is the service's base URL (http://127.0.0.1:<port>).
func (p *Process) Endpoint() string { return p.endpoint }

// InboxURL is the SES emulator's web inbox (the endpoint itself).
func (p *Process) InboxURL() string { return p.endpoint }

// Stop ends the process and its whole process group: SIGTERM, then SIGKILL
// after five seconds.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
	return nil
}

// portFree reports whether 127.0.0.1:port can be listened on.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// FreePort returns a TCP port that is free on 127.0.0.1 now, for a child
// process to listen on. It is chosen below the kernel's ephemeral range, so
// the outgoing connections of other processes (which take their local ports
// from that range) cannot take it between this check and the child's bind;
// a listener of another process still can, which is why the services started
// here are started again on a new port when their bind fails (startOnPort).
func FreePort() (int, error) {
	low := ephemeralLow()
	for i := 0; i < 100; i++ {
		port := minChildPort + rand.IntN(low-minChildPort)
		if portFree(port) {
			return port, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// minChildPort is the lowest port FreePort picks: above the ports people
// usually run services on (8000-8080, 9000…).
const minChildPort = 20000

// ephemeralLow is the start of the kernel's ephemeral port range (Linux
// /proc/sys/net/ipv4/ip_local_port_range), 32768 where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		var low, high int
		if _, err := fmt.Sscan(string(b), &low, &high); err == nil && low > minChildPort+1000 {
			return low
		}
	}
	return 32768
}

// errPortTaken: the child process could not bind its port.
var errPortTaken = errors.New("port already in use")

// bindFailed reports whether a child's output says its listen failed because
// the address was taken: Java's BindException, Node's EADDRINUSE, or
// aws-ses-v2-local's own line (it asks its server for the address it bound,
// and there is none when the listen failed).
func bindFailed(out string) bool {
	for _, s := range []string{"Address already in use", "EADDRINUSE", "Server does not have an address"} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

// startOnPort starts the command mk gives for port; when the port was picked
// here (not asked for) and the child loses it to another process before it
// binds, it starts again on a new port, up to five times.
func startOnPort(ctx context.Context, name string, port int, picked bool, mk func(port int) *exec.Cmd, log io.Writer, ready func(endpoint string) bool) (*Process, error) {
	for attempt := 1; ; attempt++ {
		p, err := start(ctx, name, port, mk(port), log, ready)
		if err == nil || !picked || !errors.Is(err, errPortTaken) || attempt == 5 {
			return p, err
		}
		if port, err = pickPort(); err != nil {
			return nil, err
		}
	}
}

// probe asks a starting service whether it is ready. Its timeout matters: a
// port lost to another process may accept and never answer.
var probe = &http.Client{Timeout: 2 * time.Second}

// pickPort is FreePort; the tests replace it to lose a race on purpose.
var pickPort = FreePort

// start runs cmd in its own process group and waits until ready succeeds.
func start(ctx context.Context, name string, port int, cmd *exec.Cmd, log io.Writer, ready func(endpoint string) bool) (*Process, error) {
	p := &Process{name: name, endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{}), out: &TailBuffer{}}
	w := io.Writer(p.out)
	if log != nil {
		w = io.MultiWriter(p.out, log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.NewTimer(90 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(p.endpoint) {
			return p, nil
		}
		select {
		case <-p.done:
			if bindFailed(p.out.String()) {
				return nil, fmt.Errorf("%s: port %d: %w", name, port, errPortTaken)
			}
			return nil, fmt.Errorf("%s exited before it was ready:\n%s", name, tail(p.out.String()))
		case <-ctx.Done():
			_ = p.Stop()
			return nil, ctx.Err()
		case <-deadline.C:
			_ = p.Stop()
			return nil, fmt.Errorf("%s was not ready after 90 s:\n%s", name, tail(p.out.String()))
		case <-tick.C:
			// DynamoDB Local's JVM stays up after its listener fails to bind.
			if bindFailed(p.out.String()) {
				_ = p.Stop()
				return nil, fmt.Errorf("%s: port %d: %w", name, port, errPortTaken)
			}
		}
	}
}

// DynamoOptions configure StartDynamoLocal.
type DynamoOptions struct {
	// Root is the repository root (RepoRoot).
	Root string
	// Port to listen on; 0 picks a free one.
	Port int
	// DataDir keeps the data across restarts; empty runs in memory.
	DataDir string
	// Log receives the process's output; nil discards it.
	Log io.Writer
}

// StartDynamoLocal starts DynamoDB Local from the amplify-dynamodb-simulator
// npm package with Java. A busy port or a missing Java gives one clear error.
func StartDynamoLocal(ctx context.Context, o DynamoOptions) (*Process, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, errors.New("java 17+ is required to run DynamoDB Local: install a JRE (for example `apt install openjdk-17-jre-headless`), or set DYNAMODB_ENDPOINT to a running DynamoDB")
	}
	dir := filepath.Join(nodeModules(o.Root), "amplify-dynamodb-simulator", "emulator")
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("DynamoDB Local is not installed (%s missing): run `make tools`", jar)
	}
	picked := o.Port == 0
	if picked {
		if o.Port, err = pickPort(); err != nil {
			return nil, err
		}
	} else if !portFree(o.Port) {
		return nil, fmt.Errorf("port %d is in use: stop what is using it, or set DYNAMODB_ENDPOINT to a DynamoDB already running there", o.Port)
	}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, err
		}
	}
	mk := func(port int) *exec.Cmd {
		args := []string{"-Xmx512m", "-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"), "-jar", jar, "-port", fmt.Sprint(port), "-sharedDb"}
		if o.DataDir != "" {
			args = append(args, "-dbPath", o.DataDir)
		} else {
			args = append(args, "-inMemory")
		}
		cmd := exec.Command(java, args...)
		cmd.Dir = dir
		return cmd
	}
	return startOnPort(ctx, "DynamoDB Local", o.Port, picked, mk, o.Log, isDynamoDB)
}

// isDynamoDB reports whether endpoint is a DynamoDB that serves requests: it
// answers an unsigned GET with its MissingAuthenticationToken error, which
// another server that took the port would not.
func isDynamoDB(endpoint string) bool {
	res, err := probe.Get(endpoint)
	if err != nil {
		return false
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	return res.Header.Get("x-amzn-RequestId") != "" && bytes.Contains(b, []byte("MissingAuthenticationToken"))
}

// SESOptions configure StartSESLocal.
type SESOptions struct {
	Root string
	// Port to listen on; 0 picks a free one.
	Port int
	Log  io.Writer
}

// StartSESLocal starts the aws-ses-v2-local emulator with Node. Its web inbox
// is at InboxURL and its JSON store at <endpoint>/store.
func StartSESLocal(ctx context.Context, o SESOptions) (*Process, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node.js 20+ is required to run the SES emulator: install it from https://nodejs.org, or set SES_ENDPOINT")
	}
	cli := filepath.Join(nodeModules(o.Root), "aws-ses-v2-local", "dist", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("the SES emulator is not installed (%s missing): run `make tools`", cli)
	}
	picked := o.Port == 0
	if picked {
		if o.Port, err = pickPort(); err != nil {
			return nil, err
		}
	} else if !portFree(o.Port) {
		return nil, fmt.Errorf("port %d is in use: stop what is using it, or set SES_ENDPOINT to an SES emulator already running there", o.Port)
	}
	mk := func(port int) *exec.Cmd {
		return exec.Command(node, cli, "--port", fmt.Sprint(port), "--host", "127.0.0.1")
	}
	return startOnPort(ctx, "SES emulator", o.Port, picked, mk, o.Log, func(endpoint string) bool {
		res, err := probe.Get(endpoint + "/health-check")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// ReceivedEmail is one message in the SES emulator's store.
type ReceivedEmail struct {
	MessageID string
	From      string
	To        []string
	Subject   string
	Text      string
	HTML      string
	At        time.Time
}

// FetchEmails returns every message the SES emulator at endpoint has received.
func FetchEmails(ctx context.Context, endpoint string) ([]ReceivedEmail, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/store", nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read SES store: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read SES store: status %d", res.StatusCode)
	}
	var store struct {
		Emails []struct {
			MessageID   string `json:"messageId"`
			From        string `json:"from"`
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Subject string `json:"subject"`
			Body    struct {
				HTML string `json:"html"`
				Text string `json:"text"`
			} `json:"body"`
			At int64 `json:"at"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("decode SES store: %w", err)
	}
	out := make([]ReceivedEmail, 0, len(store.Emails))
	for _, e := range store.Emails {
		out = append(out, ReceivedEmail{MessageID: e.MessageID, From: e.From, To: e.Destination.To, Subject: e.Subject,
			Text: e.Body.Text, HTML: e.Body.HTML, At: time.Unix(e.At, 0)})
	}
	return out, nil
}

// TailBuffer keeps the last 8 KiB written to it: a child process's output,
// for error messages. It is safe for concurrent writes.
type TailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *TailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = t.b[len(t.b)-8192:]
	}
	return len(p), nil
}

func (t *TailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// tail returns the last 20 lines of s.
func tail(s string) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
