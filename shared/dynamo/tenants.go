package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

type tenantItem struct {
	PK, SK, GSI1PK, GSI1SK string
	latchkey.Tenant
}

// CreateTenant stores a new tenant. It returns ETenantExists when the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t latchkey.Tenant) error {
	ok, err := s.put(ctx, tenantItem{PK: tenantKey(t.ID), SK: skTenant, GSI1PK: tenantsIndex, GSI1SK: t.ID, Tenant: t}, "attribute_not_exists(PK)")
	if err != nil {
		return fmt.Errorf("put tenant: %w", err)
	}
	if !ok {
		return latchkey.Errorf(latchkey.ETenantExists, "Tenant %q already exists.", t.ID)
	}
	return nil
}

// GetTenant returns a tenant (a copy the caller may change), cached for
// TenantCacheTTL. It returns ENotFound when there is none (not cached).
func (s *Store) GetTenant(ctx context.Context, id string) (*latchkey.Tenant, error) {
	now := s.now()
	if t, ok := s.tenants.get(id, now); ok {
		return &t, nil
	}
	var it tenantItem
	ok, err := s.get(ctx, tenantKey(id), skTenant, &it)
	if err != nil {
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	s.tenants.put(id, it.Tenant, now.Add(TenantCacheTTL))
	return &it.Tenant, nil
}

// ListTenants returns every tenant, ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]latchkey.Tenant, error) {
	var out []latchkey.Tenant
	p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(tenantsIndex)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query tenants: %w", err)
		}
		for _, raw := range page.Items {
			var it tenantItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, fmt.Errorf("unmarshal tenant: %w", err)
			}
			out = append(out, it.Tenant)
		}
	}
	return out, nil
}

// PutTenantSettings replaces a tenant's settings. It returns ENotFound.
func (s *Store) PutTenantSettings(ctx context.Context, tid string, st latchkey.Settings) error {
	defer s.tenants.drop(tid)
	av, err := attributevalue.Marshal(st)
	if err != nil {
		return fmt.Errorf("marshal settings: %w", err)
	}
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(tenantKey(tid), skTenant),
		UpdateExpression:          aws.String("SET Settings = :s"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": av},
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	if err != nil {
		return fmt.Errorf("put tenant settings: %w", err)
	}
	return nil
}

// DeleteNewTenant undoes CreateTenant when creating its first admin failed.
// It deletes the tenant item only; the tenant has nothing else yet but
// audit events, which are kept.
func (s *Store) DeleteNewTenant(ctx context.Context, tid string) error {
	defer s.tenants.drop(tid)
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(tenantKey(tid), skTenant),
		ConditionExpression: aws.String("attribute_exists(PK)"),
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.ENotFound, "Tenant not found.")
	}
	if err != nil {
		return fmt.Errorf("delete new tenant: %w", err)
	}
	return nil
}
