package nodesec

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const npmDocWithCVE = `{
  "id": 1, "created_at": "2015-10-17", "updated_at": "2016-04-28",
  "title": "Arbitrary JavaScript Execution", "module_name": "bassmaster", "publish_date": "2014-09-27",
  "cves": ["CVE-2014-7205", "CVE-2014-7206"],
  "vulnerable_versions": "<=1.5.1", "patched_versions": ">=1.5.2",
  "overview": "eval of input", "references": ["https://example.org"],
  "cvss_vector": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "cvss_score": 6.5
}`

const npmDocNoCVE = `{"id": 42, "title": "ReDoS", "module_name": "ms", "cves": [],
  "vulnerable_versions": "<0.7.1", "patched_versions": null, "cvss_vector": null, "cvss_score": null, "references": null}`

const coreDoc = `{"cve": ["CVE-2024-27980"], "vulnerable": "18.x || 20.x", "patched": "^18.20.2 || ^20.12.2",
  "overview": "Command injection", "affectedEnvironments": ["win32"], "severity": "high"}`

const indexDoc = `{"1":{"id":1,"module_name":"bassmaster","vulnerable_versions":"<=1.5.1"}}`

func TestLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, in    string
		id          string
		aliases     []string
		pkg         string
		constraints []string
		status      advisory.AffectedStatus
		note        string
		cvss        []model.CVSS
		sev         model.Severity
	}{
		{"cves", npmDocWithCVE, "CVE-2014-7205", []string{"CVE-2014-7206", "NSWG-ECO-1"}, "bassmaster", []string{"<=1.5.1"}, "", "patched versions: >=1.5.2",
			[]model.CVSS{{Version: "3.0", Vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", Score: 6.5, Source: Source}}, model.SeverityMedium},
		{"no cve", npmDocNoCVE, "NSWG-ECO-42", nil, "ms", []string{"<0.7.1"}, advisory.AffectedUnfixed, "no patched version", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NPM()
			if !l.Detect("vuln/npm/1.json", []byte(tt.in)) {
				t.Fatal("Detect rejected")
			}
			m := advisory.NewMemory()
			if n, err := l.Load(ctx, "vuln/npm/1.json", strings.NewReader(tt.in), m); err != nil || n != 1 {
				t.Fatalf("Load = %d, %v", n, err)
			}
			v, ok, _ := m.Vulnerability(ctx, tt.id)
			if !ok || !reflect.DeepEqual(v.Aliases, tt.aliases) || !reflect.DeepEqual(v.CVSS, tt.cvss) || v.Severity != tt.sev || v.Summary == "" {
				t.Errorf("vuln = %+v", v)
			}
			as, _ := m.Affected(ctx, advisory.EcoNPM, tt.pkg)
			if len(as) != 1 || !reflect.DeepEqual(as[0].AffectedConstraints, tt.constraints) || as[0].Status != tt.status || as[0].Note != tt.note {
				t.Errorf("affected = %+v", as)
			}
		})
	}
}

func TestSkips(t *testing.T) {
	l := NPM()
	for _, in := range []string{coreDoc, indexDoc} {
		if !l.Detect("nodejs-security-wg/vuln/core/150.json", []byte(in)) {
			t.Errorf("Detect rejected %.30s", in)
		}
		m := advisory.NewMemory()
		if n, err := l.Load(context.Background(), "vuln/core/150.json", strings.NewReader(in), m); err != nil || n != 0 || len(m.IDs()) != 0 {
			t.Errorf("Load = %d, %v", n, err)
		}
	}
	s := l.(Skipper)
	if s.Skipped() != 2 || s.SkippedCore() != 1 {
		t.Errorf("skipped %d, core %d", s.Skipped(), s.SkippedCore())
	}
}

func TestErrorsAndDetect(t *testing.T) {
	for _, in := range []string{`{"module_name":"x","vulnerable_versions":"<1"}`, `{"id":1,"module_name":"x"}`, `{"id":1`, `{"id":"abc","module_name":"x","vulnerable_versions":"<1"}`, `{"title":"x"}`} {
		if _, err := NPM().Load(context.Background(), "f.json", strings.NewReader(in), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%s) gave no error", in)
		}
	}
	for _, in := range []string{
		`{"schema_version":"1.4.0","id":"GHSA-1","affected":[{"package":{"name":"x","ecosystem":"npm"}}],"database_specific":{"module_name":1,"vulnerable_versions":2}}`,
		`{"1":{"x":1}}`, "gem: x\n", `{"releases": {}}`,
	} {
		if NPM().Detect("osv/x.json", []byte(in)) {
			t.Errorf("Detect claimed %.40s", in)
		}
	}
}

func TestCVSSVersion(t *testing.T) {
	for in, want := range map[string]string{"CVSS:3.1/AV:N": "3.1", "AV:N/AC:L/Au:N": "2.0", "": ""} {
		if got := cvssVersion(in); got != want {
			t.Errorf("cvssVersion(%q) = %q", in, got)
		}
	}
}
