// Package testenv finds and starts the real components integration tests
// use: the shared real-data folder, the Debian test image, a
// distribution registry process and the Docker engine. Each helper skips
// the test with a message naming what is missing; .ci/run provides all of
// them, so CI never skips.
package testenv

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// ModuleRoot returns the repository root (the directory holding go.mod).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Shared returns the path of rel inside ../shared (beside the clone), or
// skips the test. BULWARK_SHARED overrides the location.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("BULWARK_SHARED")
	if base == "" {
		base = filepath.Join(ModuleRoot(t), "..", "shared")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		skipf(t, "needs the shared real data at %s (clone beside ../shared, or set BULWARK_SHARED): %v", p, err)
	}
	return p
}

// TestData returns the directory where scripts/testimage.sh leaves the
// Debian image tars.
func TestData() string {
	if d := os.Getenv("BULWARK_TESTDATA"); d != "" {
		return d
	}
	return "/var/tmp/bulwark-testdata"
}

// DebianRootfs returns the path of a debootstrap rootfs tar built by
// scripts/testimage.sh ("bookworm-minbase" or "bookworm-app"), or skips.
func DebianRootfs(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(TestData(), name+".tar")
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		skipf(t, "needs %s: run scripts/testimage.sh (debootstrap) first", p)
	}
	return p
}

// Docker skips unless a Docker engine answers on the default socket.
func Docker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		skipf(t, "needs the docker CLI and a running Docker engine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		skipf(t, "needs a running Docker engine: %v: %s", err, out)
	}
}

// RegistryOptions configure Registry.
type RegistryOptions struct {
	// User and Password, when set, turn on htpasswd authentication.
	User, Password string
	// Log, when set, receives the path of the registry's log, its access
	// log included (one line per request: what was read, and when).
	Log *string
}

// Registry starts Debian's docker-registry (the CNCF distribution
// registry) on a free loopback port with storage in a temp dir, stops it
// when the test ends, and returns its host:port.
func Registry(t testing.TB, o RegistryOptions) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		bin, err = exec.LookPath("registry")
	}
	if err != nil {
		skipf(t, "needs Debian's docker-registry package (apt-get install docker-registry)")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	auth := ""
	if o.User != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		hp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(hp, []byte(o.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: bulwark-test\n    path: %s\n", hp)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s`, filepath.Join(dir, "data"), addr, auth)
	cp := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cp, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cp)
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if o.Log != nil {
		*o.Log = logf.Name()
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("registry did not start on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// DockerConfig writes a Docker client config with basic-auth credentials
// for host into a temp dir and points DOCKER_CONFIG at it for the test.
func DockerConfig(t *testing.T, host, user, password string) {
	t.Helper()
	dir := t.TempDir()
	enc := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, enc)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}

// skipf skips the test, or fails it when BULWARK_REQUIRE_INTEGRATION is
// set (CI), so a missing prerequisite can never pass silently there.
func skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("BULWARK_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("integration prerequisite missing (BULWARK_REQUIRE_INTEGRATION is set): "+format, args...)
	}
	t.Skipf(format, args...)
}

// Skipf is skipf for other packages' prerequisites (a tool on PATH).
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	skipf(t, format, args...)
}
