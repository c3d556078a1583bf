// Package templates renders Latchkey's e-mail layouts and SMS texts. Every
// template has an embedded default; a tenant may override it (stored in the
// table through Store). Merge fields are written {{name}}; the legacy form
// !NAME! of the source documents (for example !PINCODE!) is accepted too and
// matches the field whose name is equal ignoring case and underscores.
// {{#name}}...{{/name}} keeps its content only when the field is set. Merge
// values are HTML-escaped in HTML bodies.
package templates

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/latchkey/latchkey/shared/latchkey"
)

// Template names (PRODUCT.md, "Across everything").
const (
	PINCodeEmailBody       = "PINCODE_EMAIL_BODY"
	PasswordEmailNew       = "PASSWORD_EMAIL_NEW"
	PasswordEmailChange    = "PASSWORD_EMAIL_CHANGE"
	SecurityPINSetup       = "SECURITY_PIN_SETUP"
	SecurityPINReset       = "SECURITY_PIN_RESET"
	VerificationCode       = "VERIFICATION_CODE"
	PasswordExpiryReminder = "PASSWORD_EXPIRY_REMINDER"
	PasswordExpiresToday   = "PASSWORD_EXPIRES_TODAY"
	AccountLocked          = "ACCOUNT_LOCKED"
	PasswordChanged        = "PASSWORD_CHANGED"
	Welcome                = "WELCOME"
	// PINChanged tells a user their user PIN was changed (never the PIN).
	// It is not in PRODUCT.md's list, which names no notice for a PIN change.
	PINChanged = "PIN_CHANGED"
)

// Template is one layout. Text and HTML are the e-mail parts; SMS is the text
// message (empty for e-mail-only templates).
type Template struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	SMS     string `json:"sms,omitempty"`
}

// Rendered is a template with its merge fields filled in.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
	SMS     string
}

// Store holds tenants' overrides. GetTemplate returns ENotFound when the
// tenant has none.
type Store interface {
	GetTemplate(ctx context.Context, tenantID, name string) (*Template, error)
}

type spec struct {
	// required fields must appear in the body (Text, HTML and, if set, SMS).
	required []string
	// fields are all the fields the template may use.
	fields []string
	def    Template
}

var common = []string{"tenantName", "username"}

var specs = map[string]spec{
	PINCodeEmailBody: {
		required: []string{"pinCode"}, fields: []string{"pinCode"},
		def: Template{Subject: "Your {{tenantName}} PIN code",
			Text: "Hello,\n\nThis is the PIN code that lets you create new users of {{tenantName}} on the sign-in page:\n\n{{pinCode}}\n\nKeep it to yourself: anyone holding it can create users in your likeness."},
	},
	PasswordEmailNew: {
		required: []string{"temporaryPassword"}, fields: []string{"temporaryPassword", "expiresAt"},
		def: Template{Subject: "Your new {{tenantName}} account",
			Text: "Hello,\n\nAn account was created for you at {{tenantName}}.{{#username}} Your username is {{username}}.{{/username}}\n\nYour temporary password is:\n\n{{temporaryPassword}}\n\nIt is valid until {{expiresAt}}. You will choose your own password when you first sign in."},
	},
	PasswordEmailChange: {
		required: []string{"temporaryPassword"}, fields: []string{"temporaryPassword", "expiresAt"},
		def: Template{Subject: "Your {{tenantName}} temporary password",
			Text: "Hello,\n\nA temporary password was issued for your {{tenantName}} account{{#username}} {{username}}{{/username}}.\n\nYour temporary password is:\n\n{{temporaryPassword}}\n\nIt is valid until {{expiresAt}}. You will choose a new password when you sign in with it. If you did not ask for this, you can ignore this message: your current password still works until the temporary one is used."},
	},
	SecurityPINSetup: {
		required: []string{"link"}, fields: []string{"link", "expiresAt"},
		def: Template{Subject: "Set your {{tenantName}} security PIN",
			Text: "Hello,\n\nOpen this link to set the 6-digit security PIN that staff will ask for to verify you:\n\n{{link}}\n\nThe link works once, until {{expiresAt}}.",
			SMS:  "{{tenantName}}: set your security PIN at {{link}}"},
	},
	SecurityPINReset: {
		required: []string{"link"}, fields: []string{"link", "expiresAt"},
		def: Template{Subject: "Reset your {{tenantName}} security PIN",
			Text: "Hello,\n\nOpen this link to choose a new 6-digit security PIN:\n\n{{link}}\n\nThe link works once, until {{expiresAt}}. If you did not ask for this, contact {{tenantName}}.",
			SMS:  "{{tenantName}}: reset your security PIN at {{link}}"},
	},
	VerificationCode: {
		required: []string{"code"}, fields: []string{"code", "expiresAt"},
		def: Template{Subject: "Your {{tenantName}} verification code",
			Text: "Hello,\n\nYour verification code is:\n\n{{code}}\n\nIt is valid until {{expiresAt}}. Never give it to anyone who calls you.",
			SMS:  "{{tenantName}} verification code: {{code}}"},
	},
	PasswordExpiryReminder: {
		required: []string{"daysLeft"}, fields: []string{"daysLeft", "expiresAt"},
		def: Template{Subject: "Your {{tenantName}} password expires in {{daysLeft}} days",
			Text: "Hello,\n\nYour {{tenantName}} password expires in {{daysLeft}} days, on {{expiresAt}}. Change it before then to keep signing in without interruption.",
			SMS:  "{{tenantName}}: your password expires in {{daysLeft}} days, on {{expiresAt}}. Change it before then."},
	},
	PasswordExpiresToday: {
		fields: []string{"expiresAt"},
		def: Template{Subject: "Your {{tenantName}} password expires today",
			Text: "Hello,\n\nYour {{tenantName}} password expires today. Change it now to keep signing in without interruption.",
			SMS:  "{{tenantName}}: your password expires today. Change it now to keep signing in."},
	},
	AccountLocked: {
		fields: []string{"lockedUntil"},
		def: Template{Subject: "Your {{tenantName}} account is locked",
			Text: "Hello,\n\nYour {{tenantName}} account was locked{{#lockedUntil}} until {{lockedUntil}}{{/lockedUntil}}. If this was not you, contact {{tenantName}}.",
			SMS:  "{{tenantName}}: your account was locked{{#lockedUntil}} until {{lockedUntil}}{{/lockedUntil}}. Not you? Contact {{tenantName}}."},
	},
	PasswordChanged: {
		def: Template{Subject: "Your {{tenantName}} password was changed",
			Text: "Hello,\n\nThe password of your {{tenantName}} account {{username}} was just changed. If you did not do this, contact {{tenantName}} at once."},
	},
	PINChanged: {
		def: Template{Subject: "Your {{tenantName}} PIN was changed",
			Text: "Hello,\n\nThe PIN of your {{tenantName}} account {{username}} was just changed. If you did not do this, contact {{tenantName}} at once.",
			SMS:  "{{tenantName}}: the PIN of your account {{username}} was just changed. Not you? Contact {{tenantName}} at once."},
	},
	Welcome: {
		required: []string{"link"}, fields: []string{"link", "expiresAt"},
		def: Template{Subject: "Welcome to {{tenantName}}",
			Text: "Hello {{username}},\n\nWelcome to {{tenantName}}. Open this link to confirm your mobile number; you will then get password reminders and can reset or unlock your account yourself:\n\n{{link}}\n\nThe link works once, until {{expiresAt}}. If you were not expecting this, you can ignore this message."},
	},
}

// Names returns every template name, sorted.
func Names() []string {
	out := make([]string, 0, len(specs))
	for n := range specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Required returns the merge fields template name must contain.
func Required(name string) []string { return append([]string(nil), specs[name].required...) }

// Fields returns every merge field template name may use.
func Fields(name string) []string {
	return append(append([]string(nil), common...), specs[name].fields...)
}

// Default returns the embedded default of template name. It returns ENotFound
// for an unknown name.
func Default(name string) (Template, error) {
	s, ok := specs[name]
	if !ok {
		return Template{}, latchkey.Errorf(latchkey.ENotFound, "Unknown template %q.", name)
	}
	t := s.def
	t.Name = name
	t.HTML = layout(t.Text)
	return t, nil
}

// Resolve returns the template a tenant uses for name: its override o (nil
// when it has none) with the default's SMS text where o has none, else the
// default. It returns ENotFound for an unknown name.
func Resolve(name string, o *Template) (Template, error) {
	def, err := Default(name)
	if err != nil || o == nil {
		return def, err
	}
	out := *o
	out.Name = name
	if out.SMS == "" {
		out.SMS = def.SMS
	}
	return out, nil
}

// samples are the preview values of merge fields: realistic, and none a
// real secret.
var samples = map[string]string{
	"username":          "jane.doe",
	"temporaryPassword": "Xq7Lm2Rt9Kp4Wz8N",
	"expiresAt":         "2026-11-04 09:00 UTC",
	"pinCode":           "K7QM-R2XW-9HTC",
	"link":              "https://id.example.com/security-pin#sample-link-token",
	"code":              "123456",
	"daysLeft":          "10",
	"lockedUntil":       "2026-11-02 09:15 UTC",
}

// Sample returns a value for every merge field of template name, for
// previews: the tenant's name for tenantName, a realistic made-up value for
// the others (a field without one shows as "[field]"); a link points at the
// page the template's e-mail links to.
func Sample(name, tenantName string) map[string]string {
	out := map[string]string{}
	for _, f := range Fields(name) {
		v, ok := samples[f]
		if !ok {
			v = "[" + f + "]"
		}
		out[f] = v
	}
	if _, ok := out["link"]; ok && name == Welcome {
		out["link"] = "https://id.example.com/welcome#sample-link-token"
	}
	out["tenantName"] = tenantName
	return out
}

// layout turns a default's text into its HTML part: paragraphs, escaped text;
// merge fields pass through unchanged (they are escaped when merged).
func layout(text string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><body style=\"font-family:sans-serif\">")
	for _, p := range strings.Split(text, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(p), "\n", "<br>"))
		b.WriteString("</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}

var (
	fieldRe   = regexp.MustCompile(`\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}|!([A-Z][A-Z0-9_]*)!`)
	sectionRe = regexp.MustCompile(`(?s)\{\{#([A-Za-z][A-Za-z0-9_]*)\}\}(.*?)\{\{/([A-Za-z][A-Za-z0-9_]*)\}\}`)
)

func fold(name string) string { return strings.ToLower(strings.ReplaceAll(name, "_", "")) }

// used returns the folded names of the merge fields s refers to.
func used(s string) map[string]bool {
	out := map[string]bool{}
	for _, m := range sectionRe.FindAllStringSubmatch(s, -1) {
		out[fold(m[1])] = true
	}
	for _, m := range fieldRe.FindAllStringSubmatch(s, -1) {
		out[fold(m[1]+m[2])] = true
	}
	return out
}

// secretFields are merge fields that carry a secret (a temporary
// password, a PIN code, a one-time code, a single-use link): they must
// never be in a subject, which mail clients show on lock screens and in
// notifications and mail servers log.
var secretFields = map[string]bool{
	fold("temporaryPassword"): true, fold("pinCode"): true, fold("code"): true, fold("link"): true,
}

// Validate checks an override of template t.Name: a known name, a subject and
// both e-mail parts, each part well formed (every {{ closed by }}, each tag a
// merge field {{name}} or a section {{#name}}...{{/name}}, sections closed
// in order and not nested), every required merge field in each body part
// (and in the SMS text when the template has one) outside any section (a
// section's content is left out when its field is empty) and merged
// whatever other fields are set (alwaysMerged), no secret field
// in the subject, and no unknown merge field. It returns EValidation with
// every problem, each starting with the part at fault ("subject", "text",
// "html", "sms"), in the message and in Details.problems, or ENotFound for
// an unknown name.
func Validate(t Template) error {
	s, ok := specs[t.Name]
	if !ok {
		return latchkey.Errorf(latchkey.ENotFound, "Unknown template %q.", t.Name)
	}
	var problems []string
	if strings.TrimSpace(t.Subject) == "" {
		problems = append(problems, "subject is required")
	}
	known := map[string]bool{}
	for _, f := range Fields(t.Name) {
		known[fold(f)] = true
	}
	parts := map[string]string{"subject": t.Subject, "text": t.Text, "html": t.HTML}
	if s.def.SMS != "" || t.SMS != "" {
		parts["sms"] = t.SMS
	}
	for _, part := range []string{"subject", "text", "html", "sms"} {
		body, ok := parts[part]
		if !ok {
			continue
		}
		if part != "subject" && strings.TrimSpace(body) == "" {
			problems = append(problems, part+" is required")
			continue
		}
		if syntax := parse(body); len(syntax) > 0 {
			for _, p := range syntax {
				problems = append(problems, part+": "+p)
			}
			continue
		}
		u := used(body)
		outside := used(sectionRe.ReplaceAllString(body, ""))
		for _, r := range s.required {
			if part != "subject" && (!outside[fold(r)] || !alwaysMerged(body, r, t.Name)) {
				problems = append(problems, fmt.Sprintf("%s must contain the merge field {{%s}} (outside any {{#section}})", part, r))
			}
		}
		names := make([]string, 0, len(u))
		for f := range u {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			if !known[f] {
				problems = append(problems, fmt.Sprintf("%s uses the unknown merge field %q", part, f))
			} else if part == "subject" && secretFields[f] {
				problems = append(problems, fmt.Sprintf("subject must not contain the merge field %q, which carries a secret", f))
			}
		}
	}
	if len(problems) > 0 {
		e := latchkey.Errorf(latchkey.EValidation, "The template is not valid: %s.", strings.Join(problems, "; "))
		e.Details = map[string]any{"problems": problems}
		return e
	}
	return nil
}

// alwaysMerged reports whether Merge of s puts the value of field r in
// whatever other fields of template name are set. Being outside every
// section is not enough: a section's content or its removal can join or
// split the legacy !NAME! form ("{{#username}}!X{{/username}}!PIN_CODE!"
// loses the PIN code when username is set), so s is merged with each
// subset of the other fields set. Templates have at most four fields.
func alwaysMerged(s, r, name string) bool {
	const mark = "\x00merged\x00"
	var others []string
	for _, f := range Fields(name) {
		if fold(f) != fold(r) {
			others = append(others, f)
		}
	}
	for set := 0; set < 1<<len(others); set++ {
		values := map[string]string{}
		for i, f := range others {
			if set&(1<<i) != 0 {
				values[f] = "x"
			}
		}
		without := strings.Count(Merge(s, values, false), mark)
		values[r] = mark
		if strings.Count(Merge(s, values, false), mark) <= without {
			return false
		}
	}
	return true
}

// identRe is a merge field's name.
var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// parse reports what is malformed in a template part, as Merge reads it:
// a {{ without its }}, a tag that is neither a merge field ({{name}}, spaces
// allowed inside the braces) nor a section's start or end ({{#name}},
// {{/name}}, no spaces), a section left open, ended without its start or
// under another name, or nested in another (Merge does not nest sections).
// Text outside tags is free: a lone }} (as in CSS) is text.
func parse(s string) []string {
	var problems []string
	open := ""
	for rest := s; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			problems = append(problems, "a {{ is not closed by }}")
			break
		}
		tag := rest[i+2 : i+2+j]
		rest = rest[i+2+j+2:]
		switch {
		case strings.HasPrefix(tag, "#") && identRe.MatchString(tag[1:]):
			if open != "" {
				problems = append(problems, fmt.Sprintf("section {{#%s}} is inside section {{#%s}}: sections cannot be nested", tag[1:], open))
				return problems
			}
			open = tag[1:]
		case strings.HasPrefix(tag, "/") && identRe.MatchString(tag[1:]):
			if open == "" || fold(open) != fold(tag[1:]) {
				problems = append(problems, fmt.Sprintf("{{/%s}} ends no open section {{#%s}}", tag[1:], tag[1:]))
				return problems
			}
			open = ""
		case identRe.MatchString(strings.Trim(tag, " \t\n\f\r")):
		default:
			problems = append(problems, fmt.Sprintf("{{%s}} is not a merge field: write {{name}}, {{#name}} or {{/name}}", truncate(tag, 40)))
		}
	}
	if open != "" {
		problems = append(problems, fmt.Sprintf("section {{#%s}} is not closed by {{/%s}}", open, open))
	}
	return problems
}

// truncate shortens s to at most n bytes (on a rune boundary) for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Merge fills the merge fields of s from fields; escape HTML-escapes values.
// Fields not given are left empty.
func Merge(s string, fields map[string]string, escape bool) string {
	folded := make(map[string]string, len(fields))
	for k, v := range fields {
		folded[fold(k)] = v
	}
	s = sectionRe.ReplaceAllStringFunc(s, func(m string) string {
		g := sectionRe.FindStringSubmatch(m)
		if fold(g[1]) != fold(g[3]) || folded[fold(g[1])] == "" {
			return ""
		}
		return g[2]
	})
	return fieldRe.ReplaceAllStringFunc(s, func(m string) string {
		g := fieldRe.FindStringSubmatch(m)
		v := folded[fold(g[1]+g[2])]
		if escape {
			return html.EscapeString(v)
		}
		return v
	})
}

// Render renders t with fields.
func Render(t Template, fields map[string]string) Rendered {
	return Rendered{
		Subject: strings.ReplaceAll(Merge(t.Subject, fields, false), "\n", " "),
		Text:    Merge(t.Text, fields, false),
		HTML:    Merge(t.HTML, fields, true),
		SMS:     Merge(t.SMS, fields, false),
	}
}

// Renderer renders a tenant's template: its override when it has one, else the default.
type Renderer struct {
	Store Store
}

// Template returns the template tenantID uses for name (Resolve).
func (r *Renderer) Template(ctx context.Context, tenantID, name string) (Template, error) {
	if _, err := Default(name); err != nil || r.Store == nil {
		return Resolve(name, nil)
	}
	t, err := r.Store.GetTemplate(ctx, tenantID, name)
	switch {
	case latchkey.ErrorCode(err) == latchkey.ENotFound:
		return Resolve(name, nil)
	case err != nil:
		return Template{}, err
	}
	return Resolve(name, t)
}

// Render renders tenantID's template name with fields.
func (r *Renderer) Render(ctx context.Context, tenantID, name string, fields map[string]string) (Rendered, error) {
	t, err := r.Template(ctx, tenantID, name)
	if err != nil {
		return Rendered{}, err
	}
	return Render(t, fields), nil
}
