package system_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/awscfg"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/gateway"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/secrets"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// faultEnv is the whole system on a fresh table, its DynamoDB, SES and SNS
// clients each pointed through a fault proxy in front of the real local
// service (DynamoDB Local, the SES emulator, an SMS outbox), served over
// HTTP by the local gateway, with a tenant and its admin.
type faultEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *testclock.Clock
	d     *system.Deps
	table string
	// db, mail and sms are the proxies in front of DynamoDB, SES and SNS.
	db, mail, sms *devstack.FaultProxy
	box           *devstack.Outbox
	cfg           aws.Config
	keys          *secrets.Keys
	base          string // the gateway's URL
	api           string // the tenant's API base URL, which call uses
	tn            *latchkey.Tenant
	admin         *latchkey.User
	adminTok      string

	mu     sync.Mutex
	sleeps []time.Duration // the expiry notifier's waits, recorded instead of slept
}

// startFaultProxy starts a fault proxy in front of target for one test.
func startFaultProxy(t *testing.T, target string) *devstack.FaultProxy {
	t.Helper()
	p, err := devstack.StartFaultProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// noBackoff makes the SDK's own retries of SES and SNS immediate: the
// expiry notifier's backoff, which the test checks, is injected (Sleep),
// and the SDK's would only make the test slow.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	_, table := testenv.NewTable(t)
	e := &faultEnv{t: t, ctx: ctx, clock: clock, table: table,
		db: startFaultProxy(t, testenv.DynamoEndpoint()), mail: startFaultProxy(t, testenv.SESEndpoint()), box: testenv.NewOutbox(t)}
	e.sms = startFaultProxy(t, e.box.Endpoint())
	cfg, err := awscfg.Load(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	master, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	if e.keys, err = secrets.Derive(master); err != nil {
		t.Fatal(err)
	}
	e.d = e.build()
	e.base = e.serve(e.d)
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := "f" + strings.ToLower(id[:10])
	_, admin, temp, err := e.d.Tenancy.CreateTenant(ctx, tid, "Faults "+tid, "admin", "admin@"+tid+".latchkey.test")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	e.tn, err = e.d.Tenancy.UpdateSettings(ctx, tid, "test", "faults", func(s *latchkey.Settings) {
		s.PINSignup, s.SecurityPIN, s.SelfServe = latchkey.PINSignupWeb, true, true
		s.TimeZone, s.SendHour, s.ReminderDays = "UTC", 9, 10
	})
	if err != nil {
		t.Fatal(err)
	}
	e.admin, e.adminTok = admin, testenv.Token(t, e.d, admin)
	e.api = e.base + "/v1/tenants/" + tid
	return e
}

// build assembles the system on the env's table and keys, with DynamoDB
// (dynamo.NewClientFrom, with dbOpts), SES and SNS each through its proxy.
// The SES and SNS clients' own retries are immediate (noBackoff).
func (e *faultEnv) build(dbOpts ...func(*dynamodb.Options)) *system.Deps {
	msgCfg := e.cfg.Copy()
	msgCfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
	}
	d := system.Build(config.Config{TableName: e.table, SenderEmail: testenv.Sender, PublicBaseURL: "https://id.latchkey.test"},
		testenv.Logger(), e.clock.Now, e.keys,
		dynamo.New(dynamo.NewClientFrom(e.cfg, e.db.Endpoint(), dbOpts...), e.table, e.clock.Now),
		ses.New(ses.NewClientFrom(msgCfg, e.mail.Endpoint()), testenv.Sender),
		sns.New(sns.NewClientFrom(msgCfg, e.sms.Endpoint()), ""))
	d.Expiry.Sleep = func(_ context.Context, d time.Duration) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.sleeps = append(e.sleeps, d)
		return nil
	}
	return d
}

// serve serves d's gateway over HTTP until the test ends and returns its
// base URL.
func (e *faultEnv) serve(d *system.Deps) string {
	e.t.Helper()
	gw, err := d.Gateway()
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// email is an address of the env's tenant, unique to the test.
func (e *faultEnv) email(name string) string { return name + "@" + e.tn.ID + ".latchkey.test" }

// call sends a JSON request to the tenant's API path with the bearer
// token tok ("" for none) and the headers given as name, value pairs.
func (e *faultEnv) call(method, path, tok, body string, headers ...string) testenv.Reply {
	e.t.Helper()
	return testenv.Call(e.t, method, e.api+path, tok, body, headers...)
}

// items reads the whole table through a healthy client (not the proxy).
func (e *faultEnv) items() []map[string]types.AttributeValue {
	e.t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(testenv.DB(e.t), &dynamodb.ScanInput{TableName: &e.table, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page.Items...)
	}
	return out
}

func str(it map[string]types.AttributeValue, name string) string {
	s, _ := it[name].(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// randomPart matches the parts of a key that differ from run to run (with
// the tenant id): ids, MACs, hashes, times.
var randomPart = regexp.MustCompile(`[A-Za-z0-9_-]{16,}|\d{4}-\d\d-\d\d[T0-9:.Z-]*`)

// state summarizes the table as a sorted list of item kinds (each key
// with its random parts blanked) with the count of each, leaving out
// audit events, rate and attempt slots (counters, not state a flow
// completes), plus extra flow-specific facts: equal summaries mean the
// same state, whatever the random ids.
func (e *faultEnv) state(extra ...string) string {
	e.t.Helper()
	n := map[string]int{}
	for _, it := range e.items() {
		pk, sk := str(it, "PK"), str(it, "SK")
		if strings.HasSuffix(pk, "#AUDIT") || strings.Contains(pk, "RATE") || strings.Contains(sk, "RATE") ||
			strings.Contains(sk, "ATTEMPT") || strings.Contains(sk, "LOGIN") {
			continue
		}
		key := strings.ReplaceAll(pk+" "+sk, e.tn.ID, "T")
		n[randomPart.ReplaceAllString(key, "*")]++
	}
	var out []string
	for k, c := range n {
		out = append(out, fmt.Sprintf("%s=%d", k, c))
	}
	sort.Strings(out)
	return strings.Join(append(out, extra...), "; ")
}

// attrs returns the attributes of the items whose sort key starts with
// sk, as name=value with the random parts blanked: the counters a flow
// changes (attempts, failures, verifications) and what it sets.
func (e *faultEnv) attrs(sk string) []string {
	e.t.Helper()
	var out []string
	for _, it := range e.items() {
		if !strings.HasPrefix(str(it, "SK"), sk) {
			continue
		}
		for name, v := range it {
			var val string
			switch v := v.(type) {
			case *types.AttributeValueMemberS:
				val = v.Value
			case *types.AttributeValueMemberN:
				val = v.Value
			case *types.AttributeValueMemberBOOL:
				val = fmt.Sprint(v.Value)
			default:
				val = fmt.Sprintf("%T", v)
			}
			val = randomPart.ReplaceAllString(strings.ReplaceAll(val, e.tn.ID, "T"), "*")
			out = append(out, sk+"."+name+"="+val)
		}
	}
	sort.Strings(out)
	return out
}

// tempMAC returns what identifies the user's temporary password (its
// hash), "" when there is none.
func (e *faultEnv) tempMAC(uid string) string {
	e.t.Helper()
	for _, it := range e.items() {
		if str(it, "SK") == "TEMPPW" && strings.HasSuffix(str(it, "PK"), uid) {
			var parts []string
			for name, v := range it {
				if s, ok := v.(*types.AttributeValueMemberS); ok && name != "PK" && name != "SK" {
					parts = append(parts, name+"="+s.Value)
				}
			}
			sort.Strings(parts)
			return strings.Join(parts, ",")
		}
	}
	return ""
}

// user reads a user by username through a healthy client.
func (e *faultEnv) user(username string) *latchkey.User {
	e.t.Helper()
	u, err := dynamo.New(testenv.DB(e.t), e.table, e.clock.Now).GetUserByUsername(e.ctx, e.tn.ID, username)
	if err != nil {
		return nil
	}
	return u
}

// linkToken waits for the e-mail to the address to with a link of the
// given kind ("/welcome#" or "/security-pin#") and returns its token.
func linkToken(t *testing.T, to, kind string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(kind) + `([A-Za-z0-9_-]+)`)
	var tok string
	testenv.WaitForEmail(t, to, func(m devstack.ReceivedEmail) bool {
		if s := re.FindStringSubmatch(m.Text); s != nil {
			tok = s[1]
		}
		return tok != ""
	})
	testenv.Remember(tok)
	return tok
}

// securityPINLink makes account acct-1 with owner olive, sends her a
// security-PIN set-up link and returns its token.
func (e *faultEnv) securityPINLink() string {
	e.t.Helper()
	in := pinverify.AccountInput{Name: "Acme", Contacts: []latchkey.Contact{{ID: "c1", Name: "Olive", Role: latchkey.ContactOwner, Email: e.email("olive")}}}
	if _, err := e.d.PINVerify.Upsert(e.ctx, e.tn.ID, e.admin.ID, "acct-1", in); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.d.PINVerify.SendLink(e.ctx, e.tn.ID, e.admin.ID, "acct-1", "c1"); err != nil {
		e.t.Fatal(err)
	}
	return linkToken(e.t, e.email("olive"), "/security-pin#")
}

// faultFlow is a flow of docs/data-model.md's round-trip table that writes
// more than once, or writes in a transaction after reads. prepare sets up
// what the flow needs on a healthy table and returns the flow's HTTP call
// (the same request each time) and the facts of its state that item kinds
// alone do not show.
//
// gaps are answers other than 503 that the flow gives today when DynamoDB
// fails at its k-th request, and partial the one partial state it leaves
// today (as old, new replacements of the state before), each a known gap
// left to the flow's owner and listed in docs/reliability.md. 503 and a
// whole state are accepted there too, so that closing a gap keeps the test
// green; any other answer or partial state fails it.
type faultFlow struct {
	name    string
	prepare func(e *faultEnv) (call func() testenv.Reply, facts func() []string)
	gaps    map[int]string
	partial map[int][]string
}

var faultFlows = []faultFlow{
	{"signin-temporary-password", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		_, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "tom", Email: e.email("tom")})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp)
		body := fmt.Sprintf(`{"username":"tom","password":%q}`, temp)
		return func() testenv.Reply { return e.call("POST", "/sessions", "", body) },
			func() []string { return nil }
	}, nil, nil},
	{"forgot-password-known", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		e.d.Passwords.ResetFloor = -1 // no response floor: the test is about state
		u, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "fay", Email: e.email("fay")})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp)
		first := e.tempMAC(u.ID)
		return func() testenv.Reply { return e.call("POST", "/password-resets", "", `{"username":"fay"}`) },
			func() []string {
				return []string{fmt.Sprintf("temporary password replaced=%v", e.tempMAC(u.ID) != first)}
			}
	}, nil, nil},
	{"me-password", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		_, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "max", Email: e.email("max")})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp, "Quiet-river-77", "Other-river-88")
		res, err := e.d.Passwords.SignIn(e.ctx, e.tn.ID, "max", temp)
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(res.Session)
		if _, err := e.d.Passwords.CompleteNewPassword(e.ctx, e.tn.ID, res.Session, "Quiet-river-77"); err != nil {
			e.t.Fatal(err)
		}
		tok := testenv.Token(e.t, e.d, e.user("max"))
		return func() testenv.Reply {
				return e.call("PUT", "/me/password", tok, `{"currentPassword":"Quiet-river-77","newPassword":"Other-river-88"}`)
			}, func() []string {
				return []string{fmt.Sprintf("sessionVersion=%d", e.user("max").SessionVersion)}
			}
	}, nil, nil},
	{"challenge-complete", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		_, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "nia", Email: e.email("nia")})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp, "Quiet-river-77")
		res, err := e.d.Passwords.SignIn(e.ctx, e.tn.ID, "nia", temp)
		if err != nil || res.Session == "" {
			e.t.Fatalf("sign in with the temporary password: got %+v, %v; want a session", res, err)
		}
		testenv.Remember(res.Session)
		body := fmt.Sprintf(`{"session":%q,"newPassword":"Quiet-river-77"}`, res.Session)
		return func() testenv.Reply { return e.call("POST", "/sessions/new-password", "", body) },
			func() []string {
				u := e.user("nia")
				return []string{fmt.Sprintf("sessionVersion=%d", u.SessionVersion)}
			}
	}, nil, nil},
	{"pin-code-signup", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		code, err := e.d.PINSignup.Generate(e.ctx, e.tn.ID, e.admin.ID, e.admin.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(code)
		body := fmt.Sprintf(`{"pinCode":%q,"email":%q,"username":"sam"}`, code, e.email("sam"))
		return func() testenv.Reply { return e.call("POST", "/signups", "", body, "X-Client", "web") },
			func() []string { return []string{fmt.Sprintf("sam found by username=%v", e.user("sam") != nil)} }
	}, nil, nil},
	{"users-import", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		body := fmt.Sprintf(`{"users":[{"username":"ann","email":%q}],"sendEmail":false}`, e.email("ann"))
		return func() testenv.Reply { return e.call("POST", "/users", e.adminTok, body) },
			func() []string { return []string{fmt.Sprintf("ann found by username=%v", e.user("ann") != nil)} }
	}, nil, nil},
	{"pin-link-set", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		tok := e.securityPINLink()
		return func() testenv.Reply {
				return e.call("POST", "/security-pin/links/"+tok, "", `{"pin":"482917","pinConfirm":"482917"}`)
			}, func() []string {
				a, err := dynamo.New(testenv.DB(e.t), e.table, e.clock.Now).GetAccount(e.ctx, e.tn.ID, "acct-1")
				if err != nil {
					e.t.Fatal(err)
				}
				return []string{fmt.Sprintf("pin set=%v, link named=%v", a.PINMAC != "", a.LinkMAC != "")}
			}
	}, nil, nil},
	{"pin-verify-right", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		tok := e.securityPINLink()
		if err := e.d.PINVerify.SetPIN(e.ctx, e.tn.ID, tok, "482917", "482917"); err != nil {
			e.t.Fatal(err)
		}
		return func() testenv.Reply {
			return e.call("POST", "/accounts/acct-1/security-pin/verify", e.adminTok, `{"pin":"482917"}`)
		}, func() []string { return e.attrs("ACCOUNT") }
	}, nil, map[int][]string{
		// The attempt slot is taken (verifyFailures + 1) before the PIN is
		// compared; when the success transaction then fails, the right PIN
		// stays counted as a failure until the next right one.
		3: {"ACCOUNT.verifyFailures=0", "ACCOUNT.verifyFailures=1"},
	}},
	{"code-verify-right", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		in := pinverify.AccountInput{Name: "Acme", Contacts: []latchkey.Contact{{ID: "c1", Name: "Olive", Role: latchkey.ContactOwner, Email: e.email("olive")}}}
		if _, err := e.d.PINVerify.Upsert(e.ctx, e.tn.ID, e.admin.ID, "acct-1", in); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.d.PINVerify.SendCode(e.ctx, e.tn.ID, e.admin.ID, "acct-1", "c1"); err != nil {
			e.t.Fatal(err)
		}
		re := regexp.MustCompile(`\b(\d{6})\b`)
		var code string
		testenv.WaitForEmail(e.t, e.email("olive"), func(m devstack.ReceivedEmail) bool {
			if s := re.FindStringSubmatch(m.Text); s != nil && strings.Contains(m.Subject, "verification code") {
				code = s[1]
			}
			return code != ""
		})
		testenv.Remember(code)
		body := fmt.Sprintf(`{"code":%q}`, code)
		return func() testenv.Reply {
			return e.call("POST", "/accounts/acct-1/verification-codes/verify", e.adminTok, body)
		}, func() []string { return append(e.attrs("ACCOUNT"), e.attrs("VCODE")...) }
	}, nil, map[int][]string{
		// As for the PIN: the right code stays counted as a failure.
		3: {"VCODE.failures=0", "VCODE.failures=1; VCODE.lastFailedAt=*"},
	}},
	{"welcome-confirm", func(e *faultEnv) (func() testenv.Reply, func() []string) {
		u, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "wes", Email: e.email("wes")})
		if err != nil {
			e.t.Fatal(err)
		}
		testenv.Remember(temp)
		if _, err := e.d.UserAdmin.SendWelcome(e.ctx, e.tn.ID, e.admin.ID, u.ID); err != nil {
			e.t.Fatal(err)
		}
		tok := linkToken(e.t, e.email("wes"), "/welcome#")
		return func() testenv.Reply {
				return e.call("POST", "/welcome/"+tok, "", `{"mobile":"+44 20 7946 0958"}`)
			}, func() []string {
				u := e.user("wes")
				return []string{fmt.Sprintf("mobile=%q", u.Mobile)}
			}
	}, nil, nil},
}

// DynamoDB unreachable in the middle of each multi-write flow: for every k
// from 1 to the flow's round trips (docs/data-model.md), DynamoDB drops
// every connection from the flow's k-th request on (the SDK's retries
// included; k goes on to the requests a fault-free run of the flow makes
// on a cold deployment, which reads the tenant first). The answer is 503 service_unavailable with Retry-After, or
// the flow's own answer where it had answered before the failing call; the
// table, read through a healthy client, holds either the state before the
// flow or the state a fault-free run of it leaves, never a part; and with
// DynamoDB back the same request completes the flow.
func TestFaults_DynamoUnreachableMidFlow(t *testing.T) {
	trips := minima(t)
	for _, fl := range faultFlows {
		t.Run(fl.name, func(t *testing.T) {
			// A flow the table does not list (me-password) takes its
			// count from the fault-free run alone.
			n := trips[fl.name]
			// A fault-free run gives the states before and after.
			e := newFaultEnv(t)
			call, facts := fl.prepare(e)
			before := e.state(facts()...)
			t0, _ := e.db.Requests()
			r := call()
			t1, _ := e.db.Requests()
			if r.Status/100 != 2 {
				t.Fatalf("fault-free run: got %d %s", r.Status, r.Raw)
			}
			okStatus, after := r.Status, e.state(facts()...)
			if after == before {
				t.Fatalf("fault-free run changed nothing: %s", after)
			}
			// The table's minimum is counted with warm caches; a fresh
			// deployment reads the tenant (and a template) first, so k
			// goes up to the requests this run made, to reach every call.
			n = max(n, t1-t0)
			t.Logf("%d DynamoDB requests (minimum %d)\n before %s\n after  %s", t1-t0, trips[fl.name], before, after)
			for k := 1; k <= n; k++ {
				t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
					// Each k has its own table, proxies and tenant; most of
					// a subtest's time is set-up waiting on DynamoDB Local.
					t.Parallel()
					e := newFaultEnv(t)
					call, facts := fl.prepare(e)
					if got := e.state(facts()...); got != before {
						t.Fatalf("before: got %s, want %s", got, before)
					}
					e.db.FailFrom(k, devstack.AnyRequest, devstack.Unreachable)
					r := call()
					e.db.Heal()
					if _, faulted := e.db.Requests(); faulted == 0 {
						t.Fatalf("the flow made fewer than %d DynamoDB requests: no fault happened", k)
					}
					got := e.state(facts()...)
					t.Logf("answer %d %s; state before=%v after=%v", r.Status, r.Code(), got == before, got == after)
					switch {
					case r.Status == http.StatusServiceUnavailable:
						if r.Code() != latchkey.EServiceUnavailable || r.Header.Get("Retry-After") == "" {
							t.Errorf("answer: got %d %s (Retry-After %q), want service_unavailable with Retry-After", r.Status, r.Raw, r.Header.Get("Retry-After"))
						}
					case fl.gaps[k] != "" && r.Code() == fl.gaps[k]:
						t.Logf("known gap: got %d %s, want 503", r.Status, r.Code())
					case r.Status == okStatus && fl.name == "users-import":
						// The import answers 200 with an outcome per user:
						// a user whose creation failed is refused as the
						// whole request would be, service_unavailable.
						if !strings.Contains(string(r.Raw), `"created":1`) && !strings.Contains(string(r.Raw), `"code":"service_unavailable"`) {
							t.Errorf("import: got %s, want ann created or refused with service_unavailable", r.Raw)
						}
					case r.Status != okStatus:
						t.Errorf("answer: got %d %s, want 503 or %d", r.Status, r.Raw, okStatus)
					}
					if p := fl.partial[k]; p != nil && got == strings.NewReplacer(p...).Replace(before) {
						t.Logf("known gap: partial state %v", p)
					} else if got != before && got != after {
						t.Fatalf("partial state:\n got    %s\n before %s\n after  %s", got, before, after)
					}
					if got == after {
						return
					}
					if r := call(); r.Status != okStatus || e.state(facts()...) != after {
						t.Errorf("with DynamoDB back: got %d %s and state %s, want %d and %s", r.Status, r.Raw, e.state(facts()...), okStatus, after)
					}
				})
			}
		})
	}
}

// DynamoDB slow: a request whose DynamoDB call is held past the
// invocation's time ends in 503 service_unavailable ResponseMargin before
// the Lambda's 10 s timeout (the local gateway gives each invocation that
// deadline, as Lambda does), with the call sent once (the SDK does not
// retry a call whose context ended, so nothing is written twice), and
// leaves the table as it was; with DynamoDB fast again the flow completes.
func TestFaults_DynamoSlow(t *testing.T) {
	start := time.Now()
	e := newFaultEnv(t)
	i := slices.IndexFunc(faultFlows, func(f faultFlow) bool { return f.name == "challenge-complete" })
	call, facts := faultFlows[i].prepare(e)
	before := e.state(facts()...)
	t.Logf("prepared in %s", time.Since(start).Round(time.Millisecond))
	_, before0 := e.db.Requests()
	e.db.FailFrom(1, devstack.AnyRequest, devstack.Slow(time.Minute))
	start = time.Now()
	r := call()
	took := time.Since(start)
	e.db.Heal()
	if r.Status != http.StatusServiceUnavailable || r.Code() != latchkey.EServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("answer: got %d %s, want 503 service_unavailable with Retry-After", r.Status, r.Raw)
	}
	bound := gateway.FunctionTimeout - httpapi.ResponseMargin
	if took < bound-100*time.Millisecond || took >= gateway.FunctionTimeout {
		t.Errorf("took %s, want about %s (the invocation's deadline less the margin), under the Lambda's %s", took, bound, gateway.FunctionTimeout)
	}
	_, held := e.db.Requests()
	held -= before0
	t.Logf("503 after %s and %d DynamoDB attempts held (bound %s)", took.Round(time.Millisecond), held, bound)
	if held != 1 {
		t.Errorf("attempts: got %d, want 1 (the call is not sent again once its context ended)", held)
	}
	if got := e.state(facts()...); got != before {
		t.Errorf("state: got %s, want it unchanged: %s", got, before)
	}
	start = time.Now()
	if r := call(); r.Status != http.StatusCreated {
		t.Errorf("with DynamoDB fast again: got %d %s, want 201", r.Status, r.Raw)
	}
	t.Logf("healthy call in %s", time.Since(start).Round(time.Millisecond))
}

// notices returns the channels and results of the user's notices, as GET
// /users/{userId}/notifications shows them to an admin.
func (e *faultEnv) notices(uid string) []string {
	e.t.Helper()
	r := e.call("GET", "/users/"+uid+"/notifications", e.adminTok, "")
	if r.Status != http.StatusOK {
		e.t.Fatalf("notifications: got %d %s", r.Status, r.Raw)
	}
	var body struct {
		Notifications []struct {
			Channels []struct{ Channel, Result string } `json:"channels"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(r.Raw, &body); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, n := range body.Notifications {
		var s []string
		for _, c := range n.Channels {
			s = append(s, c.Channel+":"+c.Result)
		}
		out = append(out, strings.Join(s, ","))
	}
	return out
}

// dueUser creates a user of the env's tenant whose password expires in
// three days, with an e-mail address and a mobile number, self-serve on:
// the expiry notifier's run at the tenant's send hour notifies it.
func (e *faultEnv) dueUser(name string) *latchkey.User {
	e.t.Helper()
	u, _, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: name, Email: e.email(name),
		Mobile: "+447911123456", PasswordExpiresOn: "2026-11-05", WithoutEmail: true})
	if err != nil {
		e.t.Fatal(err)
	}
	ev := latchkey.AuditEvent{TenantID: e.tn.ID, Actor: "test", Subject: u.ID, Action: latchkey.ActionSelfServe, Result: latchkey.ResultSuccess}
	if err := e.d.Store.SetSelfServe(e.ctx, e.tn.ID, u.ID, true, ev); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// sent counts the reminder e-mails (in the SES emulator) and the SMS (in
// the outbox) that reached the user.
func (e *faultEnv) sent(u *latchkey.User) (emails, texts int) {
	e.t.Helper()
	for _, m := range testenv.Emails(e.t, u.Email) {
		if strings.Contains(m.Subject, "password expires") {
			emails++
		}
	}
	for _, m := range e.box.Messages() {
		if m.PhoneNumber == u.Mobile {
			texts++
		}
	}
	return emails, texts
}

// SES and SNS throttling, then failing with a 5xx, then recovering, within
// one run of the expiry notifier: each throttled send is retried with
// backoff (100 ms, then 200 ms: the injected Sleep records the waits), the
// SDK retries the 5xx, and the reminder reaches the user exactly once by
// each channel, the notice recording both sends as sent; a second run the
// same hour sends nothing again.
func TestFaults_ExpiryThrottledThenRecovers(t *testing.T) {
	e := newFaultEnv(t)
	u := e.dueUser("tia")
	sendEmail := devstack.PathPrefix("/v2/email/outbound-emails")
	publish := devstack.FormAction("Publish")
	// The SDK makes 3 attempts per send: 7 throttled attempts make the
	// notifier wait twice; the 8th fails with a 503, which the SDK retries.
	e.mail.FailNext(7, sendEmail, devstack.SESThrottling)
	e.mail.FailNext(1, sendEmail, devstack.SESUnavailable)
	e.sms.FailNext(3, publish, devstack.SNSThrottling)
	e.sms.FailNext(2, publish, devstack.SNSServerError)
	rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now())
	if err != nil || rep.Sent != 1 || rep.Failed != 0 {
		t.Fatalf("run: got %+v, %v; want one notice sent", rep, err)
	}
	if _, f := e.mail.Requests(); f != 8 {
		t.Errorf("SES: got %d faulted requests, want 8", f)
	}
	if _, f := e.sms.Requests(); f != 5 {
		t.Errorf("SNS: got %d faulted requests, want 5", f)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond}
	if !slices.Equal(e.sleeps, want) {
		t.Errorf("waits: got %v, want %v (e-mail twice, then SMS once, doubling)", e.sleeps, want)
	}
	if em, tx := e.sent(u); em != 1 || tx != 1 {
		t.Errorf("delivered: got %d e-mails and %d SMS, want one of each", em, tx)
	}
	if got := e.notices(u.ID); !slices.Equal(got, []string{"email:sent,sms:sent"}) {
		t.Errorf("notifications: got %v, want one notice sent by both channels", got)
	}
	if rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now()); err != nil || rep.Sent != 0 || rep.Duplicate != 1 {
		t.Errorf("second run: got %+v, %v; want the notice a duplicate", rep, err)
	}
	if em, tx := e.sent(u); em != 1 || tx != 1 {
		t.Errorf("after the second run: got %d e-mails and %d SMS, want still one of each", em, tx)
	}
}

// SES and SNS down past every retry, then recovering one after the other:
// with both down the notice is not sent and its claim is released (the run
// fails, nothing is recorded); with SNS back the next run sends the SMS
// and records the e-mail's failure, which GET notifications shows; with
// SES back too a further run sends nothing twice.
func TestFaults_ExpiryOutageRecorded(t *testing.T) {
	e := newFaultEnv(t)
	u := e.dueUser("uma")
	e.mail.FailFrom(1, devstack.AnyRequest, devstack.SESServerError)
	e.sms.FailFrom(1, devstack.AnyRequest, devstack.SNSUnavailable)
	rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now())
	if err == nil || rep.Failed != 1 || rep.Sent != 0 {
		t.Fatalf("both down: got %+v, %v; want the notice failed and an error", rep, err)
	}
	if em, tx := e.sent(u); em != 0 || tx != 0 {
		t.Errorf("both down: got %d e-mails and %d SMS, want none", em, tx)
	}
	if got := e.notices(u.ID); len(got) != 0 {
		t.Errorf("both down: got notices %v, want none (the claim released)", got)
	}
	e.sms.Heal()
	if rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now()); err != nil || rep.Sent != 1 {
		t.Fatalf("SNS back: got %+v, %v; want the notice sent", rep, err)
	}
	if got := e.notices(u.ID); !slices.Equal(got, []string{"email:failed,sms:sent"}) {
		t.Errorf("SNS back: got notices %v, want the e-mail failed and the SMS sent", got)
	}
	e.mail.Heal()
	if rep, err := e.d.Expiry.Run(e.ctx, e.clock.Now()); err != nil || rep.Sent != 0 || rep.Duplicate != 1 {
		t.Errorf("SES back: got %+v, %v; want the notice a duplicate", rep, err)
	}
	if em, tx := e.sent(u); em != 0 || tx != 1 {
		t.Errorf("SES back: got %d e-mails and %d SMS, want the one SMS only", em, tx)
	}
	if got := e.notices(u.ID); len(got) != 1 {
		t.Errorf("SES back: got notices %v, want the one notice", got)
	}
}

// An API send through an SES that throttles past the SDK's retries: a
// staff password reset answers its documented 503 service_unavailable and
// undoes the reset, and a user import with e-mail refuses the user with
// service_unavailable and creates nothing; with SES back both work.
func TestFaults_APISendThrottled(t *testing.T) {
	e := newFaultEnv(t)
	// rae has a pending temporary password: the reset's undo restores the
	// password, the session version and that temporary password.
	u, temp, err := e.d.Tenancy.CreateUser(e.ctx, e.tn, "test", tenancy.NewUser{Username: "rae", Email: e.email("rae")})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	facts := func() []string {
		return []string{fmt.Sprintf("sessionVersion=%d", e.user("rae").SessionVersion), "temporary password " + e.tempMAC(u.ID)}
	}
	before := e.state(facts()...)
	e.mail.FailFrom(1, devstack.AnyRequest, devstack.SESThrottling)
	r := e.call("POST", "/users/"+u.ID+"/password-reset", e.adminTok, "")
	if r.Status != http.StatusServiceUnavailable || r.Code() != latchkey.EServiceUnavailable {
		t.Errorf("reset: got %d %s, want 503 service_unavailable", r.Status, r.Raw)
	}
	imp := fmt.Sprintf(`{"users":[{"username":"ivy","email":%q}],"sendEmail":true}`, e.email("ivy"))
	r = e.call("POST", "/users", e.adminTok, imp)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Raw), `"code":"service_unavailable"`) || r.Body["created"] != 0.0 {
		t.Errorf("import: got %d %s, want 200 with ivy refused: service_unavailable", r.Status, r.Raw)
	}
	if got := e.state(facts()...); got != before {
		t.Errorf("state: got %s, want it unchanged: %s", got, before)
	}
	if _, f := e.mail.Requests(); f == 0 {
		t.Fatal("no send reached SES")
	}
	e.mail.Heal()
	if r := e.call("POST", "/users/"+u.ID+"/password-reset", e.adminTok, ""); r.Status/100 != 2 {
		t.Errorf("reset with SES back: got %d %s", r.Status, r.Raw)
	}
	if r := e.call("POST", "/users", e.adminTok, imp); r.Status != http.StatusOK || r.Body["created"] != 1.0 {
		t.Errorf("import with SES back: got %d %s, want ivy created", r.Status, r.Raw)
	}
}
