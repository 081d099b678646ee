// Package blindspot says what run-time detection cannot see: which rules
// the configured event sources let fire fully, partly or not at all, and,
// while events arrive, which rules are blind because of what actually
// arrives (audit events at a level below what a rule reads). A detector
// that is blind must say so, as a scanner without advisory data must.
package blindspot

import (
	"bufio"
	"fmt"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// Grade says how well a rule can fire, or how well a source supplies an
// event kind.
type Grade string

const (
	Full    Grade = "full"
	Partial Grade = "partial"
	Blind   Grade = "blind"
)

func (g Grade) rank() int {
	switch g {
	case Full:
		return 2
	case Partial:
		return 1
	}
	return 0
}

// Supply is how a source supplies one event kind, and why not fully.
type Supply struct {
	Grade Grade
	Why   string
}

// Feed is one configured source and what it supplies.
type Feed struct {
	Source event.Source
	Kinds  map[event.Kind]Supply
}

// supplies is what each source gives when it works as designed: one
// explicit table. Degraded forms (a sensor with hooks missing, auditd
// without the rules) are made by EBPFFeed and AuditdFeed.
var supplies = map[event.Source]map[event.Kind]Supply{
	event.SourceK8sAudit: {event.KindK8sAudit: {Full, ""}},
	event.SourceDocker: {event.KindContainer: {Full, ""}, event.KindImage: {Full, ""},
		event.KindNetwork: {Full, ""}, event.KindVolume: {Full, ""}},
	event.SourceEBPF: {event.KindProcessExec: {Full, ""}, event.KindNetConnect: {Full, ""},
		event.KindFile:      {Partial, "the eBPF sensor hooks openat only: unlink, rename, chmod and truncate are not seen"},
		event.KindNamespace: {Full, ""}},
	event.SourceProc: {
		event.KindProcessExec: {Partial, "/proc scanning sees only processes alive at a scan: short-lived commands are missed"},
		event.KindNetConnect:  {Partial, "/proc scanning sees only sockets established at a scan: brief or refused connections are missed"},
	},
	event.SourceAuditd: {event.KindProcessExec: {Full, ""}, event.KindNetConnect: {Full, ""},
		event.KindFile: {Full, ""}, event.KindNamespace: {Full, ""}},
	event.SourceFalco: {event.KindFalco: {Full, ""}},
}

// SourceFeed is a source working as designed.
func SourceFeed(s event.Source) Feed {
	f := Feed{Source: s, Kinds: map[event.Kind]Supply{}}
	for k, v := range supplies[s] {
		f.Kinds[k] = v
	}
	return f
}

// EBPFFeed is the eBPF sensor with the hooks that attached: a kind whose
// hooks all failed is not supplied. hooks maps a hook name to whether it
// is live; names are the sensor's (execve, connect, openat, unshare …).
func EBPFFeed(hooks map[string]bool) Feed {
	f := SourceFeed(event.SourceEBPF)
	for kind, names := range ebpfHooks {
		live := false
		var dead []string
		for name, ok := range hooks {
			if !slices.ContainsFunc(names, func(p string) bool { return strings.Contains(name, p) }) {
				continue
			}
			if ok {
				live = true
			} else {
				dead = append(dead, name)
			}
		}
		if !live && len(dead) > 0 {
			slices.Sort(dead)
			f.Kinds[kind] = Supply{Blind, "eBPF hooks not attached: " + strings.Join(dead, ", ")}
		}
	}
	return f
}

// ebpfHooks names, by substring, the sensor's hooks behind each kind.
var ebpfHooks = map[event.Kind][]string{
	event.KindProcessExec: {"exec"},
	event.KindNetConnect:  {"connect"},
	event.KindFile:        {"open", "unlink", "rename", "chmod", "file"},
	event.KindNamespace:   {"unshare", "clone", "setns"},
}

// auditdSyscalls are the syscalls whose audit rules give each kind.
var auditdSyscalls = map[event.Kind][]string{
	event.KindProcessExec: {"execve", "execveat"},
	event.KindNetConnect:  {"connect"},
	event.KindNamespace:   {"unshare", "clone", "clone3"},
	event.KindFile:        {"open", "openat", "openat2", "unlink", "unlinkat", "rename", "renameat", "renameat2", "chmod", "fchmodat", "truncate"},
}

// AuditdFeed is auditd with the rules `auditctl -l` lists: a kind is
// supplied only when a rule audits one of its syscalls (file events also
// by a watch, -w). With rules unknown (auditctl could not be read), pass
// listed == "" and why: every kind is then partial.
func AuditdFeed(listed, why string) Feed {
	f := SourceFeed(event.SourceAuditd)
	if listed == "" && why != "" {
		for k := range f.Kinds {
			f.Kinds[k] = Supply{Partial, "auditd rules unknown: " + why}
		}
		return f
	}
	syscalls, watches := parseAuditctl(listed)
	for kind, names := range auditdSyscalls {
		ok := syscalls["all"] || slices.ContainsFunc(names, func(n string) bool { return syscalls[n] })
		if kind == event.KindFile && watches > 0 {
			ok = true
		}
		if !ok {
			f.Kinds[kind] = Supply{Blind, fmt.Sprintf("auditd has no rule for %s (see `bulwark runtime auditd-rules`)", strings.Join(names[:min(2, len(names))], "/"))}
		}
	}
	return f
}

// AuditdDown is auditd when the daemon is not running: the kernel's rules
// may be loaded, but nothing writes the log the source reads.
func AuditdDown(why string) Feed {
	f := SourceFeed(event.SourceAuditd)
	for k := range f.Kinds {
		f.Kinds[k] = Supply{Blind, "auditd is not running: " + why}
	}
	return f
}

// parseAuditctl reads `auditctl -l`: the syscalls of -a/-A rules and the
// number of file watches (-w, or a rule on -F path=/dir=).
func parseAuditctl(listed string) (map[string]bool, int) {
	syscalls := map[string]bool{}
	watches := 0
	sc := bufio.NewScanner(strings.NewReader(listed))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "-w":
			watches++
		case "-a", "-A":
			if strings.HasPrefix(f[1], "never") {
				continue
			}
			for i := 2; i+1 < len(f); i++ {
				switch {
				case f[i] == "-S":
					for _, s := range strings.Split(f[i+1], ",") {
						syscalls[s] = true
					}
				case f[i] == "-F" && (strings.HasPrefix(f[i+1], "path=") || strings.HasPrefix(f[i+1], "dir=")):
					watches++
				}
			}
		}
	}
	return syscalls, watches
}
