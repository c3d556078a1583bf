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
