package devstack

import (
	"context"
	"os"
)

// Services are the local services a command needs to run the whole system
// on one machine: DynamoDB Local, the SES emulator and the SMS outbox.
type Services struct {
	// DynamoEndpoint and SESEndpoint are where DynamoDB and SES answer.
	DynamoEndpoint, SESEndpoint string
	// Outbox is the SMS outbox, started for the caller.
	Outbox *Outbox
	stops  []func() error
}

// StartServices finds DynamoDB and SES at DYNAMODB_ENDPOINT and
// SES_ENDPOINT when they are set (the tests' services), else starts
// DynamoDB Local in memory and the SES emulator from the pinned Node tools,
// and starts an SMS outbox; progress hears what is started. Stop stops
// what it started.
func StartServices(ctx context.Context, progress func(string, ...any)) (s *Services, err error) {
	s = &Services{DynamoEndpoint: os.Getenv("DYNAMODB_ENDPOINT"), SESEndpoint: os.Getenv("SES_ENDPOINT")}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if s.DynamoEndpoint == "" || s.SESEndpoint == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		if err := EnsureNodeTools(root); err != nil {
			return nil, err
		}
		if s.DynamoEndpoint == "" {
			progress("starting DynamoDB Local (in memory)")
			p, err := StartDynamoLocal(ctx, DynamoOptions{Root: root})
			if err != nil {
				return nil, err
			}
			s.stops, s.DynamoEndpoint = append(s.stops, p.Stop), p.Endpoint()
		}
		if s.SESEndpoint == "" {
			progress("starting the SES emulator")
			p, err := StartSESLocal(ctx, SESOptions{Root: root})
			if err != nil {
				return nil, err
			}
			s.stops, s.SESEndpoint = append(s.stops, p.Stop), p.Endpoint()
		}
	}
	if s.Outbox, err = StartOutbox(ctx, OutboxOptions{}); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, s.Outbox.Stop)
	return s, nil
}

// Stop stops the services StartServices started, last first.
func (s *Services) Stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		_ = s.stops[i]()
	}
	s.stops = nil
}
