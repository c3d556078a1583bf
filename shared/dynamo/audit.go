package dynamo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
)

// AuditRetention is how long audit events are kept: the TTL attribute of
// each is its time plus this, and QueryAudit lists none older.
const AuditRetention = 366 * 24 * time.Hour

// auditTimeLayout starts an audit event's sort key: RFC 3339 in UTC with all
// nine digits of nanoseconds, so that keys sort by time to the nanosecond.
// (Events written before this layout carry time.RFC3339Nano, which drops
// trailing zeros: they sort by time to the second, which is all that the
// time-range conditions of QueryAudit rely on.)
const auditTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// auditSecondLayout is the part of auditTimeLayout down to the second: every
// sort key of an event in that second starts with it, and sorts after it.
const auditSecondLayout = "2006-01-02T15:04:05"

type auditItem struct {
	PK, SK string
	latchkey.AuditEvent
	TTL int64 `dynamodbav:"ttl"`
}

// Audit records a security event: in the tenant's audit log (its time and
// request id filled in from the store's clock and ctx when empty) and in the
// log (identifiers and outcome only, never a secret). A failed write is
// logged, not returned: the audit never fails the request it describes.
func (s *Store) Audit(ctx context.Context, e latchkey.AuditEvent) {
	put, err := s.auditPut(ctx, e)
	if err == nil {
		_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item})
	}
	if err != nil {
		reqctx.Logger(ctx).Error("audit write failed", "action", e.Action, "error", err)
	}
}

// auditPut completes e (time, request id), logs it, and returns the put that
// appends it to its tenant's audit log, for a transaction or on its own.
func (s *Store) auditPut(ctx context.Context, e latchkey.AuditEvent) (*types.Put, error) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.RequestID == "" {
		e.RequestID = reqctx.RequestID(ctx)
	}
	reqctx.Logger(ctx).Info("audit", "tenant", e.TenantID, "actor", e.Actor, "subject", e.Subject, "action", e.Action, "result", e.Result, "reason", e.Reason)
	id, err := secure.NewID()
	if err != nil {
		return nil, err
	}
	item, err := s.marshal(auditItem{
		PK: auditKey(e.TenantID), SK: e.At.UTC().Format(auditTimeLayout) + "#" + id,
		AuditEvent: e, TTL: e.At.Add(AuditRetention).Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal audit event: %w", err)
	}
	return &types.Put{TableName: &s.table, Item: item}, nil
}

// ListAudit returns a tenant's audit events, newest first, up to limit.
func (s *Store) ListAudit(ctx context.Context, tid string, limit int) ([]latchkey.AuditEvent, error) {
	res, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, KeyConditionExpression: aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(auditKey(tid))},
		ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	out := make([]latchkey.AuditEvent, 0, len(res.Items))
	for _, raw := range res.Items {
		var it auditItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("unmarshal audit event: %w", err)
		}
		out = append(out, it.AuditEvent)
	}
	return out, nil
}

// Paging of QueryAudit with filters: each Query evaluates at most
// auditFilterPage events, and one request at most auditScanBudget, so that
// a filter that matches rarely cannot keep a request reading the year-long
// log: the page then ends early, with a cursor.
const (
	auditFilterPage = 200
	auditScanBudget = 2000
	// maxCursorLen bounds a cursor before it is decoded.
	maxCursorLen = 512
)

// auditCursor is a position in a tenant's audit partition: the key of the
// last event returned, or of the last one evaluated.
type auditCursor struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
}

func encodeAuditCursor(k map[string]types.AttributeValue) (string, error) {
	var c auditCursor
	if err := attributevalue.UnmarshalMap(k, &c); err != nil {
		return "", fmt.Errorf("audit cursor: %w", err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("audit cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// errBadCursor is the one answer to a cursor that is not one of this
// tenant's audit log (made up, damaged, another tenant's, or from a query
// whose time range was changed since): it says nothing of what it holds.
func errBadCursor() error {
	return latchkey.Errorf(latchkey.EValidation, "cursor is not valid for this query: start again without it.")
}

// decodeAuditCursor decodes a cursor of tenant tid's audit partition whose
// sort key lies within lo and hi. It returns EValidation for any other.
func decodeAuditCursor(s, tid, lo, hi string) (map[string]types.AttributeValue, error) {
	if len(s) > maxCursorLen {
		return nil, errBadCursor()
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c auditCursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, errBadCursor()
	}
	if c.PK != auditKey(tid) || c.SK < lo || (hi != "" && c.SK > hi) || !strings.Contains(c.SK, "#") {
		return nil, errBadCursor()
	}
	return key(c.PK, c.SK), nil
}

// QueryAudit returns a page of tenant tid's audit log, newest first: at
// most q.Limit events (clamped to 1..MaxAuditLimit) with the actor, subject
// and action of q, at or after q.From and before q.To, and none older than
// AuditRetention (the TTL deletes them only eventually). It never scans:
// the time range is a condition on the sort key, which starts with the
// event's time (to the second; the sub-second edges are checked on the
// events read), and actor, subject and action a FilterExpression of the
// Query. It queries page after page until it has q.Limit events or the
// partition ends, or it has evaluated auditScanBudget events; NextCursor is
// set when more events may follow. It returns EValidation for a cursor
// that is not one of this tenant's (errBadCursor).
func (s *Store) QueryAudit(ctx context.Context, tid string, q latchkey.AuditQuery) (*latchkey.AuditPage, error) {
	limit := min(max(q.Limit, 1), latchkey.MaxAuditLimit)
	page := &latchkey.AuditPage{Events: []latchkey.AuditEvent{}}
	from, to := q.From, q.To
	if oldest := s.now().Add(-AuditRetention); from.Before(oldest) {
		from = oldest
	}
	if !to.IsZero() && !to.After(from) {
		return page, nil
	}
	lo := from.UTC().Format(auditSecondLayout)
	values := map[string]types.AttributeValue{":pk": str(auditKey(tid)), ":lo": str(lo)}
	cond := "PK = :pk AND SK >= :lo"
	hi := ""
	if !to.IsZero() {
		// Every key of a second before to's, and of to's own second when to
		// is within it, sorts at or below hi.
		end := to.UTC().Truncate(time.Second)
		if end.Before(to) {
			end = end.Add(time.Second)
		}
		hi = end.Format(auditSecondLayout)
		values[":hi"] = str(hi)
		cond = "PK = :pk AND SK BETWEEN :lo AND :hi"
	}
	var start map[string]types.AttributeValue
	if q.Cursor != "" {
		var err error
		if start, err = decodeAuditCursor(q.Cursor, tid, lo, hi); err != nil {
			return nil, err
		}
	}
	var filters []string
	names := map[string]string{}
	for _, f := range []struct{ attr, value string }{{"Actor", q.Actor}, {"Subject", q.Subject}, {"Action", string(q.Action)}} {
		if f.value != "" {
			names["#"+f.attr] = f.attr
			values[":"+f.attr] = str(f.value)
			filters = append(filters, "#"+f.attr+" = :"+f.attr)
		}
	}
	evaluated, lastSK := 0, ""
	for {
		in := &dynamodb.QueryInput{
			TableName: &s.table, KeyConditionExpression: aws.String(cond),
			ExpressionAttributeValues: values, ScanIndexForward: aws.Bool(false),
			ConsistentRead: aws.Bool(true), ExclusiveStartKey: start,
			// Unfiltered, one more than needed tells whether more follow.
			Limit: aws.Int32(int32(limit - len(page.Events) + 1)),
		}
		if len(filters) > 0 {
			in.FilterExpression = aws.String(strings.Join(filters, " AND "))
			in.ExpressionAttributeNames = names
			in.Limit = aws.Int32(auditFilterPage)
		}
		res, err := s.api.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("query audit: %w", err)
		}
		for _, raw := range res.Items {
			var it auditItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("unmarshal audit event: %w", err)
			}
			if it.At.Before(from) || (!to.IsZero() && !it.At.Before(to)) {
				continue // the sub-second edges of the range
			}
			if len(page.Events) == limit {
				// A further match: the page is full and more follow it.
				page.NextCursor, err = encodeAuditCursor(key(it.PK, lastSK))
				return page, err
			}
			page.Events = append(page.Events, it.AuditEvent)
			lastSK = it.SK
		}
		evaluated += int(res.ScannedCount)
		switch {
		case res.LastEvaluatedKey == nil:
			return page, nil
		case len(page.Events) == limit, evaluated >= auditScanBudget:
			page.NextCursor, err = encodeAuditCursor(res.LastEvaluatedKey)
			return page, err
		}
		start = res.LastEvaluatedKey
	}
}
