package dockerbench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// locateTestExe makes /proc/<pid>/exe a link to the host path exe, as the
// kernel shows it.
func locateTestExe(t *testing.T, root, pid, exe string) {
	t.Helper()
	collectTestLink(t, root, "/proc/"+pid+"/exe", exe)
}

// TestCollectLocateLayouts crafts one host tree per packaging of Docker
// and checks where the section 1.1 controls look, and what they say.
func TestCollectLocateLayouts(t *testing.T) {
	bin := func(t *testing.T, root string, paths ...string) {
		for _, p := range paths {
			collectTestWrite(t, root, p, "\x7fELF", 0o755)
		}
	}
	dir := func(t *testing.T, root string, paths ...string) {
		for _, p := range paths {
			if err := os.MkdirAll(filepath.Join(root, p), 0o711); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		want  map[string]string // CIS path → located path ("" = not found)
		how   map[string]string // CIS path → substring of How
	}{
		{"Debian docker.io, dockerd running its own containerd", func(t *testing.T, root string) {
			bin(t, root, "/usr/sbin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc")
			collectTestLink(t, root, "/usr/bin/runc", "../sbin/runc")
			collectTestWrite(t, root, "/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS\n", 0o644)
			collectTestLink(t, root, "/var/run", "../run")
			dir(t, root, "/run/docker/containerd/daemon")
			collectTestWrite(t, root, "/run/docker/containerd/containerd.sock", "", 0o660)
			collectTestWrite(t, root, "/run/docker/containerd/containerd.toml",
				"version = 0\nroot = \"/var/lib/docker/containerd/daemon\"\nstate = \"/var/run/docker/containerd/daemon\"\n\n[grpc]\n  address = \"/var/run/docker/containerd/containerd.sock\"\n\n[debug]\n  address = \"/var/run/docker/containerd/containerd-debug.sock\"\n", 0o644)
			collectTestCmdline(t, root, "1443", "/usr/sbin/dockerd")
			locateTestExe(t, root, "1443", "/usr/sbin/dockerd")
			collectTestCmdline(t, root, "1459", "containerd", "--config", "/var/run/docker/containerd/containerd.toml", "--log-level", "info")
			locateTestExe(t, root, "1459", "/usr/bin/containerd")
		}, map[string]string{
			"/usr/bin/dockerd": "/usr/sbin/dockerd", "/usr/bin/containerd": "/usr/bin/containerd",
			"/usr/bin/containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2", "/usr/bin/containerd-shim": "",
			"/usr/bin/runc": "/usr/sbin/runc", "/run/containerd": "/run/docker/containerd/daemon",
			"/run/containerd/containerd.sock": "/run/docker/containerd/containerd.sock",
		}, map[string]string{
			"/usr/bin/dockerd": "the running dockerd, pid 1443", "/usr/bin/runc": "a symlink to /usr/sbin/runc",
			"/run/containerd":                  "config /var/run/docker/containerd/containerd.toml of the running containerd, pid 1459",
			"/usr/bin/containerd-shim-runc-v2": "beside /usr/bin/containerd",
		}},
		{"Debian docker.io, stopped: the unit file says where", func(t *testing.T, root string) {
			bin(t, root, "/usr/sbin/dockerd", "/usr/sbin/runc")
			collectTestWrite(t, root, "/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/sbin/dockerd -H fd://\n", 0o644)
			// A drop-in override wins, as systemd reads it.
			collectTestWrite(t, root, "/etc/systemd/system/docker.service", "[Service]\nExecStart=\nExecStart=-/usr/sbin/dockerd --debug\n", 0o644)
		}, map[string]string{"/usr/bin/dockerd": "/usr/sbin/dockerd", "/usr/bin/runc": "/usr/sbin/runc", "/run/containerd": "", "/usr/bin/containerd": ""},
			map[string]string{"/usr/bin/dockerd": "docker.service ExecStart (/etc/systemd/system/docker.service)", "/usr/bin/runc": "Debian's and Ubuntu's runc layout"}},
		{"Ubuntu docker.io with its own containerd service", func(t *testing.T, root string) {
			bin(t, root, "/usr/bin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc")
			collectTestWrite(t, root, "/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n", 0o644)
			collectTestWrite(t, root, "/lib/systemd/system/containerd.service", "[Service]\nExecStart=/usr/bin/containerd\n", 0o644)
			dir(t, root, "/run/containerd")
			collectTestWrite(t, root, "/run/containerd/containerd.sock", "", 0o660)
			collectTestCmdline(t, root, "900", "/usr/bin/containerd")
			locateTestExe(t, root, "900", "/usr/bin/containerd")
		}, map[string]string{"/usr/bin/dockerd": "/usr/bin/dockerd", "/usr/bin/runc": "/usr/sbin/runc", "/run/containerd": "/run/containerd",
			"/run/containerd/containerd.sock": "/run/containerd/containerd.sock"},
			map[string]string{"/usr/bin/dockerd": "docker.service ExecStart", "/run/containerd": "containerd's default, for the running containerd, pid 900",
				"/usr/bin/containerd": "the running containerd, pid 900"}},
		{"RHEL family, Docker's packages (docker-ce, containerd.io)", func(t *testing.T, root string) {
			bin(t, root, "/usr/bin/dockerd", "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc")
			collectTestWrite(t, root, "/usr/lib/systemd/system/docker.service", "[Service]\nExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock\n", 0o644)
			collectTestWrite(t, root, "/usr/lib/systemd/system/containerd.service", "[Service]\nExecStartPre=-/sbin/modprobe overlay\nExecStart=/usr/bin/containerd\n", 0o644)
			collectTestWrite(t, root, "/etc/containerd/config.toml", "disabled_plugins = [\"cri\"]\n", 0o644)
			dir(t, root, "/run/containerd")
			collectTestCmdline(t, root, "700", "/usr/bin/containerd")
			collectTestCmdline(t, root, "720", "/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock")
		}, map[string]string{"/usr/bin/dockerd": "/usr/bin/dockerd", "/usr/bin/containerd": "/usr/bin/containerd", "/usr/bin/runc": "/usr/bin/runc",
			"/run/containerd": "/run/containerd", "/usr/bin/containerd-shim-runc-v1": ""},
			// No /proc/<pid>/exe (not root): the absolute argv[0] serves.
			map[string]string{"/usr/bin/dockerd": "the running dockerd, pid 720", "/usr/bin/runc": "the benchmark's path"}},
		{"Docker's static binaries in /usr/local/bin", func(t *testing.T, root string) {
			bin(t, root, "/usr/local/bin/dockerd", "/usr/local/bin/containerd", "/usr/local/bin/containerd-shim-runc-v2", "/usr/local/bin/runc")
		}, map[string]string{"/usr/bin/dockerd": "/usr/local/bin/dockerd", "/usr/bin/containerd": "/usr/local/bin/containerd",
			"/usr/bin/containerd-shim-runc-v2": "/usr/local/bin/containerd-shim-runc-v2", "/usr/bin/runc": "/usr/local/bin/runc"},
			map[string]string{"/usr/bin/dockerd": "Docker's static binaries layout", "/usr/bin/containerd-shim-runc-v2": "beside /usr/local/bin/containerd"}},
		{"no Docker at all", func(t *testing.T, root string) {}, map[string]string{"/usr/bin/dockerd": "", "/run/containerd": "", "/usr/bin/runc": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			s := collectTestHost(t, root, CollectOptions{})
			for cis, want := range tt.want {
				l, ok := s.Located[cis]
				if !ok {
					t.Fatalf("Located has no %s: %v", cis, s.Located)
				}
				if l.Path != want {
					t.Errorf("%s located at %q (%s), want %q", cis, l.Path, l.How, want)
				}
				if want != "" && !s.Files[want].Exists {
					t.Errorf("%s: Files[%s] not collected", cis, want)
				}
				if want == "" && len(l.Tried) == 0 {
					t.Errorf("%s not found, but Tried is empty", cis)
				}
			}
			for cis, how := range tt.how {
				if got := s.Located[cis].How; !strings.Contains(got, how) {
					t.Errorf("%s: How = %q, want %q", cis, got, how)
				}
			}
			// The controls audit what was found, and do not apply to what
			// is nowhere.
			for _, c := range []struct{ id, cis string }{{"1.1.3", "/usr/bin/dockerd"}, {"1.1.4", "/run/containerd"}, {"1.1.18", "/usr/bin/runc"}} {
				res := evaluate(controlByID(t, c.id), s)
				want := tt.want[c.cis]
				switch {
				case want == "" && res.Status != NotApplicable:
					t.Errorf("%s with no %s: %s %q, want not-applicable", c.id, c.cis, res.Status, res.Evidence)
				case want != "" && (res.Status != Fail || !strings.HasPrefix(res.Evidence[0], want+" ") && !strings.HasPrefix(res.Evidence[0], want+":")):
					t.Errorf("%s: %s %q, want a failure about %s", c.id, res.Status, res.Evidence, want)
				}
			}
		})
	}
}

// TestCollectLocateAudited: a rule on the real path passes 1.1.3; a rule
// on the benchmark's path that is not there does not.
func TestCollectLocateAudited(t *testing.T) {
	root := t.TempDir()
	collectTestWrite(t, root, "/usr/sbin/dockerd", "\x7fELF", 0o755)
	collectTestCmdline(t, root, "10", "/usr/sbin/dockerd")
	for _, tt := range []struct {
		rule string
		want Status
	}{{"-w /usr/sbin/dockerd -p rwxa -k docker", Pass}, {"-w /usr/bin/dockerd -p rwxa -k docker", Fail}} {
		s := collectTestHost(t, root, CollectOptions{Auditctl: func(ctxArg context.Context) ([]string, error) { return []string{tt.rule}, nil }})
		if res := evaluate(controlByID(t, "1.1.3"), s); res.Status != tt.want {
			t.Errorf("rule %q: 1.1.3 %s %q, want %s", tt.rule, res.Status, res.Evidence, tt.want)
		}
	}
}

// TestCollectLocateRealEngine checks the locations on this machine
// against what its running dockerd and containerd are.
func TestCollectLocateRealEngine(t *testing.T) {
	testenv.Docker(t)
	out, err := exec.Command("pgrep", "-xo", "dockerd").Output()
	if err != nil {
		testenv.Skipf(t, "needs a dockerd process on this host: %v", err)
	}
	pid := strings.TrimSpace(string(out))
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	if err != nil {
		testenv.Skipf(t, "needs to read /proc/%s/exe (root): %v", pid, err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	s := Collect(t.Context(), CollectOptions{Root: "/"})
	if got := s.Located["/usr/bin/dockerd"]; got.Path != exe || !strings.Contains(got.How, "pid "+pid) {
		t.Errorf("dockerd located at %+v, want %s (pid %s)", got, exe, pid)
	}
	st := s.Located["/run/containerd"]
	if st.Path == "" {
		t.Fatalf("containerd state not found: %+v", st)
	}
	if fi, err := os.Stat(st.Path); err != nil || !fi.IsDir() {
		t.Errorf("containerd state %s is not a directory: %v", st.Path, err)
	}
	res := evaluate(controlByID(t, "1.1.3"), s)
	if res.Status == NotApplicable || !strings.Contains(strings.Join(res.Evidence, " "), exe) {
		t.Errorf("1.1.3 on this host: %s %q, want a verdict about %s", res.Status, res.Evidence, exe)
	}
	t.Logf("dockerd %s (%s); containerd state %s (%s)", exe, s.Located["/usr/bin/dockerd"].How, st.Path, st.How)
}

func controlByID(t *testing.T, id string) Control {
	t.Helper()
	for _, c := range Controls() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no control %s", id)
	return Control{}
}

// BenchmarkCollectLocate is what finding the section 1.1 paths adds to a
// collection of this host (one /proc scan, a few stats and reads).
func BenchmarkCollectLocate(b *testing.B) {
	h, err := collectOpenHostFS("/")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s := &Snapshot{Files: map[string]FileFacts{}}
		collectLocate(h, s, collectOwners{})
	}
}
