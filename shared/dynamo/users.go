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

// userItem is a USER item: the keys, then the user's own attributes as
// latchkey.User tags them.
type userItem struct {
	PK, SK, GSI1PK, GSI1SK string
	latchkey.User
}

func toUserItem(u latchkey.User) userItem {
	return userItem{
		PK: userKey(u.TenantID, u.ID), SK: skUser,
		GSI1PK: usersIndexKey(u.TenantID), GSI1SK: latchkey.NormalizeUsername(u.Username),
		User: u,
	}
}

type usernameItem struct {
	PK, SK string
	UserID string `dynamodbav:"userId"`
}

// CreateUser stores a new user, claims the username key and, when tp is not
// nil, stores the user's temporary password, all in one transaction. When
// sponsor is not nil the transaction also checks that the sponsor still
// holds its PIN code and is not locked, so a code revoked or replaced, or a
// holder locked, while the signup runs creates nobody. The audit event is
// written in the same transaction. It returns
// EUsernameTaken when the username key is already claimed in the tenant and
// EInvalidPINCode when the sponsor check fails.
func (s *Store) CreateUser(ctx context.Context, u latchkey.User, tp *latchkey.TempPassword, sponsor *latchkey.Sponsor, audit latchkey.AuditEvent) error {
	claim, err := s.marshal(usernameItem{PK: usernameKey(u.TenantID, latchkey.UsernameKey(u.Username)), SK: skUsername, UserID: u.ID})
	if err != nil {
		return fmt.Errorf("marshal username: %w", err)
	}
	user, err := s.marshal(toUserItem(u))
	if err != nil {
		return fmt.Errorf("marshal user: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: claim, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Put: &types.Put{TableName: &s.table, Item: user, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
	}
	if tp != nil {
		put, err := s.tempPWPut(u.TenantID, u.ID, *tp)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	sponsorAt := -1
	if sponsor != nil {
		sponsorAt = len(items)
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: key(userKey(u.TenantID, sponsor.UserID), skUser),
			ConditionExpression:       aws.String("pinCodeMac = :mac AND attribute_not_exists(lockedAt)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(sponsor.PINCodeMAC)},
		}})
	}
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	items = append(items, types.TransactWriteItem{Put: put})
	err = s.transact(ctx, items)
	r := cancelReasons(err)
	if sponsorAt >= 0 && len(r) > sponsorAt && r[sponsorAt] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.EInvalidPINCode, "The PIN code is not valid.")
	}
	if len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.EUsernameTaken, "That username is taken.")
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// GetUser returns a user of a tenant. It returns ENotFound when there is none.
func (s *Store) GetUser(ctx context.Context, tid, uid string) (*latchkey.User, error) {
	var it userItem
	ok, err := s.get(ctx, userKey(tid, uid), skUser, &it)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if !ok || it.TenantID != tid {
		return nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return &it.User, nil
}

// GetUserByUsername finds a user by username, compared by username key
// (latchkey.UsernameKey). It returns ENotFound when there is none.
func (s *Store) GetUserByUsername(ctx context.Context, tid, username string) (*latchkey.User, error) {
	u, _, err := s.GetUserByUsernameWithTemp(ctx, tid, username)
	return u, err
}

// GetUserByUsernameWithTemp finds a user by username and returns it with its
// temporary password (nil when it has none or it has expired): the username
// claim, then the user's partition in one query, also when there is no such
// username (then an empty partition), so that known and unknown usernames
// cost the same round trips. It returns ENotFound when there is no user.
func (s *Store) GetUserByUsernameWithTemp(ctx context.Context, tid, username string) (*latchkey.User, *latchkey.TempPassword, error) {
	var claim usernameItem
	ok, err := s.get(ctx, usernameKey(tid, latchkey.UsernameKey(username)), skUsername, &claim)
	if err != nil {
		return nil, nil, fmt.Errorf("get username: %w", err)
	}
	if !ok {
		// The same round trips as for a user: query a partition that holds
		// nothing, so an unknown username takes as long as a known one.
		_, _, _ = s.GetUserWithTemp(ctx, tid, "-")
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return s.GetUserWithTemp(ctx, tid, claim.UserID)
}

// GetUserWithTemp returns a user and its temporary password (nil when it has
// none or it has expired by the store's clock), reading the user's
// partition in one query. It returns ENotFound when there is no user.
func (s *Store) GetUserWithTemp(ctx context.Context, tid, uid string) (*latchkey.User, *latchkey.TempPassword, error) {
	res, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(userKey(tid, uid))},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("query user: %w", err)
	}
	var u *latchkey.User
	var tp *latchkey.TempPassword
	for _, raw := range res.Items {
		sk, _ := raw[schema.AttrSK].(*types.AttributeValueMemberS)
		if sk == nil {
			continue
		}
		switch sk.Value {
		case skUser:
			var it userItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, fmt.Errorf("unmarshal user: %w", err)
			}
			if it.TenantID == tid {
				u = &it.User
			}
		case skTempPW:
			var it tempPWItem
			if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
				return nil, nil, fmt.Errorf("unmarshal temporary password: %w", err)
			}
			if s.now().Before(it.ExpiresAt) {
				tp = it.temp()
			}
		}
	}
	if u == nil {
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	return u, tp, nil
}

// ListUsers returns up to limit users of a tenant ordered by normalized
// username, starting after the cursor (a normalized username; "" for the
// first page). next is "" on the last page.
func (s *Store) ListUsers(ctx context.Context, tid, cursor string, limit int) (users []latchkey.User, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName: &s.table, IndexName: aws.String(schema.IndexGSI1),
		KeyConditionExpression:    aws.String("GSI1PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(usersIndexKey(tid))},
		Limit:                     aws.Int32(int32(limit)),
	}
	if cursor != "" {
		in.KeyConditionExpression = aws.String("GSI1PK = :pk AND GSI1SK > :after")
		in.ExpressionAttributeValues[":after"] = str(cursor)
	}
	res, err := s.api.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query users: %w", err)
	}
	for _, raw := range res.Items {
		var it userItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, "", fmt.Errorf("unmarshal user: %w", err)
		}
		users = append(users, it.User)
		next = it.GSI1SK
	}
	if res.LastEvaluatedKey == nil {
		next = ""
	}
	return users, next, nil
}

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

// LockUser sets an admin lock on user uid and raises the session version in
// one write, so every token and pending challenge of the user ends at once.
// It reports whether the user was not locked before. It returns ENotFound.
func (s *Store) LockUser(ctx context.Context, tid, uid string) (newly bool, err error) {
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:    aws.String("SET lockedAt = if_not_exists(lockedAt, :t) ADD sessionVersion :one"),
		ConditionExpression: aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": timeAV(s.now()), ":one": num(1),
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

// SetUserPIN stores the user PIN of user uid as its keyed MAC (pinMac),
// with when it was set (pinSetAt) and whether an admin set it
// (pinSetByAdmin), and appends audit, in one transaction: the PIN and its
// record cannot part. The PIN itself is never given to the store. It
// returns ENotFound when there is no such user.
func (s *Store) SetUserPIN(ctx context.Context, tid, uid, mac string, byAdmin bool, at time.Time, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("SET pinMac = :mac, pinSetAt = :at, pinSetByAdmin = :admin"),
			ConditionExpression: aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":mac": str(mac), ":at": timeAV(at), ":admin": &types.AttributeValueMemberBOOL{Value: byAdmin},
			},
		}},
		{Put: put},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return latchkey.Errorf(latchkey.ENotFound, "User not found.")
	}
	if err != nil {
		return fmt.Errorf("set user pin: %w", err)
	}
	return nil
}
