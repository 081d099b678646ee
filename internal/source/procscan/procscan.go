// Package procscan is the node source used when the eBPF sensor cannot
// load: it polls /proc every interval and reports processes that appeared
// since the last scan (KindProcessExec) and TCP connections that became
// established outbound (KindNetConnect), with Source "proc".
//
// Where the kernel's process events connector is available (Linux, root
// or CAP_NET_ADMIN, the initial pid namespace's /proc) the processes are
// not polled: each exec is announced by the kernel and only that process's
// /proc entry is read, at once — cheaper on an idle host and it sees most
// short-lived programs too. Otherwise (and always for connections) /proc
// is polled every interval.
//
// Polling sees what exists at scan time only: a process that starts and
// exits between two scans (a short `curl | sh`, a one-shot `id`) and a
// connection opened and closed between them are missed, and an exec seen
// late reports the process as it is then. Prefer the eBPF sensor; this
// keeps long-lived activity (reverse shells, miners, implants) visible
// where it cannot run.
package procscan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

// Options configure a Scanner.
type Options struct {
	// Interval between scans (default 1s).
	Interval time.Duration
	// Logger receives scan problems; nil discards.
	Logger *slog.Logger
	// NodeName goes into Event.Host; empty means os.Hostname.
	NodeName string
	// ProcRoot is the /proc to scan (default /proc).
	ProcRoot string
	// EmitExisting reports the processes and connections present at the
	// first scan too; by default they are the baseline.
	EmitExisting bool
	// Poll polls /proc for processes even where the process events
	// connector could be used.
	Poll bool
}

// Scanner polls /proc. It implements event.Reader.
type Scanner struct {
	o    Options
	log  *slog.Logger
	proc procinfo.FS
	self int

	events, malformed atomic.Uint64
	// lost counts process events the kernel could not deliver (a burst
	// overflowed the socket); each loss is followed by a /proc scan.
	lost      atomic.Uint64
	ready     chan struct{}
	readyOnce sync.Once
	// usingEvents: the process events connector is the process source.
	usingEvents atomic.Bool

	// procs are the processes seen at the last scan, by pid, keyed with
	// their start time and comm so pid reuse and exec in place count as new.
	procs map[int]string
	// conns are the established sockets seen at the last scan, by
	// network namespace and inode.
	conns map[string]bool
	// pidNS is each known process's network namespace (readlink of
	// ns/net), so connections can be polled per namespace without
	// visiting every process.
	pidNS map[int]string
	// selfNS is this process's network namespace; its sockets are listed
	// through sock_diag while diag holds (else /proc/PID/net/tcp).
	selfNS string
	diag   bool
}

// New makes a Scanner.
func New(o Options) *Scanner {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	selfNS, err := os.Readlink("/proc/self/ns/net")
	return &Scanner{o: o, log: o.Logger, proc: procinfo.FS{Root: o.ProcRoot}, self: os.Getpid(), ready: make(chan struct{}),
		selfNS: selfNS, diag: err == nil}
}

// Name implements event.Reader.
func (s *Scanner) Name() string { return string(event.SourceProc) }

// Stats implements event.Reader.
func (s *Scanner) Stats() event.Stats {
	return event.Stats{Events: s.events.Load(), Malformed: s.malformed.Load(), Dropped: s.lost.Load()}
}

// Ready is closed once the first scan (the baseline) is done: what
// happens after that is reported.
func (s *Scanner) Ready() <-chan struct{} { return s.ready }

// UsingEvents says whether processes come from the kernel's process
// events (after Ready), rather than from polling /proc.
func (s *Scanner) UsingEvents() bool { return s.usingEvents.Load() }

// Run scans until ctx ends; it returns nil then, or an error when /proc
// cannot be listed at all.
func (s *Scanner) Run(ctx context.Context, emit event.Emit) error {
	if !s.o.Poll {
		cn, err := openConnector()
		if err == nil {
			defer cn.close()
			return s.runEvents(ctx, emit, cn)
		}
		s.log.Info("procscan: process events unavailable, polling /proc for processes", "interval", s.o.Interval, "err", err)
	}
	tick := time.NewTicker(s.o.Interval)
	defer tick.Stop()
	first := !s.o.EmitExisting
	for {
		if err := s.Scan(ctx, emit, first); err != nil {
			return err
		}
		first = false
		s.readyOnce.Do(func() { close(s.ready) })
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Scan runs one pass; with baseline set it records what exists without
// emitting it.
func (s *Scanner) Scan(ctx context.Context, emit event.Emit, baseline bool) error {
	pids, err := s.pids()
	if err != nil {
		return fmt.Errorf("list %s: %w", s.o.ProcRoot, err)
	}
	now := time.Now().UTC()
	procs := make(map[int]string, len(pids))
	pidNS := make(map[int]string, len(pids))
	netns := map[string]int{} // network namespace -> one pid in it
	for _, pid := range pids {
		if ctx.Err() != nil {
			return nil
		}
		key, ok := s.statKey(pid)
		if !ok {
			continue // exited meanwhile
		}
		procs[pid] = key
		if ns, err := os.Readlink(s.path(pid, "ns", "net")); err == nil {
			pidNS[pid] = ns
			if _, ok := netns[ns]; !ok {
				netns[ns] = pid
			}
		}
		// A process known by its fork only (key "") is not new.
		old, seen := s.procs[pid]
		if baseline || seen && (old == key || old == "") || pid == s.self {
			continue
		}
		p := s.proc.Process(pid)
		if p.Exe != "" && len(p.Args) == 0 && old != midExec+key {
			procs[pid] = midExec + key // inside execve: reported whole at the next scan
			continue
		}
		s.emitExec(p, now, emit)
	}
	s.procs, s.pidNS = procs, pidNS
	s.scanConns(netns, baseline, now, emit)
	return nil
}

// midExec prefixes the key of a process a scan found inside execve: the
// new program is named (comm, exe) but its arguments are not in place
// yet, so /proc/PID/cmdline reads empty. The next scan reports it whole;
// one whose arguments are still empty then (it cleared them itself) is
// reported as it is, so emptying argv does not hide a process.
const midExec = "\x00"

// emitExec reports process p as just executed; false when it has no
// program (a kernel thread) or is gone.
func (s *Scanner) emitExec(p *event.Process, now time.Time, emit event.Emit) bool {
	if p.Exe == "" && len(p.Args) == 0 {
		return false // kernel thread, or gone
	}
	ev := &event.Event{Time: now, Source: event.SourceProc, Kind: event.KindProcessExec, Action: "exec", Host: s.o.NodeName, Process: p}
	if id := procinfo.ContainerID(p.CgroupPath); id != "" {
		ev.Container = &event.Container{ID: id}
	}
	s.events.Add(1)
	emit(ev)
	return true
}

// runEvents is Run with the process events connector: a /proc scan for
// the baseline, then each exec reported from its /proc entry as it
// happens; every interval the process table drops the pids gone from
// /proc (one directory read) and the connections are polled, per network
// namespace. Lost events (a burst overflowed the socket) are logged once
// per minute, counted, and followed by a scan that re-learns the
// processes without reporting them (the forks the agent no longer hears
// of would look new): execs inside such a burst can be missed.
func (s *Scanner) runEvents(ctx context.Context, emit event.Emit, cn *connector) error {
	if err := s.Scan(ctx, emit, !s.o.EmitExisting); err != nil {
		return err
	}
	s.usingEvents.Store(true)
	s.log.Info("procscan: processes from the kernel's process events; connections polled", "interval", s.o.Interval)
	s.readyOnce.Do(func() { close(s.ready) })

	type batch struct {
		evs []procEvent
		err error
	}
	ch := make(chan batch, 64)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			evs, err := cn.read(buf)
			if err != nil && (ctx.Err() != nil || errors.Is(err, os.ErrClosed)) {
				close(ch)
				return
			}
			select {
			case ch <- batch{evs, err}:
			case <-ctx.Done():
				close(ch)
				return
			}
		}
	}()
	defer func() {
		cn.stop() // ends the reader
		for range ch {
		}
	}()
	tick := time.NewTicker(s.o.Interval)
	defer tick.Stop()
	resync := false
	var lastLossLog time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-ch:
			if !ok {
				return nil
			}
			if b.err != nil {
				// ENOBUFS: the kernel dropped events.
				s.lost.Add(1)
				resync = true
				if time.Since(lastLossLog) > time.Minute {
					lastLossLog = time.Now()
					s.log.Warn("procscan: process events lost (burst); a /proc scan follows", "err", b.err)
				}
				continue
			}
			now := time.Now().UTC()
			for _, ev := range b.evs {
				s.onEvent(ev, now, emit)
			}
		case <-tick.C:
			now := time.Now().UTC()
			if resync {
				resync = false
				if err := s.Scan(ctx, emit, true); err != nil {
					return err
				}
				continue
			}
			if err := s.prune(); err != nil {
				return err
			}
			netns := map[string]int{}
			for pid, ns := range s.pidNS {
				if _, ok := netns[ns]; !ok {
					netns[ns] = pid
				}
			}
			s.scanConns(netns, false, now, emit)
		}
	}
}

// prune forgets the processes gone from /proc.
func (s *Scanner) prune() error {
	pids, err := s.pids()
	if err != nil {
		return fmt.Errorf("list %s: %w", s.o.ProcRoot, err)
	}
	live := make(map[int]bool, len(pids))
	for _, p := range pids {
		live[p] = true
	}
	for pid := range s.procs {
		if !live[pid] {
			delete(s.procs, pid)
			delete(s.pidNS, pid)
		}
	}
	for pid := range s.pidNS {
		if !live[pid] {
			delete(s.pidNS, pid)
		}
	}
	return nil
}

// onEvent applies one process event.
func (s *Scanner) onEvent(ev procEvent, now time.Time, emit event.Emit) {
	switch ev.what {
	case procEventFork:
		// The same program in a new process: not an exec; known, so a
		// resync scan does not report it. Its namespace is its parent's.
		s.procs[ev.pid] = ""
		if ns, ok := s.pidNS[ev.parent]; ok {
			s.pidNS[ev.pid] = ns
		}
	case procEventExit:
		delete(s.procs, ev.pid)
		delete(s.pidNS, ev.pid)
	case procEventExec:
		if ev.pid == s.self {
			return
		}
		key, ok := s.statKey(ev.pid)
		if !ok {
			return // already gone
		}
		s.procs[ev.pid] = key
		if ns, err := os.Readlink(s.path(ev.pid, "ns", "net")); err == nil {
			s.pidNS[ev.pid] = ns
		}
		// The kernel announces an exec once it is complete: argv is in place.
		s.emitExec(s.proc.Process(ev.pid), now, emit)
	}
}

// scanConns reports established outbound TCP connections new since the
// last scan, in every network namespace. Outbound means the local port is
// not one the namespace listens on.
func (s *Scanner) scanConns(netns map[string]int, baseline bool, now time.Time, emit event.Emit) {
	conns := map[string]bool{}
	var owners map[uint64]int // socket inode -> pid, built only when needed
	for ns, pid := range netns {
		list, err := s.tcp(ns, pid)
		if err != nil {
			s.malformed.Add(1)
			s.log.Warn("procscan: reading tcp sockets", "pid", pid, "err", err)
		}
		listening := map[uint16]bool{}
		for _, c := range list {
			if c.State == procinfo.TCPListen {
				listening[c.Local.Port()] = true
			}
		}
		for _, c := range list {
			if c.State != procinfo.TCPEstablished || c.Inode == 0 || listening[c.Local.Port()] {
				continue
			}
			key := ns + "/" + strconv.FormatUint(c.Inode, 10)
			conns[key] = true
			if baseline || s.conns[key] {
				continue
			}
			if owners == nil {
				owners = s.socketOwners()
			}
			proto := "tcp"
			if c.Remote.Addr().Is6() {
				proto = "tcp6"
			}
			ev := &event.Event{Time: now, Source: event.SourceProc, Kind: event.KindNetConnect, Action: "connect", Host: s.o.NodeName,
				Net: &event.Conn{Proto: proto, SrcIP: c.Local.Addr().String(), SrcPort: int(c.Local.Port()), DstIP: c.Remote.Addr().String(), DstPort: int(c.Remote.Port())}}
			if owner, ok := owners[c.Inode]; ok {
				ev.Process = s.proc.Process(owner)
				if id := procinfo.ContainerID(ev.Process.CgroupPath); id != "" {
					ev.Container = &event.Container{ID: id}
				}
			} else {
				ev.Process = &event.Process{UID: c.UID, EUID: -1}
			}
			s.events.Add(1)
			emit(ev)
		}
	}
	s.conns = conns
}

// tcp lists the TCP sockets of network namespace ns, where pid lives.
func (s *Scanner) tcp(ns string, pid int) ([]procinfo.TCPConn, error) {
	if s.diag && ns == s.selfNS {
		list, err := diagTCP()
		if err == nil {
			return list, nil
		}
		s.diag = false
		s.log.Info("procscan: sock_diag unavailable, reading /proc/PID/net/tcp", "err", err)
	}
	return s.proc.TCP(pid)
}

// socketOwners maps socket inodes to the pid holding them.
func (s *Scanner) socketOwners() map[uint64]int {
	out := map[uint64]int{}
	pids, _ := s.pids()
	for _, pid := range pids {
		fds, err := os.ReadDir(s.path(pid, "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			n, err := strconv.Atoi(fd.Name())
			if err != nil {
				continue
			}
			if in := s.proc.SocketInode(pid, n); in != 0 {
				if _, ok := out[in]; !ok {
					out[in] = pid
				}
			}
		}
	}
	return out
}

func (s *Scanner) pids() ([]int, error) {
	ents, err := os.ReadDir(s.o.ProcRoot)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// statKey is "starttime comm" from /proc/PID/stat: a new key at the same
// pid means pid reuse or an exec in place.
func (s *Scanner) statKey(pid int) (string, bool) {
	b, err := os.ReadFile(s.path(pid, "stat"))
	if err != nil {
		return "", false
	}
	key, err := StatKey(b)
	if err != nil {
		s.malformed.Add(1)
		s.log.Warn("procscan: bad stat", "pid", pid, "err", err)
		return "", false
	}
	return key, true
}

// StatKey extracts "starttime comm" from /proc/PID/stat content.
func StatKey(b []byte) (string, error) {
	st := string(b)
	open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
	if open < 0 || end < open {
		return "", fmt.Errorf("no (comm) in stat")
	}
	f := strings.Fields(st[end+1:])
	// Fields after comm start at field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return "", fmt.Errorf("stat has %d fields after comm, want at least 20", len(f))
	}
	return f[19] + " " + st[open+1:end], nil
}

func (s *Scanner) path(pid int, parts ...string) string {
	return s.o.ProcRoot + "/" + strconv.Itoa(pid) + "/" + strings.Join(parts, "/")
}
