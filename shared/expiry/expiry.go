// Package expiry sends password-expiry reminders (PRODUCT.md, "Users,
// self-serve and expiry notifications"): every hour, for each tenant whose
// local time is its send hour, the users whose password expires within the
// tenant's reminder window get one notice a day by e-mail and SMS, under
// the tenant's override, their own self-serve switch and with both an
// e-mail address and a mobile number. Each notice is claimed with a
// conditional write before it is sent, so duplicate or overlapping runs
// never send it twice; it records what it sent, which admins read with
// GET /users/{userId}/notifications (served by the admin function).
//
// It also sends the lock notices (ACCOUNT_LOCKED, locks.go): one per lock,
// fed by the table's stream with the audit events of locks, claimed and
// recorded in the same way.
//
// The domain rules (which tenants are at their send hour, which users are
// due and with which kind of notice) are here; storage (the sharded expiry
// index, the claims) is shared/dynamo's, sending shared/notify's.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/templates"
)

// FnExpiryNotifier is the scheduled function that sends the reminders.
const FnExpiryNotifier = "expiry-notifier"

// Schedule runs the notifier at minute 0 of every hour (UTC): each
// tenant's send hour is an hour of its own time zone, so every hour is
// some tenant's.
const Schedule = "cron(0 * * * ? *)"

// Functions are the capability's Lambda functions: the expiry notifier,
// which reads tenants and users, claims and records notices, reads the
// tenant's templates and sends e-mail and SMS, and the lock notifier
// (FnLockNotifier), which needs the same, fed by the table's stream. Its
// route, the notice history, is served by the admin function
// (useradmin.FnAdmin).
var Functions = []routes.Function{{
	Name:        FnExpiryNotifier,
	Description: "Hourly: password-expiry reminders by e-mail and SMS at each tenant's local send hour",
	Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true},
	Schedule:    Schedule,
	// Its e-mail goes under the configuration set whose delivery events
	// reach FnDeliveryEvents.
	TrackedEmail: true,
}, lockFunction, deliveryFunction}

// Store is what the notifier and the notice history need from storage;
// shared/dynamo.Store satisfies it.
type Store interface {
	// ListTenants returns every tenant with its settings.
	ListTenants(ctx context.Context) ([]latchkey.Tenant, error)
	// UsersExpiringOn returns a tenant's users whose password expires on
	// date (YYYY-MM-DD), from the sharded expiry index.
	UsersExpiringOn(ctx context.Context, tid, date string) ([]latchkey.User, error)
	// ClaimNotice claims a notice before it is sent; false when another
	// run holds or sent it.
	ClaimNotice(ctx context.Context, n latchkey.Notice) (bool, error)
	// RecordNotice records a claimed notice's sends.
	RecordNotice(ctx context.Context, n latchkey.Notice) error
	// ReleaseNotice gives up a claim whose sends all failed.
	ReleaseNotice(ctx context.Context, n latchkey.Notice) error
	// ListNotices returns a user's sent notices, newest first.
	ListNotices(ctx context.Context, tid, uid string, limit int) ([]latchkey.Notice, error)
	// GetUser returns a user (ENotFound).
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
	// GetTenant returns a tenant with its settings (ENotFound).
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// SetNoticeResult sets the result of a notice's send with a message id
	// when its result is one of from (an SES delivery event).
	SetNoticeResult(ctx context.Context, tid, uid, key, channel, id, result string, from []string) (found, changed bool, err error)
	// MarkEmail marks a user's address as bounced or complained about,
	// while it is still email.
	MarkEmail(ctx context.Context, tid, uid, email string, complaint bool, at time.Time) (bool, error)
}

// Sender sends a tenant's template by e-mail (with SES message tags, under
// the deployment's configuration set) and SMS and returns the provider's
// message id; shared/notify.Notifier satisfies it.
type Sender interface {
	EmailTagged(ctx context.Context, t *latchkey.Tenant, to, name string, fields, tags map[string]string) (string, error)
	TextID(ctx context.Context, t *latchkey.Tenant, to, name string, fields map[string]string) (string, error)
}

// Service runs the notifier and serves the notice history. The history
// needs only Store.
type Service struct {
	Store  Store
	Notify Sender
	// Now is the clock of claims and records (not of which day it is: that
	// is the scheduled event's time).
	Now latchkey.Clock
	// Sleep waits between retries of a throttled send; nil means a real
	// wait (tests inject one that does not sleep).
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger logs each run's summary and each failed send (never an
	// address or a message's text).
	Logger *slog.Logger
	// Workers is how many users of a tenant are notified at once (default 8).
	Workers int
	// Margin is how long before the context's deadline (the Lambda's
	// timeout) the run stops starting notices (default 15 s): it then
	// returns ErrOutOfTime, and Lambda's retry of the same event goes on
	// where it stopped, the claims skipping what was sent.
	Margin time.Duration
	// EmailRate and SMSRate cap the sends per second of each channel
	// (config.Config's EMAIL_SEND_RATE and SMS_SEND_RATE), so that a run
	// stays under the account's SES and SNS quotas instead of meeting
	// their throttling (which retry still absorbs); 0 is no cap.
	EmailRate, SMSRate float64

	pace sync.Once
	// limits are EmailRate's and SMSRate's limiters, by channel.
	limits map[string]*rate.Limiter
}

// ErrOutOfTime is returned by Run when it stopped before its deadline with
// notices left.
var ErrOutOfTime = errors.New("expiry: stopped before the deadline with notices left; the retry of the event sends them")

// outOfTime reports whether ctx's deadline is within the margin.
func (s *Service) outOfTime(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return false
	}
	m := s.Margin
	if m == 0 {
		m = 15 * time.Second
	}
	return time.Until(dl) < m
}

// Due reports whether a tenant with settings st is at its send hour at
// time at, and its local date then. A send hour that a daylight-saving
// change skips on a day is taken by the first hour after it, so no day is
// missed; an hour that repeats is taken twice, which the claims make
// harmless. An unknown time zone is an error.
func Due(st latchkey.Settings, at time.Time) (date time.Time, due bool, err error) {
	loc, err := time.LoadLocation(st.TimeZone)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("time zone %q: %w", st.TimeZone, err)
	}
	local := at.In(loc)
	date = time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	if local.Hour() == st.SendHour {
		return date, true, nil
	}
	prev := at.Add(-time.Hour).In(loc)
	skipped := prev.YearDay() == local.YearDay() && prev.Hour() < st.SendHour && st.SendHour < local.Hour()
	return date, skipped, nil
}

// Kind returns the notice due for a password expiring on expires when the
// tenant's local day is today, with the reminder window of days: the
// expiry-day notice on the day, a reminder with its days left (1..days)
// before, and nothing otherwise.
func Kind(today, expires time.Time, days int) (kind string, daysLeft int, ok bool) {
	left := int(expires.Sub(today).Hours() / 24)
	switch {
	case left == 0:
		return templates.PasswordExpiresToday, 0, true
	case left >= 1 && left <= days:
		return templates.PasswordExpiryReminder, left, true
	}
	return "", 0, false
}

// Report sums up one run.
type Report struct {
	// Tenants is how many tenants were at their send hour.
	Tenants int `json:"tenants"`
	// Sent counts notices sent (at least one channel).
	Sent int `json:"sent"`
	// Duplicate counts notices another run had claimed.
	Duplicate int `json:"duplicate"`
	// Failed counts notices whose every send failed (released for the
	// next run).
	Failed int `json:"failed"`
	// Skipped counts locks with no notice to send: the user is not
	// notifiable (User.Notifiable) or no longer exists (lock notices only;
	// the reminders read only due users and do not count the others).
	Skipped int `json:"skipped,omitempty"`
}

// Run sends the notices due at time at (the scheduled event's time, so a
// late or replayed delivery acts for its own hour). It goes on past a
// tenant or a user that fails, and returns an error naming how many
// failed, so that Lambda's retry of the same event sends what was released.
func (s *Service) Run(ctx context.Context, at time.Time) (Report, error) {
	var rep Report
	tenants, err := s.Store.ListTenants(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	for i := range tenants {
		t := &tenants[i]
		today, due, err := Due(t.Settings, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
			continue
		}
		// An override that is off disables every notice: its users are not read.
		if !due || !t.Settings.SelfServe {
			continue
		}
		rep.Tenants++
		if s.outOfTime(ctx) {
			errs = append(errs, ErrOutOfTime)
			break
		}
		if err := s.runTenant(ctx, t, today, &rep); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.ID, err))
		}
	}
	s.logger().InfoContext(ctx, "expiry notices", "at", at.UTC().Format(time.RFC3339), "tenants", rep.Tenants,
		"sent", rep.Sent, "duplicate", rep.Duplicate, "failed", rep.Failed)
	if rep.Failed > 0 {
		errs = append(errs, fmt.Errorf("%d notices failed and were released for the next run", rep.Failed))
	}
	return rep, errors.Join(errs...)
}

// runTenant notifies tenant t's users due on its local day today: for each
// day of [today, today+ReminderDays] one read of the expiry index.
func (s *Service) runTenant(ctx context.Context, t *latchkey.Tenant, today time.Time, rep *Report) error {
	workers := s.Workers
	if workers <= 0 {
		workers = 8
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	sem := make(chan struct{}, workers)
	stopped := false
	for k := 0; k <= t.Settings.ReminderDays && !stopped; k++ {
		expires := today.AddDate(0, 0, k)
		users, err := s.Store.UsersExpiringOn(ctx, t.ID, expires.Format(time.DateOnly))
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			continue
		}
		for i := range users {
			u := &users[i]
			if !u.Notifiable(t.Settings) {
				continue
			}
			kind, left, ok := Kind(today, expires, t.Settings.ReminderDays)
			if !ok {
				continue
			}
			if s.outOfTime(ctx) {
				stopped = true
				mu.Lock()
				errs = append(errs, ErrOutOfTime)
				mu.Unlock()
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				n := latchkey.Notice{TenantID: t.ID, UserID: u.ID, Date: today.Format(time.DateOnly), Kind: kind}
				fields := map[string]string{"expiresAt": u.PasswordExpiresOn}
				if kind == templates.PasswordExpiryReminder {
					fields["daysLeft"] = strconv.Itoa(left)
				}
				sent, err := s.notify(ctx, t, u, n, fields)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					rep.Failed++
					errs = append(errs, err)
				case sent:
					rep.Sent++
				default:
					rep.Duplicate++
				}
			}()
		}
	}
	wg.Wait()
	// The first error is enough to say why (Report counts the failed
	// notices); ErrOutOfTime is kept so the caller can tell.
	switch {
	case len(errs) == 0:
		return nil
	case stopped && !errors.Is(errs[0], ErrOutOfTime):
		return errors.Join(errs[0], ErrOutOfTime)
	}
	return errs[0]
}

// notify claims notice n (its tenant, user, date, kind and ref), sends its
// template with fields by e-mail (tagged with NoticeTags, unless u's
// address is marked: EmailSuppressed) and SMS to u, and records the sends; when
// every send failed it releases the claim and returns an error, so a retry
// sends it. It reports false when another run had claimed it.
func (s *Service) notify(ctx context.Context, t *latchkey.Tenant, u *latchkey.User, n latchkey.Notice, fields map[string]string) (bool, error) {
	kind := n.Kind
	n.ClaimedAt = s.now()
	claimed, err := s.Store.ClaimNotice(ctx, n)
	if err != nil || !claimed {
		return false, err
	}
	send := func(channel string, f func() (string, error)) {
		id, err := s.retry(ctx, func() (string, error) {
			if err := s.wait(ctx, channel); err != nil {
				return "", err
			}
			return f()
		})
		r := latchkey.NoticeSend{Channel: channel, MessageID: id, Result: latchkey.SendSent, At: s.now()}
		if err != nil {
			r.Result = latchkey.SendFailed
			s.logger().WarnContext(ctx, "notice send failed", "tenant", t.ID, "user", u.ID,
				"kind", kind, "channel", channel, "error", err.Error())
		}
		n.Sends = append(n.Sends, r)
	}
	// An address SES reported a permanent bounce of or a complaint about
	// gets no more notices: they go by SMS only.
	if !u.EmailSuppressed() {
		tags := NoticeTags(n)
		send(latchkey.ChannelEmail, func() (string, error) { return s.Notify.EmailTagged(ctx, t, u.Email, kind, fields, tags) })
	}
	send(latchkey.ChannelSMS, func() (string, error) { return s.Notify.TextID(ctx, t, u.Mobile, kind, fields) })
	if !n.Delivered() {
		if err := s.Store.ReleaseNotice(ctx, n); err != nil {
			return false, err
		}
		return false, fmt.Errorf("notice %s of user %s: every send failed", kind, u.ID)
	}
	at := s.now()
	n.SentAt = &at
	return true, s.Store.RecordNotice(ctx, n)
}

// wait waits (Sleep) for channel's turn under its send rate (EmailRate,
// SMSRate), by the service's clock.
func (s *Service) wait(ctx context.Context, channel string) error {
	s.pace.Do(func() {
		s.limits = map[string]*rate.Limiter{}
		for ch, r := range map[string]float64{latchkey.ChannelEmail: s.EmailRate, latchkey.ChannelSMS: s.SMSRate} {
			if r > 0 {
				// A burst of one second's sends, at least one.
				s.limits[ch] = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
			}
		}
	})
	l := s.limits[channel]
	if l == nil {
		return nil
	}
	now := s.now()
	if d := l.ReserveN(now, 1).DelayFrom(now); d > 0 {
		return s.sleep(ctx, d)
	}
	return nil
}

// maxAttempts is how many times a throttled send is tried.
const maxAttempts = 6

// retry calls f, again after 100 ms, 200 ms, 400 ms … while it fails with
// a throttling error of SES or SNS.
func (s *Service) retry(ctx context.Context, f func() (string, error)) (string, error) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		id, err := f()
		if err == nil || !Throttled(err) || attempt == maxAttempts {
			return id, err
		}
		if err := s.sleep(ctx, wait); err != nil {
			return "", err
		}
		wait *= 2
	}
}

// throttleCodes are the error codes with which SES v2 and SNS refuse a send
// for its rate, not for what it sends.
var throttleCodes = map[string]bool{
	"TooManyRequestsException": true, "Throttling": true, "ThrottlingException": true,
	"LimitExceededException": true, "Throttled": true,
}

// Throttled reports whether err is SES's or SNS's refusal for the send rate.
func Throttled(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && throttleCodes[api.ErrorCode()]
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Service) sleep(ctx context.Context, d time.Duration) error {
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
