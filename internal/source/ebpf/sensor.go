// Package ebpf is the node sensor: a BPF program (bpf/sensor.c, compiled
// with bpf2go and committed) on tracepoints reports process execs, outbound
// connects and opens of sensitive paths through one ring buffer, and the
// user-space half turns them into event.Events with the container id and
// /proc details joined.
//
// Hooks are raw tracepoints and syscall tracepoints only: they load on any
// BTF kernel where kprobes, fentry or BPF-LSM may be refused (as on the
// development machines). Each hook is attached on its own; Hooks says which
// are live, so a caller can report a partial sensor, and New fails only
// when none is, so the caller falls back to procscan.
package ebpf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cebpf "github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

// DefaultSensitivePaths are the path prefixes whose opens are reported
// (at most 16, each under 60 bytes: the kernel side's fixed table).
var DefaultSensitivePaths = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/", "/root/.ssh/",
	"/etc/kubernetes/", "/var/lib/kubelet/pki/", "/var/run/secrets/kubernetes.io/",
	"/run/secrets/kubernetes.io/", "/etc/ld.so.preload", "/etc/crontab", "/var/spool/cron/",
	"/etc/cron.d/", "/etc/pam.d/", "/root/.bash_history", "/proc/kcore",
}

// Options configure a Sensor.
type Options struct {
	// Logger receives hook and decode problems; nil discards.
	Logger *slog.Logger
	// NodeName goes into Event.Host; empty means os.Hostname.
	NodeName string
	// SensitivePaths replaces DefaultSensitivePaths (prefix match on the
	// path as passed to openat; relative paths are not matched). At most
	// 16, each under 60 bytes.
	SensitivePaths []string
	// FilterInUserSpace sends every openat to user space and filters there
	// instead of in the kernel: only for measuring what the in-kernel
	// filter saves.
	FilterInUserSpace bool
	// ProcRoot is the /proc to read process details from (default /proc).
	ProcRoot string
}

// Hook says whether one kernel hook is attached.
type Hook struct {
	Name string `json:"name"`
	Live bool   `json:"live"`
	Err  string `json:"error,omitempty"`
}

// hooks is the table of kernel hooks; attach links one program.
var hooks = []struct {
	name   string
	attach func(o *sensorObjects) (link.Link, error)
}{
	{"raw_tracepoint/sched_process_exec", func(o *sensorObjects) (link.Link, error) {
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: o.OnExec})
	}},
	{"tracepoint/syscalls/sys_enter_connect", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_enter_connect", o.OnConnectEnter, nil)
	}},
	{"tracepoint/syscalls/sys_exit_connect", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_exit_connect", o.OnConnectExit, nil)
	}},
	{"tracepoint/syscalls/sys_enter_openat", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_enter_openat", o.OnOpenat, nil)
	}},
	{"tracepoint/syscalls/sys_enter_unshare", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_enter_unshare", o.OnUnshare, nil)
	}},
	{"tracepoint/syscalls/sys_enter_clone", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_enter_clone", o.OnClone, nil)
	}},
	{"tracepoint/syscalls/sys_enter_clone3", func(o *sensorObjects) (link.Link, error) {
		return link.Tracepoint("syscalls", "sys_enter_clone3", o.OnClone3, nil)
	}},
}

// Sensor is the eBPF event source. It implements event.Reader.
type Sensor struct {
	o        Options
	log      *slog.Logger
	host     string
	proc     procinfo.FS
	cg2      string
	prefixes []string
	bootWall time.Time // wall-clock time of CLOCK_MONOTONIC zero

	objs  sensorObjects
	links []link.Link
	hooks []Hook

	events, malformed atomic.Uint64

	cgMu    sync.Mutex
	cgPaths map[uint64]string // cgroup id -> path
	// v2Trusted says container processes live in the cgroup v2 tree here,
	// so a v2 id without a container id means a host process.
	v2Trusted bool

	// procs caches what /proc said about a process (exe, cgroup) by pid,
	// so a process that opens or connects often costs no /proc reads; an
	// exec record refreshes its entry.
	procs map[uint32]procEntry
	// parents caches exe and command line by pid for the parent fields:
	// filled from exec records, or from /proc once for processes that
	// exec'd before the sensor started.
	parents map[uint32]parentEntry
}

type parentEntry struct {
	exe, cmdline string
}

type procEntry struct {
	exe, cgroup, container string
}

// maxProcs bounds the process cache; it is cleared when full (processes
// come and go; a rebuild costs a few reads each).
const maxProcs = 16384

// New loads the BPF program and attaches every hook it can. It fails when
// the program cannot load or no hook attaches; Hooks reports each hook.
func New(o Options) (*Sensor, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.SensitivePaths == nil {
		o.SensitivePaths = DefaultSensitivePaths
	}
	if len(o.SensitivePaths) > maxPrefixes {
		return nil, fmt.Errorf("ebpf sensor: %d sensitive paths, at most %d", len(o.SensitivePaths), maxPrefixes)
	}
	for _, p := range o.SensitivePaths {
		if len(p) == 0 || len(p) >= prefixLen {
			return nil, fmt.Errorf("ebpf sensor: sensitive path %q: want 1 to %d bytes", p, prefixLen-1)
		}
	}
	cg2 := procinfo.Cgroup2Mount()
	s := &Sensor{o: o, log: o.Logger, host: o.NodeName, proc: procinfo.FS{Root: o.ProcRoot},
		cg2: cg2, v2Trusted: cg2 == "/sys/fs/cgroup", prefixes: o.SensitivePaths, cgPaths: map[uint64]string{},
		procs: map[uint32]procEntry{}, parents: map[uint32]parentEntry{}}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("read CLOCK_MONOTONIC: %w", err)
	}
	s.bootWall = time.Now().Add(-time.Duration(ts.Nano()))

	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("ebpf sensor: lift memlock limit: %w", err)
	}
	if err := ensureTracefs(s.log); err != nil {
		// Raw tracepoints need no tracefs; the syscall hooks will say why
		// they are not live.
		s.log.Warn("tracefs unavailable; syscall tracepoints will not attach", "err", err)
	}
	spec, err := loadSensor()
	if err != nil {
		return nil, fmt.Errorf("ebpf sensor: read BPF object: %w", err)
	}
	filter := uint32(1)
	if o.FilterInUserSpace {
		filter = 0
	}
	var table [maxPrefixes]sensorPrefix
	for i, p := range s.prefixes {
		table[i] = encodePrefix(p)
	}
	for name, v := range map[string]any{"filter_in_kernel": filter, "sensitive_prefixes": table, "n_prefixes": uint32(len(s.prefixes))} {
		sv, ok := spec.Variables[name]
		if !ok {
			return nil, fmt.Errorf("ebpf sensor: BPF object has no variable %s", name)
		}
		if err := sv.Set(v); err != nil {
			return nil, fmt.Errorf("ebpf sensor: set %s: %w", name, err)
		}
	}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var ve *cebpf.VerifierError
		if errors.As(err, &ve) {
			s.log.Debug("BPF verifier log", "log", fmt.Sprintf("%+v", ve))
		}
		return nil, fmt.Errorf("ebpf sensor: load BPF program: %w", err)
	}
	live := 0
	for _, h := range hooks {
		l, err := h.attach(&s.objs)
		if err != nil {
			s.hooks = append(s.hooks, Hook{Name: h.name, Err: err.Error()})
			s.log.Warn("ebpf hook not attached", "hook", h.name, "err", err)
			continue
		}
		s.links = append(s.links, l)
		s.hooks = append(s.hooks, Hook{Name: h.name, Live: true})
		live++
	}
	if live == 0 {
		s.Close()
		return nil, fmt.Errorf("ebpf sensor: no hook attached (%s)", s.hooks[0].Err)
	}
	return s, nil
}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when nothing is
// there: syscall tracepoints are looked up by name in it.
func ensureTracefs(log *slog.Logger) error {
	const dir = "/sys/kernel/tracing"
	if _, err := os.Stat(dir + "/events"); err == nil {
		return nil
	}
	if _, err := os.Stat("/sys/kernel/debug/tracing/events"); err == nil {
		return nil
	}
	if err := unix.Mount("tracefs", dir, "tracefs", 0, ""); err != nil {
		return fmt.Errorf("mount tracefs at %s: %w", dir, err)
	}
	log.Info("mounted tracefs", "at", dir)
	return nil
}

func encodePrefix(p string) sensorPrefix {
	var v sensorPrefix
	n := copy(v.P[:], toInt8(p))
	v.Len = uint32(n)
	return v
}

func toInt8(s string) []int8 {
	out := make([]int8, len(s))
	for i := range len(s) {
		out[i] = int8(s[i])
	}
	return out
}

// Name implements event.Reader.
func (s *Sensor) Name() string { return string(event.SourceEBPF) }

// Hooks says which kernel hooks are attached, and why not for the others.
func (s *Sensor) Hooks() []Hook { return append([]Hook(nil), s.hooks...) }

// Stats implements event.Reader; Dropped counts records the kernel could
// not queue because the ring buffer was full.
func (s *Sensor) Stats() event.Stats {
	st := event.Stats{Events: s.events.Load(), Malformed: s.malformed.Load()}
	var per []uint64
	if s.objs.Dropped != nil && s.objs.Dropped.Lookup(uint32(0), &per) == nil {
		for _, n := range per {
			st.Dropped += n
		}
	}
	return st
}

// Close detaches every hook and frees the program and maps.
func (s *Sensor) Close() error {
	var errs []error
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	s.links = nil
	errs = append(errs, s.objs.Close())
	return errors.Join(errs...)
}

// Run reads the ring buffer until ctx ends (then it returns nil).
func (s *Sensor) Run(ctx context.Context, emit event.Emit) error {
	rd, err := ringbuf.NewReader(s.objs.Events)
	if err != nil {
		return fmt.Errorf("ebpf sensor: open ring buffer: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { rd.Close() })
	defer stop()
	defer rd.Close()
	var rec ringbuf.Record
	for {
		if err := rd.ReadInto(&rec); err != nil {
			if errors.Is(err, ringbuf.ErrClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ebpf sensor: read ring buffer: %w", err)
		}
		r, err := decode(rec.RawSample)
		if err != nil {
			s.malformed.Add(1)
			s.log.Warn("ebpf sensor: bad record", "err", err)
			continue
		}
		ev := s.toEvent(r)
		if ev == nil {
			continue
		}
		s.events.Add(1)
		emit(ev)
	}
}

// toEvent builds the Event for a record, joining /proc details while the
// process is still there; nil for records filtered in user space.
func (s *Sensor) toEvent(r record) *event.Event {
	if r.Type == recOpen && s.o.FilterInUserSpace && !s.sensitive(r.Path) {
		return nil
	}
	ev := &event.Event{Time: s.bootWall.Add(time.Duration(r.TS)).UTC(), Source: event.SourceEBPF, Host: s.host}
	p := &event.Process{PID: int(r.PID), PPID: int(r.PPID), UID: int(r.UID), EUID: int(r.EUID), Name: r.Comm, ParentName: r.PComm}
	ev.Process = p
	switch r.Type {
	case recExec:
		ev.Kind = event.KindProcessExec
		ev.Action = "exec"
		p.Exe = r.Path
		if !strings.HasPrefix(p.Exe, "/") {
			if exe, err := s.proc.Exe(p.PID); err == nil {
				p.Exe = exe
			}
		}
		p.Args = r.Args
		p.Cmdline = strings.Join(r.Args, " ")
		p.StdioSocket = r.Flags&3 != 0
		if p.StdioSocket {
			_, p.StdioPeer = s.proc.StdioSocket(p.PID)
		}
		p.TTY = r.Flags&4 != 0
		s.parent(p)
	case recConnect:
		ev.Kind = event.KindNetConnect
		ev.Action = "connect"
		// Non-blocking sockets return EINPROGRESS: the attempt is what counts.
		if r.Ret != 0 && r.Ret != -int32(unix.EINPROGRESS) {
			ev.Action = "connect-failed"
		}
		ev.Net = &event.Conn{Proto: r.Proto, DstIP: r.Addr.String(), DstPort: int(r.Port)}
	case recOpen:
		ev.Kind = event.KindFile
		ev.Action = openOp(r.Flags)
		ev.File = &event.File{Path: r.Path, Op: ev.Action}
	case recNS:
		ev.Kind = event.KindNamespace
		ev.Action = r.Path // the syscall
		p.Namespaces = event.CloneNamespaces(uint64(r.Flags))
		// The command line of the exec that started this image, recorded
		// before it in the ring buffer; /proc would be racy (unshare(1)
		// has usually exec'd its command or exited by now).
		if pe, ok := s.parents[r.PID]; ok && pe.cmdline != "" {
			p.Cmdline = pe.cmdline
		} else if args, err := s.proc.Cmdline(p.PID); err == nil {
			p.Args, p.Cmdline = args, strings.Join(args, " ")
		}
	default:
		s.malformed.Add(1)
		return nil
	}
	pe, ok := s.procs[r.PID]
	if !ok || r.Type == recExec {
		pe = s.lookup(r, p.Exe)
		if len(s.procs) >= maxProcs {
			clear(s.procs)
		}
		s.procs[r.PID] = pe
	}
	p.Exe, p.CgroupPath = pe.exe, pe.cgroup
	if pe.container != "" {
		ev.Container = &event.Container{ID: pe.container}
	}
	if r.Type == recExec {
		s.remember(r.PID, parentEntry{exe: p.Exe, cmdline: p.Cmdline})
	}
	return ev
}

// parent fills the parent's exe and command line from the cache, or
// from /proc (once per parent).
func (s *Sensor) parent(p *event.Process) {
	if p.PPID <= 0 {
		return
	}
	pe, ok := s.parents[uint32(p.PPID)]
	if !ok {
		pe.exe, _ = s.proc.Exe(p.PPID)
		if args, err := s.proc.Cmdline(p.PPID); err == nil {
			pe.cmdline = strings.Join(args, " ")
		}
		s.remember(uint32(p.PPID), pe)
	}
	p.ParentExe, p.ParentCmdline = pe.exe, pe.cmdline
}

func (s *Sensor) remember(pid uint32, pe parentEntry) {
	if len(s.parents) >= maxProcs {
		clear(s.parents)
	}
	s.parents[pid] = pe
}

// lookup finds a process's exe (unless the exec record gave it) and
// cgroup. The cgroup v2 id the kernel recorded resolves without touching
// /proc (cached per id) on a pure v2 host, or on a hybrid one once a
// container was found through it (the runtime populates the v2 tree);
// until then, and on v1-only hosts, /proc/PID/cgroup is read, with the id
// as the fallback for a process already gone.
func (s *Sensor) lookup(r record, exe string) procEntry {
	pe := procEntry{exe: exe}
	if pe.exe == "" {
		pe.exe, _ = s.proc.Exe(int(r.PID))
	}
	if p := s.cgroupPath(r.CgroupID); p != "" {
		id := procinfo.ContainerID(p)
		if id != "" {
			s.v2Trusted = true
		}
		if id != "" || s.v2Trusted {
			pe.cgroup, pe.container = p, id
			return pe
		}
	}
	path, id, err := s.proc.Cgroup(int(r.PID))
	if err != nil {
		path = s.cgroupPath(r.CgroupID)
		id = procinfo.ContainerID(path)
	}
	pe.cgroup, pe.container = path, id
	return pe
}

func (s *Sensor) cgroupPath(id uint64) string {
	if id == 0 || s.cg2 == "" {
		return ""
	}
	s.cgMu.Lock()
	defer s.cgMu.Unlock()
	if p, ok := s.cgPaths[id]; ok {
		return p
	}
	p := procinfo.CgroupPathByID(s.cg2, id)
	if len(s.cgPaths) > 4096 { // bounded: containers come and go
		clear(s.cgPaths)
	}
	s.cgPaths[id] = p
	return p
}

func (s *Sensor) sensitive(path string) bool {
	for _, p := range s.prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// openOp names an open by its access mode and flags.
func openOp(flags uint32) string {
	if flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC) != 0 {
		return "open-write"
	}
	return "open-read"
}
