// Package dynamo is Latchkey's storage on DynamoDB: one table (defined in
// shared/schema), single-table design, the tenant in every key. One file
// per aggregate: tenants.go, users.go, credentials.go (temporary passwords
// and challenges), lockout.go, rates.go, signin.go (a successful sign-in's
// one transaction), pincodes.go, accounts.go, audit.go, templates.go and
// notices.go (the expiry index and expiry notices); cache.go holds
// the per-container caches, counter.go the round-trip counter, create.go
// the client and the table's creation; this file the helpers they share. Store satisfies the
// small store interfaces the services declare where they use them.
package dynamo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
	"github.com/latchkey/latchkey/shared/templates"
)

// Store is Latchkey's storage on one DynamoDB table. Every read of an item
// with a TTL checks expiry against Now, because DynamoDB deletes expired items
// only eventually. The zero value is not usable: use New.
type Store struct {
	api   *dynamodb.Client
	table string
	now   latchkey.Clock
	// tenants and templates cache reads for TenantCacheTTL and
	// TemplateCacheTTL; a nil template means "no override".
	tenants   cache[latchkey.Tenant]
	templates cache[*templates.Template]
}

// New returns a Store on table, reading time from now.
func New(api *dynamodb.Client, table string, now latchkey.Clock) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{api: api, table: table, now: now}
}

// Keys. The tenant is in every key; see docs/data-model.md.
func tenantKey(tid string) string           { return "TENANT#" + tid }
func userKey(tid, uid string) string        { return "TENANT#" + tid + "#USER#" + uid }
func usernameKey(tid, norm string) string   { return "TENANT#" + tid + "#USERNAME#" + norm }
func challengeKey(tid, mac string) string   { return "TENANT#" + tid + "#CHALLENGE#" + mac }
func usersIndexKey(tid string) string       { return "TENANT#" + tid + "#USERS" }
func rateKey(tid, kind, subj string) string { return "TENANT#" + tid + "#RATE#" + kind + "#" + subj }
func templateKey(tid, name string) string   { return "TENANT#" + tid + "#TEMPLATE#" + name }
func auditKey(tid string) string            { return "TENANT#" + tid + "#AUDIT" }
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{schema.AttrPK: str(pk), schema.AttrSK: str(sk)}
}

const (
	skTenant     = "TENANT"
	skUser       = "USER"
	skUsername   = "USERNAME"
	skTempPW     = "TEMPPW"
	skChallenge  = "CHALLENGE"
	skFailures   = "LOGINFAILURES"
	skTemplate   = "TEMPLATE"
	tenantsIndex = "TENANTS"
)

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// isConditionFailed reports whether err is a failed condition of a single write.
func isConditionFailed(err error) bool {
	var c *types.ConditionalCheckFailedException
	return errors.As(err, &c)
}

// cancelReasons returns the cancellation codes of a failed transaction, one
// per item ("None", "ConditionalCheckFailed", ...), or nil for other errors.
func cancelReasons(err error) []string {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	out := make([]string, len(tc.CancellationReasons))
	for i, r := range tc.CancellationReasons {
		out[i] = aws.ToString(r.Code)
	}
	return out
}

// transact runs a write transaction. When it is cancelled only because a
// concurrent transaction touched the same items (TransactionConflict), it is
// retried a few times, so the caller sees the conditions' verdict instead.
func (s *Store) transact(ctx context.Context, items []types.TransactWriteItem) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		_, err = s.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if !onlyConflicts(cancelReasons(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10*(attempt+1)) * time.Millisecond):
		}
	}
	return err
}

// onlyConflicts reports whether a cancelled transaction failed for
// TransactionConflict and no condition.
func onlyConflicts(reasons []string) bool {
	conflict := false
	for _, r := range reasons {
		switch r {
		case "TransactionConflict":
			conflict = true
		case "None", "":
		default:
			return false
		}
	}
	return conflict
}

func (s *Store) get(ctx context.Context, pk, sk string, out any) (bool, error) {
	res, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, err
	}
	if res.Item == nil {
		return false, nil
	}
	return true, attributevalue.UnmarshalMap(res.Item, out)
}

func (s *Store) marshal(v any) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(v)
}

// put writes an item, under a condition when cond is not "". It reports
// false when the condition failed.
func (s *Store) put(ctx context.Context, v any, cond string) (bool, error) {
	item, err := s.marshal(v)
	if err != nil {
		return false, err
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	_, err = s.api.PutItem(ctx, in)
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// userOrConflict explains a failed condition on a user's item: ENotFound
// when the user is gone, else EConflict with msg.
func (s *Store) userOrConflict(ctx context.Context, tid, uid, msg string) error {
	if _, err := s.GetUser(ctx, tid, uid); err != nil {
		return err
	}
	return latchkey.Errorf(latchkey.EConflict, "%s", msg)
}

func timeAV(t time.Time) types.AttributeValue { return str(t.UTC().Format(time.RFC3339Nano)) }

// partition reads every item of partition pk with one consistent Query and
// returns them by sort key: an aggregate kept beside its root item (a user
// and its temporary password, an account and its verification code) is
// read in one round trip.
func (s *Store) partition(ctx context.Context, pk string) (map[string]map[string]types.AttributeValue, error) {
	res, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]types.AttributeValue, len(res.Items))
	for _, raw := range res.Items {
		if sk, _ := raw[schema.AttrSK].(*types.AttributeValueMemberS); sk != nil {
			out[sk.Value] = raw
		}
	}
	return out, nil
}
