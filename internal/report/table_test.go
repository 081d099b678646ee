package report

import (
	"bufio"
	"strings"
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

// TestAdvisoryURL: the reference naming the id, else the id's database,
// else the first reference, else none.
func TestAdvisoryURL(t *testing.T) {
	for _, c := range []struct {
		f    model.Finding
		want string
	}{
		{model.Finding{ID: "CVE-2024-1", References: []string{"https://example.org/x", "https://security-tracker.debian.org/tracker/CVE-2024-1"}},
			"https://security-tracker.debian.org/tracker/CVE-2024-1"},
		{model.Finding{ID: "CVE-2024-2", References: []string{"https://example.org/x"}}, "https://nvd.nist.gov/vuln/detail/CVE-2024-2"},
		{model.Finding{ID: "GHSA-aaaa-bbbb-cccc"}, "https://github.com/advisories/GHSA-aaaa-bbbb-cccc"},
		{model.Finding{ID: "ALSA-2024:1", References: []string{"https://errata.almalinux.org/9/ALSA-2024-1.html"}}, "https://errata.almalinux.org/9/ALSA-2024-1.html"},
		{model.Finding{ID: "TEMP-0001"}, ""},
	} {
		if got := advisoryURL(c.f); got != c.want {
			t.Errorf("%s: %q, want %q", c.f.ID, got, c.want)
		}
	}
}

// TestTableFixFirst: known exploited first, then severity, then EPSS; one
// line per remediation; suppressed and unknown-severity findings left out;
// at most fixFirstMax lines.
func TestTableFixFirst(t *testing.T) {
	fs := []model.Finding{
		{ID: "CVE-LOW", Severity: model.SeverityLow, Status: model.StatusFixed, Remediation: "Upgrade c"},
		{ID: "CVE-HIGH-EPSS", Severity: model.SeverityHigh, Status: model.StatusFixed, Remediation: "Upgrade b", EPSS: &model.EPSS{Score: 0.5}},
		{ID: "CVE-HIGH", Severity: model.SeverityHigh, Status: model.StatusFixed, Remediation: "Upgrade a"},
		{ID: "CVE-KEV", Severity: model.SeverityMedium, Status: model.StatusAffected, KnownExploited: true, Remediation: "Remove d"},
		{ID: "CVE-CRIT", Severity: model.SeverityCritical, Status: model.StatusFixed, Remediation: "Upgrade a"},
		{ID: "CVE-VEX", Severity: model.SeverityCritical, Status: model.StatusNotAffected, Remediation: "Upgrade e"},
		{ID: "CVE-UNK", Severity: model.SeverityUnknown, Status: model.StatusAffected, Remediation: "Upgrade f"},
		{ID: "CVE-M1", Severity: model.SeverityMedium, Status: model.StatusFixed, Remediation: "Upgrade g"},
		{ID: "CVE-M2", Severity: model.SeverityMedium, Status: model.StatusFixed, Remediation: "Upgrade h"},
	}
	var b strings.Builder
	tp := &tablePrinter{w: bufio.NewWriter(&b), width: 100}
	tp.fixFirst(&model.Report{Findings: fs})
	tp.w.Flush()
	want := `Fix first:
  Remove d
    for CVE-KEV (medium, KEV)
  Upgrade a
    for CVE-CRIT (critical), CVE-HIGH (high)
  Upgrade b
    for CVE-HIGH-EPSS (high)
  Upgrade g
    for CVE-M1 (medium)
  Upgrade h
    for CVE-M2 (medium)

`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
