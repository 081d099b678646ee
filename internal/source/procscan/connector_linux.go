package procscan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's process events connector (NETLINK_CONNECTOR, CN_IDX_PROC)
// tells a root listener about every fork, exec and exit as it happens:
// reading /proc only for new programs replaces reading every process's
// stat each second, and catches execs a poll would miss.

const (
	cnIdxProc = 1
	cnValProc = 1

	procCnMcastListen = 1
	procCnMcastIgnore = 2

	procEventNone = 0x00000000
	procEventFork = 0x00000001
	procEventExec = 0x00000002
	procEventExit = 0x80000000

	nlmsgHdrLen = 16
	cnMsgLen    = 20
	// A proc_event: what, cpu, timestamp_ns, then the event's data.
	procEventData = nlmsgHdrLen + cnMsgLen + 16
)

// procEvent is one decoded event: exec and exit of a process (pid ==
// tgid), or the fork of a new one (child's pid), parent's tgid for forks.
type procEvent struct {
	what        uint32
	pid, parent int
}

// connector is a subscribed process events socket.
type connector struct {
	f *os.File
}

// openConnector subscribes and checks the kernel's answer and that the
// pids it reports are this process's view of /proc: the kernel gives
// pids of the initial pid namespace, so an agent in another one (a pod
// without hostPID) must poll. It needs root (or CAP_NET_ADMIN).
func openConnector() (*connector, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("process events socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process events bind: %w", err)
	}
	// Bursts (a build, a container start) come faster than they are read
	// at times: a large buffer makes losing events rare (they are
	// counted and followed by a /proc scan).
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	c := &connector{f: os.NewFile(uintptr(fd), "proc-connector")}
	if err := c.control(procCnMcastListen); err != nil {
		c.f.Close()
		return nil, err
	}
	if err := c.probe(); err != nil {
		c.close()
		return nil, err
	}
	// From now on only execs wake the agent: a busy host forks and exits
	// thousands of times a second, and each datagram would be a read.
	if err := c.onlyExecs(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// onlyExecs attaches a socket filter that keeps exec events only (what,
// at its offset, read big-endian by classic BPF: the host's byte order
// is undone by comparing with the value as such a load sees it).
func (c *connector) onlyExecs() error {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], procEventExec)
	exec := binary.BigEndian.Uint32(b[:])
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: nlmsgHdrLen + cnMsgLen},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: exec},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffffffff},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
	}
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("process events filter: %w", serr)
	}
	// What arrived before the filter: drained, the table is pruned anyway.
	_ = c.f.SetReadDeadline(time.Now())
	buf := make([]byte, 8192)
	for {
		if _, err := c.f.Read(buf); err != nil {
			break
		}
	}
	return c.f.SetReadDeadline(time.Time{})
}

// control sends PROC_CN_MCAST_LISTEN or _IGNORE.
func (c *connector) control(op uint32) error {
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(b[12:], uint32(os.Getpid()))
	binary.NativeEndian.PutUint32(b[16:], cnIdxProc)
	binary.NativeEndian.PutUint32(b[20:], cnValProc)
	binary.NativeEndian.PutUint16(b[32:], 4)
	binary.NativeEndian.PutUint32(b[36:], op)
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("process events subscribe: %w", serr)
	}
	return nil
}

// probe waits for the subscription's acknowledgement, then forks a child
// that cannot exec (no such file) and waits for its fork event: its
// parent must be this process's pid, else the kernel's pids are not ours.
func (c *connector) probe() error {
	deadline := time.Now().Add(2 * time.Second)
	_ = c.f.SetReadDeadline(deadline)
	defer c.f.SetReadDeadline(time.Time{}) //nolint:errcheck
	buf := make([]byte, 8192)
	acked, forked := false, false
	self := os.Getpid()
	for !acked || !forked {
		n, err := c.f.Read(buf)
		if err != nil {
			switch {
			case !acked:
				return fmt.Errorf("process events: no acknowledgement from the kernel: %w", err)
			default:
				return errors.New("process events: the kernel's pids are not this /proc's (another pid namespace)")
			}
		}
		for _, ev := range decodeEvents(buf[:n]) {
			switch {
			case ev.what == procEventNone && !acked:
				acked = true
				// The child exists for an instant: execve fails.
				_, _ = syscall.ForkExec("/nonexistent/bulwark-proc-events-probe", nil, &syscall.ProcAttr{})
			case ev.what == procEventFork && ev.parent == self:
				forked = true
			}
		}
	}
	return nil
}

// read blocks for the next datagram and decodes it; it fails once close
// is called.
func (c *connector) read(buf []byte) ([]procEvent, error) {
	n, err := c.f.Read(buf)
	if err != nil {
		return nil, err
	}
	return decodeEvents(buf[:n]), nil
}

// stop ends a blocked read.
func (c *connector) stop() { c.f.Close() }

func (c *connector) close() {
	_ = c.control(procCnMcastIgnore)
	c.f.Close()
}

// decodeEvents reads the netlink messages of one datagram; what it does
// not know (other events, short messages) it skips.
func decodeEvents(b []byte) []procEvent {
	var out []procEvent
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b[0:]))
		if l < nlmsgHdrLen || l > len(b) {
			break
		}
		m := b[:l]
		b = b[min((l+3)&^3, len(b)):]
		if len(m) < procEventData {
			continue
		}
		what := binary.NativeEndian.Uint32(m[nlmsgHdrLen+cnMsgLen:])
		d := m[procEventData:]
		u := func(i int) int {
			if len(d) < 4*(i+1) {
				return -1
			}
			return int(binary.NativeEndian.Uint32(d[4*i:]))
		}
		switch what {
		case procEventNone:
			out = append(out, procEvent{what: what})
		case procEventFork: // parent_pid, parent_tgid, child_pid, child_tgid
			if u(2) == u(3) && u(3) > 0 {
				out = append(out, procEvent{what: what, pid: u(3), parent: u(1)})
			}
		case procEventExec: // process_pid, process_tgid
			if u(1) > 0 {
				out = append(out, procEvent{what: what, pid: u(1)})
			}
		case procEventExit: // process_pid, process_tgid, …
			if u(0) == u(1) && u(1) > 0 {
				out = append(out, procEvent{what: what, pid: u(1)})
			}
		}
	}
	return out
}
