package main

import (
	"context"
	"strings"
	"testing"
)

func TestAgentAndDeployUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"docker agent without server", []string{"agent", "docker"}, 2, "needs --server"},
		{"docker agent ebpf and proc", []string{"agent", "docker", "--server", "http://127.0.0.1:1", "--ebpf", "--proc"}, 2, "choose one"},
		{"docker agent not enrolled, no token", []string{"agent", "docker", "--server", "http://127.0.0.1:1", "--no-runtime"}, 1, "not enrolled"},
		{"cluster agent without server", []string{"agent", "cluster", "--kubeconfig", "/nonexistent"}, 2, ""},
		{"deploy systemd without server", []string{"deploy", "systemd"}, 2, "needs --server"},
		{"deploy systemd with a relative binary", []string{"deploy", "systemd", "--server", "https://b.example", "--binary", "bulwark"}, 2, "absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BULWARK_TOKEN", "")
			_, stderr, code := runCLI(t, context.Background(), "", append([]string{"--cache-dir", t.TempDir()}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d with %q; stderr:\n%s", code, tc.code, tc.want, stderr)
			}
		})
	}
	out, _, code := runCLI(t, context.Background(), "", "deploy", "systemd", "--server", "https://b.example")
	if code != 0 || !strings.Contains(out, "ExecStart=/usr/local/bin/bulwark --cache-dir /var/cache/bulwark-agent agent docker --server https://b.example") {
		t.Errorf("deploy systemd: exit %d\n%s", code, out)
	}
}
