package tenantadmin_test

import (
	"html"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
	"github.com/latchkey/latchkey/shared/tenantadmin"
)

// customReset is a valid override of PASSWORD_EMAIL_CHANGE.
const customReset = `{"subject":"Acme password help","text":"Your code word: {{temporaryPassword}}\n{{#expiresAt}}Until {{expiresAt}}.{{/expiresAt}}","html":"<p>Code word: <b>{{temporaryPassword}}</b></p>","sms":""}`

func TestTemplates_GetPutDelete(t *testing.T) {
	f := newFixture(t)
	name := templates.PasswordEmailChange
	get := func() tenantadmin.TemplateView {
		t.Helper()
		a := f.asAdmin("GET", "/templates/"+name, "")
		var v tenantadmin.TemplateView
		if a.decode(t, &v); a.status != 200 {
			t.Fatalf("GET: got %d (%s), want 200", a.status, a.body)
		}
		return v
	}

	t.Run("GET answers the default, flagged, with its merge fields", func(t *testing.T) {
		v := get()
		def, _ := templates.Default(name)
		if !v.IsDefault || v.Subject != def.Subject || v.Text != def.Text || v.HTML != def.HTML || v.Name != name {
			t.Errorf("got %+v, want the default flagged isDefault", v)
		}
		if !slices.Equal(v.RequiredFields, []string{"temporaryPassword"}) || !slices.Contains(v.Fields, "expiresAt") || !slices.Contains(v.Fields, "tenantName") {
			t.Errorf("fields: got required %v, all %v", v.RequiredFields, v.Fields)
		}
	})

	t.Run("unknown template is not found", func(t *testing.T) {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			if a := f.asAdmin(method, "/templates/NO_SUCH_TEMPLATE", customReset); a.status != 404 || a.code != latchkey.ENotFound {
				t.Errorf("%s: got %d %s, want 404 %s", method, a.status, a.code, latchkey.ENotFound)
			}
		}
		if a := f.asAdmin("POST", "/templates/NO_SUCH_TEMPLATE/preview", ""); a.status != 404 || a.code != latchkey.ENotFound {
			t.Errorf("preview: got %d %s, want 404 %s", a.status, a.code, latchkey.ENotFound)
		}
	})

	for _, tc := range []struct {
		name, body, want string
	}{
		{"required field missing", `{"subject":"s","text":"Hello","html":"<p>{{temporaryPassword}}</p>"}`, "text must contain the merge field {{temporaryPassword}}"},
		{"required field only in html missing", `{"subject":"s","text":"{{temporaryPassword}}","html":"<p>hi</p>"}`, "html must contain the merge field {{temporaryPassword}}"},
		{"unclosed section", `{"subject":"s","text":"{{temporaryPassword}} {{#expiresAt}}until {{expiresAt}}","html":"<p>{{temporaryPassword}}</p>"}`, "text: section {{#expiresAt}} is not closed by {{/expiresAt}}"},
		{"unclosed tag", `{"subject":"s","text":"{{temporaryPassword}}","html":"<p>{{temporaryPassword}</p>"}`, "html: a {{ is not closed by }}"},
		{"unknown field", `{"subject":"s {{password}}","text":"{{temporaryPassword}}","html":"<p>{{temporaryPassword}}</p>"}`, `subject uses the unknown merge field "password"`},
		{"secret in the subject", `{"subject":"{{temporaryPassword}}","text":"{{temporaryPassword}}","html":"<p>{{temporaryPassword}}</p>"}`, "subject must not contain"},
		{"empty html", `{"subject":"s","text":"{{temporaryPassword}}","html":""}`, "html is required"},
	} {
		t.Run("PUT refused: "+tc.name, func(t *testing.T) {
			a := f.asAdmin("PUT", "/templates/"+name, tc.body)
			if a.status != 400 || a.code != latchkey.EValidation || !strings.Contains(a.message, tc.want) || len(a.problems) == 0 {
				t.Fatalf("got %d %s %q %v, want 400 %s with %q", a.status, a.code, a.message, a.problems, latchkey.EValidation, tc.want)
			}
			if v := get(); !v.IsDefault {
				t.Fatalf("after a refused PUT: got %+v, want the default still", v)
			}
		})
	}
	t.Run("PUT refuses an SMS text without its required field", func(t *testing.T) {
		body := `{"subject":"Code","text":"{{code}}","html":"<p>{{code}}</p>","sms":"Call us"}`
		a := f.asAdmin("PUT", "/templates/"+templates.VerificationCode, body)
		if a.status != 400 || !strings.Contains(a.message, "sms must contain the merge field {{code}}") {
			t.Fatalf("got %d %q, want 400 naming sms", a.status, a.message)
		}
	})

	t.Run("PUT stores it and the e-mails use it", func(t *testing.T) {
		f.clock.Advance(time.Second) // its audit event is the newest
		a := f.asAdmin("PUT", "/templates/"+name, customReset)
		var v tenantadmin.TemplateView
		if a.decode(t, &v); a.status != 200 || v.IsDefault || v.Subject != "Acme password help" {
			t.Fatalf("PUT: got %d %+v, want 200 the template, not the default", a.status, v)
		}
		if v := get(); v.IsDefault || v.Subject != "Acme password help" || !strings.Contains(v.HTML, "<b>{{temporaryPassword}}</b>") {
			t.Fatalf("GET after PUT: got %+v", v)
		}
		// The renderer on the same store (as every e-mail is rendered).
		r, err := f.deps.Notifier.Templates.Render(f.ctx, f.tid, name, map[string]string{"temporaryPassword": "p<w>", "expiresAt": "soon"})
		if err != nil || r.Subject != "Acme password help" || r.Text != "Your code word: p<w>\nUntil soon." || r.HTML != "<p>Code word: <b>p&lt;w&gt;</b></p>" {
			t.Fatalf("render: got %+v, %v", r, err)
		}
		// And a real e-mail: a forgot-password request.
		if err := f.deps.Passwords.ForgotPassword(f.ctx, f.tid, "admin"); err != nil {
			t.Fatal(err)
		}
		to := f.admin.Email
		e := testenv.WaitForEmail(t, to, func(e devstack.ReceivedEmail) bool { return e.Subject == "Acme password help" })
		if !strings.HasPrefix(e.Text, "Your code word: ") || !strings.Contains(e.HTML, "Code word: <b>") {
			t.Errorf("e-mail: got %q / %q, want the tenant's template", e.Text, e.HTML)
		}
		if pw, ok := strings.CutPrefix(strings.SplitN(e.Text, "\n", 2)[0], "Your code word: "); !ok || len(pw) < 12 {
			t.Errorf("e-mail text %q: want the temporary password after the template's words", e.Text)
		} else {
			testenv.Remember(pw)
		}
		events := f.audited(latchkey.ActionTemplateUpdate)
		if len(events) == 0 || events[0].Subject != name || events[0].Actor != f.admin.ID || events[0].Result != latchkey.ResultSuccess {
			t.Errorf("audit: got %+v, want template.update of %s by the admin", events, name)
		}
	})

	t.Run("DELETE returns to the default at once", func(t *testing.T) {
		if a := f.asAdmin("DELETE", "/templates/"+name, ""); a.status != 204 || len(a.body) != 0 {
			t.Fatalf("DELETE: got %d %q, want 204 without a body", a.status, a.body)
		}
		if v := get(); !v.IsDefault {
			t.Fatalf("GET after DELETE: got %+v, want the default", v)
		}
		// The renderer's per-container cache held the override: it is dropped.
		def, _ := templates.Default(name)
		r, err := f.deps.Notifier.Templates.Render(f.ctx, f.tid, name, map[string]string{"tenantName": "Acme"})
		if err != nil || r.Subject != templates.Render(def, map[string]string{"tenantName": "Acme"}).Subject {
			t.Fatalf("render after DELETE: got %+v, %v; want the default", r, err)
		}
		f.clock.Advance(time.Second)
		if a := f.asAdmin("DELETE", "/templates/"+name, ""); a.status != 204 {
			t.Fatalf("DELETE again: got %d, want 204", a.status)
		}
		events := f.audited(latchkey.ActionTemplateDelete)
		if len(events) != 2 || events[0].Reason != "no_override" || events[1].Reason != "" || events[1].Subject != name {
			t.Errorf("audit: got %+v, want two template.delete events, the later with no_override", events)
		}
	})
}

func TestTemplates_Preview(t *testing.T) {
	f := newFixture(t)
	escaped := html.EscapeString(tenantName)
	preview := func(name, body string) tenantadmin.Preview {
		t.Helper()
		a := f.asAdmin("POST", "/templates/"+name+"/preview", body)
		var p tenantadmin.Preview
		if a.decode(t, &p); a.status != 200 {
			t.Fatalf("preview %s: got %d %s, want 200", name, a.status, a.body)
		}
		return p
	}
	t.Run("every template with sample values, escaped in HTML", func(t *testing.T) {
		for _, name := range templates.Names() {
			p := preview(name, "")
			all := p.Subject + p.Text + p.HTML + p.SMS
			if strings.Contains(all, "{{") || strings.Contains(all, "}}") {
				t.Errorf("%s: got an unfilled field in %+v", name, p)
			}
			if !strings.Contains(p.Subject, tenantName) {
				t.Errorf("%s: subject %q, want the tenant's name as it is (subjects are text)", name, p.Subject)
			}
			if strings.Contains(p.HTML, tenantName) {
				t.Errorf("%s: html %q holds the tenant name unescaped", name, p.HTML)
			}
			for _, field := range templates.Required(name) {
				if v := templates.Sample(name, tenantName)[field]; !strings.Contains(p.Text, v) || !strings.Contains(p.HTML, html.EscapeString(v)) {
					t.Errorf("%s: got %+v, want the sample %s %q in text and html", name, p, field, v)
				}
			}
		}
		p := preview(templates.PINCodeEmailBody, "")
		if !strings.Contains(p.HTML, escaped) || !strings.Contains(p.Subject, tenantName) {
			t.Errorf("got %+v, want the tenant's name, escaped in HTML only", p)
		}
	})
	t.Run("a draft, not stored", func(t *testing.T) {
		draft := `{"subject":"New code for {{tenantName}}","text":"!PINCODE!","html":"<i>{{ pinCode }}</i> {{#username}}for {{username}}{{/username}}"}`
		p := preview(templates.PINCodeEmailBody, draft)
		if p.Subject != "New code for "+tenantName || p.Text != "K7QM-R2XW-9HTC" || p.HTML != "<i>K7QM-R2XW-9HTC</i> for jane.doe" {
			t.Errorf("got %+v", p)
		}
		var v tenantadmin.TemplateView
		if f.asAdmin("GET", "/templates/"+templates.PINCodeEmailBody, "").decode(t, &v); !v.IsDefault {
			t.Errorf("after a preview: got %+v, want the default still", v)
		}
		a := f.asAdmin("POST", "/templates/"+templates.PINCodeEmailBody+"/preview", `{"subject":"s","text":"{{#pinCode}}x","html":"y"}`)
		if a.status != 400 || a.code != latchkey.EValidation || !strings.Contains(a.message, "text: section {{#pinCode}} is not closed") {
			t.Errorf("invalid draft: got %d %s %q, want 400 naming text", a.status, a.code, a.message)
		}
	})
	t.Run("the stored template", func(t *testing.T) {
		if a := f.asAdmin("PUT", "/templates/"+templates.PINCodeEmailBody, `{"subject":"Stored","text":"{{pinCode}}","html":"<p>{{pinCode}} &amp; {{tenantName}}</p>"}`); a.status != 200 {
			t.Fatalf("PUT: got %d %s", a.status, a.body)
		}
		if p := preview(templates.PINCodeEmailBody, ""); p.Subject != "Stored" || p.HTML != "<p>K7QM-R2XW-9HTC &amp; "+escaped+"</p>" {
			t.Errorf("got %+v, want the stored template with samples", p)
		}
	})
}
