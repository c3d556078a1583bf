package latchkey

import "time"

// Notice is one notification to one user on one day, of one kind (the
// template it sends: PASSWORD_EXPIRY_REMINDER, PASSWORD_EXPIRES_TODAY,
// ACCOUNT_LOCKED, the last one per lock, told apart by Ref). It
// is claimed with a conditional write before it is sent, so a duplicate or
// overlapping run never sends it twice, and records each send.
type Notice struct {
	TenantID string `json:"-" dynamodbav:"tenantId"`
	UserID   string `json:"-" dynamodbav:"userId"`
	// Date is the tenant's local day the notice is for, YYYY-MM-DD.
	Date string `json:"date" dynamodbav:"date"`
	// Kind is the template the notice sends.
	Kind string `json:"kind" dynamodbav:"kind"`
	// Ref tells apart notices of one kind on one day that are each sent
	// once: for ACCOUNT_LOCKED, the sort key of the audit event of the lock
	// (one notice per lock). Empty for the expiry notices (one a day).
	Ref string `json:"-" dynamodbav:"ref,omitempty"`
	// ClaimedAt is when a run claimed it.
	ClaimedAt time.Time `json:"-" dynamodbav:"claimedAt"`
	// SentAt is when its sends were recorded; nil while a run holds the
	// claim without having sent.
	SentAt *time.Time `json:"sentAt,omitempty" dynamodbav:"sentAt,omitempty"`
	// Sends are the notice's messages, one per channel.
	Sends []NoticeSend `json:"channels" dynamodbav:"sends"`
}

// Channels a notice is sent on.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Results of a send. An e-mail sent under the deployment's SES
// configuration set later gets SES's outcome in place of SendSent:
// delivered, bounced or complained (see expiry.RecordDelivery).
const (
	SendSent       = "sent"
	SendFailed     = "failed"
	SendDelivered  = "delivered"
	SendBounced    = "bounced"
	SendComplained = "complained"
)

// Key is the notice's sort key in its user's notice partition: its day and
// kind, and its Ref when it has one ("2026-11-02#ACCOUNT_LOCKED#<ref>"),
// so the claim is per day and kind, or per lock. The notice's e-mail
// carries it as a tag, so SES's event about that e-mail finds the record.
func (n *Notice) Key() string {
	if n.Ref != "" {
		return n.Date + "#" + n.Kind + "#" + n.Ref
	}
	return n.Date + "#" + n.Kind
}

// NoticeSend is one message of a notice: its channel, the provider's
// message id (SES or SNS), the result, and when. Never the address or the
// text.
type NoticeSend struct {
	Channel   string    `json:"channel" dynamodbav:"channel"`
	MessageID string    `json:"messageId,omitempty" dynamodbav:"messageId,omitempty"`
	Result    string    `json:"result" dynamodbav:"result"`
	At        time.Time `json:"-" dynamodbav:"at"`
}

// Delivered reports whether at least one of the notice's sends went out.
func (n *Notice) Delivered() bool {
	for _, s := range n.Sends {
		if s.Result == SendSent {
			return true
		}
	}
	return false
}
