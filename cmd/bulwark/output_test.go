package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallTmpfs mounts a tmpfs of size bytes and fills it to leave free
// bytes; it skips when this process may not mount (not root).
func smallTmpfs(t *testing.T, size, free int64) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+itoa(int(size)), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("this test needs to mount a tmpfs (root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := fill.Write(block); err != nil {
			break
		}
	}
	fill.Close()
	// Free what the test leaves for the report, in whole pages.
	st, _ := os.Stat(fill.Name())
	if err := os.Truncate(fill.Name(), max(0, st.Size()-free)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOutputFullDisk: every --output is written whole or not at all: on a
// full disk the command exits non-zero, leaves no partial report and no
// temporary file, and a report already at the path stays as it was.
func TestOutputFullDisk(t *testing.T) {
	dir := smallTmpfs(t, 1<<20, 8<<10)
	pod := writeManifest(t, "pod.yaml", strings.Repeat(privilegedPod+"---\n", 40))
	tests := []struct {
		name string
		args []string
	}{
		{"scan k8s table", []string{"scan", "k8s", pod}},
		{"scan k8s json", []string{"scan", "k8s", "-f", "json", pod}},
		{"bench docker table", []string{"bench", "docker", "--host", "unix:///nonexistent.sock"}},
		{"bench docker junit", []string{"bench", "docker", "--host", "unix:///nonexistent.sock", "-f", "junit"}},
		{"runtime replay json", []string{"runtime", "replay", "--format", "json", "testdata/runtime/mixed.log"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "report-"+itoa(i))
			if i%2 == 1 { // an older report at the path must survive
				if err := os.WriteFile(out, []byte("previous report\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]string{"--cache-dir", t.TempDir()}, tc.args...)
			args = append(args, "--output", out)
			cmd := newRootCmd()
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetArgs(args)
			err := cmd.ExecuteContext(context.Background())
			if code := exitCode(err); code == 0 || !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("exit %d, error %v; want non-zero for no space left on device", code, err)
			}
			b, err := os.ReadFile(out)
			switch {
			case i%2 == 1 && string(b) != "previous report\n":
				t.Errorf("the previous report was replaced by %d bytes (%v)", len(b), err)
			case i%2 == 0 && !os.IsNotExist(err):
				t.Errorf("a partial report of %d bytes was left (%v)", len(b), err)
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
	// With room, the same report is written whole.
	os.Remove(filepath.Join(dir, "fill"))
	out := filepath.Join(dir, "ok.json")
	if _, stderr, code := runCLI(t, context.Background(), "", "scan", "k8s", "-f", "json", "--output", out, pod); code != 0 {
		t.Fatalf("with room: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte("BW-PSS-PRIVILEGED")) {
		t.Errorf("with room: report %q, %v", b, err)
	}
}

// TestOutputStdoutErrors: a failing stdout (/dev/full) is an error, not a
// silent success.
func TestOutputStdoutErrors(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	pod := writeManifest(t, "pod.yaml", privilegedPod)
	for _, args := range [][]string{
		{"scan", "k8s", pod},
		{"bench", "docker", "--host", "unix:///nonexistent.sock"},
		{"runtime", "replay", "testdata/runtime/mixed.log"},
	} {
		cmd := newRootCmd()
		var errb bytes.Buffer
		cmd.SetOut(full)
		cmd.SetErr(&errb)
		cmd.SetArgs(append([]string{"--cache-dir", t.TempDir()}, args...))
		if code := exitCode(cmd.ExecuteContext(context.Background())); code == 0 {
			t.Errorf("%v: exit 0 writing to /dev/full", args)
		}
	}
}

// TestTableEscapesControlCharacters: data carrying terminal escape
// sequences is printed escaped in tables; JSON keeps it exact.
func TestTableEscapesControlCharacters(t *testing.T) {
	evil := strings.ReplaceAll(privilegedPod, "name: debug", "name: \"esc\\e]0;pwned\\atest\"")
	if evil == privilegedPod {
		t.Fatal("fixture did not change")
	}
	pod := writeManifest(t, "pod.yaml", evil)
	stdout, stderr, code := runCLI(t, context.Background(), "", "scan", "k8s", pod)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.ContainsAny(stdout, "\x1b\x07") || !strings.Contains(stdout, `esc\x1b]0;pwned\x07test`) {
		t.Errorf("table output does not escape the control characters:\n%q", stdout)
	}
	stdout, _, _ = runCLI(t, context.Background(), "", "scan", "k8s", "-f", "json", pod)
	if !strings.Contains(stdout, `esc\u001b]0;pwned\u0007test`) {
		t.Errorf("JSON output is not the exact name:\n%s", stdout)
	}
}

// TestScanSBOMTableEscapes: an SBOM whose image and package names hold
// terminal escape sequences (a title change, a screen clear) prints them
// escaped in the table, exact in JSON.
func TestScanSBOMTableEscapes(t *testing.T) {
	cache, feeds, _ := fixture(t)
	if out, code := run(t, "--cache-dir", cache, "db", "update", "--source", feeds); code != 0 {
		t.Fatalf("db update exit %d: %s", code, out)
	}
	sbom := writeManifest(t, "evil.cdx.json", `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,`+
		`"metadata":{"component":{"type":"container","name":"esc\u001b]0;pwned\u0007test"}},`+
		`"components":[{"type":"library","name":"pkg\u001b[2Jevil","version":"1.0","purl":"pkg:npm/left-pad@1.0"}]}`)
	out, code := run(t, "--cache-dir", cache, "scan", "sbom", sbom, "-f", "table")
	if code != 0 {
		t.Fatalf("scan sbom exit %d: %s", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `esc\x1b]0;pwned\x07test`) {
		t.Errorf("table output does not escape the image name:\n%q", out)
	}
	out, _ = run(t, "--cache-dir", cache, "scan", "sbom", sbom, "-f", "json")
	if !strings.Contains(out, `esc\u001b]0;pwned\u0007test`) {
		t.Errorf("JSON output lost the exact name:\n%s", out)
	}
}
