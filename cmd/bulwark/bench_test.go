package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchDockerUnreachableEngine: with no engine and a crafted host root,
// engine controls say why they could not be evaluated, host-file controls
// still give verdicts, and nothing crashes.
func TestBenchDockerUnreachableEngine(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "etc", "docker", "daemon.json"), `{"icc": true, "insecure-registries": ["10.0.0.5:5000"], "live-restore": false`) // broken JSON
	if err := os.Chmod(filepath.Join(root, "etc", "docker", "daemon.json"), 0o666); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "lib", "systemd", "system", "docker.service"), "[Service]\nExecStart=/usr/bin/dockerd\n")
	write(t, filepath.Join(root, "etc", "group"), "root:x:0:\ndocker:x:999:alice,bob\n")
	write(t, filepath.Join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
	out, code := run(t, "bench", "docker", "--host", "unix:///nonexistent.sock", "--root", root, "-f", "json", "--exit-code", "4")
	if code != 4 {
		t.Errorf("exit %d, want 4 (failed controls)", code)
	}
	var rep struct {
		Results []struct {
			ID, Status string
			Evidence   []string
		}
		Collection map[string]string `json:"collection_errors"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(rep.Results) != 117 {
		t.Errorf("%d results, want all 117 controls", len(rep.Results))
	}
	byID := map[string]string{}
	ev := map[string]string{}
	for _, r := range rep.Results {
		byID[r.ID] = r.Status
		ev[r.ID] = strings.Join(r.Evidence, "; ")
	}
	if byID["5.5"] != "error" || !strings.Contains(ev["5.5"], "cannot reach the Docker engine") {
		t.Errorf("5.5 = %s %q, want error naming the unreachable engine", byID["5.5"], ev["5.5"])
	}
	if byID["3.18"] != "fail" || !strings.Contains(ev["3.18"], "0666") {
		t.Errorf("3.18 (daemon.json mode 0666) = %s %q", byID["3.18"], ev["3.18"])
	}
	if byID["1.1.2"] == "" || !strings.Contains(ev["1.1.2"], "alice") {
		t.Errorf("1.1.2 should list docker group members: %s %q", byID["1.1.2"], ev["1.1.2"])
	}
	if !strings.Contains(ev["2.14"]+ev["2.16"], "not valid JSON") {
		t.Errorf("daemon option controls should say daemon.json is broken: 2.14 %q 2.16 %q", ev["2.14"], ev["2.16"])
	}
	if rep.Collection["engine"] == "" {
		t.Errorf("collection errors %v lack the engine", rep.Collection)
	}
}

func TestBenchDockerUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "docker", "-f", "xml"},
		{"bench", "docker", "--level", "3"},
	} {
		if _, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	out, code := run(t, "bench", "docker", "--host", "unix:///nonexistent.sock", "--root", t.TempDir(), "--checks", "3.1,3.2", "-f", "junit")
	if code != 0 || strings.Count(out, "<testcase ") != 2 || !strings.Contains(out, `name="3.1 `) {
		t.Errorf("--checks 3.1,3.2 junit (exit %d):\n%s", code, out)
	}
}
