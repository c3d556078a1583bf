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

// A secret of digits only (a PIN) is found where it stands alone, not inside
// a longer run of digits such as a log line's nanoseconds.
func TestCheckSecrets_Digits(t *testing.T) {
	reset := func() { logBuf.Reset(); remembered = nil }
	t.Cleanup(reset)

	reset()
	Remember("482917")
	Logger().Info("request", "duration_ns", 1482917123, "at", "09:00:00.9482917Z")
	if err := checkSecrets(); err != nil {
		t.Fatalf("inside longer digit runs: got %v, want nil", err)
	}
	for _, line := range []string{`"pin":"482917"`, "pin=482917", "482917"} {
		reset()
		Remember("482917")
		Logger().Info("oops", "detail", line)
		if err := checkSecrets(); err == nil {
			t.Errorf("%s: got nil, want the PIN found", line)
		}
	}
	reset()
	Remember("x48291")
	Logger().Info("oops", "detail", "0x482917")
	if err := checkSecrets(); err == nil {
		t.Errorf("a secret with other characters: got nil, want it found anywhere")
	}
}
