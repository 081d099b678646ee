// Package testproc runs the child processes of the e2e tests (etcd,
// kube-apiserver, bulwark): output to a log file, stopped when the test
// ends, the log's tail shown when the test failed.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is one child process whose output goes to a log file.
type Process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // set before done closes
}

// Start starts bin with args, logging to dir/name.log, and stops it
// (SIGTERM, then SIGKILL after 10 s) when the test ends.
func Start(t testing.TB, dir, name, bin string, args ...string) *Process {
	t.Helper()
	logPath := dir + "/" + name + ".log"
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("creating %s log: %v", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a killed test binary
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("starting %s (%s): %v", name, bin, err)
	}
	p := &Process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s log (last lines):\n%s", name, p.Tail(40))
		}
	})
	return p
}

// Pid is the process id (to read its /proc entry).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop ends the process (SIGTERM, then SIGKILL after 10 s) and waits.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Log is the path of the process's log file (stdout and stderr).
func (p *Process) Log() string { return p.log }

// Exited reports an error when the process has already ended.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early (%v); log:\n%s", p.name, p.err, p.Tail(30))
	default:
		return nil
	}
}

// Tail returns the last n lines of the process's log.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a loopback TCP port nothing listens on right now. The
// port is only free until someone else takes it, which on loopback in a
// test is rare enough.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
