// Command pin-signup is the Lambda function serving PIN-code signup's
// routes (generate, revoke and e-mail PIN codes; sign up with one). It
// builds, once per cold start, exactly what they need: DynamoDB, SES, the
// token issuer, user creation (tenancy) and the PIN-code service. A missing
// setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/dynamo"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/token"
)

func main() {
	env := app.Must(app.Load(context.Background(), pinsignup.FnPINSignup))
	c := env.Config
	store := dynamo.New(dynamo.NewClientFrom(env.AWS, c.DynamoEndpoint), c.TableName, time.Now)
	mailer := ses.New(ses.NewClientFrom(env.AWS, c.SESEndpoint), c.SenderEmail)
	notifier := &notify.Notifier{Templates: &templates.Renderer{Store: store}, Mailer: mailer, From: c.SenderEmail}
	tokens := &token.Issuer{Key: env.Keys.SigningKey, Now: time.Now, TTL: token.DefaultTTL}
	svc := &pinsignup.Service{
		Store:   store,
		Users:   &tenancy.Service{Store: store, Notify: notifier, HMACKey: env.Keys.HMACKey, Now: time.Now},
		Notify:  notifier,
		HMACKey: env.Keys.HMACKey,
		DataKey: env.Keys.DataKey,
		Now:     time.Now,
	}
	srv := app.Must(httpapi.NewServer(pinsignup.FnPINSignup, pinsignup.Endpoints(svc), &token.Auth{Tokens: tokens, Users: store}, env.Logger))
	lambda.Start(srv.Handle)
}
