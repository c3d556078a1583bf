package useradmin

import (
	"context"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
	"github.com/latchkey/latchkey/shared/templates"
)

// purposeWelcome separates welcome-link MACs from every other MAC of the one
// HMAC key.
const purposeWelcome = "welcome"

// welcomeTokenBytes is the randomness of a welcome link's token: 256 bits.
const welcomeTokenBytes = 32

// WelcomeSent is the answer to a sent welcome: where it went, masked.
type WelcomeSent struct {
	SentTo string `json:"sentTo"`
}

func (s *Service) welcomeMAC(token string) string {
	return secure.MAC(s.HMACKey, purposeWelcome, token)
}

// SendWelcome e-mails user uid of tenant tid the WELCOME template with a
// single-use link, PublicBaseURL + "/t/<tenant>/welcome#" + token, valid
// latchkey.WelcomeLinkTTL (7 days), as admin actorID. The token has 256
// random bits and only its keyed MAC is stored; the link cancels the user's
// previous welcome link. It returns ENotFound, ENoEmail (the user has no
// e-mail address), EConflict (a concurrent send) or EServiceUnavailable
// (the e-mail failed; the link was stored but reached nobody).
func (s *Service) SendWelcome(ctx context.Context, tid, actorID, uid string) (*WelcomeSent, error) {
	fail := func(err error) (*WelcomeSent, error) {
		s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionWelcomeSent, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return nil, err
	}
	t, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	u, err := s.Store.GetUser(ctx, tid, uid)
	if err != nil {
		return fail(err)
	}
	if u.Email == "" {
		return fail(latchkey.Errorf(latchkey.ENoEmail, "The user has no e-mail address to send a welcome to."))
	}
	token, err := secure.RandomToken(welcomeTokenBytes)
	if err != nil {
		return fail(err)
	}
	now := s.Now().UTC().Truncate(time.Second)
	l := latchkey.WelcomeLink{TenantID: tid, UserID: uid, CreatedAt: now, ExpiresAt: now.Add(latchkey.WelcomeLinkTTL), CreatedBy: actorID}
	if err := s.Store.PutWelcomeLink(ctx, l, s.welcomeMAC(token), u.WelcomeMAC); err != nil {
		return fail(err)
	}
	fields := map[string]string{
		"username":  u.Username,
		"link":      strings.TrimRight(s.PublicBaseURL, "/") + "/t/" + tid + "/welcome#" + token,
		"expiresAt": l.ExpiresAt.Format("2006-01-02 15:04 MST"),
	}
	if err := s.Notify.Email(ctx, t, u.Email, templates.Welcome, fields); err != nil {
		reqctx.Logger(ctx).Error("welcome e-mail failed", "tenant", tid, "user", uid, "error", err)
		return fail(latchkey.Errorf(latchkey.EServiceUnavailable, "The welcome e-mail could not be sent. Try again later."))
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actorID, uid, latchkey.ActionWelcomeSent, latchkey.ResultSuccess, ""))
	return &WelcomeSent{SentTo: latchkey.MaskEmail(u.Email)}, nil
}

// ConfirmWelcome confirms the mobile number of the user of the welcome link
// with token of tenant tid: the number is parsed to E.164 and stored, the
// user counts as having used self-serve (registration status
// accessed_self_serve), and the link is consumed, all in one transaction
// with the audit event, so of concurrent confirmations exactly one
// succeeds. Unknown, used, cancelled and expired links return the same
// EGone; a bad number returns EValidation naming mobile (the link stays
// usable).
func (s *Service) ConfirmWelcome(ctx context.Context, tid, token, mobile string) error {
	if !latchkey.ValidLinkToken(token) {
		return latchkey.Errorf(latchkey.EGone, "This link is no longer valid. Ask for a new one.")
	}
	mac := s.welcomeMAC(token)
	l, err := s.Store.GetWelcomeLink(ctx, tid, mac)
	if err != nil {
		return err
	}
	if strings.TrimSpace(mobile) == "" {
		return latchkey.Errorf(latchkey.EValidation, "mobile: the mobile number is required.")
	}
	e164, err := s.mobile("mobile", mobile)
	if err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, l.UserID, l.UserID, latchkey.ActionWelcomeConfirm, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	ev := latchkey.Event(tid, l.UserID, l.UserID, latchkey.ActionWelcomeConfirm, latchkey.ResultSuccess, "")
	if err := s.Store.UseWelcomeLink(ctx, l, mac, e164, s.Now().UTC(), ev); err != nil {
		s.Store.Audit(ctx, latchkey.Event(tid, l.UserID, l.UserID, latchkey.ActionWelcomeConfirm, latchkey.ResultFailure, latchkey.ErrorCode(err)))
		return err
	}
	return nil
}
