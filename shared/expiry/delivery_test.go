package expiry_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
)

// sesEvent is an SES event's detail as EventBridge delivers it, about the
// message id to to, with tags (nil for none) and, for a bounce, bounceType.
func sesEvent(t *testing.T, id, to string, tags map[string]string, eventType, bounceType string) json.RawMessage {
	t.Helper()
	d := map[string]any{"eventType": eventType, "mail": map[string]any{
		"messageId": id, "destination": []string{to}, "tags": sesTags(tags),
	}}
	if bounceType != "" {
		d["bounce"] = map[string]any{"bounceType": bounceType, "bouncedRecipients": []any{map[string]any{"emailAddress": to}}}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sesTags are tags as SES gives them in an event: lists, with its own.
func sesTags(tags map[string]string) map[string][]string {
	out := map[string][]string{"ses:configuration-set": {"latchkey-notices"}}
	for k, v := range tags {
		out[k] = []string{v}
	}
	return out
}

// sentNotice is a notice e-mail as sent: its tags, the message id its
// notice records, and its recipient.
type sentNotice struct {
	tags map[string]string
	id   string
	to   string
}

// latest is u's newest notice.
func (f *fixture) latest(tn *latchkey.Tenant, u *latchkey.User) latchkey.Notice {
	f.t.Helper()
	ns, err := f.svc.Notifications(f.ctx, tn.ID, u.ID)
	if err != nil || len(ns) == 0 {
		f.t.Fatalf("notices of %s: got %v, %v, want at least one", u.Username, ns, err)
	}
	return ns[0]
}

// result is n's result on channel, "" without a send on it.
func result(n latchkey.Notice, channel string) string {
	for _, s := range n.Sends {
		if s.Channel == channel {
			return s.Result
		}
	}
	return ""
}

// sentTo is the notice e-mail to u with its newest notice's message id.
func (f *fixture) sentTo(tn *latchkey.Tenant, u *latchkey.User) sentNotice {
	f.t.Helper()
	n := f.latest(tn, u)
	var id string
	for _, s := range n.Sends {
		if s.Channel == latchkey.ChannelEmail {
			id = s.MessageID
		}
	}
	f.mail.mu.Lock()
	defer f.mail.mu.Unlock()
	for _, e := range f.mail.sent {
		if e.To == u.Email {
			return sentNotice{tags: e.Tags, id: id, to: e.To}
		}
	}
	f.t.Fatalf("e-mail to %s: got none", u.Username)
	return sentNotice{}
}

// deliver applies an SES event and returns what it did.
func (f *fixture) deliver(detailType string, detail json.RawMessage) expiry.DeliveryReport {
	f.t.Helper()
	rep, err := f.svc.RecordDelivery(f.ctx, "aws.ses", detailType, detail)
	if err != nil {
		f.t.Fatalf("%s: %v", detailType, err)
	}
	return rep
}

// getUser reads u again.
func (f *fixture) getUser(u *latchkey.User) *latchkey.User {
	f.t.Helper()
	got, err := f.deps.Store.GetUser(f.ctx, u.TenantID, u.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return got
}

// SES's events about a notice e-mail update its record through the tags
// the e-mail carries: a delivery, a permanent or transient bounce and a
// complaint each set the result once; a permanent bounce and a complaint
// mark the address, after which reminders go by SMS only, until the
// address changes. Events for another tenant's, an unknown or an untagged
// notice change nothing.
func TestService_RecordDelivery(t *testing.T) {
	f := newFixture(t, day(0, 9))
	f.svc.Notify.(*notify.Notifier).ConfigurationSet = "latchkey-notices"
	tn := f.tenant("UTC", 9, 10)
	other := f.tenant("UTC", 9, 10)
	expires := day(5, 0).Format(time.DateOnly)
	users := map[string]*latchkey.User{}
	for _, name := range []string{"del", "perm", "trans", "comp"} {
		users[name] = f.user(tn, name, expires, userOpts{})
	}
	stranger := f.user(other, "stranger", expires, userOpts{})
	f.run(day(0, 9))

	// The e-mail carries the notice's tenant, user and key, encoded, under
	// the configuration set.
	del := f.sentTo(tn, users["del"])
	dec := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("tag %q: %v", s, err)
		}
		return string(b)
	}
	n := f.latest(tn, users["del"])
	if got := [3]string{dec(del.tags[expiry.TagTenant]), dec(del.tags[expiry.TagUser]), dec(del.tags[expiry.TagNotice])}; got != [3]string{tn.ID, users["del"].ID, n.Key()} {
		t.Errorf("tags: got %v, want tenant, user and %q", got, n.Key())
	}
	f.mail.mu.Lock()
	if cs := f.mail.sent[0].ConfigurationSet; cs != "latchkey-notices" {
		t.Errorf("configuration set: got %q, want latchkey-notices", cs)
	}
	f.mail.mu.Unlock()

	cases := []struct {
		name, detailType, eventType, bounceType, result string
		marked                                          bool
	}{
		{"del", expiry.DetailDelivered, "Delivery", "", latchkey.SendDelivered, false},
		{"perm", expiry.DetailBounced, "Bounce", "Permanent", latchkey.SendBounced, true},
		{"trans", expiry.DetailBounced, "Bounce", "Transient", latchkey.SendBounced, false},
		{"comp", expiry.DetailComplained, "Complaint", "", latchkey.SendComplained, true},
	}
	for _, c := range cases {
		u := users[c.name]
		s := f.sentTo(tn, u)
		ev := sesEvent(t, s.id, s.to, s.tags, c.eventType, c.bounceType)
		if rep := f.deliver(c.detailType, ev); !rep.Updated || rep.Marked != c.marked {
			t.Errorf("%s: got %+v, want updated, marked %v", c.name, rep, c.marked)
		}
		if got := result(f.latest(tn, u), latchkey.ChannelEmail); got != c.result {
			t.Errorf("%s: e-mail result got %q, want %q", c.name, got, c.result)
		}
		if got := result(f.latest(tn, u), latchkey.ChannelSMS); got != latchkey.SendSent {
			t.Errorf("%s: SMS result got %q, want sent", c.name, got)
		}
		if got := f.getUser(u).EmailSuppressed(); got != c.marked {
			t.Errorf("%s: address marked got %v, want %v", c.name, got, c.marked)
		}
		// Delivered again: nothing more.
		if rep := f.deliver(c.detailType, ev); rep.Updated || rep.Marked {
			t.Errorf("%s again: got %+v, want nothing changed", c.name, rep)
		}
	}
	// A late delivery does not undo the bounce.
	perm := f.sentTo(tn, users["perm"])
	if rep := f.deliver(expiry.DetailDelivered, sesEvent(t, perm.id, perm.to, perm.tags, "Delivery", "")); rep.Updated {
		t.Errorf("late delivery: got %+v, want nothing changed", rep)
	}
	if got := f.getUser(users["perm"]).View().EmailStatus; got != "bounced" {
		t.Errorf("perm: got e-mail status %q, want bounced", got)
	}
	if got := f.getUser(users["comp"]).View().EmailStatus; got != "complained" {
		t.Errorf("comp: got e-mail status %q, want complained", got)
	}

	// Another tenant's notice named with this tenant's message id, an
	// unknown notice, and an e-mail without our tags change nothing.
	str := f.sentTo(other, stranger)
	forged := map[string]string{}
	for k, v := range str.tags {
		forged[k] = v
	}
	trans := f.sentTo(tn, users["trans"])
	unknown := map[string]string{}
	for k, v := range trans.tags {
		unknown[k] = v
	}
	unknown[expiry.TagNotice] = base64.RawURLEncoding.EncodeToString([]byte("2020-01-01#PASSWORD_EXPIRY_REMINDER"))
	for what, ev := range map[string]json.RawMessage{
		"other tenant":   sesEvent(t, trans.id, str.to, forged, "Complaint", ""),
		"unknown notice": sesEvent(t, trans.id, trans.to, unknown, "Complaint", ""),
		"untagged":       sesEvent(t, trans.id, trans.to, nil, "Complaint", ""),
	} {
		if rep := f.deliver(expiry.DetailComplained, ev); rep.Updated || rep.Marked {
			t.Errorf("%s: got %+v, want nothing changed", what, rep)
		}
	}
	if got := result(f.latest(other, stranger), latchkey.ChannelEmail); got != latchkey.SendSent {
		t.Errorf("other tenant's notice: got %q, want sent", got)
	}
	if f.getUser(stranger).EmailSuppressed() || f.getUser(users["trans"]).EmailSuppressed() {
		t.Error("other tenant's or transient user: got marked, want not")
	}
	if rep, err := f.svc.RecordDelivery(f.ctx, "aws.other", expiry.DetailComplained, sesEvent(t, trans.id, trans.to, trans.tags, "Complaint", "")); err != nil || rep.Updated {
		t.Errorf("other source: got %+v, %v, want nothing changed", rep, err)
	}

	// The next day's reminders: SMS only to the marked addresses.
	f.setClock(day(1, 9))
	f.run(day(1, 9))
	for name, want := range map[string]int{"del": 1, "perm": 0, "trans": 1, "comp": 0} {
		n := f.latest(tn, users[name])
		if n.Date != day(1, 0).Format(time.DateOnly) {
			t.Fatalf("%s: latest notice got %s, want day 1", name, n.Date)
		}
		var emails int
		for _, s := range n.Sends {
			if s.Channel == latchkey.ChannelEmail {
				emails++
			}
		}
		if emails != want || result(n, latchkey.ChannelSMS) != latchkey.SendSent {
			t.Errorf("%s day 1: got sends %+v, want %d e-mail and an SMS", name, n.Sends, want)
		}
	}

	// A new address clears the mark.
	u := f.getUser(users["perm"])
	next := *u
	next.Email = "perm-new@" + tn.ID + ".latchkey.test"
	ev := latchkey.AuditEvent{TenantID: tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionUserUpdate, Result: latchkey.ResultSuccess}
	if err := f.deps.Store.UpdateUser(f.ctx, u, next, ev); err != nil {
		t.Fatal(err)
	}
	if f.getUser(u).EmailSuppressed() {
		t.Error("after a new address: got marked, want not")
	}
}
