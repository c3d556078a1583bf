package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/schema"
)

// The DynamoDB client's retries: the standard retryer makes at most
// MaxAttempts attempts with at most MaxBackoff between them (the SDK's
// default cap is 20 s), for throttling and 5xx answers. No attempt has a
// timeout of its own: a request's time is bounded by its context
// (httpapi.Server.Handle ends it ResponseMargin before the Lambda's
// deadline), and the SDK does not send again a call whose context ended,
// so a conditional write or a counter increment that DynamoDB applied but
// answered late is never applied twice (an attempt timeout would retry it:
// an attempt counted twice, a single-use write refused as used).
const (
	MaxAttempts = 3
	MaxBackoff  = 500 * time.Millisecond
)

// NewClientFrom returns a DynamoDB client on cfg, pointed at endpoint when
// it is set, with the retries above, and any further options (such as a
// CallCounter's Attach).
func NewClientFrom(cfg aws.Config, endpoint string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts, so.MaxBackoff = MaxAttempts, MaxBackoff
		})
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local's x-amz-crc32 header does not match its
			// (uncompressed) bodies; AWS's does. Validate only against AWS.
			o.DisableValidateResponseChecksum = true
		}
	}}, opts...)...)
}

// CreateTable creates table name from schema.Schema (on demand, with TTL), unless it
// exists already; an existing table gets the indexes of schema.Schema it lacks,
// and an index whose projection differs from schema.Schema's is deleted and
// created again (a local table kept across restarts, made before an index was
// added or changed: DynamoDB cannot change a projection in place). The CDK
// stack creates the deployed table from the same schema.Schema.
func CreateTable(ctx context.Context, api *dynamodb.Client, name string) error {
	desc, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err == nil {
		if err := addMissingIndexes(ctx, api, name, desc.Table); err != nil {
			return err
		}
		return enableStream(ctx, api, name, desc.Table)
	}
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return fmt.Errorf("describe table: %w", err)
	}
	attrs := map[string]bool{}
	keys := func(k schema.KeySchema) []types.KeySchemaElement {
		attrs[k.PartitionKey], attrs[k.SortKey] = true, true
		return []types.KeySchemaElement{
			{AttributeName: aws.String(k.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(k.SortKey), KeyType: types.KeyTypeRange},
		}
	}
	in := &dynamodb.CreateTableInput{
		TableName:   &name,
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keys(schema.Schema.Keys),
		// The stream feeds the lock notifier, as in the CDK stack (locally
		// through devstack.StreamPoller).
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	}
	for _, ix := range schema.Schema.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.Name), KeySchema: keys(ix.Keys),
			Projection: projection(ix.Projection),
		})
	}
	for a := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
	}
	if _, err := api.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return nil
		}
		return fmt.Errorf("create table: %w", err)
	}
	if err := dynamodb.NewTableExistsWaiter(api).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table: %w", err)
	}
	if _, err := api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(schema.Schema.TTLAttribute), Enabled: aws.Bool(true)},
	}); err != nil {
		return fmt.Errorf("enable ttl: %w", err)
	}
	return nil
}

// projection is p for the SDK.
func projection(p schema.Projection) *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionType(p.Type)}
	if p.Type == schema.ProjectInclude {
		out.NonKeyAttributes = append([]string(nil), p.NonKeyAttributes...)
	}
	return out
}

// sameProjection reports whether an existing index's projection is p.
func sameProjection(have *types.Projection, p schema.Projection) bool {
	if have == nil || string(have.ProjectionType) != string(p.Type) {
		return false
	}
	if p.Type != schema.ProjectInclude {
		return true
	}
	a, b := slices.Clone(have.NonKeyAttributes), slices.Clone(p.NonKeyAttributes)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// addMissingIndexes adds to an existing table each index of schema.Schema it
// does not have, one at a time (DynamoDB creates one index per UpdateTable),
// and waits until each is active. An index with another projection than
// schema.Schema's (a local table made before the projections were narrowed)
// is deleted first, and made again from the items: only local tables are
// made here (the CDK stack makes the deployed one), so nothing waits on the
// index meanwhile.
func addMissingIndexes(ctx context.Context, api *dynamodb.Client, name string, t *types.TableDescription) error {
	have := map[string]*types.Projection{}
	for _, ix := range t.GlobalSecondaryIndexes {
		have[aws.ToString(ix.IndexName)] = ix.Projection
	}
	for _, ix := range schema.Schema.Indexes {
		p, ok := have[ix.Name]
		if ok && sameProjection(p, ix.Projection) {
			continue
		}
		if ok {
			if err := deleteIndex(ctx, api, name, ix.Name); err != nil {
				return err
			}
		}
		_, err := api.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName: &name,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(ix.Keys.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(ix.Keys.SortKey), AttributeType: types.ScalarAttributeTypeS},
			},
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: aws.String(ix.Name),
				KeySchema: []types.KeySchemaElement{
					{AttributeName: aws.String(ix.Keys.PartitionKey), KeyType: types.KeyTypeHash},
					{AttributeName: aws.String(ix.Keys.SortKey), KeyType: types.KeyTypeRange},
				},
				Projection: projection(ix.Projection),
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s: %w", ix.Name, err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			d, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
			if err != nil {
				return fmt.Errorf("describe table: %w", err)
			}
			active := false
			for _, g := range d.Table.GlobalSecondaryIndexes {
				if aws.ToString(g.IndexName) == ix.Name && g.IndexStatus == types.IndexStatusActive {
					active = true
				}
			}
			if active {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("index %s: not active after 2 minutes", ix.Name)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// deleteIndex deletes index ix of table name and waits until it is gone.
func deleteIndex(ctx context.Context, api *dynamodb.Client, name, ix string) error {
	_, err := api.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:                   &name,
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String(ix)}}},
	})
	if err != nil {
		return fmt.Errorf("delete index %s: %w", ix, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := api.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			return fmt.Errorf("describe table: %w", err)
		}
		gone := true
		for _, g := range d.Table.GlobalSecondaryIndexes {
			if aws.ToString(g.IndexName) == ix {
				gone = false
			}
		}
		if gone {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("index %s: not deleted after 2 minutes", ix)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// enableStream turns on the stream (new images) of an existing table made
// before the table had one (a local table kept across restarts).
func enableStream(ctx context.Context, api *dynamodb.Client, name string, t *types.TableDescription) error {
	if ss := t.StreamSpecification; ss != nil && aws.ToBool(ss.StreamEnabled) {
		return nil
	}
	_, err := api.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:           &name,
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage},
	})
	if err != nil {
		return fmt.Errorf("enable stream: %w", err)
	}
	return nil
}
