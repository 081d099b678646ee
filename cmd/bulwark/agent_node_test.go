package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestAgentNodeAndDeployManifestsUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"node agent without server", []string{"agent", "node", "--cluster-id", "c1"}, 2, "needs --server"},
		{"node agent with an API-side target", []string{"agent", "node", "--cluster-id", "c1", "--targets", "policies"}, 2, "not on a node"},
		{"node agent with an unknown target", []string{"agent", "node", "--cluster-id", "c1", "--targets", "kubelet"}, 2, "unknown target"},
		{"node agent with an unknown sensor", []string{"agent", "node", "--cluster-id", "c1", "--sensor", "kprobe"}, 2, "--sensor"},
		{"node agent without a cluster", []string{"agent", "node", "--server", "http://127.0.0.1:1", "--kubeconfig", "/nonexistent"}, 2, "--cluster-id"},
		{"node agent not enrolled, no token", []string{"agent", "node", "--server", "http://127.0.0.1:1", "--cluster-id", "c1", "--sensor", "none"}, 1, "not enrolled"},
		{"manifests over plain http", []string{"deploy", "manifests", "--server", "http://bulwark.example"}, 2, "https only"},
		{"manifests: replicas without PostgreSQL", []string{"deploy", "manifests", "--replicas", "3"}, 2, "PostgreSQL"},
		{"manifests: external server not named", []string{"deploy", "manifests", "--no-server"}, 2, "no server URL"},
		{"manifests: bad namespace", []string{"deploy", "manifests", "-n", "Bulwark"}, 2, "namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BULWARK_TOKEN", "")
			cmd := newRootCmd()
			var out, errb bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&errb)
			cmd.SetArgs(append([]string{"--cache-dir", t.TempDir()}, tc.args...))
			err := cmd.ExecuteContext(context.Background())
			if code := exitCode(err); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("exit %d (%v), want %d with %q", code, err, tc.code, tc.want)
			}
		})
	}
	out, _, code := runCLI(t, context.Background(), "", "deploy", "manifests", "--namespace", "sec", "--image", "registry.example/bulwark:1", "--token-secret", "tok")
	for _, want := range []string{"kind: DaemonSet", "namespace: sec", "image: registry.example/bulwark:1", "secretName: tok", "kind: ValidatingWebhookConfiguration",
		"--server=https://bulwark-server.sec.svc:8443"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("deploy manifests: exit %d, output lacks %q", code, want)
		}
	}
}
