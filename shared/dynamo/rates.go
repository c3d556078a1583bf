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

// TakeRate counts one event against a fixed-window limit keyed by kind and
// subject (for example failed sign-ins per source address). Counting is a
// conditional update, so concurrent requests cannot exceed the limit.
func (s *Store) TakeRate(ctx context.Context, tid, kind, subject string, limit int, window time.Duration) (latchkey.Rate, error) {
	now := s.now()
	start := now.Truncate(window)
	end := start.Add(window)
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      key(rateKey(tid, kind, subject), windowKey(start)),
		UpdateExpression:         aws.String("SET #c = if_not_exists(#c, :zero) + :one, #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#c) OR #c < :limit"),
		ExpressionAttributeNames: map[string]string{"#c": "count", "#ttl": schema.AttrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":one": num(1), ":limit": num(int64(limit)), ":ttl": num(end.Unix()),
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return latchkey.Rate{Count: limit, RetryAfter: end.Sub(now)}, nil
	}
	if err != nil {
		return latchkey.Rate{}, fmt.Errorf("take rate: %w", err)
	}
	var it struct {
		Count int `dynamodbav:"count"`
	}
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return latchkey.Rate{}, fmt.Errorf("unmarshal rate: %w", err)
	}
	return latchkey.Rate{Allowed: true, Count: it.Count, Kind: kind, Subject: subject, Window: start}, nil
}

// RateCount returns how many events are counted in the current window.
func (s *Store) RateCount(ctx context.Context, tid, kind, subject string, window time.Duration) (int, error) {
	start := s.now().Truncate(window)
	var it struct {
		Count int `dynamodbav:"count"`
	}
	_, err := s.get(ctx, rateKey(tid, kind, subject), windowKey(start), &it)
	if err != nil {
		return 0, fmt.Errorf("get rate: %w", err)
	}
	return it.Count, nil
}

func windowKey(start time.Time) string { return fmt.Sprintf("WINDOW#%d", start.Unix()) }

// rateGiveBack is the update that gives back slot r into its own window.
func (s *Store) rateGiveBack(tid string, r latchkey.Rate) *types.Update {
	return &types.Update{
		TableName:                 &s.table,
		Key:                       key(rateKey(tid, r.Kind, r.Subject), windowKey(r.Window)),
		UpdateExpression:          aws.String("SET #c = #c - :one"),
		ConditionExpression:       aws.String("#c > :zero"),
		ExpressionAttributeNames:  map[string]string{"#c": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":one": num(1)},
	}
}

// ReleaseRate gives back slot r, taken with TakeRate, into the window it
// was taken in (for example a signup that succeeded and so is not a failure
// to count). A slot not taken (r.Allowed false) is nothing to give back.
func (s *Store) ReleaseRate(ctx context.Context, tid string, r latchkey.Rate) error {
	if !r.Allowed {
		return nil
	}
	u := s.rateGiveBack(tid, r)
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release rate: %w", err)
	}
	return nil
}
