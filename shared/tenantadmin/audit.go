package tenantadmin

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// maxFilterBytes bounds the actor and subject filters.
const maxFilterBytes = 256

// auditParams are the query parameters GET /audit takes; any other is
// refused, so that a misspelt filter cannot silently list everything.
var auditParams = map[string]bool{"cursor": true, "limit": true, "actor": true, "subject": true, "action": true, "from": true, "to": true}

// ParseAuditQuery reads GET /audit's query parameters: cursor (opaque),
// limit (1 to latchkey.MaxAuditLimit, latchkey.DefaultAuditLimit when
// absent), actor and subject (exact values), action (one of
// latchkey.Actions), from (inclusive) and to (exclusive), RFC 3339 times.
// It returns EValidation naming the parameter at fault.
func ParseAuditQuery(params map[string]string) (latchkey.AuditQuery, error) {
	q := latchkey.AuditQuery{Limit: latchkey.DefaultAuditLimit}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !auditParams[k] {
			return q, latchkey.Errorf(latchkey.EValidation, "Unknown query parameter %q: use cursor, limit, actor, subject, action, from and to.", truncate(k, 32))
		}
	}
	q.Cursor = params["cursor"]
	if v, ok := params["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > latchkey.MaxAuditLimit {
			return q, latchkey.Errorf(latchkey.EValidation, "limit must be a whole number from 1 to %d.", latchkey.MaxAuditLimit)
		}
		q.Limit = n
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"actor", &q.Actor}, {"subject", &q.Subject}} {
		v := params[f.name]
		if len(v) > maxFilterBytes {
			return q, latchkey.Errorf(latchkey.EValidation, "%s is too long (at most %d bytes).", f.name, maxFilterBytes)
		}
		*f.dst = v
	}
	if v := params["action"]; v != "" {
		if !latchkey.ValidAction(latchkey.Action(v)) {
			return q, latchkey.Errorf(latchkey.EValidation, "action must be one of the audited actions, such as %s.", latchkey.ActionSettingsUpdate)
		}
		q.Action = latchkey.Action(v)
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		v, ok := params[f.name]
		if !ok {
			continue
		}
		t, err := parseTime(v)
		if err != nil {
			return q, latchkey.Errorf(latchkey.EValidation, "%s must be an RFC 3339 time, such as 2026-11-02T09:00:00Z.", f.name)
		}
		*f.dst = t
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, latchkey.Errorf(latchkey.EValidation, "from must be before to.")
	}
	return q, nil
}

// parseTime parses an RFC 3339 time. A space where the offset's sign
// should be is read as "+": an unencoded "+" in a query string arrives as
// a space.
func parseTime(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Count(v, " ") == 1 {
		return time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	}
	return t, err
}

// truncate shortens s to at most n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// AuditPage returns a page of tenant tid's audit log, newest first, as q
// selects it (see dynamo.Store.QueryAudit): at most q.Limit events, and a
// cursor when more may follow. It returns EValidation for a cursor that is
// not one of this tenant's audit log.
func (s *Service) AuditPage(ctx context.Context, tid string, q latchkey.AuditQuery) (*latchkey.AuditPage, error) {
	return s.Store.QueryAudit(ctx, tid, q)
}
