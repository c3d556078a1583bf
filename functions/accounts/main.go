// Command accounts is the Lambda function that creates accounts and
// replaces their name and contacts (PUT /accounts/{accountId}). It is the
// one function that parses mobile numbers, so it alone links the
// phone-number library; it builds the DynamoDB store, the token issuer and
// the security-PIN service with E.164 parsing. A missing setting stops the
// start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/pinverify"
)

func main() {
	env := config.Must(app.Load(context.Background(), pinverify.FnAccounts))
	store, tokens := env.Store(), env.Tokens()
	svc := &pinverify.Service{Store: store, Now: time.Now, NormalizeMobile: phone.NormalizeE164}
	lambda.Start(config.Must(env.Server(pinverify.FnAccounts, pinverify.Endpoints(svc), tokens, store)).Handle)
}
