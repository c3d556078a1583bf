package templates_test

import (
	"errors"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/templates"
)

// fieldsOf reads a fields map from fuzzed text: one "name=value" a line.
func fieldsOf(blob string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(blob, "\n") {
		k, v, _ := strings.Cut(line, "=")
		out[k] = v
	}
	return out
}

// placeholder matches a merge field written {{name}}, as Merge reads it.
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}`)

func fold(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// FuzzRender renders and validates any override of any template with any
// fields. It proves that Resolve, Validate and Render never panic; that
// Resolve answers an unknown name with ENotFound and a known one with that
// name; that Validate refuses only with a coded EValidation or ENotFound
// and a message; and that an override Validate accepts, rendered with
// fields whose values hold no "{{", leaves no {{placeholder}} of a field
// of the template, and that the value of every required field appears in
// the text, the HTML (escaped) and the SMS text, whatever optional fields
// are set.
func FuzzRender(f *testing.F) {
	names := templates.Names()
	for i, n := range names {
		d, err := templates.Default(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), d.Subject, d.Text, d.HTML, d.SMS, "username=jane\nexpiresAt=\nlockedUntil=soon")
	}
	f.Add(uint8(0), "Hi {{tenantName}}", "{{#username}}{{username}}{{/username}} !PINCODE! {{pinCode}}", "<p>{{ pinCode }}</p>", "", "pinCode=<b>&")
	f.Add(uint8(1), "x", "{{", "}}{{/x}}", "{{#a}}{{#b}}", "=\n\n==")
	f.Fuzz(func(t *testing.T, index uint8, subject, text, htmlPart, sms, blob string) {
		name := names[int(index)%len(names)]
		if index == 255 {
			name = subject // an unknown name, most of the time
		}
		o := templates.Template{Name: name, Subject: subject, Text: text, HTML: htmlPart, SMS: sms}
		fields := fieldsOf(blob)
		templates.Render(o, fields) // any template, any fields: no panic

		tpl, err := templates.Resolve(name, &o)
		if _, derr := templates.Default(name); derr != nil {
			if latchkey.ErrorCode(err) != latchkey.ENotFound {
				t.Fatalf("Resolve(%q): got %v, want ENotFound", name, err)
			}
			return
		}
		if err != nil || tpl.Name != name {
			t.Fatalf("Resolve(%q): got %q, %v, want the template", name, tpl.Name, err)
		}

		err = templates.Validate(o)
		if err != nil {
			var e *latchkey.Error
			if !errors.As(err, &e) || (e.Code != latchkey.EValidation && e.Code != latchkey.ENotFound) || e.Message == "" {
				t.Fatalf("Validate: got %v, want a coded EValidation or ENotFound with a message", err)
			}
			return
		}

		known := map[string]bool{}
		for _, k := range templates.Fields(name) {
			known[fold(k)] = true
		}
		values := map[string]string{}
		for k, v := range fields {
			values[k] = strings.ReplaceAll(v, "{{", "{")
		}
		marker := map[string]string{}
		for _, r := range templates.Required(name) {
			marker[r] = "ZQ" + r + "QZ"
			values[r] = marker[r]
		}
		out := templates.Render(tpl, values)
		parts := map[string]string{"subject": out.Subject, "text": out.Text, "html": out.HTML, "sms": out.SMS}
		for part, s := range parts {
			for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
				if known[fold(m[1])] {
					t.Errorf("%s: rendered %s holds %s, want every known field merged:\n%q", name, part, m[0], s)
				}
			}
		}
		for r, v := range marker {
			for part, s := range map[string]string{"text": out.Text, "html": out.HTML, "sms": out.SMS} {
				if part == "sms" && tpl.SMS == "" {
					continue
				}
				if part == "html" {
					v = html.EscapeString(v)
				}
				if !strings.Contains(s, v) {
					t.Errorf("%s: rendered %s lacks the required field %s (fields %v), want it, as Validate accepted:\n%q", name, part, r, values, s)
				}
			}
		}
	})
}
