// Command hello is the reference of the cold-start harness (cmd/coldstart):
// the smallest aws-lambda-go function behind an HTTP API, answering 200
// "hello" to every payload-2.0 event. Each Latchkey function's init time and
// memory are compared with this one's.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
