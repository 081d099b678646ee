package match

import (
	"fmt"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func TestUpgrades(t *testing.T) {
	deb := func(id, pkg, installed, fixed string, sev model.Severity) model.Finding {
		return model.Finding{ID: id, Severity: sev, Status: model.StatusFixed, Package: model.Package{Name: pkg, Type: "deb"}, InstalledVersion: installed, FixedVersion: fixed}
	}
	kev := func(f model.Finding) model.Finding { f.KnownExploited = true; return f }
	status := func(f model.Finding, s model.Status) model.Finding { f.Status = s; return f }
	for _, tc := range []struct {
		name string
		in   []model.Finding
		want []string // package from->to fixes cumulative, in rank order
	}{
		{"none", nil, nil},
		{"the highest fixed version among a package's findings",
			[]model.Finding{deb("CVE-1", "openssl", "3.0.11-1", "3.0.13-1", model.SeverityMedium), deb("CVE-2", "openssl", "3.0.11-1", "3.0.15-1", model.SeverityLow),
				deb("CVE-3", "openssl", "3.0.11-1", "3.0.9-1", model.SeverityLow)},
			[]string{"openssl 3.0.11-1->3.0.15-1 [CVE-1 CVE-2 CVE-3] 3"}},
		{"one critical outranks many lows",
			[]model.Finding{deb("CVE-1", "zlib", "1", "2", model.SeverityCritical), deb("CVE-2", "curl", "1", "2", model.SeverityLow),
				deb("CVE-3", "curl", "1", "2", model.SeverityLow), deb("CVE-4", "curl", "1", "2", model.SeverityLow)},
			[]string{"zlib 1->2 [CVE-1] 1", "curl 1->2 [CVE-2 CVE-3 CVE-4] 4"}},
		{"known exploited first, whatever the severity",
			[]model.Finding{deb("CVE-1", "zlib", "1", "2", model.SeverityCritical), kev(deb("CVE-2", "curl", "1", "2", model.SeverityLow))},
			[]string{"curl 1->2 [CVE-2] 1", "zlib 1->2 [CVE-1] 2"}},
		{"equal weight: more findings first, then by name",
			[]model.Finding{deb("CVE-1", "b", "1", "2", model.SeverityHigh), deb("CVE-2", "a", "1", "2", model.SeverityMedium),
				deb("CVE-3", "a", "1", "2", model.SeverityMedium), deb("CVE-4", "c", "1", "2", model.SeverityHigh)},
			[]string{"b 1->2 [CVE-1] 1", "c 1->2 [CVE-4] 2", "a 1->2 [CVE-2 CVE-3] 4"}},
		{"no fix, suppressed and exempt findings need no upgrade",
			[]model.Finding{deb("CVE-1", "a", "1", "", model.SeverityHigh), status(deb("CVE-2", "b", "1", "2", model.SeverityHigh), model.StatusNotAffected),
				status(deb("CVE-3", "c", "1", "2", model.SeverityHigh), model.StatusExempt), deb("CVE-4", "d", "1", "2", model.SeverityLow)},
			[]string{"d 1->2 [CVE-4] 1"}},
		{"the same advisory twice on one package counts once",
			[]model.Finding{deb("CVE-1", "a", "1", "2", model.SeverityHigh), deb("CVE-1", "a", "1", "2", model.SeverityHigh)},
			[]string{"a 1->2 [CVE-1] 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Upgrades(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("%d upgrades %+v, want %d", len(got), got, len(tc.want))
			}
			for i, u := range got {
				if s := fmt.Sprintf("%s %s->%s %v %d", u.Package, u.From, u.To, u.Fixes, u.Cumulative); s != tc.want[i] {
					t.Errorf("upgrade %d: %s, want %s", i, s, tc.want[i])
				}
			}
		})
	}
}
