package procscan

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func start(t *testing.T) (*Scanner, *sourcetest.Collector) {
	t.Helper()
	s := New(Options{Interval: 100 * time.Millisecond})
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
	return s, c
}

func TestIntegrationScan(t *testing.T) {
	// Processes that exist before the scanner starts are the baseline.
	before := exec.Command("sleep", "30")
	if err := before.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { before.Process.Kill(); before.Wait() }()
	s, c := start(t)

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

func TestIntegrationScanContainer(t *testing.T) {
	testenv.Docker(t)
	tag := fmt.Sprintf("bulwark-test-procscan:%d", os.Getpid())
	sourcetest.HostImage(t, tag)
	_, c := start(t)
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
