// Command sessions is the Lambda function serving the password capability's
// sessions routes (sign-in and the NEW_PASSWORD_REQUIRED challenge). It builds, once per cold start, exactly what they
// need: the DynamoDB store, SES for the e-mails, the token issuer and the
// password service. A missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/ses"
)

func main() {
	env := config.Must(app.Load(context.Background(), password.FnSessions))
	store, tokens := env.Store(), env.Tokens()
	svc := &password.Service{Store: store, Notify: ses.NewNotifier(env.AWS, env.Config, store), Tokens: tokens, HMACKey: env.Keys.HMACKey, Now: time.Now}
	lambda.Start(config.Must(env.Server(password.FnSessions, password.Endpoints(svc), tokens, store)).Handle)
}
