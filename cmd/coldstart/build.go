package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// helloPkg is the reference function: aws-lambda-go and nothing else.
const helloPkg = "./cmd/coldstart/hello"

// helloName is its function name in the report.
const helloName = "hello-world"

// Builder builds bootstraps as the Makefile's pattern rule does.
type Builder struct {
	// Go is the go command.
	Go string
	// Dir is the repository root, where packages are resolved.
	Dir string
}

// buildFlags are the Makefile's flags (build/%/bootstrap) after GOOS/GOARCH.
var buildFlags = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

// Functions returns the import paths of the main packages under ./functions/.
func (b Builder) Functions(ctx context.Context) ([]string, error) {
	out, err := b.run(ctx, nil, "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, "./functions/...")
	if err != nil {
		return nil, err
	}
	pkgs := strings.Fields(out)
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list ./functions/...: no main package in %s/functions", b.Dir)
	}
	return pkgs, nil
}

// Build builds pkg for goos/goarch with CGO_ENABLED=0 and the Makefile's
// flags into <dir>/<name>/bootstrap and returns that path.
func (b Builder) Build(ctx context.Context, pkg, name, goos, goarch, dir string) (string, error) {
	out := filepath.Join(dir, name, "bootstrap")
	env := []string{"GOOS=" + goos, "GOARCH=" + goarch, "CGO_ENABLED=0"}
	args := append(append([]string{}, buildFlags...), "-o", out, pkg)
	if _, err := b.run(ctx, env, args...); err != nil {
		return "", err
	}
	return out, nil
}

// Version is `go env GOVERSION` of the go command that builds.
func (b Builder) Version(ctx context.Context) (string, error) {
	out, err := b.run(ctx, nil, "env", "GOVERSION")
	return strings.TrimSpace(out), err
}

func (b Builder) run(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.Go, args...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", b.Go, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Built is one program built for the host (to run) and for linux/arm64 (to
// weigh, as deployed).
type Built struct {
	Name      string
	Pkg       string
	Host      string
	ARM64Size int64
}

// BuildAll builds hello-world and every function under ./functions/ for the
// host and for linux/arm64, hello-world first.
func (b Builder) BuildAll(ctx context.Context, dir string, progress func(string)) ([]Built, error) {
	fns, err := b.Functions(ctx)
	if err != nil {
		return nil, err
	}
	pkgs := append([]string{helloPkg}, fns...)
	var out []Built
	for _, pkg := range pkgs {
		name := path.Base(pkg)
		if pkg == helloPkg {
			name = helloName
		}
		progress(fmt.Sprintf("building %s (%s/%s and linux/arm64)", name, runtime.GOOS, runtime.GOARCH))
		host, err := b.Build(ctx, pkg, name, runtime.GOOS, runtime.GOARCH, filepath.Join(dir, "host"))
		if err != nil {
			return nil, err
		}
		arm, err := b.Build(ctx, pkg, name, "linux", "arm64", filepath.Join(dir, "linux-arm64"))
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(arm)
		if err != nil {
			return nil, err
		}
		out = append(out, Built{Name: name, Pkg: pkg, Host: host, ARM64Size: fi.Size()})
	}
	return out, nil
}
