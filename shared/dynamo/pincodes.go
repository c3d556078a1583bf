package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
)

const skPINCode = "PINCODE"

func pinCodeKey(tid, mac string) string { return "TENANT#" + tid + "#PINCODE#" + mac }

type pinCodeItem struct {
	PK, SK string
	UserID string `dynamodbav:"userId"`
}

// SetPINCode gives user uid the PIN code whose MAC is newMAC (and whose
// encrypted copy is sealed), replacing the code whose MAC is oldMAC ("" when
// the user had none). In one transaction the user's code attributes change
// only if they still hold oldMAC, the lookup item of the new code is written
// and that of the old one deleted, so the old code stops working at once. It
// returns ENotFound for an unknown user and EConflict when the code changed
// meanwhile.
func (s *Store) SetPINCode(ctx context.Context, tid, uid, oldMAC, newMAC, sealed string) error {
	lookup, err := s.marshal(pinCodeItem{PK: pinCodeKey(tid, newMAC), SK: skPINCode, UserID: uid})
	if err != nil {
		return fmt.Errorf("marshal pin code: %w", err)
	}
	cond := "attribute_exists(PK) AND attribute_not_exists(pinCodeMac)"
	values := map[string]types.AttributeValue{
		":mac": str(newMAC), ":sealed": str(sealed), ":at": timeAV(s.now()),
	}
	if oldMAC != "" {
		cond = "attribute_exists(PK) AND pinCodeMac = :old"
		values[":old"] = str(oldMAC)
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:          aws.String("SET pinCodeMac = :mac, pinCodeSealed = :sealed, pinCodeSetAt = :at"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: values,
		}},
		{Put: &types.Put{TableName: &s.table, Item: lookup, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	if oldMAC != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pinCodeKey(tid, oldMAC), skPINCode)}})
	}
	err = s.transact(ctx, items)
	if r := cancelReasons(err); len(r) > 0 {
		return s.userOrConflict(ctx, tid, uid, "The user's PIN code changed meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("set pin code: %w", err)
	}
	return nil
}

// RevokePINCode removes user uid's PIN code, whose MAC is oldMAC, and its
// lookup item in one transaction. It returns ENotFound for an unknown user
// and EConflict when the code changed meanwhile.
func (s *Store) RevokePINCode(ctx context.Context, tid, uid, oldMAC string) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:          aws.String("REMOVE pinCodeMac, pinCodeSealed, pinCodeSetAt"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND pinCodeMac = :old"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":old": str(oldMAC)},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(pinCodeKey(tid, oldMAC), skPINCode)}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return s.userOrConflict(ctx, tid, uid, "The user's PIN code changed meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("revoke pin code: %w", err)
	}
	return nil
}

// UserByPINCode returns the user of tenant tid holding the PIN code whose MAC
// is mac. It returns ENotFound when no user holds it (unknown, replaced or
// revoked codes alike).
func (s *Store) UserByPINCode(ctx context.Context, tid, mac string) (*latchkey.User, error) {
	var it pinCodeItem
	ok, err := s.get(ctx, pinCodeKey(tid, mac), skPINCode, &it)
	if err != nil {
		return nil, fmt.Errorf("get pin code: %w", err)
	}
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No such PIN code.")
	}
	u, err := s.GetUser(ctx, tid, it.UserID)
	if err != nil {
		return nil, err
	}
	if !secure.EqualMAC(u.PINCodeMAC, mac) {
		return nil, latchkey.Errorf(latchkey.ENotFound, "No such PIN code.")
	}
	return u, nil
}
