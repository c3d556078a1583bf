package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/web"
)

// withoutWebDeployment returns resources without the role of the web
// assets' deployment (tagged WebDeploymentTag) and the policies attached to
// it alone.
func withoutWebDeployment(resources map[string]map[string]any) map[string]map[string]any {
	skip := map[string]bool{}
	for id, r := range resources {
		if r["Type"] != "AWS::IAM::Role" {
			continue
		}
		for _, tag := range anys(props(r)["Tags"]) {
			if kv, _ := tag.(map[string]any); kv["Key"] == WebDeploymentTag {
				skip[id] = true
			}
		}
	}
	out := map[string]map[string]any{}
	for id, r := range resources {
		if skip[id] {
			continue
		}
		if r["Type"] == "AWS::IAM::Policy" {
			roles := anys(props(r)["Roles"])
			if len(roles) == 1 && skip[ref(roles[0])] {
				continue
			}
		}
		out[id] = r
	}
	return out
}

// webPaths are the paths of web's TestPage, with the same expectations
// there, and more that a port to JavaScript could get wrong: names of
// Object.prototype's properties, percent-encoding, and paths Go's
// path.Clean rewrites.
var webPaths = []string{
	"/", "/t/demo/", "/t/demo", "/t/demo/forgot", "/t/demo/signup", "/t/demo/profile", "/t/demo/console",
	"/t/demo/console/", "/t/demo/security-pin", "/t/demo/welcome", "/security-pin", "/welcome",
	"/assets/app.css", "/assets/api.js", "/assets/../web.go", "/assets/missing.js", "/web.go", "/t/demo/nope",
	"/t/DEMO/", "/t/a/", "/t/demo/forgot/extra", "/v1/tenants/demo/sessions",
	// More.
	"", "/index.html", "/index.html/", "/signin.html", "/console/index.html", "/t/demo/constructor",
	"/t/demo/__proto__", "/assets/constructor", "/assets/__proto__", "/assets/", "/assets", "/assets/.",
	"/assets//app.css", "/assets/./app.css", "/assets/x/../app.css", "/assets/../assets/app.css",
	"/assets/../../etc/passwd", "/assets/app.css/", "/t/demo//", "/t/demo/-", "/t/a-b-c/welcome",
	"/t/" + strings.Repeat("a", 32) + "/", "/t/" + strings.Repeat("a", 33) + "/", "/t/-demo/", "/t/demo-/",
	"/T/demo/", "/t/demo/Welcome", "/welcome/", "/security-pin/", "/t/demo/security-pin/",
	"/t/demo/%73ignup", "/%61ssets/app.css", "/assets/%2e%2e/web.go", "/t/demo/%zz", "/t/d%65mo/",
}

// The CloudFront Function that maps page paths to files in AWS (pagefn.js,
// with the asset names filled in) answers every path as web.Page does
// under `make run`: the same file, or a 404 for what web.Page refuses.
// node runs the very code the stack deploys, on TestPage's paths, every
// file of web/ and paths a port could get wrong, so the two cannot drift.
func TestPageFunction_MatchesWebPage(t *testing.T) {
	paths := slices.Clone(webPaths)
	err := fs.WalkDir(web.FS, ".", func(p string, _ fs.DirEntry, err error) error {
		paths = append(paths, "/"+p, "/"+p+"/")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	code := pageFunctionCode()
	if strings.Contains(code, "__ASSETS__") || !strings.Contains(code, `"assets/app.css":true`) {
		t.Fatalf("page function: got %.200q…, want the asset names filled in", code)
	}
	// CloudFront's limit on a function's code.
	if len(code) > 10240 {
		t.Errorf("page function: got %d bytes, want at most 10 KB", len(code))
	}
	in, _ := json.Marshal(paths)
	cmd := exec.Command("node", "-e", code+`
let raw = "";
process.stdin.on("data", (c) => { raw += c; });
process.stdin.on("end", () => {
  const out = JSON.parse(raw).map((p) => {
    const r = handler({ request: { method: "GET", uri: p, querystring: {}, headers: {}, cookies: {} } });
    return [page(p), r.statusCode ? String(r.statusCode) : r.uri];
  });
  console.log(JSON.stringify(out));
});`)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var got [][2]string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(paths) {
		t.Fatalf("node answered %q (%v), want %d answers", out, err, len(paths))
	}
	pages := 0
	for i, p := range paths {
		if want := web.Page(p); got[i][0] != want {
			t.Errorf("page(%q): got %q in the CloudFront Function, want %q as web.Page", p, got[i][0], want)
		}
		want := "404"
		if dec, err := url.PathUnescape(p); err == nil {
			if name := web.Page(dec); name != "" {
				want = "/" + name
				pages++
			}
		}
		if got[i][1] != want {
			t.Errorf("handler(%q): got %q, want %q", p, got[i][1], want)
		}
	}
	if pages < 20 {
		t.Errorf("paths answered with a file: got %d, want at least 20", pages)
	}

	s := latchkeyTemplate(t)
	p := props(s.resources[s.the(t, "AWS::CloudFront::Function")])
	if p["FunctionCode"] != code {
		t.Errorf("deployed FunctionCode: got %.120q…, want pageFunctionCode()", p["FunctionCode"])
	}
	if cfg, _ := p["FunctionConfig"].(map[string]any); cfg["Runtime"] != "cloudfront-js-2.0" {
		t.Errorf("function runtime: got %v, want cloudfront-js-2.0", cfg["Runtime"])
	}
}

// The web bucket is private: all four public access blocks on, objects
// owned by the bucket (no ACLs), S3-managed encryption, HTTPS only, and
// readable by this distribution alone, through Origin Access Control.
func TestWeb_Bucket(t *testing.T) {
	s := latchkeyTemplate(t)
	bucket := s.the(t, "AWS::S3::Bucket")
	p := props(s.resources[bucket])
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if got := p["PublicAccessBlockConfiguration"].(map[string]any)[k]; got != true {
			t.Errorf("PublicAccessBlockConfiguration.%s: got %v, want true", k, got)
		}
	}
	if b, _ := json.Marshal(p["BucketEncryption"]); !strings.Contains(string(b), `"SSEAlgorithm":"AES256"`) {
		t.Errorf("BucketEncryption: got %s, want S3-managed (AES256)", b)
	}
	if b, _ := json.Marshal(p["OwnershipControls"]); !strings.Contains(string(b), "BucketOwnerEnforced") {
		t.Errorf("OwnershipControls: got %s, want BucketOwnerEnforced", b)
	}
	dist := s.the(t, "AWS::CloudFront::Distribution")
	var denyHTTP, cloudfront bool
	for _, st := range anys(props(s.resources[s.the(t, "AWS::S3::BucketPolicy")])["PolicyDocument"].(map[string]any)["Statement"]) {
		m := st.(map[string]any)
		b, _ := json.Marshal(m)
		switch {
		case m["Effect"] == "Deny" && m["Action"] == "s3:*" && strings.Contains(string(b), `"aws:SecureTransport":"false"`):
			denyHTTP = true
		case m["Effect"] == "Allow":
			// The only Allow: CloudFront, for this distribution, reading objects.
			if m["Action"] != "s3:GetObject" || !strings.Contains(string(b), `"Service":"cloudfront.amazonaws.com"`) ||
				!strings.Contains(string(b), `"AWS:SourceArn"`) || !strings.Contains(string(b), `{"Ref":"`+dist+`"}`) {
				t.Errorf("bucket policy: got %s, want only CloudFront reading objects for distribution %s", b, dist)
			}
			cloudfront = true
		}
	}
	if !denyHTTP || !cloudfront {
		t.Errorf("bucket policy: got deny-HTTP %v, CloudFront read %v, want both", denyHTTP, cloudfront)
	}
}

// The distribution sends pages to the bucket through Origin Access Control,
// HTTPS only, through the page function and the security headers; and
// /v1/* to the HTTP API's own host over HTTPS, uncached, with every viewer
// header but Host and every method.
func TestWeb_Distribution(t *testing.T) {
	s := latchkeyTemplate(t)
	cfg := props(s.resources[s.the(t, "AWS::CloudFront::Distribution")])["DistributionConfig"].(map[string]any)
	origins := map[string]map[string]any{}
	for _, o := range anys(cfg["Origins"]) {
		m := o.(map[string]any)
		origins[m["Id"].(string)] = m
	}

	def := cfg["DefaultCacheBehavior"].(map[string]any)
	s3o := origins[def["TargetOriginId"].(string)]
	if got := ref(s3o["DomainName"]); got != s.the(t, "AWS::S3::Bucket") {
		t.Errorf("default origin: got %v, want the web bucket", s3o["DomainName"])
	}
	if got := ref(s3o["OriginAccessControlId"]); got != s.the(t, "AWS::CloudFront::OriginAccessControl") {
		t.Errorf("default origin access control: got %v, want the stack's", s3o["OriginAccessControlId"])
	}
	oac := props(s.resources[s.the(t, "AWS::CloudFront::OriginAccessControl")])["OriginAccessControlConfig"].(map[string]any)
	if oac["OriginAccessControlOriginType"] != "s3" || oac["SigningBehavior"] != "always" || oac["SigningProtocol"] != "sigv4" {
		t.Errorf("origin access control: got %v, want s3, always signed with sigv4", oac)
	}
	if got := def["ViewerProtocolPolicy"]; got != "redirect-to-https" {
		t.Errorf("default ViewerProtocolPolicy: got %v, want redirect-to-https", got)
	}
	if got := def["AllowedMethods"]; !reflect.DeepEqual(got, []any{"GET", "HEAD"}) {
		t.Errorf("default AllowedMethods: got %v, want GET and HEAD", got)
	}
	fa := anys(def["FunctionAssociations"])
	if len(fa) != 1 || fa[0].(map[string]any)["EventType"] != "viewer-request" || ref(fa[0].(map[string]any)["FunctionARN"]) != s.the(t, "AWS::CloudFront::Function") {
		t.Errorf("default FunctionAssociations: got %v, want the page function on viewer-request", fa)
	}
	if got := ref(def["ResponseHeadersPolicyId"]); got != s.the(t, "AWS::CloudFront::ResponseHeadersPolicy") {
		t.Errorf("default ResponseHeadersPolicyId: got %v, want the stack's", def["ResponseHeadersPolicyId"])
	}

	if !strings.HasPrefix(routes.Prefix, strings.TrimSuffix(WebAPIPathPattern, "*")) {
		t.Errorf("routes.Prefix %s: want it under %s", routes.Prefix, WebAPIPathPattern)
	}
	behaviours := anys(cfg["CacheBehaviors"])
	if len(behaviours) != 1 {
		t.Fatalf("CacheBehaviors: got %d, want 1 (/v1/*)", len(behaviours))
	}
	api := behaviours[0].(map[string]any)
	for k, want := range map[string]any{
		"PathPattern":          "/v1/*",
		"ViewerProtocolPolicy": "redirect-to-https",
		// The managed CachingDisabled and AllViewerExceptHostHeader policies.
		"CachePolicyId":         "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
		"OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
		"AllowedMethods":        []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"},
	} {
		if got := api[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("/v1/* %s: got %v, want %v", k, got, want)
		}
	}
	if _, ok := api["FunctionAssociations"]; ok {
		t.Errorf("/v1/* FunctionAssociations: got %v, want none (the API answers its own paths)", api["FunctionAssociations"])
	}
	o := origins[api["TargetOriginId"].(string)]
	want := map[string]any{"Fn::Select": []any{float64(2), map[string]any{"Fn::Split": []any{"/",
		map[string]any{"Fn::GetAtt": []any{s.the(t, "AWS::ApiGatewayV2::Api"), "ApiEndpoint"}}}}}}
	if !reflect.DeepEqual(o["DomainName"], want) {
		t.Errorf("/v1/* origin DomainName: got %v, want the host of the API's endpoint", o["DomainName"])
	}
	if c, _ := o["CustomOriginConfig"].(map[string]any); c["OriginProtocolPolicy"] != "https-only" {
		t.Errorf("/v1/* origin protocol: got %v, want https-only", o["CustomOriginConfig"])
	}
	if _, ok := (*s.template.ToJSON())["Outputs"].(map[string]any)["WebUrl"]; !ok {
		t.Errorf("outputs: got no WebUrl, want one")
	}
}

// The /v1/* origin sends the origin secret in OriginVerifyHeader (the header
// httpapi.SourceAddress reads), as a dynamic reference to a generated
// 32-character secret, never its value; every function serving a route
// (and $default) gets the same reference as ORIGIN_VERIFY, the others none;
// and the origin request policy stays the managed AllViewerExceptHostHeader,
// which forwards CloudFront-Viewer-Address and not Host, with no policy of
// the stack's own.
func TestWeb_OriginVerify(t *testing.T) {
	s := latchkeyTemplate(t)
	if !strings.EqualFold(OriginVerifyHeader, httpapi.OriginVerifyHeader) {
		t.Errorf("OriginVerifyHeader %s: want httpapi's %s, in any case", OriginVerifyHeader, httpapi.OriginVerifyHeader)
	}
	var secret string
	for _, id := range s.ofType("AWS::SecretsManager::Secret") {
		if d, _ := props(s.resources[id])["Description"].(string); strings.Contains(d, OriginVerifyHeader) {
			secret = id
		}
	}
	if secret == "" || secret == s.masterKey(t) {
		t.Fatalf("secrets: got %q described as the origin secret, want one other than the master key", secret)
	}
	gen := props(s.resources[secret])["GenerateSecretString"]
	if want := map[string]any{"ExcludePunctuation": true, "PasswordLength": float64(32)}; !reflect.DeepEqual(gen, want) {
		t.Errorf("origin secret GenerateSecretString: got %v, want %v", gen, want)
	}
	// {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret}, ":SecretString:::}}"]]}
	isReference := func(v any) bool {
		m, _ := v.(map[string]any)
		j, _ := m["Fn::Join"].([]any)
		if len(j) != 2 {
			return false
		}
		parts := anys(j[1])
		if len(parts) != 3 {
			return false
		}
		end, _ := parts[2].(string)
		return parts[0] == "{{resolve:secretsmanager:" && ref(parts[1]) == secret && strings.HasPrefix(end, ":SecretString:")
	}

	cfg := props(s.resources[s.the(t, "AWS::CloudFront::Distribution")])["DistributionConfig"].(map[string]any)
	api := anys(cfg["CacheBehaviors"])[0].(map[string]any)
	if got := api["OriginRequestPolicyId"]; got != "b689b0a8-53d0-40ab-baf2-68738e2966ac" {
		t.Errorf("/v1/* OriginRequestPolicyId: got %v, want AllViewerExceptHostHeader's", got)
	}
	if ids := s.ofType("AWS::CloudFront::OriginRequestPolicy"); len(ids) != 0 {
		t.Errorf("origin request policies: got %v, want none of the stack's own", ids)
	}
	for _, o := range anys(cfg["Origins"]) {
		o := o.(map[string]any)
		headers := anys(o["OriginCustomHeaders"])
		if o["Id"] != api["TargetOriginId"] {
			if len(headers) != 0 {
				t.Errorf("origin %v: got custom headers %v, want none (only the API's origin)", o["Id"], headers)
			}
			continue
		}
		if len(headers) != 1 {
			t.Fatalf("/v1/* origin custom headers: got %v, want one", headers)
		}
		h := headers[0].(map[string]any)
		if h["HeaderName"] != OriginVerifyHeader || !isReference(h["HeaderValue"]) {
			t.Errorf("/v1/* origin custom header: got %v, want %s with a dynamic reference to the origin secret", h, OriginVerifyHeader)
		}
	}

	routeFns := map[string]bool{DefaultRouteFunction: true}
	for _, r := range catalog.Routes() {
		routeFns[r.Function] = true
	}
	for name, id := range s.functionsByName(t) {
		env, _ := props(s.resources[id])["Environment"].(map[string]any)
		v, ok := env["Variables"].(map[string]any)[OriginVerifyEnv]
		switch {
		case routeFns[name] && !isReference(v):
			t.Errorf("%s %s: got %v, want a dynamic reference to the origin secret", name, OriginVerifyEnv, v)
		case !routeFns[name] && ok:
			t.Errorf("%s %s: got %v, want none (it serves no route)", name, OriginVerifyEnv, v)
		}
	}
}

// masterKey returns the logical id of the master-key secret, the one of the
// stack's two secrets that is not the origin secret (newWeb).
func (s synthed) masterKey(t *testing.T) string {
	t.Helper()
	var ids []string
	for _, id := range s.ofType("AWS::SecretsManager::Secret") {
		if d, _ := props(s.resources[id])["Description"].(string); strings.HasPrefix(d, "Latchkey master key") {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("master-key secrets: got %v, want one", ids)
	}
	return ids[0]
}

// The response headers policy adds the headers web.Handler sets under
// `make run`, with the same values (read from web.Handler itself), and
// HSTS, which only an HTTPS origin can set: the pages look the same to a
// browser wherever they are served.
func TestWeb_SecurityHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	web.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/t/demo/", nil))
	local := w.Header()
	if local.Get("Content-Security-Policy") == "" {
		t.Fatalf("web.Handler: got no Content-Security-Policy (status %d)", w.Code)
	}
	s := latchkeyTemplate(t)
	cfg := props(s.resources[s.the(t, "AWS::CloudFront::ResponseHeadersPolicy")])["ResponseHeadersPolicyConfig"].(map[string]any)
	sec := cfg["SecurityHeadersConfig"].(map[string]any)
	get := func(k string) map[string]any { m, _ := sec[k].(map[string]any); return m }
	if got := get("ContentSecurityPolicy")["ContentSecurityPolicy"]; got != local.Get("Content-Security-Policy") {
		t.Errorf("Content-Security-Policy: got %v, want web.Handler's %q", got, local.Get("Content-Security-Policy"))
	}
	if local.Get("X-Content-Type-Options") != "nosniff" || get("ContentTypeOptions")["Override"] != true {
		t.Errorf("X-Content-Type-Options: got %v, want nosniff as web.Handler (%q)", get("ContentTypeOptions"), local.Get("X-Content-Type-Options"))
	}
	if got := get("ReferrerPolicy")["ReferrerPolicy"]; got != local.Get("Referrer-Policy") {
		t.Errorf("Referrer-Policy: got %v, want web.Handler's %q", got, local.Get("Referrer-Policy"))
	}
	if got := get("FrameOptions")["FrameOption"]; got != "DENY" {
		t.Errorf("X-Frame-Options: got %v, want DENY", got)
	}
	if hsts := get("StrictTransportSecurity"); hsts["AccessControlMaxAgeSec"] != float64(365*24*3600) || hsts["Override"] != true {
		t.Errorf("Strict-Transport-Security: got %v, want a year", hsts)
	}
	for k, v := range sec {
		if m, _ := v.(map[string]any); m["Override"] != true {
			t.Errorf("%s: got Override %v, want true", k, m["Override"])
		}
	}
	items := anys(cfg["CustomHeadersConfig"].(map[string]any)["Items"])
	if len(items) != 1 || items[0].(map[string]any)["Header"] != "Cache-Control" || items[0].(map[string]any)["Value"] != local.Get("Cache-Control") {
		t.Errorf("custom headers: got %v, want Cache-Control %q as web.Handler", items, local.Get("Cache-Control"))
	}
}

// The deployment copies web/'s assets, and nothing else (no Go source), to
// the web bucket and invalidates the distribution; in both stages, whose
// bucket and copied files stay with a prod stack and go with a dev one.
func TestWeb_Deployment(t *testing.T) {
	for stage, want := range map[string]struct {
		policy string
		retain bool
	}{StageDev: {"Delete", false}, StageProd: {"Retain", true}} {
		t.Run(stage, func(t *testing.T) {
			ctx := cdkContext(t)
			ctx[ctxStage], ctx[ctxSenderEmail] = stage, realSender
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
			cfg, err := ConfigFromContext(app)
			if err != nil {
				t.Fatal(err)
			}
			cfg.BuildDir = buildDir
			stack := NewLatchkeyStack(app, StackName(stage), &LatchkeyStackProps{Config: cfg}).Stack()
			tpl := assertions.Template_FromStack(stack, nil)
			s := synthed{resources: map[string]map[string]any{}}
			for id, r := range (*tpl.ToJSON())["Resources"].(map[string]any) {
				s.resources[id], _ = r.(map[string]any)
			}
			bucket := s.the(t, "AWS::S3::Bucket")
			if got := s.resources[bucket]["DeletionPolicy"]; got != want.policy {
				t.Errorf("bucket DeletionPolicy: got %v, want %s", got, want.policy)
			}
			p := props(s.resources[s.the(t, "Custom::CDKBucketDeployment")])
			if ref(p["DestinationBucketName"]) != bucket || ref(p["DistributionId"]) != s.the(t, "AWS::CloudFront::Distribution") {
				t.Errorf("deployment: got bucket %v, distribution %v, want the web bucket and distribution", p["DestinationBucketName"], p["DistributionId"])
			}
			if !reflect.DeepEqual(p["DistributionPaths"], []any{"/*"}) || p["RetainOnDelete"] != want.retain {
				t.Errorf("deployment: got paths %v, RetainOnDelete %v, want [/*] and %v", p["DistributionPaths"], p["RetainOnDelete"], want.retain)
			}
			keys := anys(p["SourceObjectKeys"])
			if len(keys) != 1 {
				t.Fatalf("deployment sources: got %v, want one", keys)
			}
			// The staged copy of the source, as cdk deploy uploads it.
			dir := filepath.Join(*app.Outdir(), "asset."+strings.TrimSuffix(keys[0].(string), ".zip"))
			var staged, source []string
			err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					staged = append(staged, filepath.ToSlash(rel))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = fs.WalkDir(web.FS, ".", func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					source = append(source, p)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(staged)
			sort.Strings(source)
			if !slices.Equal(staged, source) {
				t.Errorf("deployed files: got %v, want web.FS's %v", staged, source)
			}
		})
	}
}

// The web deployment's role is the only one the IAM tests leave out, and
// it holds only what the CDK's copier needs: its log group, the CDK asset
// bucket, this stack's web bucket, and the distribution's invalidation.
func TestWeb_DeploymentRole(t *testing.T) {
	s := latchkeyTemplate(t)
	left := withoutWebDeployment(s.resources)
	if got := len(s.resources) - len(left); got != 2 {
		t.Errorf("resources left out: got %d, want 2 (the role and its policy)", got)
	}
	bucket, logs := s.the(t, "AWS::S3::Bucket"), ""
	for _, id := range s.ofType("AWS::Logs::LogGroup") {
		if strings.HasPrefix(id, "WebDeploymentLogs") {
			logs = id
		}
	}
	n := 0
	for id, r := range s.resources {
		if _, ok := left[id]; ok || r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		walkStatements(map[string]map[string]any{id: r}, func(where string, st map[string]any) {
			n++
			b, _ := json.Marshal(st["Resource"])
			res := string(b)
			ok := st["Effect"] == "Allow"
			switch {
			case res == `"*"`:
				ok = ok && slices.Equal(strings1(st["Action"]), []string{"cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"})
			case strings.Contains(res, "cdk-hnb659fds-assets-"):
				ok = ok && slices.Equal(strings1(st["Action"]), []string{"s3:GetBucket*", "s3:GetObject*", "s3:List*"})
			default:
				ok = ok && (strings.Contains(res, `"`+bucket+`"`) || strings.Contains(res, `"`+logs+`"`))
			}
			if !ok {
				t.Errorf("%s: got %v on %s, want only the copier's grants", where, st["Action"], res)
			}
		})
	}
	if n != 4 {
		t.Errorf("deployment role statements: got %d, want 4", n)
	}
}
