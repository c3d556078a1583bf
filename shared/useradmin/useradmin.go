// Package useradmin is the administration of a tenant's users (PRODUCT.md,
// "Users, self-serve and expiry notifications"): admins create or import
// users in bulk, list them by registration status, self-serve switch and
// lock, read and edit them (never leaving the tenant without an admin),
// switch self-serve per user under the tenant's override, and send a
// welcome e-mail whose single-use link lets the user confirm their mobile
// number (welcome.go). Its routes are served by the admin function, which
// also serves the tenant settings, templates and audit log of
// shared/tenantadmin.
package useradmin

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/tenancy"
)

// The functions serving the user-administration routes: users serves the
// three that parse mobile numbers (creating and importing users, editing
// them, confirming a mobile number from a welcome link), and so links the
// phone-number library, whose package init costs ~8 ms and ~5 MiB of every
// cold start; admin serves the rest of the administration (and
// shared/tenantadmin's settings, templates and audit log) without it.
const (
	FnAdmin = "admin"
	FnUsers = "users"
)

// Functions are the Lambda functions of the capability and what each may
// touch: both read and write the table and key their MACs with the secret;
// admin e-mails welcome links, users temporary passwords (no SMS).
var Functions = []routes.Function{
	{
		Name:        FnAdmin,
		Description: "Tenant administration: the user list, self-serve, welcome links, settings, templates and the audit log",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
	{
		Name:        FnUsers,
		Description: "Create, import and edit users, and confirm mobile numbers from welcome links (parses mobile numbers)",
		Needs:       routes.Needs{TableRead: true, TableWrite: true, Secret: true, Email: true},
	},
}

// Store is what user administration needs from storage; shared/dynamo.Store
// satisfies it.
type Store interface {
	// GetTenant returns ENotFound.
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// GetUser returns ENotFound.
	GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error)
	// ListUsers returns up to limit users that f selects, ordered by
	// normalized username after the normalized username after, and whether
	// more may remain; it Queries an index, never Scans.
	ListUsers(ctx context.Context, tid string, f latchkey.UserFilter, after string, limit int) ([]latchkey.User, bool, error)
	// UpdateUser writes next over prev with audit in one transaction, with
	// the stored registration status and the tenant's admin count; it
	// returns ENotFound, EConflict (prev is stale) or ELastAdmin.
	UpdateUser(ctx context.Context, prev *latchkey.User, next latchkey.User, audit latchkey.AuditEvent) error
	// SetSelfServe sets a user's self-serve switch with audit, while the
	// tenant's override is on; ENotFound or ETenantSelfServiceDisabled.
	SetSelfServe(ctx context.Context, tid, uid string, on bool, audit latchkey.AuditEvent) error
	// PutWelcomeLink stores a welcome link and names it on its user,
	// cancelling the link prevMAC; ENotFound or EConflict.
	PutWelcomeLink(ctx context.Context, l latchkey.WelcomeLink, mac, prevMAC string) error
	// GetWelcomeLink returns EGone for an unknown or expired link.
	GetWelcomeLink(ctx context.Context, tid, mac string) (*latchkey.WelcomeLink, error)
	// UseWelcomeLink consumes the link and sets the user's mobile number
	// and first self-serve use in one transaction, with audit; EGone.
	UseWelcomeLink(ctx context.Context, l *latchkey.WelcomeLink, mac, mobile string, now time.Time, audit latchkey.AuditEvent) error
	// Audit records a security event; it never fails the request.
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// UserCreator creates one user with its username claim, temporary password
// and audit event in one transaction, and e-mails PASSWORD_EMAIL_NEW
// (tenancy.Service): the one path every creation takes.
type UserCreator interface {
	CreateUser(ctx context.Context, t *latchkey.Tenant, actor string, nu tenancy.NewUser) (*latchkey.User, string, error)
}

// Service administers users. Build it once per cold start.
type Service struct {
	Store Store
	Users UserCreator
	// Notify sends the welcome e-mail.
	Notify *notify.Notifier
	// HMACKey keys the MACs of welcome-link tokens.
	HMACKey []byte
	// PublicBaseURL is where the public pages are served; a welcome link is
	// PublicBaseURL + "/t/<tenant>/welcome#" + token.
	PublicBaseURL string
	Now           latchkey.Clock
	// NormalizeMobile parses a mobile number to E.164
	// (phone.NormalizeE164), injected by the function's main so that this
	// package does not link the phone-number library itself.
	NormalizeMobile func(string) (string, error)
}

// Limits of the administration's requests.
const (
	// MaxBatch is the most users one import, or one self-serve change, takes.
	MaxBatch = 100
	// DefaultPage and MaxPage are the default and largest page of the list.
	DefaultPage = 50
	MaxPage     = 100
	// maxListItems and maxItemBytes bound permissions, profiles and company
	// exceptions: at most 50 entries of at most 128 bytes each.
	maxListItems = 50
	maxItemBytes = 128
	// maxMobileBytes bounds a mobile number before it is parsed.
	maxMobileBytes = 64
	// workers is how many users of a batch are written at once.
	workers = 8
)

// ItemError is why one item of a batch was refused.
type ItemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func itemError(err error) *ItemError {
	// A dependency that could not answer refuses the item as the whole
	// request would be refused: service_unavailable, not internal.
	err = httpapi.Classify(err)
	return &ItemError{Code: latchkey.ErrorCode(err), Message: latchkey.ErrorMessage(err)}
}

// Item statuses.
const (
	StatusCreated = "created"
	StatusUpdated = "updated"
	StatusRefused = "refused"
)
