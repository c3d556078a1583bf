package system_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// ttlPublicBase is the public pages' address the link e-mails point to.
const ttlPublicBase = "https://pages.latchkey.test"

var (
	ttlPINLink     = regexp.MustCompile(`/security-pin#([A-Za-z0-9_-]+)`)
	ttlWelcomeLink = regexp.MustCompile(`/welcome#([A-Za-z0-9_-]+)`)
	ttlSixDigits   = regexp.MustCompile(`\b(\d{6})\b`)
)

// ttlEnv is one side of one TTL case: a fresh table and tenant, the whole
// application on a clock that moves only when told.
type ttlEnv struct {
	t      *testing.T
	ctx    context.Context
	clock  *testclock.Clock
	d      *system.Deps
	tenant *latchkey.Tenant
	admin  *latchkey.User
	// adminTemp is the admin's temporary password from the tenant's creation.
	adminTemp string
	// created is when the tenant (and the admin's temporary password) was made.
	created time.Time
}

func newTTLEnv(t *testing.T) *ttlEnv {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	d.PINVerify.PublicBaseURL = ttlPublicBase + "/"
	d.UserAdmin.PublicBaseURL = ttlPublicBase + "/"
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := "ttl" + strings.ToLower(id[:10])
	tn, admin, temp, err := d.Tenancy.CreateTenant(ctx, tid, "TTL "+tid, "admin", "admin@"+tid+".latchkey.test")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp)
	return &ttlEnv{t: t, ctx: ctx, clock: clock, d: d, tenant: tn, admin: admin, adminTemp: temp, created: clock.Now()}
}

// email is an address of the test's own tenant, so no other test's e-mail
// in the emulator is mistaken for this one's.
func (e *ttlEnv) email(name string) string { return name + "@" + e.tenant.ID + ".latchkey.test" }

// to moves the clock to at, which must not be in its past.
func (e *ttlEnv) to(at time.Time) {
	e.t.Helper()
	d := at.Sub(e.clock.Now())
	if d < 0 {
		e.t.Fatalf("clock: %v is before now (%v)", at, e.clock.Now())
	}
	e.clock.Advance(d)
}

// held reads item pk/sk with a raw, strongly consistent GetItem and fails
// the test when it is gone: whatever the flow then refuses, the code
// refused it, not DynamoDB. It returns the item's ttl (epoch seconds).
func (e *ttlEnv) held(pk, sk string) int64 {
	e.t.Helper()
	out, err := testenv.DB(e.t).GetItem(e.ctx, &dynamodb.GetItemInput{
		TableName: aws.String(e.d.Config.TableName), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if out.Item == nil {
		e.t.Fatalf("item %s / %s: gone from the table, want it still there", pk, sk)
	}
	n, ok := out.Item["ttl"].(*types.AttributeValueMemberN)
	if !ok {
		e.t.Fatalf("item %s / %s: no ttl attribute", pk, sk)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// heldPastTTL is held for an item whose ttl is the moment the code stops
// accepting it: after that moment the item must still be in the table with
// its ttl in the past (what DynamoDB Local always, and DynamoDB for up to
// days, returns), so the refusal that follows is the code's.
func (e *ttlEnv) heldPastTTL(pk, sk string, after bool) {
	e.t.Helper()
	ttl := e.held(pk, sk)
	if past := ttl < e.clock.Now().Unix(); past != after {
		e.t.Fatalf("item %s / %s: ttl %d, now %d: past %v, want %v", pk, sk, ttl, e.clock.Now().Unix(), past, after)
	}
}

// side is the clock's offset from an item's expiry in one subtest.
func side(after bool) time.Duration {
	if after {
		return time.Second
	}
	return -time.Second
}

// ttlCode returns err's error code ("" for nil).
func ttlCode(err error) string { return latchkey.ErrorCode(err) }

// want fails the test unless err has code want ("" for a success).
func (e *ttlEnv) want(what string, err error, want string) {
	e.t.Helper()
	if got := ttlCode(err); got != want {
		e.t.Errorf("%s: got %q (%v), want %q", what, got, err, want)
	}
}

// mailToken waits for an e-mail to to whose text re matches and returns
// the first group, remembered as a secret.
func mailToken(t *testing.T, to string, re *regexp.Regexp, subject string) string {
	t.Helper()
	var got string
	testenv.WaitForEmail(t, to, func(m devstack.ReceivedEmail) bool {
		if subject != "" && !strings.Contains(m.Subject, subject) {
			return false
		}
		if g := re.FindStringSubmatch(m.Text); g != nil {
			got = g[1]
			return true
		}
		return false
	})
	testenv.Remember(got)
	return got
}

// adminPassword completes the admin's first sign-in, so the admin has a
// password of their own, and returns it.
func (e *ttlEnv) adminPassword() string {
	e.t.Helper()
	const pw = "Right-horse-2026"
	testenv.Remember(pw)
	res, err := e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", e.adminTemp)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.d.Passwords.CompleteNewPassword(e.ctx, e.tenant.ID, res.Session, pw); err != nil {
		e.t.Fatal(err)
	}
	return pw
}

// account turns the security PIN on and stores account acct-1 with an
// owner who has an e-mail address of the test's own, and returns it.
func (e *ttlEnv) account() string {
	e.t.Helper()
	if _, err := e.d.Tenancy.UpdateSettings(e.ctx, e.tenant.ID, "test", "securityPin=on", func(s *latchkey.Settings) { s.SecurityPIN = true }); err != nil {
		e.t.Fatal(err)
	}
	owner := e.email("olive")
	in := pinverify.AccountInput{Name: "Acme Holdings", Contacts: []latchkey.Contact{
		{ID: "c1", Name: "Olive Owner", Role: latchkey.ContactOwner, Email: owner},
	}}
	if _, err := e.d.PINVerify.Upsert(e.ctx, e.tenant.ID, e.admin.ID, "acct-1", in); err != nil {
		e.t.Fatal(err)
	}
	return owner
}

// notifiable turns self-serve on for the tenant (sending at 09:00 UTC),
// sends SMS to an outbox of the test's own, and creates a self-serve user
// with an e-mail address, a mobile and the given password expiry day (""
// for none), who can therefore be sent notices.
func (e *ttlEnv) notifiable(name, expiresOn string) *latchkey.User {
	e.t.Helper()
	box := testenv.NewOutbox(e.t)
	cfg, err := awscfg.Load(e.ctx, box.Endpoint())
	if err != nil {
		e.t.Fatal(err)
	}
	e.d.Notifier.SMS = sns.New(sns.NewClientFrom(cfg, box.Endpoint()), "")
	if _, err := e.d.Tenancy.UpdateSettings(e.ctx, e.tenant.ID, "test", "selfServe", func(s *latchkey.Settings) {
		s.SelfServe, s.SendHour, s.TimeZone = true, 9, "UTC"
	}); err != nil {
		e.t.Fatal(err)
	}
	u, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tenant, e.admin.ID, tenancy.NewUser{
		Username: name, Email: e.email(name), Mobile: "+447911123456", Roles: []latchkey.Role{latchkey.RoleUser},
		PasswordExpiresOn: expiresOn,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	testenv.Remember(temp)
	if res, err := e.d.UserAdmin.SetSelfServe(e.ctx, e.tenant.ID, e.admin.ID, []string{u.ID}, true); err != nil || res.Updated != 1 {
		e.t.Fatalf("self-serve: got %+v, %v; want 1 updated", res, err)
	}
	return u
}

// ttlCase is one item kind of docs/data-model.md that carries a TTL: run
// creates the item through the real flow, moves the clock to one second
// before (after false) or after (after true) the moment the item stops
// counting, checks that the table still holds it, and uses it through the
// real flow.
type ttlCase struct {
	// item is the item's name in the first column of docs/data-model.md's
	// table of item types.
	item string
	name string
	run  func(e *ttlEnv, after bool)
}

var ttlCases = []ttlCase{
	{item: "temporary password", name: "no longer signs in", run: func(e *ttlEnv, after bool) {
		exp := e.created.Add(time.Duration(e.tenant.Settings.TempPasswordHours) * time.Hour)
		e.to(exp.Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#USER#"+e.admin.ID, "TEMPPW", after)
		res, err := e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", e.adminTemp)
		if after {
			e.want("sign-in with the temporary password", err, latchkey.EInvalidCredentials)
		} else if err != nil || res.Challenge != password.ChallengeNewPassword {
			e.t.Errorf("sign-in with the temporary password: got %+v, %v; want the challenge", res, err)
		}
	}},
	{item: "new-password challenge", name: "answers invalid_session", run: func(e *ttlEnv, after bool) {
		res, err := e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", e.adminTemp)
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(res.Session)
		if want := e.clock.Now().Add(password.ChallengeTTL); !res.ExpiresAt.Equal(want) {
			e.t.Errorf("challenge expiresAt: got %v, want %v", res.ExpiresAt, want)
		}
		e.to(res.ExpiresAt.Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#CHALLENGE#"+secure.MAC(e.d.Keys.HMACKey, "session", res.Session), "CHALLENGE", after)
		_, err = e.d.Passwords.CompleteNewPassword(e.ctx, e.tenant.ID, res.Session, "Right-horse-2026")
		e.want("complete the challenge", err, map[bool]string{true: latchkey.EInvalidSession}[after])
	}},
	{item: "login state (attempt count, lockout)", name: "failures no longer count after its ttl", run: func(e *ttlEnv, after bool) {
		// Four failures, one short of the threshold; the fifth locks only
		// while the count still stands.
		for i := 1; i < e.tenant.Settings.LockoutThreshold; i++ {
			_, err := e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", "wrong-password-1")
			e.want("failure "+strconv.Itoa(i), err, latchkey.EInvalidCredentials)
		}
		exp := e.clock.Now().Add(max(24*time.Hour, time.Duration(e.tenant.Settings.LockoutMinutes)*time.Minute))
		e.to(exp.Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#USERNAME#"+latchkey.UsernameKey("admin"), "LOGINFAILURES", after)
		_, err := e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", "wrong-password-1")
		e.want("the threshold's failure", err, map[bool]string{false: latchkey.EAccountLocked, true: latchkey.EInvalidCredentials}[after])
	}},
	{item: "login state (attempt count, lockout)", name: "a lockout ends after the lockout time", run: func(e *ttlEnv, after bool) {
		pw := e.adminPassword()
		var err error
		for range e.tenant.Settings.LockoutThreshold {
			_, err = e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", "wrong-password-1")
		}
		e.want("the threshold's failure", err, latchkey.EAccountLocked)
		exp := e.clock.Now().Add(time.Duration(e.tenant.Settings.LockoutMinutes) * time.Minute)
		e.to(exp.Add(side(after)))
		// The record outlives the lockout (its ttl is 24 h): the lockout's
		// end is the code's computation, not the item's disappearance.
		e.held("TENANT#"+e.tenant.ID+"#USERNAME#"+latchkey.UsernameKey("admin"), "LOGINFAILURES")
		_, err = e.d.Passwords.SignIn(e.ctx, e.tenant.ID, "admin", pw)
		e.want("the right password", err, map[bool]string{false: latchkey.EAccountLocked}[after])
	}},
	{item: "rate counter", name: "a per-source limit resets with its window", run: func(e *ttlEnv, after bool) {
		l := password.DefaultLimits
		l.SignInPerSource = 3
		e.d.Passwords.Limits = l
		const ip = "198.51.100.7"
		src := withSource(e.ctx, ip)
		start := e.clock.Now().Truncate(l.SignInWindow)
		for i := range l.SignInPerSource {
			_, err := e.d.Passwords.SignIn(src, e.tenant.ID, "nobody-"+strconv.Itoa(i), "wrong-password-1")
			e.want("failure "+strconv.Itoa(i), err, latchkey.EInvalidCredentials)
		}
		_, err := e.d.Passwords.SignIn(src, e.tenant.ID, "nobody-x", "wrong-password-1")
		e.want("over the limit", err, latchkey.ERateLimited)
		e.to(start.Add(l.SignInWindow).Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#RATE#signin-src#"+latchkey.SourceKey(ip), "WINDOW#"+strconv.FormatInt(start.Unix(), 10), after)
		_, err = e.d.Passwords.SignIn(src, e.tenant.ID, "nobody-y", "wrong-password-1")
		e.want("the next attempt", err, map[bool]string{false: latchkey.ERateLimited, true: latchkey.EInvalidCredentials}[after])
	}},
	{item: "audit event", name: "no longer listed after a year", run: func(e *ttlEnv, after bool) {
		page, err := e.d.TenantAdmin.AuditPage(e.ctx, e.tenant.ID, latchkey.AuditQuery{Limit: 50})
		if err != nil || len(page.Events) == 0 {
			e.t.Fatalf("audit: got %v, %v; want the tenant's creation", page, err)
		}
		ev := page.Events[len(page.Events)-1]
		e.to(ev.At.Add(dynamo.AuditRetention).Add(side(after)))
		out, err := testenv.DB(e.t).Query(e.ctx, &dynamodb.QueryInput{
			TableName: aws.String(e.d.Config.TableName), ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#" + e.tenant.ID + "#AUDIT"}},
		})
		if err != nil || len(out.Items) < len(page.Events) {
			e.t.Fatalf("raw audit partition: got %d items (%v), want the %d events still there", len(out.Items), err, len(page.Events))
		}
		page, err = e.d.TenantAdmin.AuditPage(e.ctx, e.tenant.ID, latchkey.AuditQuery{Limit: 50})
		if err != nil {
			e.t.Fatal(err)
		}
		listed := false
		for _, x := range page.Events {
			listed = listed || (x.At.Equal(ev.At) && x.Action == ev.Action && x.Subject == ev.Subject)
		}
		if listed == after {
			e.t.Errorf("GET /audit: the %s event listed %v, want %v", ev.Action, listed, !after)
		}
	}},
	{item: "security-PIN link (set-up or reset)", name: "answers link_gone", run: func(e *ttlEnv, after bool) {
		owner := e.account()
		sent, err := e.d.PINVerify.SendLink(e.ctx, e.tenant.ID, e.admin.ID, "acct-1", "c1")
		if err != nil {
			e.t.Fatal(err)
		}
		tok := mailToken(e.t, owner, ttlPINLink, "")
		e.to(sent.ExpiresAt.Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#PINLINK#"+secure.MAC(e.d.Keys.HMACKey, "pin-link", tok), "PINLINK", after)
		_, err = e.d.PINVerify.LinkInfo(e.ctx, e.tenant.ID, tok)
		e.want("link info", err, map[bool]string{true: latchkey.EGone}[after])
		err = e.d.PINVerify.SetPIN(e.ctx, e.tenant.ID, tok, "482917", "482917")
		e.want("set the PIN", err, map[bool]string{true: latchkey.EGone}[after])
	}},
	{item: "welcome link", name: "answers link_gone", run: func(e *ttlEnv, after bool) {
		u, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tenant, e.admin.ID, tenancy.NewUser{
			Username: "wendy", Email: e.email("wendy"), Roles: []latchkey.Role{latchkey.RoleUser},
		})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp)
		if _, err := e.d.UserAdmin.SendWelcome(e.ctx, e.tenant.ID, e.admin.ID, u.ID); err != nil {
			e.t.Fatal(err)
		}
		tok := mailToken(e.t, e.email("wendy"), ttlWelcomeLink, "")
		e.to(e.clock.Now().Add(latchkey.WelcomeLinkTTL).Add(side(after)))
		e.heldPastTTL("TENANT#"+e.tenant.ID+"#WELCOME#"+secure.MAC(e.d.Keys.HMACKey, "welcome", tok), "WELCOME", after)
		err = e.d.UserAdmin.ConfirmWelcome(e.ctx, e.tenant.ID, tok, "+44 7911 123456")
		e.want("confirm", err, map[bool]string{true: latchkey.EGone}[after])
	}},
	{item: "verification code (with the account's code counters)", name: "answers code_gone", run: func(e *ttlEnv, after bool) {
		owner := e.account()
		sent, err := e.d.PINVerify.SendCode(e.ctx, e.tenant.ID, e.admin.ID, "acct-1", "c1")
		if err != nil {
			e.t.Fatal(err)
		}
		c := mailToken(e.t, owner, ttlSixDigits, "verification code")
		e.to(sent.ExpiresAt.Add(side(after)))
		// Its ttl is later than the code's 10 minutes (the send window's
		// counters outlive the code): the code's end is `exp`, compared by
		// the attempt's condition.
		e.held("TENANT#"+e.tenant.ID+"#ACCOUNT#acct-1", "VCODE")
		_, err = e.d.PINVerify.VerifyCode(e.ctx, e.tenant.ID, e.admin.ID, "acct-1", c)
		e.want("verify", err, map[bool]string{true: latchkey.ECodeGone}[after])
	}},
	{item: "expiry notice (claim and record)", name: "a dead run's claim is taken over after NoticeClaimTimeout", run: func(e *ttlEnv, after bool) {
		today := e.clock.Now().Format(time.DateOnly)
		u := e.notifiable("rita", today)
		// A run that claimed the notice and died before sending.
		n := latchkey.Notice{TenantID: e.tenant.ID, UserID: u.ID, Date: today, Kind: templates.PasswordExpiresToday, ClaimedAt: e.clock.Now()}
		if ok, err := e.d.Store.ClaimNotice(e.ctx, n); err != nil || !ok {
			e.t.Fatalf("the dead run's claim: got %v, %v", ok, err)
		}
		e.to(n.ClaimedAt.Add(dynamo.NoticeClaimTimeout).Add(side(after)))
		e.held("TENANT#"+e.tenant.ID+"#NOTICE#"+u.ID, n.Key())
		rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now())
		if err != nil {
			e.t.Fatal(err)
		}
		if want := (expiry.Report{Tenants: 1, Sent: map[bool]int{true: 1}[after], Duplicate: map[bool]int{false: 1}[after]}); rep != want {
			e.t.Errorf("the next run: got %+v, want %+v", rep, want)
		}
	}},
	{item: "lock notice (claim and record)", name: "a dead run's claim is taken over after NoticeClaimTimeout", run: func(e *ttlEnv, after bool) {
		u := e.notifiable("lena", "")
		if err := e.d.Passwords.Lock(e.ctx, e.tenant.ID, e.admin, u.ID); err != nil {
			e.t.Fatal(err)
		}
		rec, sk := e.lockRecord(u.ID)
		n := latchkey.Notice{TenantID: e.tenant.ID, UserID: u.ID, Date: e.clock.Now().Format(time.DateOnly), Kind: templates.AccountLocked, Ref: sk, ClaimedAt: e.clock.Now()}
		if ok, err := e.d.Store.ClaimNotice(e.ctx, n); err != nil || !ok {
			e.t.Fatalf("the dead run's claim: got %v, %v", ok, err)
		}
		e.to(n.ClaimedAt.Add(dynamo.NoticeClaimTimeout).Add(side(after)))
		e.held("TENANT#"+e.tenant.ID+"#NOTICE#"+u.ID, n.Key())
		rep, err := e.d.Expiry.NotifyLocks(e.ctx, []events.DynamoDBEventRecord{rec})
		if err != nil {
			e.t.Fatal(err)
		}
		if want := (expiry.Report{Sent: map[bool]int{true: 1}[after], Duplicate: map[bool]int{false: 1}[after]}); rep != want {
			e.t.Errorf("the next delivery of the lock's record: got %+v, want %+v", rep, want)
		}
	}},
}

// lockRecord returns the table-stream record of the insert of user uid's
// user.lock audit event, as the stream delivers it to the lock notifier,
// and the event's sort key.
func (e *ttlEnv) lockRecord(uid string) (events.DynamoDBEventRecord, string) {
	e.t.Helper()
	out, err := testenv.DB(e.t).Query(e.ctx, &dynamodb.QueryInput{
		TableName: aws.String(e.d.Config.TableName), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TENANT#" + e.tenant.ID + "#AUDIT"}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range out.Items {
		img := map[string]events.DynamoDBAttributeValue{}
		for k, v := range it {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				img[k] = events.NewStringAttribute(s.Value)
			}
		}
		if img["Action"].String() == string(latchkey.ActionUserLock) && img["Subject"].String() == uid {
			return events.DynamoDBEventRecord{
				EventName: string(events.DynamoDBOperationTypeInsert),
				Change:    events.DynamoDBStreamRecord{NewImage: img},
			}, img["SK"].String()
		}
	}
	e.t.Fatalf("no user.lock audit event of %s among %d", uid, len(out.Items))
	return events.DynamoDBEventRecord{}, ""
}

// Every item kind that docs/data-model.md gives a TTL is refused by the code
// one second after it expires, while the table still returns it (DynamoDB
// deletes expired items only eventually, DynamoDB Local never), and still
// works one second before: each case creates the item through the real
// flow, moves the injected clock, reads the item back with a raw GetItem or
// Query, then uses it through the real flow. A temporary password no
// longer signs in, a challenge answers invalid_session, a link link_gone,
// a code code_gone, a count of failures restarts and a lockout ends, a
// per-source window stops limiting, an audit event leaves GET /audit, and
// a notice claimed by a run that died is taken over by the next run.
func TestTTL_ExpiredItemsRefused(t *testing.T) {
	for _, c := range ttlCases {
		t.Run(c.item+"/"+c.name, func(t *testing.T) {
			for _, after := range []bool{false, true} {
				name := map[bool]string{false: "1 s before expiry", true: "1 s after expiry"}[after]
				t.Run(name, func(t *testing.T) { c.run(newTTLEnv(t), after) })
			}
		})
	}
}

// ttlItems reads the item kinds that carry a TTL from docs/data-model.md's
// table of item types: the rows between "## Item types" and the next
// heading whose last column is not "none…".
func ttlItems(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "data-model.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "\n## Item types\n")
	if !ok {
		t.Fatal(`docs/data-model.md: no "## Item types" section`)
	}
	section, _, _ := strings.Cut(rest, "\n#")
	var out []string
	header := true
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if header || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			header = false // the header row, then its separator
			continue
		}
		item, ttl := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[len(cells)-1])
		if !strings.HasPrefix(ttl, "none") {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		t.Fatal("docs/data-model.md: no item with a TTL found in the table of item types: the guard would prove nothing")
	}
	return out
}

// Every item kind with a TTL in docs/data-model.md has a case in
// TestTTL_ExpiredItemsRefused, and every case names such an item: a new
// TTL item kind without a case fails here.
func TestTTL_EveryItemKindHasACase(t *testing.T) {
	items := ttlItems(t)
	covered := map[string]bool{}
	for _, c := range ttlCases {
		covered[c.item] = true
	}
	documented := map[string]bool{}
	for _, it := range items {
		documented[it] = true
		if !covered[it] {
			t.Errorf("docs/data-model.md gives %q a TTL, and TestTTL_ExpiredItemsRefused has no case for it", it)
		}
	}
	for it := range covered {
		if !documented[it] {
			t.Errorf("case for %q: no item of that name with a TTL in docs/data-model.md", it)
		}
	}
	t.Logf("%d item kinds with a TTL, each with a case: %s", len(items), strings.Join(items, "; "))
}

// withSource returns ctx as the HTTP layer makes it for a request from
// source address ip (reqctx.WithSourceIP, read by the per-source limits).
func withSource(ctx context.Context, ip string) context.Context { return reqctx.WithSourceIP(ctx, ip) }
