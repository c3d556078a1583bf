package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// StreamPoller stands in locally for Lambda's event source on the table's
// stream: it reads DynamoDB Local's stream of the table and hands each
// batch of records to Handle in process (the lock notifier's handler), as
// Lambda would. A batch whose Handle fails is handed again on the next poll
// (the shard's position does not move), as Lambda retries it. It does not
// filter: the handler skips what is not for it.
type StreamPoller struct {
	DB      *dynamodb.Client
	Streams *dynamodbstreams.Client
	Table   string
	Handle  func(ctx context.Context, ev events.DynamoDBEvent) error
	Logger  *slog.Logger

	// iterators are the next position in each open shard.
	iterators map[string]*string
}

// Run polls every interval until ctx ends, from the stream's end when it
// starts (what was written before is not handed again).
func (p *StreamPoller) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.Logger.WarnContext(ctx, "stream poll failed", "table", p.Table, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the records written since the last poll (none on the first,
// which takes the position of each shard at its end) and hands them to
// Handle. It returns how many it handed.
func (p *StreamPoller) Poll(ctx context.Context) (int, error) {
	first := p.iterators == nil
	if first {
		p.iterators = map[string]*string{}
	}
	desc, err := p.DB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &p.Table})
	if err != nil {
		return 0, fmt.Errorf("describe table: %w", err)
	}
	arn := desc.Table.LatestStreamArn
	if arn == nil {
		return 0, errors.New("the table has no stream")
	}
	sd, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		return 0, fmt.Errorf("describe stream: %w", err)
	}
	for _, sh := range sd.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, ok := p.iterators[id]; ok {
			continue
		}
		// A shard found after the first poll is new: read it whole.
		typ := types.ShardIteratorTypeTrimHorizon
		if first {
			typ = types.ShardIteratorTypeLatest
		}
		it, err := p.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: typ})
		if err != nil {
			return 0, fmt.Errorf("shard iterator: %w", err)
		}
		p.iterators[id] = it.ShardIterator
	}
	handed := 0
	for id, it := range p.iterators {
		if it == nil {
			continue // a closed shard, read to its end
		}
		out, err := p.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
		if err != nil {
			return handed, fmt.Errorf("get records: %w", err)
		}
		if len(out.Records) > 0 {
			ev := events.DynamoDBEvent{}
			for _, r := range out.Records {
				rec, err := streamRecord(r)
				if err != nil {
					return handed, err
				}
				ev.Records = append(ev.Records, rec)
			}
			if err := p.Handle(ctx, ev); err != nil {
				return handed, err // the shard stays where it was: handed again next time
			}
			handed += len(out.Records)
		}
		p.iterators[id] = out.NextShardIterator
	}
	return handed, nil
}

// streamRecord is r as Lambda delivers it.
func streamRecord(r types.Record) (events.DynamoDBEventRecord, error) {
	out := events.DynamoDBEventRecord{EventName: string(r.EventName), EventSource: aws.ToString(r.EventSource),
		EventID: aws.ToString(r.EventID), AWSRegion: aws.ToString(r.AwsRegion)}
	if d := r.Dynamodb; d != nil {
		out.Change = events.DynamoDBStreamRecord{SequenceNumber: aws.ToString(d.SequenceNumber), StreamViewType: string(d.StreamViewType)}
		for _, img := range []struct {
			from map[string]types.AttributeValue
			to   *map[string]events.DynamoDBAttributeValue
		}{{d.Keys, &out.Change.Keys}, {d.NewImage, &out.Change.NewImage}, {d.OldImage, &out.Change.OldImage}} {
			if img.from == nil {
				continue
			}
			item, err := attributevalue.FromDynamoDBStreamsMap(img.from)
			if err != nil {
				return out, fmt.Errorf("stream record %s: %w", out.EventID, err)
			}
			*img.to = StreamImage(item)
		}
	}
	return out, nil
}

// StreamImage is a table item as a stream record delivered by Lambda
// carries it (its Keys, NewImage or OldImage).
func StreamImage(item map[string]ddbtypes.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := make(map[string]events.DynamoDBAttributeValue, len(item))
	for k, v := range item {
		out[k] = streamValue(v)
	}
	return out
}

func streamValue(v ddbtypes.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *ddbtypes.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, x := range v.Value {
			l[i] = streamValue(x)
		}
		return events.NewListAttribute(l)
	case *ddbtypes.AttributeValueMemberM:
		return events.NewMapAttribute(StreamImage(v.Value))
	}
	return events.NewNullAttribute()
}

// NewStreamsClientFrom is a DynamoDB Streams client of cfg at endpoint
// (DynamoDB Local's, which serves both APIs).
func NewStreamsClientFrom(cfg aws.Config, endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.NewFromConfig(cfg, func(o *dynamodbstreams.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}
