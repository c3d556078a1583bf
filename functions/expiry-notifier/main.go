// Command expiry-notifier is the Lambda function that EventBridge starts
// every hour (expiry.Schedule): it sends the password-expiry reminders of
// every tenant at its local send hour (shared/expiry). It builds, once per
// cold start, exactly what that needs: the DynamoDB store, the notifier with
// SES for e-mail and SNS for SMS, and the expiry service. time/tzdata embeds
// the IANA time zones of the tenants' settings (Lambda's provided.al2023 has
// no zoneinfo). A missing setting stops the start-up with a clear message.
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
	"github.com/latchkey/latchkey/shared/sns"
)

func main() {
	env := config.Must(app.Load(context.Background(), expiry.FnExpiryNotifier))
	store := env.Store()
	n := ses.NewNotifier(env.AWS, env.Config, store)
	n.SMS = sns.New(sns.NewClientFrom(env.AWS, env.Config.SNSEndpoint), env.Config.SMSSenderID)
	svc := &expiry.Service{Store: store, Notify: n, Now: time.Now, Logger: env.Logger,
		EmailRate: env.Config.EmailSendRate, SMSRate: env.Config.SMSSendRate}
	lambda.Start(svc.HandleScheduled)
}
