package dockerbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// collectHostPaths are the host paths every collection stats (section 1
// audits and section 3 ownership/permissions), besides the unit files,
// the TLS files the daemon is configured with and /etc/docker/certs.d.
var collectHostPaths = []string{
	"/etc/docker", "/etc/docker/daemon.json", "/etc/docker/certs.d",
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/run/containerd",
	"/etc/default/docker", "/etc/sysconfig/docker", "/etc/containerd/config.toml",
	"/usr/bin/containerd", "/usr/bin/containerd-shim", "/usr/bin/containerd-shim-runc-v1",
	"/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc", "/usr/bin/dockerd", "/var/lib/docker",
}

// collectUnitDirs are systemd's unit directories in its precedence order.
var collectUnitDirs = []string{
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
}

// collectMaxCertEntries bounds the walk of /etc/docker/certs.d.
const collectMaxCertEntries = 10000

// collectHost reads everything that comes from the host's filesystem and
// does not depend on the engine's answers; it returns the id→name maps for
// collectEngineDependentFiles.
func collectHost(ctx context.Context, o CollectOptions, h *collectHostFS, s *Snapshot, setErr func(src, msg string), log *slog.Logger) collectOwners {
	names := collectOwnerNames(h)
	if names.groupErr != nil {
		setErr(SourceGroup, names.groupErr.Error())
	} else {
		s.DockerGroup = names.dockerMembers
	}

	collectDaemonConfig(h, s, setErr, log)
	s.Units = collectUnits(h)
	collectFiles(h, s, names, setErr, log)
	s.AuditRules = collectAuditRules(ctx, o, h, log)
	if m, err := collectMounts(h); err != nil {
		setErr(SourceMounts, err.Error())
	} else {
		s.Mounts = m
	}
	return names
}

// collectEngineDependentFiles stats the host paths known only from the
// engine: what section 1 reads (the containerd socket dockerd uses) and
// the daemon's root directory.
func collectEngineDependentFiles(h *collectHostFS, s *Snapshot, names collectOwners) {
	want := hostSection1Paths(s)
	if s.Info != nil && path.IsAbs(s.Info.DockerRootDir) {
		want = append(want, s.Info.DockerRootDir)
	}
	for _, p := range want {
		collectFileChain(h, s, path.Clean(p), names)
	}
	collectLocate(h, s, names)
}

// collectOwners maps ids to names from the host's passwd and group files.
type collectOwners struct {
	users, groups map[int]string
	dockerMembers []string
	groupErr      error
}

func collectOwnerNames(h *collectHostFS) collectOwners {
	o := collectOwners{users: map[int]string{}, groups: map[int]string{}, dockerMembers: []string{}}
	if b, err := h.readFile("/etc/passwd"); err == nil {
		collectParseIDFile(b, func(f []string) {
			if id, err := strconv.Atoi(f[2]); err == nil {
				if _, dup := o.users[id]; !dup {
					o.users[id] = f[0]
				}
			}
		})
	}
	b, err := h.readFile("/etc/group")
	if err != nil {
		o.groupErr = fmt.Errorf("read %s: %w", h.describe("/etc/group"), err)
		return o
	}
	collectParseIDFile(b, func(f []string) {
		if id, err := strconv.Atoi(f[2]); err == nil {
			if _, dup := o.groups[id]; !dup {
				o.groups[id] = f[0]
			}
		}
		if f[0] == "docker" && len(f) >= 4 {
			for _, m := range strings.Split(f[3], ",") {
				if m = strings.TrimSpace(m); m != "" {
					o.dockerMembers = append(o.dockerMembers, m)
				}
			}
		}
	})
	return o
}

// collectParseIDFile calls f with the colon-separated fields of each
// passwd/group line that has at least three.
func collectParseIDFile(b []byte, f func(fields []string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if fields := strings.Split(line, ":"); len(fields) >= 3 {
			f(fields)
		}
	}
}

// collectUnits finds docker.service and docker.socket the way systemd does:
// the first unit directory holding a regular file (following symlinks, so
// a unit masked to /dev/null is skipped, as `test -f` does).
func collectUnits(h *collectHostFS) map[string]string {
	units := map[string]string{}
	for _, u := range []string{"docker.service", "docker.socket"} {
		for _, dir := range collectUnitDirs {
			p := path.Join(dir, u)
			if fi, err := h.stat(p); err == nil && fi.Mode().IsRegular() {
				units[u] = p
				break
			}
		}
	}
	return units
}

// stat stats host path p following every symlink inside the root.
func (h *collectHostFS) stat(p string) (fs.FileInfo, error) {
	if h.r == nil {
		return os.Stat(p)
	}
	rel, err := h.resolve(p, true)
	if err != nil {
		return nil, err
	}
	return h.r.Lstat(rel)
}

// collectFiles stats every path the controls look at.
func collectFiles(h *collectHostFS, s *Snapshot, names collectOwners, setErr func(src, msg string), log *slog.Logger) {
	s.Files = map[string]FileFacts{}
	want := append([]string(nil), collectHostPaths...)
	if s.Daemon.File != "" {
		want = append(want, s.Daemon.File)
	}
	for _, u := range s.Units {
		want = append(want, u)
	}
	for _, opt := range []string{"tlscacert", "tlscert", "tlskey", "containerd", "data-root"} {
		for _, v := range s.Daemon.Options[opt] {
			if path.IsAbs(v) {
				want = append(want, v)
			}
		}
	}
	// What section 3 reads, as its helpers define it (default TLS paths,
	// the daemon's own unix sockets).
	want = append(want, filesSection3Paths(s)...)
	for _, p := range want {
		collectFileChain(h, s, path.Clean(p), names)
	}

	// Every entry under /etc/docker/certs.d (registry certificates).
	n := 0
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		ents, err := h.readDir(dir)
		if err != nil {
			if !collectNotExist(err) {
				log.Warn("cannot list registry certificates", "dir", dir, "err", err)
				f := s.Files[dir]
				f.Err = err.Error()
				s.Files[dir] = f
			}
			return
		}
		for _, e := range ents {
			if n++; n > collectMaxCertEntries {
				return
			}
			p := path.Join(dir, e.Name())
			collectFileChain(h, s, p, names)
			if e.IsDir() && depth < 8 {
				walk(p, depth+1)
			}
		}
	}
	if f := s.Files["/etc/docker/certs.d"]; f.Exists && f.Mode.IsDir() {
		walk("/etc/docker/certs.d", 0)
	}
	if n > collectMaxCertEntries {
		setErr(SourceFiles, fmt.Sprintf("more than %d entries under /etc/docker/certs.d; stopped listing", collectMaxCertEntries))
	}
}

// collectFileChain records host path p and, when it is a symlink, each
// link target in turn (keyed as filesResolve will look them up).
func collectFileChain(h *collectHostFS, s *Snapshot, p string, names collectOwners) {
	for hop := 0; hop < 16; hop++ {
		if _, seen := s.Files[p]; seen {
			return
		}
		f := collectFileFacts(h, p, names)
		s.Files[p] = f
		if f.Mode&fs.ModeSymlink == 0 || f.Target == "" {
			return
		}
		t := f.Target
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(p), t)
		}
		p = path.Clean(t)
	}
}

// collectFileFacts stats one host path without following its last element.
func collectFileFacts(h *collectHostFS, p string, names collectOwners) FileFacts {
	fi, err := h.lstat(p)
	if err != nil {
		if collectNotExist(err) {
			return FileFacts{}
		}
		return FileFacts{Exists: true, Err: err.Error()}
	}
	f := FileFacts{Exists: true, Mode: fi.Mode(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = int(st.Uid), int(st.Gid)
		f.User, f.Group = names.users[f.UID], names.groups[f.GID]
		if f.User == "" {
			f.User = strconv.Itoa(f.UID)
		}
		if f.Group == "" {
			f.Group = strconv.Itoa(f.GID)
		}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := h.readlink(p); err == nil {
			f.Target = t
		} else {
			f.Err = "readlink: " + err.Error()
		}
	}
	return f
}

// collectAuditRules returns the audit rules in effect: `auditctl -l` when
// it works (root "/" only), else the rule files under /etc/audit. Comments
// and blank lines are dropped, duplicates kept once.
func collectAuditRules(ctx context.Context, o CollectOptions, h *collectHostFS, log *slog.Logger) []string {
	run := o.Auditctl
	if run == nil && h.root == "/" {
		if bin, err := exec.LookPath("auditctl"); err == nil {
			run = func(ctx context.Context) ([]string, error) {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				out, err := exec.CommandContext(ctx, bin, "-l").Output()
				if err != nil {
					return nil, err
				}
				return strings.Split(string(out), "\n"), nil
			}
		}
	}
	if run != nil {
		lines, err := run(ctx)
		if err == nil {
			rules := collectRuleLines(lines)
			// `auditctl -l` says "No rules" when the kernel has none.
			if len(rules) == 1 && rules[0] == "No rules" {
				rules = rules[:0]
			}
			return rules
		}
		log.Debug("auditctl -l failed; reading rule files", "err", err)
	}
	var lines []string
	if b, err := h.readFile("/etc/audit/audit.rules"); err == nil {
		lines = append(lines, strings.Split(string(b), "\n")...)
	}
	if ents, err := h.readDir("/etc/audit/rules.d"); err == nil {
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".rules") {
				continue
			}
			if b, err := h.readFile(path.Join("/etc/audit/rules.d", e.Name())); err == nil {
				lines = append(lines, strings.Split(string(b), "\n")...)
			}
		}
	}
	return collectRuleLines(lines)
}

// collectRuleLines trims, drops comments and blank lines, and keeps the
// first of duplicate lines.
func collectRuleLines(lines []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

// collectMounts reads the mount table: /proc/self/mountinfo on the host
// itself, else PID 1's under the root.
func collectMounts(h *collectHostFS) ([]Mount, error) {
	p := "/proc/1/mountinfo"
	if h.root == "/" {
		p = "/proc/self/mountinfo"
	}
	b, err := h.readFile(p)
	if err != nil {
		return nil, fmt.Errorf("read mount table %s: %w", h.describe(p), err)
	}
	return collectParseMountinfo(b), nil
}

// collectParseMountinfo parses proc(5) mountinfo lines:
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
func collectParseMountinfo(b []byte) []Mount {
	out := []Mount{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, Mount{MountPoint: collectUnescapeMount(f[4]), Options: f[5],
			FSType: f[sep+1], Source: collectUnescapeMount(f[sep+2])})
	}
	return out
}

// collectUnescapeMount undoes the kernel's octal escapes ("\040" = space).
func collectUnescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
