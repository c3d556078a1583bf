package pinverify

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
)

// MAC purposes: a link token's and a security PIN's MACs are keyed by the
// same HMAC key but never comparable.
const (
	purposeLink = "pin-link"
	purposePIN  = "security-pin"
)

// linkTokenBytes is the randomness of a link token: 256 bits.
const linkTokenBytes = 32

// SentTo says, masked, where a link or code went: the e-mail address (always,
// for a link) and the mobile number when the SMS went out too.
type SentTo struct {
	Email string `json:"email,omitempty"`
	SMS   string `json:"sms,omitempty"`
}

// LinkSent is the answer to a sent link.
type LinkSent struct {
	Purpose   string    `json:"purpose"`
	SentTo    SentTo    `json:"sentTo"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// LinkInfo is what the public page shows for a valid link.
type LinkInfo struct {
	AccountName string    `json:"accountName"`
	Purpose     string    `json:"purpose"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// tenantWithPIN returns tenant tid when its security-PIN feature is on. It
// returns ENotFound or ESecurityPINDisabled.
func (s *Service) tenantWithPIN(ctx context.Context, tid string) (*latchkey.Tenant, error) {
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	if !t.Settings.SecurityPIN {
		return nil, latchkey.Errorf(latchkey.ESecurityPINDisabled, "The security PIN is not switched on for this tenant.")
	}
	return t, nil
}

func (s *Service) linkMAC(token string) string { return secure.MAC(s.HMACKey, purposeLink, token) }

// pinMAC binds a PIN to its tenant and account.
func (s *Service) pinMAC(tid, accountID, pin string) string {
	return secure.MAC(s.HMACKey, purposePIN, tid+"/"+accountID+"/"+pin)
}

// SendLink sends contact contactID of account accountID of tenant tid a
// security-PIN link, as staff member actorID: a set-up link while the
// account has no PIN, else a reset link (the old PIN stays valid until the
// new one is set). The link holds a 256-bit token of which only the MAC is
// stored, is valid for the tenant's pinLinkHours and cancels the account's
// previous link. It goes by e-mail and, when the contact has a mobile
// number, by SMS (a failed SMS is logged, and left out of SentTo). It
// returns ESecurityPINDisabled, ENotFound (account), EValidation (no such
// contact), EContactNotAllowed (a contact of role other), EConflict (a
// concurrent send) or EServiceUnavailable (the e-mail failed).
func (s *Service) SendLink(ctx context.Context, tid, actorID, accountID, contactID string) (*LinkSent, error) {
	fail := func(err error) (*LinkSent, error) {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, accountID, latchkey.ActionPINLinkSent, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	t, err := s.tenantWithPIN(ctx, tid)
	if err != nil {
		return fail(err)
	}
	a, err := s.Store.GetAccount(ctx, tid, accountID)
	if err != nil {
		return fail(err)
	}
	c, ok := a.Contact(contactID)
	if !ok {
		return fail(latchkey.Errorf(latchkey.EValidation, "contactId: The account has no contact with this id."))
	}
	if !c.Role.MayReceiveLinks() {
		return fail(latchkey.Errorf(latchkey.EContactNotAllowed, "Security-PIN links go only to an owner or authorized contact."))
	}
	token, err := secure.RandomToken(linkTokenBytes)
	if err != nil {
		return fail(err)
	}
	now := s.Now().UTC().Truncate(time.Second)
	l := latchkey.PINLink{
		TenantID: tid, AccountID: accountID, ContactID: contactID, Purpose: latchkey.PINLinkSetup,
		CreatedAt: now, ExpiresAt: now.Add(t.Settings.PINLinkTTL()), CreatedBy: actorID,
	}
	tmpl := templates.SecurityPINSetup
	if a.PINMAC != "" {
		l.Purpose, tmpl = latchkey.PINLinkReset, templates.SecurityPINReset
	}
	mac := s.linkMAC(token)
	if err := s.Store.PutPINLink(ctx, l, mac, a.LinkMAC); err != nil {
		return fail(err)
	}
	fields := map[string]string{
		"link":      strings.TrimRight(s.PublicBaseURL, "/") + "/t/" + tid + "/security-pin#" + token,
		"expiresAt": l.ExpiresAt.Format("2006-01-02 15:04 MST"),
	}
	log := reqctx.Logger(ctx)
	if err := s.Notify.Email(ctx, t, c.Email, tmpl, fields); err != nil {
		log.Error("security-PIN link e-mail failed", "tenant", tid, "account", accountID, "error", err)
		return fail(latchkey.Errorf(latchkey.EServiceUnavailable, "The e-mail with the link could not be sent. Try again later."))
	}
	out := &LinkSent{Purpose: l.Purpose, SentTo: SentTo{Email: latchkey.MaskEmail(c.Email)}, ExpiresAt: l.ExpiresAt}
	if c.Mobile != "" {
		if err := s.Notify.Text(ctx, t, c.Mobile, tmpl, fields); err != nil {
			log.Error("security-PIN link SMS failed", "tenant", tid, "account", accountID, "error", err)
		} else {
			out.SentTo.SMS = latchkey.MaskMobile(c.Mobile)
		}
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, accountID, latchkey.ActionPINLinkSent, latchkey.ResultSuccess, l.Purpose))
	return out, nil
}

// link returns the valid link of tenant tid with token, with its MAC and
// account. Unknown, used, cancelled (a newer link was sent) and expired
// links all return the same EGone.
func (s *Service) link(ctx context.Context, tid, token string) (*latchkey.PINLink, string, *latchkey.Account, error) {
	mac := s.linkMAC(token)
	l, err := s.Store.GetPINLink(ctx, tid, mac)
	if err != nil {
		return nil, "", nil, err
	}
	a, err := s.Store.GetAccount(ctx, tid, l.AccountID)
	if latchkey.ErrorCode(err) == latchkey.ENotFound || (err == nil && !secure.EqualMAC(a.LinkMAC, mac)) {
		return nil, "", nil, latchkey.Errorf(latchkey.EGone, "This link is no longer valid. Ask for a new one.")
	}
	if err != nil {
		return nil, "", nil, err
	}
	return l, mac, a, nil
}

// LinkInfo returns what the public page shows for the link with token of
// tenant tid. It returns ESecurityPINDisabled or EGone (unknown, used,
// cancelled and expired links alike).
func (s *Service) LinkInfo(ctx context.Context, tid, token string) (*LinkInfo, error) {
	if _, err := s.tenantWithPIN(ctx, tid); err != nil {
		return nil, err
	}
	l, _, a, err := s.link(ctx, tid, token)
	if err != nil {
		return nil, err
	}
	return &LinkInfo{AccountName: a.Name, Purpose: l.Purpose, ExpiresAt: l.ExpiresAt.UTC()}, nil
}

// SetPIN sets the security PIN of the account of the link with token of
// tenant tid, from the PIN typed twice. In one transaction the link is
// consumed (once: of concurrent uses exactly one succeeds), the account's
// PIN MAC replaced, its failure count reset and its verification lock
// removed. It returns ESecurityPINDisabled, EGone, EValidation (not 6
// digits), EPINMismatch or EPINTooSimple.
func (s *Service) SetPIN(ctx context.Context, tid, token, pin, pinConfirm string) error {
	if _, err := s.tenantWithPIN(ctx, tid); err != nil {
		return err
	}
	l, mac, _, err := s.link(ctx, tid, token)
	if err != nil {
		return err
	}
	actor := "contact:" + l.ContactID
	if err := latchkey.CheckPIN(pin, pinConfirm); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actor, l.AccountID, latchkey.ActionSecurityPINSet, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	now := s.Now().UTC()
	ev := latchkey.Event(tid, actor, l.AccountID, latchkey.ActionSecurityPINSet, latchkey.ResultSuccess, l.Purpose)
	if err := s.Store.UsePINLink(ctx, l, mac, s.pinMAC(tid, l.AccountID, pin), now, ev); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, actor, l.AccountID, latchkey.ActionSecurityPINSet, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	return nil
}
