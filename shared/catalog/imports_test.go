package catalog_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/catalog"
)

// deps returns the packages pkg links (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// Each function links only what its routes need: the capabilities whose
// routes it serves (its own, and one whose routes it hosts, as
// pin-verification hosts userpin's), never the local stack, the test
// harness, the whole-system wiring or another capability; SNS only when it
// sends SMS, SES only when it sends e-mail, Secrets Manager (and shared/app,
// which loads the keys) only when it needs a key; and the phone-number library (whose package init costs ~8 ms
// and ~5 MiB of every cold start) only in the functions that parse mobile
// numbers, listed in parsesPhones. The CDK app reads the schema without the
// DynamoDB SDK.
func TestFunctions_ImportGraph(t *testing.T) {
	const mod = "github.com/latchkey/latchkey"
	parsesPhones := map[string]bool{"accounts": true, "users": true}
	never := []string{
		mod + "/shared/system", mod + "/shared/catalog", mod + "/shared/devstack", // and its gateway and testenv
		mod + "/shared/internal/testclock", mod + "/cmd", "testing", "net/http/httptest",
		// The SDK's config package and the credential chains it brings (a
		// function reads its credentials from its environment: config.AWS).
		"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sts",
		"github.com/aws/aws-sdk-go-v2/service/sso", "github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	}
	dirs, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	// links: the capabilities each function links, the one declaring it
	// and every one whose routes it serves.
	links := map[string][]string{}
	add := func(fn, pkg string) {
		if !slices.Contains(links[fn], pkg) {
			links[fn] = append(links[fn], pkg)
		}
	}
	for _, c := range catalog.Capabilities() {
		for _, f := range c.Functions {
			add(f.Name, c.Package)
		}
		for _, e := range c.Endpoints {
			add(e.Function, c.Package)
		}
	}
	declared := map[string]bool{}
	for _, f := range catalog.Functions() {
		declared[f.Name] = true
		t.Run(f.Name, func(t *testing.T) {
			got := deps(t, mod+"/functions/"+f.Name)
			for _, c := range links[f.Name] {
				if !slices.Contains(got, c) {
					t.Errorf("does not link %s, whose routes it serves", c)
				}
			}
			bad := slices.Clone(never)
			for _, other := range catalog.Capabilities() {
				if !slices.Contains(links[f.Name], other.Package) {
					bad = append(bad, other.Package)
				}
			}
			if !f.Needs.SMS {
				bad = append(bad, "github.com/aws/aws-sdk-go-v2/service/sns", mod+"/shared/sns")
			}
			if !f.Needs.Email {
				bad = append(bad, "github.com/aws/aws-sdk-go-v2/service/sesv2", mod+"/shared/ses")
			}
			if !f.Needs.Secret {
				// No key: no Secrets Manager, and none of shared/app, which loads the keys.
				bad = append(bad, "github.com/aws/aws-sdk-go-v2/service/secretsmanager", mod+"/shared/secrets", mod+"/shared/app")
			}
			if !parsesPhones[f.Name] {
				bad = append(bad, "github.com/nyaruka/phonenumbers", "google.golang.org/protobuf", mod+"/shared/phone")
			}
			for _, p := range got {
				for _, b := range bad {
					if p == b || strings.HasPrefix(p, b+"/") {
						t.Errorf("links %s, which it does not need", p)
					}
				}
			}
		})
	}
	for _, d := range dirs {
		if d.IsDir() && !declared[d.Name()] {
			t.Errorf("functions/%s is no function of the route table", d.Name())
		}
	}
	for name := range declared {
		if _, err := os.Stat(filepath.Join("..", "..", "functions", name, "main.go")); err != nil {
			t.Errorf("function %s has no functions/%s/main.go", name, name)
		}
	}
	t.Run("infra", func(t *testing.T) {
		for _, p := range deps(t, mod+"/infra") {
			if strings.HasPrefix(p, "github.com/aws/aws-sdk-go-v2/service/dynamodb") {
				t.Errorf("the CDK app links %s", p)
			}
		}
	})
}
