package dynamo

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts the DynamoDB API calls (round trips) a client makes,
// by operation name. Attach it to a client's options; tests read it to hold
// each flow to the minimum that docs/data-model.md states.
type CallCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

// Attach adds the counting middleware to a client's options:
// dynamodb.NewFromConfig(cfg, counter.Attach).
func (c *CallCounter) Attach(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("LatchkeyCallCounter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.count(awsmiddleware.GetOperationName(ctx))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (c *CallCounter) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[op]++
}

// Reset forgets every call counted so far.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = nil
}

// Calls returns the calls counted since the last Reset, by operation, and their total.
func (c *CallCounter) Calls() (map[string]int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	total := 0
	for op, n := range c.calls {
		out[op] = n
		total += n
	}
	return out, total
}
