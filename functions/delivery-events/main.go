// Command delivery-events is the Lambda function that EventBridge feeds
// with SES's delivery, bounce and complaint events of the notice e-mail
// (the deployment's configuration set): it updates the notice's e-mail
// send record and, on a permanent bounce or a complaint, marks the user's
// address (shared/expiry). It builds, once per cold start, exactly what
// that needs: the DynamoDB store and the expiry service. It needs no key
// and sends nothing, so it reads no secret. A missing setting stops the
// start-up with a clear message.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/httpapi"
)

func main() {
	c := config.Must(config.FromEnv())
	cfg := config.Must(config.AWS(c))
	logger := httpapi.NewLogger(os.Stdout, c.LogLevel).With("function", expiry.FnDeliveryEvents)
	store := dynamo.New(dynamo.NewClientFrom(cfg, c.DynamoEndpoint), c.TableName, time.Now)
	svc := &expiry.Service{Store: store, Now: time.Now, Logger: logger}
	lambda.Start(svc.HandleDeliveryEvent)
}
