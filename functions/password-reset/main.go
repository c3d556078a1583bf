// Command password-reset is the Lambda function serving the password capability's
// password-reset routes (forgot password, staff reset, change own password, lock and unlock). It builds, once per cold start, exactly what they
// need: DynamoDB, SES for the e-mails, the token issuer and the password
// service. A missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/password"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/token"
)

func main() {
	env := app.Must(app.Load(context.Background(), password.FnPasswordReset))
	c := env.Config
	store := dynamo.New(dynamo.NewClientFrom(env.AWS, c.DynamoEndpoint), c.TableName, time.Now)
	mailer := ses.New(ses.NewClientFrom(env.AWS, c.SESEndpoint), c.SenderEmail)
	tokens := &token.Issuer{Key: env.Keys.SigningKey, Now: time.Now, TTL: token.DefaultTTL}
	svc := &password.Service{
		Store:   store,
		Notify:  &notify.Notifier{Templates: &templates.Renderer{Store: store}, Mailer: mailer, From: c.SenderEmail},
		Tokens:  tokens,
		HMACKey: env.Keys.HMACKey,
		Now:     time.Now,
	}
	srv := app.Must(httpapi.NewServer(password.FnPasswordReset, password.Endpoints(svc), &token.Auth{Tokens: tokens, Users: store}, env.Logger))
	lambda.Start(srv.Handle)
}
