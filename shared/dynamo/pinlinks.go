package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

const skPINLink = "PINLINK"

func pinLinkKey(tid, mac string) string { return "TENANT#" + tid + "#PINLINK#" + mac }

// pinLinkItem is a PINLINK item, keyed by the MAC of the link's token.
type pinLinkItem struct {
	PK, SK string
	latchkey.PINLink
	TTL int64 `dynamodbav:"ttl"`
}

// errLinkGone is the one answer for an unknown, used, cancelled or expired link.
func errLinkGone() error {
	return latchkey.Errorf(latchkey.EGone, "This link is no longer valid. Ask for a new one.")
}

// PutPINLink stores link l, whose token's MAC is mac, and names it on its
// account as the account's one valid link, in one transaction: the account
// must exist and still name prevMAC (the link it named when it was read, ""
// for none), whose item is deleted, so a newer link cancels the previous
// one at once. It returns ENotFound for an unknown account and EConflict
// when another link was sent meanwhile.
func (s *Store) PutPINLink(ctx context.Context, l latchkey.PINLink, mac, prevMAC string) error {
	item, err := s.marshal(pinLinkItem{PK: pinLinkKey(l.TenantID, mac), SK: skPINLink, PINLink: l, TTL: l.ExpiresAt.Unix()})
	if err != nil {
		return fmt.Errorf("marshal pin link: %w", err)
	}
	cancelled, err := s.putLink(ctx, pinLinkSlot(l.TenantID, l.AccountID), item, mac, prevMAC)
	if cancelled {
		if _, gerr := s.GetAccount(ctx, l.TenantID, l.AccountID); gerr != nil {
			return gerr
		}
		return latchkey.Errorf(latchkey.EConflict, "Another link was sent for this account meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("put pin link: %w", err)
	}
	return nil
}

// pinLinkSlot is where account id of tenant tid names its one valid link.
func pinLinkSlot(tid, id string) linkSlot {
	return linkSlot{
		linkKey: func(mac string) map[string]types.AttributeValue { return key(pinLinkKey(tid, mac), skPINLink) },
		owner:   key(accountKey(tid, id), skAccount), attr: "linkMac",
	}
}

// GetPINLink returns the link of tenant tid whose token's MAC is mac. It
// returns EGone when there is none or it has expired (checked against the
// store's clock, not left to the TTL).
func (s *Store) GetPINLink(ctx context.Context, tid, mac string) (*latchkey.PINLink, error) {
	var it pinLinkItem
	ok, err := s.get(ctx, pinLinkKey(tid, mac), skPINLink, &it)
	if err != nil {
		return nil, fmt.Errorf("get pin link: %w", err)
	}
	if !ok || it.TenantID != tid || !s.now().Before(it.ExpiresAt) {
		return nil, errLinkGone()
	}
	return &it.PINLink, nil
}

// UsePINLink sets the security PIN of the link's account from the link
// whose token's MAC is mac, in one transaction: the link item is deleted
// (it must exist and not have expired at now), the account must still name
// it, and the account gets pinMac and pinSetAt, its failure count back to
// 0, its verification lock and its link removed; audit is written with it.
// Of concurrent uses of one link exactly one succeeds. It returns EGone
// for every other (unknown, used, cancelled or expired link).
func (s *Store) UsePINLink(ctx context.Context, l *latchkey.PINLink, mac, pinMAC string, now time.Time, audit latchkey.AuditEvent) error {
	err := s.useLink(ctx, pinLinkSlot(l.TenantID, l.AccountID), mac, now,
		"pinMac = :pin, pinSetAt = :at, verifyFailures = :zero", "verifyLockedAt",
		map[string]types.AttributeValue{":pin": str(pinMAC), ":at": timeAV(now), ":zero": num(0)}, audit)
	if err != nil && latchkey.ErrorCode(err) != latchkey.EGone {
		return fmt.Errorf("use pin link: %w", err)
	}
	return err
}
