// Command admin is the Lambda function serving the tenant administration
// that never parses a mobile number: the user list, reading a user,
// self-serve switches and sending welcome links (shared/useradmin), and the
// tenant's settings, templates and audit log (shared/tenantadmin), and the
// expiry notices sent to a user (shared/expiry, read only).
// Creating, importing and editing users and confirming a mobile number are
// the users function's, which links the phone-number library. It builds,
// once per cold start, exactly what these routes need: the DynamoDB store,
// the token issuer, the notifier with SES for e-mail (no SMS), settings
// changes (tenancy) and the two services. time/tzdata embeds the IANA time
// zones, which the tenant settings are checked against (Lambda's
// provided.al2023 has no zoneinfo). A missing setting stops the start-up
// with a clear message.
package main

import (
	"context"
	"time"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/ses"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/tenantadmin"
	"github.com/latchkey/latchkey/shared/useradmin"
)

func main() {
	env := config.Must(app.Load(context.Background(), useradmin.FnAdmin))
	store, tokens := env.Store(), env.Tokens()
	notifier := ses.NewNotifier(env.AWS, env.Config, store)
	ten := &tenancy.Service{Store: store, Notify: notifier, HMACKey: env.Keys.HMACKey, Now: time.Now}
	users := &useradmin.Service{
		Store: store, Users: ten, Notify: notifier, HMACKey: env.Keys.HMACKey,
		PublicBaseURL: env.Config.PublicBaseURL, Now: time.Now,
	}
	tenantAdmin := &tenantadmin.Service{Store: store, Settings: ten, Now: time.Now}
	endpoints := append(useradmin.Endpoints(users), tenantadmin.Endpoints(tenantAdmin)...)
	endpoints = append(endpoints, expiry.Endpoints(&expiry.Service{Store: store})...)
	lambda.Start(config.Must(env.Server(useradmin.FnAdmin, endpoints, tokens, store)).Handle)
}
