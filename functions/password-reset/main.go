// Command password-reset is the Lambda function serving the routes that shared/routes
// assigns to "password-reset". app.MustHandler reads the configuration and builds the
// clients once, at cold start; a missing setting stops the start-up with a
// clear message.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/routes"
)

func main() { lambda.Start(app.MustHandler(routes.FnPasswordReset)) }
