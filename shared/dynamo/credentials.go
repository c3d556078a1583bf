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

// tempPWItem is a user's TEMPPW item (in the user's partition).
type tempPWItem struct {
	PK, SK       string
	MAC          string    `dynamodbav:"mac"`
	ExpiresAt    time.Time `dynamodbav:"expiresAt"`
	CreatedAt    time.Time `dynamodbav:"createdAt"`
	ChallengeMAC string    `dynamodbav:"challengeMac,omitempty"`
	TTL          int64     `dynamodbav:"ttl"`
}

func (it tempPWItem) temp() *latchkey.TempPassword {
	return &latchkey.TempPassword{MAC: it.MAC, ExpiresAt: it.ExpiresAt, CreatedAt: it.CreatedAt, ChallengeMAC: it.ChallengeMAC}
}

func (s *Store) tempPWPut(tid, uid string, tp latchkey.TempPassword) (*types.Put, error) {
	item, err := s.marshal(tempPWItem{
		PK: userKey(tid, uid), SK: skTempPW, MAC: tp.MAC, ExpiresAt: tp.ExpiresAt, CreatedAt: tp.CreatedAt,
		ChallengeMAC: tp.ChallengeMAC, TTL: tp.ExpiresAt.Unix(),
	})
	if err != nil {
		return nil, fmt.Errorf("marshal temporary password: %w", err)
	}
	return &types.Put{TableName: &s.table, Item: item}, nil
}

// PutTempPassword stores a temporary password for a user, replacing any
// earlier one. The user's current password keeps working (forgot-password:
// a stranger cannot lock someone out by asking for resets).
func (s *Store) PutTempPassword(ctx context.Context, tid, uid string, tp latchkey.TempPassword) error {
	put, err := s.tempPWPut(tid, uid, tp)
	if err != nil {
		return err
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item})
	if err != nil {
		return fmt.Errorf("put temporary password: %w", err)
	}
	return nil
}

// ResetPassword replaces a user's password at once with a temporary one: the
// current password is removed, existing sessions and challenges end (the
// session version increases) and tp is stored, in one transaction, provided
// the session version is still expectedVersion. It returns ENotFound or
// EConflict (the user changed meanwhile).
func (s *Store) ResetPassword(ctx context.Context, tid, uid string, expectedVersion int, tp latchkey.TempPassword) error {
	put, err := s.tempPWPut(tid, uid, tp)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:          aws.String("REMOVE passwordHash ADD sessionVersion :one"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND sessionVersion = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":v": num(int64(expectedVersion))},
		}},
		{Put: put},
	})
	if r := cancelReasons(err); len(r) > 0 && r[0] == "ConditionalCheckFailed" {
		return s.userOrConflict(ctx, tid, uid, "The user changed meanwhile. Try again.")
	}
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return nil
}

// UndoReset reverses ResetPassword when its e-mail could not be sent: the
// previous password hash (none when oldHash is "") and session version come
// back, and the temporary password created at tp.CreatedAt goes, replaced
// by prev, the one pending before the reset, when there was one; provided
// nothing changed since (the session version is still expectedVersion+1).
// It returns EConflict when something did.
func (s *Store) UndoReset(ctx context.Context, tid, uid string, expectedVersion int, oldHash string, tp latchkey.TempPassword, prev *latchkey.TempPassword) error {
	created, err := attributevalue.Marshal(tp.CreatedAt)
	if err != nil {
		return fmt.Errorf("marshal created: %w", err)
	}
	upd := &types.Update{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:    aws.String("SET sessionVersion = :v"),
		ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :after AND attribute_not_exists(passwordHash)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v": num(int64(expectedVersion)), ":after": num(int64(expectedVersion + 1)),
		},
	}
	if oldHash != "" {
		upd.UpdateExpression = aws.String("SET sessionVersion = :v, passwordHash = :h")
		upd.ExpressionAttributeValues[":h"] = str(oldHash)
	}
	ours := map[string]types.AttributeValue{":c": created}
	temp := types.TransactWriteItem{Delete: &types.Delete{
		TableName: &s.table, Key: key(userKey(tid, uid), skTempPW),
		ConditionExpression: aws.String("createdAt = :c"), ExpressionAttributeValues: ours,
	}}
	if prev != nil {
		put, err := s.tempPWPut(tid, uid, *prev)
		if err != nil {
			return err
		}
		put.ConditionExpression, put.ExpressionAttributeValues = aws.String("createdAt = :c"), ours
		temp = types.TransactWriteItem{Put: put}
	}
	err = s.transact(ctx, []types.TransactWriteItem{{Update: upd}, temp})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.EConflict, "The user changed meanwhile; the reset was not undone.")
	}
	if err != nil {
		return fmt.Errorf("undo reset: %w", err)
	}
	return nil
}

// challengeItem is a CHALLENGE item, keyed by the MAC of its session token.
type challengeItem struct {
	PK, SK         string
	UserID         string    `dynamodbav:"userId"`
	ExpiresAt      time.Time `dynamodbav:"expiresAt"`
	SessionVersion int       `dynamodbav:"sessionVersion"`
	UsernameKey    string    `dynamodbav:"usernameKey"`
	TTL            int64     `dynamodbav:"ttl"`
}

// GetChallenge returns a challenge by the MAC of its token. It returns
// EInvalidSession when there is none or it has expired.
func (s *Store) GetChallenge(ctx context.Context, tid, mac string) (*latchkey.Challenge, error) {
	var it challengeItem
	ok, err := s.get(ctx, challengeKey(tid, mac), skChallenge, &it)
	if err != nil {
		return nil, fmt.Errorf("get challenge: %w", err)
	}
	if !ok || !s.now().Before(it.ExpiresAt) {
		return nil, latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
	}
	return &latchkey.Challenge{MAC: mac, UserID: it.UserID, ExpiresAt: it.ExpiresAt, SessionVersion: it.SessionVersion, UsernameKey: it.UsernameKey}, nil
}

// CompleteChallenge consumes a challenge and sets the user's new password in
// one transaction, which holds only if the challenge still exists and has
// not expired, the user's session version is still the challenge's and the
// user is not locked, and the user's temporary password still names this
// challenge. It sets the password hash, raises the session version, deletes
// the temporary password and ends the username's lockout. Of concurrent
// completions of one challenge exactly one succeeds; the others, and every
// completion after a lock, reset, password change or newer temporary
// password, get EInvalidSession. The user's sign-in time and the audit
// event are written in the same transaction, and the user's first
// self-serve use (registration status accessed_self_serve). It returns the
// new session version.
func (s *Store) CompleteChallenge(ctx context.Context, tid string, c *latchkey.Challenge, newHash string, audit latchkey.AuditEvent) (int, error) {
	now := s.now()
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return 0, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(challengeKey(tid, c.MAC), skChallenge),
			ConditionExpression:       aws.String("attribute_exists(PK) AND #ttl > :now"),
			ExpressionAttributeNames:  map[string]string{"#ttl": schema.AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, c.UserID), skUser),
			UpdateExpression:    aws.String("SET passwordHash = :h, passwordChangedAt = :t, lastLoginAt = :t, " + accessedSelfServe + " ADD sessionVersion :one"),
			ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :v AND attribute_not_exists(lockedAt)"),
			ExpressionAttributeValues: accessedValues(tid, map[string]types.AttributeValue{
				":h": str(newHash), ":t": timeAV(now), ":one": num(1),
				":v": num(int64(c.SessionVersion)),
			}),
		}},
		{Delete: &types.Delete{
			TableName: &s.table, Key: key(userKey(tid, c.UserID), skTempPW),
			ConditionExpression:       aws.String("challengeMac = :mac"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":mac": str(c.MAC)},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: loginStateKey(tid, c.UsernameKey)}},
		{Put: put},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return 0, latchkey.Errorf(latchkey.EInvalidSession, "The session is invalid or has expired. Sign in again.")
	}
	if err != nil {
		return 0, fmt.Errorf("complete challenge: %w", err)
	}
	return c.SessionVersion + 1, nil
}

// ChangePassword sets a user's new password if the user's session version is
// still expectedVersion (so a concurrent reset wins), raises the session
// version (ending other sessions) and deletes any temporary password. It
// returns EConflict when the version moved.
func (s *Store) ChangePassword(ctx context.Context, tid, uid string, expectedVersion int, newHash string) error {
	now := s.now()
	err := s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(userKey(tid, uid), skUser),
			UpdateExpression:    aws.String("SET passwordHash = :h, passwordChangedAt = :t ADD sessionVersion :one"),
			ConditionExpression: aws.String("attribute_exists(PK) AND sessionVersion = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":h": str(newHash), ":t": timeAV(now), ":one": num(1), ":v": num(int64(expectedVersion)),
			},
		}},
		{Delete: &types.Delete{TableName: &s.table, Key: key(userKey(tid, uid), skTempPW)}},
	})
	if r := cancelReasons(err); len(r) > 0 {
		return latchkey.Errorf(latchkey.EConflict, "The password was changed meanwhile. Sign in again.")
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}
