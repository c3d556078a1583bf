package system

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// tokenPlaceholder stands in sample events for a bearer token of a user:
// ${TOKEN:<tenant>/<username>}. Tokens expire within the hour and are signed
// with each installation's own key, so sample events cannot hold real ones.
var tokenPlaceholder = regexp.MustCompile(`\$\{TOKEN:([a-z0-9-]+)/([^}]+)\}`)

// userIDPlaceholder stands in sample events for the id of a user:
// ${USERID:<tenant>/<username>}. User ids are random, so sample events
// name the user instead.
var userIDPlaceholder = regexp.MustCompile(`\$\{USERID:([a-z0-9-]+)/([^}]+)\}`)

// PrepareEvent parses a payload-2.0 sample event after FillPlaceholders.
func (d *Deps) PrepareEvent(ctx context.Context, raw []byte) (events.APIGatewayV2HTTPRequest, error) {
	raw, err := d.FillPlaceholders(ctx, raw)
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, fmt.Errorf("parse event: %w", err)
	}
	return ev, nil
}

// FillPlaceholders replaces, in a sample event of any kind, every token
// placeholder by a fresh token of that user and every user-id placeholder
// by that user's id (in the path, the path parameters, the body or a
// stream record's image alike). It fails when a placeholder names a user
// that does not exist.
func (d *Deps) FillPlaceholders(ctx context.Context, raw []byte) ([]byte, error) {
	var firstErr error
	replace := func(re *regexp.Regexp, value func(u *latchkey.User) (string, error)) {
		raw = re.ReplaceAllFunc(raw, func(m []byte) []byte {
			sub := re.FindSubmatch(m)
			u, err := d.Store.GetUserByUsername(ctx, string(sub[1]), string(sub[2]))
			if err == nil {
				var v string
				if v, err = value(u); err == nil {
					return []byte(v)
				}
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("placeholder %s: %w", m, err)
			}
			return m
		})
	}
	replace(tokenPlaceholder, func(u *latchkey.User) (string, error) {
		tok, _, err := d.Tokens.Issue(u.TenantID, u.ID, u.Roles, u.SessionVersion)
		return tok, err
	})
	replace(userIDPlaceholder, func(u *latchkey.User) (string, error) { return u.ID, nil })
	return raw, firstErr
}

// Invoke sends a sample event through the named function's handler.
func (d *Deps) Invoke(ctx context.Context, function string, raw []byte) (events.APIGatewayV2HTTPResponse, error) {
	ev, err := d.PrepareEvent(ctx, raw)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	srv, err := d.Server(function)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return srv.Handle(ctx, ev)
}

// InvokeScheduled sends an EventBridge scheduled event (such as
// events/scheduled.daily.json) through the expiry notifier's handler. When
// at is not zero it replaces the event's time, so that a local run acts as
// any date and hour (make invoke … AT=2026-12-01T09:00:00Z).
func (d *Deps) InvokeScheduled(ctx context.Context, raw []byte, at time.Time) (expiry.Report, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return expiry.Report{}, fmt.Errorf("parse scheduled event: %w", err)
	}
	if ev.DetailType != "Scheduled Event" {
		return expiry.Report{}, fmt.Errorf("parse scheduled event: detail-type %q, want \"Scheduled Event\"", ev.DetailType)
	}
	if !at.IsZero() {
		ev.Time = at
	}
	return d.Expiry.HandleScheduled(ctx, ev)
}

// InvokeDeliveryEvent sends an EventBridge SES event (such as
// events/delivery-events.bounce.json) through the delivery-events
// function's handler: locally SES sends no events, so this is how one is
// tried (make invoke FN=delivery-events EVENT=…).
func (d *Deps) InvokeDeliveryEvent(ctx context.Context, raw []byte) (expiry.DeliveryReport, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return expiry.DeliveryReport{}, fmt.Errorf("parse SES event: %w", err)
	}
	return d.Expiry.HandleDeliveryEvent(ctx, ev)
}

// InvokeStream sends a table-stream sample event (such as
// events/lock-notifier.stream.json), its placeholders filled, through the
// lock notifier: locally `make run` feeds it from DynamoDB Local's stream,
// and this is how one batch is tried on its own (make invoke
// FN=lock-notifier EVENT=…).
func (d *Deps) InvokeStream(ctx context.Context, raw []byte) (expiry.Report, error) {
	raw, err := d.FillPlaceholders(ctx, raw)
	if err != nil {
		return expiry.Report{}, err
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return expiry.Report{}, fmt.Errorf("parse stream event: %w", err)
	}
	return d.Expiry.NotifyLocks(ctx, ev.Records)
}
