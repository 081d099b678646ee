package debian

import (
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// pkgLine is one tracker package annotation:
// "[bookworm] - perl 5.36.0-7+deb12u3" or "- apt <unfixed> (unimportant; bug #642480)".
type pkgLine struct {
	Release  string // codename; "" is unstable (sid)
	Package  string
	Kind     string // "fixed", "unfixed", "no-dsa", "ignored", …
	Version  string // for Kind "fixed"
	Severity model.Severity
	SevNote  string // "urgency: unimportant"
	Reason   string // the free text in parentheses ("Minor issue")
}

// parsePkgLine parses a package annotation; ok is false for other lines
// (NOTE:, TODO:, {xrefs}, garbage).
func parsePkgLine(s string) (pkgLine, bool) {
	var pl pkgLine
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return pl, false
		}
		pl.Release = strings.TrimSpace(s[1:end])
		s = strings.TrimSpace(s[end+1:])
	}
	if !strings.HasPrefix(s, "- ") {
		return pl, false
	}
	s = strings.TrimSpace(s[2:])
	pkg, rest, _ := strings.Cut(s, " ")
	if pkg == "" || strings.ContainsAny(pkg, "<>()[]{}") {
		return pl, false
	}
	pl.Package = pkg
	rest = strings.TrimSpace(rest)
	switch {
	case strings.HasPrefix(rest, "<"):
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return pl, false
		}
		pl.Kind = strings.ToLower(strings.TrimSpace(rest[1:end]))
		rest = strings.TrimSpace(rest[end+1:])
	case rest == "" || rest[0] == '(':
		pl.Kind = "unfixed"
		pl.Reason = "no version or status given"
	default:
		v, r, _ := strings.Cut(rest, " ")
		pl.Kind, pl.Version = "fixed", v
		rest = strings.TrimSpace(r)
	}
	if strings.HasPrefix(rest, "(") {
		inner := strings.TrimPrefix(rest, "(")
		if i := strings.LastIndexByte(inner, ')'); i >= 0 {
			inner = inner[:i]
		}
		var reasons []string
		for _, part := range strings.Split(inner, ";") {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
			case strings.HasPrefix(part, "bug #"), part == "bug filed":
			case isUrgency(part):
				pl.Severity, pl.SevNote = parseUrgency(part)
			default:
				reasons = append(reasons, part)
			}
		}
		pl.Reason = joinNote(append([]string{pl.Reason}, reasons...)...)
	}
	return pl, true
}

// parseXref returns the ids in a "{DSA-5673-1 DLA-3807-1}" or "{CVE-…}" line.
func parseXref(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	return strings.Fields(s), true
}

// affected turns a package line into an Affected entry (without ecosystem).
func (pl pkgLine) affected(vulnID, source string) advisory.Affected {
	a := advisory.Affected{VulnID: vulnID, Package: pl.Package, Severity: pl.Severity, Source: source}
	reason := pl.Reason
	switch pl.Kind {
	case "fixed":
		if pl.Version == "0" {
			a.Status = advisory.AffectedNot
			a.Note = joinNote(reason)
		} else {
			a.Ranges = fixedRange(pl.Version)
			a.Note = joinNote(reason)
		}
	case "unfixed":
		a.Status, a.Note = advisory.AffectedUnfixed, joinNote(reason)
	case "no-dsa":
		a.Status, a.Note = advisory.AffectedUnfixed, joinNote("no DSA: "+orDash(reason))
	case "postponed":
		a.Status, a.Note = advisory.AffectedUnfixed, joinNote("postponed: "+orDash(reason))
	case "undetermined":
		a.Status, a.Note = advisory.AffectedUnfixed, joinNote("undetermined", reason)
	case "ignored":
		a.Status, a.Note = advisory.AffectedWillNotFix, joinNote("ignored: "+orDash(reason))
	case "end-of-life":
		a.Status, a.Note = advisory.AffectedWillNotFix, joinNote("end of life", reason)
	case "not-affected":
		a.Status, a.Note = advisory.AffectedNot, joinNote(reason)
	case "removed":
		a.Status, a.Note = advisory.AffectedNot, joinNote("removed: package not in this release", reason)
	default:
		// An unknown status is treated as affected so nothing is hidden.
		a.Status, a.Note = advisory.AffectedUnfixed, joinNote("unrecognised status <"+pl.Kind+">", reason)
	}
	a.Note = joinNote(a.Note, pl.SevNote)
	return a
}

// inherited is the entry a release without its own line gets from the
// unstable line sid (see the package doc).
func (sid pkgLine) inherited(vulnID, source string) advisory.Affected {
	if sid.Kind == "fixed" && sid.Version != "0" {
		a := advisory.Affected{VulnID: vulnID, Package: sid.Package, Severity: sid.Severity, Source: source,
			Status: advisory.AffectedUnfixed, Ranges: fixedRange(sid.Version)}
		a.Note = joinNote("fixed in unstable "+sid.Version+"; no fix for this release yet", sid.Reason, sid.SevNote)
		return a
	}
	a := sid.affected(vulnID, source)
	if sid.Kind == "removed" {
		// Gone from unstable says nothing about a release that still ships it.
		a.Status = advisory.AffectedUnfixed
		a.Note = joinNote("removed from unstable; no status for this release", sid.Reason, sid.SevNote)
		return a
	}
	a.Note = joinNote("inherited from unstable", a.Note)
	return a
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
