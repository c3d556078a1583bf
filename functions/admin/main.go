// Command admin is the Lambda function serving the tenant administration:
// the users (create and import, list, read and edit, self-serve, welcome
// links and their confirmation), and the tenant's settings, templates and
// audit log (shared/tenantadmin). It builds, once per cold start, exactly
// what they need: the DynamoDB store, the token issuer, the notifier with
// SES for e-mail (no SMS), user creation and settings changes (tenancy),
// the user administration with E.164 parsing, so it links the phone-number
// library, and the settings, templates and audit-log service.
// time/tzdata embeds the IANA time zones, which the tenant settings are
// checked against (Lambda's provided.al2023 has no zoneinfo). A missing
// setting stops the start-up with a clear message.
package main

import (
	"context"
	"time"
	_ "time/tzdata"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/latchkey/latchkey/shared/app"
	"github.com/latchkey/latchkey/shared/phone"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/tenantadmin"
	"github.com/latchkey/latchkey/shared/useradmin"
)

func main() {
	env := app.Must(app.Load(context.Background(), useradmin.FnAdmin))
	store, tokens := env.Store(), env.Tokens()
	notifier := env.Notifier(store)
	ten := &tenancy.Service{Store: store, Notify: notifier, HMACKey: env.Keys.HMACKey, Now: time.Now}
	users := &useradmin.Service{
		Store:           store,
		Users:           ten,
		Notify:          notifier,
		HMACKey:         env.Keys.HMACKey,
		PublicBaseURL:   env.Config.PublicBaseURL,
		Now:             time.Now,
		NormalizeMobile: phone.NormalizeE164,
	}
	// Settings (validated and saved by tenancy), templates and the audit log.
	tenantAdmin := &tenantadmin.Service{Store: store, Settings: ten, Now: time.Now}
	endpoints := append(useradmin.Endpoints(users), tenantadmin.Endpoints(tenantAdmin)...)
	lambda.Start(app.Must(env.Server(useradmin.FnAdmin, endpoints, tokens, store)).Handle)
}
