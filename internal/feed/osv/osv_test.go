package osv

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const ghsaJSON = `{
  "schema_version": "1.3.0",
  "id": "GHSA-aaaa-bbbb-cccc",
  "modified": "2022-03-25T20:56:18Z",
  "published": "2021-12-10T00:40:56Z",
  "aliases": ["CVE-2021-0001"],
  "related": ["CVE-2099-0001"],
  "summary": "Remote code injection",
  "details": "` + "xxxxxxxxxx" + `",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
  "affected": [
    {"package": {"ecosystem": "Maven", "name": "org.example:core"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.15.0"}]}]},
    {"package": {"ecosystem": "Maven", "name": "org.example:core"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"last_affected": "2.13.3"}]}],
     "versions": ["2.13.0", "2.13.1"]}
  ],
  "references": [{"type": "WEB", "url": "https://example.org/1"}],
  "database_specific": {"severity": "MODERATE", "github_reviewed": true}
}`

const pysecYAML = `id: PYSEC-2021-9
details: In Django 2.2 before 2.2.18 something.
affected:
- package:
    name: django
    ecosystem: PyPI
    purl: pkg:pypi/django
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: '2.2'
    - fixed: 2.2.18
  - type: GIT
    repo: https://github.com/django/django
    events:
    - introduced: "0"
    - fixed: 05413afa8c18cdb978fcdf470e09f7a12b234a23
  versions:
  - '2.2'
  - 2.2.1
  - 3.0
aliases:
- CVE-2021-3281
modified: 2021-02-02T04:15:00.000Z
published: 2021-02-01T00:15:00Z
references:
- type: ADVISORY
  url: https://docs.djangoproject.com/en/3.1/releases/security/
`

const arrayJSON = `[
 {"id": "GO-2022-0001", "modified": "2022-01-01T00:00:00Z", "aliases": ["CVE-2022-1", "GHSA-xxxx-yyyy-zzzz"],
  "affected": [{"package": {"ecosystem": "Go", "name": "stdlib"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.17.6"}]}]}]},
 {"id": "PSF-2024-1", "modified": "2024-01-01T00:00:00Z",
  "affected": [{"ranges": [{"type": "GIT", "repo": "https://github.com/python/cpython", "events": [{"introduced": "0"}, {"fixed": "81c16cd9"}]}]}]},
 {"id": "GO-2022-0002", "modified": "2022-01-01T00:00:00Z", "withdrawn": "2022-02-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "Go", "name": "example.com/x"}}]},
 {"id": "CVE-2023-2431", "modified": "2023-06-15T14:42:32Z",
  "affected": [{"package": {"ecosystem": "kubernetes", "name": "k8s.io/kubelet"},
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:N"}],
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.24.14"}]}]}]},
 {"id": "DSA-5000-1", "modified": "2023-06-15T14:42:32Z",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"}, "ecosystem_specific": {"severity": "high"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}]}
]`

func load(t *testing.T, name, data string) (*advisory.Memory, int, feed.Loader) {
	t.Helper()
	l := Loader()
	m := advisory.NewMemory()
	if !l.Detect(name, []byte(data)) {
		t.Fatalf("Detect(%s) = false", name)
	}
	n, err := l.Load(context.Background(), name, strings.NewReader(data), m)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return m, n, l
}

func TestLoadGHSA(t *testing.T) {
	m, n, _ := load(t, "GHSA-aaaa-bbbb-cccc.json", ghsaJSON)
	if n != 1 {
		t.Fatalf("records = %d, want 1", n)
	}
	v, ok, _ := m.Vulnerability(context.Background(), "GHSA-aaaa-bbbb-cccc")
	if !ok {
		t.Fatal("vulnerability missing")
	}
	if v.Source != "osv:ghsa" || v.Severity != model.SeverityMedium || v.SeveritySource != "ghsa" {
		t.Errorf("source/severity = %q %q %q", v.Source, v.Severity, v.SeveritySource)
	}
	if len(v.Aliases) != 1 || v.Aliases[0] != "CVE-2021-0001" {
		t.Errorf("aliases = %v (related must not be included)", v.Aliases)
	}
	if len(v.CVSS) != 1 || v.CVSS[0].Score != 10 || v.CVSS[0].Version != "3.1" {
		t.Errorf("cvss = %+v", v.CVSS)
	}
	if v.Published.Year() != 2021 || v.Modified.Year() != 2022 {
		t.Errorf("times = %v %v", v.Published, v.Modified)
	}
	as, _ := m.Affected(context.Background(), "Maven", "org.example:core")
	if len(as) != 2 {
		t.Fatalf("affected = %d, want 2", len(as))
	}
	if as[0].Ranges[0].Type != advisory.RangeEcosystem || as[0].Ranges[0].Events[1].Fixed != "2.15.0" {
		t.Errorf("range = %+v", as[0].Ranges)
	}
	if as[1].Ranges[0].Events[1].LastAffected != "2.13.3" || len(as[1].Versions) != 2 {
		t.Errorf("second affected = %+v", as[1])
	}
}

func TestLoadYAML(t *testing.T) {
	m, n, _ := load(t, "vulns/django/PYSEC-2021-9.yaml", pysecYAML)
	if n != 1 {
		t.Fatalf("records = %d", n)
	}
	v, ok, _ := m.Vulnerability(context.Background(), "PYSEC-2021-9")
	if !ok || v.Source != "osv:pysec" || v.Aliases[0] != "CVE-2021-3281" {
		t.Fatalf("vuln = %+v", v)
	}
	if v.Modified.IsZero() || v.Published.IsZero() {
		t.Errorf("times not parsed: %v %v", v.Modified, v.Published)
	}
	as, _ := m.Affected(context.Background(), "PyPI", "django")
	if len(as) != 1 {
		t.Fatalf("affected = %d", len(as))
	}
	a := as[0]
	if len(a.Ranges) != 2 || a.Ranges[1].Type != advisory.RangeGit {
		t.Errorf("ranges = %+v", a.Ranges)
	}
	if got := strings.Join(a.Versions, ","); got != "2.2,2.2.1,3.0" {
		t.Errorf("versions = %s", got)
	}
}

func TestLoadArray(t *testing.T) {
	m, n, l := load(t, "all.json", arrayJSON)
	if n != 4 {
		t.Fatalf("records = %d, want 4 (withdrawn skipped)", n)
	}
	if _, ok, _ := m.Vulnerability(context.Background(), "GO-2022-0002"); ok {
		t.Error("withdrawn advisory loaded")
	}
	if v, ok, _ := m.Vulnerability(context.Background(), "PSF-2024-1"); !ok || v.Source != "osv:psf" {
		t.Errorf("package-less advisory: %+v %v", v, ok)
	}
	tal := l.(interface{ Tallies() map[string]int }).Tallies()
	if tal[TallyNoPackage] != 1 || tal[TallyWithdrawn] != 1 {
		t.Errorf("tallies = %v", tal)
	}
	k, _ := m.Affected(context.Background(), "kubernetes", "k8s.io/kubelet")
	if len(k) != 1 || k[0].Severity != model.SeverityLow || k[0].Source != "osv:kubernetes" {
		t.Errorf("k8s affected = %+v", k)
	}
	if v, _, _ := m.Vulnerability(context.Background(), "CVE-2023-2431"); len(v.CVSS) != 1 {
		t.Errorf("k8s CVSS not lifted to the vulnerability: %+v", v.CVSS)
	}
	d, _ := m.Affected(context.Background(), "Debian:12", "openssl")
	if len(d) != 1 || d[0].Severity != model.SeverityHigh {
		t.Errorf("debian affected = %+v", d)
	}
	g, _ := m.Affected(context.Background(), "Go", "stdlib")
	if len(g) != 1 || g[0].Ranges[0].Type != advisory.RangeSemver {
		t.Errorf("go affected = %+v", g)
	}
}

func TestDetails(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	data := `{"id":"GO-1-2","modified":"2020-01-01T00:00:00Z","details":"` + long + `"}`
	m, _, _ := load(t, "x.json", data)
	v, _, _ := m.Vulnerability(context.Background(), "GO-1-2")
	if len(v.Details) > maxDetails+len("…") || !strings.HasSuffix(v.Details, "…") {
		t.Errorf("details not trimmed: %d bytes", len(v.Details))
	}
	if !strings.HasPrefix(v.Details, "éé") || strings.ContainsRune(v.Details, '\uFFFD') {
		t.Error("details cut inside a rune")
	}
}

func TestDetect(t *testing.T) {
	l := Loader()
	tests := []struct {
		name, head string
		want       bool
	}{
		{"a.json", ghsaJSON, true},
		{"a.json", arrayJSON, true},
		{"PYSEC-1.yaml", pysecYAML, true},
		{"PYSEC-1.txt", pysecYAML, false},
		{"nvd.json", `{"CVE_data_type":"CVE","CVE_Items":[{"cve":{"id":"CVE-1-2"}}], "modified": 1}`, false},
		{"kev.json", `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-1-2"}]}`, false},
		{"npm.json", `{"id": 12, "module_name": "x", "modified": 1}`, false},
		{"rubysec.yml", "gem: rails\ncve: 2020-1\nid: X\n", false},
		{"schema.json", `{"$schema":"http://json-schema.org/draft-07/schema#","id":"x"}`, false},
		{"empty.json", ``, false},
	}
	for _, tt := range tests {
		if got := l.Detect(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%s, %.40q) = %v, want %v", tt.name, tt.head, got, tt.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"trunc.json", `{"id": "GO-1-1", "affected": [`},
		{"noid.json", `{"modified": "2020-01-01T00:00:00Z"}`},
		{"badarray.json", `[{"id": "GO-1-1"}, 17]`},
		{"bad.yaml", "id: [\n"},
		{"empty.json", "   "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Loader().Load(context.Background(), tt.name, strings.NewReader(tt.data), advisory.NewMemory())
			if err == nil {
				t.Errorf("Load(%s) succeeded, want error", tt.name)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{ghsaJSON, pysecYAML, arrayJSON, `{"id":"A-1"}`, "id: A-1\naffected:\n- package: {name: x}\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		l := Loader()
		_ = l.Detect("f.json", []byte(data))
		m := advisory.NewMemory()
		n, err := l.Load(context.Background(), "f.json", strings.NewReader(data), m)
		if err == nil && len(m.IDs()) > n {
			t.Fatalf("records %d < stored %d", n, len(m.IDs()))
		}
	})
}
