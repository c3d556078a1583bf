package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/reqctx"
	"github.com/latchkey/latchkey/shared/secure"
)

// AuditRetention is how long audit events are kept.
const AuditRetention = 366 * 24 * time.Hour

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
		PK: auditKey(e.TenantID), SK: e.At.UTC().Format(time.RFC3339Nano) + "#" + id,
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
