package match

import (
	"cmp"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/version"
)

// RankedUpgrade is one package upgrade with what it is worth: the findings
// it fixes by severity, its weight (known- and likely-exploited findings
// first, then severity: see weight) and, down the ranked list, how many of
// the fixable findings the upgrades so far fix together.
type RankedUpgrade struct {
	model.Upgrade
	Weight     int          `json:"weight"`
	Counts     model.Counts `json:"counts"`
	KEV        int          `json:"known_exploited,omitempty"`
	Cumulative int          `json:"cumulative_fixed"`
}

// Upgrades is the smallest set of upgrades that fixes every active finding
// that has a fix, ranked so the first few fix the most: one upgrade per
// package instance (type, name, path), to the highest fixed version any of
// its findings needs (a lower one would leave a finding open), ordered by
// the weight of what it fixes, then by how many findings, then by name.
// Packages are independent, so ranking them one by one is exactly the
// greedy cover: each upgrade adds only its own findings. Findings without a
// fix, and suppressed ones, need no upgrade and are left out.
func Upgrades(findings []model.Finding) []RankedUpgrade {
	byPkg := map[string]*RankedUpgrade{}
	var order []string
	for _, f := range findings {
		if f.Status == model.StatusNotAffected || f.Status == model.StatusExempt || f.FixedVersion == "" {
			continue
		}
		p := f.Package
		key := string(p.Type) + "\x00" + p.Name + "\x00" + p.Path
		u, ok := byPkg[key]
		if !ok {
			u = &RankedUpgrade{Upgrade: model.Upgrade{Package: p.Name, Type: p.Type, From: f.InstalledVersion, To: f.FixedVersion, Layer: p.Layer, Path: p.Path}}
			byPkg[key] = u
			order = append(order, key)
		} else if c, err := version.Compare(versionScheme(p.Type), f.FixedVersion, u.To); err == nil && c > 0 {
			u.To = f.FixedVersion
		}
		if !slices.Contains(u.Fixes, f.ID) {
			u.Fixes = append(u.Fixes, f.ID)
			u.Weight += weight(f)
			u.Counts.Add(f.Severity)
			u.Counts.Total++
			if f.KnownExploited {
				u.KEV++
			}
		}
	}
	out := make([]RankedUpgrade, 0, len(order))
	for _, k := range order {
		u := byPkg[k]
		slices.Sort(u.Fixes)
		u.FixesCount = len(u.Fixes)
		out = append(out, *u)
	}
	slices.SortStableFunc(out, func(x, y RankedUpgrade) int {
		if c := cmp.Compare(y.Weight, x.Weight); c != 0 {
			return c
		}
		if c := cmp.Compare(y.FixesCount, x.FixesCount); c != 0 {
			return c
		}
		if c := strings.Compare(x.Package, y.Package); c != 0 {
			return c
		}
		return strings.Compare(x.Path, y.Path)
	})
	total := 0
	for i := range out {
		total += out[i].FixesCount
		out[i].Cumulative = total
	}
	return out
}

// VersionScheme names the version ordering of a package type (for
// comparing fixed versions outside the matcher).
func VersionScheme(t model.PackageType) string { return versionScheme(t) }
