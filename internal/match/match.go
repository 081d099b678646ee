package match

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/version"

	"github.com/bulwarkdev/bulwark/internal/text"
)

// maxGroup bounds how many ids one alias group may collect, so a feed
// with runaway alias chains cannot make a lookup unbounded.
const maxGroup = 64

// Matcher finds the vulnerabilities of packages in an advisory DB.
type Matcher struct {
	db  advisory.Reader
	log *slog.Logger
}

// Option configures a Matcher.
type Option func(*Matcher)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(m *Matcher) {
		if l != nil {
			m.log = l
		}
	}
}

// New returns a Matcher reading db.
func New(db advisory.Reader, opts ...Option) *Matcher {
	m := &Matcher{db: db, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(m)
	}
	return m
}

// group is one vulnerability (all alias records merged) affecting one
// looked-up (ecosystem, name, version); it becomes a finding per package.
type group struct {
	id, eco   string
	aliases   []string
	vulns     []advisory.Vulnerability // records found for the group's ids, primary first
	affected  []advisory.Affected      // entries that say "affected"
	fixed     string
	status    model.Status
	severity  model.Severity
	sevSource string
	notes     []string
	sources   []string
}

// run holds the state of one Match call: caches shared by its packages.
type run struct {
	m        *Matcher
	vulns    map[string]*advisory.Vulnerability // nil value: looked up, absent
	results  map[lookupKey][]*group
	warnings []model.Warning
	git      int
}

// Match returns the findings for pkgs on distro d (nil when unknown).
// Unparsable versions and bad records become warnings; only a failing DB
// or a cancelled context is an error.
func (m *Matcher) Match(ctx context.Context, d *model.Distro, pkgs []model.Package) ([]model.Finding, []model.Warning, error) {
	r := &run{m: m, vulns: map[string]*advisory.Vulnerability{}, results: map[lookupKey][]*group{}}
	var findings []model.Finding
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("match packages: %w", err)
		}
		keys := lookups(d, p)
		if len(keys) == 0 {
			continue
		}
		groups, err := r.groupsFor(ctx, keys, p)
		if err != nil {
			return nil, nil, err
		}
		for _, g := range groups {
			findings = append(findings, g.finding(p, d))
		}
	}
	if r.git > 0 {
		m.log.DebugContext(ctx, "GIT ranges ignored", "count", r.git)
	}
	sortFindings(findings)
	return findings, r.warnings, nil
}

func epssOf(f model.Finding) float64 {
	if f.EPSS == nil {
		return 0
	}
	return f.EPSS.Score
}

// sortFindings ranks what to fix first: severity, then vulnerabilities
// attackers are known to exploit (CISA KEV), then those likely to be
// (EPSS), then the CVSS score.
func sortFindings(fs []model.Finding) {
	slices.SortStableFunc(fs, func(a, b model.Finding) int {
		if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
			return c
		}
		if a.KnownExploited != b.KnownExploited {
			if a.KnownExploited {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(epssOf(b), epssOf(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(topScore(b), topScore(a)); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Package.Name, b.Package.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Package.Path, b.Package.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Package.Version, b.Package.Version)
	})
}

func topScore(f model.Finding) float64 {
	m := 0.0
	for _, c := range f.CVSS {
		m = max(m, c.Score)
	}
	return m
}

func (r *run) warn(subject, format string, args ...any) {
	r.warnings = append(r.warnings, model.Warning{Stage: "match", Subject: subject, Message: fmt.Sprintf(format, args...)})
}

// groupsFor evaluates every advisory of a package, cached by its primary
// lookup key (binary packages of one source share it).
func (r *run) groupsFor(ctx context.Context, keys []lookupKey, p model.Package) ([]*group, error) {
	primary := keys[0]
	if gs, ok := r.results[primary]; ok {
		return gs, nil
	}
	eco, ver := primary.eco, primary.version
	subject := string(p.Type) + ":" + p.Name + "@" + p.Version
	if !version.Valid(eco, ver) {
		r.warn(subject, "version %q cannot be read as a %s version; package not matched", ver, eco)
		r.results[primary] = nil
		return nil, nil
	}
	type rec struct {
		a advisory.Affected
		v verdict
	}
	var recs []rec
	for _, k := range keys {
		as, err := r.m.db.Affected(ctx, k.eco, k.name)
		if err != nil {
			return nil, fmt.Errorf("look up %s %s: %w", k.eco, k.name, err)
		}
		for _, a := range as {
			if a.VulnID == "" {
				continue
			}
			v, err := evaluate(eco, ver, a)
			if err != nil {
				r.warn(a.VulnID, "%s %s@%s: %v", eco, k.name, ver, err)
				continue
			}
			r.git += v.gitRanges
			recs = append(recs, rec{a, v})
		}
	}
	if len(recs) == 0 {
		r.results[primary] = nil
		return nil, nil
	}
	// Union the records' ids through their aliases.
	uf := newUnion()
	for _, rc := range recs {
		if err := r.link(ctx, uf, rc.a.VulnID); err != nil {
			return nil, err
		}
	}
	byRoot := map[string][]rec{}
	var roots []string
	for _, rc := range recs {
		root := uf.find(rc.a.VulnID)
		if _, ok := byRoot[root]; !ok {
			roots = append(roots, root)
		}
		byRoot[root] = append(byRoot[root], rc)
	}
	distro := isDistroEcosystem(eco)
	var out []*group
	for _, root := range roots {
		rs := byRoot[root]
		anyAffected, anyResolved := false, false
		for _, rc := range rs {
			anyAffected = anyAffected || rc.v.affected
			anyResolved = anyResolved || rc.v.resolved
		}
		if !anyAffected || (distro && anyResolved) {
			continue
		}
		g := &group{eco: eco}
		ids := uf.members(root)
		g.id, g.aliases = primaryID(ids)
		for _, id := range append([]string{g.id}, g.aliases...) {
			if v := r.vulns[id]; v != nil {
				g.vulns = append(g.vulns, *v)
			}
		}
		willNotFix, noFix := false, false
		for _, rc := range rs {
			if !rc.v.affected {
				continue
			}
			g.affected = append(g.affected, rc.a)
			g.fixed = maxVersion(eco, g.fixed, rc.v.fixed)
			willNotFix = willNotFix || rc.v.willNotFix
			noFix = noFix || rc.v.noFix
			if rc.a.Note != "" && !slices.Contains(g.notes, rc.a.Note) {
				g.notes = append(g.notes, rc.a.Note)
			}
		}
		switch {
		case g.fixed != "":
			g.status = model.StatusFixed
		case willNotFix:
			g.status = model.StatusWillNotFix
		default:
			g.status = model.StatusAffected
		}
		g.severity, g.sevSource = severityOf(g)
		g.sources = dataSources(g)
		out = append(out, g)
	}
	r.results[primary] = out
	return out, nil
}

// link adds id and, transitively, its aliases' records to the union.
func (r *run) link(ctx context.Context, uf *union, id string) error {
	queue := []string{id}
	uf.add(id)
	for n := 0; len(queue) > 0 && n < maxGroup; n++ {
		cur := queue[0]
		queue = queue[1:]
		v, err := r.vuln(ctx, cur)
		if err != nil {
			return err
		}
		if v == nil {
			continue
		}
		for _, a := range v.Aliases {
			if a == "" || a == cur {
				continue
			}
			fresh := !uf.has(a)
			uf.add(a)
			uf.join(cur, a)
			if fresh {
				queue = append(queue, a)
			}
		}
	}
	return nil
}

func (r *run) vuln(ctx context.Context, id string) (*advisory.Vulnerability, error) {
	if v, ok := r.vulns[id]; ok {
		return v, nil
	}
	v, ok, err := r.m.db.Vulnerability(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("look up vulnerability %s: %w", id, err)
	}
	if !ok {
		r.vulns[id] = nil
		return nil, nil
	}
	r.vulns[id] = &v
	return &v, nil
}

// primaryID picks the CVE when the group has exactly one, else the first
// id with GHSA ids first, then CVEs, then the rest, each sorted.
func primaryID(ids []string) (string, []string) {
	var cves []string
	for _, id := range ids {
		if strings.HasPrefix(id, "CVE-") {
			cves = append(cves, id)
		}
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b string) int {
		if c := cmp.Compare(idRank(a), idRank(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	primary := sorted[0]
	if len(cves) == 1 {
		primary = cves[0]
	}
	var rest []string
	for _, id := range ids {
		if id != primary {
			rest = append(rest, id)
		}
	}
	slices.Sort(rest)
	return primary, slices.Compact(rest)
}

func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "GHSA-"):
		return 0
	case strings.HasPrefix(id, "CVE-"):
		return 1
	}
	return 2
}

// severityOf: per-package (distro urgency) > vendor > best CVSS > unknown.
func severityOf(g *group) (model.Severity, string) {
	best, src := model.Severity(""), ""
	for _, a := range g.affected {
		if a.Severity != "" && a.Severity != model.SeverityUnknown && (best == "" || a.Severity.Rank() > best.Rank()) {
			best, src = a.Severity, shortSource(a.Source)
		}
	}
	if best != "" {
		return best, src
	}
	for _, v := range g.vulns {
		if v.Severity != "" && v.Severity != model.SeverityUnknown {
			s := v.SeveritySource
			if s == "" {
				s = shortSource(v.Source)
			}
			return v.Severity, s
		}
	}
	if c, ok := bestCVSS(cvssList(g)); ok {
		s := c.Source
		if s == "" {
			s = "cvss"
		}
		return model.SeverityFromScore(c.Score), s
	}
	return model.SeverityUnknown, ""
}

func cvssList(g *group) []model.CVSS {
	var out []model.CVSS
	for _, v := range g.vulns {
		for _, c := range v.CVSS {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// bestCVSS picks the newest CVSS version, NVD's rating among several.
func bestCVSS(cs []model.CVSS) (model.CVSS, bool) {
	var best model.CVSS
	found := false
	for _, c := range cs {
		if c.Score <= 0 && c.Vector == "" {
			continue
		}
		if !found {
			best, found = c, true
			continue
		}
		if x := cmp.Compare(cvssRank(c.Version), cvssRank(best.Version)); x > 0 ||
			(x == 0 && isNVD(c.Source) && !isNVD(best.Source)) {
			best = c
		}
	}
	return best, found
}

func cvssRank(v string) int {
	switch v {
	case "4.0", "4":
		return 4
	case "3.1":
		return 3
	case "3.0", "3":
		return 2
	case "2.0", "2":
		return 1
	}
	return 0
}

func isNVD(s string) bool { return strings.EqualFold(s, "nvd") }

// shortSource names a feed the way findings report it ("debian-tracker" →
// "debian", "osv:ghsa" → "ghsa").
func shortSource(s string) string {
	l := strings.ToLower(s)
	for _, k := range []string{"debian", "ubuntu", "alpine", "ghsa", "nvd", "redhat", "suse", "rubysec", "pypa", "go-vulndb", "rustsec"} {
		if strings.Contains(l, k) {
			return k
		}
	}
	if strings.Contains(l, "github") {
		return "ghsa"
	}
	return s
}

func dataSources(g *group) []string {
	var out []string
	add := func(s string) {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	for _, a := range g.affected {
		add(a.Source)
	}
	for _, v := range g.vulns {
		add(v.Source)
	}
	slices.Sort(out)
	return out
}

// finding renders the group for one installed package.
func (g *group) finding(p model.Package, d *model.Distro) model.Finding {
	f := model.Finding{
		ID:               g.id,
		Aliases:          slices.Clone(g.aliases),
		Severity:         g.severity,
		SeveritySource:   g.sevSource,
		CVSS:             cvssList(g),
		Status:           g.status,
		Package:          p,
		InstalledVersion: p.Version,
		FixedVersion:     g.fixed,
		DataSources:      slices.Clone(g.sources),
	}
	var earliest time.Time
	for _, v := range g.vulns {
		if f.Title == "" {
			f.Title = firstLine(v.Summary)
		}
		if v.EPSS != nil && (f.EPSS == nil || v.EPSS.Score > f.EPSS.Score) {
			e := *v.EPSS
			f.EPSS = &e
		}
		if v.KnownExploited {
			f.KnownExploited = true
			if f.KEVDateAdded == "" {
				f.KEVDateAdded = v.KEVDateAdded
			}
		}
		for _, ref := range v.References {
			if !slices.Contains(f.References, ref) {
				f.References = append(f.References, ref)
			}
		}
		if !v.Published.IsZero() && (earliest.IsZero() || v.Published.Before(earliest)) {
			earliest = v.Published
		}
	}
	if f.Title == "" {
		for _, v := range g.vulns {
			if f.Title = firstLine(v.Details); f.Title != "" {
				break
			}
		}
	}
	if !earliest.IsZero() {
		f.Published = &earliest
	}
	f.Remediation = g.remediation(p)
	return f
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return text.Truncate(s, 200+len(text.Ellipsis))
}

// remediation says what to do, and where the package came from.
func (g *group) remediation(p model.Package) string {
	var b strings.Builder
	release := releaseName(g.eco)
	distro := isDistroEcosystem(g.eco)
	note := strings.Join(g.notes, "; ")
	switch g.status {
	case model.StatusFixed:
		fmt.Fprintf(&b, "Upgrade %s from %s to %s", p.Name, p.Version, g.fixed)
		if p.SourceName != "" && p.SourceName != p.Name {
			fmt.Fprintf(&b, " (source package %s)", p.SourceName)
		}
	case model.StatusWillNotFix:
		vendor, _, _ := strings.Cut(g.eco, ":")
		if distro {
			fmt.Fprintf(&b, "%s will not fix this in %s", vendor, release)
		} else {
			fmt.Fprintf(&b, "The maintainers of %s will not fix this", p.Name)
		}
		if note != "" {
			fmt.Fprintf(&b, " (%s)", note)
		}
	default:
		if distro {
			fmt.Fprintf(&b, "No fix available yet for %s", release)
		} else {
			fmt.Fprintf(&b, "No fix available yet for %s %s", p.Name, p.Version)
		}
		if note != "" {
			fmt.Fprintf(&b, "; %s", note)
		}
	}
	if p.Layer != nil {
		switch {
		case p.Layer.Base:
			b.WriteString(" — the package comes from the base image: rebuild on an updated base image")
		case p.Layer.CreatedBy != "":
			fmt.Fprintf(&b, " — added by your build (%s)", shortenCreatedBy(p.Layer.CreatedBy))
		default:
			fmt.Fprintf(&b, " — added by your build (layer %d)", p.Layer.Index)
		}
	}
	return b.String()
}

// releaseName turns "Debian:12" into "Debian 12", "Ubuntu:22.04:LTS" into
// "Ubuntu 22.04 LTS".
func releaseName(eco string) string { return strings.ReplaceAll(eco, ":", " ") }

// shortenCreatedBy strips the shell wrapper Docker records and keeps the
// command short enough for one line.
func shortenCreatedBy(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range []string{"/bin/sh -c #(nop) ", "/bin/sh -c ", "|1 ", "RUN /bin/sh -c "} {
		s = strings.TrimPrefix(s, p)
	}
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSuffix(s, " # buildkit")
	return text.Truncate(s, 60+len(text.Ellipsis))
}

// union is a union-find over ids that remembers insertion order.
type union struct {
	parent map[string]string
	order  []string
}

func newUnion() *union { return &union{parent: map[string]string{}} }

func (u *union) has(id string) bool { _, ok := u.parent[id]; return ok }

func (u *union) add(id string) {
	if !u.has(id) {
		u.parent[id] = id
		u.order = append(u.order, id)
	}
}

func (u *union) find(id string) string {
	for u.parent[id] != id {
		u.parent[id] = u.parent[u.parent[id]]
		id = u.parent[id]
	}
	return id
}

func (u *union) join(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[rb] = ra
	}
}

func (u *union) members(root string) []string {
	var out []string
	for _, id := range u.order {
		if u.find(id) == root {
			out = append(out, id)
		}
	}
	return out
}
