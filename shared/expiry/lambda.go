package expiry

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// HandleScheduled is the notifier's Lambda handler: it runs for the
// scheduled event's time (its "time" field), so a late or replayed delivery
// acts for the hour it was scheduled for; an event without a time acts for
// now.
func (s *Service) HandleScheduled(ctx context.Context, ev events.CloudWatchEvent) (Report, error) {
	at := ev.Time
	if at.IsZero() {
		at = s.now()
	}
	return s.Run(ctx, at.Truncate(time.Minute))
}
