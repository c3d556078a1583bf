// Command gencommon writes shared/password's embedded common-password list:
// the "Passwords" frequency list of the zxcvbn-go module (MIT licence, see
// ../../commonpasswords.LICENSE), one lowercase password a line, most common
// first, without duplicates. The module is fetched with `go mod download`, so
// it is not a dependency of Latchkey. Run it through go generate:
//
//	go generate ./shared/password
//
// It reads data/data/Passwords.json, the source of the gzipped copy that
// zxcvbn-go's frequency package decodes at init (the two hold the same 7,141
// entries in v1.0.4).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	module := flag.String("module", "github.com/ccojocar/zxcvbn-go@v1.0.4", "zxcvbn-go module and exact version to read the list from")
	out := flag.String("o", "commonpasswords.txt", "file to write")
	flag.Parse()
	if err := run(*module, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gencommon:", err)
		os.Exit(1)
	}
}

func run(module, out string) error {
	dir, err := download(module)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "data", "data", "Passwords.json"))
	if err != nil {
		return err
	}
	var src struct{ List []string }
	if err := json.Unmarshal(raw, &src); err != nil {
		return fmt.Errorf("decode Passwords.json: %w", err)
	}
	list, err := normalize(src.List)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gencommon: %d passwords from %s written to %s\n", len(list), module, out)
	return nil
}

// normalize lowercases the entries, as the policy compares case-folded, and
// keeps the first of any duplicates, so the order stays most common first.
func normalize(in []string) ([]string, error) {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, p := range in {
		p = strings.ToLower(p)
		if p == "" || strings.ContainsAny(p, "\r\n") {
			return nil, fmt.Errorf("entry %q cannot be stored one a line", p)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the list is empty")
	}
	return out, nil
}

// download fetches module (path@version) into the module cache and returns
// its directory. It runs outside this module so that go.mod and go.sum stay
// as they are.
func download(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOWORK=off", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(b, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", module, err, stderr.Bytes())
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: no directory in %s", module, b)
	}
	return info.Dir, nil
}
