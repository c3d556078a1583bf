package tenancy_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // time-zone names resolve whatever the host's zoneinfo

	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The unit tests here run tenancy.Service against an in-memory fake of its
// Store and a recording mailer (no DynamoDB); every name holds "Unit", so
// -run Unit selects them.

var (
	_ tenancy.Store   = (*fakeStore)(nil)
	_ latchkey.Mailer = (*fakeMailer)(nil)
)

// fakeStore is an in-memory tenancy.Store. Any method returns fail[name]
// instead of doing its work, and every call is counted in calls.
type fakeStore struct {
	mu      sync.Mutex
	fail    map[string]error
	calls   map[string]int
	tenants map[string]latchkey.Tenant
	users   map[string]latchkey.User         // by tid|uid
	claims  map[string]string                // username key, by tid|ukey → uid
	temps   map[string]latchkey.TempPassword // by tid|uid
	audits  []latchkey.AuditEvent
	// created and deleted are the users CreateUser wrote and DeleteNewUser
	// removed; deletedTenants the ids DeleteNewTenant removed.
	created, deleted []latchkey.User
	deletedTenants   []string
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		fail: map[string]error{}, calls: map[string]int{}, tenants: map[string]latchkey.Tenant{},
		users: map[string]latchkey.User{}, claims: map[string]string{}, temps: map[string]latchkey.TempPassword{},
	}
}

func key(parts ...string) string { return strings.Join(parts, "|") }

func (f *fakeStore) enter(method string) error {
	f.calls[method]++
	return f.fail[method]
}

func (f *fakeStore) CreateTenant(_ context.Context, t latchkey.Tenant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateTenant"); err != nil {
		return err
	}
	if _, ok := f.tenants[t.ID]; ok {
		return latchkey.Errorf(latchkey.ETenantExists, "That tenant exists.")
	}
	f.tenants[t.ID] = t
	return nil
}

func (f *fakeStore) DeleteNewTenant(_ context.Context, tid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteNewTenant"); err != nil {
		return err
	}
	delete(f.tenants, tid)
	f.deletedTenants = append(f.deletedTenants, tid)
	return nil
}

func (f *fakeStore) GetTenant(_ context.Context, id string) (*latchkey.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetTenant"); err != nil {
		return nil, err
	}
	t, ok := f.tenants[id]
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	return &t, nil
}

// ReadTenant is GetTenant: the fake has no cache.
func (f *fakeStore) ReadTenant(_ context.Context, id string) (*latchkey.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ReadTenant"); err != nil {
		return nil, err
	}
	t, ok := f.tenants[id]
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	return &t, nil
}

func (f *fakeStore) ListTenants(context.Context) ([]latchkey.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListTenants"); err != nil {
		return nil, err
	}
	out := make([]latchkey.Tenant, 0, len(f.tenants))
	for _, t := range f.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b latchkey.Tenant) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (f *fakeStore) PutTenantSettings(_ context.Context, tid string, st latchkey.Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PutTenantSettings"); err != nil {
		return err
	}
	t, ok := f.tenants[tid]
	if !ok {
		return latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	t.Settings = st
	f.tenants[tid] = t
	return nil
}

// CreateUser claims the username key and writes the user and its temporary
// password; with a sponsor, only while the sponsor holds that code unlocked.
func (f *fakeStore) CreateUser(_ context.Context, u latchkey.User, tp *latchkey.TempPassword, sponsor *latchkey.Sponsor, audit latchkey.AuditEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateUser"); err != nil {
		return err
	}
	if sponsor != nil {
		s, ok := f.users[key(u.TenantID, sponsor.UserID)]
		if !ok || s.PINCodeMAC != sponsor.PINCodeMAC || s.AdminLocked() {
			return latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
		}
	}
	claim := key(u.TenantID, latchkey.UsernameKey(u.Username))
	if _, taken := f.claims[claim]; taken {
		return latchkey.Errorf(latchkey.EUsernameTaken, "That username is taken.")
	}
	f.claims[claim] = u.ID
	f.users[key(u.TenantID, u.ID)] = u
	if tp != nil {
		f.temps[key(u.TenantID, u.ID)] = *tp
	}
	f.created = append(f.created, u)
	f.audits = append(f.audits, audit)
	return nil
}

func (f *fakeStore) DeleteNewUser(_ context.Context, u latchkey.User) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteNewUser"); err != nil {
		return err
	}
	claim := key(u.TenantID, latchkey.UsernameKey(u.Username))
	if _, ok := f.users[key(u.TenantID, u.ID)]; !ok || f.claims[claim] != u.ID {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	delete(f.users, key(u.TenantID, u.ID))
	delete(f.claims, claim)
	delete(f.temps, key(u.TenantID, u.ID))
	f.deleted = append(f.deleted, u)
	return nil
}

func (f *fakeStore) Audit(_ context.Context, e latchkey.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.enter("Audit")
	f.audits = append(f.audits, e)
}

// empty fails the test when the store holds any user, claim or temporary password.
func (f *fakeStore) empty(t *testing.T) {
	t.Helper()
	if len(f.users) != 0 || len(f.claims) != 0 || len(f.temps) != 0 {
		t.Errorf("store holds %d users, %d claims, %d temporary passwords; want none", len(f.users), len(f.claims), len(f.temps))
	}
}

// fakeMailer records the e-mails it sends; with err set it sends nothing
// and returns err.
type fakeMailer struct {
	err  error
	sent []latchkey.Email
}

func (m *fakeMailer) SendEmail(_ context.Context, e latchkey.Email) (string, error) {
	if m.err != nil {
		return "", m.err
	}
	m.sent = append(m.sent, e)
	return "msg", nil
}

// noOverrides is a template store in which no tenant overrides a template.
type noOverrides struct{}

func (noOverrides) GetTemplate(context.Context, string, string) (*templates.Template, error) {
	return nil, latchkey.Errorf(latchkey.ENotFound, "No override.")
}

type tenancyUnit struct {
	ctx    context.Context
	store  *fakeStore
	mailer *fakeMailer
	svc    *tenancy.Service
	tenant latchkey.Tenant
}

func newTenancyUnit(t *testing.T) *tenancyUnit {
	t.Helper()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	u := &tenancyUnit{
		ctx:   reqctx.WithLogger(context.Background(), slog.New(slog.DiscardHandler)),
		store: newFakeStore(), mailer: &fakeMailer{},
	}
	u.svc = &tenancy.Service{
		Store:   u.store,
		Notify:  &notify.Notifier{Templates: &templates.Renderer{Store: noOverrides{}}, Mailer: u.mailer, From: "no-reply@latchkey.test"},
		HMACKey: []byte("unit-test-hmac-key"),
		Now:     clock.Now,
	}
	u.tenant = latchkey.Tenant{ID: "acme", Name: "Acme", Settings: latchkey.DefaultSettings(), CreatedAt: clock.Now()}
	u.store.tenants[u.tenant.ID] = u.tenant
	return u
}

func code(err error) string { return latchkey.ErrorCode(err) }

var bob = tenancy.NewUser{Username: "bob", Email: "bob@acme.latchkey.test"}

func TestService_CreateUser_Unit(t *testing.T) {
	t.Run("sent e-mail carries the temporary password stored", func(t *testing.T) {
		u := newTenancyUnit(t)
		usr, pw, err := u.svc.CreateUser(u.ctx, &u.tenant, "id-admin", bob)
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		tp, ok := u.store.temps[key(u.tenant.ID, usr.ID)]
		if !ok || !tp.Matches(u.svc.HMACKey, pw) {
			t.Errorf("stored temporary password: got %v (present %v), want one matching the returned password", tp, ok)
		}
		if len(u.mailer.sent) != 1 || u.mailer.sent[0].To != bob.Email || !strings.Contains(u.mailer.sent[0].Text, pw) {
			t.Errorf("e-mails: got %+v, want one to %s holding the temporary password", u.mailer.sent, bob.Email)
		}
	})

	t.Run("failed e-mail answers service_unavailable and deletes the new user", func(t *testing.T) {
		u := newTenancyUnit(t)
		u.mailer.err = errors.New("injected SES failure")
		usr, _, err := u.svc.CreateUser(u.ctx, &u.tenant, "id-admin", bob)
		if code(err) != latchkey.EServiceUnavailable || usr != nil {
			t.Fatalf("got %+v, %v; want %s", usr, err, latchkey.EServiceUnavailable)
		}
		if len(u.store.created) != 1 || len(u.store.deleted) != 1 || u.store.deleted[0].ID != u.store.created[0].ID {
			t.Fatalf("got created %d, deleted %d users, want the created one deleted", len(u.store.created), len(u.store.deleted))
		}
		u.store.empty(t)
		if e := u.store.audits[len(u.store.audits)-1]; e.Action != latchkey.ActionUserCreate || e.Reason != "email_failed_undone" {
			t.Errorf("audit: got %s/%s, want %s/email_failed_undone", e.Action, e.Reason, latchkey.ActionUserCreate)
		}
		// Nothing is left to stop a retry.
		u.mailer.err = nil
		if _, _, err := u.svc.CreateUser(u.ctx, &u.tenant, "id-admin", bob); err != nil {
			t.Errorf("retry: got %v, want nil", err)
		}
	})

	t.Run("failed undo returns the store's error", func(t *testing.T) {
		u := newTenancyUnit(t)
		u.mailer.err = errors.New("injected SES failure")
		injected := errors.New("injected DeleteNewUser failure")
		u.store.fail["DeleteNewUser"] = injected
		if _, _, err := u.svc.CreateUser(u.ctx, &u.tenant, "id-admin", bob); !errors.Is(err, injected) {
			t.Fatalf("got %v, want %v", err, injected)
		}
	})

	t.Run("store failure writes nothing and sends nothing", func(t *testing.T) {
		u := newTenancyUnit(t)
		injected := errors.New("injected CreateUser failure")
		u.store.fail["CreateUser"] = injected
		if _, _, err := u.svc.CreateUser(u.ctx, &u.tenant, "id-admin", bob); !errors.Is(err, injected) {
			t.Fatalf("got %v, want %v", err, injected)
		}
		if len(u.mailer.sent) != 0 {
			t.Errorf("e-mails: got %d, want 0", len(u.mailer.sent))
		}
		u.store.empty(t)
	})
}

func TestService_CreateTenant_Unit(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the admin's creation fail and returns the error expected.
		fail     func(u *tenancyUnit) error
		wantCode string
	}{
		{"store refuses the admin", func(u *tenancyUnit) error {
			err := errors.New("injected CreateUser failure")
			u.store.fail["CreateUser"] = err
			return err
		}, latchkey.EInternal},
		{"admin's e-mail fails", func(u *tenancyUnit) error {
			u.mailer.err = errors.New("injected SES failure")
			return nil
		}, latchkey.EServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name+": the tenant is deleted", func(t *testing.T) {
			u := newTenancyUnit(t)
			want := tt.fail(u)
			tn, admin, _, err := u.svc.CreateTenant(u.ctx, "globex", "Globex", "admin", "admin@globex.latchkey.test")
			if code(err) != tt.wantCode || (want != nil && !errors.Is(err, want)) {
				t.Fatalf("got %v, want %s", err, tt.wantCode)
			}
			if tn != nil || admin != nil {
				t.Errorf("got tenant %+v and admin %+v, want none", tn, admin)
			}
			if !slices.Equal(u.store.deletedTenants, []string{"globex"}) {
				t.Errorf("DeleteNewTenant: got %v, want [globex]", u.store.deletedTenants)
			}
			if _, ok := u.store.tenants["globex"]; ok {
				t.Error("the tenant is still stored")
			}
			for _, e := range u.store.audits {
				if e.Action == latchkey.ActionTenantCreate && e.Result == latchkey.ResultSuccess {
					t.Errorf("audit: got %+v for a tenant that was undone, want no success", e)
				}
			}
			u.store.empty(t)
		})
	}

	t.Run("created tenant has default settings and an admin", func(t *testing.T) {
		u := newTenancyUnit(t)
		tn, admin, _, err := u.svc.CreateTenant(u.ctx, "globex", " ", "admin", "admin@globex.latchkey.test")
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		if tn.Name != "globex" || tn.Settings != latchkey.DefaultSettings() {
			t.Errorf("tenant: got name %q settings %+v, want name globex and the defaults", tn.Name, tn.Settings)
		}
		if !admin.HasRole(latchkey.RoleAdmin) || admin.TenantID != "globex" {
			t.Errorf("admin: got roles %v of tenant %q, want admin of globex", admin.Roles, admin.TenantID)
		}
		if len(u.store.deletedTenants) != 0 {
			t.Errorf("DeleteNewTenant: got %v, want no call", u.store.deletedTenants)
		}
	})
}

func TestService_UpdateSettings_Unit(t *testing.T) {
	t.Run("invalid pinSignup answers validation_failed and stores nothing", func(t *testing.T) {
		u := newTenancyUnit(t)
		_, err := u.svc.UpdateSettings(u.ctx, u.tenant.ID, "id-admin", "pinSignup", func(s *latchkey.Settings) { s.PINSignup = "sometimes" })
		if code(err) != latchkey.EValidation {
			t.Fatalf("got %v, want %s", err, latchkey.EValidation)
		}
		if got := u.store.calls["PutTenantSettings"]; got != 0 {
			t.Errorf("PutTenantSettings calls: got %d, want 0", got)
		}
		if got := u.store.tenants[u.tenant.ID].Settings.PINSignup; got != latchkey.PINSignupOff {
			t.Errorf("stored pinSignup: got %q, want %q", got, latchkey.PINSignupOff)
		}
		if len(u.store.audits) != 0 {
			t.Errorf("audit events: got %d, want 0", len(u.store.audits))
		}
	})

	t.Run("valid change is stored and audited", func(t *testing.T) {
		u := newTenancyUnit(t)
		tn, err := u.svc.UpdateSettings(u.ctx, u.tenant.ID, "id-admin", "pinSignup", func(s *latchkey.Settings) { s.PINSignup = latchkey.PINSignupAll })
		if err != nil || tn.Settings.PINSignup != latchkey.PINSignupAll {
			t.Fatalf("got %+v, %v; want pinSignup all", tn, err)
		}
		if got := u.store.tenants[u.tenant.ID].Settings.PINSignup; got != latchkey.PINSignupAll {
			t.Errorf("stored pinSignup: got %q, want %q", got, latchkey.PINSignupAll)
		}
		if len(u.store.audits) != 1 || u.store.audits[0].Action != latchkey.ActionSettingsUpdate || u.store.audits[0].Actor != "id-admin" {
			t.Errorf("audit: got %+v, want one %s by id-admin", u.store.audits, latchkey.ActionSettingsUpdate)
		}
	})

	t.Run("unknown tenant answers not_found", func(t *testing.T) {
		u := newTenancyUnit(t)
		if _, err := u.svc.UpdateSettings(u.ctx, "nope", "id-admin", "x", func(*latchkey.Settings) {}); code(err) != latchkey.ENotFound {
			t.Fatalf("got %v, want %s", err, latchkey.ENotFound)
		}
	})

	t.Run("without a reason the audit names the changed settings", func(t *testing.T) {
		u := newTenancyUnit(t)
		if _, err := u.svc.UpdateSettings(u.ctx, u.tenant.ID, "id-admin", "", func(s *latchkey.Settings) {
			s.ReminderDays, s.Policy.MinLength, s.TimeZone = 14, 12, "Europe/Paris"
		}); err != nil {
			t.Fatal(err)
		}
		want := "passwordPolicy.minLength,reminderDays,timeZone"
		if len(u.store.audits) != 1 || u.store.audits[0].Reason != want {
			t.Errorf("audit: got %+v, want one event with reason %q", u.store.audits, want)
		}
		if u.store.calls["ReadTenant"] != 1 || u.store.calls["GetTenant"] != 0 {
			t.Errorf("reads: got %v, want one ReadTenant (not the cached GetTenant)", u.store.calls)
		}
	})
}

func TestValidateSettings_Unit(t *testing.T) {
	if err := tenancy.ValidateSettings(latchkey.DefaultSettings()); err != nil {
		t.Fatalf("defaults: got %v, want valid", err)
	}
	for _, tc := range []struct {
		field  string
		change func(*latchkey.Settings)
	}{
		{"passwordPolicy.minLength", func(s *latchkey.Settings) { s.Policy.MinLength = 7 }},
		{"passwordPolicy.minLength", func(s *latchkey.Settings) { s.Policy.MinLength, s.Policy.MaxLength = 129, 129 }},
		{"passwordPolicy.maxLength", func(s *latchkey.Settings) { s.Policy.MinLength, s.Policy.MaxLength = 12, 11 }},
		{"passwordPolicy.maxLength", func(s *latchkey.Settings) { s.Policy.MaxLength = 129 }},
		{"tempPasswordHours", func(s *latchkey.Settings) { s.TempPasswordHours = 0 }},
		{"tempPasswordHours", func(s *latchkey.Settings) { s.TempPasswordHours = 169 }},
		{"lockoutThreshold", func(s *latchkey.Settings) { s.LockoutThreshold = 2 }},
		{"lockoutThreshold", func(s *latchkey.Settings) { s.LockoutThreshold = 21 }},
		{"lockoutMinutes", func(s *latchkey.Settings) { s.LockoutMinutes = 0 }},
		{"lockoutMinutes", func(s *latchkey.Settings) { s.LockoutMinutes = 1441 }},
		{"resetRequestsPerHour", func(s *latchkey.Settings) { s.ResetRequestsPerHour = 0 }},
		{"resetRequestsPerHour", func(s *latchkey.Settings) { s.ResetRequestsPerHour = 21 }},
		{"pinSignup", func(s *latchkey.Settings) { s.PINSignup = "sometimes" }},
		{"pinLinkHours", func(s *latchkey.Settings) { s.PINLinkHours = -1 }},
		{"pinLinkHours", func(s *latchkey.Settings) { s.PINLinkHours = 169 }},
		{"verificationMinutes", func(s *latchkey.Settings) { s.VerificationMinutes = 1441 }},
		{"reminderDays", func(s *latchkey.Settings) { s.ReminderDays = 0 }},
		{"reminderDays", func(s *latchkey.Settings) { s.ReminderDays = 31 }},
		{"sendHour", func(s *latchkey.Settings) { s.SendHour = -1 }},
		{"sendHour", func(s *latchkey.Settings) { s.SendHour = 24 }},
		{"timeZone", func(s *latchkey.Settings) { s.TimeZone = "" }},
		{"timeZone", func(s *latchkey.Settings) { s.TimeZone = "Local" }},
		{"timeZone", func(s *latchkey.Settings) { s.TimeZone = "Mars/Olympus_Mons" }},
		{"timeZone", func(s *latchkey.Settings) { s.TimeZone = "../../etc/passwd" }},
		{"senderEmail", func(s *latchkey.Settings) { s.SenderEmail = "not an address" }},
		{"senderEmail", func(s *latchkey.Settings) { s.SenderEmail = " it@example.com" }},
	} {
		st := latchkey.DefaultSettings()
		tc.change(&st)
		err := tenancy.ValidateSettings(st)
		if code(err) != latchkey.EValidation || !strings.HasPrefix(latchkey.ErrorMessage(err), tc.field+" ") {
			t.Errorf("%s (%+v): got %v, want %s naming %s", tc.field, st, err, latchkey.EValidation, tc.field)
		}
	}
	t.Run("the edges are allowed", func(t *testing.T) {
		st := latchkey.DefaultSettings()
		st.Policy.MinLength, st.Policy.MaxLength = 128, 128
		st.TempPasswordHours, st.LockoutThreshold, st.LockoutMinutes, st.ResetRequestsPerHour = 168, 20, 1440, 20
		st.PINLinkHours, st.VerificationMinutes, st.ReminderDays, st.SendHour = 0, 0, 30, 23
		st.TimeZone, st.SenderEmail = "America/Argentina/Buenos_Aires", "it@example.com"
		if err := tenancy.ValidateSettings(st); err != nil {
			t.Errorf("got %v, want valid", err)
		}
	})
	t.Run("every problem is named", func(t *testing.T) {
		st := latchkey.DefaultSettings()
		st.SendHour, st.ReminderDays = 24, 0
		err := tenancy.ValidateSettings(st)
		var e *latchkey.Error
		if !errors.As(err, &e) || len(e.Details["problems"].([]string)) != 2 {
			t.Fatalf("got %v, want two problems", err)
		}
	})
}
