// Command pin-verification is the Lambda function serving the security-PIN
// routes (reading accounts and their security status, sending set-up and
// reset links and setting the PIN from a link; account upserts are the
// accounts function's, which parses mobile numbers) and the user-PIN routes
// (an admin setting a user's PIN, a user changing their own). It builds,
// once per cold start, exactly what they need: the DynamoDB store, the
// token issuer, the notifier with SES for e-mail and SNS for SMS, and the
// security-PIN and user-PIN services, without the phone-number library. A
// missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/sns"
	"github.com/latchkey/latchkey/shared/userpin"
)

func main() {
	env := config.Must(app.Load(context.Background(), pinverify.FnPINVerification))
	store, tokens := env.Store(), env.Tokens()
	n := ses.NewNotifier(env.AWS, env.Config, store)
	n.SMS = sns.New(sns.NewClientFrom(env.AWS, env.Config.SNSEndpoint), env.Config.SMSSenderID)
	svc := &pinverify.Service{
		Store: store, Notify: n, HMACKey: env.Keys.HMACKey, PublicBaseURL: env.Config.PublicBaseURL, Now: time.Now,
	}
	pins := &userpin.Service{Store: store, Notify: n, HMACKey: env.Keys.HMACKey, Now: time.Now}
	endpoints := append(pinverify.Endpoints(svc), userpin.Endpoints(pins)...)
	lambda.Start(config.Must(env.Server(pinverify.FnPINVerification, endpoints, tokens, store)).Handle)
}
