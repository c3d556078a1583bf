package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// DeleteNewUser undoes CreateUser: it deletes the user, its username claim
// (only while the claim still names this user) and its temporary password in
// one transaction. It is for a creation whose later step failed, so that the
// request leaves nothing half-written; it returns ENotFound when the user is
// gone already.
func (s *Store) DeleteNewUser(ctx context.Context, u latchkey.User) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(userKey(u.TenantID, u.ID), skUser),
			ConditionExpression: aws.String("attribute_exists(PK)"),
		}},
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(usernameKey(u.TenantID, latchkey.UsernameKey(u.Username)), skUsername),
			ConditionExpression:       aws.String("userId = :uid"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":uid": str(u.ID)},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(u.TenantID, u.ID), skTempPW)}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("delete new user: %w", err)
	}
	return nil
}

// DeleteNewTenant undoes CreateTenant when creating its first admin failed.
// It deletes the tenant item only; the tenant has nothing else yet but
// audit events, which are kept.
func (s *Store) DeleteNewTenant(ctx context.Context, tid string) error {
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
