package password_test

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/templates"
)

var (
	_ password.Store  = (*fakeStore)(nil)
	_ latchkey.Mailer = (*fakeMailer)(nil)
	_ templates.Store = noOverrides{}
)

// fakeStore is an in-memory password.Store for unit tests of the service:
// the conditional writes of shared/dynamo reduced to the conditions the
// service relies on. Any method returns fail[name] instead of doing its work,
// every call is counted in calls, and onCall (when set) runs at each call, to
// move a clock.
type fakeStore struct {
	mu     sync.Mutex
	now    func() time.Time
	fail   map[string]error
	calls  map[string]int
	onCall func(method string)

	tenants    map[string]*latchkey.Tenant
	users      map[string]*latchkey.User        // by tid|uid
	temps      map[string]latchkey.TempPassword // by tid|uid
	challenges map[string]latchkey.Challenge    // by tid|mac
	attempts   map[string]*attemptState         // by tid|ukey
	rates      map[string]int                   // by tid|kind|subject|window start
	audits     []latchkey.AuditEvent
	undos      []undoCall
}

type attemptState struct {
	failures int
	last     time.Time
	expires  time.Time
}

// undoCall records the arguments of one UndoReset.
type undoCall struct {
	tid, uid        string
	expectedVersion int
	oldHash         string
}

// failureWindow is how long an attempt count lives (shared/dynamo's).
const failureWindow = 24 * time.Hour

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{
		now: now, fail: map[string]error{}, calls: map[string]int{},
		tenants: map[string]*latchkey.Tenant{}, users: map[string]*latchkey.User{},
		temps: map[string]latchkey.TempPassword{}, challenges: map[string]latchkey.Challenge{},
		attempts: map[string]*attemptState{}, rates: map[string]int{},
	}
}

func key(parts ...string) string { return strings.Join(parts, "|") }

// enter counts a call of method and returns the error injected for it.
// The caller holds f.mu.
func (f *fakeStore) enter(method string) error {
	f.calls[method]++
	if f.onCall != nil {
		f.onCall(method)
	}
	return f.fail[method]
}

func notFound(what string) error { return latchkey.Errorf(latchkey.ENotFound, "%s not found.", what) }

func (f *fakeStore) addTenant(t latchkey.Tenant) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tenants[t.ID] = &t
}

func (f *fakeStore) addUser(u latchkey.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[key(u.TenantID, u.ID)] = &u
}

// update changes a stored user, as another request would.
func (f *fakeStore) update(tid, uid string, change func(*latchkey.User)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f.users[key(tid, uid)])
}

func (f *fakeStore) putTemp(tid, uid string, tp latchkey.TempPassword) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.temps[key(tid, uid)] = tp
}

// user returns a copy of the stored user, nil when there is none.
func (f *fakeStore) user(tid, uid string) *latchkey.User {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.users[key(tid, uid)]; ok {
		c := *u
		return &c
	}
	return nil
}

func (f *fakeStore) temp(tid, uid string) (latchkey.TempPassword, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tp, ok := f.temps[key(tid, uid)]
	return tp, ok
}

// attemptCount is the number of attempt slots taken for a username key.
func (f *fakeStore) attemptCount(tid, ukey string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st := f.attempts[key(tid, ukey)]; st != nil {
		return st.failures
	}
	return 0
}

// rateCount is the number of rate slots taken in tenant tid, over every
// kind, subject and window.
func (f *fakeStore) rateCount(tid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.rates {
		if strings.HasPrefix(k, key(tid, "")) {
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

// audited returns the audit events of action.
func (f *fakeStore) audited(action latchkey.Action) []latchkey.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []latchkey.AuditEvent
	for _, e := range f.audits {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// Tenants.

func (f *fakeStore) GetTenant(_ context.Context, id string) (*latchkey.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetTenant"); err != nil {
		return nil, err
	}
	t, ok := f.tenants[id]
	if !ok {
		return nil, notFound("Tenant")
	}
	c := *t
	return &c, nil
}

// Users.

func (f *fakeStore) GetUser(_ context.Context, tid, uid string) (*latchkey.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetUser"); err != nil {
		return nil, err
	}
	return f.getUser(tid, uid)
}

func (f *fakeStore) getUser(tid, uid string) (*latchkey.User, error) {
	u, ok := f.users[key(tid, uid)]
	if !ok {
		return nil, notFound("User")
	}
	c := *u
	return &c, nil
}

// getTemp returns the user's temporary password unless it has expired.
func (f *fakeStore) getTemp(tid, uid string) *latchkey.TempPassword {
	tp, ok := f.temps[key(tid, uid)]
	if !ok || !f.now().Before(tp.ExpiresAt) {
		return nil
	}
	return &tp
}

func (f *fakeStore) byUsername(tid, username string) (*latchkey.User, error) {
	ukey := latchkey.UsernameKey(username)
	for _, u := range f.users {
		if u.TenantID == tid && latchkey.UsernameKey(u.Username) == ukey {
			c := *u
			return &c, nil
		}
	}
	return nil, notFound("User")
}

func (f *fakeStore) GetUserWithTemp(_ context.Context, tid, uid string) (*latchkey.User, *latchkey.TempPassword, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetUserWithTemp"); err != nil {
		return nil, nil, err
	}
	u, err := f.getUser(tid, uid)
	if err != nil {
		return nil, nil, err
	}
	return u, f.getTemp(tid, uid), nil
}

func (f *fakeStore) GetUserByUsername(_ context.Context, tid, username string) (*latchkey.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetUserByUsername"); err != nil {
		return nil, err
	}
	return f.byUsername(tid, username)
}

func (f *fakeStore) GetUserByUsernameWithTemp(_ context.Context, tid, username string) (*latchkey.User, *latchkey.TempPassword, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetUserByUsernameWithTemp"); err != nil {
		return nil, nil, err
	}
	u, err := f.byUsername(tid, username)
	if err != nil {
		return nil, nil, err
	}
	return u, f.getTemp(tid, u.ID), nil
}

// Credentials.

func (f *fakeStore) PutTempPassword(_ context.Context, tid, uid string, tp latchkey.TempPassword) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PutTempPassword"); err != nil {
		return err
	}
	f.temps[key(tid, uid)] = tp
	return nil
}

func conflict() error { return latchkey.Errorf(latchkey.EConflict, "The user changed meanwhile.") }

func (f *fakeStore) ResetPassword(_ context.Context, tid, uid string, expectedVersion int, tp latchkey.TempPassword) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ResetPassword"); err != nil {
		return err
	}
	u, ok := f.users[key(tid, uid)]
	if !ok {
		return notFound("User")
	}
	if u.SessionVersion != expectedVersion {
		return conflict()
	}
	u.PasswordHash = ""
	u.SessionVersion++
	f.temps[key(tid, uid)] = tp
	return nil
}

func (f *fakeStore) UndoReset(_ context.Context, tid, uid string, expectedVersion int, oldHash string, tp latchkey.TempPassword, prev *latchkey.TempPassword) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.undos = append(f.undos, undoCall{tid: tid, uid: uid, expectedVersion: expectedVersion, oldHash: oldHash})
	if err := f.enter("UndoReset"); err != nil {
		return err
	}
	u, ok := f.users[key(tid, uid)]
	cur, hasTemp := f.temps[key(tid, uid)]
	if !ok || u.SessionVersion != expectedVersion+1 || u.PasswordHash != "" || !hasTemp || !cur.CreatedAt.Equal(tp.CreatedAt) {
		return conflict()
	}
	u.SessionVersion, u.PasswordHash = expectedVersion, oldHash
	delete(f.temps, key(tid, uid))
	if prev != nil {
		f.temps[key(tid, uid)] = *prev
	}
	return nil
}

func errSession() error {
	return latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
}

func (f *fakeStore) GetChallenge(_ context.Context, tid, mac string) (*latchkey.Challenge, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetChallenge"); err != nil {
		return nil, err
	}
	c, ok := f.challenges[key(tid, mac)]
	if !ok || !f.now().Before(c.ExpiresAt) {
		return nil, errSession()
	}
	return &c, nil
}

// CompleteChallenge holds only while the challenge exists and has not
// expired, the user is at the challenge's session version and not locked,
// and the user's temporary password names this challenge.
func (f *fakeStore) CompleteChallenge(_ context.Context, tid string, c *latchkey.Challenge, newHash string, audit latchkey.AuditEvent) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CompleteChallenge"); err != nil {
		return 0, err
	}
	now := f.now()
	stored, ok := f.challenges[key(tid, c.MAC)]
	u, uok := f.users[key(tid, c.UserID)]
	tp, tok := f.temps[key(tid, c.UserID)]
	if !ok || !now.Before(stored.ExpiresAt) || !uok || u.SessionVersion != c.SessionVersion || u.AdminLocked() ||
		!tok || tp.ChallengeMAC != c.MAC {
		return 0, errSession()
	}
	delete(f.challenges, key(tid, c.MAC))
	u.PasswordHash, u.PasswordChangedAt, u.LastLoginAt = newHash, now, now
	u.SessionVersion++
	delete(f.temps, key(tid, c.UserID))
	delete(f.attempts, key(tid, c.UsernameKey))
	f.audits = append(f.audits, audit)
	return c.SessionVersion + 1, nil
}

// FinishSignIn checks its conditions first and writes nothing when one
// fails, as the transaction does.
func (f *fakeStore) FinishSignIn(_ context.Context, d latchkey.SignInDone) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("FinishSignIn"); err != nil {
		return err
	}
	u, ok := f.users[key(d.TenantID, d.UserID)]
	if !ok {
		return notFound("User")
	}
	if d.Challenge != nil {
		tp, ok := f.temps[key(d.TenantID, d.UserID)]
		if _, taken := f.challenges[key(d.TenantID, d.Challenge.MAC)]; !ok || !tp.CreatedAt.Equal(d.TempCreatedAt) || taken {
			return latchkey.Errorf(latchkey.EInvalidCredentials, "The username or password is incorrect.")
		}
		tp.ChallengeMAC = d.Challenge.MAC
		f.temps[key(d.TenantID, d.UserID)] = tp
		f.challenges[key(d.TenantID, d.Challenge.MAC)] = *d.Challenge
	} else {
		u.LastLoginAt = d.At
		if d.EndPendingReset {
			delete(f.temps, key(d.TenantID, d.UserID))
		}
	}
	if d.Attempt.N > 0 {
		f.giveBack(d.TenantID, d.UsernameKey, d.Attempt)
	}
	f.release(d.TenantID, d.Source)
	f.audits = append(f.audits, d.Audit)
	return nil
}

func (f *fakeStore) ChangePassword(_ context.Context, tid, uid string, expectedVersion int, newHash string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ChangePassword"); err != nil {
		return err
	}
	u, ok := f.users[key(tid, uid)]
	if !ok || u.SessionVersion != expectedVersion {
		return conflict()
	}
	u.PasswordHash, u.PasswordChangedAt = newHash, f.now()
	u.SessionVersion++
	delete(f.temps, key(tid, uid))
	return nil
}

// Lockouts.

// TakeLoginAttempt takes a slot while fewer than the threshold are taken
// and the count has not run out; a lockout that ended, or a count past its
// window, starts afresh; otherwise the username is locked out.
func (f *fakeStore) TakeLoginAttempt(_ context.Context, tid, ukey string, p latchkey.LockPolicy) (latchkey.LoginAttempt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("TakeLoginAttempt"); err != nil {
		return latchkey.LoginAttempt{}, err
	}
	now := f.now()
	st := f.attempts[key(tid, ukey)]
	if st != nil && !now.Before(st.expires) {
		st = nil
	}
	if st != nil && st.failures >= p.Threshold {
		ls := latchkey.LoginState{Failures: st.failures, LastFailureAt: st.last}
		if until := ls.LockedUntil(p, now); !until.IsZero() {
			return latchkey.LoginAttempt{Locked: true, LockedUntil: until}, nil
		}
		st = nil
	}
	if st == nil {
		st = &attemptState{}
		f.attempts[key(tid, ukey)] = st
	}
	st.failures++
	st.last = now
	st.expires = now.Add(max(failureWindow, p.Duration))
	return latchkey.LoginAttempt{N: st.failures}, nil
}

func (f *fakeStore) GiveBackLoginAttempt(_ context.Context, tid, ukey string, a latchkey.LoginAttempt) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GiveBackLoginAttempt"); err != nil {
		return err
	}
	f.giveBack(tid, ukey, a)
	return nil
}

// giveBack ends the count when nobody took a slot after a, else gives back one.
func (f *fakeStore) giveBack(tid, ukey string, a latchkey.LoginAttempt) {
	st := f.attempts[key(tid, ukey)]
	switch {
	case st == nil:
	case st.failures == a.N:
		delete(f.attempts, key(tid, ukey))
	case st.failures > 0:
		st.failures--
	}
}

func (f *fakeStore) LockUser(_ context.Context, tid, uid string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("LockUser"); err != nil {
		return false, err
	}
	u, ok := f.users[key(tid, uid)]
	if !ok {
		return false, notFound("User")
	}
	newly := u.LockedAt == nil
	if newly {
		at := f.now()
		u.LockedAt = &at
	}
	u.SessionVersion++
	return newly, nil
}

func (f *fakeStore) UnlockUser(_ context.Context, tid, uid, ukey string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UnlockUser"); err != nil {
		return err
	}
	u, ok := f.users[key(tid, uid)]
	if !ok {
		return notFound("User")
	}
	u.LockedAt = nil
	delete(f.attempts, key(tid, ukey))
	return nil
}

// Rates.

func rateKey(tid, kind, subject string, start time.Time) string {
	return key(tid, kind, subject, start.UTC().Format(time.RFC3339))
}

func (f *fakeStore) TakeRate(_ context.Context, tid, kind, subject string, limit int, window time.Duration) (latchkey.Rate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("TakeRate"); err != nil {
		return latchkey.Rate{}, err
	}
	now := f.now()
	start := now.Truncate(window)
	k := rateKey(tid, kind, subject, start)
	if f.rates[k] >= limit {
		return latchkey.Rate{Count: limit, RetryAfter: start.Add(window).Sub(now)}, nil
	}
	f.rates[k]++
	return latchkey.Rate{Allowed: true, Count: f.rates[k], Kind: kind, Subject: subject, Window: start}, nil
}

func (f *fakeStore) ReleaseRate(_ context.Context, tid string, r latchkey.Rate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ReleaseRate"); err != nil {
		return err
	}
	f.release(tid, r)
	return nil
}

func (f *fakeStore) release(tid string, r latchkey.Rate) {
	if k := rateKey(tid, r.Kind, r.Subject, r.Window); r.Allowed && f.rates[k] > 0 {
		f.rates[k]--
	}
}

// AuditLog.

func (f *fakeStore) Audit(_ context.Context, e latchkey.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.enter("Audit")
	f.audits = append(f.audits, e)
}

// fakeMailer records the e-mails it sends; with err set it sends nothing
// and returns err.
type fakeMailer struct {
	mu       sync.Mutex
	err      error
	attempts int
	sent     []latchkey.Email
}

func (m *fakeMailer) SendEmail(_ context.Context, e latchkey.Email) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attempts++
	if m.err != nil {
		return "", m.err
	}
	m.sent = append(m.sent, e)
	return "msg-" + e.To, nil
}

func (m *fakeMailer) sentTo(to string) []latchkey.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []latchkey.Email
	for _, e := range m.sent {
		if e.To == to {
			out = append(out, e)
		}
	}
	return out
}

// noOverrides is a template store in which no tenant overrides a template,
// so the embedded defaults are rendered.
type noOverrides struct{}

func (noOverrides) GetTemplate(context.Context, string, string) (*templates.Template, error) {
	return nil, latchkey.Errorf(latchkey.ENotFound, "No override.")
}
