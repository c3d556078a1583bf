package expiry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The store satisfies the capability's interface, the notifier its sender.
var (
	_ expiry.Store  = (*dynamo.Store)(nil)
	_ expiry.Sender = (*notify.Notifier)(nil)
)

// fixture is a fresh table with the whole system, an SMS outbox, and an
// expiry service sending through a mailer and an SMS sender the test can
// make fail, with a sleeper that records its waits instead of sleeping.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *testclock.Clock
	deps  *system.Deps
	box   *devstack.Outbox
	mail  *flakyMailer
	sms   *flakySMS
	svc   *expiry.Service

	mu     sync.Mutex
	sleeps []time.Duration
}

func newFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(start)
	d := testenv.NewDeps(t, clock.Now)
	box := testenv.NewOutbox(t)
	cfg, err := awscfg.Load(ctx, box.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, clock: clock, deps: d, box: box,
		mail: &flakyMailer{next: ses.New(testenv.SESClient(t), testenv.Sender)},
		sms:  &flakySMS{next: sns.New(sns.NewClientFrom(cfg, box.Endpoint()), "")},
	}
	n := &notify.Notifier{Templates: &templates.Renderer{Store: d.Store}, Mailer: f.mail, SMS: f.sms, From: testenv.Sender}
	f.svc = &expiry.Service{Store: d.Store, Notify: n, Now: clock.Now, Logger: testenv.Logger(),
		Sleep: func(_ context.Context, d time.Duration) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sleeps = append(f.sleeps, d)
			return nil
		}}
	return f
}

// tenant creates a tenant with a random id and the given time zone, send
// hour and reminder window, self-serve override on.
func (f *fixture) tenant(zone string, hour, days int) *latchkey.Tenant {
	f.t.Helper()
	id, err := secure.NewID()
	if err != nil {
		f.t.Fatal(err)
	}
	tid := "e" + strings.ToLower(id[:10])
	if _, _, temp, err := f.deps.Tenancy.CreateTenant(f.ctx, tid, "Expiry "+tid, "admin", "admin@"+tid+".latchkey.test"); err != nil {
		f.t.Fatalf("create tenant: %v", err)
	} else {
		testenv.Remember(temp)
	}
	tn, err := f.deps.Tenancy.UpdateSettings(f.ctx, tid, "test", "expiry", func(s *latchkey.Settings) {
		s.TimeZone, s.SendHour, s.ReminderDays, s.SelfServe = zone, hour, days, true
	})
	if err != nil {
		f.t.Fatalf("settings: %v", err)
	}
	return tn
}

// user creates a user of tn whose password expires on expires, with an
// e-mail address and a mobile number unless noEmail / noMobile, and with
// self-serve on unless selfServeOff.
type userOpts struct{ noEmail, noMobile, selfServeOff bool }

func (f *fixture) user(tn *latchkey.Tenant, name, expires string, o userOpts) *latchkey.User {
	f.t.Helper()
	nu := tenancy.NewUser{Username: name, Email: f.email(tn, name), Mobile: f.mobile(name), PasswordExpiresOn: expires, WithoutEmail: true}
	if o.noMobile {
		nu.Mobile = ""
	}
	u, _, err := f.deps.Tenancy.CreateUser(f.ctx, tn, "test", nu)
	if err != nil {
		f.t.Fatalf("create %s: %v", name, err)
	}
	if o.noEmail {
		// A user is created with an address; an admin may clear it.
		next := *u
		next.Email = ""
		ev := latchkey.AuditEvent{TenantID: tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionUserUpdate, Result: latchkey.ResultSuccess}
		if err := f.deps.Store.UpdateUser(f.ctx, u, next, ev); err != nil {
			f.t.Fatalf("clear e-mail of %s: %v", name, err)
		}
		u = &next
	}
	if !o.selfServeOff {
		ev := latchkey.AuditEvent{TenantID: tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionSelfServe, Result: latchkey.ResultSuccess}
		if err := f.deps.Store.SetSelfServe(f.ctx, tn.ID, u.ID, true, ev); err != nil {
			f.t.Fatalf("self-serve %s: %v", name, err)
		}
	}
	return u
}

func (f *fixture) email(tn *latchkey.Tenant, name string) string {
	return name + "@" + tn.ID + ".latchkey.test"
}

// mobile is a number of the test's own for name (the outbox is per test).
func (f *fixture) mobile(name string) string {
	n := 0
	for _, r := range name {
		n = (n*31 + int(r)) % 1000000
	}
	return fmt.Sprintf("+4479110%06d", n)
}

// run runs the notifier at time at and returns its report (its error
// reported unless failing is true).
func (f *fixture) run(at time.Time) expiry.Report {
	f.t.Helper()
	rep, err := f.svc.Run(f.ctx, at)
	if err != nil {
		f.t.Fatalf("run at %s: %v", at.Format(time.RFC3339), err)
	}
	return rep
}

// reminders are the expiry e-mails to u's address, by subject.
func (f *fixture) emails(tn *latchkey.Tenant, name string) []string {
	f.t.Helper()
	var out []string
	for _, e := range testenv.Emails(f.t, f.email(tn, name)) {
		if strings.Contains(e.Subject, "password expires") {
			out = append(out, e.Subject)
		}
	}
	return out
}

// texts are the SMS sent to name's mobile.
func (f *fixture) texts(name string) []string {
	var out []string
	for _, m := range f.box.Messages() {
		if m.PhoneNumber == f.mobile(name) {
			out = append(out, m.Message)
		}
	}
	return out
}

// flakyMailer passes e-mails on to next, failing the first failFirst of
// them (with err, or an unreachable-service error).
type flakyMailer struct {
	next      latchkey.Mailer
	mu        sync.Mutex
	failFirst int
	err       error
	calls     int
	// sent are the e-mails passed on, as the notifier gave them.
	sent []latchkey.Email
}

func (m *flakyMailer) SendEmail(ctx context.Context, e latchkey.Email) (string, error) {
	m.mu.Lock()
	m.calls++
	fail := m.calls <= m.failFirst
	if !fail {
		m.sent = append(m.sent, e)
	}
	m.mu.Unlock()
	if fail {
		if m.err != nil {
			return "", m.err
		}
		return "", errors.New("ses: connection refused")
	}
	return m.next.SendEmail(ctx, e)
}

// flakySMS is flakyMailer for SMS.
type flakySMS struct {
	next      latchkey.SMSSender
	mu        sync.Mutex
	failFirst int
	calls     int
}

func (s *flakySMS) SendSMS(ctx context.Context, m latchkey.SMS) (string, error) {
	s.mu.Lock()
	s.calls++
	fail := s.calls <= s.failFirst
	s.mu.Unlock()
	if fail {
		return "", errors.New("sns: connection refused")
	}
	return s.next.SendSMS(ctx, m)
}

// throttle is the error SES v2 answers when the send rate is exceeded.
var throttle = &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Maximum sending rate exceeded."}

// day is 09:00 UTC on 2026-11-02 plus n days.
func day(n int, hour int) time.Time {
	return time.Date(2026, 11, 2+n, hour, 0, 0, 0, time.UTC)
}

// tenancyUser is a user with a role and no e-mail sent.
func tenancyUser(name string, role latchkey.Role) tenancy.NewUser {
	return tenancy.NewUser{Username: name, Email: name + "@staff.latchkey.test", Roles: []latchkey.Role{role}, WithoutEmail: true}
}

// setClock moves the clock forward to at (never back).
func (f *fixture) setClock(at time.Time) {
	if d := at.Sub(f.clock.Now()); d > 0 {
		f.clock.Advance(d)
	}
}
