package password_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/password"
)

// TestResetFloorFromEnv proves that RESET_FLOOR_MS sets the forgot-password
// floor in milliseconds, that an unset variable keeps DefaultResetFloor, and
// that a value that is not a positive whole number is an error which still
// leaves DefaultResetFloor (a typo never drops the floor).
func TestResetFloorFromEnv(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        time.Duration
		err         bool
	}{
		{"unset", "", password.DefaultResetFloor, false},
		{"set", "650", 650 * time.Millisecond, false},
		{"zero", "0", password.DefaultResetFloor, true},
		{"negative", "-5", password.DefaultResetFloor, true},
		{"not a number", "400ms", password.DefaultResetFloor, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := password.ResetFloorFromEnv(func(k string) string {
				if k != password.ResetFloorEnv {
					t.Errorf("read %s, want %s", k, password.ResetFloorEnv)
				}
				return c.value
			})
			if got != c.want || (err != nil) != c.err {
				t.Errorf("got %v, %v; want %v, error %v", got, err, c.want, c.err)
			}
		})
	}
}
