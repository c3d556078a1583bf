package templates

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
)

func TestDefaults_Valid(t *testing.T) {
	if len(Names()) != 12 {
		t.Fatalf("got %d templates, want the 11 PRODUCT.md names and PIN_CHANGED", len(Names()))
	}
	for _, n := range Names() {
		d, err := Default(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(d); err != nil {
			t.Errorf("default %s: %v %v", n, err, err.(*latchkey.Error).Details)
		}
	}
}

func TestRender(t *testing.T) {
	d, _ := Default(PasswordEmailChange)
	t.Run("temporary password alone on a line, username only when given", func(t *testing.T) {
		r := Render(d, map[string]string{"tenantName": "Acme", "temporaryPassword": "Abcdefgh23456789"})
		if !regexp.MustCompile(`(?m)^Abcdefgh23456789$`).MatchString(r.Text) {
			t.Fatalf("text %q: want the password on its own line", r.Text)
		}
		if strings.Contains(r.Text, "account .") || strings.Contains(r.Text, "{{") {
			t.Fatalf("text %q: unfilled section or field", r.Text)
		}
		r2 := Render(d, map[string]string{"tenantName": "Acme", "temporaryPassword": "x", "username": "judy"})
		if !strings.Contains(r2.Text, "account judy.") {
			t.Fatalf("text %q: want the username when given", r2.Text)
		}
	})
	t.Run("HTML escapes merge values, text does not", func(t *testing.T) {
		r := Render(d, map[string]string{"tenantName": `<b>&"Acme"`, "temporaryPassword": "p<w>"})
		if strings.Contains(r.HTML, "<b>") || !strings.Contains(r.HTML, "p&lt;w&gt;") || !strings.Contains(r.HTML, "&lt;b&gt;&amp;") {
			t.Fatalf("html %q: want escaped values", r.HTML)
		}
		if !strings.Contains(r.Text, "p<w>") {
			t.Fatalf("text %q: want the raw value", r.Text)
		}
	})
	t.Run("legacy !PINCODE! field", func(t *testing.T) {
		r := Render(Template{Text: "Code: !PINCODE!", HTML: "<p>!PINCODE!</p>"}, map[string]string{"pinCode": "AB<C"})
		if r.Text != "Code: AB<C" || r.HTML != "<p>AB&lt;C</p>" {
			t.Fatalf("got %q / %q", r.Text, r.HTML)
		}
	})
}

func TestValidate(t *testing.T) {
	ok := Template{Name: PINCodeEmailBody, Subject: "PIN", Text: "Your code: !PINCODE!", HTML: "<p>{{pinCode}}</p>"}
	if err := Validate(ok); err != nil {
		t.Fatalf("got %v, want valid", err)
	}
	for name, tc := range map[string]Template{
		"missing required field": {Name: PINCodeEmailBody, Subject: "PIN", Text: "no code", HTML: "<p>{{pinCode}}</p>"},
		"unknown field":          {Name: PINCodeEmailBody, Subject: "PIN", Text: "{{pinCode}} {{password}}", HTML: "<p>{{pinCode}}</p>"},
		"empty html":             {Name: PINCodeEmailBody, Subject: "PIN", Text: "{{pinCode}}"},
		"no subject":             {Name: PINCodeEmailBody, Text: "{{pinCode}}", HTML: "{{pinCode}}"},
		"sms without code":       {Name: VerificationCode, Subject: "c", Text: "{{code}}", HTML: "{{code}}", SMS: "hello"},
	} {
		if err := Validate(tc); latchkey.ErrorCode(err) != latchkey.EValidation {
			t.Errorf("%s: got %v, want %s", name, err, latchkey.EValidation)
		}
	}
	if err := Validate(Template{Name: "NOPE"}); latchkey.ErrorCode(err) != latchkey.ENotFound {
		t.Errorf("unknown name: got %v, want %s", err, latchkey.ENotFound)
	}
}

type mapStore map[string]Template

func (m mapStore) GetTemplate(_ context.Context, tid, name string) (*Template, error) {
	t, ok := m[tid+"/"+name]
	if !ok {
		return nil, latchkey.Errorf(latchkey.ENotFound, "none")
	}
	return &t, nil
}

func TestRenderer_Override(t *testing.T) {
	r := &Renderer{Store: mapStore{"acme/" + Welcome: {Subject: "Hi {{username}}", Text: "t", HTML: "h"}}}
	got, err := r.Render(context.Background(), "acme", Welcome, map[string]string{"username": "judy"})
	if err != nil || got.Subject != "Hi judy" {
		t.Fatalf("override: got %+v %v", got, err)
	}
	got, err = r.Render(context.Background(), "other", Welcome, map[string]string{"tenantName": "Other"})
	if err != nil || got.Subject != "Welcome to Other" {
		t.Fatalf("default for another tenant: got %+v %v", got, err)
	}
}

func TestValidate_Syntax(t *testing.T) {
	valid := func(text string) Template {
		return Template{Name: PasswordEmailChange, Subject: "Reset", Text: text, HTML: "<p>{{temporaryPassword}}</p>"}
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unclosed section", "{{#username}}Hi {{username}}. {{temporaryPassword}}", "text: section {{#username}} is not closed by {{/username}}"},
		{"end without start", "{{temporaryPassword}}{{/username}}", "text: {{/username}} ends no open section"},
		{"end of another section", "{{#username}}x{{/expiresAt}} {{temporaryPassword}}", "text: {{/expiresAt}} ends no open section"},
		{"nested sections", "{{#username}}{{#expiresAt}}x{{/expiresAt}}{{/username}} {{temporaryPassword}}", "sections cannot be nested"},
		{"unclosed tag", "{{temporaryPassword}} until {{expiresAt", "text: a {{ is not closed by }}"},
		{"not a field", "{{temporaryPassword}} {{> partial}}", "is not a merge field"},
		{"triple braces", "{{{temporaryPassword}}}", "is not a merge field"},
		{"space in a section tag", "{{# username}}x{{/username}} {{temporaryPassword}}", "is not a merge field"},
		{"required field only in a section", "{{#username}}{{temporaryPassword}}{{/username}}", "text must contain the merge field {{temporaryPassword}} (outside any {{#section}})"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(valid(tc.text))
			if latchkey.ErrorCode(err) != latchkey.EValidation || !strings.Contains(latchkey.ErrorMessage(err), tc.want) {
				t.Fatalf("got %v, want %s containing %q", err, latchkey.EValidation, tc.want)
			}
			problems, _ := err.(*latchkey.Error).Details["problems"].([]string)
			if len(problems) == 0 || !strings.HasPrefix(problems[0], "text") {
				t.Errorf("problems: got %v, want them to name the part (text)", problems)
			}
		})
	}
	t.Run("well formed", func(t *testing.T) {
		for _, text := range []string{
			"{{ temporaryPassword }}",
			"{{#username}}Hi {{username}}.{{/username}} {{temporaryPassword}} p { color: red }}",
			"!TEMPORARY_PASSWORD! {{#expiresAt}}until {{expiresAt}}{{/expiresAt}}",
		} {
			if err := Validate(valid(text)); err != nil {
				t.Errorf("%q: got %v, want valid", text, err)
			}
		}
	})
	t.Run("a secret in the subject", func(t *testing.T) {
		tpl := valid("{{temporaryPassword}}")
		tpl.Subject = "Your password: {{temporaryPassword}}"
		if err := Validate(tpl); latchkey.ErrorCode(err) != latchkey.EValidation || !strings.Contains(latchkey.ErrorMessage(err), "subject must not contain") {
			t.Fatalf("got %v, want a refusal naming the subject", err)
		}
	})
}

func TestSample(t *testing.T) {
	for _, n := range Names() {
		s := Sample(n, "Acme")
		for _, f := range Fields(n) {
			if s[f] == "" {
				t.Errorf("%s: field %s has no sample value", n, f)
			}
		}
		d, _ := Default(n)
		r := Render(d, s)
		if strings.Contains(r.Text+r.HTML+r.Subject+r.SMS, "{{") {
			t.Errorf("%s: got an unfilled field in %+v", n, r)
		}
	}
	if got := Sample(PINCodeEmailBody, "Acme & Sons")["tenantName"]; got != "Acme & Sons" {
		t.Errorf("tenantName: got %q, want the tenant's name", got)
	}
}

func TestResolve(t *testing.T) {
	got, err := Resolve(VerificationCode, &Template{Subject: "s", Text: "{{code}}", HTML: "{{code}}"})
	if err != nil || got.Name != VerificationCode || got.SMS == "" {
		t.Fatalf("got %+v, %v; want the override with the default's SMS", got, err)
	}
	if _, err := Resolve("NOPE", nil); latchkey.ErrorCode(err) != latchkey.ENotFound {
		t.Fatalf("unknown name: got %v, want %s", err, latchkey.ENotFound)
	}
}
