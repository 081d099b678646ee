package k8sbench

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// buildHost writes testdata/hosts/<name>.txt into a temp dir with each
// file's mode and owner, and returns the root. Owners need root; without
// it the test skips (ownership is what half the checks are about).
func buildHost(t *testing.T, name string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the crafted host tree's files their owners (chown)")
	}
	f, err := os.Open(filepath.Join("testdata", "hosts", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	root := t.TempDir()
	type entry struct {
		path          string
		mode          os.FileMode
		uid, gid      int
		cmdline       bool
		content       []string
		dir           bool
		headerPresent bool
	}
	var entries []*entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --") {
			fs := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --"))
			if len(fs) < 3 {
				t.Fatalf("bad header %q", line)
			}
			mode, err := strconv.ParseUint(fs[1], 8, 32)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			u, g, _ := strings.Cut(fs[2], ":")
			uid, _ := strconv.Atoi(u)
			gid, _ := strconv.Atoi(g)
			entries = append(entries, &entry{path: fs[0], mode: os.FileMode(mode), uid: uid, gid: gid,
				cmdline: len(fs) > 3 && fs[3] == "cmdline", dir: strings.HasSuffix(fs[0], "/"), headerPresent: true})
			continue
		}
		if len(entries) == 0 {
			continue // the file's own comment
		}
		e := entries[len(entries)-1]
		e.content = append(e.content, line)
	}
	for _, e := range entries {
		p := filepath.Join(root, e.path)
		if e.dir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			data := strings.Join(e.content, "\n") + "\n"
			if e.cmdline {
				data = strings.Join(e.content, "\x00") + "\x00"
			}
			if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(p, e.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, e.uid, e.gid); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var testNow = time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)

func runHost(t *testing.T, name string) (*Report, string) {
	t.Helper()
	root := buildHost(t, name)
	n, err := CollectNode(context.Background(), NodeOptions{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	s := &Snapshot{Profile: Profiles["generic"], Node: n}
	return Run(s, Options{Version: "test"}, testNow), root
}

// render is the golden form: one line per control with its evidence.
func render(r *Report) string {
	var b strings.Builder
	for _, rr := range r.Results {
		fmt.Fprintf(&b, "resource %s %s %s %v\n", rr.Resource.Kind, rr.Resource.ID, rr.Resource.Name, rr.Resource.Facts)
		for _, a := range rr.Assessments {
			fmt.Fprintf(&b, "%s %s %s\n", a.Rule, a.Status, a.Severity)
			for _, e := range a.Evidence {
				fmt.Fprintf(&b, "    %s\n", e)
			}
		}
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) || i < len(gl); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Errorf("%s differs from line %d:\nwant: %s\ngot:  %s\n(-update rewrites it)", name, i+1, w, g)
				break
			}
		}
	}
}

// TestHosts runs the node checks over the crafted trees: golden output for
// all of them, and the verdicts that matter spelled out.
func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		host string
		want map[string]model.AssessmentStatus
	}{
		{"kubeadm-hardened", map[string]model.AssessmentStatus{
			"1.1.1": "healthy", "1.1.12": "healthy", "1.1.13": "healthy", "1.1.19": "healthy", "1.1.20": "healthy", "1.1.21": "healthy",
			"1.2.1": "healthy", "1.2.2": "healthy", "1.2.6": "healthy", "1.2.10": "healthy", "1.2.15": "healthy", "1.2.16": "healthy", "1.2.29": "healthy",
			"1.3.2": "healthy", "1.3.7": "healthy", "1.4.1": "healthy", "2.1": "healthy", "2.2": "healthy", "2.7": "healthy",
			"3.2.1": "healthy", "3.2.2": "manual",
			"4.1.1": "healthy", "4.1.9": "healthy", "4.2.1": "healthy", "4.2.2": "healthy", "4.2.4": "healthy", "4.2.10": "healthy", "4.2.13": "healthy", "4.3.1": "healthy",
		}},
		{"kubeadm-insecure", map[string]model.AssessmentStatus{
			"1.1.1": "unhealthy", "1.1.2": "unhealthy", "1.1.11": "unhealthy", "1.1.12": "unhealthy", "1.1.13": "unhealthy", "1.1.14": "unhealthy",
			"1.1.15": "unhealthy", "1.1.18": "unhealthy", "1.1.19": "unhealthy", "1.1.20": "unhealthy", "1.1.21": "unhealthy",
			"1.2.1": "unhealthy", "1.2.2": "unhealthy", "1.2.6": "unhealthy", "1.2.7": "unhealthy", "1.2.10": "unhealthy", "1.2.12": "unhealthy", "1.2.13": "unhealthy",
			"1.2.15": "unhealthy", "1.2.16": "unhealthy", "1.2.17": "unhealthy", "1.2.21": "unhealthy", "1.2.29": "unhealthy", "1.2.30": "unhealthy",
			"1.3.6": "unhealthy", "1.3.7": "unhealthy", "1.4.1": "unhealthy", "1.4.2": "unhealthy", "2.3": "unhealthy", "2.6": "unhealthy", "2.7": "unhealthy",
			"3.2.1": "unhealthy", "4.1.1": "unhealthy", "4.1.3": "unhealthy", "4.1.4": "unhealthy", "4.1.10": "unhealthy",
			// The config file says anonymous: false and readOnlyPort: 0;
			// the command line overrides both, as the kubelet does.
			"4.2.1": "unhealthy", "4.2.2": "unhealthy", "4.2.3": "unhealthy", "4.2.4": "unhealthy", "4.2.5": "unhealthy", "4.2.6": "unhealthy",
			"4.2.7": "unhealthy", "4.2.10": "unhealthy", "4.2.11": "unhealthy", "4.2.12": "unhealthy", "4.2.13": "unhealthy", "4.2.14": "unhealthy", "4.3.1": "unhealthy",
		}},
		{"k3s-server", map[string]model.AssessmentStatus{
			"1.1.1": "not-applicable", "1.1.13": "unhealthy", "1.2.1": "healthy", "1.2.15": "healthy", "1.3.2": "healthy", "1.4.1": "unhealthy", "4.2.4": "healthy", "4.1.5": "healthy",
		}},
		{"rke2-server", map[string]model.AssessmentStatus{
			// No /proc in this tree: what has no manifest is not known to be absent.
			"1.1.1": "healthy", "1.1.12": "healthy", "1.1.11": "healthy", "1.2.1": "healthy", "1.2.8": "healthy", "1.3.2": "not-assessed", "4.2.1": "not-assessed",
		}},
	} {
		t.Run(tc.host, func(t *testing.T) {
			r, root := runHost(t, tc.host)
			got := map[string]model.AssessmentStatus{}
			for _, rr := range r.Results {
				for _, a := range rr.Assessments {
					got[strings.TrimPrefix(a.Rule, "CIS-K8S-")] = a.Status
				}
			}
			for id, want := range tc.want {
				if got[id] != want {
					t.Errorf("%s: %s, want %s", id, got[id], want)
				}
			}
			golden(t, tc.host+".txt", strings.ReplaceAll(render(r), root, "ROOT"))
		})
	}
}
