package latchkey

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Every Action constant declared in this package is in the list that
// ValidAction (and so the audit log's action filter) accepts.
func TestActions_Complete(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
					continue
				}
				for i, name := range vs.Names {
					declared++
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: got a value that is not a literal", name.Name)
					}
					a := Action(lit.Value[1 : len(lit.Value)-1])
					if !ValidAction(a) {
						t.Errorf("%s (%q): got ValidAction false, want it in the actions list", name.Name, a)
					}
				}
			}
		}
	}
	if declared != len(Actions()) {
		t.Errorf("got %d Action constants and %d listed actions, want the same (no duplicates, none extra)", declared, len(Actions()))
	}
	for _, bad := range []Action{"", "session", "SESSION.SIGN_IN", "session.sign_in "} {
		if ValidAction(bad) {
			t.Errorf("ValidAction(%q): got true, want false", bad)
		}
	}
}
