package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// maxBatchWrite is how many items one BatchWriteItem takes.
const maxBatchWrite = 25

// BulkPutUsers writes the USER items of users (at most 25) in one
// BatchWriteItem, retrying what DynamoDB leaves unprocessed, with the same
// item (and so the same index keys) as CreateUser. It writes nothing else:
// no username key, temporary password or audit event, and no condition, so
// it overwrites a user with the same id. It exists to fill a table with
// many users fast for load tests and benchmarks (cmd/expirybench);
// services create users with CreateUser.
func (s *Store) BulkPutUsers(ctx context.Context, users []latchkey.User) error {
	if len(users) > maxBatchWrite {
		return fmt.Errorf("bulk put: %d users, at most %d", len(users), maxBatchWrite)
	}
	reqs := make([]types.WriteRequest, 0, len(users))
	for _, u := range users {
		item, err := s.marshal(toUserItem(u))
		if err != nil {
			return fmt.Errorf("marshal user: %w", err)
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	wait := 50 * time.Millisecond
	for len(reqs) > 0 {
		out, err := s.api.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: reqs},
		})
		if err != nil {
			return fmt.Errorf("batch write users: %w", err)
		}
		reqs = out.UnprocessedItems[s.table]
		if len(reqs) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
	return nil
}
