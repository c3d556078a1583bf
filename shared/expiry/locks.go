package expiry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/templates"
)

// FnLockNotifier is the function that sends the lock notices
// (ACCOUNT_LOCKED). It is fed the audit events of locks from the table's
// stream (LockStreamFilters), so the paths that lock an account, sign-in
// above all, do nothing more than write the audit event they always write:
// a failed sign-in of a real user costs what one of an unknown username
// does, and nothing there waits for an e-mail.
const FnLockNotifier = "lock-notifier"

// Attribute names of an audit item in the table (shared/dynamo stores an
// AuditEvent under its Go field names, in the partition TENANT#<tid>#AUDIT).
const (
	attrPK      = "PK"
	attrSK      = "SK"
	attrTenant  = "TenantID"
	attrSubject = "Subject"
	attrAction  = "Action"
	attrResult  = "Result"
	attrReason  = "Reason"
	attrAt      = "At"
)

// LockStreamFilters are the Lambda event filters of the lock notifier's
// stream: the inserts of audit items of a lockout by failed sign-ins and of
// an admin's lock. The rest of the finer rule (not of an unknown username,
// not of a user locked already) is latchkey.AuditEvent.AccountLock's, which
// NotifyLocks applies to what gets through.
var LockStreamFilters = []string{
	lockFilter(map[string]string{attrAction: string(latchkey.ActionSignIn), attrResult: latchkey.ResultDenied, attrReason: latchkey.ReasonLockout}),
	lockFilter(map[string]string{attrAction: string(latchkey.ActionUserLock), attrResult: latchkey.ResultSuccess}),
}

// lockFilter is the filter pattern of stream inserts whose new image has
// the string attributes of attrs.
func lockFilter(attrs map[string]string) string {
	img := map[string]any{}
	for k, v := range attrs {
		img[k] = map[string]any{"S": []string{v}}
	}
	b, err := json.Marshal(map[string]any{"eventName": []string{"INSERT"}, "dynamodb": map[string]any{"NewImage": img}})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return string(b)
}

// lockFunction is the lock notifier's declaration (in Functions): it reads
// tenants and users, claims and records notices, reads the tenant's
// templates and sends e-mail and SMS.
var lockFunction = routes.Function{
	Name:          FnLockNotifier,
	Description:   "Table stream: account-locked notices by e-mail and SMS, one per lock",
	Needs:         routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true, SMS: true},
	StreamFilters: LockStreamFilters,
	TrackedEmail:  true,
}

// HandleStream is the lock notifier's Lambda handler: it sends the notices
// of the locks in ev's records (NotifyLocks). An error makes Lambda retry
// the batch (split in two: bisect on error), which sends only what was not
// sent, the claims skipping the rest.
func (s *Service) HandleStream(ctx context.Context, ev events.DynamoDBEvent) error {
	_, err := s.NotifyLocks(ctx, ev.Records)
	return err
}

// NotifyLocks sends one ACCOUNT_LOCKED notice, by e-mail and SMS, per lock
// in records (inserts of audit items for which AccountLock holds) when the
// user is notifiable under the tenant's settings (User.Notifiable). The
// notice is claimed under the audit event's key, so the same record
// delivered again (a retried batch) sends nothing more. Every other record
// is skipped. It goes on past a record that fails and returns an error
// when any did, their claims released for the retry.
func (s *Service) NotifyLocks(ctx context.Context, records []events.DynamoDBEventRecord) (Report, error) {
	var (
		rep  Report
		errs []error
	)
	for i := range records {
		e, sk, ok := lockEvent(&records[i])
		if !ok {
			continue
		}
		sent, skipped, err := s.notifyLock(ctx, e, sk)
		switch {
		case err != nil:
			rep.Failed++
			errs = append(errs, fmt.Errorf("lock notice %s: %w", sk, err))
		case sent:
			rep.Sent++
		case skipped:
			rep.Skipped++
		default:
			rep.Duplicate++
		}
	}
	if len(records) > 0 {
		s.logger().InfoContext(ctx, "lock notices", "records", len(records), "sent", rep.Sent,
			"duplicate", rep.Duplicate, "skipped", rep.Skipped, "failed", rep.Failed)
	}
	return rep, errors.Join(errs...)
}

// lockEvent returns the audit event and sort key of record r when r is the
// insert of an audit item recording a new lock of a user (AccountLock).
func lockEvent(r *events.DynamoDBEventRecord) (latchkey.AuditEvent, string, bool) {
	img := r.Change.NewImage
	if r.EventName != string(events.DynamoDBOperationTypeInsert) || !strings.HasSuffix(str(img, attrPK), "#AUDIT") {
		return latchkey.AuditEvent{}, "", false
	}
	e := latchkey.AuditEvent{
		TenantID: str(img, attrTenant), Subject: str(img, attrSubject), Action: latchkey.Action(str(img, attrAction)),
		Result: str(img, attrResult), Reason: str(img, attrReason),
	}
	at, err := time.Parse(time.RFC3339Nano, str(img, attrAt))
	if err != nil || e.TenantID == "" {
		return latchkey.AuditEvent{}, "", false
	}
	e.At = at
	sk := str(img, attrSK)
	if _, ok := e.AccountLock(); !ok || sk == "" {
		return latchkey.AuditEvent{}, "", false
	}
	return e, sk, true
}

// str is the string attribute name of img, "" when it has none.
func str(img map[string]events.DynamoDBAttributeValue, name string) string {
	v, ok := img[name]
	if !ok || v.DataType() != events.DataTypeString {
		return ""
	}
	return v.String()
}

// notifyLock sends the notice of lock event e (sort key sk) when its user
// is notifiable. It reports skipped when there is nothing to send (no such
// tenant or user any more, or the user is not notifiable), and neither
// sent nor skipped when the notice was sent already.
func (s *Service) notifyLock(ctx context.Context, e latchkey.AuditEvent, sk string) (sent, skipped bool, err error) {
	t, err := s.Store.GetTenant(ctx, e.TenantID)
	if latchkey.ErrorCode(err) == latchkey.ENotFound {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	u, err := s.Store.GetUser(ctx, t.ID, e.Subject)
	if latchkey.ErrorCode(err) == latchkey.ENotFound {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	if !u.Notifiable(t.Settings) {
		return false, true, nil
	}
	loc, err := time.LoadLocation(t.Settings.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	fields := map[string]string{}
	if lockout, _ := e.AccountLock(); lockout {
		until := e.At.Add(time.Duration(t.Settings.LockoutMinutes) * time.Minute)
		fields["lockedUntil"] = until.In(loc).Format("2006-01-02 15:04 MST")
	}
	n := latchkey.Notice{TenantID: t.ID, UserID: u.ID, Date: e.At.In(loc).Format(time.DateOnly), Kind: templates.AccountLocked, Ref: sk}
	sent, err = s.notify(ctx, t, u, n, fields)
	return sent, false, err
}
