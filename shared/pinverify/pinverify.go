// Package pinverify is the security-PIN capability (PRODUCT.md, "Security
// PIN and verification codes"): customer accounts with their contacts, whose
// callers staff verify by a security PIN or a one-time code. It holds the
// accounts and their security status, and the set-up and reset links by
// which a contact sets the account's PIN (links.go); PIN verification and
// codes build on the account item it keeps.
package pinverify

import (
	"context"
	"fmt"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
)

// Store is what the security-PIN capability needs from storage;
// shared/dynamo.Store satisfies it.
type Store interface {
	// GetAccount returns ENotFound.
	GetAccount(ctx context.Context, tid, id string) (*latchkey.Account, error)
	// PutAccount creates an account or replaces its name and contacts,
	// keeping its security-PIN state, and returns it as stored.
	PutAccount(ctx context.Context, a latchkey.Account) (*latchkey.Account, error)
	Audit(ctx context.Context, e latchkey.AuditEvent)

	// GetTenant returns ENotFound.
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// PutPINLink stores a link and names it on its account, cancelling the
	// link prevMAC; it returns ENotFound or EConflict.
	PutPINLink(ctx context.Context, l latchkey.PINLink, mac, prevMAC string) error
	// GetPINLink returns EGone for an unknown or expired link.
	GetPINLink(ctx context.Context, tid, mac string) (*latchkey.PINLink, error)
	// UsePINLink consumes the link and sets the account's PIN MAC in one
	// transaction, with audit; it returns EGone.
	UsePINLink(ctx context.Context, l *latchkey.PINLink, mac, pinMAC string, now time.Time, audit latchkey.AuditEvent) error

	// TakePINAttempt takes a security-PIN attempt slot (conditional write)
	// and returns the account with it; ENotFound, EPINNotSet or
	// EPINVerificationLocked.
	TakePINAttempt(ctx context.Context, tid, id string) (*latchkey.Account, error)
	// PINVerified records a right PIN for the slot taken, with audit.
	PINVerified(ctx context.Context, a *latchkey.Account, v latchkey.Verification, audit latchkey.AuditEvent) error
	// LockPINVerification marks PIN verification locked, with audit.
	LockPINVerification(ctx context.Context, tid, id string, now time.Time, audits ...latchkey.AuditEvent) error
	// GetAccountWithCode returns the account and its code record (nil for
	// none) in one read; ENotFound.
	GetAccountWithCode(ctx context.Context, tid, id string) (*latchkey.Account, *latchkey.VerificationCode, error)
	// PutVerificationCode replaces prev with c; EConflict when another send won.
	PutVerificationCode(ctx context.Context, c latchkey.VerificationCode, prev *latchkey.VerificationCode) error
	// TakeCodeAttempt takes an attempt slot on the live code at now; ECodeGone.
	TakeCodeAttempt(ctx context.Context, tid, id string, now time.Time) (*latchkey.VerificationCode, error)
	// CodeVerified uses the code and records the verification, with audit;
	// ECodeGone when it was used meanwhile.
	CodeVerified(ctx context.Context, c *latchkey.VerificationCode, v latchkey.Verification, audit latchkey.AuditEvent) error
}

// Service keeps accounts, reports their security status and sends and
// honours security-PIN set-up and reset links.
type Service struct {
	Store Store
	// Notify sends the links by e-mail and, when it has an SMS sender and
	// the contact a mobile number, by SMS.
	Notify *notify.Notifier
	// HMACKey keys the MACs of link tokens and PINs.
	HMACKey []byte
	// PublicBaseURL is where the public pages are served; a link is
	// PublicBaseURL + "/t/<tenant>/security-pin#" + token (the page knows
	// the tenant from the path; the token stays in the fragment).
	PublicBaseURL string
	Now           latchkey.Clock
	// NormalizeMobile parses a mobile number to E.164 (phone.NormalizeE164).
	// Only the accounts function, which upserts accounts, sets it: the
	// phone-number library's package init costs ~8 ms and ~5 MiB of every
	// cold start of a function that links it, so the functions that only
	// read accounts or verify PINs do not.
	NormalizeMobile func(string) (string, error)
}

// AccountInput is what an upsert sets: the name and every contact.
type AccountInput struct {
	Name     string
	Contacts []latchkey.Contact
}

// Upsert creates account id of tenant tid or replaces its name and contacts
// (an existing security PIN and verification are kept), as staff member
// actorID, and returns it. Mobile numbers are stored in E.164 form. It
// returns EValidation naming the field at fault.
func (s *Service) Upsert(ctx context.Context, tid, actorID, id string, in AccountInput) (*latchkey.Account, error) {
	a := latchkey.Account{
		TenantID: tid, ID: id, Name: in.Name, Contacts: append([]latchkey.Contact(nil), in.Contacts...),
		UpdatedAt: s.Now().UTC(), UpdatedBy: actorID,
	}
	if s.NormalizeMobile == nil {
		return nil, fmt.Errorf("upsert account: this function cannot check mobile numbers (no NormalizeMobile)")
	}
	if err := a.Validate(s.NormalizeMobile); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, id, latchkey.ActionAccountUpsert, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	out, err := s.Store.PutAccount(ctx, a)
	if err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, id, latchkey.ActionAccountUpsert, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, id, latchkey.ActionAccountUpsert, latchkey.ResultSuccess, ""))
	return out, nil
}

// Get returns account id of tenant tid, or ENotFound.
func (s *Service) Get(ctx context.Context, tid, id string) (*latchkey.Account, error) {
	return s.Store.GetAccount(ctx, tid, id)
}

// Status returns the security status of account id of tenant tid now, or
// ENotFound.
func (s *Service) Status(ctx context.Context, tid, id string) (latchkey.SecurityStatus, error) {
	a, err := s.Store.GetAccount(ctx, tid, id)
	if err != nil {
		return latchkey.SecurityStatus{}, err
	}
	return a.Status(s.Now()), nil
}
