package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/testproc"
)

// e2eServer is a real `bulwark server` process on a loopback port over a
// SQLite store in dir, ready (/readyz) when startServer returns.
type e2eServer struct {
	dir, base string
}

func startServer(t *testing.T) *e2eServer {
	t.Helper()
	dir := t.TempDir()
	addr := "127.0.0.1:" + itoa(testproc.FreePort(t))
	testproc.Start(t, dir, "server", bulwark.Path(t), "--cache-dir", t.TempDir(), "server", "--data-dir", dir, "--listen", addr, "--db-update-interval", "0")
	s := &e2eServer{dir: dir, base: "http://" + addr}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if r, err := http.Get(s.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
	}
}

// token creates a token with `bulwark token create` on the server's store.
func (s *e2eServer) token(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(string(runBulwark(t, nil, nil, append([]string{"token", "create", "--data-dir", s.dir}, args...)...)))
}
