package expiry_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

func TestKind(t *testing.T) {
	today := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   int
		kind string
		left int
		ok   bool
	}{
		{-1, "", 0, false}, {0, templates.PasswordExpiresToday, 0, true}, {1, templates.PasswordExpiryReminder, 1, true},
		{10, templates.PasswordExpiryReminder, 10, true}, {11, "", 0, false},
	} {
		kind, left, ok := expiry.Kind(today, today.AddDate(0, 0, c.in), 10)
		if kind != c.kind || left != c.left || ok != c.ok {
			t.Errorf("in %d days: got %q %d %v, want %q %d %v", c.in, kind, left, ok, c.kind, c.left, c.ok)
		}
	}
}

func TestDue(t *testing.T) {
	st := latchkey.DefaultSettings()
	for _, c := range []struct {
		name string
		zone string
		hour int
		at   time.Time
		due  bool
		date string
	}{
		{"London summer time: 09:00 BST is 08:00 UTC", "Europe/London", 9, time.Date(2026, 10, 24, 8, 0, 0, 0, time.UTC), true, "2026-10-24"},
		{"London summer time: 09:00 UTC is 10:00 BST", "Europe/London", 9, time.Date(2026, 10, 24, 9, 0, 0, 0, time.UTC), false, "2026-10-24"},
		{"London after the change: 08:00 UTC is 08:00 GMT", "Europe/London", 9, time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC), false, "2026-10-25"},
		{"London after the change: 09:00 UTC is 09:00 GMT", "Europe/London", 9, time.Date(2026, 10, 25, 9, 0, 0, 0, time.UTC), true, "2026-10-25"},
		{"Tonga, UTC+13: 20:00 UTC is 09:00 the next day", "Pacific/Tongatapu", 9, time.Date(2026, 11, 2, 20, 0, 0, 0, time.UTC), true, "2026-11-03"},
		{"Honolulu, UTC-10: 19:00 UTC is 09:00 the same day", "Pacific/Honolulu", 9, time.Date(2026, 11, 2, 19, 0, 0, 0, time.UTC), true, "2026-11-02"},
		{"a send hour skipped by spring forward is taken by the next hour", "Europe/Berlin", 2, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), true, "2026-03-29"},
		{"a late delivery within the hour", "UTC", 9, time.Date(2026, 11, 2, 9, 59, 0, 0, time.UTC), true, "2026-11-02"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st.TimeZone, st.SendHour = c.zone, c.hour
			date, due, err := expiry.Due(st, c.at)
			if err != nil {
				t.Fatal(err)
			}
			if due != c.due || date.Format(time.DateOnly) != c.date {
				t.Errorf("got %v on %s, want %v on %s", due, date.Format(time.DateOnly), c.due, c.date)
			}
		})
	}
	st.TimeZone = "Mars/Olympus"
	if _, _, err := expiry.Due(st, time.Now()); err == nil {
		t.Errorf("unknown zone: got no error, want one")
	}
}

// A password expiring in 12 days: nothing until 10 days before, then one
// reminder a day (10 days left … 1), the expiry-day notice on the day,
// nothing after, by e-mail and SMS, at the send hour only.
func TestService_Run_ReminderWindow(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	f.user(tn, "pat", day(12, 0).Format(time.DateOnly), userOpts{})
	var want []string
	for n := range 15 {
		for _, hour := range []int{8, 9, 10, 21} {
			f.setClock(day(n, hour))
			f.run(day(n, hour))
		}
		switch left := 12 - n; {
		case left == 0:
			want = append(want, "Your Expiry "+tn.ID+" password expires today")
		case left >= 1 && left <= 10:
			want = append(want, fmt.Sprintf("Your Expiry %s password expires in %d days", tn.ID, left))
		}
		if got := f.emails(tn, "pat"); !slices.Equal(got, want) {
			t.Fatalf("after day %d: e-mails got %q, want %q", n, got, want)
		}
		if got := len(f.texts("pat")); got != len(want) {
			t.Fatalf("after day %d: SMS got %d, want %d", n, got, len(want))
		}
	}
	if len(want) != 11 {
		t.Fatalf("notices: got %d, want 11 (10 reminders and the day itself)", len(want))
	}
}

// The send hour holds across the end of British summer time (Sunday 25
// October 2026): 08:00 UTC the day before, 09:00 UTC the day after.
func TestService_Run_DaylightSaving(t *testing.T) {
	f := newFixture(t, time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC))
	tn := f.tenant("Europe/London", 9, 3)
	f.user(tn, "lon", "2026-10-26", userOpts{})
	sentAt := map[string]bool{}
	for h := range 72 {
		at := time.Date(2026, 10, 24, h, 0, 0, 0, time.UTC)
		f.setClock(at)
		if rep := f.run(at); rep.Sent > 0 {
			sentAt[at.Format("2006-01-02T15")] = true
		}
	}
	want := map[string]bool{"2026-10-24T08": true, "2026-10-25T09": true, "2026-10-26T09": true}
	if fmt.Sprint(sentAt) != fmt.Sprint(want) {
		t.Errorf("sent at: got %v, want %v", sentAt, want)
	}
	if got := len(f.emails(tn, "lon")); got != 3 {
		t.Errorf("e-mails: got %d, want 3", got)
	}
}

// A tenant at UTC+13 and one at UTC-10 each get theirs at 09:00 on their
// own local day, run by the same hourly schedule.
func TestService_Run_FarTimeZones(t *testing.T) {
	f := newFixture(t, day(0, 0))
	tonga, hawaii := f.tenant("Pacific/Tongatapu", 9, 1), f.tenant("Pacific/Honolulu", 9, 1)
	to := f.user(tonga, "tui", "2026-11-03", userOpts{})
	ha := f.user(hawaii, "kai", "2026-11-02", userOpts{})
	sent := map[string]int{}
	for h := range 24 {
		at := day(0, h)
		f.setClock(at)
		if rep := f.run(at); rep.Sent > 0 {
			sent[at.Format("15")] += rep.Sent
		}
	}
	if want := map[string]int{"19": 1, "20": 1}; fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("sent per UTC hour: got %v, want %v", sent, want)
	}
	for _, c := range []struct {
		tn   *latchkey.Tenant
		u    *latchkey.User
		date string
	}{{tonga, to, "2026-11-03"}, {hawaii, ha, "2026-11-02"}} {
		ns, err := f.deps.Store.ListNotices(f.ctx, c.tn.ID, c.u.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) != 1 || ns[0].Date != c.date || ns[0].Kind != templates.PasswordExpiresToday {
			t.Errorf("%s: got notices %+v, want one %s on %s", c.tn.Settings.TimeZone, ns, templates.PasswordExpiresToday, c.date)
		}
	}
}

// The same event twice, then ten times at once: one notice per user, day
// and kind.
func TestService_Run_Duplicates(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	names := []string{"ann", "bob", "cyd"}
	for i, name := range names {
		f.user(tn, name, day(i, 0).Format(time.DateOnly), userOpts{})
	}
	if rep := f.run(day(0, 9)); rep.Sent != 3 {
		t.Fatalf("first run: got %+v, want 3 sent", rep)
	}
	if rep := f.run(day(0, 9)); rep.Sent != 0 || rep.Duplicate != 3 {
		t.Fatalf("second run: got %+v, want 0 sent, 3 duplicates", rep)
	}
	f.setClock(day(1, 9))
	reps := make([]expiry.Report, 10)
	errs := testenv.Concurrently(10, func(i int) error {
		var err error
		reps[i], err = f.svc.Run(f.ctx, day(1, 9))
		return err
	})
	sent := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		sent += reps[i].Sent
	}
	// Day 1: bob's expires today, cyd's in 1 day; ann's is past.
	if sent != 2 {
		t.Errorf("ten parallel runs: got %d sent, want 2", sent)
	}
	for i, name := range names {
		want := map[int]int{0: 1, 1: 2, 2: 2}[i]
		if got := len(f.emails(tn, name)); got != want {
			t.Errorf("%s: e-mails got %d, want %d", name, got, want)
		}
		if got := len(f.texts(name)); got != want {
			t.Errorf("%s: SMS got %d, want %d", name, got, want)
		}
	}
}

// A notice whose sends all fail is released and sent by the next run of
// the same event, once.
func TestService_Run_FailedSendRetried(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	f.user(tn, "fay", day(5, 0).Format(time.DateOnly), userOpts{})
	f.mail.failFirst, f.sms.failFirst = 1, 1
	rep, err := f.svc.Run(f.ctx, day(0, 9))
	if err == nil || rep.Failed != 1 {
		t.Fatalf("first run: got %+v, %v, want 1 failed and an error", rep, err)
	}
	if got := len(f.emails(tn, "fay")) + len(f.texts("fay")); got != 0 {
		t.Fatalf("after the failed run: got %d messages, want 0", got)
	}
	if rep := f.run(day(0, 9)); rep.Sent != 1 {
		t.Fatalf("second run: got %+v, want 1 sent", rep)
	}
	if rep := f.run(day(0, 9)); rep.Sent != 0 || rep.Duplicate != 1 {
		t.Fatalf("third run: got %+v, want the duplicate", rep)
	}
	if e, s := len(f.emails(tn, "fay")), len(f.texts("fay")); e != 1 || s != 1 {
		t.Errorf("got %d e-mails and %d SMS, want 1 and 1", e, s)
	}
}

// An SES throttle is retried within the run, after a backoff.
func TestService_Run_ThrottleRetried(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "tom", day(3, 0).Format(time.DateOnly), userOpts{})
	f.mail.failFirst, f.mail.err = 2, throttle
	if rep := f.run(day(0, 9)); rep.Sent != 1 {
		t.Fatalf("got %+v, want 1 sent", rep)
	}
	if got := len(f.emails(tn, "tom")); got != 1 {
		t.Errorf("e-mails: got %d, want 1", got)
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(f.sleeps, want) {
		t.Errorf("backoff: got %v, want %v", f.sleeps, want)
	}
	ns, err := f.deps.Store.ListNotices(f.ctx, tn.ID, u.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || len(ns[0].Sends) != 2 || ns[0].Sends[0].Result != latchkey.SendSent || ns[0].Sends[0].MessageID == "" {
		t.Errorf("record: got %+v, want both channels sent with message ids", ns)
	}
}

// With send rates set, a run paces each channel by the service's clock: at
// 2 e-mails and 4 SMS a second (bursts of 2 and 4), the 8 notices' sends
// wait their turn (the fixture records the waits instead of sleeping, and
// its clock stands still, so each wait counts from the first send); without
// rates nothing waits.
func TestService_Run_SendRates(t *testing.T) {
	f := newFixture(t, day(0, 9))
	f.svc.Workers = 1
	f.svc.EmailRate, f.svc.SMSRate = 2, 4
	tn := f.tenant("UTC", 9, 10)
	for i := range 8 {
		f.user(tn, fmt.Sprintf("rae%d", i), day(i%3, 0).Format(time.DateOnly), userOpts{})
	}
	if rep := f.run(day(0, 9)); rep.Sent != 8 {
		t.Fatalf("got %+v, want 8 sent", rep)
	}
	if e, s := len(f.mail.sent), len(f.box.Messages()); e != 8 || s != 8 {
		t.Fatalf("got %d e-mails and %d SMS, want 8 and 8", e, s)
	}
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, n := range v {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	// E-mails 3 to 8 wait 0.5 s … 3 s, SMS 5 to 8 wait 0.25 s … 1 s.
	want := ms(250, 500, 500, 750, 1000, 1000, 1500, 2000, 2500, 3000)
	if got := slices.Sorted(slices.Values(f.sleeps)); !slices.Equal(got, want) {
		t.Errorf("waits: got %v, want %v", got, want)
	}
	g := newFixture(t, day(0, 9))
	tg := g.tenant("UTC", 9, 10)
	for i := range 8 {
		g.user(tg, fmt.Sprintf("rae%d", i), day(i%3, 0).Format(time.DateOnly), userOpts{})
	}
	if rep := g.run(day(0, 9)); rep.Sent != 8 || len(g.sleeps) != 0 {
		t.Errorf("without rates: got %+v and waits %v, want 8 sent and none", rep, g.sleeps)
	}
}

// Only users with self-serve on, under a tenant with it on, with both an
// e-mail address and a mobile number, get notices.
func TestService_Run_Conditions(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	expires := day(2, 0).Format(time.DateOnly)
	f.user(tn, "okay", expires, userOpts{})
	f.user(tn, "selfoff", expires, userOpts{selfServeOff: true})
	f.user(tn, "nomobile", expires, userOpts{noMobile: true})
	f.user(tn, "noemail", expires, userOpts{noEmail: true})
	off := f.tenant("UTC", 9, 10)
	f.user(off, "overridden", expires, userOpts{})
	if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, off.ID, "test", "selfServe=off", func(s *latchkey.Settings) { s.SelfServe = false }); err != nil {
		t.Fatal(err)
	}
	rep := f.run(day(0, 9))
	if rep.Sent != 1 || rep.Tenants != 1 {
		t.Errorf("got %+v, want 1 tenant (the other's override is off), 1 sent", rep)
	}
	if got := len(f.emails(tn, "okay")); got != 1 {
		t.Errorf("okay: got %d e-mails, want 1", got)
	}
	for _, name := range []string{"selfoff", "nomobile"} {
		if got := len(f.emails(tn, name)); got != 0 {
			t.Errorf("%s: got %d e-mails, want 0", name, got)
		}
	}
	if got := len(f.emails(off, "overridden")); got != 0 {
		t.Errorf("override off: got %d e-mails, want 0", got)
	}
	for _, name := range []string{"selfoff", "noemail", "overridden"} {
		if got := len(f.texts(name)); got != 0 {
			t.Errorf("%s: got %d SMS, want 0", name, got)
		}
	}
}

// Changing or clearing a user's expiry date moves the user in the expiry
// index: the old date finds nobody.
func TestService_Run_DateChanged(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "moe", day(3, 0).Format(time.DateOnly), userOpts{})
	next := *u
	next.PasswordExpiresOn = day(30, 0).Format(time.DateOnly)
	ev := latchkey.AuditEvent{TenantID: tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionUserUpdate, Result: latchkey.ResultSuccess}
	if err := f.deps.Store.UpdateUser(f.ctx, u, next, ev); err != nil {
		t.Fatal(err)
	}
	if got, err := f.deps.Store.UsersExpiringOn(f.ctx, tn.ID, day(3, 0).Format(time.DateOnly)); err != nil || len(got) != 0 {
		t.Errorf("old date: got %d users (%v), want 0", len(got), err)
	}
	if got, err := f.deps.Store.UsersExpiringOn(f.ctx, tn.ID, next.PasswordExpiresOn); err != nil || len(got) != 1 {
		t.Errorf("new date: got %d users (%v), want 1", len(got), err)
	}
	cleared := next
	cleared.PasswordExpiresOn = ""
	if err := f.deps.Store.UpdateUser(f.ctx, &next, cleared, ev); err != nil {
		t.Fatal(err)
	}
	if got, err := f.deps.Store.UsersExpiringOn(f.ctx, tn.ID, next.PasswordExpiresOn); err != nil || len(got) != 0 {
		t.Errorf("cleared: got %d users (%v), want 0", len(got), err)
	}
	if rep := f.run(day(0, 9)); rep.Sent != 0 {
		t.Errorf("run: got %+v, want nothing sent", rep)
	}
}

// GET /users/{userId}/notifications shows an admin the notices sent, newest
// first; agents, users and another tenant's admin get 403.
func TestEndpoints_Notifications(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "nia", day(1, 0).Format(time.DateOnly), userOpts{})
	f.run(day(0, 9))
	f.setClock(day(1, 9))
	f.run(day(1, 9))
	gw, err := f.deps.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	url := srv.URL + "/v1/tenants/" + tn.ID + "/users/" + u.ID + "/notifications"
	admin, err := f.deps.Store.GetUserByUsername(f.ctx, tn.ID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	got := testenv.Call(t, http.MethodGet, url, testenv.Token(t, f.deps, admin), "")
	if got.Status != http.StatusOK {
		t.Fatalf("admin: got %d %s, want 200", got.Status, got.Raw)
	}
	list, _ := got.Body["notifications"].([]any)
	if len(list) != 2 {
		t.Fatalf("notifications: got %s, want 2", got.Raw)
	}
	first, _ := list[0].(map[string]any)
	if first["date"] != "2026-11-03" || first["kind"] != templates.PasswordExpiresToday || first["sentAt"] == nil {
		t.Errorf("newest: got %v, want the expiry-day notice of 2026-11-03", first)
	}
	chans, _ := first["channels"].([]any)
	if len(chans) != 2 || !strings.Contains(fmt.Sprint(chans), "email") || !strings.Contains(fmt.Sprint(chans), "sms") {
		t.Errorf("channels: got %v, want email and sms", chans)
	}
	if missing := testenv.Call(t, http.MethodGet, srv.URL+"/v1/tenants/"+tn.ID+"/users/nobody0000/notifications", testenv.Token(t, f.deps, admin), ""); missing.Status != http.StatusNotFound {
		t.Errorf("unknown user: got %d, want 404", missing.Status)
	}
	agent, _, err := f.deps.Tenancy.CreateUser(f.ctx, tn, "test", tenancyUser("agent", latchkey.RoleAgent))
	if err != nil {
		t.Fatal(err)
	}
	member, _, err := f.deps.Tenancy.CreateUser(f.ctx, tn, "test", tenancyUser("member", latchkey.RoleUser))
	if err != nil {
		t.Fatal(err)
	}
	other := f.tenant("UTC", 9, 10)
	otherAdmin, err := f.deps.Store.GetUserByUsername(f.ctx, other.ID, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for who, u := range map[string]*latchkey.User{"agent": agent, "user": member, "admin of another tenant": otherAdmin} {
		if got := testenv.Call(t, http.MethodGet, url, testenv.Token(t, f.deps, u), ""); got.Status != http.StatusForbidden || got.Code() != latchkey.EForbidden {
			t.Errorf("%s: got %d %s, want 403 %s", who, got.Status, got.Code(), latchkey.EForbidden)
		}
	}
}

// A run whose deadline is near starts no notice and says so; the next run
// (Lambda's retry of the event) sends them.
func TestService_Run_Deadline(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	f.user(tn, "dee", day(4, 0).Format(time.DateOnly), userOpts{})
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	rep, err := f.svc.Run(ctx, day(0, 9))
	if !errors.Is(err, expiry.ErrOutOfTime) || rep.Sent != 0 {
		t.Fatalf("near the deadline: got %+v, %v, want nothing sent and ErrOutOfTime", rep, err)
	}
	if rep := f.run(day(0, 9)); rep.Sent != 1 {
		t.Errorf("retry: got %+v, want 1 sent", rep)
	}
}

func TestThrottled(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{throttle, true},
		{fmt.Errorf("send: %w", &smithy.GenericAPIError{Code: "Throttling"}), true}, // SNS
		{&smithy.GenericAPIError{Code: "LimitExceededException"}, true},
		{&smithy.GenericAPIError{Code: "MessageRejected"}, false},
		{errors.New("connection refused"), false},
	} {
		if got := expiry.Throttled(c.err); got != c.want {
			t.Errorf("Throttled(%v): got %v, want %v", c.err, got, c.want)
		}
	}
}
