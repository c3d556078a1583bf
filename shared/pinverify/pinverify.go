// Package pinverify is the security-PIN capability (PRODUCT.md, "Security
// PIN and verification codes"): customer accounts with their contacts, whose
// callers staff verify by a security PIN or a one-time code. This first
// slice holds the accounts and their security status; set-up and reset
// links, PIN verification and codes build on the account item it keeps.
package pinverify

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/shared/latchkey"
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
}

// Service keeps accounts and reports their security status.
type Service struct {
	Store Store
	Now   latchkey.Clock
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
