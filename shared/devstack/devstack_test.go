package devstack

import (
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
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
