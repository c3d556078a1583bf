package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
)

func newIssuer(t *testing.T) (*Issuer, *testclock.Clock) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	return &Issuer{Key: key, Now: clock.Now, TTL: time.Hour}, clock
}

func TestIssuer_Verify(t *testing.T) {
	iss, clock := newIssuer(t)
	tok, exp, err := iss.Issue("acme", "u1", []latchkey.Role{latchkey.RoleAgent}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(time.Hour); !exp.Equal(want) {
		t.Fatalf("got expiry %v, want %v", exp, want)
	}
	t.Run("valid", func(t *testing.T) {
		c, err := iss.Verify(tok)
		if err != nil || c.Tenant != "acme" || c.UserID != "u1" || c.SessionVersion != 3 || len(c.Roles) != 1 || c.Roles[0] != latchkey.RoleAgent {
			t.Fatalf("got %+v, %v", c, err)
		}
	})
	t.Run("other key", func(t *testing.T) {
		other, _ := newIssuer(t)
		if _, err := other.Verify(tok); latchkey.ErrorCode(err) != latchkey.EUnauthorized {
			t.Fatalf("got %v, want %s", err, latchkey.EUnauthorized)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		payload = bytes.Replace(payload, []byte(`"sv":3`), []byte(`"sv":4`), 1)
		parts[1] = base64.RawURLEncoding.EncodeToString(payload)
		if _, err := iss.Verify(strings.Join(parts, ".")); latchkey.ErrorCode(err) != latchkey.EUnauthorized {
			t.Fatalf("got %v, want %s", err, latchkey.EUnauthorized)
		}
	})
	t.Run("alg none and HS256 refused", func(t *testing.T) {
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{Tenant: "acme", UserID: "u1"}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Tenant: "acme", UserID: "u1"}).SignedString([]byte(iss.Key.Public().(ed25519.PublicKey)))
		for _, bad := range []string{none, hs, "", "garbage"} {
			if _, err := iss.Verify(bad); latchkey.ErrorCode(err) != latchkey.EUnauthorized {
				t.Errorf("Verify(%q): got %v, want %s", bad, err, latchkey.EUnauthorized)
			}
		}
	})
	t.Run("expires after one hour", func(t *testing.T) {
		clock.Advance(59 * time.Minute)
		if _, err := iss.Verify(tok); err != nil {
			t.Fatalf("at 59m: got %v, want valid", err)
		}
		clock.Advance(2 * time.Minute)
		if _, err := iss.Verify(tok); latchkey.ErrorCode(err) != latchkey.EUnauthorized {
			t.Fatalf("at 61m: got %v, want %s", err, latchkey.EUnauthorized)
		}
	})
}
