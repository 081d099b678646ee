package match

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// CoverageLookup returns the advisory sources a DB holds for an ecosystem
// ("Debian:12", "npm"), and whether it holds any advisory for it at all.
type CoverageLookup func(ecosystem string) (sources []string, ok bool)

// Coverage splits packages into the parts they are matched in (the
// distribution release for OS packages, one part per language ecosystem)
// and says of each whether covered holds advisories for it. A part without
// advisories cannot be assessed: absence of findings there means nothing.
// Packages that no advisory source describes (bare binaries, unknown
// types, unreadable versions) form parts of kind "none". Parts come sorted:
// OS first, then languages, then the rest, each by name.
func Coverage(d *model.Distro, pkgs []model.Package, covered CoverageLookup) []model.CoveragePart {
	parts := map[string]*model.CoveragePart{}
	var order []string
	add := func(name string, kind model.CoverageKind, fill func(p *model.CoveragePart)) {
		p, ok := parts[name]
		if !ok {
			p = &model.CoveragePart{Name: name, Kind: kind}
			fill(p)
			parts[name] = p
			order = append(order, name)
		}
		p.Packages++
	}
	for _, pkg := range pkgs {
		keys := lookups(d, pkg)
		if len(keys) == 0 {
			name, kind, reason, need := unmatchable(d, pkg)
			add(name, kind, func(p *model.CoveragePart) { p.Reason, p.Need = reason, need })
			continue
		}
		kind := model.CoverageLanguage
		if isOSType(pkg.Type) {
			kind = model.CoverageOS
		}
		// Any of a package's lookup ecosystems may hold its advisories
		// (Ubuntu LTS releases are filed under "Ubuntu:22.04" and
		// "Ubuntu:22.04:LTS"): the part is named by the first that the DB
		// covers, else by the canonical one.
		name, sources, ok := keys[0].eco, []string(nil), false
		for _, k := range keys {
			if s, found := covered(k.eco); found {
				name, sources, ok = k.eco, s, true
				break
			}
		}
		add(name, kind, func(p *model.CoveragePart) {
			p.Assessed, p.Sources = ok, sources
			if !ok {
				p.Reason = "no advisories for " + Describe(name) + " in the DB"
			}
		})
	}
	out := make([]model.CoveragePart, 0, len(order))
	for _, n := range order {
		out = append(out, *parts[n])
	}
	slices.SortFunc(out, func(a, b model.CoveragePart) int {
		if c := cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func kindRank(k model.CoverageKind) int {
	switch k {
	case model.CoverageOS:
		return 0
	case model.CoverageLanguage:
		return 1
	}
	return 2
}

func isOSType(t model.PackageType) bool {
	return t == model.TypeDeb || t == model.TypeAPK || t == model.TypeRPM
}

// unmatchable names the part of a package that has no lookup, with why and
// what would make it matchable. OS packages whose distribution release
// cannot be placed could have advisories, so their part counts against the
// verdict; a bare binary, a package without a version or a jar without
// Maven coordinates cannot be looked up at all and are only listed.
func unmatchable(d *model.Distro, p model.Package) (name string, kind model.CoverageKind, reason, need string) {
	if unknownVersion(p.Version) {
		return "unversioned", model.CoverageNone, "packages without a version cannot be matched against advisories", ""
	}
	switch p.Type {
	case model.TypeDeb, model.TypeAPK, model.TypeRPM:
		if d == nil || d.ID == "" {
			return string(p.Type) + " (unknown distribution)", model.CoverageOS,
				fmt.Sprintf("%s packages were found but no os-release or release file names the distribution, so no advisories can be chosen for them", p.Type),
				"an /etc/os-release (or /usr/lib/os-release) in the image naming the distribution and release"
		}
		rel := strings.TrimSpace(d.ID + " " + d.VersionID)
		return string(p.Type) + " on " + rel, model.CoverageOS,
			fmt.Sprintf("no advisory ecosystem is known for %s packages of %s", p.Type, rel),
			"a distribution release Bulwark maps to advisories (Debian, Ubuntu, Alpine and the RPM distributions by their release)"
	case model.TypeJava:
		return "Maven (no group id)", model.CoverageNone,
			"Java archives without Maven coordinates (no pom.properties, MANIFEST or purl names the group) cannot be looked up", ""
	case model.TypeBinary:
		return "binary", model.CoverageNone, "no advisory source describes bare binaries by name and version", ""
	}
	return string(p.Type), model.CoverageNone, fmt.Sprintf("no advisory source describes %q packages", p.Type), ""
}

// Describe writes an ecosystem for people: "Red Hat:9" is "Red Hat 9",
// "Ubuntu:22.04:LTS" is "Ubuntu 22.04 LTS".
func Describe(eco string) string { return strings.ReplaceAll(eco, ":", " ") }
