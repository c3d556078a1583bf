package expiry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
)

// FnDeliveryEvents is the function that SES's delivery, bounce and
// complaint events about notice e-mail reach, through EventBridge (the
// deployment's configuration set sends them to the default event bus, and
// a rule matching that configuration set targets the function). It
// updates the notice's record and marks the user's address on a permanent
// bounce or a complaint.
const FnDeliveryEvents = "delivery-events"

// deliveryFunction is the delivery-events function's declaration (in
// Functions): it reads and updates notices and users, nothing more.
var deliveryFunction = routes.Function{
	Name:        FnDeliveryEvents,
	Description: "EventBridge: SES delivery, bounce and complaint events of notice e-mail update the notice's record",
	Needs:       routes.Needs{TableRead: true, TableWrite: true},
	SESEvents:   true,
}

// Names of the SES message tags of a notice e-mail: its tenant, user and
// notice (latchkey.Notice.Key), each base64url-encoded, since SES tag
// values allow only [A-Za-z0-9_.@-]. They let the delivery event find the
// record without an index by message id.
const (
	TagTenant = "latchkey-tenant"
	TagUser   = "latchkey-user"
	TagNotice = "latchkey-notice"
)

// SES event detail types (EventBridge "detail-type") that the
// configuration set sends and the function handles.
const (
	DetailDelivered  = "Email Delivered"
	DetailBounced    = "Email Bounced"
	DetailComplained = "Email Complained"
)

// DetailTypes are the SES event detail types of the delivery-events rule.
var DetailTypes = []string{DetailDelivered, DetailBounced, DetailComplained}

// NoticeTags are the SES message tags of notice n's e-mail.
func NoticeTags(n latchkey.Notice) map[string]string {
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]string{
		TagTenant: enc([]byte(n.TenantID)),
		TagUser:   enc([]byte(n.UserID)),
		TagNotice: enc([]byte(n.Key())),
	}
}

// noticeOf decodes the tenant, user and notice key from an event's tags
// (each a list, as SES gives them); false when any is missing or malformed.
func noticeOf(tags map[string][]string) (tid, uid, key string, ok bool) {
	get := func(name string) (string, bool) {
		v := tags[name]
		if len(v) != 1 {
			return "", false
		}
		b, err := base64.RawURLEncoding.DecodeString(v[0])
		if err != nil || len(b) == 0 {
			return "", false
		}
		return string(b), true
	}
	tid, ok1 := get(TagTenant)
	uid, ok2 := get(TagUser)
	key, ok3 := get(TagNotice)
	return tid, uid, key, ok1 && ok2 && ok3
}

// SESEvent is the part of an SES event's detail (EventBridge) that the
// function reads.
type SESEvent struct {
	EventType string `json:"eventType"`
	Mail      struct {
		MessageID   string              `json:"messageId"`
		Destination []string            `json:"destination"`
		Tags        map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType string `json:"bounceType"`
	} `json:"bounce,omitempty"`
}

// Delivery is what an SES event means for a notice: the e-mail send's new
// result, the results it may replace, and whether the address is marked
// (and as complained about rather than bounced).
type Delivery struct {
	Result    string
	From      []string
	Mark      bool
	Complaint bool
}

// DeliveryOf returns what an SES event of detail type dt and detail e
// means for the notice's e-mail send; false for an event it ignores. A
// delivery replaces only "sent"; a bounce or a complaint replaces "sent"
// or "delivered" (a complaint comes after the delivery), so that an event
// delivered again, or late, never undoes a later result. A permanent
// bounce and a complaint mark the address; a transient bounce does not
// (SES gave up on this message, the address may still work).
func DeliveryOf(dt string, e *SESEvent) (Delivery, bool) {
	switch dt {
	case DetailDelivered:
		return Delivery{Result: latchkey.SendDelivered, From: []string{latchkey.SendSent}}, true
	case DetailBounced:
		d := Delivery{Result: latchkey.SendBounced, From: []string{latchkey.SendSent, latchkey.SendDelivered}}
		d.Mark = e.Bounce != nil && e.Bounce.BounceType == "Permanent"
		return d, true
	case DetailComplained:
		return Delivery{Result: latchkey.SendComplained, From: []string{latchkey.SendSent, latchkey.SendDelivered},
			Mark: true, Complaint: true}, true
	}
	return Delivery{}, false
}

// DeliveryReport says what one event did.
type DeliveryReport struct {
	// Updated is whether the notice's record changed.
	Updated bool `json:"updated"`
	// Marked is whether the user's address was marked.
	Marked bool `json:"marked"`
}

// HandleDeliveryEvent is the delivery-events function's Lambda handler
// (RecordDelivery). An error makes EventBridge's asynchronous invocation
// retry the event, which changes nothing that was changed already.
func (s *Service) HandleDeliveryEvent(ctx context.Context, ev events.CloudWatchEvent) (DeliveryReport, error) {
	return s.RecordDelivery(ctx, ev.Source, ev.DetailType, ev.Detail)
}

// RecordDelivery applies the SES event (source, detail type and detail) to
// the notice its tags name: it sets the result of the notice's e-mail send
// with the event's message id (DeliveryOf) and, on a permanent bounce or a
// complaint, marks the user's address when it is still the one the notice
// went to, so later notices skip e-mail for it. An event without our tags,
// of another source or type, or for a notice that does not exist (another
// tenant's, or a message id that is not the send's) changes nothing.
func (s *Service) RecordDelivery(ctx context.Context, source, detailType string, detail json.RawMessage) (DeliveryReport, error) {
	var rep DeliveryReport
	if source != "aws.ses" {
		s.logger().DebugContext(ctx, "delivery event ignored", "source", source, "detailType", detailType)
		return rep, nil
	}
	var e SESEvent
	if err := json.Unmarshal(detail, &e); err != nil {
		// A retry would not parse it either.
		s.logger().WarnContext(ctx, "delivery event ignored: malformed detail", "detailType", detailType, "error", err.Error())
		return rep, nil
	}
	d, ok := DeliveryOf(detailType, &e)
	tid, uid, key, tagged := noticeOf(e.Mail.Tags)
	if !ok || !tagged || e.Mail.MessageID == "" {
		s.logger().DebugContext(ctx, "delivery event ignored", "detailType", detailType, "messageId", e.Mail.MessageID)
		return rep, nil
	}
	found, updated, err := s.Store.SetNoticeResult(ctx, tid, uid, key, latchkey.ChannelEmail, e.Mail.MessageID, d.Result, d.From)
	if err != nil {
		return rep, err
	}
	rep.Updated = updated
	// Only an event about a send we recorded marks the address, so an
	// event naming another tenant's user (or a forged one) marks nothing.
	// A retried event marks what the first try did not (the mark is
	// conditional on not being marked).
	if d.Mark && found {
		if len(e.Mail.Destination) != 1 {
			return rep, errors.New("delivery event: want exactly one destination")
		}
		rep.Marked, err = s.Store.MarkEmail(ctx, tid, uid, e.Mail.Destination[0], d.Complaint, s.now())
		if err != nil {
			return rep, fmt.Errorf("mark e-mail of user %s: %w", uid, err)
		}
	}
	s.logger().InfoContext(ctx, "delivery event", "tenant", tid, "user", uid, "notice", key,
		"messageId", e.Mail.MessageID, "result", d.Result, "updated", rep.Updated, "marked", rep.Marked)
	return rep, nil
}
