package pinsignup_test

import (
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// Finding 5: the signup transaction re-checks that the holder still holds
// the code and is not locked, so a revoke, a replacement or a lock that
// lands while a signup is past its lookup creates nobody.
func TestService_SignUp_HolderChecks(t *testing.T) {
	f := newFixture(t)
	mac := func(c string) string {
		return secure.MAC(f.deps.Keys.HMACKey, "pin-code", secure.NormalizePINCode(c))
	}
	// pastLookup is a signup that has found its holder; meanwhile runs
	// between the lookup and the creating transaction.
	pastLookup := func(code, username string, meanwhile func()) error {
		sponsor, err := f.deps.Store.UserByPINCode(f.ctx, f.tenant.ID, mac(code))
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		meanwhile()
		_, temp, err := f.deps.Tenancy.CreateUser(f.ctx, f.tenant, sponsor.ID, tenancy.NewUser{
			Username: username, Email: f.email(username), SponsorID: sponsor.ID, SponsorPINCodeMAC: mac(code),
		})
		testenv.Remember(temp)
		return err
	}
	noUser := func(t *testing.T, username string) {
		t.Helper()
		if _, err := f.deps.Store.GetUserByUsername(f.ctx, f.tenant.ID, username); code(err) != latchkey.ENotFound {
			t.Fatalf("user %s: got %v, want none created", username, err)
		}
	}
	for _, tt := range []struct {
		name      string
		interfere func(holder *latchkey.User) error
	}{
		{"revoked after the lookup", func(h *latchkey.User) error { return f.svc.Revoke(f.ctx, f.tenant.ID, f.admin.ID, h.ID) }},
		{"replaced after the lookup", func(h *latchkey.User) error {
			c, err := f.svc.Generate(f.ctx, f.tenant.ID, f.admin.ID, h.ID)
			testenv.Remember(c)
			return err
		}},
		{"holder locked after the lookup", func(h *latchkey.User) error { return f.deps.Passwords.Lock(f.ctx, f.tenant.ID, f.admin, h.ID) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, pin := f.holder("h" + secureSuffix(t))
			username := "late" + secureSuffix(t)
			err := pastLookup(pin, username, func() {
				if err := tt.interfere(h); err != nil {
					t.Fatal(err)
				}
			})
			if code(err) != latchkey.EInvalidPINCode {
				t.Fatalf("got %v, want %s", err, latchkey.EInvalidPINCode)
			}
			noUser(t, username)
		})
	}
	t.Run("a locked holder's code answers like a wrong one", func(t *testing.T) {
		h, pin := f.holder("lck2")
		if err := f.deps.Passwords.Lock(f.ctx, f.tenant.ID, f.admin, h.ID); err != nil {
			t.Fatal(err)
		}
		_, locked := f.signup(pin, "viaLocked", pinsignup.ClientWeb, "192.0.2.40")
		_, wrong := f.signup("WRNG-C0DE-ZZZZ", "viaWrong", pinsignup.ClientWeb, "192.0.2.41")
		if code(locked) != latchkey.EInvalidPINCode || latchkey.ErrorMessage(locked) != latchkey.ErrorMessage(wrong) {
			t.Fatalf("locked holder: got %v, wrong code: %v; want the same %s", locked, wrong, latchkey.EInvalidPINCode)
		}
		noUser(t, "viaLocked")
		if err := f.deps.Passwords.Unlock(f.ctx, f.tenant.ID, f.admin, h.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.signup(pin, "viaUnlocked", pinsignup.ClientWeb, "192.0.2.42"); err != nil {
			t.Fatalf("after the unlock: got %v, want success", err)
		}
	})
	t.Run("still held: the check lets it through", func(t *testing.T) {
		_, pin := f.holder("okay")
		if err := pastLookup(pin, "intime", func() {}); err != nil {
			t.Fatalf("got %v, want success", err)
		}
	})
	t.Run("signups racing a revoke: none is created once the revoke has answered", func(t *testing.T) {
		for try := 0; try < 5; try++ {
			h, pin := f.holder(fmt.Sprintf("race%d", try))
			errs := testenv.Concurrently(9, func(i int) error {
				if i == 0 {
					return f.svc.Revoke(f.ctx, f.tenant.ID, f.admin.ID, h.ID)
				}
				_, err := f.signup(pin, fmt.Sprintf("racer%d_%d", try, i), pinsignup.ClientWeb, fmt.Sprintf("192.0.2.%d", 100+i))
				return err
			})
			if errs[0] != nil {
				t.Fatalf("revoke: %v", errs[0])
			}
			// After the revoke answered, the code creates nobody.
			if _, err := f.signup(pin, fmt.Sprintf("after%d", try), pinsignup.ClientWeb, "192.0.2.99"); code(err) != latchkey.EInvalidPINCode {
				t.Fatalf("try %d, after the revoke: got %v, want %s", try, err, latchkey.EInvalidPINCode)
			}
			for i, err := range errs[1:] {
				if c := code(err); c != "" && c != latchkey.EInvalidPINCode {
					t.Fatalf("try %d, signup %d: got %v", try, i, err)
				}
			}
		}
	})
}

// secureSuffix returns 6 random lowercase characters for unique names.
func secureSuffix(t *testing.T) string {
	t.Helper()
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	return id[:6]
}
