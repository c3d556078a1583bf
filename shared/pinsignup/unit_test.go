package pinsignup_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The unit tests here run pinsignup.Service against in-memory fakes of its
// Store and UserCreator (no DynamoDB); every name holds "Unit", so -run Unit
// selects them.

var (
	_ pinsignup.Store       = (*fakeStore)(nil)
	_ pinsignup.UserCreator = (*fakeCreator)(nil)
)

// fakeStore is an in-memory pinsignup.Store. Any method returns fail[name]
// instead of doing its work, and every call is counted in calls.
type fakeStore struct {
	mu     sync.Mutex
	now    func() time.Time
	fail   map[string]error
	calls  map[string]int
	tenant latchkey.Tenant
	users  map[string]*latchkey.User // by id, all of tenant
	rates  map[string]int            // by kind|subject|window start
	audits []latchkey.AuditEvent
}

func (f *fakeStore) enter(method string) error {
	f.calls[method]++
	return f.fail[method]
}

func (f *fakeStore) GetTenant(_ context.Context, id string) (*latchkey.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetTenant"); err != nil {
		return nil, err
	}
	if id != f.tenant.ID {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	t := f.tenant
	return &t, nil
}

func (f *fakeStore) user(tid, uid string) (*latchkey.User, error) {
	u, ok := f.users[uid]
	if !ok || tid != f.tenant.ID {
		return nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return u, nil
}

func (f *fakeStore) GetUser(_ context.Context, tid, uid string) (*latchkey.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetUser"); err != nil {
		return nil, err
	}
	u, err := f.user(tid, uid)
	if err != nil {
		return nil, err
	}
	c := *u
	return &c, nil
}

func (f *fakeStore) UserByPINCode(_ context.Context, tid, mac string) (*latchkey.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UserByPINCode"); err != nil {
		return nil, err
	}
	for _, u := range f.users {
		if tid == f.tenant.ID && u.PINCodeMAC != "" && u.PINCodeMAC == mac {
			c := *u
			return &c, nil
		}
	}
	return nil, latchkey.Errorf(latchkey.ENotFound, "No such PIN code.")
}

func (f *fakeStore) SetPINCode(_ context.Context, tid, uid, oldMAC, newMAC, sealed string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("SetPINCode"); err != nil {
		return err
	}
	return f.setCode(tid, uid, oldMAC, newMAC, sealed)
}

func (f *fakeStore) RevokePINCode(_ context.Context, tid, uid, oldMAC string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RevokePINCode"); err != nil {
		return err
	}
	return f.setCode(tid, uid, oldMAC, "", "")
}

// setCode changes a holder's code only while it is still oldMAC.
func (f *fakeStore) setCode(tid, uid, oldMAC, newMAC, sealed string) error {
	u, err := f.user(tid, uid)
	if err != nil {
		return err
	}
	if u.PINCodeMAC != oldMAC {
		return latchkey.Errorf(latchkey.EConflict, "The PIN code changed meanwhile.")
	}
	u.PINCodeMAC, u.PINCodeSealed, u.PINCodeSetAt = newMAC, sealed, f.now()
	return nil
}

func rateKey(kind, subject string, start time.Time) string {
	return strings.Join([]string{kind, subject, start.UTC().Format(time.RFC3339)}, "|")
}

func (f *fakeStore) TakeRate(_ context.Context, _, kind, subject string, limit int, window time.Duration) (latchkey.Rate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("TakeRate"); err != nil {
		return latchkey.Rate{}, err
	}
	now := f.now()
	start := now.Truncate(window)
	k := rateKey(kind, subject, start)
	if f.rates[k] >= limit {
		return latchkey.Rate{Count: limit, RetryAfter: start.Add(window).Sub(now)}, nil
	}
	f.rates[k]++
	return latchkey.Rate{Allowed: true, Count: f.rates[k], Kind: kind, Subject: subject, Window: start}, nil
}

func (f *fakeStore) ReleaseRate(_ context.Context, _ string, r latchkey.Rate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ReleaseRate"); err != nil {
		return err
	}
	if k := rateKey(r.Kind, r.Subject, r.Window); r.Allowed && f.rates[k] > 0 {
		f.rates[k]--
	}
	return nil
}

func (f *fakeStore) Audit(_ context.Context, e latchkey.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.enter("Audit")
	f.audits = append(f.audits, e)
}

// Rate kinds, as docs/data-model.md names them.
const (
	kindAddr   = "signup-addr"
	kindTenant = "signup-tenant"
)

// taken is the number of slots of kind taken, over every subject and window.
func (f *fakeStore) taken(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.rates {
		if strings.HasPrefix(k, kind+"|") {
			n += c
		}
	}
	return n
}

func (f *fakeStore) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// fakeCreator records the users it is asked to create; with err set it
// creates nobody and returns err.
type fakeCreator struct {
	err   error
	calls []tenancy.NewUser
}

func (c *fakeCreator) CreateUser(_ context.Context, t *latchkey.Tenant, _ string, nu tenancy.NewUser) (*latchkey.User, string, error) {
	c.calls = append(c.calls, nu)
	if c.err != nil {
		return nil, "", c.err
	}
	return &latchkey.User{
		TenantID: t.ID, ID: "id-" + nu.Username, Username: nu.Username, Email: nu.Email, Roles: nu.Roles,
		Permissions: nu.Permissions, Profiles: nu.Profiles, CompanyExceptions: nu.CompanyExceptions, SponsorID: nu.SponsorID,
	}, "temporary", nil
}

// pinUnit is a pinsignup.Service on fakes, with holder sam and sam's code.
type pinUnit struct {
	ctx     context.Context
	clock   *testclock.Clock
	store   *fakeStore
	creator *fakeCreator
	svc     *pinsignup.Service
	sam     *latchkey.User
	code    string
}

const pinTenantID = "acme"

func newPinUnit(t *testing.T) *pinUnit {
	t.Helper()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	tn := latchkey.Tenant{ID: pinTenantID, Name: "Acme", Settings: latchkey.DefaultSettings()}
	tn.Settings.PINSignup = latchkey.PINSignupWeb
	sam := &latchkey.User{
		TenantID: pinTenantID, ID: "id-sam", Username: "sam", Email: "sam@acme.latchkey.test",
		Roles: []latchkey.Role{latchkey.RoleAgent}, Permissions: []string{"calibration.read"},
		Profiles: []string{"lab-east"}, CompanyExceptions: []string{"acme-subsidiary"},
	}
	store := &fakeStore{
		now: clock.Now, fail: map[string]error{}, calls: map[string]int{}, tenant: tn,
		users: map[string]*latchkey.User{sam.ID: sam}, rates: map[string]int{},
	}
	u := &pinUnit{
		ctx: context.Background(), clock: clock, store: store, creator: &fakeCreator{}, sam: sam,
	}
	u.svc = &pinsignup.Service{
		Store: store, Users: u.creator, Now: clock.Now,
		HMACKey: []byte("unit-test-hmac-key"), DataKey: []byte("unit-test-data-key-of-32-bytes!!"),
		Limits: pinsignup.Limits{PerAddress: 3, AddressWindow: 15 * time.Minute, PerTenant: 2, TenantWindow: time.Hour},
	}
	code, err := u.svc.Generate(u.ctx, pinTenantID, "id-admin", sam.ID)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	u.code = code
	return u
}

// signUp signs "newbie" up from address addr with code.
func (u *pinUnit) signUp(code, addr string) (*latchkey.User, error) {
	return u.svc.SignUp(u.ctx, pinTenantID, pinsignup.Signup{
		PINCode: code, Email: "newbie@acme.latchkey.test", Username: "newbie",
		Client: pinsignup.ClientWeb, SourceAddress: addr,
	})
}

// slots checks how many address and tenant slots are taken.
func (u *pinUnit) slots(t *testing.T, wantAddr, wantTenant int) {
	t.Helper()
	if got := u.store.taken(kindAddr); got != wantAddr {
		t.Errorf("address slots: got %d, want %d", got, wantAddr)
	}
	if got := u.store.taken(kindTenant); got != wantTenant {
		t.Errorf("tenant slots: got %d, want %d", got, wantTenant)
	}
}

const wrongCode = "AAAA-BBBB-CCCC"

func TestService_SignUp_Unit(t *testing.T) {
	t.Run("wrong code answers invalid_pin_code and keeps both slots", func(t *testing.T) {
		u := newPinUnit(t)
		if _, err := u.signUp(wrongCode, "198.51.100.1"); code(err) != latchkey.EInvalidPINCode {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidPINCode)
		}
		u.slots(t, 1, 1)
		if len(u.creator.calls) != 0 {
			t.Errorf("CreateUser calls: got %d, want 0", len(u.creator.calls))
		}
	})

	t.Run("right code creates the user in the holder's likeness and gives both slots back", func(t *testing.T) {
		u := newPinUnit(t)
		got, err := u.signUp(strings.ToLower(u.code), "198.51.100.1")
		if err != nil || got == nil {
			t.Fatalf("got %+v, %v; want a user", got, err)
		}
		u.slots(t, 0, 0)
		if len(u.creator.calls) != 1 {
			t.Fatalf("CreateUser calls: got %d, want 1", len(u.creator.calls))
		}
		nu, stored := u.creator.calls[0], u.store.users[u.sam.ID]
		if nu.SponsorID != u.sam.ID || nu.SponsorPINCodeMAC != stored.PINCodeMAC {
			t.Errorf("sponsor: got %q with MAC %q, want %q with the stored MAC %q", nu.SponsorID, nu.SponsorPINCodeMAC, u.sam.ID, stored.PINCodeMAC)
		}
		if !slices.Equal(nu.Roles, []latchkey.Role{latchkey.RoleUser}) {
			t.Errorf("roles: got %v, want [user]", nu.Roles)
		}
		if !slices.Equal(nu.Permissions, u.sam.Permissions) || !slices.Equal(nu.Profiles, u.sam.Profiles) {
			t.Errorf("inherited: got %v %v, want %v %v", nu.Permissions, nu.Profiles, u.sam.Permissions, u.sam.Profiles)
		}
	})

	t.Run("holder changed during signup answers invalid_pin_code and keeps both slots", func(t *testing.T) {
		u := newPinUnit(t)
		u.creator.err = latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
		if _, err := u.signUp(u.code, "198.51.100.1"); code(err) != latchkey.EInvalidPINCode {
			t.Fatalf("got %v, want %s", err, latchkey.EInvalidPINCode)
		}
		u.slots(t, 1, 1)
		if e := u.store.audits[len(u.store.audits)-1]; e.Reason != "code_gone_during_signup" {
			t.Errorf("audit reason: got %q, want code_gone_during_signup", e.Reason)
		}
	})

	t.Run("failure other than the code gives both slots back", func(t *testing.T) {
		tests := []struct {
			name  string
			setup func(*pinUnit)
			want  string
		}{
			{"username taken", func(u *pinUnit) {
				u.creator.err = latchkey.Errorf(latchkey.EUsernameTaken, "That username is taken.")
			}, latchkey.EUsernameTaken},
			{"store failure looking up the code", func(u *pinUnit) {
				u.store.fail["UserByPINCode"] = errors.New("injected UserByPINCode failure")
			}, latchkey.EInternal},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := newPinUnit(t)
				tt.setup(u)
				if _, err := u.signUp(u.code, "198.51.100.1"); code(err) != tt.want {
					t.Fatalf("got %v, want %s", err, tt.want)
				}
				u.slots(t, 0, 0)
			})
		}
	})

	// overLimit fills the tenant's limit with wrong codes from two addresses.
	overLimit := func(t *testing.T, u *pinUnit) {
		t.Helper()
		for _, addr := range []string{"198.51.100.1", "198.51.100.2"} {
			if _, err := u.signUp(wrongCode, addr); code(err) != latchkey.EInvalidPINCode {
				t.Fatalf("filling from %s: got %v, want %s", addr, err, latchkey.EInvalidPINCode)
			}
		}
		u.slots(t, 2, 2)
	}

	t.Run("tenant over its limit lets a clean address through", func(t *testing.T) {
		u := newPinUnit(t)
		overLimit(t, u)
		if got, err := u.signUp(u.code, "203.0.113.9"); err != nil || got == nil {
			t.Fatalf("got %+v, %v; want a user", got, err)
		}
		u.slots(t, 2, 2)
		if len(u.creator.calls) != 1 {
			t.Errorf("CreateUser calls: got %d, want 1", len(u.creator.calls))
		}
	})

	t.Run("tenant over its limit refuses an address that already failed", func(t *testing.T) {
		u := newPinUnit(t)
		overLimit(t, u)
		u.clock.Advance(10 * time.Minute)
		lookups := u.store.callCount("UserByPINCode")
		_, err := u.signUp(u.code, "198.51.100.1")
		var e *latchkey.Error
		if !errors.As(err, &e) || e.Code != latchkey.ERateLimited {
			t.Fatalf("got %v, want %s", err, latchkey.ERateLimited)
		}
		// The tenant's window is the hour from 09:00; it is 09:10.
		if want := 50 * 60; e.RetryAfterSeconds != want {
			t.Errorf("Retry-After: got %d, want %d", e.RetryAfterSeconds, want)
		}
		u.slots(t, 2, 2)
		if got := u.store.callCount("UserByPINCode"); got != lookups {
			t.Errorf("code lookups: got %d more, want none", got-lookups)
		}
		if len(u.creator.calls) != 0 {
			t.Errorf("CreateUser calls: got %d, want 0", len(u.creator.calls))
		}
	})
}
