package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

const skAccount = "ACCOUNT"

func accountKey(tid, id string) string { return "TENANT#" + tid + "#ACCOUNT#" + id }

type accountItem struct {
	PK, SK string
	latchkey.Account
}

// PutAccount creates account a or replaces its name and contacts, with one
// UpdateItem: updatedAt and updatedBy are set from a, createdAt only when
// the item is new, and every other attribute (the security-PIN state) is
// kept. It returns the account as stored.
func (s *Store) PutAccount(ctx context.Context, a latchkey.Account) (*latchkey.Account, error) {
	contacts, err := attributevalue.Marshal(a.Contacts)
	if err != nil {
		return nil, fmt.Errorf("marshal contacts: %w", err)
	}
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(accountKey(a.TenantID, a.ID), skAccount),
		UpdateExpression: aws.String("SET tenantId = :tid, accountId = :id, #name = :name, contacts = :contacts, " +
			"updatedAt = :at, updatedBy = :by, createdAt = if_not_exists(createdAt, :at)"),
		ExpressionAttributeNames: map[string]string{"#name": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":tid": str(a.TenantID), ":id": str(a.ID), ":name": str(a.Name), ":contacts": contacts,
			":at": timeAV(a.UpdatedAt), ":by": str(a.UpdatedBy),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, fmt.Errorf("put account: %w", err)
	}
	var it accountItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return nil, fmt.Errorf("unmarshal account: %w", err)
	}
	return &it.Account, nil
}

// GetAccount returns account id of tenant tid, or ENotFound.
func (s *Store) GetAccount(ctx context.Context, tid, id string) (*latchkey.Account, error) {
	var it accountItem
	ok, err := s.get(ctx, accountKey(tid, id), skAccount, &it)
	if err != nil {
		return nil, fmt.Errorf("get account: %w", err)
	}
	if !ok || it.TenantID != tid {
		return nil, latchkey.Errorf(latchkey.ENotFound, "Account not found.")
	}
	return &it.Account, nil
}
