// Command users is the Lambda function serving the user-administration
// routes that parse mobile numbers: creating and importing users, editing
// them, and confirming a mobile number from a welcome link. It builds, once
// per cold start, exactly what they need: the DynamoDB store, the token
// issuer, the notifier with SES for e-mail (the temporary passwords of new
// users), user creation (tenancy) and the user administration with E.164
// parsing, so it links the phone-number library, which the admin function
// does not. A missing setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/useradmin"
)

func main() {
	env := config.Must(app.Load(context.Background(), useradmin.FnUsers))
	store, tokens := env.Store(), env.Tokens()
	notifier := ses.NewNotifier(env.AWS, env.Config, store)
	ten := &tenancy.Service{Store: store, Notify: notifier, HMACKey: env.Keys.HMACKey, Now: time.Now}
	users := &useradmin.Service{
		Store: store, Users: ten, Notify: notifier, HMACKey: env.Keys.HMACKey,
		PublicBaseURL: env.Config.PublicBaseURL, Now: time.Now, NormalizeMobile: phone.NormalizeE164,
	}
	lambda.Start(config.Must(env.Server(useradmin.FnUsers, useradmin.Endpoints(users), tokens, store)).Handle)
}
