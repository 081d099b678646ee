package match

import (
	"cmp"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/version"
)

// Summarize gives the verdict over findings: counts of active findings,
// suppressed ones, health against threshold, and the package upgrades that
// fix the most, known- and likely-exploited findings first, then by severity.
func Summarize(findings []model.Finding, packages int, threshold model.Severity) model.Summary {
	s := model.Summary{Healthy: true, Threshold: threshold, Packages: packages}
	type acc struct {
		up     model.Upgrade
		weight int
	}
	byPkg := map[string]*acc{}
	var order []string
	for _, f := range findings {
		if f.Status == model.StatusNotAffected || f.Status == model.StatusExempt {
			s.Suppressed++
			continue
		}
		s.Counts.Add(f.Severity)
		if f.Severity.AtLeast(threshold) {
			s.Healthy = false
		}
		if f.FixedVersion == "" {
			continue
		}
		p := f.Package
		key := string(p.Type) + "\x00" + p.Name + "\x00" + p.Path
		a, ok := byPkg[key]
		if !ok {
			a = &acc{up: model.Upgrade{Package: p.Name, Type: p.Type, From: f.InstalledVersion, To: f.FixedVersion, Layer: p.Layer, Path: p.Path}}
			byPkg[key] = a
			order = append(order, key)
		} else if c, err := version.Compare(versionScheme(p.Type), f.FixedVersion, a.up.To); err == nil && c > 0 {
			a.up.To = f.FixedVersion
		}
		if !slices.Contains(a.up.Fixes, f.ID) {
			a.up.Fixes = append(a.up.Fixes, f.ID)
			a.weight += weight(f)
		}
	}
	accs := make([]*acc, 0, len(order))
	for _, k := range order {
		a := byPkg[k]
		slices.Sort(a.up.Fixes)
		a.up.FixesCount = len(a.up.Fixes)
		accs = append(accs, a)
	}
	slices.SortStableFunc(accs, func(x, y *acc) int {
		if c := cmp.Compare(y.weight, x.weight); c != 0 {
			return c
		}
		if c := cmp.Compare(y.up.FixesCount, x.up.FixesCount); c != 0 {
			return c
		}
		if c := strings.Compare(x.up.Package, y.up.Package); c != 0 {
			return c
		}
		return strings.Compare(x.up.Path, y.up.Path)
	})
	for _, a := range accs {
		s.Upgrades = append(s.Upgrades, a.up)
	}
	return s
}

// weight makes one critical outweigh any number of lower findings in
// practice (a package rarely has 10 highs), and puts a finding attackers
// are known to exploit (KEV), then one they likely will (EPSS >= 10%),
// above any severity: those upgrades come first.
func weight(f model.Finding) int {
	w := severityWeight(f.Severity)
	if f.KnownExploited {
		w += 1000000
	}
	if f.EPSS.LikelyExploited() {
		w += 100000
	}
	return w
}

func severityWeight(s model.Severity) int {
	switch s {
	case model.SeverityCritical:
		return 10000
	case model.SeverityHigh:
		return 1000
	case model.SeverityMedium:
		return 100
	case model.SeverityLow:
		return 10
	}
	return 1
}
