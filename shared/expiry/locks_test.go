package expiry_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

// lockRecords reads tenant tn's audit items back from the table and makes
// them the stream records Lambda delivers to the lock notifier: inserts
// with their new image, only those matching one of
// expiry.LockStreamFilters (Lambda's event filtering), so the filters are
// checked against the attribute names the audit items really have. With
// all, every audit item is delivered, unfiltered.
func (f *fixture) lockRecords(tn *latchkey.Tenant, all bool) []events.DynamoDBEventRecord {
	f.t.Helper()
	out, err := testenv.DB(f.t).Query(f.ctx, &dynamodb.QueryInput{
		TableName: aws.String(f.deps.Config.TableName), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#" + tn.ID + "#AUDIT"}},
	})
	if err != nil {
		f.t.Fatalf("query audit: %v", err)
	}
	var recs []events.DynamoDBEventRecord
	for _, item := range out.Items {
		img := devstack.StreamImage(item)
		r := events.DynamoDBEventRecord{EventName: "INSERT", EventSource: "aws:dynamodb",
			Change: events.DynamoDBStreamRecord{NewImage: img, StreamViewType: "NEW_IMAGE"}}
		if all || matchesAny(f.t, r) {
			recs = append(recs, r)
		}
	}
	return recs
}

// matchesAny applies expiry.LockStreamFilters to r as Lambda does for the
// patterns they use: the event name and string attributes of the new
// image, each equal to one of the listed values.
func matchesAny(t *testing.T, r events.DynamoDBEventRecord) bool {
	for _, raw := range expiry.LockStreamFilters {
		var p struct {
			EventName []string `json:"eventName"`
			DynamoDB  struct {
				NewImage map[string]map[string][]string `json:"NewImage"`
			} `json:"dynamodb"`
		}
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatalf("filter %s: %v", raw, err)
		}
		ok := slices.Contains(p.EventName, r.EventName)
		for attr, want := range p.DynamoDB.NewImage {
			v, has := r.Change.NewImage[attr]
			ok = ok && has && v.DataType() == events.DataTypeString && slices.Contains(want["S"], v.String())
		}
		if ok {
			return true
		}
	}
	return false
}

// notifyLocks delivers recs to the lock notifier and returns its report
// (its error reported unless failing).
func (f *fixture) notifyLocks(recs []events.DynamoDBEventRecord, failing bool) expiry.Report {
	f.t.Helper()
	rep, err := f.svc.NotifyLocks(f.ctx, recs)
	if (err != nil) != failing {
		f.t.Fatalf("notify locks: got error %v, want one: %v", err, failing)
	}
	return rep
}

// lockEmails are the lock notices e-mailed to name, by subject.
func (f *fixture) lockEmails(tn *latchkey.Tenant, name string) []string {
	f.t.Helper()
	var out []string
	for _, e := range testenv.Emails(f.t, f.email(tn, name)) {
		if strings.Contains(e.Subject, "account is locked") {
			out = append(out, e.Subject)
		}
	}
	return out
}

// lockOut fails name's sign-in until the tenant's threshold locks it.
func (f *fixture) lockOut(tn *latchkey.Tenant, name string) {
	f.t.Helper()
	for i := range tn.Settings.LockoutThreshold {
		_, err := f.deps.Passwords.SignIn(f.ctx, tn.ID, name, "Wrong-horse-battery-1")
		last := i == tn.Settings.LockoutThreshold-1
		if code := latchkey.ErrorCode(err); (last && code != latchkey.EAccountLocked) || (!last && code != latchkey.EInvalidCredentials) {
			f.t.Fatalf("wrong password %d of %s: got %v", i+1, name, err)
		}
	}
}

func (f *fixture) admin(tn *latchkey.Tenant) *latchkey.User {
	f.t.Helper()
	a, err := f.deps.Store.GetUserByUsername(f.ctx, tn.ID, "admin")
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// Five wrong passwords lock a notifiable user: one ACCOUNT_LOCKED by e-mail
// and SMS saying until when; the same records again (a stream retry), and
// the sign-ins refused while locked, send nothing more; the notice shows in
// GET /users/{userId}/notifications.
func TestService_NotifyLocks_Lockout(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "lia", "", userOpts{})
	f.lockOut(tn, "lia")
	if _, err := f.deps.Passwords.SignIn(f.ctx, tn.ID, "lia", "Wrong-horse-battery-1"); latchkey.ErrorCode(err) != latchkey.EAccountLocked {
		t.Fatalf("while locked: got %v, want %s", err, latchkey.EAccountLocked)
	}
	recs := f.lockRecords(tn, false)
	if len(recs) != 1 {
		t.Fatalf("records through the filters: got %d, want 1 (the lockout)", len(recs))
	}
	if rep := f.notifyLocks(recs, false); rep.Sent != 1 {
		t.Errorf("first delivery: got %+v, want 1 sent", rep)
	}
	if rep := f.notifyLocks(f.lockRecords(tn, true), false); rep.Sent != 0 || rep.Duplicate != 1 {
		t.Errorf("redelivery of every audit item: got %+v, want 1 duplicate, none sent", rep)
	}
	if got := f.lockEmails(tn, "lia"); len(got) != 1 {
		t.Errorf("e-mails: got %q, want one", got)
	}
	texts := f.texts("lia")
	if len(texts) != 1 || !strings.Contains(texts[0], "locked until 2026-11-02 09:15 UTC") {
		t.Errorf("texts: got %q, want one, locked until 09:15", texts)
	}

	gw, err := f.deps.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	got := testenv.Call(t, http.MethodGet, srv.URL+"/v1/tenants/"+tn.ID+"/users/"+u.ID+"/notifications", testenv.Token(t, f.deps, f.admin(tn)), "")
	list, _ := got.Body["notifications"].([]any)
	if got.Status != http.StatusOK || len(list) != 1 {
		t.Fatalf("notifications: got %d %s, want 200 with one", got.Status, got.Raw)
	}
	if n, _ := list[0].(map[string]any); n["kind"] != templates.AccountLocked || n["date"] != "2026-11-02" || n["sentAt"] == nil {
		t.Errorf("notice: got %v, want ACCOUNT_LOCKED of 2026-11-02, sent", n)
	}
}

// An admin's lock sends one notice (no end date); locking the locked user
// again is no new lock; a second lock after an unlock is one more.
func TestService_NotifyLocks_AdminLock(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "ada", "", userOpts{})
	admin := f.admin(tn)
	for range 2 {
		if err := f.deps.Passwords.Lock(f.ctx, tn.ID, admin, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if rep := f.notifyLocks(f.lockRecords(tn, false), false); rep.Sent != 1 {
		t.Errorf("lock, lock again: got %+v, want 1 sent", rep)
	}
	texts := f.texts("ada")
	if len(texts) != 1 || strings.Contains(texts[0], "until") {
		t.Errorf("texts: got %q, want one without an end", texts)
	}
	if err := f.deps.Passwords.Unlock(f.ctx, tn.ID, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.deps.Passwords.Lock(f.ctx, tn.ID, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if rep := f.notifyLocks(f.lockRecords(tn, false), false); rep.Sent != 1 || rep.Duplicate != 1 {
		t.Errorf("after unlock and lock: got %+v, want 1 sent, 1 duplicate", rep)
	}
	if got := f.lockEmails(tn, "ada"); len(got) != 2 {
		t.Errorf("e-mails: got %q, want two, one per lock", got)
	}
}

// No notice for the lockout of a username nobody holds, a user with
// self-serve off or without a mobile, or a tenant with the override off.
func TestService_NotifyLocks_NotNotifiable(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	f.lockOut(tn, "ghost")
	recs := f.lockRecords(tn, false)
	if len(recs) != 1 {
		t.Fatalf("records of the unknown username: got %d, want 1 (the filters let it through)", len(recs))
	}
	if rep := f.notifyLocks(recs, false); rep != (expiry.Report{}) {
		t.Errorf("unknown username: got %+v, want nothing", rep)
	}
	f.user(tn, "sam", "", userOpts{selfServeOff: true})
	f.user(tn, "nomo", "", userOpts{noMobile: true})
	off := f.tenant("UTC", 9, 10)
	f.user(off, "otto", "", userOpts{})
	if _, err := f.deps.Tenancy.UpdateSettings(f.ctx, off.ID, "test", "override off", func(s *latchkey.Settings) { s.SelfServe = false }); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tn   *latchkey.Tenant
		name string
	}{{tn, "sam"}, {tn, "nomo"}, {off, "otto"}} {
		u, err := f.deps.Store.GetUserByUsername(f.ctx, c.tn.ID, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.deps.Passwords.Lock(f.ctx, c.tn.ID, f.admin(c.tn), u.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []*latchkey.Tenant{tn, off} {
		recs := f.lockRecords(n, false)
		if len(recs) == 0 {
			t.Fatalf("tenant %s: no lock records", n.ID)
		}
		if rep := f.notifyLocks(recs, false); rep.Sent != 0 || rep.Failed != 0 || rep.Duplicate != 0 || rep.Skipped == 0 {
			t.Errorf("tenant %s: got %+v, want nothing sent, the locks skipped", n.ID, rep)
		}
	}
	if m := f.box.Messages(); len(m) != 0 {
		t.Errorf("texts: got %d, want none", len(m))
	}
	for _, name := range []string{"sam", "nomo"} {
		if got := f.lockEmails(tn, name); len(got) != 0 {
			t.Errorf("%s: got %q, want no e-mail", name, got)
		}
	}
}

// A lock notice whose every send fails is released with an error (Lambda
// retries the batch); the retry sends it, once.
func TestService_NotifyLocks_RetryAfterFailure(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "rex", "", userOpts{})
	if err := f.deps.Passwords.Lock(f.ctx, tn.ID, f.admin(tn), u.ID); err != nil {
		t.Fatal(err)
	}
	f.mail.failFirst, f.sms.failFirst = 1, 1
	recs := f.lockRecords(tn, false)
	if rep := f.notifyLocks(recs, true); rep.Failed != 1 {
		t.Errorf("failing sends: got %+v, want 1 failed", rep)
	}
	if rep := f.notifyLocks(recs, false); rep.Sent != 1 {
		t.Errorf("retry: got %+v, want 1 sent", rep)
	}
	if rep := f.notifyLocks(recs, false); rep.Duplicate != 1 {
		t.Errorf("again: got %+v, want 1 duplicate", rep)
	}
	if got, texts := f.lockEmails(tn, "rex"), f.texts("rex"); len(got) != 1 || len(texts) != 1 {
		t.Errorf("got %d e-mails and %d texts, want one of each", len(got), len(texts))
	}
}

// Locally, devstack.StreamPoller reads DynamoDB Local's stream of the table
// and hands the records to the lock notifier's handler, as Lambda does: an
// admin's lock sends its notice, once.
func TestStreamPoller_LockNotice(t *testing.T) {
	f := newFixture(t, day(0, 9))
	tn := f.tenant("UTC", 9, 10)
	u := f.user(tn, "pia", "", userOpts{})
	cfg, err := awscfg.Load(f.ctx, testenv.DynamoEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	p := &devstack.StreamPoller{DB: testenv.DB(t), Streams: devstack.NewStreamsClientFrom(cfg, testenv.DynamoEndpoint()),
		Table: f.deps.Config.TableName, Handle: f.svc.HandleStream, Logger: testenv.Logger()}
	if n, err := p.Poll(f.ctx); err != nil || n != 0 {
		t.Fatalf("first poll: got %d, %v, want 0 from the stream's end", n, err)
	}
	if err := f.deps.Passwords.Lock(f.ctx, tn.ID, f.admin(tn), u.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Poll(f.ctx); err != nil || n == 0 {
		t.Fatalf("poll after the lock: got %d, %v, want the lock's records", n, err)
	}
	// The notice's own writes (its claim, its record) come next, which the
	// notifier skips; then nothing.
	if n, err := p.Poll(f.ctx); err != nil || n == 0 {
		t.Errorf("second poll: got %d, %v, want the notice's writes", n, err)
	}
	if n, err := p.Poll(f.ctx); err != nil || n != 0 {
		t.Errorf("third poll: got %d, %v, want nothing", n, err)
	}
	if got, texts := f.lockEmails(tn, "pia"), f.texts("pia"); len(got) != 1 || len(texts) != 1 {
		t.Errorf("got %d e-mails and %d texts, want one of each", len(got), len(texts))
	}
}
