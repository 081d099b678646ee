package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What audit k8s does against a cluster (paging, auth, RBAC, --context,
// -A/-n, the JSON report) is tested against a real kube-apiserver in
// test/e2e/audit_test.go; here only what needs no API server.

// unreachable is a kubeconfig whose server is a closed port.
const unreachable = `apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: "https://127.0.0.1:1"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: prod, context: {cluster: prod, user: u, namespace: shop}}
current-context: prod
`

func TestAuditK8sUsage(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(unreachable), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "k8s", "--kubeconfig", kc, "-A", "-n", "x"},
		{"audit", "k8s", "--kubeconfig", "/nonexistent"},
		{"audit", "k8s", "--kubeconfig", kc, "-f", "xml"},
		{"audit", "k8s", "--kubeconfig", kc, "--context", "nope"},
		{"audit", "k8s", "--kubeconfig", kc, "--policies", "no-such-set"},
		{"audit", "k8s", "--kubeconfig", kc, "unexpected-argument"},
	} {
		var ue *usageError
		if _, err := runK8s(t, "", args...); !errors.As(err, &ue) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
	}
}

// TestAuditK8sUnreachable: a cluster that cannot be reached is a failure
// of every kind, written to the report, then exit 1 (not a usage error,
// not the --exit-code gate).
func TestAuditK8sUnreachable(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(unreachable), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runK8s(t, "", "audit", "k8s", "--kubeconfig", kc, "-f", "json", "--exit-code", "4")
	var ee *exitError
	var ue *usageError
	if err == nil || errors.As(err, &ee) || errors.As(err, &ue) {
		t.Fatalf("err = %v, want a plain error (exit 1)", err)
	}
	var rep struct {
		Cluster    string   `json:"cluster"`
		LoadErrors []string `json:"load_errors"`
		Results    []any    `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("no JSON report before the error: %v\n%s", err, out)
	}
	if rep.Cluster != "prod" || len(rep.LoadErrors) != 10 || len(rep.Results) != 0 {
		t.Errorf("cluster %q, %d results, load errors %q; want prod, 0, one per kind", rep.Cluster, len(rep.Results), rep.LoadErrors)
	}
	for _, e := range rep.LoadErrors {
		if !strings.HasPrefix(e, "list ") || !strings.Contains(e, "127.0.0.1:1") {
			t.Errorf("load error %q does not say which kind and where", e)
		}
	}
}
