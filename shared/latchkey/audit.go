package latchkey

import "time"

// Audit results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
	ResultDenied  = "denied"
)

// AuditEvent is one security-relevant event in a tenant's audit log, kept one year.
type AuditEvent struct {
	TenantID string `json:"tenantId"`
	// Actor is the user id (or "operator", "anonymous", "system") who acted.
	Actor string `json:"actor"`
	// Subject is what was acted on: a user id; the normalized username a
	// failed user creation asked for; a keyed hash of a username typed at
	// sign-in or forgot-password that no user holds ("username-mac:…"); or a
	// source address ("address:…").
	Subject   string    `json:"subject"`
	Action    string    `json:"action"`
	Result    string    `json:"result"`
	Reason    string    `json:"reason,omitempty"`
	At        time.Time `json:"at"`
	RequestID string    `json:"requestId"`
}
