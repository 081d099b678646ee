package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

const ansiReset = "\x1b[0m"

// sevColor codes all have the same length so that tabwriter's column widths
// stay right when every cell of a column is coloured.
var sevColor = map[model.Severity]string{
	model.SeverityCritical: "\x1b[91m", // bright red
	model.SeverityHigh:     "\x1b[31m",
	model.SeverityMedium:   "\x1b[33m",
	model.SeverityLow:      "\x1b[34m",
	model.SeverityInfo:     "\x1b[36m",
	model.SeverityUnknown:  "\x1b[37m",
}

type tablePrinter struct {
	w     *bufio.Writer
	color bool
	width int
}

func (t *tablePrinter) sev(s model.Severity) string {
	if s == "" {
		s = model.SeverityUnknown
	}
	if !t.color {
		return string(s)
	}
	c, ok := sevColor[s]
	if !ok {
		c = sevColor[model.SeverityUnknown]
	}
	return c + string(s) + ansiReset
}

func (t *tablePrinter) bold(s string) string {
	if !t.color {
		return s
	}
	return "\x1b[1m" + s + ansiReset
}

func writeTable(w io.Writer, r *model.Report, opts Options) error {
	t := &tablePrinter{w: bufio.NewWriter(w), color: opts.Color, width: opts.Width}
	if t.width <= 0 {
		t.width = 100
	}
	t.header(r)
	if err := t.findings(r); err != nil {
		return err
	}
	t.fixFirst(r)
	t.summary(r)
	t.warnings(r)
	return t.w.Flush()
}

func (t *tablePrinter) header(r *model.Report) {
	fmt.Fprintf(t.w, "%s %s\n", t.bold("Image:"), imageName(r))
	if d := imageDigest(r.Image); d != "" {
		fmt.Fprintf(t.w, "Digest: %s\n", d)
	}
	if r.Distro != nil {
		os := r.Distro.PrettyName
		if os == "" {
			os = strings.TrimSpace(r.Distro.ID + " " + r.Distro.VersionID)
		}
		if r.Distro.EOL {
			os += " (end of life"
			if r.Distro.EOLDate != "" {
				os += " since " + r.Distro.EOLDate
			}
			os += ")"
		}
		fmt.Fprintf(t.w, "OS: %s\n", os)
	}
	if r.DB != nil && !r.DB.BuiltAt.IsZero() {
		line := "DB: built " + r.DB.BuiltAt.UTC().Format(time.RFC3339)
		if !r.GeneratedAt.IsZero() {
			line += " (" + age(r.GeneratedAt.Sub(r.DB.BuiltAt)) + " old)"
		}
		if r.DB.Stale {
			line += " STALE"
		}
		fmt.Fprintln(t.w, line)
	}
	fmt.Fprintln(t.w)
}

// age is a coarse human duration; the table is for people.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0m"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// where says which layer brought a package and whether the user's build did.
func where(p model.Package, max int) string {
	var parts []string
	if p.Layer != nil {
		l := fmt.Sprintf("layer %d", p.Layer.Index)
		switch {
		case p.Layer.Base:
			l += ", base image"
		case p.Layer.CreatedBy != "":
			l += ", your build: " + shortCreatedBy(p.Layer.CreatedBy, max)
		default:
			l += ", your build"
		}
		parts = append(parts, l)
	}
	if p.Path != "" {
		parts = append(parts, p.Path)
	}
	return strings.Join(parts, " · ")
}

type pkgGroup struct {
	pkg      model.Package
	findings []model.Finding
}

// groupFindings keeps the report's order: a group appears where its first
// finding does.
func groupFindings(fs []model.Finding) []*pkgGroup {
	idx := map[string]*pkgGroup{}
	var out []*pkgGroup
	for _, f := range fs {
		k := f.Package.Key()
		g, ok := idx[k]
		if !ok {
			g = &pkgGroup{pkg: f.Package}
			if g.pkg.Version == "" {
				g.pkg.Version = f.InstalledVersion
			}
			idx[k] = g
			out = append(out, g)
		}
		g.findings = append(g.findings, f)
	}
	return out
}

func (t *tablePrinter) findings(r *model.Report) error {
	if r.Findings == nil {
		fmt.Fprintf(t.w, "No vulnerability scan was run; %d packages inventoried.\n\n", len(r.Packages))
		return nil
	}
	if len(r.Findings) == 0 {
		if r.Summary.Verdict == model.VerdictNotAssessed {
			// Silence here is not health: say so before the verdict does.
			fmt.Fprint(t.w, "No vulnerabilities found in the parts that could be assessed.\n\n")
			return nil
		}
		fmt.Fprint(t.w, "No vulnerabilities found.\n\n")
		return nil
	}
	for _, g := range groupFindings(r.Findings) {
		p := g.pkg
		fmt.Fprintf(t.w, "%s %s (%s)\n", t.bold(p.Name), p.Version, p.Type)
		if w := where(p, t.width-30); w != "" {
			fmt.Fprintf(t.w, "  %s\n", w)
		}
		rows := make([][5]string, 0, len(g.findings))
		widths := [4]int{2, 8, 6, 8} // the headers
		for _, f := range g.findings {
			row := findingRow(f)
			for i := range widths {
				widths[i] = max(widths[i], len([]rune(row[i])))
			}
			rows = append(rows, row)
		}
		// The title gets what the other columns leave of the width.
		titleMax := t.width - 2 - widths[0] - widths[1] - widths[2] - widths[3] - 4*2
		titleMax = max(titleMax, 20)
		tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tSEVERITY\tSTATUS\tFIXED IN\tTITLE")
		for i, row := range rows {
			title := truncate(row[4], titleMax)
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", row[0], t.sev(g.findings[i].Severity), row[2], row[3], title)
			// No title, or one cut short (an advisory without a summary
			// gives its description's first line): where to read it whole.
			if f := g.findings[i]; !suppressed(f) && (title != row[4] || strings.TrimSpace(f.Title) == "") {
				if u := advisoryURL(g.findings[i]); u != "" {
					fmt.Fprintf(tw, "  \t\t\t\t%s\n", u)
				}
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(t.w)
	}
	return nil
}

// findingRow is one finding's table cells, uncoloured.
func findingRow(f model.Finding) [5]string {
	id := f.ID
	var marks []string
	if f.KnownExploited {
		marks = append(marks, "KEV")
	}
	if f.EPSS != nil {
		marks = append(marks, fmt.Sprintf("EPSS %.1f%%", f.EPSS.Score*100))
	}
	if len(marks) > 0 {
		id += " (" + strings.Join(marks, ", ") + ")"
	}
	fixed := f.FixedVersion
	if fixed == "" {
		fixed = "-"
	}
	title := oneLine(f.Title)
	if f.Suppression != nil && suppressed(f) {
		why := f.Suppression.Justification
		if why == "" {
			why = f.Suppression.Reason
		}
		title = strings.TrimSpace("[" + f.Suppression.Kind + ": " + why + "] " + title)
	}
	if title == "" {
		title = "-"
	}
	sev := f.Severity
	if sev == "" {
		sev = model.SeverityUnknown
	}
	return [5]string{id, string(sev), string(f.Status), truncate(fixed, 24), title}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (t *tablePrinter) summary(r *model.Report) {
	s := r.Summary
	th := s.Threshold
	if th == "" {
		th = model.SeverityUnknown
	}
	switch {
	case s.Verdict == model.VerdictNotAssessed:
		fmt.Fprintf(t.w, "%s %s (%s: health unknown, threshold: %s)\n", t.bold("Result:"), t.bold("NOT ASSESSED"), oneLine(verdictReason(s)), th)
	case s.Healthy:
		fmt.Fprintf(t.w, "%s %s (threshold: %s)\n", t.bold("Result:"), t.bold("HEALTHY"), th)
	default:
		fmt.Fprintf(t.w, "%s %s (threshold: %s)\n", t.bold("Result:"), t.bold("UNHEALTHY"), th)
	}
	// Every part not assessed or not matchable is named with what would fix
	// it; a fully assessed image gets one line of what was covered.
	var assessed []string
	for _, p := range s.Coverage {
		if p.Assessed {
			assessed = append(assessed, fmt.Sprintf("%s (%d)", p.Name, p.Packages))
			continue
		}
		fmt.Fprintf(t.w, "  %s\n", oneLine(coverageLine(p)))
		if p.Need != "" {
			fmt.Fprintf(t.w, "    needs %s\n", oneLine(p.Need))
		}
	}
	if len(assessed) > 0 {
		fmt.Fprintf(t.w, "Assessed: %s\n", strings.Join(assessed, ", "))
	}
	c := s.Counts
	fmt.Fprintf(t.w, "Findings: %d total: %d critical, %d high, %d medium, %d low, %d unknown; %d suppressed\n",
		c.Total, c.Critical, c.High, c.Medium, c.Low, c.Unknown, s.Suppressed)
	fmt.Fprintf(t.w, "Packages: %d\n", s.Packages)
	if len(s.Upgrades) > 0 {
		fmt.Fprintln(t.w, "Recommended upgrades:")
		for _, u := range s.Upgrades {
			fmt.Fprintf(t.w, "  %s\n", upgradeLine(u, r.Findings))
		}
	}
}

// upgradeLine reads "upgrade openssl 3.0.11 → 3.0.13 fixes 5 (2 critical)".
func upgradeLine(u model.Upgrade, fs []model.Finding) string {
	n := u.FixesCount
	if n == 0 {
		n = len(u.Fixes)
	}
	line := fmt.Sprintf("upgrade %s %s → %s fixes %d", u.Package, u.From, u.To, n)
	fixes := make(map[string]bool, len(u.Fixes))
	for _, id := range u.Fixes {
		fixes[id] = true
	}
	var c model.Counts
	seen := map[string]bool{}
	for _, f := range fs {
		if f.Package.Name != u.Package || !fixes[f.ID] || seen[f.ID] || suppressed(f) {
			continue
		}
		seen[f.ID] = true
		c.Add(f.Severity)
	}
	var parts []string
	if c.Critical > 0 {
		parts = append(parts, fmt.Sprintf("%d critical", c.Critical))
	}
	if c.High > 0 {
		parts = append(parts, fmt.Sprintf("%d high", c.High))
	}
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	return line
}

func (t *tablePrinter) warnings(r *model.Report) {
	if len(r.Warnings) == 0 {
		return
	}
	fmt.Fprintf(t.w, "\nWarnings (%d):\n", len(r.Warnings))
	for _, w := range r.Warnings {
		subj := ""
		if w.Subject != "" {
			subj = " " + w.Subject
		}
		fmt.Fprintf(t.w, "  [%s]%s: %s\n", w.Stage, subj, oneLine(w.Message))
	}
}

// advisoryURL is where a finding's advisory is read in full: the
// reference that names its id, else the advisory database the id belongs
// to (NVD, GitHub), else its first reference; "" when there is none.
func advisoryURL(f model.Finding) string {
	for _, ref := range f.References {
		if strings.Contains(ref, f.ID) && strings.HasPrefix(ref, "https://") {
			return ref
		}
	}
	switch {
	case strings.HasPrefix(f.ID, "CVE-"):
		return "https://nvd.nist.gov/vuln/detail/" + f.ID
	case strings.HasPrefix(f.ID, "GHSA-"):
		return "https://github.com/advisories/" + f.ID
	case len(f.References) > 0:
		return f.References[0]
	}
	return ""
}

// fixFirstMax bounds the "Fix first" list: the table is for people.
const fixFirstMax = 5

// fixFirst lists what to do about the most pressing active findings
// (known exploited, then by severity, then by EPSS): each remediation
// sentence once, with the findings it resolves.
func (t *tablePrinter) fixFirst(r *model.Report) {
	var active []model.Finding
	for _, f := range r.Findings {
		if !suppressed(f) && f.Remediation != "" && f.Severity.AtLeast(model.SeverityLow) {
			active = append(active, f)
		}
	}
	if len(active) == 0 {
		return
	}
	sort.SliceStable(active, func(i, j int) bool {
		a, b := active[i], active[j]
		if a.KnownExploited != b.KnownExploited {
			return a.KnownExploited
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		return epss(a) > epss(b)
	})
	type item struct {
		remediation string
		ids         []string
	}
	var items []*item
	byText := map[string]*item{}
	for _, f := range active {
		id := f.ID + " (" + string(f.Severity)
		if f.KnownExploited {
			id += ", KEV"
		}
		id += ")"
		if it, ok := byText[f.Remediation]; ok {
			if len(it.ids) < 3 && !slices.Contains(it.ids, id) {
				it.ids = append(it.ids, id)
			}
			continue
		}
		if len(items) == fixFirstMax {
			continue
		}
		it := &item{remediation: oneLine(f.Remediation), ids: []string{id}}
		byText[f.Remediation] = it
		items = append(items, it)
	}
	fmt.Fprintln(t.w, t.bold("Fix first:"))
	for _, it := range items {
		fmt.Fprintf(t.w, "  %s\n    for %s\n", truncate(it.remediation, t.width*2), strings.Join(it.ids, ", "))
	}
	fmt.Fprintln(t.w)
}

func epss(f model.Finding) float64 {
	if f.EPSS == nil {
		return 0
	}
	return f.EPSS.Score
}
