package ses

import (
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/latchkey/latchkey/shared/config"
	"github.com/latchkey/latchkey/shared/notify"
	"github.com/latchkey/latchkey/shared/templates"
)

// NewNotifier returns the notifier that sends the tenant's templates (with
// overrides from store) by e-mail through SES (at c.SESEndpoint when set),
// from SENDER_EMAIL, under CONFIGURATION_SET.
func NewNotifier(cfg aws.Config, c config.Config, store templates.Store) *notify.Notifier {
	mailer := New(NewClientFrom(cfg, c.SESEndpoint), c.SenderEmail)
	return &notify.Notifier{Templates: &templates.Renderer{Store: store}, Mailer: mailer, From: c.SenderEmail,
		ConfigurationSet: c.ConfigurationSet}
}
