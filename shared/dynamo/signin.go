package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// accessedSelfServe is the part of an update expression that records a
// user's first use of a self-serve flow at :t (kept when set before) and
// the registration status it gives, accessed_self_serve, whatever the
// user's e-mail and mobile: the status is stored beside the user for the
// user list's GSI2, and this write needs no read to keep it right.
// GSI2SK is filled in from GSI1SK for a user stored before GSI2 existed.
const accessedSelfServe = "accessedSelfServeAt = if_not_exists(accessedSelfServeAt, :t), " +
	"registrationStatus = :accessed, GSI2PK = :accessedKey, GSI2SK = if_not_exists(GSI2SK, GSI1SK)"

// accessedValues adds the values of accessedSelfServe for tenant tid to v.
func accessedValues(tid string, v map[string]types.AttributeValue) map[string]types.AttributeValue {
	v[":accessed"] = str(latchkey.RegistrationAccessed)
	v[":accessedKey"] = str(registrationKey(tid, latchkey.RegistrationAccessed))
	return v
}

// FinishSignIn writes a successful sign-in in one transaction (one round
// trip): the attempt slot given back (the count ends when nobody took a slot
// after it), the source slot given back, then either the user's sign-in time
// and first self-serve use (registration status accessed_self_serve)
// (and the pending temporary password deleted, with EndPendingReset) or the
// new challenge named on its temporary password, and the audit event. When
// another attempt took a slot meanwhile, only this slot is given back;
// when the source slot's window has gone, it is not. It returns ENotFound
// (the user is gone) or EInvalidCredentials (the temporary password changed
// meanwhile).
func (s *Store) FinishSignIn(ctx context.Context, d latchkey.SignInDone) error {
	audit, err := s.auditPut(ctx, d.Audit)
	if err != nil {
		return err
	}
	var main []types.TransactWriteItem
	if d.Challenge == nil {
		main = append(main, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(d.TenantID, d.UserID), skUser),
			UpdateExpression:          aws.String("SET lastLoginAt = :t, " + accessedSelfServe),
			ConditionExpression:       aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: accessedValues(d.TenantID, map[string]types.AttributeValue{":t": timeAV(d.At)}),
		}})
		if d.EndPendingReset {
			main = append(main, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(d.TenantID, d.UserID), skTempPW)}})
		}
	} else {
		c := d.Challenge
		item, err := s.marshal(challengeItem{
			PK: challengeKey(d.TenantID, c.MAC), SK: skChallenge, UserID: c.UserID, ExpiresAt: c.ExpiresAt,
			SessionVersion: c.SessionVersion, UsernameKey: c.UsernameKey, TTL: c.ExpiresAt.Unix(),
		})
		if err != nil {
			return fmt.Errorf("marshal challenge: %w", err)
		}
		created, err := attributevalue.Marshal(d.TempCreatedAt)
		if err != nil {
			return fmt.Errorf("marshal created: %w", err)
		}
		main = append(main,
			types.TransactWriteItem{Update: &types.Update{
				TableName: &s.table, Key: key(userKey(d.TenantID, d.UserID), skTempPW),
				UpdateExpression:          aws.String("SET challengeMac = :mac"),
				ConditionExpression:       aws.String("createdAt = :c"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(c.MAC), ":c": created},
			}},
			types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		)
	}
	main = append(main, types.TransactWriteItem{Put: audit})

	endCount := d.Attempt.N > 0 // first try: end the count; then only give back this slot
	giveBack := d.Attempt.N > 0
	source := d.Source.Allowed
	for try := 0; try < 3; try++ {
		var items []types.TransactWriteItem
		if giveBack {
			k := loginStateKey(d.TenantID, d.UsernameKey)
			if endCount {
				items = append(items, types.TransactWriteItem{Delete: &types.Delete{
					TableName: &s.table, Key: k, ConditionExpression: aws.String("failures = :n"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(d.Attempt.N))},
				}})
			} else {
				items = append(items, types.TransactWriteItem{Update: &types.Update{
					TableName: &s.table, Key: k, UpdateExpression: aws.String("SET failures = failures - :one"),
					ConditionExpression:       aws.String("failures > :zero"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":one": num(1)},
				}})
			}
		}
		if source {
			items = append(items, types.TransactWriteItem{Update: s.rateGiveBack(d.TenantID, d.Source)})
		}
		items = append(items, main...)
		err := s.transact(ctx, items)
		reasons := cancelReasons(err)
		if len(reasons) == 0 {
			if err != nil {
				return fmt.Errorf("finish sign-in: %w", err)
			}
			return nil
		}
		i := 0
		retry := false
		if giveBack {
			if reasons[i] == "ConditionalCheckFailed" {
				if endCount {
					endCount = false // someone took a slot after this one
				} else {
					giveBack = false // nothing left to give back
				}
				retry = true
			}
			i++
		}
		if source && reasons[i] == "ConditionalCheckFailed" {
			source = false // its window has gone
			retry = true
		}
		if !retry {
			if d.Challenge != nil {
				return latchkey.Errorf(latchkey.EInvalidCredentials, "The username or password is incorrect.")
			}
			return latchkey.Errorf(latchkey.ENotFound, "User not found.")
		}
	}
	return fmt.Errorf("finish sign-in: too much contention")
}
