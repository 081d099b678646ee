package procscan

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// modes are the two ways processes are found: the kernel's process
// events (root, initial pid namespace) and polling /proc.
var modes = []struct {
	name string
	poll bool
}{{"events", false}, {"poll", true}}

func start(t *testing.T, poll bool) (*Scanner, *sourcetest.Collector) {
	t.Helper()
	s := New(Options{Interval: 100 * time.Millisecond, Poll: poll})
	c := &sourcetest.Collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, c.Emit) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	if !poll && !s.UsingEvents() {
		testenv.Skipf(t, "the process events connector is not usable here (needs root in the initial pid namespace)")
	}
	if poll && s.UsingEvents() {
		t.Fatal("Poll set, but process events in use")
	}
	return s, c
}

func TestIntegrationScan(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testIntegrationScan(t, m.poll) })
	}
}

func testIntegrationScan(t *testing.T, poll bool) {
	// Processes that exist before the scanner starts are the baseline.
	before := exec.Command("sleep", "30")
	if err := before.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { before.Process.Kill(); before.Wait() }()
	s, c := start(t, poll)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port

	// A sleep whose stdin and stdout are a TCP socket: a reverse shell's
	// shape, long-lived enough for a scan to see.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f, err := conn.(*net.TCPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs := exec.Command("sleep", "30")
	rs.Stdin, rs.Stdout = f, f
	if err := rs.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { rs.Process.Kill(); rs.Wait() }()

	e := c.Wait(t, "exec", func(e *event.Event) bool { return e.Kind == event.KindProcessExec && e.Process.PID == rs.Process.Pid })
	p := e.Process
	if p.Name != "sleep" || p.Exe == "" || len(p.Args) != 2 || p.Args[1] != "30" || p.PPID != os.Getpid() || p.UID != os.Getuid() {
		t.Errorf("process: %+v", p)
	}
	if !p.StdioSocket || p.StdioPeer != ln.Addr().String() || e.Source != event.SourceProc || e.Container != nil {
		t.Errorf("stdio socket %v peer %q (want %s), source %s, container %+v", p.StdioSocket, p.StdioPeer, ln.Addr(), e.Source, e.Container)
	}
	e = c.Wait(t, "connect", func(e *event.Event) bool {
		return e.Kind == event.KindNetConnect && e.Net.DstPort == port
	})
	if e.Net.DstIP != "127.0.0.1" || e.Net.Proto != "tcp" || e.Process == nil || e.Process.PID == 0 {
		t.Errorf("connect: %+v process %+v", e.Net, e.Process)
	}
	for _, e := range c.Find(func(*event.Event) bool { return true }) {
		if e.Process != nil && e.Process.PID == before.Process.Pid {
			t.Errorf("baseline process reported: %+v", e.Process)
		}
		if e.Kind == event.KindNetConnect && e.Net.SrcPort == port {
			t.Errorf("inbound side reported as outbound: %+v", e.Net)
		}
	}
	if st := s.Stats(); st.Events < 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestShortLivedProcess: with process events, a program that runs for
// a few milliseconds — between two polls — is reported, with its
// arguments; exits and forks keep the process table to what runs.
func TestShortLivedProcess(t *testing.T) {
	s, c := start(t, false)
	for i := range 5 {
		if out, err := exec.Command("sh", "-c", fmt.Sprintf("exec sleep 0.0%d", i+1)).CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	for i := range 5 {
		arg := fmt.Sprintf("0.0%d", i+1)
		c.Wait(t, "sleep "+arg, func(e *event.Event) bool {
			return e.Kind == event.KindProcessExec && e.Process.Name == "sleep" && len(e.Process.Args) == 2 && e.Process.Args[1] == arg
		})
	}
	if st := s.Stats(); st.Events < 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestIntegrationScanContainer(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testIntegrationScanContainer(t, m.poll) })
	}
}

func testIntegrationScanContainer(t *testing.T, poll bool) {
	testenv.Docker(t)
	tag := fmt.Sprintf("bulwark-test-procscan:%d", os.Getpid())
	sourcetest.HostImage(t, tag)
	_, c := start(t, poll)
	id := sourcetest.RunContainer(t, tag)
	e := c.Wait(t, "container process", func(e *event.Event) bool {
		// runc init is seen first when a scan falls between fork and
		// exec; the exec in place is reported again as sleep.
		return e.Kind == event.KindProcessExec && e.Container != nil && e.Container.ID == id && e.Process.Name == "sleep"
	})
	if e.Process.Name != "sleep" || len(e.Process.Args) != 2 || e.Process.Args[1] != "3600" {
		t.Errorf("container process %+v", e.Process)
	}
}

// TestScanExecInProgress: a scan that finds a process inside execve —
// its new program named, its argv not yet in place — reports it at the
// next scan with its arguments; one that keeps an empty argv is still
// reported, once; a kernel thread never is. (A fake /proc: the window is
// microseconds wide on a real one.)
func TestScanExecInProgress(t *testing.T) {
	for _, c := range []struct {
		name     string
		exe      bool
		args     string // written after the first scan
		want     []int  // events after each of three scans
		wantArgs int
	}{
		{"argv arrives", true, "sleep\x003600\x00", []int{0, 1, 1}, 2},
		{"argv stays empty", true, "", []int{0, 1, 1}, 0},
		{"kernel thread", false, "", []int{0, 0, 0}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			dir := root + "/4242"
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			write := func(name, content string) {
				if err := os.WriteFile(dir+"/"+name, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write("stat", "4242 (sleep) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 100")
			write("status", "Name:\tsleep\nPPid:\t1\nUid:\t0\t0\t0\t0\n")
			write("cmdline", "")
			if c.exe {
				if err := os.Symlink("/bin/sleep", dir+"/exe"); err != nil {
					t.Fatal(err)
				}
			}
			s := New(Options{ProcRoot: root, Poll: true})
			s.procs = map[int]string{}
			col := &sourcetest.Collector{}
			for i, want := range c.want {
				if i == 1 {
					write("cmdline", c.args)
				}
				if err := s.Scan(context.Background(), col.Emit, false); err != nil {
					t.Fatal(err)
				}
				evs := col.Find(func(*event.Event) bool { return true })
				if len(evs) != want {
					t.Fatalf("after scan %d: %d events, want %d", i+1, len(evs), want)
				}
				if want > 0 && (len(evs[0].Process.Args) != c.wantArgs || evs[0].Process.Exe != "/bin/sleep") {
					t.Errorf("reported %+v", evs[0].Process)
				}
			}
		})
	}
}

func TestStatKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"12 (bash) S 1 12 12 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 100", "5555 bash"},
		{"13 (a) (b) c) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 777 x", "777 a) (b) c"},
		{"14 (short) S 1 2", ""},
		{"no parens", ""},
	} {
		got, err := StatKey([]byte(c.in))
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("StatKey(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzStatKey: /proc/PID/stat text never panics the parser.
func FuzzStatKey(f *testing.F) {
	f.Add([]byte("12 (bash) S 1 12 12 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1000 100"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := StatKey(b); err == nil && k == "" {
			t.Fatalf("empty key without error")
		}
	})
}

// BenchmarkScan is one pass over this machine's /proc with nothing new
// (the steady state): its cost bounds how short Interval can be.
func BenchmarkScan(b *testing.B) {
	s := New(Options{})
	ctx := context.Background()
	if err := s.Scan(ctx, func(*event.Event) {}, true); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Scan(ctx, func(*event.Event) {}, false); err != nil {
			b.Fatal(err)
		}
	}
	pids, _ := s.pids()
	b.ReportMetric(float64(len(pids)), "procs")
}

// FuzzDecodeEvents: whatever a netlink datagram holds, decoding never
// panics and yields only the events it knows.
func FuzzDecodeEvents(f *testing.F) {
	exec := make([]byte, 36+16+8)
	binary.NativeEndian.PutUint32(exec[0:], uint32(len(exec)))
	binary.NativeEndian.PutUint32(exec[36:], procEventExec)
	binary.NativeEndian.PutUint32(exec[52:], 42)
	binary.NativeEndian.PutUint32(exec[56:], 42)
	f.Add(exec)
	f.Add(append(append([]byte{}, exec...), exec...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ev := range decodeEvents(b) {
			if ev.what != procEventExec && ev.what != procEventFork && ev.what != procEventExit && ev.what != 0 {
				t.Fatalf("unknown event %+v", ev)
			}
		}
	})
}

func TestDecodeEvents(t *testing.T) {
	msg := func(what uint32, data ...uint32) []byte {
		b := make([]byte, 52+4*len(data))
		binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
		binary.NativeEndian.PutUint32(b[36:], what)
		for i, d := range data {
			binary.NativeEndian.PutUint32(b[52+4*i:], d)
		}
		return b
	}
	for _, c := range []struct {
		name string
		in   []byte
		want []procEvent
	}{
		{"exec", msg(procEventExec, 42, 42), []procEvent{{what: procEventExec, pid: 42}}},
		{"fork of a process", msg(procEventFork, 7, 7, 43, 43), []procEvent{{what: procEventFork, pid: 43, parent: 7}}},
		{"fork of a thread", msg(procEventFork, 7, 7, 44, 43), nil},
		{"exit of a process", msg(procEventExit, 43, 43, 0, 17, 7, 7), []procEvent{{what: procEventExit, pid: 43}}},
		{"exit of a thread", msg(procEventExit, 44, 43, 0, 0, 7, 7), nil},
		{"two in one datagram", append(msg(procEventExec, 5, 5), msg(procEventExec, 6, 6)...),
			[]procEvent{{what: procEventExec, pid: 5}, {what: procEventExec, pid: 6}}},
		{"truncated", msg(procEventExec, 42, 42)[:50], nil},
		{"uid change (ignored)", msg(0x4, 42, 42, 0, 0), nil},
	} {
		got := decodeEvents(c.in)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// BenchmarkEventsIdle is the steady state with process events: one
// connection poll of every network namespace (what each interval costs
// when no process starts), to compare with BenchmarkScan.
func BenchmarkEventsIdle(b *testing.B) {
	s := New(Options{})
	ctx := context.Background()
	if err := s.Scan(ctx, func(*event.Event) {}, true); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		netns := map[string]int{}
		for pid, ns := range s.pidNS {
			if _, ok := netns[ns]; !ok {
				netns[ns] = pid
			}
		}
		s.scanConns(netns, false, time.Now(), func(*event.Event) {})
	}
}

// TestDiagTCPMatchesProc: the sockets sock_diag lists (established and
// listening) are the ones /proc/self/net/tcp{,6} shows, field for field.
func TestDiagTCPMatchesProc(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Accepted: the socket has its inode (a queued one has none yet).
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	diag, err := diagTCP()
	if err != nil {
		testenv.Skipf(t, "sock_diag: %v", err)
	}
	proc, err := procinfo.FS{Root: "/proc"}.TCP(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	key := func(c procinfo.TCPConn) string {
		return fmt.Sprintf("%s %s %d %d %d", c.Local, c.Remote, c.State, c.UID, c.Inode)
	}
	in := map[string]bool{}
	for _, c := range diag {
		in[key(c)] = true
	}
	local := conn.LocalAddr().String()
	found := 0
	for _, c := range proc {
		if c.State != procinfo.TCPEstablished && c.State != procinfo.TCPListen {
			continue
		}
		if c.Local.String() == local || c.Local.String() == ln.Addr().String() {
			found++
			if !in[key(c)] {
				t.Errorf("/proc has %s, sock_diag does not (%d sockets)", key(c), len(diag))
			}
		}
	}
	if found < 3 {
		t.Errorf("the test's own sockets: %d of 3 found in /proc", found)
	}
}
