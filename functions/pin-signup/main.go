// Command pin-signup is the Lambda function serving the routes that shared/routes
// assigns to "pin-signup". Configuration is read and clients are built once, at
// cold start; a missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/routes"
)

func main() {
	h, err := app.Main(context.Background(), routes.FnPINSignup)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h)
}
