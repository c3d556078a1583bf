package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// A single-use link (a security-PIN link, a welcome link) is an item keyed
// by the keyed MAC of its token, with a TTL, and named by one attribute of
// its owner item (the account's linkMac, the user's welcomeMac): the owner
// names its one valid link, so a newer link cancels the older at once, and
// using a link needs the owner to still name it.
type linkSlot struct {
	// linkKey is the key of the link item whose token has MAC mac.
	linkKey func(mac string) map[string]types.AttributeValue
	// owner is the key of the owner item, attr its attribute naming the link.
	owner map[string]types.AttributeValue
	attr  string
}

// put stores the link item (marshalled, keyed by mac) and names it on the
// owner in one transaction: the owner must exist and still name prevMAC
// (the link it named when read, "" for none), whose item is deleted. It
// reports whether the transaction was cancelled by a condition (an unknown
// owner, or another link sent meanwhile); the caller tells them apart.
func (s *Store) putLink(ctx context.Context, ls linkSlot, item map[string]types.AttributeValue, mac, prevMAC string) (cancelled bool, err error) {
	cond := "attribute_exists(PK) AND attribute_not_exists(#attr)"
	values := map[string]types.AttributeValue{":mac": str(mac)}
	if prevMAC != "" {
		cond = "attribute_exists(PK) AND #attr = :prev"
		values[":prev"] = str(prevMAC)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}},
		{Update: &types.Update{
			TableName: &s.table, Key: ls.owner,
			UpdateExpression:          aws.String("SET #attr = :mac"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeNames:  map[string]string{"#attr": ls.attr},
			ExpressionAttributeValues: values,
		}},
	}
	if prevMAC != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: ls.linkKey(prevMAC)}})
	}
	err = s.transact(ctx, items)
	if len(cancelReasons(err)) > 0 {
		return true, nil
	}
	return false, err
}

// use consumes the link whose token has MAC mac at now and applies the
// owner's update (set: the assignments after SET, remove: attributes to
// remove besides the owner's link attribute, "" for none; values: theirs),
// with audit, in one transaction: the link item
// must exist and not have expired (ttl > now) and the owner must still name
// it, so of concurrent uses exactly one succeeds. Every other use, and an
// owner gone, returns the one EGone.
func (s *Store) useLink(ctx context.Context, ls linkSlot, mac string, now time.Time, set, remove string, values map[string]types.AttributeValue, audit latchkey.AuditEvent) error {
	put, err := s.auditPut(ctx, audit)
	if err != nil {
		return err
	}
	values[":link"] = str(mac)
	if remove != "" {
		remove += ", "
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.table, Key: ls.linkKey(mac),
			ConditionExpression:       aws.String("attribute_exists(PK) AND #ttl > :now"),
			ExpressionAttributeNames:  map[string]string{"#ttl": schema.AttrTTL},
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		}},
		{Update: &types.Update{
			TableName: &s.table, Key: ls.owner,
			UpdateExpression:          aws.String("SET " + set + " REMOVE " + remove + "#attr"),
			ConditionExpression:       aws.String("attribute_exists(PK) AND #attr = :link"),
			ExpressionAttributeNames:  map[string]string{"#attr": ls.attr},
			ExpressionAttributeValues: values,
		}},
		{Put: put},
	})
	if len(cancelReasons(err)) > 0 {
		return errLinkGone()
	}
	return err
}
