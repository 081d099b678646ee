package auditd

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/procinfo"
)

// ErrFiltered is returned by Build for audit events that map to no event
// kind (logins, configuration changes, syscalls not watched, failures).
var ErrFiltered = errors.New("audit event of no interest")

// syscallNames maps (arch, number) to the syscalls Build understands. The
// audit arch values are AUDIT_ARCH_X86_64 and AUDIT_ARCH_AARCH64.
var syscallNames = map[string]map[int]string{
	"c000003e": {
		2: "open", 85: "creat", 257: "openat", 437: "openat2",
		59: "execve", 322: "execveat", 42: "connect", 272: "unshare", 56: "clone",
		87: "unlink", 263: "unlinkat", 82: "rename", 264: "renameat", 316: "renameat2",
		90: "chmod", 91: "fchmod", 268: "fchmodat", 92: "chown", 93: "fchown", 94: "lchown", 260: "fchownat",
		76: "truncate", 77: "ftruncate", 86: "link", 265: "linkat", 88: "symlink", 266: "symlinkat",
	},
	"c00000b7": {
		56: "openat", 437: "openat2", 221: "execve", 281: "execveat", 203: "connect", 97: "unshare", 220: "clone",
		35: "unlinkat", 38: "renameat", 276: "renameat2",
		52: "fchmod", 53: "fchmodat", 55: "fchown", 54: "fchownat",
		45: "truncate", 46: "ftruncate", 37: "linkat", 36: "symlinkat",
	},
}

// fileOps maps file syscalls to File.Op; the open family is refined by
// its flags.
var fileOps = map[string]string{
	"open": "open", "openat": "open", "openat2": "open", "creat": "open-write",
	"unlink": "unlink", "unlinkat": "unlink",
	"rename": "rename", "renameat": "rename", "renameat2": "rename",
	"chmod": "chmod", "fchmod": "chmod", "fchmodat": "chmod",
	"chown": "chown", "fchown": "chown", "lchown": "chown", "fchownat": "chown",
	"truncate": "truncate", "ftruncate": "truncate",
	"link": "link", "linkat": "link", "symlink": "link", "symlinkat": "link",
}

// BuildOptions say how to enrich an event.
type BuildOptions struct {
	// Host names the node when records carry no node= prefix.
	Host string
	// ProcRoot is where live processes are looked up for their cgroup
	// (container id) and parent ("/proc"); empty for recorded input, where
	// the pids mean nothing any more.
	ProcRoot string
}

// Build maps the records of one audit event (same serial) to an event:
// execve → process.exec, open/unlink/rename/chmod/… → file, connect →
// net.connect. Other events give ErrFiltered.
func Build(recs []*Record, opts BuildOptions) (*event.Event, error) {
	var sc *Record
	for _, r := range recs {
		if r.Type == "SYSCALL" {
			sc = r
			break
		}
	}
	if sc == nil {
		return nil, ErrFiltered
	}
	name := syscallName(sc)
	success, _ := sc.Get("success")
	exit := sc.Int("exit", 0)
	p := &event.Process{
		PID:  sc.Int("pid", 0),
		PPID: sc.Int("ppid", 0),
		UID:  sc.Int("uid", -1),
		EUID: sc.Int("euid", -1),
		Exe:  sc.Str("exe"),
		Name: sc.Str("comm"),
	}
	if p.UID == 4294967295 {
		p.UID = -1
	}
	if p.EUID == 4294967295 {
		p.EUID = -1
	}
	if u := sc.Str("UID"); u != "" && u != "unset" {
		p.User = u
	}
	if tty, _ := sc.Get("tty"); tty != "" && tty != "(none)" {
		p.TTY = true
	}
	var cwd string
	for _, r := range recs {
		if r.Type == "CWD" {
			cwd = r.Str("cwd")
		}
	}
	p.Cwd = cwd
	e := &event.Event{Time: sc.Time, Source: event.SourceAuditd, Host: opts.Host, Process: p}
	if sc.Node != "" {
		e.Host = sc.Node
	}

	switch {
	case name == "execve" || name == "execveat":
		if success != "yes" {
			return nil, ErrFiltered // the image was not replaced: nothing ran
		}
		e.Kind, e.Action = event.KindProcessExec, name
		if args, ok := execArgs(recs); ok {
			p.Args = args
		} else if t := recordStr(recs, "PROCTITLE", "proctitle"); t != "" {
			p.Args = proctitle(t)
		}
		p.Cmdline = strings.Join(p.Args, " ")
	case name == "connect":
		// Non-blocking connects "fail" with EINPROGRESS and go on.
		if success != "yes" && exit != -115 {
			return nil, ErrFiltered
		}
		c, ok := sockaddr(recordStr(recs, "SOCKADDR", "saddr"))
		if !ok {
			return nil, ErrFiltered // unix, netlink: not a network connection
		}
		e.Kind, e.Action, e.Net = event.KindNetConnect, name, c
		p.Args = argsOf(recs)
		p.Cmdline = strings.Join(p.Args, " ")
	case name == "unshare" || name == "clone":
		// The flags are the first argument of both (clone3's sit in a
		// struct the record does not show). Refused calls count too: an
		// attempt is what the rules look for.
		mask := uint64(0x7e020000) // CLONE_NEW*; for unshare also CLONE_NEWTIME
		if name == "unshare" {
			mask |= 0x80
		}
		a0, _ := sc.Get("a0")
		flags, err := strconv.ParseUint(a0, 16, 64)
		if err != nil || flags&mask == 0 {
			return nil, ErrFiltered
		}
		e.Kind, e.Action = event.KindNamespace, name
		p.Namespaces = event.CloneNamespaces(flags & mask)
		p.Args = argsOf(recs)
		p.Cmdline = strings.Join(p.Args, " ")
	case fileOps[name] != "":
		if success != "yes" {
			return nil, ErrFiltered
		}
		f := fileEvent(name, sc, recs, cwd)
		if f == nil {
			return nil, ErrFiltered
		}
		e.Kind, e.Action, e.File = event.KindFile, f.Op, f
		p.Args = argsOf(recs)
		p.Cmdline = strings.Join(p.Args, " ")
	default:
		return nil, ErrFiltered
	}
	if opts.ProcRoot != "" {
		enrich(e, opts.ProcRoot)
	}
	lines := make([]string, len(recs))
	for i, r := range recs {
		lines[i] = r.Line
	}
	// Raw must be JSON: the records as one string.
	e.Raw, _ = json.Marshal(strings.Join(lines, "\n"))
	return e, nil
}

func syscallName(sc *Record) string {
	if n := sc.Str("SYSCALL"); n != "" {
		return n // enriched log format names it
	}
	arch, _ := sc.Get("arch")
	nr := sc.Int("syscall", -1)
	return syscallNames[arch][nr]
}

func recordStr(recs []*Record, typ, key string) string {
	for _, r := range recs {
		if r.Type == typ {
			if v, ok := r.Get(key); ok {
				return v
			}
		}
	}
	return ""
}

// argsOf is the acting process's command line from PROCTITLE.
func argsOf(recs []*Record) []string {
	if t := recordStr(recs, "PROCTITLE", "proctitle"); t != "" {
		return proctitle(t)
	}
	return nil
}

// fileEvent picks the path the syscall acted on from the PATH records:
// not the PARENT directory items, relative names joined to the cwd.
func fileEvent(name string, sc *Record, recs []*Record, cwd string) *event.File {
	f := &event.File{Op: fileOps[name]}
	if f.Op == "open" {
		// Flags are a1 for open, a2 for openat/openat2 (a2 of openat2 is a
		// struct pointer: treated as a read unless the PATH says created).
		arg := "a2"
		if name == "open" {
			arg = "a1"
		}
		f.Op = "open-read"
		if v, ok := sc.Get(arg); ok && name != "openat2" {
			if flags, err := strconv.ParseUint(v, 16, 64); err == nil && flags&(0x1|0x2|0x40|0x200|0x400) != 0 {
				f.Op = "open-write"
			}
		}
	}
	for _, r := range recs {
		if r.Type != "PATH" {
			continue
		}
		nt, _ := r.Get("nametype")
		n := r.Str("name")
		if n == "" || nt == "PARENT" {
			continue
		}
		if !path.IsAbs(n) && cwd != "" {
			n = path.Join(cwd, n)
		}
		switch {
		case f.Op == "rename" && nt == "CREATE":
			f.NewPath = n
		case f.Op == "rename" && nt == "DELETE", f.Path == "":
			f.Path = n
		case nt == "CREATE" && f.Op != "rename":
			f.Path = n
			if f.Op == "open-read" {
				f.Op = "open-write"
			}
		}
	}
	if f.Path == "" {
		return nil
	}
	return f
}

// sockaddr decodes SOCKADDR's saddr (struct sockaddr, hex) for inet and
// inet6; ports are big-endian, the family native (little-endian here).
func sockaddr(hexs string) (*event.Conn, bool) {
	b := []byte(untrusted(hexs))
	if len(b) < 2 {
		return nil, false
	}
	switch binary.LittleEndian.Uint16(b) {
	case 2: // AF_INET
		if len(b) < 8 {
			return nil, false
		}
		ip := netip.AddrFrom4([4]byte(b[4:8]))
		return &event.Conn{DstIP: ip.String(), DstPort: int(binary.BigEndian.Uint16(b[2:4]))}, true
	case 10: // AF_INET6
		if len(b) < 24 {
			return nil, false
		}
		ip := netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		return &event.Conn{DstIP: ip.String(), DstPort: int(binary.BigEndian.Uint16(b[2:4]))}, true
	}
	return nil, false
}

// enrich adds what audit records lack while the process still lives: its
// cgroup (so the container id) and its parent. Best effort: a process that
// already exited keeps the event as it is.
func enrich(e *event.Event, procRoot string) {
	p := e.Process
	if p.PID > 0 {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p.PID), "cgroup"))
		if err != nil && p.PPID > 1 {
			// A short-lived process (cat, curl) is often gone by the time
			// its records are read; its parent shell usually is not, and a
			// child starts in its parent's cgroup.
			b, err = os.ReadFile(filepath.Join(procRoot, strconv.Itoa(p.PPID), "cgroup"))
		}
		if err == nil {
			cg := string(b)
			for _, line := range strings.Split(cg, "\n") {
				if rest, ok := strings.CutPrefix(line, "0::"); ok {
					p.CgroupPath = rest
				}
			}
			if id := ContainerID(cg); id != "" {
				e.Container = &event.Container{ID: id}
			}
		}
		if e.Kind == event.KindProcessExec {
			// Audit records do not say what the standard streams are: a
			// shell still bound to a socket is how a reverse shell looks.
			p.StdioSocket, p.StdioPeer = procinfo.FS{Root: procRoot}.StdioSocket(p.PID)
		}
	}
	if p.PPID > 0 {
		dir := filepath.Join(procRoot, strconv.Itoa(p.PPID))
		if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
			p.ParentExe = exe
		}
		if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
			p.ParentName = strings.TrimSpace(string(comm))
		}
		if cmd, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
			p.ParentCmdline = strings.TrimSpace(strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " "))
		}
	}
}
