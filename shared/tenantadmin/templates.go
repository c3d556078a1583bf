package tenantadmin

import (
	"context"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

// TemplateView is a template as an admin sees it: the one the tenant uses,
// whether that is the default, and the merge fields it must and may hold.
type TemplateView struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	// SMS is the text message ("" for a template sent by e-mail only).
	SMS string `json:"sms"`
	// IsDefault is true when the tenant has no template of its own.
	IsDefault bool `json:"isDefault"`
	// RequiredFields must appear in the text and HTML parts (and the SMS
	// text, where there is one); Fields are all the merge fields it may use.
	RequiredFields []string `json:"requiredFields"`
	Fields         []string `json:"fields"`
}

func view(t templates.Template, isDefault bool) *TemplateView {
	return &TemplateView{
		Name: t.Name, Subject: t.Subject, Text: t.Text, HTML: t.HTML, SMS: t.SMS, IsDefault: isDefault,
		RequiredFields: append([]string{}, templates.Required(t.Name)...), Fields: templates.Fields(t.Name),
	}
}

// Preview is a template rendered with sample values.
type Preview struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	SMS     string `json:"sms"`
}

// current returns the template tenant tid uses for name, as stored, and
// whether it is the default. It returns ENotFound for an unknown name.
func (s *Service) current(ctx context.Context, tid, name string) (templates.Template, bool, error) {
	if _, err := templates.Default(name); err != nil {
		return templates.Template{}, false, err
	}
	o, err := s.Store.ReadTemplate(ctx, tid, name)
	switch {
	case latchkey.ErrorCode(err) == latchkey.ENotFound:
		t, err := templates.Resolve(name, nil)
		return t, true, err
	case err != nil:
		return templates.Template{}, false, err
	}
	t, err := templates.Resolve(name, o)
	return t, false, err
}

// GetTemplate returns the template tenant tid uses for name: its own, or the
// default. It returns ENotFound for an unknown name.
func (s *Service) GetTemplate(ctx context.Context, tid, name string) (*TemplateView, error) {
	t, isDefault, err := s.current(ctx, tid, name)
	if err != nil {
		return nil, err
	}
	return view(t, isDefault), nil
}

// PutTemplate stores t as tenant tid's own template t.Name, as admin actor,
// after templates.Validate (required merge fields present outside any
// section, every part well formed, no unknown field, no secret in the
// subject), and returns it. The e-mails sent from then on use it (at once
// in this container, within dynamo.TemplateCacheTTL in others). Audited as
// template.update (the subject is the template's name), a refusal as a
// failure. It returns ENotFound for an unknown name, or EValidation with
// each problem naming the part at fault.
func (s *Service) PutTemplate(ctx context.Context, tid, actor string, t templates.Template) (*TemplateView, error) {
	if err := templates.Validate(t); err != nil {
		if latchkey.ErrorCode(err) == latchkey.EValidation {
			s.Store.Audit(ctx, latchkey.Event(tid, actor, t.Name, latchkey.ActionTemplateUpdate, latchkey.ResultFailure, latchkey.EValidation))
		}
		return nil, err
	}
	if err := s.Store.PutTemplate(ctx, tid, t); err != nil {
		return nil, err
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor, t.Name, latchkey.ActionTemplateUpdate, latchkey.ResultSuccess, ""))
	out, err := templates.Resolve(t.Name, &t)
	if err != nil {
		return nil, err
	}
	return view(out, false), nil
}

// PreviewTemplate renders template name of tenant tid with sample values for
// every merge field (templates.Sample; the tenant's own name), HTML-escaped
// in the HTML part as in every e-mail: draft when it is not nil (checked as
// PutTemplate checks it, not stored), else the template the tenant uses.
// It returns ENotFound or EValidation.
func (s *Service) PreviewTemplate(ctx context.Context, tid, name string, draft *templates.Template) (*Preview, error) {
	var t templates.Template
	if draft != nil {
		draft.Name = name
		if err := templates.Validate(*draft); err != nil {
			return nil, err
		}
		var err error
		if t, err = templates.Resolve(name, draft); err != nil {
			return nil, err
		}
	} else {
		var err error
		if t, _, err = s.current(ctx, tid, name); err != nil {
			return nil, err
		}
	}
	tn, err := s.Store.GetTenant(ctx, tid)
	if err != nil {
		return nil, err
	}
	r := templates.Render(t, templates.Sample(name, tn.Name))
	return &Preview{Subject: r.Subject, Text: r.Text, HTML: r.HTML, SMS: r.SMS}, nil
}

// DeleteTemplate deletes tenant tid's own template name, as admin actor, so
// that the default applies again (at once in this container, within
// dynamo.TemplateCacheTTL in others). Deleting a template the tenant has
// not overridden is not an error. Audited as template.delete (reason
// "no_override" when there was none). It returns ENotFound for an unknown
// name.
func (s *Service) DeleteTemplate(ctx context.Context, tid, actor, name string) error {
	if _, err := templates.Default(name); err != nil {
		return err
	}
	existed, err := s.Store.DeleteTemplate(ctx, tid, name)
	if err != nil {
		return err
	}
	reason := ""
	if !existed {
		reason = "no_override"
	}
	s.Store.Audit(ctx, latchkey.Event(tid, actor, name, latchkey.ActionTemplateDelete, latchkey.ResultSuccess, reason))
	return nil
}
