package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// ExpiryShards is how many GSI3 partitions hold a tenant's users whose
// password expires on one day: a user is in shard fnv32a(user id) mod
// ExpiryShards, so a tenant whose users mostly expire on the same day (a
// bulk import) spreads them over ExpiryShards partitions instead of one hot
// one. The notifier Queries every shard of each day it needs.
const ExpiryShards = 8

// NoticeRetention is how long a notice record is kept after its day
// (its TTL), so an admin sees more than a year of notices.
const NoticeRetention = 400 * 24 * time.Hour

// NoticeClaimTimeout is how long a claim that recorded no send holds: a run
// that claimed a notice and then died (a timeout, a crash) leaves such a
// claim, which a later run may take over after this time.
const NoticeClaimTimeout = 15 * time.Minute

// expiryShard is the GSI3 shard of user uid.
func expiryShard(uid string) int {
	h := fnv.New32a()
	h.Write([]byte(uid))
	return int(h.Sum32() % ExpiryShards)
}

// expiryIndexKey is the GSI3 partition of tenant tid's users whose password
// expires on date (YYYY-MM-DD), in shard.
func expiryIndexKey(tid, date string, shard int) string {
	return "TENANT#" + tid + "#EXPIRES#" + date + "#" + strconv.Itoa(shard)
}

// expiryKeyOf is u's GSI3PK, "" (not in the index) without an expiry date.
func expiryKeyOf(u latchkey.User) string {
	if u.PasswordExpiresOn == "" {
		return ""
	}
	return expiryIndexKey(u.TenantID, u.PasswordExpiresOn, expiryShard(u.ID))
}

// expirySortOf is u's GSI3SK: its id, "" without an expiry date.
func expirySortOf(u latchkey.User) string {
	if u.PasswordExpiresOn == "" {
		return ""
	}
	return u.ID
}

// UsersExpiringOn returns tenant tid's users whose password expires on date
// (YYYY-MM-DD): one Query per shard of GSI3 (more only when a shard's
// users span pages), so its reads grow with the users due, never with all
// users. The index is eventually consistent: a date changed in the last
// second may be missed or seen twice.
func (s *Store) UsersExpiringOn(ctx context.Context, tid, date string) ([]latchkey.User, error) {
	var out []latchkey.User
	for shard := range ExpiryShards {
		p := dynamodb.NewQueryPaginator(s.api, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String(schema.IndexGSI3),
			KeyConditionExpression:    aws.String("GSI3PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(expiryIndexKey(tid, date, shard))},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query expiring users: %w", err)
			}
			for _, raw := range page.Items {
				var it userItem
				if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
					return nil, fmt.Errorf("unmarshal user: %w", err)
				}
				if it.User.TenantID == tid && it.User.PasswordExpiresOn == date {
					out = append(out, it.User)
				}
			}
		}
	}
	return out, nil
}

// noticeKey is the partition of user uid's notices.
func noticeKey(tid, uid string) string { return "TENANT#" + tid + "#NOTICE#" + uid }

// noticeItem is a NOTICE item: the claim of one notice and, once sent, the
// record of its sends.
type noticeItem struct {
	PK, SK string
	latchkey.Notice
	// ClaimedEpoch is ClaimedAt in epoch seconds, which the claim's
	// condition compares.
	ClaimedEpoch int64 `dynamodbav:"claimedEpoch"`
	TTL          int64 `dynamodbav:"ttl"`
}

// noticeSort is a notice's sort key: its day and kind, and its Ref when it
// has one ("2026-11-02#ACCOUNT_LOCKED#<audit sort key>"), so the claim is
// per day and kind, or per lock.
func noticeSort(n latchkey.Notice) string { return n.Key() }

// ClaimNotice claims notice n (its tenant, user, date and kind) before it is
// sent: a PutItem whose condition holds only when there is no such notice,
// or when there is only a claim older than NoticeClaimTimeout that recorded
// no send (a run that died). It reports whether this caller holds the
// claim; false means another run has it or has sent it.
func (s *Store) ClaimNotice(ctx context.Context, n latchkey.Notice) (bool, error) {
	day, err := time.Parse(time.DateOnly, n.Date)
	if err != nil {
		return false, fmt.Errorf("notice date %q: %w", n.Date, err)
	}
	n.SentAt, n.Sends = nil, nil
	item, err := s.marshal(noticeItem{
		PK: noticeKey(n.TenantID, n.UserID), SK: noticeSort(n), Notice: n,
		ClaimedEpoch: n.ClaimedAt.Unix(), TTL: day.Add(NoticeRetention).Unix(),
	})
	if err != nil {
		return false, fmt.Errorf("marshal notice: %w", err)
	}
	_, err = s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(PK) OR (attribute_not_exists(sentAt) AND claimedEpoch < :stale)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":stale": num(n.ClaimedAt.Add(-NoticeClaimTimeout).Unix()),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim notice: %w", err)
	}
	return true, nil
}

// RecordNotice records notice n's sends and SentAt on its claim. It returns
// ENotFound when the claim is gone.
func (s *Store) RecordNotice(ctx context.Context, n latchkey.Notice) error {
	sends, err := attributevalue.Marshal(n.Sends)
	if err != nil {
		return fmt.Errorf("marshal sends: %w", err)
	}
	at, err := attributevalue.Marshal(n.SentAt)
	if err != nil {
		return fmt.Errorf("marshal sentAt: %w", err)
	}
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(noticeKey(n.TenantID, n.UserID), noticeSort(n)),
		UpdateExpression:          aws.String("SET sends = :s, sentAt = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": sends, ":t": at},
	})
	if isConditionFailed(err) {
		return latchkey.Errorf(latchkey.ENotFound, "Notice not found.")
	}
	if err != nil {
		return fmt.Errorf("record notice: %w", err)
	}
	return nil
}

// ReleaseNotice deletes notice n's claim when it is still the one n made
// and recorded no send, so that the next run sends it again.
func (s *Store) ReleaseNotice(ctx context.Context, n latchkey.Notice) error {
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key(noticeKey(n.TenantID, n.UserID), noticeSort(n)),
		ConditionExpression:       aws.String("attribute_not_exists(sentAt) AND claimedEpoch = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": num(n.ClaimedAt.Unix())},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release notice: %w", err)
	}
	return nil
}

// ListNotices returns up to limit of user uid's notices, newest day first:
// one Query of the user's notice partition, strongly consistent. Claims
// that recorded no send yet are left out.
func (s *Store) ListNotices(ctx context.Context, tid, uid string, limit int) ([]latchkey.Notice, error) {
	out, err := s.api.Query(ctx, &dynamodb.QueryInput{
		TableName: &s.table, ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(noticeKey(tid, uid))},
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, fmt.Errorf("query notices: %w", err)
	}
	notices := []latchkey.Notice{}
	for _, raw := range out.Items {
		var it noticeItem
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return nil, fmt.Errorf("unmarshal notice: %w", err)
		}
		if it.SentAt != nil {
			notices = append(notices, it.Notice)
		}
	}
	return notices, nil
}

// SetNoticeResult sets to result the result of the send on channel with
// message id id of user uid's notice whose sort key is key
// (latchkey.Notice.Key), when that send's result is one of from. It reads
// the notice once and updates it conditioned on the send still having
// that message id and one of those results, so a redelivered event, or
// one for another message, changes nothing. found reports whether the
// notice has such a send whose result is now result; changed whether this
// call set it.
func (s *Store) SetNoticeResult(ctx context.Context, tid, uid, key, channel, id, result string, from []string) (found, changed bool, err error) {
	k := map[string]types.AttributeValue{"PK": str(noticeKey(tid, uid)), "SK": str(key)}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, false, fmt.Errorf("get notice: %w", err)
	}
	if out.Item == nil || id == "" {
		return false, false, nil
	}
	var it noticeItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return false, false, fmt.Errorf("unmarshal notice: %w", err)
	}
	i := slices.IndexFunc(it.Sends, func(x latchkey.NoticeSend) bool { return x.Channel == channel && x.MessageID == id })
	switch {
	case i < 0:
		return false, false, nil
	case it.Sends[i].Result == result:
		return true, false, nil
	case !slices.Contains(from, it.Sends[i].Result):
		return false, false, nil
	}
	values := map[string]types.AttributeValue{":id": str(id), ":r": str(result)}
	in := make([]string, len(from))
	for j, f := range from {
		in[j] = fmt.Sprintf(":f%d", j)
		values[in[j]] = str(f)
	}
	send := fmt.Sprintf("sends[%d]", i)
	_, err = s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: k,
		UpdateExpression:          aws.String("SET " + send + ".#r = :r"),
		ConditionExpression:       aws.String(send + ".messageId = :id AND " + send + ".#r IN (" + strings.Join(in, ", ") + ")"),
		ExpressionAttributeNames:  map[string]string{"#r": "result"},
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		// A concurrent event changed it first: read it again next time.
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("set notice result: %w", err)
	}
	return true, true, nil
}

// MarkEmail marks user uid's e-mail address as bounced (permanently) or,
// when complaint, as complained about, at at: only while the user's
// address is still email (an address changed since is not marked) and
// not marked so already. It reports whether it marked it.
func (s *Store) MarkEmail(ctx context.Context, tid, uid, email string, complaint bool, at time.Time) (bool, error) {
	attr := "emailBouncedAt"
	if complaint {
		attr = "emailComplainedAt"
	}
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key(userKey(tid, uid), skUser),
		UpdateExpression:          aws.String("SET #m = :t"),
		ConditionExpression:       aws.String("attribute_exists(PK) AND email = :e AND attribute_not_exists(#m)"),
		ExpressionAttributeNames:  map[string]string{"#m": attr},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": timeAV(at), ":e": str(email)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark e-mail: %w", err)
	}
	return true, nil
}
