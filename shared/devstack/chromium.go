package devstack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// chromiumPackage is the npm package that ships the browser for the
// browser tests, pinned in infra/package.json: a brotli-compressed headless
// Chromium for x64 Linux that needs no system libraries beyond glibc's, so
// `make test` installs it with the other Node tools and no root.
const chromiumPackage = "@sparticuz/chromium"

// ChromiumFlags are the command-line switches the browser tests start
// Chromium with: headless, no sandbox (tests may run as root), and nothing
// that reaches the network by itself (the machines have none, and a
// background fetch would only slow start-up).
var ChromiumFlags = []string{
	"--headless=shell", "--no-sandbox", "--no-zygote", "--disable-gpu",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-default-apps", "--disable-extensions", "--no-first-run", "--no-default-browser-check",
	"--metrics-recording-only", "--mute-audio", "--hide-scrollbars",
}

// Chromium returns the path of the pinned headless Chromium, extracting it
// once from the npm package into infra/node_modules/.cache/chromium-<version>
// (ignored by git, and removed with node_modules when `npm ci` installs
// another version). Concurrent test packages wait on one lock; later calls
// only stat the file. It installs the Node tools first if they are missing.
func Chromium(root string) (string, error) {
	if err := EnsureNodeTools(root); err != nil {
		return "", err
	}
	pkgDir := filepath.Join(nodeModules(root), filepath.FromSlash(chromiumPackage))
	raw, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", fmt.Errorf("%s is not installed (run make tools): %w", chromiumPackage, err)
	}
	var meta struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Version == "" {
		return "", fmt.Errorf("read %s version: %v", chromiumPackage, err)
	}
	dir := filepath.Join(nodeModules(root), ".cache", "chromium-"+meta.Version)
	exe := filepath.Join(dir, "chromium")
	if ok, err := executable(exe); ok || err != nil {
		return exe, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", dir, err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if ok, err := executable(exe); ok || err != nil {
		return exe, err
	}
	// The package's executablePath() inflates the binary (and its fonts and
	// SwiftShader) into os.tmpdir(): TMPDIR points that at the cache, so
	// nothing lands in a /tmp shared with other checkouts.
	cmd := exec.Command("node", "--input-type=module", "-e",
		"import c from '"+chromiumPackage+"'; console.log(await c.executablePath())")
	cmd.Dir = filepath.Join(root, "infra")
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("extract Chromium from %s: %v\n%s", chromiumPackage, err, tail(out.String()))
	}
	if got := strings.TrimSpace(out.String()); got != exe {
		return "", fmt.Errorf("extract Chromium: got %q, want %q", got, exe)
	}
	if ok, err := executable(exe); !ok {
		return "", errors.Join(fmt.Errorf("extract Chromium: %s is missing after extraction", exe), err)
	}
	return exe, nil
}

// executable reports whether path is an executable regular file; a missing
// file is not an error.
func executable(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular() && fi.Mode()&0o111 != 0, nil
}
