// Package e2e tests the bulwark binary black-box against a real
// kube-apiserver (see ../README.md).
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/bulwarkbin"
	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

// bulwark is built once for the whole test binary.
var bulwark bulwarkbin.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	bulwark.Close()
	os.Exit(code)
}

// runBulwark runs the binary with stdin and returns stdout; a non-zero exit
// fails the test unless allowExit lists the code.
func runBulwark(t *testing.T, stdin []byte, allowExit []int, args ...string) []byte {
	t.Helper()
	out, code, stderr := execBulwark(t, stdin, args...)
	if code != 0 && !slices.Contains(allowExit, code) {
		t.Fatalf("bulwark %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// execBulwark runs the binary and returns stdout, the exit code and stderr.
func execBulwark(t *testing.T, stdin []byte, args ...string) (stdout []byte, code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bulwark.Path(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running bulwark %s: %v", strings.Join(args, " "), err)
		}
		return out.Bytes(), ee.ExitCode(), errb.String()
	}
	return out.Bytes(), 0, errb.String()
}

// webhook is one running `bulwark admission serve`.
type webhook struct {
	URL  string // https://127.0.0.1:PORT/validate
	base string
	proc *testproc.Process
	hc   *http.Client
}

// startWebhook runs `bulwark admission serve` on a free loopback port with
// a certificate from ca, the policy config (YAML; empty for none) and extra
// flags, and waits for /readyz.
func startWebhook(t *testing.T, ca *testpki.CA, name, config string, extra ...string) *webhook {
	t.Helper()
	dir := t.TempDir()
	pair := ca.Issue(t, dir, name, "127.0.0.1")
	port := testproc.FreePort(t)
	args := []string{"--log-level", "debug", "admission", "serve", "--addr", "127.0.0.1:" + strconv.Itoa(port), "--cert", pair.CertFile, "--key", pair.KeyFile,
		"--drain-delay", "1s"} // testproc.Stop waits 10 s for the exit
	if config != "" {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", p)
	}
	args = append(args, extra...)
	w := &webhook{
		base: "https://127.0.0.1:" + strconv.Itoa(port),
		proc: testproc.Start(t, dir, name, bulwark.Path(t), args...),
		hc:   &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}},
	}
	w.URL = w.base + "/validate"
	t.Cleanup(w.hc.CloseIdleConnections)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := w.hc.Get(w.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return w
			}
		}
		if err := w.proc.Exited(); err != nil {
			t.Fatalf("webhook %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s: not ready after 60 s (%v); log:\n%s", name, err, w.proc.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var decisionLine = regexp.MustCompile(`(?m)^bulwark_admission_requests_total\{decision="([a-z]+)"\} (\d+)$`)

// decisions scrapes /metrics: reviews answered, by decision.
func (w *webhook) decisions(t *testing.T) map[string]int {
	t.Helper()
	resp, err := w.hc.Get(w.base + "/metrics")
	if err != nil {
		t.Fatalf("scraping webhook metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading webhook metrics: %v", err)
	}
	out := map[string]int{}
	for _, m := range decisionLine.FindAllStringSubmatch(string(b), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

// warnings collects the warnings the API server returns to a client
// (rest.Config.WarningHandler).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings so far and forgets them.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

func containsAll(s string, subs ...string) error {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return fmt.Errorf("%q does not contain %q", s, sub)
		}
	}
	return nil
}
