package ebpf

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// startSensor loads the real sensor, or skips where BPF cannot load (not
// root, no BTF): CI must run this as root on a BTF kernel.
func startSensor(t *testing.T, o Options) (*Sensor, *sourcetest.Collector) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "the eBPF sensor needs root")
	}
	s, err := New(o)
	if err != nil {
		testenv.Skipf(t, "eBPF sensor does not load on this kernel: %v", err)
	}
	for _, h := range s.Hooks() {
		if !h.Live {
			t.Errorf("hook %s not live: %s", h.Name, h.Err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &sourcetest.Collector{}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, c.Emit) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, c
}

func execWith(marker string) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.Kind == event.KindProcessExec && slices.Contains(e.Process.Args, marker)
	}
}

func TestIntegrationSensorHost(t *testing.T) {
	s, c := startSensor(t, Options{})
	marker := fmt.Sprintf("marker-xyz-%d", os.Getpid())

	// exec: the sh is replaced by true, keeping its pid and parent.
	sh := exec.Command("sh", "-c", "exec /bin/true "+marker)
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("sh: %v: %s", err, out)
	}
	e := c.Wait(t, "exec", execWith(marker))
	p := e.Process
	if !strings.HasSuffix(p.Exe, "/true") || !slices.Equal(p.Args, []string{"/bin/true", marker}) || p.Name != "true" {
		t.Errorf("exec process: %+v", p)
	}
	if p.PID != sh.Process.Pid || p.PPID != os.Getpid() || p.UID != 0 || p.EUID != 0 || p.StdioSocket {
		t.Errorf("exec ids: pid %d (want %d) ppid %d (want %d) uid %d euid %d stdio %v", p.PID, sh.Process.Pid, p.PPID, os.Getpid(), p.UID, p.EUID, p.StdioSocket)
	}
	if e.Container != nil || e.Source != event.SourceEBPF || e.Host == "" || time.Since(e.Time) > time.Minute || time.Since(e.Time) < 0 {
		t.Errorf("exec event: container %+v source %s host %q time %v", e.Container, e.Source, e.Host, e.Time)
	}

	// connect to a loopback port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	e = c.Wait(t, "connect", func(e *event.Event) bool {
		return e.Kind == event.KindNetConnect && e.Net.DstPort == port && e.Process.PID == os.Getpid()
	})
	if e.Net.DstIP != "127.0.0.1" || e.Action != "connect" || e.Net.Proto != "tcp" {
		t.Errorf("connect: action %s %+v", e.Action, e.Net)
	}

	// A UDP "connect" (what resolvers do) carries its socket type.
	uc, err := net.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	uport := uc.LocalAddr().(*net.UDPAddr).Port
	uc.Close()
	e = c.Wait(t, "udp connect", func(e *event.Event) bool {
		return e.Kind == event.KindNetConnect && e.Net.DstPort == 9 && e.Process.PID == os.Getpid()
	})
	if e.Net.Proto != "udp" || e.Net.DstIP != "127.0.0.1" {
		t.Errorf("udp connect (local port %d): %+v", uport, e.Net)
	}

	// read of /etc/hostname (not sensitive: filtered in the kernel), then
	// of /etc/shadow.
	if b, err := os.ReadFile("/etc/hostname"); err != nil || len(b) == 0 {
		t.Fatalf("read /etc/hostname: %v", err)
	}
	f, err := os.Open("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	e = c.Wait(t, "open /etc/shadow", func(e *event.Event) bool {
		return e.Kind == event.KindFile && e.File.Path == "/etc/shadow" && e.Process.PID == os.Getpid()
	})
	if e.File.Op != "open-read" || e.Action != "open-read" {
		t.Errorf("open: %+v", e.File)
	}
	for _, e := range c.Find(func(*event.Event) bool { return true }) {
		if e.Kind == event.KindFile && e.File.Path == "/etc/hostname" {
			t.Errorf("non-sensitive open reported: %+v", e.File)
		}
	}

	// A shell whose stdin and stdout are a TCP socket: the reverse-shell mark.
	sock, err := conn.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	rs := exec.Command("/bin/sleep", "1")
	rs.Stdin, rs.Stdout = sock, sock
	if err := rs.Run(); err != nil {
		t.Fatalf("sleep: %v", err)
	}
	e = c.Wait(t, "stdio socket exec", func(e *event.Event) bool {
		return e.Kind == event.KindProcessExec && e.Process.PID == rs.Process.Pid
	})
	if !e.Process.StdioSocket || e.Process.StdioPeer != ln.Addr().String() {
		t.Errorf("stdio socket: %v peer %q (want %s)", e.Process.StdioSocket, e.Process.StdioPeer, ln.Addr())
	}
	if st := s.Stats(); st.Malformed != 0 || st.Events == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestIntegrationSensorContainer(t *testing.T) {
	testenv.Docker(t)
	tag := fmt.Sprintf("bulwark-test-ebpf:%d", os.Getpid())
	sourcetest.HostImage(t, tag)
	id := sourcetest.RunContainer(t, tag)
	_, c := startSensor(t, Options{})
	marker := fmt.Sprintf("ctr-marker-%d", os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := sourcetest.Docker(ctx, nil, "exec", id, "sh", "-c", "exec /bin/true "+marker); err != nil {
		t.Fatalf("docker exec: %v: %s", err, out)
	}
	e := c.Wait(t, "container exec", execWith(marker))
	if e.Container == nil || e.Container.ID != id {
		t.Errorf("container exec: container %+v, want id %s (cgroup %q)", e.Container, id, e.Process.CgroupPath)
	}
	if !strings.Contains(e.Process.CgroupPath, id) {
		t.Errorf("cgroup path %q does not name %s", e.Process.CgroupPath, id)
	}
}

func TestOptionsRejected(t *testing.T) {
	for _, paths := range [][]string{
		make([]string, 17),
		{""},
		{"/" + strings.Repeat("x", 60)},
	} {
		if _, err := New(Options{SensitivePaths: paths}); err == nil {
			t.Errorf("SensitivePaths %q accepted", paths)
		}
	}
}

func TestIntegrationSensorNamespace(t *testing.T) {
	probe := sourcetest.RenamedTool(t, "unshare", "nsprobe") // only the syscall hook can tell
	s, c := startSensor(t, Options{})
	cmd := exec.Command(probe, "-U", "-n", "/bin/true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", probe, err, out)
	}
	e := c.Wait(t, "unshare", func(e *event.Event) bool {
		return e.Kind == event.KindNamespace && e.Process.PID == cmd.Process.Pid
	})
	if e.Action != "unshare" || !slices.Equal(e.Process.Namespaces, []string{"user", "net"}) || !strings.HasSuffix(e.Process.Exe, "/nsprobe") {
		t.Errorf("unshare event: action %q namespaces %v exe %q", e.Action, e.Process.Namespaces, e.Process.Exe)
	}
	if e.Container != nil {
		t.Errorf("host process in container %+v", e.Container)
	}
	// This process forks (clone without CLONE_NEW*): never a namespace event.
	for _, e := range c.Find(func(e *event.Event) bool { return e.Kind == event.KindNamespace && e.Process.PID == os.Getpid() }) {
		t.Errorf("namespace event for a plain fork: %+v", e.Process)
	}
	if st := s.Stats(); st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestIntegrationSensorNamespaceContainer(t *testing.T) {
	probe := sourcetest.RenamedTool(t, "unshare", "nsprobe") // only the syscall hook can tell
	tag := fmt.Sprintf("bulwark-test-ebpf-ns:%d", os.Getpid())
	sourcetest.HostImageWith(t, tag, map[string]string{"usr/bin/nsprobe": probe})
	_, c := startSensor(t, Options{})
	// Unconfined: Docker's default seccomp profile refuses unshare before
	// the syscall tracepoint sees it (the exec rule still does).
	id := sourcetest.RunContainer(t, tag, "--security-opt", "seccomp=unconfined")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := sourcetest.Docker(ctx, nil, "exec", id, "nsprobe", "-U", "-m", "/bin/true"); err != nil {
		t.Fatalf("docker exec: %v: %s", err, out)
	}
	// By container id: tests of other packages may run nsprobe at the
	// same time; a wrong attribution makes this wait time out.
	e := c.Wait(t, "unshare in the container", func(e *event.Event) bool {
		return e.Kind == event.KindNamespace && strings.HasSuffix(e.Process.Exe, "/nsprobe") && e.Container != nil && e.Container.ID == id
	})
	if !slices.Equal(e.Process.Namespaces, []string{"user", "mnt"}) || e.Action != "unshare" {
		t.Errorf("unshare in the container: %s %v", e.Action, e.Process.Namespaces)
	}
	for _, e := range c.Find(func(e *event.Event) bool { return e.Kind == event.KindNamespace }) {
		t.Logf("namespace event: %s by %s (%s, comm %s, parent %s) container %+v: %v", e.Action, e.Process.Exe, e.Process.Cmdline, e.Process.Name, e.Process.ParentName, e.Container, e.Process.Namespaces)
	}
}
