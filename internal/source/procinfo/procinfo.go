// Package procinfo reads what the node sources (ebpf, procscan) need about
// a process from /proc: executable, command line, ids, parent, cgroup and
// the container id in it, and whether stdin/stdout are sockets with the
// socket's peer from /proc/PID/net/tcp{,6}. Every reader is best effort: a
// process can exit between two reads, and the caller keeps what it got.
package procinfo

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// FS reads one /proc tree (normally "/proc"; tests may point elsewhere).
type FS struct{ Root string }

func (p FS) path(pid int, parts ...string) string {
	return filepath.Join(append([]string{p.Root, strconv.Itoa(pid)}, parts...)...)
}

// containerIDRe finds a 64-hex container id in a cgroup path: docker
// (/docker/<id>, docker-<id>.scope), containerd/cri-o (cri-containerd-<id>,
// crio-<id>) and kubepods paths all carry it as one path element part.
var containerIDRe = regexp.MustCompile(`(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?(?:/|$)`)

// ContainerID returns the container id in a cgroup path, or "".
func ContainerID(cgroupPath string) string {
	m := containerIDRe.FindAllStringSubmatch(cgroupPath, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1] // the innermost: kubepods/…/pod<uid>/<id>
}

// ParseCgroup reads /proc/PID/cgroup content and returns the cgroup path
// to report: the v2 ("0::") path, or on a v1-only host the first path
// that names a container.
func ParseCgroup(data []byte) (path string) {
	var v1 string
	for line := range strings.SplitSeq(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			if ContainerID(parts[2]) != "" || v1 == "" {
				path = parts[2]
			}
			continue
		}
		if v1 == "" && ContainerID(parts[2]) != "" {
			v1 = parts[2]
		}
	}
	if ContainerID(path) == "" && v1 != "" {
		return v1
	}
	return path
}

// Cgroup returns the process's cgroup path and the container id in it.
func (p FS) Cgroup(pid int) (path, id string, err error) {
	b, err := os.ReadFile(p.path(pid, "cgroup"))
	if err != nil {
		return "", "", err
	}
	path = ParseCgroup(b)
	return path, ContainerID(path), nil
}

// Exe returns the executable path (the target of /proc/PID/exe).
func (p FS) Exe(pid int) (string, error) {
	s, err := os.Readlink(p.path(pid, "exe"))
	return strings.TrimSuffix(s, " (deleted)"), err
}

// Cmdline returns argv.
func (p FS) Cmdline(pid int) ([]string, error) {
	b, err := os.ReadFile(p.path(pid, "cmdline"))
	if err != nil {
		return nil, err
	}
	return SplitArgs(b), nil
}

// SplitArgs splits a NUL-separated argv block (trailing NUL optional).
func SplitArgs(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// Status is what /proc/PID/status says about identity and parentage.
type Status struct {
	Name      string
	PPID      int
	UID, EUID int
}

// ReadStatus reads /proc/PID/status.
func (p FS) ReadStatus(pid int) (Status, error) {
	b, err := os.ReadFile(p.path(pid, "status"))
	if err != nil {
		return Status{}, err
	}
	return ParseStatus(b)
}

// ParseStatus parses /proc/PID/status content.
func ParseStatus(b []byte) (Status, error) {
	st := Status{PPID: -1, UID: -1, EUID: -1}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			st.Name = v
		case "PPid":
			st.PPID = atoi(v)
		case "Uid":
			f := strings.Fields(v)
			if len(f) >= 2 {
				st.UID, st.EUID = atoi(f[0]), atoi(f[1])
			}
		}
	}
	if st.PPID < 0 || st.UID < 0 {
		return st, errors.New("status without PPid or Uid")
	}
	return st, nil
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// TTY says the process has a controlling terminal (stat field 7).
func (p FS) TTY(pid int) bool {
	b, err := os.ReadFile(p.path(pid, "stat"))
	if err != nil {
		return false
	}
	// comm (field 2) may hold spaces and parentheses: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 4 && f[4] != "0"
}

// SocketInode returns the inode of the socket open as fd, or 0.
func (p FS) SocketInode(pid, fd int) uint64 {
	s, err := os.Readlink(p.path(pid, "fd", strconv.Itoa(fd)))
	if err != nil || !strings.HasPrefix(s, "socket:[") {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(s, "socket:["), "]"), 10, 64)
	return n
}

// StdioSocket says whether fd 0 or 1 is a socket and, when it is a TCP
// socket, its peer ("ip:port").
func (p FS) StdioSocket(pid int) (bool, string) {
	var inodes []uint64
	for fd := 0; fd <= 1; fd++ {
		if in := p.SocketInode(pid, fd); in != 0 {
			inodes = append(inodes, in)
		}
	}
	if len(inodes) == 0 {
		return false, ""
	}
	for _, conns := range [][]TCPConn{p.tcp(pid, "tcp"), p.tcp(pid, "tcp6")} {
		for _, c := range conns {
			for _, in := range inodes {
				if c.Inode == in {
					return true, netip.AddrPortFrom(c.Remote.Addr(), c.Remote.Port()).String()
				}
			}
		}
	}
	return true, ""
}

func (p FS) tcp(pid int, name string) []TCPConn {
	b, err := os.ReadFile(p.path(pid, "net", name))
	if err != nil {
		return nil
	}
	conns, _ := ParseTCP(b)
	return conns
}

// TCP reads the TCP sockets of the network namespace pid is in.
func (p FS) TCP(pid int) ([]TCPConn, error) {
	var out []TCPConn
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(p.path(pid, "net", name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == "tcp6" {
				continue // no IPv6
			}
			return out, err
		}
		conns, err := ParseTCP(b)
		out = append(out, conns...)
		if err != nil {
			return out, fmt.Errorf("parse %s: %w", p.path(pid, "net", name), err)
		}
	}
	return out, nil
}

// TCP states in /proc/net/tcp.
const (
	TCPEstablished = 1
	TCPSynSent     = 2
	TCPListen      = 10
)

// TCPConn is one line of /proc/net/tcp{,6}.
type TCPConn struct {
	Local, Remote netip.AddrPort
	State         int
	UID           int
	Inode         uint64
}

// ParseTCP parses /proc/net/tcp or tcp6 content. Bad lines are skipped
// and reported in the error (the good ones are still returned).
func ParseTCP(b []byte) ([]TCPConn, error) {
	var out []TCPConn
	var bad int
	var firstErr error
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) == 0 {
			continue // header
		}
		c, err := parseTCPLine(f)
		if err != nil {
			bad++
			if firstErr == nil {
				firstErr = fmt.Errorf("line %d: %w", i+1, err)
			}
			continue
		}
		out = append(out, c)
	}
	if bad > 0 {
		return out, fmt.Errorf("%d malformed lines, first: %w", bad, firstErr)
	}
	return out, nil
}

func parseTCPLine(f []string) (TCPConn, error) {
	if len(f) < 10 {
		return TCPConn{}, fmt.Errorf("%d fields, want at least 10", len(f))
	}
	local, err := parseHexAddr(f[1])
	if err != nil {
		return TCPConn{}, fmt.Errorf("local address: %w", err)
	}
	remote, err := parseHexAddr(f[2])
	if err != nil {
		return TCPConn{}, fmt.Errorf("remote address: %w", err)
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return TCPConn{}, fmt.Errorf("state %q: %w", f[3], err)
	}
	uid, err := strconv.Atoi(f[7])
	if err != nil {
		return TCPConn{}, fmt.Errorf("uid %q: %w", f[7], err)
	}
	ino, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return TCPConn{}, fmt.Errorf("inode %q: %w", f[9], err)
	}
	return TCPConn{Local: local, Remote: remote, State: int(st), UID: uid, Inode: ino}, nil
}

// parseHexAddr parses "0100007F:1F90" (IPv4) or the 32-hex-digit IPv6
// form: the address as the kernel's 32-bit words in host (little-endian)
// order, the port big-endian hex.
func parseHexAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q: no port", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port: %w", s, err)
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("%q: bad address", s)
	}
	for i := 0; i < len(raw); i += 4 { // each word is little-endian
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}

// Process fills an event.Process for pid from /proc (best effort; the
// fields it could not read stay empty, UID/EUID -1).
func (p FS) Process(pid int) *event.Process {
	pr := &event.Process{PID: pid, UID: -1, EUID: -1}
	if st, err := p.ReadStatus(pid); err == nil {
		pr.Name, pr.PPID, pr.UID, pr.EUID = st.Name, st.PPID, st.UID, st.EUID
	}
	pr.Exe, _ = p.Exe(pid)
	pr.Args, _ = p.Cmdline(pid)
	pr.Cmdline = strings.Join(pr.Args, " ")
	pr.TTY = p.TTY(pid)
	pr.StdioSocket, pr.StdioPeer = p.StdioSocket(pid)
	pr.CgroupPath, _, _ = p.Cgroup(pid)
	if pr.PPID > 0 {
		p.Parent(pr)
	}
	return pr
}

// Parent fills the parent fields of pr from pr.PPID.
func (p FS) Parent(pr *event.Process) {
	pr.ParentExe, _ = p.Exe(pr.PPID)
	if args, err := p.Cmdline(pr.PPID); err == nil {
		pr.ParentCmdline = strings.Join(args, " ")
	}
	if pr.ParentName == "" {
		if st, err := p.ReadStatus(pr.PPID); err == nil {
			pr.ParentName = st.Name
		}
	}
}

// CgroupPathByID finds the cgroup v2 directory whose inode number is id
// (what bpf_get_current_cgroup_id returns) under the cgroup2 mount, for
// processes gone before /proc could be read. "" when not found.
func CgroupPathByID(mount string, id uint64) string {
	var found string
	_ = filepath.WalkDir(mount, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a cgroup removed while walking
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Ino == id {
			found = "/" + strings.TrimPrefix(strings.TrimPrefix(path, mount), "/")
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// Cgroup2Mount returns where the cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup on a v2 host, /sys/fs/cgroup/unified on a hybrid one).
func Cgroup2Mount() string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		// … mountpoint at 4; after " - " the fs type.
		for i, x := range f {
			if x == "-" && i+1 < len(f) && f[i+1] == "cgroup2" && len(f) > 4 {
				return f[4]
			}
		}
	}
	return ""
}
