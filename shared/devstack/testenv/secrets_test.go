package testenv

import (
	"strings"
	"testing"
)

// The secret check must be able to fail: a remembered value in a log line
// fails it, an absent one passes, and no logs at all fail it too.
func TestCheckSecrets(t *testing.T) {
	reset := func() { logBuf.Reset(); remembered = nil }
	t.Cleanup(reset)

	reset()
	Remember("Hunter-2-secret")
	if err := checkSecrets(); err == nil || !strings.Contains(err.Error(), "no log line") {
		t.Fatalf("no logs: got %v, want an error", err)
	}
	Logger().Info("sign-in failed", "user", "u1")
	if err := checkSecrets(); err != nil {
		t.Fatalf("clean logs: got %v, want nil", err)
	}
	Logger().Info("oops", "password", "Hunter-2-secret")
	err := checkSecrets()
	if err == nil || strings.Contains(err.Error(), "Hunter-2-secret") {
		t.Fatalf("leaked secret: got %v, want an error that does not repeat the secret", err)
	}
}
