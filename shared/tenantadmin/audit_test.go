package tenantadmin_test

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// auditBody is GET /audit's answer.
type auditBody struct {
	Events     []latchkey.AuditEvent `json:"events"`
	NextCursor *string               `json:"nextCursor"`
}

// page gets one page of tenant tid's audit log with token tok.
func (f *fixture) page(tid, tok string, q url.Values) (answer, auditBody) {
	f.t.Helper()
	a := f.do(tid, "GET", "/audit?"+q.Encode(), tok, "")
	var b auditBody
	if a.status == 200 {
		a.decode(f.t, &b)
	}
	return a, b
}

// pageAll follows nextCursor from the first page of q to the last and
// returns every event and the number of pages; each page holds at most
// limit events, and only the last lacks a cursor.
func (f *fixture) pageAll(q url.Values, limit int) ([]latchkey.AuditEvent, int) {
	f.t.Helper()
	var all []latchkey.AuditEvent
	pages := 0
	for {
		a, b := f.page(f.tid, f.adminTok, q)
		if a.status != 200 {
			f.t.Fatalf("page %d of %v: got %d %s", pages+1, q, a.status, a.body)
		}
		pages++
		if len(b.Events) > limit {
			f.t.Fatalf("page %d: got %d events, want at most %d", pages, len(b.Events), limit)
		}
		all = append(all, b.Events...)
		if b.NextCursor == nil {
			return all, pages
		}
		if *b.NextCursor == "" || pages > 500 {
			f.t.Fatalf("page %d: got cursor %q", pages, *b.NextCursor)
		}
		q.Set("cursor", *b.NextCursor)
	}
}

// seeded is what seed wrote: event i has reason "n=<i>", actor a<i%5>,
// subject s<i%3> and action actions[i%3], at times[i].
type seeded struct {
	times []time.Time
	start time.Time
}

var seedActions = []latchkey.Action{latchkey.ActionUserLock, latchkey.ActionUserUnlock, latchkey.ActionPasswordReset}

// seed appends n events to the tenant's audit log, 400 ms apart (so that
// most fall within a second of others).
func (f *fixture) seed(n int) seeded {
	f.t.Helper()
	s := seeded{start: f.clock.Now()}
	for i := 0; i < n; i++ {
		f.clock.Advance(400 * time.Millisecond)
		s.times = append(s.times, f.clock.Now())
		f.deps.Store.Audit(f.ctx, latchkey.Event(f.tid, fmt.Sprintf("a%d", i%5), fmt.Sprintf("s%d", i%3), seedActions[i%3], latchkey.ResultSuccess, fmt.Sprintf("n=%d", i)))
	}
	return s
}

// want returns the reasons of the seeded events keep accepts, newest first.
func (s seeded) want(keep func(i int) bool) []string {
	var out []string
	for i := len(s.times) - 1; i >= 0; i-- {
		if keep(i) {
			out = append(out, fmt.Sprintf("n=%d", i))
		}
	}
	return out
}

// reasons returns the reasons of the seeded events among events, in order.
func reasons(events []latchkey.AuditEvent) []string {
	var out []string
	for _, e := range events {
		if strings.HasPrefix(e.Reason, "n=") {
			out = append(out, e.Reason)
		}
	}
	return out
}

func TestAudit_Paging(t *testing.T) {
	f := newFixture(t)
	before, _ := f.pageAll(url.Values{}, latchkey.DefaultAuditLimit)
	s := f.seed(250)

	t.Run("250 events in pages of 50, newest first, without duplicates or gaps", func(t *testing.T) {
		all, pages := f.pageAll(url.Values{}, latchkey.DefaultAuditLimit)
		if len(all) != 250+len(before) {
			t.Fatalf("got %d events, want %d", len(all), 250+len(before))
		}
		if want := (len(all) + 49) / 50; pages != want {
			t.Errorf("got %d pages, want %d", pages, want)
		}
		if got, want := reasons(all), s.want(func(int) bool { return true }); !slices.Equal(got, want) {
			t.Fatalf("got %d seeded events in order %v…, want %d newest first", len(got), got[:min(5, len(got))], len(want))
		}
		for i := 1; i < len(all); i++ {
			if all[i].At.After(all[i-1].At) {
				t.Fatalf("event %d at %v after event %d at %v: want newest first", i, all[i].At, i-1, all[i-1].At)
			}
		}
	})
	t.Run("a page of exactly the rest has no cursor", func(t *testing.T) {
		q := url.Values{"limit": {strconv.Itoa(250 + len(before))}}
		if 250+len(before) > latchkey.MaxAuditLimit {
			q = url.Values{"limit": {"50"}, "actor": {"a1"}} // 50 events exactly
		}
		a, b := f.page(f.tid, f.adminTok, q)
		if a.status != 200 || len(b.Events) != 50 || b.NextCursor != nil {
			t.Fatalf("got %d, %d events, cursor %v; want 50 events and no cursor", a.status, len(b.Events), b.NextCursor)
		}
	})
	for _, tc := range []struct {
		name string
		q    url.Values
		keep func(i int) bool
	}{
		{"actor", url.Values{"actor": {"a1"}}, func(i int) bool { return i%5 == 1 }},
		{"subject", url.Values{"subject": {"s2"}}, func(i int) bool { return i%3 == 2 }},
		{"action", url.Values{"action": {string(latchkey.ActionPasswordReset)}}, func(i int) bool { return i%3 == 2 }},
		{"actor and action", url.Values{"actor": {"a4"}, "action": {string(latchkey.ActionUserLock)}}, func(i int) bool { return i%5 == 4 && i%3 == 0 }},
		{"from", url.Values{"from": {s.start.Add(90 * time.Second).Format(time.RFC3339)}}, func(i int) bool { return !s.times[i].Before(s.start.Add(90 * time.Second)) }},
		{"to", url.Values{"to": {s.start.Add(10 * time.Second).Format(time.RFC3339)}}, func(i int) bool { return s.times[i].Before(s.start.Add(10 * time.Second)) }},
		// Sub-second edges: from is an event's time (kept), to another's (not kept).
		{"from and to within seconds", url.Values{"from": {s.times[24].Format(time.RFC3339Nano)}, "to": {s.times[101].Format(time.RFC3339Nano)}}, func(i int) bool { return i >= 24 && i < 101 }},
		{"time range in another zone", url.Values{"from": {s.times[10].In(time.FixedZone("CET", 3600)).Format(time.RFC3339Nano)}, "to": {s.times[20].In(time.FixedZone("CET", 3600)).Format(time.RFC3339Nano)}}, func(i int) bool { return i >= 10 && i < 20 }},
		{"filter and time range", url.Values{"actor": {"a2"}, "from": {s.start.Add(20 * time.Second).Format(time.RFC3339)}, "to": {s.start.Add(60 * time.Second).Format(time.RFC3339)}}, func(i int) bool {
			return i%5 == 2 && !s.times[i].Before(s.start.Add(20*time.Second)) && s.times[i].Before(s.start.Add(60*time.Second))
		}},
	} {
		t.Run("filter "+tc.name, func(t *testing.T) {
			q := url.Values{"limit": {"7"}}
			for k, v := range tc.q {
				q[k] = v
			}
			got, _ := f.pageAll(q, 7)
			want := s.want(tc.keep)
			if len(want) == 0 {
				t.Fatal("the case selects nothing: fix the test")
			}
			if !slices.Equal(reasons(got), want) {
				t.Errorf("got %v, want %v", reasons(got), want)
			}
			for _, e := range got {
				if tc.q.Get("actor") != "" && e.Actor != tc.q.Get("actor") || tc.q.Get("action") != "" && string(e.Action) != tc.q.Get("action") {
					t.Errorf("got %+v, want only events matching %v", e, tc.q)
				}
			}
		})
	}
	t.Run("an action nobody did", func(t *testing.T) {
		a, b := f.page(f.tid, f.adminTok, url.Values{"action": {string(latchkey.ActionWelcomeConfirm)}})
		if a.status != 200 || len(b.Events) != 0 || b.NextCursor != nil || !strings.Contains(string(a.body), `"events":[]`) {
			t.Errorf("got %d %s, want 200 with no events and no cursor", a.status, a.body)
		}
	})
}

func TestAudit_Refusals(t *testing.T) {
	f := newFixture(t)
	f.seed(3)
	for _, tc := range []struct {
		name, query, field string
	}{
		{"limit 0", "limit=0", "limit"},
		{"limit 101", "limit=101", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"unknown action", "action=settings.delete", "action"},
		{"from not a time", "from=yesterday", "from"},
		{"to not RFC 3339", "to=2026-11-02", "to"},
		{"from after to", "from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z", "from"},
		{"unknown parameter", "actions=user.lock", "actions"},
		{"actor too long", "actor=" + strings.Repeat("a", 300), "actor"},
		{"made-up cursor", "cursor=bm90LWEtY3Vyc29y", "cursor"},
		{"damaged cursor", "cursor=%21%21", "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.do(f.tid, "GET", "/audit?"+tc.query, f.adminTok, "")
			if a.status != 400 || a.code != latchkey.EValidation || !strings.Contains(a.message, tc.field) {
				t.Errorf("got %d %s %q, want 400 %s naming %s", a.status, a.code, a.message, latchkey.EValidation, tc.field)
			}
		})
	}

	t.Run("another tenant's cursor", func(t *testing.T) {
		a, b := f.page(f.other, f.otherTok, url.Values{"limit": {"1"}})
		if a.status != 200 || b.NextCursor == nil {
			t.Fatalf("other tenant's first page: got %d %s, want a cursor", a.status, a.body)
		}
		a, _ = f.page(f.tid, f.adminTok, url.Values{"cursor": {*b.NextCursor}})
		if a.status != 400 || a.code != latchkey.EValidation || strings.Contains(string(a.body), "events") || strings.Contains(string(a.body), f.other) {
			t.Fatalf("got %d %s, want 400 %s and nothing of the other tenant", a.status, a.body, latchkey.EValidation)
		}
	})
	t.Run("a cursor outside a changed time range", func(t *testing.T) {
		_, b := f.page(f.tid, f.adminTok, url.Values{"limit": {"1"}})
		a, _ := f.page(f.tid, f.adminTok, url.Values{"cursor": {*b.NextCursor}, "to": {"2026-01-01T00:00:00Z"}})
		if a.status != 400 || a.code != latchkey.EValidation {
			t.Fatalf("got %d %s, want 400 %s", a.status, a.body, latchkey.EValidation)
		}
	})
}

// Events are kept one year: each carries a TTL of its time plus
// dynamo.AuditRetention, and none older is listed even before DynamoDB's
// TTL has deleted it.
func TestAudit_Retention(t *testing.T) {
	f := newFixture(t)
	f.seed(2)
	f.clock.Advance(dynamo.AuditRetention - time.Hour)
	f.deps.Store.Audit(f.ctx, latchkey.Event(f.tid, "a9", "s9", latchkey.ActionUserLock, latchkey.ResultSuccess, "n=recent"))
	tok := f.token(f.admin) // the fixture's token expired a year ago
	_, b := f.page(f.tid, tok, url.Values{})
	if got := reasons(b.Events); !slices.Equal(got, []string{"n=recent", "n=1", "n=0"}) {
		t.Fatalf("within the year: got %v, want every seeded event", got)
	}
	f.clock.Advance(2 * time.Hour)
	tok = f.token(f.admin)
	_, b = f.page(f.tid, tok, url.Values{})
	if got := reasons(b.Events); !slices.Equal(got, []string{"n=recent"}) || len(b.Events) != 1 {
		t.Fatalf("a year on: got %v (%d events), want only the recent one", got, len(b.Events))
	}
}
