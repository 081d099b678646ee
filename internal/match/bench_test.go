package match

import (
	"context"
	"fmt"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// BenchmarkMatch: 100 Debian packages (50 sources) against a DB of 20,000
// affected entries (about what Debian:12 plus an npm lock file meet).
func BenchmarkMatch(b *testing.B) {
	ctx := context.Background()
	db := advisory.NewMemory()
	const sources, perSource = 500, 40
	for s := range sources {
		src := fmt.Sprintf("src%d", s)
		for i := range perSource {
			id := fmt.Sprintf("CVE-2024-%d", s*perSource+i)
			_ = db.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Aliases: []string{"DSA-" + id},
				CVSS: []model.CVSS{{Version: "3.1", Score: float64(i % 10), Source: "nvd"}}})
			a := advisory.Affected{VulnID: id, Ecosystem: "Debian:12", Package: src, Source: "debian-tracker"}
			switch i % 4 {
			case 0:
				a.Status = advisory.AffectedUnfixed
			case 1:
				a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: fmt.Sprintf("1.%d-1+deb12u1", i)}}}}
			case 2:
				a.Ranges = []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "0.9-1"}}}}
			default:
				a.Status = advisory.AffectedNot
			}
			_ = db.PutAffected(ctx, a)
		}
	}
	d := &model.Distro{ID: "debian", VersionID: "12"}
	var pkgs []model.Package
	for i := range 100 {
		pkgs = append(pkgs, model.Package{Name: fmt.Sprintf("bin%d", i), Version: "1.20-1", Type: model.TypeDeb, SourceName: fmt.Sprintf("src%d", i/2)})
	}
	m := New(db)
	b.ResetTimer()
	for b.Loop() {
		fs, _, err := m.Match(ctx, d, pkgs)
		if err != nil || len(fs) == 0 {
			b.Fatal(err, len(fs))
		}
	}
}

// BenchmarkCoverage: the coverage check of a 1,000-package image (an OS
// release, npm, PyPI and Go), on top of matching. It must stay a rounding
// error beside Match.
func BenchmarkCoverage(b *testing.B) {
	d := &model.Distro{ID: "debian", VersionID: "12"}
	var pkgs []model.Package
	for i := range 1000 {
		p := model.Package{Name: fmt.Sprintf("p%d", i), Version: "1.2.3-1", Type: model.TypeDeb, SourceName: fmt.Sprintf("src%d", i/2)}
		switch i % 4 {
		case 1:
			p.Type = model.TypeNPM
		case 2:
			p.Type = model.TypePython
		case 3:
			p.Type, p.Version = model.TypeGo, "v1.2.3"
		}
		pkgs = append(pkgs, p)
	}
	cov := map[string][]string{"Debian:12": {"debian-tracker"}, "npm": {"osv:ghsa"}, "Go": {"osv:go"}}
	lookup := func(eco string) ([]string, bool) { s, ok := cov[eco]; return s, ok }
	for b.Loop() {
		if parts := Coverage(d, pkgs, lookup); len(parts) != 4 {
			b.Fatal(parts)
		}
	}
}
