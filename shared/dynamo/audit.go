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
	"github.com/latchkey/latchkey/shared/templates"
)

// AuditRetention is how long audit events are kept.
const AuditRetention = 366 * 24 * time.Hour

type auditItem struct {
	PK, SK string
	latchkey.AuditEvent
	TTL int64 `dynamodbav:"ttl"`
}

// Audit records a security event: in the tenant's audit log (its time and
// request id filled in from the store's clock and ctx) and in the log
// (identifiers and outcome only, never a secret). A failed write is logged,
// not returned: the audit never fails the request it describes.
func (s *Store) Audit(ctx context.Context, tid, actor, subject, action, result, reason string) {
	reqctx.Logger(ctx).Info("audit", "tenant", tid, "actor", actor, "subject", subject, "action", action, "result", result, "reason", reason)
	err := s.AppendAudit(ctx, latchkey.AuditEvent{
		TenantID: tid, Actor: actor, Subject: subject, Action: action, Result: result, Reason: reason,
		At: s.now(), RequestID: reqctx.RequestID(ctx),
	})
	if err != nil {
		reqctx.Logger(ctx).Error("audit write failed", "action", action, "error", err)
	}
}

// AppendAudit adds an event to its tenant's audit log.
func (s *Store) AppendAudit(ctx context.Context, e latchkey.AuditEvent) error {
	id, err := secure.NewID()
	if err != nil {
		return err
	}
	item, err := s.marshal(auditItem{
		PK: auditKey(e.TenantID), SK: e.At.UTC().Format(time.RFC3339Nano) + "#" + id,
		AuditEvent: e, TTL: e.At.Add(AuditRetention).Unix(),
	})
	if err != nil {
		return fmt.Errorf("marshal audit event: %w", err)
	}
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put audit event: %w", err)
	}
	return nil
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

type templateItem struct {
	PK, SK string
	templates.Template
}

// PutTemplate stores a tenant's override of a template. The caller validates it.
func (s *Store) PutTemplate(ctx context.Context, tid string, t templates.Template) error {
	item, err := s.marshal(templateItem{PK: templateKey(tid, t.Name), SK: skTemplate, Template: t})
	if err != nil {
		return fmt.Errorf("marshal template: %w", err)
	}
	if _, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put template: %w", err)
	}
	return nil
}

// GetTemplate returns a tenant's override of a template. It returns
// ENotFound when the tenant has none (the default applies).
func (s *Store) GetTemplate(ctx context.Context, tid, name string) (*templates.Template, error) {
	var it templateItem
	ok, err := s.get(ctx, templateKey(tid, name), skTemplate, &it)
	if err != nil {
		return nil, fmt.Errorf("get template: %w", err)
	}
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No template override.")
	}
	return &it.Template, nil
}

var _ templates.Store = (*Store)(nil)
