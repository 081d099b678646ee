package auditd

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/source/tail"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

const auditLog = "/var/log/audit/audit.log"

// requireAuditd skips unless we are root and auditd runs and writes its log.
func requireAuditd(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root to load audit rules")
	}
	out, err := exec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "needs auditctl (Debian package auditd): %v: %s", err, out)
	}
	if m := regexp.MustCompile(`(?m)^pid (\d+)`).FindStringSubmatch(string(out)); m == nil || m[1] == "0" {
		testenv.Skipf(t, "needs auditd running (start it with `auditd`, or `systemctl start auditd`); auditctl -s: %s", out)
	}
	if _, err := os.Stat(auditLog); err != nil {
		testenv.Skipf(t, "needs auditd writing %s: %v", auditLog, err)
	}
}

// execRule loads an execve audit rule for the test's duration.
func execRule(t *testing.T) {
	t.Helper()
	auditRule(t, "always,exit", "-F", "arch=b64", "-S", "execve", "-k", "bulwark-test")
}

// auditRule loads an audit rule for the test's duration.
func auditRule(t *testing.T, rule ...string) {
	t.Helper()
	if out, err := exec.Command("auditctl", append([]string{"-a"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("auditctl -a: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Delete exactly this rule: others may hold rules of their own.
		if out, err := exec.Command("auditctl", append([]string{"-d"}, rule...)...).CombinedOutput(); err != nil {
			t.Errorf("auditctl -d: %v: %s", err, out)
		}
	})
}

// follow tails the real log from its current end (through a checkpoint,
// so nothing written from now on is missed) and returns a function that
// waits for the first event match accepts.
func follow(t *testing.T, match func(*event.Event) bool) func() *event.Event {
	t.Helper()
	fi, err := os.Stat(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "auditd.pos")
	id := identity(t, fi)
	id.Offset = fi.Size()
	if err := tail.WriteCheckpoint(cp, id); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var found *event.Event
	tl := NewTailer(Options{CheckpointPath: cp, Poll: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tl.Run(ctx, func(e *event.Event) {
			if match(e) {
				mu.Lock()
				if found == nil {
					found = e
				}
				mu.Unlock()
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return func() *event.Event {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			e := found
			mu.Unlock()
			if e != nil {
				return e
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no matching event within 20s (stats %+v)", tl.Stats())
		return nil
	}
}

// TestAuditdExec loads an execve rule, runs a shell and finds the joined
// exec event in auditd's real log.
func TestAuditdExec(t *testing.T) {
	requireAuditd(t)
	execRule(t)
	wait := follow(t, func(e *event.Event) bool {
		return e.Kind == event.KindProcessExec && slices.Contains(e.Process.Args, "echo bulwark-e2e-marker")
	})
	cmd := exec.Command("/bin/sh", "-c", "echo bulwark-e2e-marker")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "bulwark-e2e-marker") {
		t.Fatalf("sh: %v: %s", err, out)
	}
	e := wait()
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	p := e.Process
	if want := []string{"/bin/sh", "-c", "echo bulwark-e2e-marker"}; !slices.Equal(p.Args, want) {
		t.Errorf("args %q, want %q", p.Args, want)
	}
	if p.Exe != sh || p.PID != cmd.Process.Pid || p.UID != os.Getuid() || p.EUID != os.Geteuid() || p.PPID != os.Getpid() {
		t.Errorf("process %+v: want exe %s pid %d ppid %d uid %d", p, sh, cmd.Process.Pid, os.Getpid(), os.Getuid())
	}
	if p.ParentExe == "" || e.Source != event.SourceAuditd || e.Time.IsZero() || len(e.Raw) == 0 {
		t.Errorf("event %+v: want parent exe (we are alive), source, time and raw records", e)
	}
	if e.Container != nil {
		t.Errorf("host process got container %+v", e.Container)
	}
}

// TestAuditdContainerExec starts a container from a one-binary image and
// checks that its exec event carries the container's id, found through
// the live process's cgroup.
func TestAuditdContainerExec(t *testing.T) {
	requireAuditd(t)
	testenv.Docker(t)
	img := sleeperImage(t)
	execRule(t)
	wait := follow(t, func(e *event.Event) bool {
		return e.Kind == event.KindProcessExec && e.Process.Exe == "/sleeper"
	})
	name := fmt.Sprintf("bulwark-auditd-test-%d", os.Getpid())
	out, err := exec.Command("docker", "run", "-d", "--rm", "--name", name, img).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	cid := strings.TrimSpace(string(out))
	e := wait()
	if e.Container == nil || e.Container.ID != cid {
		t.Errorf("container %+v (cgroup %q), want id %s", e.Container, e.Process.CgroupPath, cid)
	}
}

// sleeperImage imports bench/sleeper (built static) as a one-file image.
func sleeperImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "sleeper")
	build := exec.Command("go", "build", "-o", bin, "./bench/sleeper")
	build.Dir = testenv.ModuleRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building sleeper: %v: %s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "sleeper", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	img := fmt.Sprintf("bulwark-test/auditd-sleeper:%d", os.Getpid())
	imp := exec.Command("docker", "import", "--change", `CMD ["/sleeper"]`, "-", img)
	imp.Stdin = &buf
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", img).Run() })
	return img
}

func identity(t *testing.T, fi os.FileInfo) tail.Checkpoint {
	t.Helper()
	cp := tail.Identity(fi)
	if cp.Inode == 0 {
		t.Fatal("no inode")
	}
	return cp
}

// TestAuditdNamespace loads an unshare rule and finds a renamed unshare(1)
// creating user and network namespaces in auditd's real log.
func TestAuditdNamespace(t *testing.T) {
	requireAuditd(t)
	probe := sourcetest.RenamedTool(t, "unshare", "nsprobe")
	auditRule(t, "always,exit", "-F", "arch=b64", "-S", "unshare", "-k", "bulwark-test-ns")
	cmd := exec.Command(probe, "-U", "-n", "/bin/true")
	wait := follow(t, func(e *event.Event) bool {
		return e.Kind == event.KindNamespace && e.Process.Exe == probe
	})
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", probe, err, out)
	}
	e := wait()
	if e.Action != "unshare" || !slices.Equal(e.Process.Namespaces, []string{"user", "net"}) || e.Process.PID != cmd.Process.Pid ||
		e.Process.Cmdline != probe+" -U -n /bin/true" {
		t.Errorf("namespace event: action %q namespaces %v pid %d (want %d) cmdline %q", e.Action, e.Process.Namespaces, e.Process.PID, cmd.Process.Pid, e.Process.Cmdline)
	}
}
