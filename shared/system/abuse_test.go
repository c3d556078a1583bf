package system_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack/gateway"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/system"
)

// abuseAPI is the local API Gateway stand-in in front of every function,
// called in-process so that each request can come from a source address of
// the test's choosing (API Gateway's sourceIp, read by the per-source
// limits).
type abuseAPI struct {
	t  *testing.T
	gw *gateway.Gateway
}

func newAbuseAPI(t *testing.T, d *system.Deps) *abuseAPI {
	t.Helper()
	gw, err := d.Gateway()
	if err != nil {
		t.Fatal(err)
	}
	return &abuseAPI{t: t, gw: gw}
}

// abuseReply is an answer: its status, headers and error code.
type abuseReply struct {
	Status int
	Header http.Header
	Body   map[string]any
	took   time.Duration
}

func (r abuseReply) code() string {
	e, _ := r.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// post sends a JSON POST to path (after /v1/tenants/<tid>) from source
// address ip. It is safe to call from many goroutines.
func (a *abuseAPI) post(tid, path, ip, body string) abuseReply {
	req := httptest.NewRequest(http.MethodPost, "/v1/tenants/"+tid+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = ip + ":40111"
	w := httptest.NewRecorder()
	start := time.Now()
	a.gw.ServeHTTP(w, req)
	out := abuseReply{Status: w.Code, Header: w.Header(), took: time.Since(start)}
	_ = json.Unmarshal(w.Body.Bytes(), &out.Body)
	return out
}

// signIn posts a password sign-in from ip.
func (a *abuseAPI) signIn(tid, ip, username, pw string) abuseReply {
	b, _ := json.Marshal(map[string]string{"username": username, "password": pw})
	return a.post(tid, "/sessions", ip, string(b))
}

// A flood of wrong passwords against one victim's username, in parallel and
// from as many source addresses as requests (so no per-source limit
// applies), locks the username for sign-in as PRODUCT.md says (five
// failures, then 423 even for the right password), yet cannot lock the
// victim out of recovery (docs/security.md, "Strangers can delay a
// sign-in, but cannot block recovery"): the forgot-password request from
// the victim still e-mails a temporary password, which gets through the
// lockout to the NEW_PASSWORD_REQUIRED challenge, whose completion sets a
// new password and ends the lockout, all over the HTTP API.
func TestAbuse_SignInFloodCannotBlockReset(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	id, err := secure.NewID()
	if err != nil {
		t.Fatal(err)
	}
	tid := "abuse" + strings.ToLower(id[:8])
	victimEmail := "victor@" + tid + ".latchkey.test"
	_, _, temp, err := d.Tenancy.CreateTenant(ctx, tid, "Abuse "+tid, "victor", victimEmail)
	if err != nil {
		t.Fatal(err)
	}
	const pw, newPW = "Right-horse-2026", "Recovered-pass-5"
	testenv.Remember(temp, pw, newPW)
	api := newAbuseAPI(t, d)
	const victimIP = "192.0.2.10"
	res := api.signIn(tid, victimIP, "victor", temp)
	session, _ := res.Body["session"].(string)
	if res.Status != http.StatusOK || session == "" {
		t.Fatalf("first sign-in: got %d %v, want 200 with the challenge", res.Status, res.Body)
	}
	b, _ := json.Marshal(map[string]string{"session": session, "newPassword": pw})
	if r := api.post(tid, "/sessions/new-password", victimIP, string(b)); r.Status != http.StatusCreated {
		t.Fatalf("set the first password: got %d %v", r.Status, r.Body)
	}

	const flood = 20
	threshold := latchkey.DefaultSettings().LockoutThreshold
	replies := make([]abuseReply, flood)
	floodStart := time.Now()
	testenv.Concurrently(flood, func(i int) error {
		replies[i] = api.signIn(tid, fmt.Sprintf("203.0.113.%d", i+1), "victor", fmt.Sprintf("guess-%d-password", i))
		return nil
	})
	byStatus := map[int]int{}
	for _, r := range replies {
		byStatus[r.Status]++
	}
	// Slots are taken before any password is checked: at most threshold
	// guesses are checked, the one that fills the last slot locks, every
	// other answers 423. (Fewer 401s than threshold-1 can only come from a
	// slot counted twice: an UpdateItem that committed and was sent again
	// after a dropped connection.)
	if n := byStatus[http.StatusUnauthorized]; n < 1 || n > threshold-1 || n+byStatus[http.StatusLocked] != flood {
		t.Errorf("the flood: got %v by status, want %d × 401 and %d × 423", byStatus, threshold-1, flood-threshold+1)
	}
	t.Logf("flood of %d parallel wrong sign-ins from %d addresses: %v by status, in %v", flood, flood, byStatus, time.Since(floodStart).Round(time.Millisecond))

	t.Run("the username is locked for sign-in, even with the right password", func(t *testing.T) {
		if r := api.signIn(tid, victimIP, "victor", pw); r.Status != http.StatusLocked || r.code() != latchkey.EAccountLocked {
			t.Fatalf("right password: got %d %q, want 423 %s", r.Status, r.code(), latchkey.EAccountLocked)
		}
	})
	t.Run("the victim still recovers by forgot-password", func(t *testing.T) {
		if r := api.post(tid, "/password-resets", victimIP, `{"username":"victor"}`); r.Status != http.StatusAccepted {
			t.Fatalf("forgot-password: got %d %v, want 202", r.Status, r.Body)
		}
		reset := testenv.TempPassword(t, victimEmail, temp)
		r := api.signIn(tid, victimIP, "victor", reset)
		session, _ := r.Body["session"].(string)
		if r.Status != http.StatusOK || r.Body["challenge"] != password.ChallengeNewPassword || session == "" {
			t.Fatalf("temporary password while locked out: got %d %v, want 200 with the challenge", r.Status, r.Body)
		}
		testenv.Remember(session)
		b, _ := json.Marshal(map[string]string{"session": session, "newPassword": newPW})
		if r := api.post(tid, "/sessions/new-password", victimIP, string(b)); r.Status != http.StatusCreated || r.Body["token"] == nil {
			t.Fatalf("new password: got %d %v, want 201 with a token", r.Status, r.Body)
		}
		if r := api.signIn(tid, victimIP, "victor", newPW); r.Status != http.StatusCreated {
			t.Fatalf("sign-in with the new password: got %d %v, want 201 (the lockout ended)", r.Status, r.Body)
		}
	})
}

// hashCounter is the password service's store with two calls counted:
// the username's attempt slot and the user lookup (GetUserByUsernameWithTemp,
// or GetUserWithTemp for an unknown tenant). A sign-in hashes (one
// argon2id run, the user's hash or the dummy) only after both, and once,
// so checks counts the argon2id runs.
type hashCounter struct {
	password.Store
	slots, checks atomic.Int64
}

func (c *hashCounter) TakeLoginAttempt(ctx context.Context, tid, ukey string, p latchkey.LockPolicy) (latchkey.LoginAttempt, error) {
	c.slots.Add(1)
	return c.Store.TakeLoginAttempt(ctx, tid, ukey, p)
}

func (c *hashCounter) GetUserByUsernameWithTemp(ctx context.Context, tid, username string) (*latchkey.User, *latchkey.TempPassword, error) {
	c.checks.Add(1)
	return c.Store.GetUserByUsernameWithTemp(ctx, tid, username)
}

func (c *hashCounter) GetUserWithTemp(ctx context.Context, tid, uid string) (*latchkey.User, *latchkey.TempPassword, error) {
	c.checks.Add(1)
	return c.Store.GetUserWithTemp(ctx, tid, uid)
}

// Unauthenticated hashing per source is bounded: from one source address,
// with the default limits (password.DefaultLimits: 100 failed sign-ins per
// source per 15 minutes), 130 wrong sign-ins under as many usernames are
// checked 100 times (100 argon2id runs) and the other 30 answer 429
// rate_limited with a Retry-After, before any slot is taken or any user
// looked up, so before any hashing; the same holds for sign-ins to tenants
// that do not exist, which share one namespace whatever tenant id they
// name. Another source, and the same source in another tenant, are not
// limited by it.
func TestAbuse_HashingBoundedPerSource(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	counter := &hashCounter{Store: d.Passwords.Store}
	d.Passwords.Store = counter
	var tids []string
	for range 2 {
		id, err := secure.NewID()
		if err != nil {
			t.Fatal(err)
		}
		tid := "hash" + strings.ToLower(id[:8])
		if _, _, temp, err := d.Tenancy.CreateTenant(ctx, tid, "Hashing "+tid, "admin", "admin@"+tid+".latchkey.test"); err != nil {
			t.Fatal(err)
		} else {
			testenv.Remember(temp)
		}
		tids = append(tids, tid)
	}
	api := newAbuseAPI(t, d)
	limit := password.DefaultLimits.SignInPerSource
	// attempts from one source, wave of them in flight at a time (argon2id
	// takes 19 MiB and a core's 25 ms each; more in flight than cores only
	// slows every answer); lostSlots is how far below the limit the checks
	// may stay (see below).
	const attempts, wave, lostSlots = 130, 4, 3

	// flood sends attempts wrong sign-ins from ip, wave at a time in
	// parallel, to the tenant tenant(i) names.
	flood := func(t *testing.T, ip string, tenant func(i int) string) {
		slots0, checks0 := counter.slots.Load(), counter.checks.Load()
		replies := make([]abuseReply, attempts)
		for from := 0; from < attempts; from += wave {
			testenv.Concurrently(min(wave, attempts-from), func(j int) error {
				i := from + j
				replies[i] = api.signIn(tenant(i), ip, "random-user-"+strconv.Itoa(i), "wrong-password-1")
				return nil
			})
		}
		byStatus := map[int]int{}
		took := map[int]time.Duration{}
		for _, r := range replies {
			byStatus[r.Status]++
			took[r.Status] += r.took
			if r.Status == http.StatusTooManyRequests {
				if r.code() != latchkey.ERateLimited {
					t.Errorf("429 with code %q, want %s", r.code(), latchkey.ERateLimited)
				}
				if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > int(password.DefaultLimits.SignInWindow.Seconds()) {
					t.Errorf("429 with Retry-After %q, want 1 to %d seconds", r.Header.Get("Retry-After"), int(password.DefaultLimits.SignInWindow.Seconds()))
				}
			}
		}
		slots, checks := counter.slots.Load()-slots0, counter.checks.Load()-checks0
		// The bound: never more than limit checks. Every refusal skipped the
		// hashing: the 401s are exactly the checks, the rest are 429s.
		if checks > int64(limit) || slots != checks || int64(byStatus[http.StatusUnauthorized]) != checks ||
			int64(byStatus[http.StatusTooManyRequests]) != attempts-checks {
			t.Errorf("got %v by status, %d attempt slots and %d lookups (argon2id runs); want at most %d checks, "+
				"one slot and one lookup per 401, none for a 429", byStatus, slots, checks, limit)
		}
		// The limit is reached, not undercut: a source slot is lost only
		// when a committed UpdateItem is sent again after a dropped
		// connection, which refuses early and never hashes more.
		if checks < int64(limit-lostSlots) {
			t.Errorf("got %d checks, want %d (at least %d)", checks, limit, limit-lostSlots)
		}
		mean := func(status int) time.Duration {
			if byStatus[status] == 0 {
				return 0
			}
			return took[status] / time.Duration(byStatus[status])
		}
		t.Logf("%d attempts from %s: %v by status; %d argon2id runs; mean answer %v for a 401, %v for a 429",
			attempts, ip, byStatus, checks, mean(http.StatusUnauthorized).Round(time.Millisecond), mean(http.StatusTooManyRequests).Round(time.Millisecond))
	}

	t.Run("one source in one tenant: 100 checks, then 429 before any hashing", func(t *testing.T) {
		flood(t, "198.51.100.20", func(int) string { return tids[0] })
	})
	t.Run("one source rotating through made-up tenant ids: one namespace, the same bound", func(t *testing.T) {
		flood(t, "198.51.100.21", func(i int) string { return "nosuch" + strconv.Itoa(i) })
	})
	t.Run("the limit is per source and tenant", func(t *testing.T) {
		if r := api.signIn(tids[0], "198.51.100.22", "random-user-x", "wrong-password-1"); r.Status != http.StatusUnauthorized {
			t.Errorf("another source, same tenant: got %d %q, want 401", r.Status, r.code())
		}
		if r := api.signIn(tids[1], "198.51.100.20", "random-user-x", "wrong-password-1"); r.Status != http.StatusUnauthorized {
			t.Errorf("the limited source, another tenant: got %d %q, want 401", r.Status, r.code())
		}
		if r := api.signIn(tids[0], "198.51.100.20", "random-user-x", "wrong-password-1"); r.Status != http.StatusTooManyRequests {
			t.Errorf("the limited source, its tenant: got %d %q, want 429", r.Status, r.code())
		}
	})
	t.Run("the limit ends with its window", func(t *testing.T) {
		clock.Advance(password.DefaultLimits.SignInWindow)
		if r := api.signIn(tids[0], "198.51.100.20", "random-user-y", "wrong-password-1"); r.Status != http.StatusUnauthorized {
			t.Errorf("the limited source after 15 minutes: got %d %q, want 401", r.Status, r.code())
		}
	})
}
