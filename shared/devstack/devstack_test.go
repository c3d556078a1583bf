package devstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStart_PortInUse(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx := context.Background()
	if _, err := StartDynamoLocal(ctx, DynamoOptions{Root: root, Port: port}); err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "DYNAMODB_ENDPOINT") {
		t.Errorf("DynamoDB Local: got %v, want one line saying the port is in use and what to do", err)
	}
	if _, err := StartSESLocal(ctx, SESOptions{Root: root, Port: port}); err == nil || !strings.Contains(err.Error(), "SES_ENDPOINT") {
		t.Errorf("SES emulator: got %v, want one line saying the port is in use and what to do", err)
	}
	if _, err := StartOutbox(ctx, OutboxOptions{Port: port}); err == nil || !strings.Contains(err.Error(), "SNS_ENDPOINT") {
		t.Errorf("outbox: got %v, want one line saying the port is in use and what to do", err)
	}
}

func TestProcess_StopLeavesNothing(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureNodeTools(root); err != nil {
		t.Fatal(err)
	}
	p, err := StartSESLocal(context.Background(), SESOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.cmd.Process.Pid
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	// Signal 0 to the process group: ESRCH means no member is left.
	if err := syscall.Kill(-pid, 0); err != syscall.ESRCH {
		t.Fatalf("process group %d after Stop: got %v, want ESRCH", pid, err)
	}
	if _, err := FetchEmails(context.Background(), p.Endpoint()); err == nil {
		t.Fatal("the emulator still answers after Stop")
	}
}

// A port picked for a child can be taken by another process before the
// child binds it (CI once saw DynamoDB Local's BindException and a 90 s
// wait): the start must notice the failed bind and go on on a new port.
func TestStart_PickedPortTaken(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureNodeTools(root); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		start func() (*Process, error)
	}{
		{"DynamoDB Local", func() (*Process, error) { return StartDynamoLocal(context.Background(), DynamoOptions{Root: root}) }},
		{"SES emulator", func() (*Process, error) { return StartSESLocal(context.Background(), SESOptions{Root: root}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			taken := ln.Addr().(*net.TCPAddr).Port
			calls := 0
			pickPort = func() (int, error) {
				calls++
				if calls == 1 {
					return taken, nil // "free" when checked, taken when the child binds
				}
				return FreePort()
			}
			defer func() { pickPort = FreePort }()
			began := time.Now()
			p, err := tc.start()
			if err != nil {
				t.Fatal(err)
			}
			defer p.Stop()
			if calls != 2 {
				t.Errorf("ports picked: %d, want 2 (the taken one, then another)", calls)
			}
			if strings.HasSuffix(p.Endpoint(), fmt.Sprintf(":%d", taken)) {
				t.Errorf("endpoint %s is the taken port", p.Endpoint())
			}
			// Well inside the 90 s readiness limit: the failed bind is seen in the output.
			if d := time.Since(began); d > 45*time.Second {
				t.Errorf("start took %v after a lost port", d)
			}
		})
	}
}

func TestFreePort_BelowEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for i := 0; i < 50; i++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port < minChildPort || port >= low {
			t.Fatalf("FreePort() = %d, want in [%d, %d)", port, minChildPort, low)
		}
	}
}

// Something else answering on the port is not DynamoDB Local.
func TestIsDynamoDB(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer other.Close()
	if isDynamoDB(other.URL) {
		t.Error("a server answering 400 was taken for DynamoDB Local")
	}
	ddb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", "x")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#MissingAuthenticationToken"}`)
	}))
	defer ddb.Close()
	if !isDynamoDB(ddb.URL) {
		t.Error("DynamoDB Local's unsigned-request answer was not recognised")
	}
}
