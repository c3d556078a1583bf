// Package notify renders a tenant's template and sends it by e-mail or SMS.
package notify

import (
	"context"
	"fmt"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

// Notifier sends templated messages. Templates come from the tenant's
// overrides in the table, else the embedded defaults.
type Notifier struct {
	Templates *templates.Renderer
	Mailer    latchkey.Mailer
	SMS       latchkey.SMSSender
	// From is the deployment's sender address; a tenant's SenderEmail setting overrides it.
	From string
	// ConfigurationSet is the SES configuration set of tagged e-mail
	// (EmailTagged), whose delivery events come back to the table; empty
	// for none.
	ConfigurationSet string
}

func (n *Notifier) render(ctx context.Context, t *latchkey.Tenant, name string, fields map[string]string) (templates.Rendered, error) {
	all := map[string]string{"tenantName": t.Name}
	for k, v := range fields {
		all[k] = v
	}
	r, err := n.Templates.Render(ctx, t.ID, name, all)
	if err != nil {
		return templates.Rendered{}, fmt.Errorf("render %s: %w", name, err)
	}
	return r, nil
}

// Email renders template name for tenant t and e-mails it to to.
func (n *Notifier) Email(ctx context.Context, t *latchkey.Tenant, to, name string, fields map[string]string) error {
	_, err := n.EmailID(ctx, t, to, name, fields)
	return err
}

// EmailID is Email returning the provider's message id, which the expiry
// notifier records.
func (n *Notifier) EmailID(ctx context.Context, t *latchkey.Tenant, to, name string, fields map[string]string) (string, error) {
	return n.send(ctx, t, to, name, fields, nil, "")
}

// EmailTagged is EmailID sending with SES message tags, under the
// notifier's ConfigurationSet: SES's delivery, bounce and complaint events
// about the message carry the tags back (the expiry notices use it).
func (n *Notifier) EmailTagged(ctx context.Context, t *latchkey.Tenant, to, name string, fields, tags map[string]string) (string, error) {
	return n.send(ctx, t, to, name, fields, tags, n.ConfigurationSet)
}

// send renders template name for tenant t and e-mails it to to with tags,
// under configuration set cs when not empty.
func (n *Notifier) send(ctx context.Context, t *latchkey.Tenant, to, name string, fields, tags map[string]string, cs string) (string, error) {
	r, err := n.render(ctx, t, name, fields)
	if err != nil {
		return "", err
	}
	from := n.From
	if t.Settings.SenderEmail != "" {
		from = t.Settings.SenderEmail
	}
	id, err := n.Mailer.SendEmail(ctx, latchkey.Email{From: from, To: to, Subject: r.Subject, Text: r.Text, HTML: r.HTML, Tags: tags, ConfigurationSet: cs})
	if err != nil {
		return "", fmt.Errorf("send %s: %w", name, err)
	}
	return id, nil
}

// Text renders template name's SMS part for tenant t and sends it to the E.164 number to.
func (n *Notifier) Text(ctx context.Context, t *latchkey.Tenant, to, name string, fields map[string]string) error {
	_, err := n.TextID(ctx, t, to, name, fields)
	return err
}

// TextID is Text returning the provider's message id.
func (n *Notifier) TextID(ctx context.Context, t *latchkey.Tenant, to, name string, fields map[string]string) (string, error) {
	if n.SMS == nil {
		return "", fmt.Errorf("send %s: this notifier sends no SMS", name)
	}
	r, err := n.render(ctx, t, name, fields)
	if err != nil {
		return "", err
	}
	id, err := n.SMS.SendSMS(ctx, latchkey.SMS{To: to, Body: r.SMS})
	if err != nil {
		return "", fmt.Errorf("send %s: %w", name, err)
	}
	return id, nil
}
