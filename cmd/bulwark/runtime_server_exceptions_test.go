package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestRuntimeWatchServerExceptions: `runtime watch --server` applies the
// server's run-time exceptions (an alert they cover is not raised), keeps
// the copy it got, and starts from that copy when the server is gone.
func TestRuntimeWatchServerExceptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.PutConfigDoc(ctx, "runtime-exceptions", "exceptions:\n  - rules: [K8S.NODE_PrivilegedContainerArtifacts]\n    hosts: [node-1]\n    reason: the build node\n", "test", -1); err != nil {
		t.Fatal(err)
	}
	_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "watch", Scopes: "ingest,read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Options{Store: st}))
	defer srv.Close()
	falco := func(host string) string {
		return `{"output":"Privileged container started","priority":"Informational","rule":"Launch Privileged Container",` +
			`"time":"2026-11-20T10:04:00.000000000Z","output_fields":{"container.id":"3f2a1b0c9d8e","k8s.ns.name":"shop","k8s.pod.name":"p"},"hostname":"` + host + `"}` + "\n"
	}
	cache := t.TempDir()
	watch := func(host string) (string, string) {
		stdout, stderr, code := runCLI(t, ctx, falco(host), "--cache-dir", cache, "runtime", "watch", "--falco", "-", "--output", "-", "--server", srv.URL, "--token", tok)
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		return stdout, stderr
	}
	stdout, stderr := watch("node-1")
	if strings.TrimSpace(stdout) != "" || !strings.Contains(stderr, "server exceptions in force") || !strings.Contains(stderr, "excepted=1") {
		t.Fatalf("covered by the server's exception: stdout %q\nstderr:\n%s", stdout, stderr)
	}
	if stdout, _ = watch("node-2"); !strings.Contains(stdout, "K8S.NODE_PrivilegedContainerArtifacts") {
		t.Errorf("another host: no alert: %q", stdout)
	}
	if b, err := os.ReadFile(filepath.Join(cache, "runtime", "server-exceptions.json")); err != nil || !strings.Contains(string(b), "the build node") {
		t.Fatalf("last good copy: %s %v", b, err)
	}
	srv.Close()
	stdout, stderr = watch("node-1")
	if strings.TrimSpace(stdout) != "" || !strings.Contains(stderr, "from_cache=true") {
		t.Errorf("server gone: stdout %q\nstderr:\n%s", stdout, stderr)
	}
}
