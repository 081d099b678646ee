package dockerbench

// Helpers for sections 1 (host configuration: partitions, docker group,
// audit rules) and 2 (dockerd configuration: daemon.json merged with the
// dockerd command line, cross-checked with `docker info`).

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Well-known host paths of section 1.
const (
	hostDefaultRootDir   = "/var/lib/docker"
	hostDefaultDaemonCfg = "/etc/docker/daemon.json"
	hostContainerdSocket = "/run/containerd/containerd.sock"
)

// hostAuditPaths are the fixed paths whose audit rules 1.1.3–1.1.18 look
// for (the unit files of 1.1.7/1.1.9 come from Snapshot.Units and the
// containerd socket of 1.1.8 from Info.Containerd.Address).
var hostAuditPaths = []string{
	"/usr/bin/dockerd", "/run/containerd", hostDefaultRootDir, "/etc/docker",
	"/etc/default/docker", hostDefaultDaemonCfg, "/etc/containerd/config.toml",
	"/etc/sysconfig/docker", "/usr/bin/containerd", "/usr/bin/containerd-shim",
	"/usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/runc",
}

// hostSection1Paths lists the host paths section 1 reads from
// Snapshot.Files, for the collector: stat each (and symlink targets). Call
// it after Info and Units are collected.
func hostSection1Paths(s *Snapshot) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if p != "" && path.IsAbs(p) && !seen[path.Clean(p)] {
			seen[path.Clean(p)] = true
			out = append(out, path.Clean(p))
		}
	}
	for _, p := range hostAuditPaths {
		add(p)
	}
	add(hostContainerdSocketPath(s))
	if s != nil {
		add(s.Units["docker.service"])
		add(s.Units["docker.socket"])
	}
	sort.Strings(out)
	return out
}

// hostContainerdSocketPath is the containerd socket dockerd talks to
// (Info.Containerd.Address, Docker 23+), else /run/containerd/containerd.sock.
func hostContainerdSocketPath(s *Snapshot) string {
	if s != nil && s.Info != nil && s.Info.Containerd != nil {
		if a := strings.TrimPrefix(s.Info.Containerd.Address, "unix://"); path.IsAbs(a) {
			return path.Clean(a)
		}
	}
	return hostContainerdSocket
}

// ---- audit rules ----

// hostAuditWatch is what one audit rule watches: a path (exact inode) or a
// directory tree.
type hostAuditWatch struct {
	path string
	tree bool // -w (on a directory) and -F dir= watch the whole subtree
}

// hostAuditRuleWatches parses one audit rule line (`auditctl -l` output or a
// rules file line) into the paths it watches. Comments, control lines and
// "never" rules watch nothing.
func hostAuditRuleWatches(rule string) []hostAuditWatch {
	rule = strings.TrimSpace(rule)
	if rule == "" || strings.HasPrefix(rule, "#") {
		return nil
	}
	f := strings.Fields(rule)
	var out []hostAuditWatch
	unq := func(v string) string { return path.Clean(strings.Trim(v, `"'`)) }
	for i := 0; i < len(f); i++ {
		arg := f[i]
		next := func() string {
			if i+1 < len(f) {
				i++
				return f[i]
			}
			return ""
		}
		switch {
		case arg == "-a" || arg == "-A":
			for _, part := range strings.Split(next(), ",") {
				if strings.TrimSpace(part) == "never" {
					return nil
				}
			}
		case arg == "-W" || arg == "-d" || arg == "-D":
			return nil // removes rules
		case arg == "-w":
			if v := next(); v != "" {
				// A watch on a directory covers its subtree; on a file just
				// the file. Either way a path under it is covered.
				out = append(out, hostAuditWatch{path: unq(v), tree: true})
			}
		case strings.HasPrefix(arg, "-w") && len(arg) > 2:
			out = append(out, hostAuditWatch{path: unq(arg[2:]), tree: true})
		case arg == "-F" || (strings.HasPrefix(arg, "-F") && len(arg) > 2):
			kv := strings.TrimPrefix(arg, "-F")
			if kv == "" {
				kv = next()
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok || v == "" {
				continue
			}
			switch k {
			case "path":
				out = append(out, hostAuditWatch{path: unq(v)})
			case "dir":
				out = append(out, hostAuditWatch{path: unq(v), tree: true})
			}
		}
	}
	return out
}

// hostAuditCovering returns the audit rule that watches p: the first one
// naming p itself, else the first watching a directory above it.
func hostAuditCovering(rules []string, p string) (string, bool) {
	p = path.Clean(p)
	above := ""
	for _, r := range rules {
		for _, w := range hostAuditRuleWatches(r) {
			switch {
			case w.path == p:
				return strings.TrimSpace(r), true
			case above == "" && w.tree && (w.path == "/" || strings.HasPrefix(p, w.path+"/")):
				above = strings.TrimSpace(r)
			}
		}
	}
	return above, above != ""
}

// hostAuditCheck judges "an audit rule watches p", p a path the benchmark
// names. Where the host keeps that file elsewhere (Snapshot.Located: the
// running process, the unit file, the distribution's layout) the rule must
// watch that file; when it is nowhere, the control does not apply. Without
// a location (not collected) a missing path makes the control not
// applicable when skipMissing is set, and is only mentioned otherwise.
// Differs from docker-bench-security: it greps `auditctl -l` for the path
// as a substring, so a rule for /usr/bin/containerd-shim-runc-v2 also
// "audits" /usr/bin/containerd and /var/lib/docker/volumes "audits"
// /var/lib/docker; we require a rule watching the path itself or a
// directory above it, and ignore comments, "never" rules and deletions.
func hostAuditCheck(s *Snapshot, p string, skipMissing bool) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	name := p
	if l, ok := s.Located[p]; ok {
		if l.Path == "" {
			return Result{Status: NotApplicable, Evidence: []string{fmt.Sprintf("%s: not on this host, nor found elsewhere (looked at %s)", p, strings.Join(l.Tried, ", "))}}
		}
		if l.Path != p {
			name = fmt.Sprintf("%s (%s; the benchmark names %s)", l.Path, l.How, p)
		}
		p, skipMissing = l.Path, true
	}
	exists, known := hostPathExists(s, p)
	if skipMissing && known && !exists {
		return Result{Status: NotApplicable, Evidence: []string{p + ": path does not exist"}}
	}
	if r, ok := hostAuditCovering(s.AuditRules, p); ok {
		return Result{Status: Pass, Evidence: []string{fmt.Sprintf("%s: audited by rule %q", name, r)}}
	}
	ev := fmt.Sprintf("%s: no audit rule watches it", name)
	if len(s.AuditRules) == 0 {
		ev += " (no audit rules in effect)"
	}
	switch {
	case known && !exists:
		ev += " (path does not exist on this host)"
	case !known && skipMissing:
		return Result{Status: Warn, Evidence: []string{ev, p + ": existence unknown (not collected)"}}
	}
	return Result{Status: Fail, Evidence: []string{ev}}
}

// hostPathExists looks p up in Snapshot.Files, following symlinks; known
// is false when the collector did not stat it or could not.
func hostPathExists(s *Snapshot, p string) (exists, known bool) {
	switch filesResolve(s, p).state {
	case filesFound:
		return true, true
	case filesMissing:
		return false, true
	}
	return false, false
}

// ---- mounts ----

// hostMountOf returns the mount that contains p (the deepest mount point
// at or above it; among stacked mounts the last one listed).
func hostMountOf(mounts []Mount, p string) (Mount, bool) {
	p = path.Clean(p)
	best, found := Mount{}, false
	for _, m := range mounts {
		mp := path.Clean(m.MountPoint)
		if mp != p && mp != "/" && !strings.HasPrefix(p, mp+"/") {
			continue
		}
		if !found || len(mp) >= len(path.Clean(best.MountPoint)) {
			best, found = m, true
		}
	}
	return best, found
}

// ---- dockerd options ----

// hostOptAliases are the other names an option may carry in
// DaemonConfig.Options (flag spellings, in case the collector keeps them).
var hostOptAliases = map[string][]string{
	"hosts":                 {"host", "H"},
	"log-level":             {"l"},
	"debug":                 {"D"},
	"insecure-registries":   {"insecure-registry"},
	"storage-opts":          {"storage-opt"},
	"authorization-plugins": {"authorization-plugin"},
	"default-ulimits":       {"default-ulimit"},
	"log-opts":              {"log-opt"},
}

// hostOptFlags are the dockerd flags that set a daemon.json option, when
// they differ from "--" + the option name.
var hostOptFlags = map[string][]string{
	"hosts":                 {"--host", "-H"},
	"log-level":             {"--log-level", "-l"},
	"debug":                 {"--debug", "-D"},
	"insecure-registries":   {"--insecure-registry"},
	"storage-opts":          {"--storage-opt"},
	"authorization-plugins": {"--authorization-plugin"},
	"default-ulimits":       {"--default-ulimit"},
	"log-opts":              {"--log-opt"},
	"bridge":                {"--bridge", "-b"},
}

func hostFlagsOf(key string) []string {
	if f, ok := hostOptFlags[key]; ok {
		return f
	}
	return []string{"--" + key}
}

// hostOpt returns an option's values (all of them, in order) under its
// daemon.json name or an alias; ok is false when it is not set.
func hostOpt(s *Snapshot, key string) ([]string, bool) {
	if s == nil {
		return nil, false
	}
	for _, k := range append([]string{key}, hostOptAliases[key]...) {
		if vs, ok := s.Daemon.Options[k]; ok && len(vs) > 0 {
			return vs, true
		}
	}
	return nil, false
}

// hostOptLast is the effective value of a single-valued option.
func hostOptLast(s *Snapshot, key string) (string, bool) {
	vs, ok := hostOpt(s, key)
	if !ok {
		return "", false
	}
	return strings.TrimSpace(vs[len(vs)-1]), true
}

// hostOptBool is the effective value of a boolean option; a flag given
// without a value ("--icc") is true. set is false when the option is absent
// or its value is not a boolean.
func hostOptBool(s *Snapshot, key string) (val, set bool) {
	v, ok := hostOptLast(s, key)
	if !ok {
		return false, false
	}
	if v == "" {
		return true, true
	}
	b, err := strconv.ParseBool(strings.ToLower(v))
	if err != nil {
		return false, false
	}
	return b, true
}

// hostOptFromFlag reports whether the dockerd command line sets key.
func hostOptFromFlag(s *Snapshot, key string) bool {
	for _, a := range s.Daemon.Args {
		for _, f := range hostFlagsOf(key) {
			if a == f || strings.HasPrefix(a, f+"=") || (len(f) == 2 && strings.HasPrefix(a, f)) {
				return true
			}
		}
	}
	return false
}

// hostDaemonFile is the daemon.json path for evidence.
func hostDaemonFile(s *Snapshot) string {
	if s != nil && s.Daemon.File != "" {
		return s.Daemon.File
	}
	return hostDefaultDaemonCfg
}

// hostOptEvidence says where key got value val: `dockerd --icc=true` or
// `/etc/docker/daemon.json: "icc": true`.
func hostOptEvidence(s *Snapshot, key, val string) string {
	if hostOptFromFlag(s, key) {
		return fmt.Sprintf("dockerd %s=%s", hostFlagsOf(key)[0], val)
	}
	if raw, ok := s.Daemon.JSON[key]; ok {
		b, err := json.Marshal(raw)
		if err == nil {
			return fmt.Sprintf("%s: %q: %s", hostDaemonFile(s), key, b)
		}
	}
	return fmt.Sprintf("daemon option %q=%s", key, val)
}

// hostOptItemEvidence names one element of a list option:
// `dockerd --insecure-registry=10.0.0.0/8` or
// `/etc/docker/daemon.json: "insecure-registries" includes "10.0.0.0/8"`.
func hostOptItemEvidence(s *Snapshot, key, item string) string {
	if hostOptFromFlag(s, key) {
		return fmt.Sprintf("dockerd %s=%s", hostFlagsOf(key)[0], item)
	}
	if _, ok := s.Daemon.JSON[key]; ok {
		return fmt.Sprintf("%s: %q includes %q", hostDaemonFile(s), key, item)
	}
	return fmt.Sprintf("daemon option %q includes %q", key, item)
}

// hostOptNotSet says key is set nowhere: `/etc/docker/daemon.json: "icc"
// not set (default true)`, naming the flag too when the command line was
// read.
func hostOptNotSet(s *Snapshot, key, dflt string) string {
	var b strings.Builder
	switch {
	case s.Daemon.File != "":
		fmt.Fprintf(&b, "%s: %q not set", s.Daemon.File, key)
		if s.Daemon.Args != nil {
			fmt.Fprintf(&b, ", nor %s on the dockerd command line", hostFlagsOf(key)[0])
		}
	default:
		fmt.Fprintf(&b, "%q not set: no daemon.json and no %s on the dockerd command line", key, hostFlagsOf(key)[0])
	}
	if dflt != "" {
		fmt.Fprintf(&b, " (default %s)", dflt)
	}
	return b.String()
}

// hostDaemonGate stops controls that read Daemon.Options when those can't
// be trusted: daemon.json is not valid JSON (dockerd can't use it either),
// or no configuration was found at all.
func hostDaemonGate(s *Snapshot) (Result, bool) {
	switch {
	case s == nil:
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}, false
	case s.Daemon.JSONError != "":
		f := hostDaemonFile(s)
		msg := strings.TrimPrefix(s.Daemon.JSONError, f+": ")
		return Result{Status: Warn, Evidence: []string{fmt.Sprintf("%s is not valid JSON: %s", f, msg)}}, false
	case !s.Daemon.Found:
		return Result{Status: Warn, Evidence: []string{"dockerd configuration not found: no daemon.json and no dockerd command line visible"}}, false
	}
	return Result{}, true
}

// hostUnavailable is the Error result for a check that needs one of
// several sources and got none.
func hostUnavailable(s *Snapshot, sources ...string) Result {
	var ev []string
	for _, src := range sources {
		if msg, bad := s.Errors[src]; bad {
			ev = append(ev, fmt.Sprintf("could not evaluate: %s: %s", src, msg))
		}
	}
	if len(ev) == 0 {
		ev = []string{"could not evaluate: " + strings.Join(sources, ", ") + " not collected"}
	}
	return Result{Status: Error, Evidence: ev}
}

// hostSourceOK reports whether a source was collected without error.
func hostSourceOK(s *Snapshot, src string) bool {
	_, bad := s.Errors[src]
	return !bad
}

// hostSecurityOption returns the full Info.SecurityOptions entry for
// name=<name> ("name=seccomp,profile=builtin").
func hostSecurityOption(s *Snapshot, name string) (string, bool) {
	if s == nil || s.Info == nil {
		return "", false
	}
	for _, o := range s.Info.SecurityOptions {
		for _, kv := range strings.Split(o, ",") {
			if strings.TrimSpace(kv) == "name="+name {
				return o, true
			}
		}
	}
	return "", false
}

// hostBoolText renders a boolean option's raw value for evidence: a flag
// given without a value means true.
func hostBoolText(raw string) string {
	if raw == "" {
		return "true"
	}
	return raw
}

// hostBoolOptCheck judges a boolean daemon option that must be want, with
// dflt its value when unset.
func hostBoolOptCheck(s *Snapshot, key string, want, dflt bool) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	v, set := hostOptBool(s, key)
	if !set {
		st := Fail
		if dflt == want {
			st = Pass
		}
		return Result{Status: st, Evidence: []string{hostOptNotSet(s, key, strconv.FormatBool(dflt))}}
	}
	raw, _ := hostOptLast(s, key)
	st := Fail
	if v == want {
		st = Pass
	}
	return Result{Status: st, Evidence: []string{hostOptEvidence(s, key, hostBoolText(raw))}}
}
