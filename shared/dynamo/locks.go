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
	"github.com/latchkey/latchkey/shared/schema"
)

// LoginState is the attempt record of one username key (latchkey.UsernameKey).
// It exists whether or not a user has that username, so a lockout reveals
// nothing about which usernames exist. Failures counts the attempts taken
// since the last success, including those still being checked: a slot is
// taken before a password is verified and given back when it was right.
type LoginState struct {
	Failures      int   `dynamodbav:"failures"`
	LastFailureAt int64 `dynamodbav:"lastFailureAt"`
}

// LockPolicy is the tenant's lockout setting.
type LockPolicy struct {
	Threshold int
	Duration  time.Duration
}

// LockedUntil returns when the lockout ends, or the zero time when the
// username is not locked out at now.
func (ls LoginState) LockedUntil(p LockPolicy, now time.Time) time.Time {
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

func loginStateKey(tid, ukey string) map[string]types.AttributeValue {
	return key(usernameKey(tid, ukey), skFailures)
}

// GetLoginState returns the attempt record of a username key (the zero
// record when there is none or it has run out).
func (s *Store) GetLoginState(ctx context.Context, tid, ukey string) (LoginState, error) {
	var it loginStateItem
	ok, err := s.get(ctx, usernameKey(tid, ukey), skFailures, &it)
	if err != nil {
		return LoginState{}, fmt.Errorf("get login state: %w", err)
	}
	if !ok || (it.TTL > 0 && s.now().Unix() >= it.TTL) {
		return LoginState{}, nil
	}
	return it.LoginState, nil
}

// LoginAttempt is the outcome of TakeLoginAttempt.
type LoginAttempt struct {
	// Locked is true when no slot was free: the username is locked out until
	// LockedUntil, and no password may be checked.
	Locked      bool
	LockedUntil time.Time
	// N is the attempt count with this slot. When N reaches the threshold,
	// a failure of this attempt is the one that locks.
	N int
}

// TakeLoginAttempt takes one attempt slot for a username key with a
// conditional write, before any password is checked: of concurrent attempts
// at most the threshold get a slot, so parallel guesses never get more
// checks than the limit allows. A slot whose password is wrong stays taken
// (a failure); a right one is given back with GiveBackLoginAttempt. A
// lockout that has run out, or a count past its window, starts afresh.
func (s *Store) TakeLoginAttempt(ctx context.Context, tid, ukey string, p LockPolicy) (LoginAttempt, error) {
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
			ReturnValues: types.ReturnValueUpdatedNew,
		})
		if err == nil {
			var st LoginState
			if err := attributevalue.UnmarshalMap(res.Attributes, &st); err != nil {
				return LoginAttempt{}, fmt.Errorf("unmarshal login state: %w", err)
			}
			return LoginAttempt{N: st.Failures}, nil
		}
		if !isConditionFailed(err) {
			return LoginAttempt{}, fmt.Errorf("take login attempt: %w", err)
		}
		// Every slot is taken: locked out now, or a record that has run out
		// (a lockout that ended, or a count past its TTL) and starts afresh.
		var raw loginStateItem
		found, err := s.get(ctx, usernameKey(tid, ukey), skFailures, &raw)
		if err != nil {
			return LoginAttempt{}, fmt.Errorf("get login state: %w", err)
		}
		if !found {
			continue
		}
		st := raw.LoginState
		if raw.TTL > 0 && now.Unix() >= raw.TTL {
			st.Failures = 0
		}
		if until := st.LockedUntil(p, now); !until.IsZero() {
			return LoginAttempt{Locked: true, LockedUntil: until}, nil
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
			return LoginAttempt{N: 1}, nil
		}
		if !isConditionFailed(err) {
			return LoginAttempt{}, fmt.Errorf("restart login attempts: %w", err)
		}
	}
	return LoginAttempt{}, fmt.Errorf("take login attempt: too much contention")
}

// GiveBackLoginAttempt returns the slot of an attempt whose password was
// right. When nobody took a slot after it (the count is still a.N), the
// count ends: failures before a success no longer count. Otherwise only this
// slot is given back, so attempts running in parallel keep theirs.
func (s *Store) GiveBackLoginAttempt(ctx context.Context, tid, ukey string, a LoginAttempt) error {
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

// LockUser sets an admin lock on user uid and raises the session version in
// one write, so every token and pending challenge of the user ends at once.
// It reports whether the user was not locked before. It returns ENotFound.
func (s *Store) LockUser(ctx context.Context, tid, uid string) (newly bool, err error) {
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:    aws.String("SET lockedAt = if_not_exists(lockedAt, :t) ADD sessionVersion :one"),
		ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": str(s.now().UTC().Format(time.RFC3339Nano)), ":one": num(1),
		},
		ReturnValues: types.ReturnValueUpdatedOld,
	})
	if isConditionFailed(err) {
		return false, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return false, fmt.Errorf("lock user: %w", err)
	}
	_, was := res.Attributes["lockedAt"]
	return !was, nil
}

// UnlockUser removes user uid's admin lock and ends any lockout of its
// username key, in one transaction. It returns ENotFound.
func (s *Store) UnlockUser(ctx context.Context, tid, uid, ukey string) error {
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("REMOVE lockedAt"),
			ConditionExpression: aws.String("attribute_exists(PK)"),
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: loginStateKey(tid, ukey)}},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("unlock user: %w", err)
	}
	return nil
}

// Rate is the outcome of TakeRate.
type Rate struct {
	// Allowed is false when the limit was already reached in this window.
	Allowed bool
	// Count is the number of events counted in the window, this one included
	// when Allowed.
	Count int
	// RetryAfter is the time until the window ends, when not Allowed.
	RetryAfter time.Duration
}

// TakeRate counts one event against a fixed-window limit keyed by kind and
// subject (for example failed sign-ins per source address). Counting is a
// conditional update, so concurrent requests cannot exceed the limit.
func (s *Store) TakeRate(ctx context.Context, tid, kind, subject string, limit int, window time.Duration) (Rate, error) {
	now := s.now()
	start := now.Truncate(window)
	end := start.Add(window)
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(rateKey(tid, kind, subject), fmt.Sprintf("WINDOW#%d", start.Unix())),
		UpdateExpression:         aws.String("SET #c = if_not_exists(#c, :zero) + :one, #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#c) OR #c < :limit"),
		ExpressionAttributeNames: map[string]string{"#c": "count", "#ttl": schema.AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":one": num(1), ":limit": num(int64(limit)), ":ttl": num(end.Unix()),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return Rate{Count: limit, RetryAfter: end.Sub(now)}, nil
	}
	if err != nil {
		return Rate{}, fmt.Errorf("take rate: %w", err)
	}
	var it struct {
		Count int `dynamodbav:"count"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return Rate{}, fmt.Errorf("unmarshal rate: %w", err)
	}
	return Rate{Allowed: true, Count: it.Count}, nil
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
