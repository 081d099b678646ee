package deploy

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSystemdGolden(t *testing.T) {
	got, err := Systemd(SystemdOptions{Server: "https://bulwark.example:8443", ServerCA: "/etc/bulwark/ca.pem", ExtraArgs: []string{"--ebpf"}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "bulwark-agent.service")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("unit differs from %s (rewrite with -update):\n%s", path, got)
	}
}

// TestSystemdVerify has systemd itself check the unit.
func TestSystemdVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("needs systemd-analyze")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bulwark")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755) //nolint:errcheck
	got, err := Systemd(SystemdOptions{Server: "https://bulwark.example", Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bulwark-agent.service")
	os.WriteFile(p, []byte(got), 0o644) //nolint:errcheck
	// verify exits 0 on a key it cannot parse: any line naming the unit
	// is a failure.
	out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
	if err != nil || strings.Contains(string(out), "bulwark-agent.service:") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSystemdRefusesUnsafeValues(t *testing.T) {
	for _, o := range []SystemdOptions{
		{},
		{Server: "https://x", Binary: "bulwark"},
		{Server: "https://x; rm -rf /"},
		{Server: "https://x", TokenFile: "/etc/%h/token"},
		{Server: "https://x", ExtraArgs: []string{"--auditd /var/log/a b"}},
	} {
		if _, err := Systemd(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
