package latchkey

import (
	"strings"
	"time"
)

// Audit results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
	ResultDenied  = "denied"
)

// Action names a kind of audited event. The constants below are every
// action Latchkey records; admins filter the audit log by them.
type Action string

// Actions.
const (
	ActionSignIn          Action = "session.sign_in"
	ActionNewPassword     Action = "session.new_password"
	ActionPasswordForgot  Action = "password.forgot"
	ActionPasswordReset   Action = "password.reset"
	ActionPasswordChange  Action = "password.change"
	ActionUserCreate      Action = "user.create"
	ActionUserLock        Action = "user.lock"
	ActionUserUnlock      Action = "user.unlock"
	ActionTenantCreate    Action = "tenant.create"
	ActionSettingsUpdate  Action = "settings.update"
	ActionPINCodeGenerate Action = "pin_code.generate"
	ActionPINCodeRegen    Action = "pin_code.regenerate"
	ActionPINCodeRevoke   Action = "pin_code.revoke"
	ActionPINCodeEmail    Action = "pin_code.email"
	ActionSignupPINCode   Action = "signup.pin_code"
	ActionAccountUpsert   Action = "account.upsert"
	ActionPINLinkSent     Action = "security_pin.link_sent"
	ActionSecurityPINSet  Action = "security_pin.set"
	// ActionSecurityPINVerify is an agent's check of a security PIN; its
	// failures at the limit are ActionSecurityPINLocked.
	ActionSecurityPINVerify Action = "security_pin.verify"
	ActionSecurityPINLocked Action = "security_pin.locked"
	ActionCodeSent          Action = "verification_code.sent"
	ActionCodeVerify        Action = "verification_code.verify"
	// ActionUserPINSet is an admin setting a user's PIN; ActionUserPINChange
	// the user changing their own.
	ActionUserPINSet    Action = "user_pin.set"
	ActionUserPINChange Action = "user_pin.change"
	// Administration.
	ActionUserUpdate     Action = "user.update"
	ActionSelfServe      Action = "user.self_serve"
	ActionWelcomeSent    Action = "welcome.sent"
	ActionWelcomeConfirm Action = "welcome.confirm"
	ActionTemplateUpdate Action = "template.update"
	ActionTemplateDelete Action = "template.delete"
)

// actions lists every Action constant above, for ValidAction; a test
// (audit_test.go) fails when a constant is missing from it.
var actions = []Action{
	ActionSignIn, ActionNewPassword, ActionPasswordForgot, ActionPasswordReset, ActionPasswordChange,
	ActionUserCreate, ActionUserLock, ActionUserUnlock, ActionTenantCreate, ActionSettingsUpdate,
	ActionPINCodeGenerate, ActionPINCodeRegen, ActionPINCodeRevoke, ActionPINCodeEmail, ActionSignupPINCode,
	ActionAccountUpsert, ActionPINLinkSent, ActionSecurityPINSet, ActionSecurityPINVerify, ActionSecurityPINLocked,
	ActionCodeSent, ActionCodeVerify, ActionUserPINSet, ActionUserPINChange,
	ActionUserUpdate, ActionSelfServe, ActionWelcomeSent, ActionWelcomeConfirm, ActionTemplateUpdate, ActionTemplateDelete,
}

// Actions returns every action Latchkey records, in declaration order.
func Actions() []Action { return append([]Action(nil), actions...) }

// ValidAction reports whether a is an action Latchkey records: the audit
// log's action filter accepts only these.
func ValidAction(a Action) bool {
	for _, x := range actions {
		if x == a {
			return true
		}
	}
	return false
}

// AuditEvent is one security-relevant event in a tenant's audit log, kept one year.
type AuditEvent struct {
	TenantID string `json:"tenantId"`
	// Actor is the user id (or "operator", "anonymous", "system") who acted.
	Actor string `json:"actor"`
	// Subject is what was acted on: a user id; an account id (account.*);
	// the normalized username a failed user creation asked for; a keyed hash
	// of a username typed at sign-in or forgot-password that no user holds
	// ("username-mac:…"); or a source address ("address:…").
	Subject string `json:"subject"`
	Action  Action `json:"action"`
	Result  string `json:"result"`
	Reason  string `json:"reason,omitempty"`
	// At and RequestID are filled in by the audit log when left empty.
	At        time.Time `json:"at"`
	RequestID string    `json:"requestId"`
}

// Event returns an audit event of tenant tid.
func Event(tid, actor, subject string, action Action, result, reason string) AuditEvent {
	return AuditEvent{TenantID: tid, Actor: actor, Subject: subject, Action: action, Result: result, Reason: reason}
}

// AuditQuery selects a page of a tenant's audit log, newest first. Empty
// fields do not filter.
type AuditQuery struct {
	// Cursor is the opaque nextCursor of the previous page ("" for the first).
	Cursor string
	// Limit is the most events a page holds (1 to MaxAuditLimit).
	Limit int
	// Actor, Subject and Action keep only events with exactly these values.
	Actor   string
	Subject string
	Action  Action
	// From (inclusive) and To (exclusive) bound the events' times; zero
	// values do not.
	From, To time.Time
}

// Limits of an audit page.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 100
)

// AuditPage is one page of the audit log, newest first. NextCursor is set
// when more events may follow; pass it as AuditQuery.Cursor, with the same
// filters, for the next page.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// UsernameMACPrefix starts the Subject of an audit event about a username
// that no user holds (a keyed hash of what was typed, never the name).
const UsernameMACPrefix = "username-mac:"

// Reasons of the audit events that lock an account.
const (
	// ReasonLockout is the Reason of the failed sign-in that locks a
	// username (the one at the tenant's threshold, not those refused while
	// it is locked, whose Reason is "locked").
	ReasonLockout = "lockout"
	// ReasonAlreadyLocked is the Reason of an admin lock of a user who was
	// locked already: no new lock.
	ReasonAlreadyLocked = "already_locked"
)

// AccountLock reports whether e records a new lock of a user's account, and
// whether that lock is a lockout by failed sign-ins (rather than an admin's
// lock): the failed sign-in that reached the threshold of a username a user
// holds (its Subject is the user id), or a successful user.lock of a user
// who was not locked already. Each lock writes exactly one such event, so
// the lock notices (shared/expiry) send one notice per event.
func (e *AuditEvent) AccountLock() (lockout, ok bool) {
	switch {
	case e.Action == ActionSignIn && e.Result == ResultDenied && e.Reason == ReasonLockout:
		return true, e.Subject != "" && !strings.HasPrefix(e.Subject, UsernameMACPrefix)
	case e.Action == ActionUserLock && e.Result == ResultSuccess && e.Reason != ReasonAlreadyLocked:
		return false, e.Subject != ""
	}
	return false, false
}
