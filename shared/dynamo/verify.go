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
)

// Verification of an account's caller: by its security PIN (the counters on
// the ACCOUNT item) or by a one-time code (the VCODE item in the account's
// partition, so that a Query reads both and a transaction writes both).

const skVCode = "VCODE"

// vcodeItem is an account's VCODE item. exp (the code's expiry, Unix
// seconds) is what the attempt condition compares; the TTL outlives it by
// the counters' memory.
type vcodeItem struct {
	PK, SK string
	latchkey.VerificationCode
	Exp int64 `dynamodbav:"exp"`
	TTL int64 `dynamodbav:"ttl"`
}

func errCodeGone() error {
	return latchkey.Errorf(latchkey.ECodeGone, "There is no valid verification code: it was used, replaced, ran out of attempts or expired. Send a new one.")
}

// TakePINAttempt takes one security-PIN attempt slot of account id of
// tenant tid, with one conditional UpdateItem before the PIN is compared:
// the account must have a PIN, not be locked, and have fewer than
// MaxPINVerifyFailures failures, which the slot raises by one. So parallel
// guesses never get more comparisons than the limit. It returns the account
// as updated (VerifyFailures is this slot's number), or ENotFound,
// EPINNotSet or EPINVerificationLocked, read from the record the failed
// condition returns.
func (s *Store) TakePINAttempt(ctx context.Context, tid, id string) (*latchkey.Account, error) {
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(accountKey(tid, id), skAccount),
		UpdateExpression: aws.String("SET verifyFailures = if_not_exists(verifyFailures, :zero) + :one"),
		ConditionExpression: aws.String("attribute_exists(PK) AND attribute_exists(pinMac) AND attribute_not_exists(verifyLockedAt) " +
			"AND (attribute_not_exists(verifyFailures) OR verifyFailures < :max)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":zero": num(0), ":one": num(1), ":max": num(latchkey.MaxPINVerifyFailures),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		var it accountItem
		if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
			return nil, fmt.Errorf("unmarshal account: %w", err)
		}
		return &it.Account, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return nil, fmt.Errorf("take pin attempt: %w", err)
	}
	var it accountItem
	if ccf.Item != nil {
		if err := attributevalue.UnmarshalMap(ccf.Item, &it); err != nil {
			return nil, fmt.Errorf("unmarshal account: %w", err)
		}
	}
	switch {
	case ccf.Item == nil || it.TenantID != tid:
		return nil, latchkey.Errorf(latchkey.ENotFound, "Account not found.")
	case it.PINMAC == "":
		return nil, latchkey.Errorf(latchkey.EPINNotSet, "The account has no security PIN yet. Send a set-up link first.")
	default:
		return nil, latchkey.ErrPINVerificationLocked()
	}
}

// PINVerified records a right security PIN on account a (as returned by
// TakePINAttempt, so a.VerifyFailures is the slot taken), with audit, in one
// transaction: the verification and, when nobody took a slot after this
// one, the failure count back to 0 (consecutive failures end with a right
// PIN); otherwise only this slot is given back (sent again), so parallel
// wrong guesses keep theirs. The PIN must still be the one compared (a
// reset meanwhile returns EConflict) and the account not locked.
func (s *Store) PINVerified(ctx context.Context, a *latchkey.Account, v latchkey.Verification, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	values := map[string]types.AttributeValue{
		":until": timeAV(v.Until), ":by": str(v.By), ":m": str(v.Method), ":pin": str(a.PINMAC),
		":slot": num(int64(a.VerifyFailures)), ":zero": num(0),
	}
	update := func(expr, cond string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: key(accountKey(a.TenantID, a.ID), skAccount),
			UpdateExpression:          aws.String(expr),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: values,
		}}
	}
	base := "attribute_exists(PK) AND pinMac = :pin AND attribute_not_exists(verifyLockedAt)"
	set := "SET verifiedUntil = :until, verifiedBy = :by, verifiedMethod = :m, "
	err = s.transact(ctx, []types.TransactWriteItem{
		update(set+"verifyFailures = :zero", base+" AND verifyFailures = :slot"), {Put: put},
	})
	if len(cancelReasons(err)) > 0 {
		values[":one"] = num(1)
		err = s.transact(ctx, []types.TransactWriteItem{
			update(set+"verifyFailures = verifyFailures - :one", base+" AND verifyFailures >= :one"), {Put: put},
		})
		if len(cancelReasons(err)) > 0 {
			return latchkey.Errorf(latchkey.EConflict, "The account's security PIN changed meanwhile. Ask again.")
		}
	}
	if err != nil {
		return fmt.Errorf("record pin verification: %w", err)
	}
	return nil
}

// LockPINVerification marks PIN verification of account id locked (the
// slot that reached the limit was a wrong PIN), with the audit events, in
// one transaction. The failure count already locks it; the mark records
// when, for the status and the trail.
func (s *Store) LockPINVerification(ctx context.Context, tid, id string, now time.Time, audits ...latchkey.AuditEvent) error {
	items := []types.TransactWriteItem{{Update: &types.Update{
		TableName: &s.table, Key: key(accountKey(tid, id), skAccount),
		UpdateExpression:          aws.String("SET verifyLockedAt = if_not_exists(verifyLockedAt, :now)"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": timeAV(now)},
	}}}
	for _, e := range audits {
		put, err := s.auditPut(ctx, e)
		if err != nil {
			return err
		}
		items = append(items, types.TransactWriteItem{Put: put})
	}
	if err := s.transact(ctx, items); err != nil {
		return fmt.Errorf("lock pin verification: %w", err)
	}
	return nil
}

// GetAccountWithCode returns account id of tenant tid and its verification
// code record (nil when it has none), in one Query of the account's
// partition. It returns ENotFound.
func (s *Store) GetAccountWithCode(ctx context.Context, tid, id string) (*latchkey.Account, *latchkey.VerificationCode, error) {
	items, err := s.partition(ctx, accountKey(tid, id))
	if err != nil {
		return nil, nil, fmt.Errorf("query account: %w", err)
	}
	var a *latchkey.Account
	var c *latchkey.VerificationCode
	if raw, ok := items[skAccount]; ok {
		var it accountItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, nil, fmt.Errorf("unmarshal account: %w", err)
		}
		if it.TenantID == tid {
			a = &it.Account
		}
	}
	if raw, ok := items[skVCode]; ok {
		var it vcodeItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, nil, fmt.Errorf("unmarshal verification code: %w", err)
		}
		c = &it.VerificationCode
	}
	if a == nil {
		return nil, nil, latchkey.Errorf(latchkey.ENotFound, "Account not found.")
	}
	return a, c, nil
}

// PutVerificationCode stores code c with MAC mac (in c.MAC) as the account's
// one live code, replacing prev (the record read with the account, nil for
// none) only if nobody replaced it meanwhile: of concurrent sends one wins
// and the others get EConflict. The item lives (TTL) while its counters
// matter: CodeFailureMemory past the expiry, or the end of the hour's
// window.
func (s *Store) PutVerificationCode(ctx context.Context, c latchkey.VerificationCode, prev *latchkey.VerificationCode) error {
	ttl := c.ExpiresAt.Add(latchkey.CodeFailureMemory)
	if w := c.WindowStart.Add(time.Hour); w.After(ttl) {
		ttl = w
	}
	item, err := s.marshal(vcodeItem{
		PK: accountKey(c.TenantID, c.AccountID), SK: skVCode, VerificationCode: c,
		Exp: c.ExpiresAt.Unix(), TTL: ttl.Unix(),
	})
	if err != nil {
		return fmt.Errorf("marshal verification code: %w", err)
	}
	in := &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}
	if prev != nil {
		in.ConditionExpression = aws.String("sentAt = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prev": timeAV(prev.SentAt)}
	}
	if _, err := s.api.PutItem(ctx, in); err != nil {
		if isConditionFailed(err) {
			return latchkey.Errorf(latchkey.EConflict, "Another code was sent for this account meanwhile.")
		}
		return fmt.Errorf("put verification code: %w", err)
	}
	return nil
}

// TakeCodeAttempt takes one attempt slot of account id's live code at now,
// with one conditional UpdateItem before the code is compared: a code must
// be live (not used, not expired at now, whatever the TTL has not yet
// deleted) with fewer than MaxCodeAttempts failures, which the slot raises
// by one. It returns the record as updated (Failures counts this slot), or
// ECodeGone.
func (s *Store) TakeCodeAttempt(ctx context.Context, tid, id string, now time.Time) (*latchkey.VerificationCode, error) {
	res, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(accountKey(tid, id), skVCode),
		UpdateExpression:    aws.String("SET failures = failures + :one, lastFailedAt = :at"),
		ConditionExpression: aws.String("attribute_exists(codeMac) AND exp > :now AND failures < :max"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":at": timeAV(now), ":now": num(now.Unix()), ":max": num(latchkey.MaxCodeAttempts),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return nil, errCodeGone()
	}
	if err != nil {
		return nil, fmt.Errorf("take code attempt: %w", err)
	}
	var it vcodeItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &it); err != nil {
		return nil, fmt.Errorf("unmarshal verification code: %w", err)
	}
	if it.TenantID != tid {
		return nil, errCodeGone()
	}
	return &it.VerificationCode, nil
}

// CodeVerified uses account c.AccountID's code (MAC c.MAC) and records the
// verification, with audit, in one transaction: the code is removed from
// its record (which keeps the hour's send count) and its failures end, on
// condition that it is still the live code, so of concurrent uses of one
// right code exactly one succeeds; the others get ECodeGone.
func (s *Store) CodeVerified(ctx context.Context, c *latchkey.VerificationCode, v latchkey.Verification, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: key(accountKey(c.TenantID, c.AccountID), skVCode),
			UpdateExpression:          aws.String("SET failures = :zero REMOVE codeMac, lastFailedAt"),
			ConditionExpression:       aws.String("codeMac = :mac"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":zero": num(0), ":mac": str(c.MAC)},
		}},
		{Update: &types.Update{
			TableName: &s.table, Key: key(accountKey(c.TenantID, c.AccountID), skAccount),
			UpdateExpression:    aws.String("SET verifiedUntil = :until, verifiedBy = :by, verifiedMethod = :m"),
			ConditionExpression: aws.String("attribute_exists(PK)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":until": timeAV(v.Until), ":by": str(v.By), ":m": str(v.Method),
			},
		}},
		{Put: put},
	})
	if len(cancelReasons(err)) > 0 {
		return errCodeGone()
	}
	if err != nil {
		return fmt.Errorf("use verification code: %w", err)
	}
	return nil
}
