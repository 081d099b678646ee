package report

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestFindingRowMarks: KEV and EPSS are shown beside the id.
func TestFindingRowMarks(t *testing.T) {
	for _, c := range []struct {
		f    model.Finding
		want string
	}{
		{model.Finding{ID: "CVE-1"}, "CVE-1"},
		{model.Finding{ID: "CVE-2", KnownExploited: true}, "CVE-2 (KEV)"},
		{model.Finding{ID: "CVE-3", KnownExploited: true, EPSS: &model.EPSS{Score: 0.94358}}, "CVE-3 (KEV, EPSS 94.4%)"},
		{model.Finding{ID: "CVE-4", EPSS: &model.EPSS{Score: 0.0004}}, "CVE-4 (EPSS 0.0%)"},
	} {
		if got := findingRow(c.f)[0]; got != c.want {
			t.Errorf("%s: %q, want %q", c.f.ID, got, c.want)
		}
	}
}

// TestCycloneDXEPSS: the EPSS score travels as a bulwark property.
func TestCycloneDXEPSS(t *testing.T) {
	f := model.Finding{ID: "CVE-1", Status: model.StatusFixed, EPSS: &model.EPSS{Score: 0.42, Percentile: 0.97},
		Package: model.Package{Name: "a", Version: "1", Type: model.TypeDeb}, InstalledVersion: "1"}
	vs := cdxVulnerabilities(&model.Report{Findings: []model.Finding{f}}, map[string]string{})
	if len(vs) != 1 || vs[0].Properties == nil {
		t.Fatalf("vulnerabilities %+v", vs)
	}
	got := map[string]string{}
	for _, p := range *vs[0].Properties {
		got[p.Name] = p.Value
	}
	if got[PropEPSS] != "0.42" || got[PropEPSSPct] != "0.97" {
		t.Errorf("properties %v", got)
	}
}
