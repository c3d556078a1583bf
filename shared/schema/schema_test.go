package schema_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/schema"
)

// attrNames returns the DynamoDB attribute names of struct type t: each
// field's dynamodbav name, its Go name when it has no tag, the fields of an
// embedded struct inlined.
func attrNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("dynamodbav"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, attrNames(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// secretLooking reports whether an attribute name says it holds a secret:
// a password hash, a keyed MAC or a sealed code.
func secretLooking(a string) bool {
	l := strings.ToLower(a)
	return strings.Contains(l, "hash") || strings.HasSuffix(l, "mac") || strings.Contains(l, "sealed")
}

// TestSchema_NoSecretProjected proves that no index copies a secret: every
// attribute of latchkey.User whose name says it is a hash, a MAC or sealed
// is listed in SecretAttributes, and no index projects any of those; that
// no index projects ALL; and that every projected attribute is one that a
// user or a tenant item has (a misspelt name would silently project
// nothing).
func TestSchema_NoSecretProjected(t *testing.T) {
	user := attrNames(reflect.TypeFor[latchkey.User]())
	tenant := attrNames(reflect.TypeFor[latchkey.Tenant]())
	for _, a := range user {
		if secretLooking(a) && !slices.Contains(schema.SecretAttributes, a) {
			t.Errorf("latchkey.User attribute %s looks secret but is not in SecretAttributes", a)
		}
	}
	for _, want := range []string{"passwordHash", "pinCodeMac", "pinCodeSealed", "pinMac", "welcomeMac"} {
		if !slices.Contains(schema.SecretAttributes, want) {
			t.Errorf("SecretAttributes: %s missing", want)
		}
	}
	for _, ix := range schema.Schema.Indexes {
		t.Run(ix.Name, func(t *testing.T) {
			if ix.Projection.Type != schema.ProjectInclude {
				t.Fatalf("projection: got %s, want %s", ix.Projection.Type, schema.ProjectInclude)
			}
			if len(ix.Projection.NonKeyAttributes) == 0 {
				t.Fatal("NonKeyAttributes: got none, want the attributes the index's readers read")
			}
			seen := map[string]bool{}
			for _, a := range ix.Projection.NonKeyAttributes {
				if seen[a] {
					t.Errorf("%s projected twice", a)
				}
				seen[a] = true
				if slices.Contains(schema.SecretAttributes, a) || secretLooking(a) {
					t.Errorf("%s is a secret attribute, projected", a)
				}
				if !slices.Contains(user, a) && !slices.Contains(tenant, a) {
					t.Errorf("%s is an attribute of neither a user nor a tenant", a)
				}
			}
		})
	}
}

// TestSchema_SignInWritesNoIndex proves that lastLoginAt, which every
// sign-in writes, is in no index, so a sign-in's update writes the table
// only (issue 13: the write was doubled with ALL).
func TestSchema_SignInWritesNoIndex(t *testing.T) {
	for _, ix := range schema.Schema.Indexes {
		if slices.Contains(ix.Projection.NonKeyAttributes, "lastLoginAt") {
			t.Errorf("%s projects lastLoginAt, want it in no index", ix.Name)
		}
	}
}
