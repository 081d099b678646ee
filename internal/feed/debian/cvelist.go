package debian

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// cveHeader matches "CVE-2023-1234 (description ...)", "CVE-2023-XXXX [title]",
// a bare "CVE-2024-6387" and the tracker's TEMP- ids.
var cveHeader = regexp.MustCompile(`^((?:CVE-\d{4}-(?:\d{4,}|X{4,}))|(?:TEMP-\d{7}-[0-9A-Fa-f]{6}))(?:\s+(.*))?$`)

// CVEList returns the loader for the tracker's data/CVE/list text file.
func CVEList(opts ...Option) feed.Loader { return &cveListLoader{cfg: newConfig(opts)} }

type cveListLoader struct{ cfg config }

func (*cveListLoader) Name() string { return "debian-cve-list" }

func (*cveListLoader) Detect(name string, head []byte) bool {
	if !cveHeader.MatchString(firstLine(head)) {
		return false
	}
	// The second line must be a tracker annotation, not e.g. a CSV row.
	rest := bytes.TrimLeft(head, " \t\r\n")
	if i := indexNL(rest); i >= 0 {
		rest = rest[i+1:]
	} else {
		return false
	}
	return len(rest) > 0 && (rest[0] == '\t' || rest[0] == ' ')
}

func (l *cveListLoader) Load(ctx context.Context, name string, r io.Reader, sink advisory.Sink) (int, error) {
	n := 0
	isHdr := func(s string) bool { return cveHeader.MatchString(s) }
	err := scanBlocks(ctx, &limited{r: r, n: maxTextFile}, isHdr, func(hdr string, lines []string) error {
		ok, err := emitCVE(ctx, hdr, lines, sink, l.cfg)
		if ok {
			n++
		}
		return err
	})
	if err != nil {
		return n, wrap("load debian CVE list", name, err)
	}
	return n, nil
}

// emitCVE writes one data/CVE/list block; ok reports a record written.
func emitCVE(ctx context.Context, hdr string, lines []string, sink advisory.Sink, cfg config) (bool, error) {
	m := cveHeader.FindStringSubmatch(strings.TrimSpace(hdr))
	if m == nil {
		return false, nil
	}
	v := advisory.Vulnerability{ID: m[1], Summary: trimDetails(stripBrackets(m[2])), Source: SourceTracker}
	type pkgLines struct {
		sid  *pkgLine
		rels []pkgLine
	}
	var order []string
	byPkg := map[string]*pkgLines{}
	var todo []string
	for _, line := range lines {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "NOT-FOR-US:"), t == "RESERVED", t == "REJECTED", strings.HasPrefix(t, "REJECTED"):
			return false, nil // not a Debian issue, or no issue at all
		case strings.HasPrefix(t, "TODO:"):
			todo = append(todo, strings.TrimSpace(t))
			continue
		}
		if ids, ok := parseXref(t); ok {
			for _, id := range ids {
				v.References = append(v.References, "https://security-tracker.debian.org/tracker/"+id)
			}
			continue
		}
		pl, ok := parsePkgLine(t)
		if !ok {
			continue
		}
		p := byPkg[pl.Package]
		if p == nil {
			p = &pkgLines{}
			byPkg[pl.Package] = p
			order = append(order, pl.Package)
		}
		if pl.Release == "" || pl.Release == "sid" || pl.Release == "unstable" {
			pl := pl
			p.sid = &pl
		} else {
			p.rels = append(p.rels, pl)
		}
	}
	if err := sink.PutVulnerability(ctx, v); err != nil {
		return false, fmt.Errorf("store %s: %w", v.ID, err)
	}
	for _, pkg := range order {
		p := byPkg[pkg]
		var affs []advisory.Affected
		own := map[string]bool{}
		for _, pl := range p.rels {
			eco, ok := ecosystem(pl.Release)
			if !ok {
				continue // experimental, backports…
			}
			own[pl.Release] = true
			if pl.Severity == "" && p.sid != nil {
				pl.Severity, pl.SevNote = p.sid.Severity, p.sid.SevNote
			}
			a := pl.affected(v.ID, SourceTracker)
			a.Ecosystem = eco
			affs = append(affs, a)
		}
		if p.sid != nil {
			for _, rel := range cfg.inherit {
				if own[rel] {
					continue
				}
				eco, ok := ecosystem(rel)
				if !ok {
					continue
				}
				a := p.sid.inherited(v.ID, SourceTracker)
				a.Ecosystem = eco
				affs = append(affs, a)
			}
		}
		for _, a := range affs {
			if len(todo) > 0 && a.Status == advisory.AffectedUnfixed {
				a.Note = joinNote(a.Note, strings.Join(todo, "; "))
			}
			if err := sink.PutAffected(ctx, a); err != nil {
				return true, fmt.Errorf("store %s %s %s: %w", v.ID, a.Ecosystem, a.Package, err)
			}
		}
	}
	return true, nil
}

func stripBrackets(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && ((s[0] == '(' && s[len(s)-1] == ')') || (s[0] == '[' && s[len(s)-1] == ']')) {
		s = s[1 : len(s)-1]
	}
	return strings.TrimSpace(s)
}

func indexNL(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}
