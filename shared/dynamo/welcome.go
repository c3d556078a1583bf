package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

const skWelcome = "WELCOME"

func welcomeKey(tid, mac string) string { return "TENANT#" + tid + "#WELCOME#" + mac }

// welcomeItem is a WELCOME item, keyed by the MAC of the link's token.
type welcomeItem struct {
	PK, SK string
	latchkey.WelcomeLink
	TTL int64 `dynamodbav:"ttl"`
}

// welcomeSlot is where user uid of tenant tid names its one valid welcome link.
func welcomeSlot(tid, uid string) linkSlot {
	return linkSlot{
		linkKey: func(mac string) map[string]types.AttributeValue { return key(welcomeKey(tid, mac), skWelcome) },
		owner:   key(userKey(tid, uid), skUser), attr: "welcomeMac",
	}
}

// PutWelcomeLink stores welcome link l, whose token's MAC is mac, and names
// it on its user as the user's one valid welcome link, in one transaction:
// the user must exist and still name prevMAC (the link it named when it was
// read, "" for none), whose item is deleted, so a newer link cancels the
// previous one at once. It returns ENotFound for an unknown user and
// EConflict when another link was sent meanwhile.
func (s *Store) PutWelcomeLink(ctx context.Context, l latchkey.WelcomeLink, mac, prevMAC string) error {
	item, err := s.marshal(welcomeItem{PK: welcomeKey(l.TenantID, mac), SK: skWelcome, WelcomeLink: l, TTL: l.ExpiresAt.Unix()})
	if err != nil {
		return fmt.Errorf("marshal welcome link: %w", err)
	}
	cancelled, err := s.putLink(ctx, welcomeSlot(l.TenantID, l.UserID), item, mac, prevMAC)
	if cancelled {
		return s.userOrConflict(ctx, l.TenantID, l.UserID, "Another welcome was sent to this user meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("put welcome link: %w", err)
	}
	return nil
}

// GetWelcomeLink returns the welcome link of tenant tid whose token's MAC
// is mac. It returns EGone when there is none or it has expired (checked
// against the store's clock, not left to the TTL).
func (s *Store) GetWelcomeLink(ctx context.Context, tid, mac string) (*latchkey.WelcomeLink, error) {
	var it welcomeItem
	ok, err := s.get(ctx, welcomeKey(tid, mac), skWelcome, &it)
	if err != nil {
		return nil, fmt.Errorf("get welcome link: %w", err)
	}
	if !ok || it.TenantID != tid || !s.now().Before(it.ExpiresAt) {
		return nil, errLinkGone()
	}
	return &it.WelcomeLink, nil
}

// UseWelcomeLink confirms the mobile number of the link's user from the
// link whose token's MAC is mac, in one transaction: the link item is
// deleted (it must exist and not have expired at now), the user must still
// name it, and the user gets the mobile number (E.164), the first
// self-serve use at now (kept when set before), the registration status
// accessed_self_serve, and the link removed; audit is written with it. Of
// concurrent uses of one link exactly one succeeds. It returns EGone for
// every other (unknown, used, cancelled or expired link, or a user gone).
func (s *Store) UseWelcomeLink(ctx context.Context, l *latchkey.WelcomeLink, mac, mobile string, now time.Time, audit latchkey.AuditEvent) error {
	err := s.useLink(ctx, welcomeSlot(l.TenantID, l.UserID), mac, now, "mobile = :m, "+accessedSelfServe, "",
		accessedValues(l.TenantID, map[string]types.AttributeValue{":m": str(mobile), ":t": timeAV(now)}), audit)
	if latchkey.ErrorCode(err) == latchkey.EGone {
		return err
	}
	if err != nil {
		return fmt.Errorf("use welcome link: %w", err)
	}
	return nil
}
