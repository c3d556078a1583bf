package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// loginStateItem is the LOGINFAILURES item of a username key.
type loginStateItem struct {
	PK, SK        string
	Failures      int   `dynamodbav:"failures"`
	LastFailureAt int64 `dynamodbav:"lastFailureAt"`
	TTL           int64 `dynamodbav:"ttl"`
}

func (it loginStateItem) state() latchkey.LoginState {
	return latchkey.LoginState{Failures: it.Failures, LastFailureAt: time.Unix(it.LastFailureAt, 0)}
}

// failureWindow is how long a failure count lives without new failures.
const failureWindow = 24 * time.Hour

func loginStateKey(tid, ukey string) map[string]types.AttributeValue {
	return key(usernameKey(tid, ukey), skFailures)
}

// GetLoginState returns the attempt record of a username key (the zero
// record when there is none or it has run out).
func (s *Store) GetLoginState(ctx context.Context, tid, ukey string) (latchkey.LoginState, error) {
	var it loginStateItem
	ok, err := s.get(ctx, usernameKey(tid, ukey), skFailures, &it)
	if err != nil {
		return latchkey.LoginState{}, fmt.Errorf("get login state: %w", err)
	}
	if !ok || (it.TTL > 0 && s.now().Unix() >= it.TTL) {
		return latchkey.LoginState{}, nil
	}
	return it.state(), nil
}

// TakeLoginAttempt takes one attempt slot for a username key with a
// conditional write, before any password is checked: of concurrent attempts
// at most the threshold get a slot, so parallel guesses never get more
// checks than the limit allows. A slot whose password is wrong stays taken
// (a failure); a right one is given back with GiveBackLoginAttempt. A
// lockout that has run out, or a count past its window, starts afresh.
func (s *Store) TakeLoginAttempt(ctx context.Context, tid, ukey string, p latchkey.LockPolicy) (latchkey.LoginAttempt, error) {
	k := loginStateKey(tid, ukey)
	for attempt := 0; attempt < 8; attempt++ {
		now := s.now()
		ttl := now.Add(failureWindow)
		if d := now.Add(p.Duration); d.After(ttl) {
			ttl = d
		}
		res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: k,
			UpdateExpression:         aws.String("SET failures = if_not_exists(failures, :zero) + :one, lastFailureAt = :now, #ttl = :ttl"),
			ConditionExpression:      aws.String("attribute_not_exists(failures) OR (failures < :max AND #ttl > :now)"),
			ExpressionAttributeNames: map[string]string{"#ttl": schema.AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":one": num(1), ":now": num(now.Unix()), ":ttl": num(ttl.Unix()),
				":max": num(int64(p.Threshold)),
			},
			ReturnValues:                        types.ReturnValueUpdatedNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			var st loginStateItem
			if err := attributevalue.UnmarshalMap(res.Attributes, &st); err != nil {
				return latchkey.LoginAttempt{}, fmt.Errorf("unmarshal login state: %w", err)
			}
			return latchkey.LoginAttempt{N: st.Failures}, nil
		}
		if !isConditionFailed(err) {
			return latchkey.LoginAttempt{}, fmt.Errorf("take login attempt: %w", err)
		}
		// Every slot is taken: locked out now, or a record that has run out
		// (a lockout that ended, or a count past its TTL) and starts afresh.
		// The failed condition returns the record, saving a read.
		var raw loginStateItem
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && ccf.Item != nil {
			if err := attributevalue.UnmarshalMap(ccf.Item, &raw); err != nil {
				return latchkey.LoginAttempt{}, fmt.Errorf("unmarshal login state: %w", err)
			}
		} else {
			found, err := s.get(ctx, usernameKey(tid, ukey), skFailures, &raw)
			if err != nil {
				return latchkey.LoginAttempt{}, fmt.Errorf("get login state: %w", err)
			}
			if !found {
				continue
			}
		}
		st := raw.state()
		if raw.TTL > 0 && now.Unix() >= raw.TTL {
			st.Failures = 0
		}
		if until := st.LockedUntil(p, now); !until.IsZero() {
			return latchkey.LoginAttempt{Locked: true, LockedUntil: until}, nil
		}
		// Start a new count with this slot, only if nobody changed the record meanwhile.
		_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: k,
			UpdateExpression:         aws.String("SET failures = :one, lastFailureAt = :now, #ttl = :ttl"),
			ConditionExpression:      aws.String("failures = :n AND lastFailureAt = :last"),
			ExpressionAttributeNames: map[string]string{"#ttl": schema.AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":one": num(1), ":now": num(now.Unix()), ":ttl": num(ttl.Unix()),
				":n": num(int64(raw.Failures)), ":last": num(raw.LastFailureAt),
			},
		})
		if err == nil {
			return latchkey.LoginAttempt{N: 1}, nil
		}
		if !isConditionFailed(err) {
			return latchkey.LoginAttempt{}, fmt.Errorf("restart login attempts: %w", err)
		}
	}
	return latchkey.LoginAttempt{}, fmt.Errorf("take login attempt: too much contention")
}

// GiveBackLoginAttempt returns the slot of an attempt whose password was
// right. When nobody took a slot after it (the count is still a.N), the
// count ends: failures before a success no longer count. Otherwise only this
// slot is given back, so attempts running in parallel keep theirs.
func (s *Store) GiveBackLoginAttempt(ctx context.Context, tid, ukey string, a latchkey.LoginAttempt) error {
	k := loginStateKey(tid, ukey)
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: k,
		ConditionExpression:       aws.String("failures = :n"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":n": num(int64(a.N))},
	})
	if err == nil {
		return nil
	}
	if !isConditionFailed(err) {
		return fmt.Errorf("give back login attempt: %w", err)
	}
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: k,
		UpdateExpression:          aws.String("SET failures = failures - :one"),
		ConditionExpression:       aws.String("failures > :zero"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":one": num(1)},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("give back login attempt: %w", err)
	}
	return nil
}
