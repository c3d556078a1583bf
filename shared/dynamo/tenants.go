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
	// AdminCount is how many of the tenant's users hold the admin role,
	// kept by the transactions that create users and change their roles
	// (see docs/data-model.md, "The last admin"); nil in tenants stored
	// before it existed, which get it on first need.
	AdminCount *int `dynamodbav:"adminCount,omitempty"`
}

// CreateTenant stores a new tenant, with no admin counted yet. It returns
// ETenantExists when the id is taken.
func (s *Store) CreateTenant(ctx context.Context, t latchkey.Tenant) error {
	none := 0
	ok, err := s.put(ctx, tenantItem{PK: tenantKey(t.ID), SK: skTenant, GSI1PK: tenantsIndex, GSI1SK: t.ID, Tenant: t, AdminCount: &none}, "attribute_not_exists(PK)")
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
	if t, ok := s.tenants.get(id, s.now()); ok {
		return &t, nil
	}
	return s.ReadTenant(ctx, id)
}

// ReadTenant returns a tenant read from the table (a consistent read), not
// from the cache, and caches it: for the administration's reads and
// read-modify-writes of settings, which must not act on a copy up to
// TenantCacheTTL old. It returns ENotFound when there is none.
func (s *Store) ReadTenant(ctx context.Context, id string) (*latchkey.Tenant, error) {
	now := s.now()
	it := newTenantItem()
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

// newTenantItem returns the item a tenant is read into: its settings start
// at latchkey.DefaultSettings, so that a setting the stored item does not
// hold (a tenant created before the setting existed) reads as its default,
// not as a zero value (a self-serve override off, a reminder window of 0
// days).
func newTenantItem() tenantItem {
	return tenantItem{Tenant: latchkey.Tenant{Settings: latchkey.DefaultSettings()}}
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
			it := newTenantItem()
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
