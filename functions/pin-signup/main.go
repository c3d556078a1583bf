// Command pin-signup is the Lambda function serving PIN-code signup's
// routes (generate, revoke and e-mail PIN codes; sign up with one). It
// builds, once per cold start, exactly what they need: the DynamoDB store,
// SES, the token issuer, user creation (tenancy) and the PIN-code service. A
// missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/pinsignup"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/tenancy"
)

func main() {
	env := config.Must(app.Load(context.Background(), pinsignup.FnPINSignup))
	store, tokens := env.Store(), env.Tokens()
	notifier := ses.NewNotifier(env.AWS, env.Config, store)
	svc := &pinsignup.Service{
		Store:   store,
		Users:   &tenancy.Service{Store: store, Notify: notifier, HMACKey: env.Keys.HMACKey, Now: time.Now},
		Notify:  notifier,
		HMACKey: env.Keys.HMACKey,
		DataKey: env.Keys.DataKey,
		Now:     time.Now,
	}
	lambda.Start(config.Must(env.Server(pinsignup.FnPINSignup, pinsignup.Endpoints(svc), tokens, store)).Handle)
}
