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
)

// LoginState is the failed-login record of one normalized username. It exists
// whether or not a user has that username, so a lockout reveals nothing
// about which usernames exist.
type LoginState struct {
	Failures      int   `dynamodbav:"failures"`
	LastFailureAt int64 `dynamodbav:"lastFailureAt"`
	// AdminLock is set by POST /users/{id}/lock and lasts until an unlock.
	AdminLock bool `dynamodbav:"adminLock"`
}

// LockPolicy is the tenant's lockout setting.
type LockPolicy struct {
	Threshold int
	Duration  time.Duration
}

// LockedUntil returns when the lock ends, or the zero time when not locked
// at now. An admin lock has no end: it returns the far future.
func (ls LoginState) LockedUntil(p LockPolicy, now time.Time) time.Time {
	if ls.AdminLock {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if ls.Failures < p.Threshold {
		return time.Time{}
	}
	until := time.Unix(ls.LastFailureAt, 0).Add(p.Duration)
	if now.Before(until) {
		return until
	}
	return time.Time{}
}

type loginStateItem struct {
	PK, SK string
	LoginState
	TTL int64 `dynamodbav:"ttl"`
}

// failureWindow is how long a failure count lives without new failures.
const failureWindow = 24 * time.Hour

// GetLoginState returns the failed-login record of a normalized username (the
// zero record when there is none).
func (s *Store) GetLoginState(ctx context.Context, tid, norm string) (LoginState, error) {
	var it loginStateItem
	ok, err := s.get(ctx, usernameKey(tid, norm), skFailures, &it)
	if err != nil {
		return LoginState{}, fmt.Errorf("get login state: %w", err)
	}
	if !ok || (it.TTL > 0 && !it.AdminLock && s.now().Unix() >= it.TTL) {
		return LoginState{}, nil
	}
	return it.LoginState, nil
}

// RecordLoginFailure counts one failed login for a normalized username with
// conditional writes, so concurrent failures lock at exactly the threshold:
// the failure that reaches it returns justLocked; failures while locked are
// not counted and return locked. A lock that has run out starts a new count.
func (s *Store) RecordLoginFailure(ctx context.Context, tid, norm string, p LockPolicy) (locked, justLocked bool, err error) {
	k := key(usernameKey(tid, norm), skFailures)
	for attempt := 0; attempt < 8; attempt++ {
		now := s.now()
		ttl := now.Add(failureWindow)
		if d := now.Add(p.Duration); d.After(ttl) {
			ttl = d
		}
		res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: k,
			UpdateExpression: aws.String("SET failures = if_not_exists(failures, :zero) + :one, lastFailureAt = :now, #ttl = :ttl"),
			ConditionExpression: aws.String("(attribute_not_exists(adminLock) OR adminLock = :false) AND " +
				"(attribute_not_exists(failures) OR (failures < :max AND #ttl > :now))"),
			ExpressionAttributeNames: map[string]string{"#ttl": AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":one": num(1), ":now": num(now.Unix()), ":ttl": num(ttl.Unix()),
				":max": num(int64(p.Threshold)), ":false": &types.AttributeValueMemberBOOL{Value: false},
			},
			ReturnValues: types.ReturnValueAllNew,
		})
		if err == nil {
			var st LoginState
			if err := attributevalue.UnmarshalMap(res.Attributes, &st); err != nil {
				return false, false, fmt.Errorf("unmarshal login state: %w", err)
			}
			if st.Failures >= p.Threshold {
				return true, true, nil
			}
			return false, false, nil
		}
		if !isConditionFailed(err) {
			return false, false, fmt.Errorf("record login failure: %w", err)
		}
		// The condition failed: locked now, or a record that has run out (a
		// lock that ended, or a count past its TTL) and needs a fresh count.
		var raw loginStateItem
		if _, err := s.get(ctx, usernameKey(tid, norm), skFailures, &raw); err != nil {
			return false, false, fmt.Errorf("get login state: %w", err)
		}
		st := raw.LoginState
		if raw.TTL > 0 && now.Unix() >= raw.TTL && !st.AdminLock {
			st.Failures = 0
		}
		if !st.LockedUntil(p, now).IsZero() {
			return true, false, nil
		}
		// Restart the count only if nobody changed the record meanwhile.
		_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.table, Key: k,
			UpdateExpression:         aws.String("SET failures = :zero, lastFailureAt = :zero, #ttl = :ttl"),
			ConditionExpression:      aws.String("(attribute_not_exists(adminLock) OR adminLock = :false) AND lastFailureAt = :last"),
			ExpressionAttributeNames: map[string]string{"#ttl": AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":zero": num(0), ":last": num(raw.LastFailureAt), ":ttl": num(ttl.Unix()),
				":false": &types.AttributeValueMemberBOOL{Value: false},
			},
		})
		if err != nil && !isConditionFailed(err) {
			return false, false, fmt.Errorf("restart login failures: %w", err)
		}
	}
	return false, false, fmt.Errorf("record login failure: too much contention")
}

// ClearLoginFailures ends the failure count after a successful login. It
// never removes an admin lock or a lock in force: those return
// EAccountLocked, so a login racing a lockout cannot undo it.
func (s *Store) ClearLoginFailures(ctx context.Context, tid, norm string, p LockPolicy) error {
	now := s.now()
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(usernameKey(tid, norm), skFailures),
		ConditionExpression: aws.String("attribute_not_exists(PK) OR ((attribute_not_exists(adminLock) OR adminLock = :false) AND " +
			"(failures < :max OR lastFailureAt <= :cutoff))"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":max": num(int64(p.Threshold)), ":cutoff": num(now.Add(-p.Duration).Unix()),
			":false": &types.AttributeValueMemberBOOL{Value: false},
		},
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.EAccountLocked, "The account is locked.")
	}
	if err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// SetAdminLock locks a normalized username until Unlock.
func (s *Store) SetAdminLock(ctx context.Context, tid, norm string) error {
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(usernameKey(tid, norm), skFailures),
		UpdateExpression:         aws.String("SET adminLock = :true REMOVE #ttl"),
		ExpressionAttributeNames: map[string]string{"#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":true": &types.AttributeValueMemberBOOL{Value: true},
		},
	})
	if err != nil {
		return fmt.Errorf("set admin lock: %w", err)
	}
	return nil
}

// Unlock removes an admin lock and any lockout or failure count.
func (s *Store) Unlock(ctx context.Context, tid, norm string) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(usernameKey(tid, norm), skFailures),
	})
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	return nil
}

// TakeRate counts one event against a fixed-window limit keyed by kind and
// subject (for example forgot-password requests per username). It returns
// allowed=false and the time until the window ends when limit events were
// already counted in the current window. Counting is a conditional update,
// so concurrent requests cannot exceed the limit.
func (s *Store) TakeRate(ctx context.Context, tid, kind, subject string, limit int, window time.Duration) (allowed bool, retryAfter time.Duration, err error) {
	now := s.now()
	start := now.Truncate(window)
	end := start.Add(window)
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(rateKey(tid, kind, subject), fmt.Sprintf("WINDOW#%d", start.Unix())),
		UpdateExpression:         aws.String("SET #c = if_not_exists(#c, :zero) + :one, #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#c) OR #c < :limit"),
		ExpressionAttributeNames: map[string]string{"#c": "count", "#ttl": AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":one": num(1), ":limit": num(int64(limit)), ":ttl": num(end.Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, end.Sub(now), nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("take rate: %w", err)
	}
	return true, 0, nil
}

// RateCount returns how many events are counted in the current window.
func (s *Store) RateCount(ctx context.Context, tid, kind, subject string, window time.Duration) (int, error) {
	start := s.now().Truncate(window)
	var it struct {
		Count int `dynamodbav:"count"`
	}
	_, err := s.get(ctx, rateKey(tid, kind, subject), fmt.Sprintf("WINDOW#%d", start.Unix()), &it)
	if err != nil {
		return 0, fmt.Errorf("get rate: %w", err)
	}
	return it.Count, nil
}
