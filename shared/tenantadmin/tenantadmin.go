// Package tenantadmin is the capability of tenant administration that is
// not about users (PRODUCT.md, "Across everything" and the API rows of
// /settings, /templates and /audit): an admin reads and replaces the
// tenant's settings, reads, replaces, previews and resets its e-mail and SMS
// templates, and pages its audit log. Settings are validated and saved by
// shared/tenancy (the one path the operator CLI uses too); templates are
// checked by shared/templates; the audit log is read with a Query of the
// tenant's audit partition, never a Scan. Its routes are served by the
// admin function, which the users capability (shared/useradmin) declares.
package tenantadmin

import (
	"context"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/templates"
)

// FnAdmin is the function serving this capability's routes: the admin
// function of tenant administration, declared by shared/useradmin (which
// this package does not import: a capability links no other). The route
// table's check (catalog.Validate) fails if the name ever stops naming a
// declared function.
const FnAdmin = "admin"

// Functions are the Lambda functions this capability declares: none, its
// routes are served by FnAdmin.
var Functions []routes.Function

// Store is what tenant administration needs from storage;
// shared/dynamo.Store satisfies it.
type Store interface {
	// GetTenant returns the tenant, possibly from the per-container cache
	// (for its name in previews); ENotFound.
	GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// ReadTenant returns the tenant as stored (a consistent read); ENotFound.
	ReadTenant(ctx context.Context, id string) (*latchkey.Tenant, error)
	// ReadTemplate returns the tenant's override of a template as stored;
	// ENotFound when it has none.
	ReadTemplate(ctx context.Context, tid, name string) (*templates.Template, error)
	// PutTemplate stores an override (validated by the caller).
	PutTemplate(ctx context.Context, tid string, t templates.Template) error
	// DeleteTemplate deletes an override and reports whether there was one.
	DeleteTemplate(ctx context.Context, tid, name string) (bool, error)
	// QueryAudit returns a page of the tenant's audit log, newest first;
	// EValidation for a cursor that is not the tenant's.
	QueryAudit(ctx context.Context, tid string, q latchkey.AuditQuery) (*latchkey.AuditPage, error)
	// Audit records a security event; it never fails the request.
	Audit(ctx context.Context, e latchkey.AuditEvent)
}

// SettingsUpdater validates and saves a tenant's settings, with the audit
// event; *tenancy.Service satisfies it.
type SettingsUpdater interface {
	UpdateSettings(ctx context.Context, tid, actor, reason string, change func(*latchkey.Settings)) (*latchkey.Tenant, error)
}

// Service serves tenant administration. Build it once per cold start.
type Service struct {
	Store    Store
	Settings SettingsUpdater
	Now      latchkey.Clock
}
