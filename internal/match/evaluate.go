package match

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/version"
)

// verdict is what one advisory.Affected says about one installed version.
type verdict struct {
	affected bool
	// resolved: the record says this version is fixed (a fixed event at or
	// below it in a range that introduced it) or not affected at all.
	resolved bool
	// fixed is the version that fixes it, when known.
	fixed string
	// noFix: the record says no fix exists for this release.
	noFix      bool
	willNotFix bool
	gitRanges  int
}

// evaluate applies one Affected entry to version v in ecosystem eco.
func evaluate(eco, v string, a advisory.Affected) (verdict, error) {
	var out verdict
	switch a.Status {
	case advisory.AffectedNot:
		out.resolved = true
		return out, nil
	case advisory.AffectedUnfixed, advisory.AffectedWillNotFix:
		out.noFix = true
		out.willNotFix = a.Status == advisory.AffectedWillNotFix
	}
	criteria := false // whether anything beyond Status could decide
	for _, r := range a.Ranges {
		if r.Type == advisory.RangeGit {
			out.gitRanges++
			continue
		}
		criteria = true
		scheme := eco
		if r.Type == advisory.RangeSemver {
			scheme = "semver"
		}
		in, fixedHere, fix, err := inRange(scheme, v, r.Events)
		if err != nil {
			return verdict{}, fmt.Errorf("evaluate %s range of %s: %w", r.Type, a.VulnID, err)
		}
		if fixedHere {
			out.resolved = true
		}
		if in {
			out.affected = true
			out.fixed = maxVersion(eco, out.fixed, fix)
		}
	}
	if len(a.Versions) > 0 {
		criteria = true
		for _, x := range a.Versions {
			if x == v {
				out.affected = true
				break
			}
			if c, err := version.Compare(eco, x, v); err == nil && c == 0 {
				out.affected = true
				break
			}
		}
	}
	if len(a.AffectedConstraints) > 0 {
		criteria = true
		for _, c := range a.AffectedConstraints {
			ok, err := version.Satisfies(eco, v, c)
			if err != nil {
				return verdict{}, fmt.Errorf("evaluate constraint of %s: %w", a.VulnID, err)
			}
			if ok {
				out.affected = true
				out.fixed = maxVersion(eco, out.fixed, upperBound(c))
			}
		}
	}
	if len(a.UnaffectedConstraints) > 0 {
		unaffected := false
		for _, c := range a.UnaffectedConstraints {
			ok, err := version.Satisfies(eco, v, c)
			if err != nil {
				return verdict{}, fmt.Errorf("evaluate patched constraint of %s: %w", a.VulnID, err)
			}
			if ok {
				unaffected = true
				break
			}
		}
		switch {
		case unaffected:
			out.affected = false
		case !criteria || out.affected:
			out.affected = true
			if out.fixed == "" {
				out.fixed = patchedLowerBound(eco, v, a.UnaffectedConstraints)
			}
		}
		criteria = true
	}
	if !criteria {
		// Only GIT ranges: nothing to say about this version. No ranges at
		// all: every version (OSV's reading, and the distro "unfixed" form).
		out.affected = out.gitRanges == 0
	}
	if out.noFix {
		out.fixed = ""
	}
	if out.affected {
		out.resolved = false
	}
	return out, nil
}

// inRange evaluates OSV range events against v (OSV spec, "Evaluation").
// It returns whether v is affected, whether a fixed event at or below v
// closed a range that introduced it, and the smallest fixed event above v.
func inRange(scheme, v string, events []advisory.Event) (in, fixedHere bool, fix string, err error) {
	type ev struct {
		kind string // introduced, fixed, last_affected, limit
		ver  string
	}
	evs := make([]ev, 0, len(events))
	var limits []string
	for _, e := range events {
		switch {
		case e.Introduced != "":
			evs = append(evs, ev{"introduced", e.Introduced})
		case e.Fixed != "":
			evs = append(evs, ev{"fixed", e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, ev{"last_affected", e.LastAffected})
		case e.Limit != "":
			limits = append(limits, e.Limit)
		}
	}
	// Compare every event once against v instead of sorting events among
	// themselves: what matters is the last event at or below v.
	type placed struct {
		ev
		cmp int // sign(v - ev.ver)
	}
	ps := make([]placed, 0, len(evs))
	for _, e := range evs {
		if e.kind == "introduced" && e.ver == "0" {
			ps = append(ps, placed{e, 1})
			continue
		}
		c, err := version.Compare(scheme, v, e.ver)
		if err != nil {
			return false, false, "", err
		}
		ps = append(ps, placed{e, c})
	}
	for _, l := range limits {
		if l == "*" {
			continue
		}
		c, err := version.Compare(scheme, v, l)
		if err != nil {
			return false, false, "", err
		}
		if c >= 0 {
			return false, false, "", nil
		}
	}
	// Events at or below v, in version order; the last one decides.
	var below []placed
	for _, p := range ps {
		if p.cmp >= 0 || (p.kind == "last_affected" && p.cmp == 0) {
			below = append(below, p)
		}
	}
	var sortErr error
	slices.SortStableFunc(below, func(x, y placed) int {
		if x.kind == "introduced" && x.ver == "0" {
			if y.kind == "introduced" && y.ver == "0" {
				return 0
			}
			return -1
		}
		if y.kind == "introduced" && y.ver == "0" {
			return 1
		}
		c, err := version.Compare(scheme, x.ver, y.ver)
		if err != nil {
			sortErr = err
			return 0
		}
		if c == 0 {
			// At one version a fix outranks an introduction.
			return cmp.Compare(rank(x.kind), rank(y.kind))
		}
		return c
	})
	if sortErr != nil {
		return false, false, "", sortErr
	}
	introduced := false
	for _, p := range below {
		switch p.kind {
		case "introduced":
			in, introduced = true, true
		case "fixed":
			if in || introduced {
				fixedHere = true
			}
			in = false
		case "last_affected":
			if p.cmp > 0 {
				in = false
			}
		}
	}
	if in {
		fixedHere = false
		for _, p := range ps {
			if p.kind == "fixed" && p.cmp < 0 {
				fix = minVersion(scheme, fix, p.ver)
			}
		}
	}
	return in, fixedHere, fix, nil
}

func rank(kind string) int {
	switch kind {
	case "introduced":
		return 0
	case "last_affected":
		return 1
	}
	return 2
}

func minVersion(scheme, a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if c, err := version.Compare(scheme, b, a); err == nil && c < 0 {
		return b
	}
	return a
}

func maxVersion(scheme, a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if c, err := version.Compare(scheme, b, a); err == nil && c > 0 {
		return b
	}
	return a
}

var (
	lowerRe = regexp.MustCompile(`(>=|~>|\^|~)\s*([^\s,|<>=~^]+)`)
	upperRe = regexp.MustCompile(`(?:^|[\s,])<\s*([^\s,|=<>]+)`)
)

// patchedLowerBound derives the fix from patched constraints: the smallest
// lower bound ("~> 2.2.6, >= 2.2.6.2" → 2.2.6.2) above the installed
// version. Empty when none is derivable.
func patchedLowerBound(eco, v string, patched []string) string {
	best := ""
	for _, c := range patched {
		bound := ""
		for _, m := range lowerRe.FindAllStringSubmatch(c, -1) {
			bound = maxVersion(eco, bound, m[2])
		}
		if bound == "" {
			continue
		}
		if x, err := version.Compare(eco, bound, v); err != nil || x <= 0 {
			continue
		}
		best = minVersion(eco, best, bound)
	}
	return best
}

// upperBound takes the exclusive upper bound of a satisfied affected
// constraint ("<1.5.2" → 1.5.2), the first version outside it.
func upperBound(c string) string {
	if strings.Contains(c, "||") || strings.Contains(c, "|") {
		return "" // which alternative matched is not known here
	}
	if m := upperRe.FindStringSubmatch(c); m != nil {
		return m[1]
	}
	return ""
}
