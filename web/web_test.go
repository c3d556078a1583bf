package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
)

// Page maps each page path to its file and refuses anything else: API
// paths, unknown pages, tenant ids the API would refuse, and paths that
// climb out of the assets.
func TestPage(t *testing.T) {
	cases := []struct{ path, want string }{
		{"/", "index.html"},
		{"/t/demo/", "signin.html"},
		{"/t/demo", "signin.html"},
		{"/t/demo/forgot", "forgot.html"},
		{"/t/demo/signup", "signup.html"},
		{"/t/demo/profile", "profile.html"},
		{"/t/demo/console", "console/index.html"},
		{"/t/demo/console/", "console/index.html"},
		{"/t/demo/security-pin", "security-pin.html"},
		{"/t/demo/welcome", "welcome.html"},
		{"/security-pin", "security-pin.html"},
		{"/welcome", "welcome.html"},
		{"/assets/app.css", "assets/app.css"},
		{"/assets/api.js", "assets/api.js"},
		{"/assets/../web.go", ""},
		{"/assets/missing.js", ""},
		{"/web.go", ""},
		{"/t/demo/nope", ""},
		{"/t/DEMO/", ""},
		{"/t/a/", ""},
		{"/t/demo/forgot/extra", ""},
		{"/v1/tenants/demo/sessions", ""},
	}
	for _, c := range cases {
		if got := Page(c.path); got != c.want {
			t.Errorf("Page(%q): got %q, want %q", c.path, got, c.want)
		}
	}
}

// Handler serves pages with a same-origin content security policy, no
// referrer and no caching, and answers 404 and 405 otherwise.
func TestHandler(t *testing.T) {
	h := Handler()
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	w := get("GET", "/t/demo/")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `src="/assets/signin.js"`) {
		t.Fatalf("GET /t/demo/: got %d %.80q, want 200 and the sign-in page", w.Code, w.Body.String())
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'", "Referrer-Policy": "no-referrer",
		"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache",
	} {
		if got := w.Header().Get(k); !strings.HasPrefix(got, want) {
			t.Errorf("%s: got %q, want it to start with %q", k, got, want)
		}
	}
	if w := get("GET", "/assets/console.js"); w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Errorf("GET /assets/console.js: got %d %q, want 200 JavaScript", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get("GET", "/nowhere"); w.Code != http.StatusNotFound {
		t.Errorf("GET /nowhere: got %d, want 404", w.Code)
	}
	if w := get("POST", "/t/demo/"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /t/demo/: got %d, want 405", w.Code)
	}
}

// The pages load nothing from another origin: every src and href in the
// HTML is a path of this site (no CDN, no font service).
func TestAssets_SameOrigin(t *testing.T) {
	for _, name := range []string{"index.html", "signin.html", "forgot.html", "signup.html", "profile.html", "security-pin.html", "welcome.html", "console/index.html"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, attr := range []string{`src="`, `href="`} {
			for _, part := range strings.Split(string(b), attr)[1:] {
				url := part[:strings.IndexByte(part, '"')]
				if strings.Contains(url, "//") {
					t.Errorf("%s: got %s%s\", want a same-origin path", name, attr, url)
				}
			}
		}
	}
}

// The live password checks in policy.js give the same verdict as the API's
// password.Check under the default policy, rule for rule, except the
// common-password list, which stays on the server.
func TestPolicyJS_MatchesAPI(t *testing.T) {
	type tc struct {
		Password string `json:"password"`
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	cases := []tc{
		{"", "nina", ""}, {"short1", "nina", ""}, {"longenough", "nina", ""}, {"12345678901", "nina", ""},
		{"Lantern-harbour-42", "nina", ""}, {"my-NINA-pass-42", "nina", ""}, {"ab1", "ab", ""},
		{"nina.smith-77x", "bob", "nina.smith@example.com"}, {"xx-NINA.SMITH@EXAMPLE.COM-9", "bob", "nina.smith@example.com"},
		{"Ünïcödé-pässwörd-٣", "user", ""}, {strings.Repeat("a1", 65), "nina", ""}, {"ｎｉｎａ-fullwidth-12", "nina", ""},
		{"my-straße-123", "STRASSE", ""}, {"ΌΣΟΣ-word-12", "όσος", ""},
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command("node", "--input-type=module", "-e", `
import { check } from "./assets/policy.js";
let raw = ""; for await (const c of process.stdin) raw += c;
console.log(JSON.stringify(JSON.parse(raw).map((c) => check(c.password, c)))); `)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got [][]string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("node answered %q (%v), want %d verdicts", out, err, len(cases))
	}
	policy := latchkey.DefaultSettings().Policy
	for i, c := range cases {
		want := slices.DeleteFunc(password.Check(policy, c.Password, c.Username, c.Email), func(r string) bool { return r == password.RuleCommon })
		if got[i] == nil {
			got[i] = []string{}
		}
		if want == nil {
			want = []string{}
		}
		if !slices.Equal(got[i], want) {
			t.Errorf("check(%q, %q, %q): got %v in JavaScript, want %v as the API", c.Password, c.Username, c.Email, got[i], want)
		}
	}
}
