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

// AccountLock tells the events of a new lock (a lockout of a real user, an
// admin's first lock) from every other sign-in and lock event.
func TestAuditEvent_AccountLock(t *testing.T) {
	for _, c := range []struct {
		name        string
		e           AuditEvent
		lockout, ok bool
	}{
		{"lockout of a user", Event("t", "anonymous", "u1", ActionSignIn, ResultDenied, ReasonLockout), true, true},
		{"lockout of an unknown username", Event("t", "anonymous", UsernameMACPrefix+"abc", ActionSignIn, ResultDenied, ReasonLockout), true, false},
		{"refused while locked out", Event("t", "anonymous", "u1", ActionSignIn, ResultDenied, "locked"), false, false},
		{"a failure below the threshold", Event("t", "anonymous", "u1", ActionSignIn, ResultFailure, "invalid_credentials"), false, false},
		{"refused while locked by staff", Event("t", "anonymous", "u1", ActionSignIn, ResultDenied, "admin_locked"), false, false},
		{"a sign-in", Event("t", "u1", "u1", ActionSignIn, ResultSuccess, ""), false, false},
		{"an admin lock", Event("t", "admin", "u1", ActionUserLock, ResultSuccess, ""), false, true},
		{"an admin lock of a locked user", Event("t", "admin", "u1", ActionUserLock, ResultSuccess, ReasonAlreadyLocked), false, false},
		{"a refused admin lock", Event("t", "admin", "u1", ActionUserLock, ResultDenied, "forbidden"), false, false},
		{"an unlock", Event("t", "admin", "u1", ActionUserUnlock, ResultSuccess, ""), false, false},
	} {
		lockout, ok := c.e.AccountLock()
		if lockout != c.lockout || ok != c.ok {
			t.Errorf("%s: got lockout %v ok %v, want %v %v", c.name, lockout, ok, c.lockout, c.ok)
		}
	}
}
