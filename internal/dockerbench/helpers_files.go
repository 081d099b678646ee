package dockerbench

// Helpers for section 3 (ownership and permissions of the daemon's
// configuration files). Every check there is "these host paths must be owned
// by X / have at most mode Y", so the checks only pick paths and a judge; the
// walking, symlink following and verdict rules live here.

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Well-known host paths of section 3.
const (
	filesEtcDocker       = "/etc/docker"
	filesCertsDir        = "/etc/docker/certs.d"
	filesDaemonJSON      = "/etc/docker/daemon.json"
	filesEtcDefault      = "/etc/default/docker"
	filesEtcSysconfig    = "/etc/sysconfig/docker"
	filesDockerSock      = "/var/run/docker.sock"
	filesContainerdSock  = "/run/containerd/containerd.sock"
	filesDefaultCertPath = "/root/.docker" // dockerd's default --tlscacert/--tlscert/--tlskey directory when run as root
)

// filesTLSDefaults are dockerd's default file names for its TLS options,
// used when TLS is on and the option is not set.
var filesTLSDefaults = map[string]string{"tlscacert": "ca.pem", "tlscert": "cert.pem", "tlskey": "key.pem"}

// filesSection3Paths lists the host paths section 3 reads from
// Snapshot.Files, for the collector: stat each (without following the final
// symlink, and stat symlink targets too), and walk /etc/docker/certs.d
// recursively adding every entry. It depends on Units and Daemon, so call it
// after those are collected.
func filesSection3Paths(s *Snapshot) []string {
	set := map[string]bool{filesEtcDocker: true, filesCertsDir: true, filesDaemonJSON: true, filesEtcDefault: true,
		filesEtcSysconfig: true, filesDockerSock: true, filesContainerdSock: true}
	if s != nil {
		for _, u := range []string{"docker.service", "docker.socket"} {
			if p := s.Units[u]; p != "" {
				set[p] = true
			}
		}
		for opt := range filesTLSDefaults {
			for _, p := range filesTLSPaths(s, opt) {
				if path.IsAbs(p) {
					set[p] = true
				}
			}
		}
		for _, p := range filesDaemonUnixSockets(s) {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// filesTLSPaths returns the file dockerd uses for a TLS option ("tlscacert",
// "tlscert", "tlskey"): the configured value(s), else, when TLS is enabled,
// dockerd's default under /root/.docker; nil when TLS files are not in use.
func filesTLSPaths(s *Snapshot, opt string) []string {
	if s == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range s.Daemon.Options[opt] {
		v = strings.TrimSpace(v)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	if len(out) > 0 {
		return out
	}
	if filesDaemonTLSEnabled(s) {
		return []string{path.Join(filesDefaultCertPath, filesTLSDefaults[opt])}
	}
	return nil
}

// filesDaemonTLSEnabled reports whether dockerd serves TLS (--tls or
// --tlsverify, last value wins).
func filesDaemonTLSEnabled(s *Snapshot) bool {
	if s == nil {
		return false
	}
	for _, opt := range []string{"tlsverify", "tls"} {
		vs := s.Daemon.Options[opt]
		if len(vs) == 0 {
			continue
		}
		v := strings.ToLower(strings.TrimSpace(vs[len(vs)-1]))
		if v != "false" && v != "0" {
			return true
		}
	}
	return false
}

// filesDaemonUnixSockets lists the unix sockets dockerd is told to listen
// on (-H unix:///path, daemon.json "hosts").
func filesDaemonUnixSockets(s *Snapshot) []string {
	var out []string
	if s == nil {
		return nil
	}
	for _, key := range []string{"hosts", "host"} {
		for _, v := range s.Daemon.Options[key] {
			v = strings.TrimSpace(v)
			if p, ok := strings.CutPrefix(v, "unix://"); ok && path.IsAbs(p) {
				out = append(out, path.Clean(p))
			}
		}
	}
	return out
}

// filesLookup is one path looked up in Snapshot.Files, symlinks followed.
type filesLookup struct {
	label string    // "/a" or "/a -> /b" for evidence
	facts FileFacts // of the final target, when state is filesFound
	state filesState
	note  string // why, for filesUndecided
}

type filesState int

const (
	filesFound filesState = iota
	filesMissing
	filesUndecided
)

// filesResolve looks p up, following symlinks through Files (relative
// targets are resolved against the link's directory). A link whose target
// is absent from Files can't be judged; one whose target does not exist is
// treated as a missing file, as `test -f` does.
func filesResolve(s *Snapshot, p string) filesLookup {
	label := p
	cur := p
	for hop := 0; hop < 16; hop++ {
		f, ok := s.Files[cur]
		switch {
		case !ok && hop == 0:
			return filesLookup{label: label, state: filesUndecided, note: "not collected"}
		case !ok:
			return filesLookup{label: label, state: filesUndecided, note: "symlink target not collected"}
		case f.Err != "":
			return filesLookup{label: label, state: filesUndecided, note: "could not stat: " + f.Err}
		case !f.Exists:
			return filesLookup{label: label, state: filesMissing}
		case f.Mode&fs.ModeSymlink == 0:
			return filesLookup{label: label, facts: f, state: filesFound}
		case f.Target == "":
			return filesLookup{label: label, state: filesUndecided, note: "symlink with unknown target"}
		}
		t := f.Target
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(cur), t)
		}
		cur = path.Clean(t)
		label += " -> " + cur
	}
	return filesLookup{label: label, state: filesUndecided, note: "too many levels of symbolic links"}
}

// filesJudge returns a verdict on one existing file (Pass, Fail or Warn) and
// a detail such as "mode 0666, want 0644 or more restrictive".
type filesJudge func(f FileFacts) (Status, string)

// filesEvaluate judges every path in paths and aggregates: Fail if any
// fails, else Warn if any could not be judged, else Pass if any was judged,
// else NotApplicable (nothing found). Evidence is one line per offender
// (failures and undecided paths); on Pass, one line per judged path.
func filesEvaluate(s *Snapshot, paths []string, judge filesJudge) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	var fails, warns, passes, missing []string
	for _, p := range paths {
		l := filesResolve(s, p)
		switch l.state {
		case filesMissing:
			missing = append(missing, p+" not found")
		case filesUndecided:
			warns = append(warns, l.label+": "+l.note)
		case filesFound:
			st, detail := judge(l.facts)
			line := l.label + ": " + detail
			switch st {
			case Pass:
				passes = append(passes, line)
			case Fail:
				fails = append(fails, line)
			default:
				warns = append(warns, line)
			}
		}
	}
	switch {
	case len(fails) > 0:
		return Result{Status: Fail, Evidence: append(fails, warns...)}
	case len(warns) > 0:
		return Result{Status: Warn, Evidence: warns}
	case len(passes) > 0:
		return Result{Status: Pass, Evidence: passes}
	default:
		return Result{Status: NotApplicable, Evidence: missing}
	}
}

// filesOwner renders ownership as "uid:gid", with names when they were
// resolved: "1000:0 (alice:root)". (The collector puts the numeric id in
// User/Group when it can't resolve a name.)
func filesOwner(f FileFacts) string {
	s := fmt.Sprintf("%d:%d", f.UID, f.GID)
	u, g := f.User, f.Group
	if u == "" {
		u = strconv.Itoa(f.UID)
	}
	if g == "" {
		g = strconv.Itoa(f.GID)
	}
	if names := u + ":" + g; names != s {
		s += " (" + names + ")"
	}
	return s
}

// filesOwnedByRoot judges root:root ownership by numeric ids.
func filesOwnedByRoot(f FileFacts) (Status, string) {
	if f.UID < 0 || f.GID < 0 {
		return Warn, "ownership unknown (not reported by the platform)"
	}
	if f.UID == 0 && f.GID == 0 {
		return Pass, "owner " + filesOwner(f)
	}
	return Fail, "owner " + filesOwner(f) + ", want root:root"
}

// filesModeOctal renders permissions the way `stat -c %a` would, always
// with four digits: "0644", "4755".
func filesModeOctal(m fs.FileMode) string {
	v := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		v |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		v |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		v |= 0o1000
	}
	return fmt.Sprintf("%04o", v)
}

// filesPermWithin reports whether m grants nothing beyond max: no
// permission bit outside it, and no setuid/setgid/sticky bit. This is what
// "644 or more restrictive" means (0600 and 0440 are, 0700 and 0477 are not).
func filesPermWithin(m fs.FileMode, max fs.FileMode) bool {
	return m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) == 0 && m.Perm()&^max == 0
}

// filesModeAtMost returns a judge for "max or more restrictive".
func filesModeAtMost(max fs.FileMode) filesJudge {
	return func(f FileFacts) (Status, string) {
		if filesPermWithin(f.Mode, max) {
			return Pass, "mode " + filesModeOctal(f.Mode)
		}
		return Fail, fmt.Sprintf("mode %s, want %04o or more restrictive", filesModeOctal(f.Mode), uint32(max))
	}
}

// filesUnitPaths is the unit file of a systemd unit, or a NotApplicable
// result when systemd has none.
func filesUnitPaths(s *Snapshot, unit string) ([]string, *Result) {
	if s == nil || s.Units[unit] == "" {
		return nil, &Result{Status: NotApplicable, Evidence: []string{unit + " unit file not found"}}
	}
	return []string{s.Units[unit]}, nil
}

// filesCertsDirFiles lists the non-directory entries under
// /etc/docker/certs.d, sorted, or a NotApplicable result when there are
// none. Symlinks to directories are left out.
func filesCertsDirFiles(s *Snapshot) ([]string, *Result) {
	if s == nil {
		return nil, &Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	var out []string
	for p, f := range s.Files {
		if !strings.HasPrefix(p, filesCertsDir+"/") || (f.Exists && f.Mode.IsDir()) {
			continue
		}
		if l := filesResolve(s, p); l.state == filesFound && l.facts.Mode.IsDir() {
			continue
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		sort.Strings(out)
		return out, nil
	}
	if d, ok := s.Files[filesCertsDir]; ok && d.Exists {
		return nil, &Result{Status: NotApplicable, Evidence: []string{"no files under " + filesCertsDir}}
	}
	return nil, &Result{Status: NotApplicable, Evidence: []string{filesCertsDir + " not found"}}
}

// filesTLSCheck evaluates one TLS file option with judge: NotApplicable
// when dockerd uses no such file, Warn for a relative path (relative to
// dockerd's working directory, which we don't know).
func filesTLSCheck(s *Snapshot, opt string, judge filesJudge) Result {
	paths := filesTLSPaths(s, opt)
	if len(paths) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{opt + " not configured and TLS not enabled"}}
	}
	var abs, rel []string
	for _, p := range paths {
		if path.IsAbs(p) {
			abs = append(abs, path.Clean(p))
		} else {
			rel = append(rel, fmt.Sprintf("%s=%s: relative path, cannot locate the file", opt, p))
		}
	}
	res := filesEvaluate(s, abs, judge)
	if len(rel) > 0 {
		switch res.Status {
		case Fail, Warn:
			res.Evidence = append(res.Evidence, rel...)
		default:
			res = Result{Status: Warn, Evidence: rel}
		}
	}
	return res
}

// filesTLSKeyMode judges the server key: readable by its owner only (0400;
// 0000 is stricter still and accepted).
func filesTLSKeyMode(f FileFacts) (Status, string) {
	if filesPermWithin(f.Mode, 0o400) {
		return Pass, "mode " + filesModeOctal(f.Mode)
	}
	return Fail, "mode " + filesModeOctal(f.Mode) + ", want 0400"
}

// filesDockerSockOwner judges the Docker socket: user root, group docker
// (or root, which grants less). An unresolved numeric group can't be
// compared with "docker" and is left undecided.
func filesDockerSockOwner(f FileFacts) (Status, string) {
	got := "owner " + filesOwner(f)
	switch {
	case f.UID < 0 || f.GID < 0:
		return Warn, "ownership unknown (not reported by the platform)"
	case f.UID != 0:
		return Fail, got + ", want root:docker"
	case f.Group == "docker" || f.GID == 0:
		return Pass, got
	case f.Group == "" || f.Group == strconv.Itoa(f.GID):
		return Warn, got + ": group name not resolved, want root:docker"
	default:
		return Fail, got + ", want root:docker"
	}
}

// filesDedupe drops repeated paths, keeping the first of each.
func filesDedupe(paths []string) []string {
	seen := map[string]bool{}
	out := paths[:0:0]
	for _, p := range paths {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
