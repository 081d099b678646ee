package runtime

import (
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// The prefilter index sends an event only to the rules that can match it:
// rules are filed under (source, kind, action, resource), with "" standing
// for "any" in the last two, so one event needs at most four map lookups.
// Process executions are also filed by executable (match.exes): node rules
// keyed on a few binaries are looked up by the exec'd base name instead of
// running on every exec.

type sourceKind struct {
	source event.Source
	kind   event.Kind
}

type actionResource struct{ action, resource string }

type index struct {
	buckets map[sourceKind]map[actionResource][]*compiled
	exes    map[sourceKind]*exeIndex
}

// exeIndex holds the process.exec rules of one (source, kind) that name
// their executables: exact base names in a map, globs in a short list.
type exeIndex struct {
	byName map[string][]*compiled
	globs  []exeGlob
	cmd    substrIndex
}

// exeGlob is one glob of match.exes; a pattern with a '/' is matched
// against the full executable path, any other against the base name.
type exeGlob struct {
	pattern string
	prefix  string // the literal text before the first metacharacter
	full    bool
	rule    *compiled
}

var allSources = []event.Source{event.SourceK8sAudit, event.SourceDocker, event.SourceEBPF,
	event.SourceProc, event.SourceAuditd, event.SourceFalco}

var allKinds = []event.Kind{event.KindK8sAudit, event.KindProcessExec, event.KindNetConnect,
	event.KindFile, event.KindNamespace, event.KindContainer, event.KindImage, event.KindNetwork, event.KindVolume, event.KindFalco}

// ruleCmdline is the command-line substrings a rule's match names.
func ruleCmdline(r *Rule, lists map[string][]string) ([]string, error) {
	subs := append([]string(nil), r.Match.CmdlineContains...)
	for _, name := range r.Match.CmdlineContainsList {
		l, found := lists[name]
		if !found {
			return nil, fmt.Errorf("rule file %s: rule %s: match.cmdline_contains_list: unknown list %q", r.File, r.ID, name)
		}
		subs = append(subs, l...)
	}
	return subs, nil
}

// ruleExes is the executables a rule's match names: match.exes plus every
// entry of the match.exes_list lists. ok is false when it names none (the
// rule sees every exec).
func ruleExes(r *Rule, lists map[string][]string) (exes []string, ok bool, err error) {
	exes = append(exes, r.Match.Exes...)
	for _, name := range r.Match.ExesList {
		l, found := lists[name]
		if !found {
			return nil, false, fmt.Errorf("rule file %s: rule %s: match.exes_list: unknown list %q", r.File, r.ID, name)
		}
		exes = append(exes, l...)
	}
	m := r.Match
	return exes, len(m.Exes) > 0 || len(m.ExesList) > 0 || len(m.CmdlineContains) > 0 || len(m.CmdlineContainsList) > 0, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[\\") }

func buildIndex(rules []*compiled, lists map[string][]string) (index, error) {
	idx := index{buckets: map[sourceKind]map[actionResource][]*compiled{}, exes: map[sourceKind]*exeIndex{}}
	for _, r := range rules {
		exes, byExe, err := ruleExes(r.Rule, lists)
		if err != nil {
			return index{}, err
		}
		subs, err := ruleCmdline(r.Rule, lists)
		if err != nil {
			return index{}, err
		}
		srcs, kinds := r.Sources, r.Kinds
		if len(srcs) == 0 {
			srcs = allSources
		}
		if len(kinds) == 0 {
			kinds = allKinds
		}
		actions, resources := r.Match.Actions, r.Match.Resources
		if len(actions) == 0 {
			actions = []string{""}
		}
		if len(resources) == 0 {
			resources = []string{""}
		}
		for _, s := range srcs {
			// resources and subresources only constrain audit events, so
			// a rule reading exec and audit events can still narrow its
			// audit side; exes likewise only constrain executions.
			res := resources
			if s != event.SourceK8sAudit {
				res = []string{""}
			}
			for _, k := range kinds {
				sk := sourceKind{s, k}
				if byExe && k == event.KindProcessExec {
					idx.addExes(sk, r, exes, subs)
					continue
				}
				m := idx.buckets[sk]
				if m == nil {
					m = map[actionResource][]*compiled{}
					idx.buckets[sk] = m
				}
				for _, a := range actions {
					for _, rsc := range res {
						ar := actionResource{a, rsc}
						if !containsRule(m[ar], r) {
							m[ar] = append(m[ar], r)
						}
					}
				}
			}
		}
	}
	return idx, nil
}

func (idx index) addExes(sk sourceKind, r *compiled, exes, subs []string) {
	x := idx.exes[sk]
	if x == nil {
		x = &exeIndex{byName: map[string][]*compiled{}}
		idx.exes[sk] = x
	}
	for _, sub := range subs {
		x.cmd.add(sub, r)
	}
	for _, name := range exes {
		switch {
		case isGlob(name):
			pre := name[:strings.IndexAny(name, "*?[\\")]
			x.globs = append(x.globs, exeGlob{pattern: name, prefix: pre, full: strings.Contains(name, "/"), rule: r})
		case strings.Contains(name, "/"):
			// A full path names its base name: the condition decides.
			name = basename(name)
			fallthrough
		default:
			if !containsRule(x.byName[name], r) {
				x.byName[name] = append(x.byName[name], r)
			}
		}
	}
}

func containsRule(rs []*compiled, r *compiled) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// eventAction is what match.actions compares: Action, or the audit verb.
func eventAction(ev *event.Event) string {
	if ev.Action != "" {
		return ev.Action
	}
	if ev.K8s != nil {
		return ev.K8s.Verb
	}
	return ""
}

// appendCandidates appends the rules the event may match to dst, in load
// order, each once. stamp is a number no earlier call used: it marks the
// rules already added.
func (idx index) appendCandidates(dst []*compiled, ev *event.Event, stamp uint64) []*compiled {
	sk := sourceKind{ev.Source, ev.Kind}
	start := len(dst)
	action := eventAction(ev)
	add := func(r *compiled) {
		if r.stamp == stamp || (r.actions != nil && !r.actions[action]) {
			return
		}
		r.stamp = stamp
		dst = append(dst, r)
	}
	if m := idx.buckets[sk]; m != nil {
		var resource, subresource string
		audit := ev.Source == event.SourceK8sAudit && ev.K8s != nil
		if audit {
			resource, subresource = ev.K8s.Resource, ev.K8s.Subresource
		}
		addAudit := func(rs []*compiled) {
			for _, r := range rs {
				if audit && r.subres != nil && !r.subres[subresource] {
					continue
				}
				dst = append(dst, r)
			}
		}
		addAudit(m[actionResource{"", ""}])
		if action != "" {
			addAudit(m[actionResource{action, ""}])
		}
		if resource != "" {
			addAudit(m[actionResource{"", resource}])
			if action != "" {
				addAudit(m[actionResource{action, resource}])
			}
		}
		for _, r := range dst[start:] {
			r.stamp = stamp
		}
	}
	if x := idx.exes[sk]; x != nil {
		var exe, name, cmdline string
		if p := ev.Process; p != nil {
			exe, name, cmdline = p.Exe, p.Name, p.Cmdline
		}
		base := basename(exe)
		for _, r := range x.byName[base] {
			add(r)
		}
		if name != "" && name != base {
			for _, r := range x.byName[name] {
				add(r)
			}
		}
		for _, g := range x.globs {
			if g.rule.stamp == stamp {
				continue
			}
			s := base
			if g.full {
				s = exe
			}
			match := func(s string) bool { return strings.HasPrefix(s, g.prefix) && globMatch(g.pattern, s) }
			if match(s) || (!g.full && name != "" && name != base && match(name)) {
				add(g.rule)
			}
		}
		x.cmd.each(cmdline, stamp, add)
		sortByPos(dst[start:])
	}
	return dst
}

// sortByPos restores load order after the executable lookups (a handful
// of rules: insertion sort).
func sortByPos(rs []*compiled) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].pos < rs[j-1].pos; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// substrIndex finds which of many substrings (ASCII case ignored) occur in
// a command line in one pass: substrings are filed by their first two
// bytes, lowercased, with a bitmap to skip positions no substring starts at.
type substrIndex struct {
	n     int
	seen  [1 << 16 / 64]uint64
	byKey map[uint16][]substrEntry
	one   [256][]substrEntry // one-byte substrings
}

type substrEntry struct {
	sub  string // lowercased
	rule *compiled
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func (x *substrIndex) add(sub string, r *compiled) {
	if sub == "" {
		return // contains_any ignores empty substrings too
	}
	sub = strings.ToLower(sub)
	x.n++
	if len(sub) == 1 {
		x.one[sub[0]] = append(x.one[sub[0]], substrEntry{sub, r})
		return
	}
	k := uint16(sub[0])<<8 | uint16(sub[1])
	if x.byKey == nil {
		x.byKey = map[uint16][]substrEntry{}
	}
	x.byKey[k] = append(x.byKey[k], substrEntry{sub, r})
	x.seen[k/64] |= 1 << (k % 64)
}

// each calls f for every rule one of whose substrings occurs in s (rules
// already stamped are skipped by the caller's f as well).
func (x *substrIndex) each(s string, stamp uint64, f func(*compiled)) {
	if x.n == 0 {
		return
	}
	for i := 0; i < len(s); i++ {
		c0 := lowerASCII(s[i])
		for _, e := range x.one[c0] {
			if e.rule.stamp != stamp {
				f(e.rule)
			}
		}
		if i+1 >= len(s) {
			break
		}
		k := uint16(c0)<<8 | uint16(lowerASCII(s[i+1]))
		if x.seen[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		for _, e := range x.byKey[k] {
			if e.rule.stamp != stamp && hasPrefixFold(s[i:], e.sub) {
				f(e.rule)
			}
		}
	}
}

// hasPrefixFold: s starts with the lowercase lower, ASCII case ignored.
func hasPrefixFold(s, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}
