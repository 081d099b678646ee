// Package bulwarkbin provides the bulwark binary the e2e tests run black-box:
// $BULWARK_BIN when set, otherwise built once per test binary from the
// main module (the repository root above this module).
package bulwarkbin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const mainModule = "github.com/bulwarkdev/bulwark"

// Binary builds bulwark at most once; the zero value is ready to use.
// Declare one per test package and Close it in TestMain.
type Binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Path returns the binary, building it on first use.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() { b.path, b.err = b.build() })
	if b.err != nil {
		t.Fatalf("bulwark binary: %v", b.err)
	}
	return b.path
}

// Close removes a binary it built.
func (b *Binary) Close() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

func (b *Binary) build() (string, error) {
	if p := os.Getenv("BULWARK_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("BULWARK_BIN: %w", err)
		}
		return p, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	b.dir, err = os.MkdirTemp("", "bulwark-e2e-bin-")
	if err != nil {
		return "", fmt.Errorf("temp dir for the bulwark build: %w", err)
	}
	out := filepath.Join(b.dir, "bulwark")
	cmd := exec.Command("go", "build", "-o", out, mainModule+"/cmd/bulwark")
	cmd.Dir = root
	// The test module's own GOFLAGS (e.g. -mod) must not leak into the
	// main module's build.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s/cmd/bulwark in %s: %w\n%s", mainModule, root, err, msg)
	}
	return out, nil
}

// repoRoot walks up from the working directory to the main module's root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + mainModule + " above the working directory (set BULWARK_BIN)")
		}
		dir = parent
	}
}

func isMainModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == mainModule
		}
	}
	return false
}
