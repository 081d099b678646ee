package alpine

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

const yamlDoc = `---
distroversion: v3.11
reponame: main
archs:
  - x86_64
urlprefix: http://dl-cdn.alpinelinux.org/alpine
packages:
  - pkg:
      name: xen
      secfixes:
        4.7.0-r0:
          - CVE-2016-6258 XSA-182
        1.2:
          - CVE-2020-0001
  - pkg:
      name: zlib
      secfixes:
        "0":
          - CVE-2023-45853
        1.2.11-r4:
  - pkg:
      name: nofixes
`

const vulnListDoc = `{
  "name": "openssl",
  "secfixes": {"3.1.1-r0": ["CVE-2023-2650"], "0": ["CVE-2022-1234"]},
  "apkurl": "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
  "reponame": "main",
  "distroversion": "3.18.2"
}`

func get(t *testing.T, m *advisory.Memory, eco, pkg, id string) (advisory.Affected, bool) {
	t.Helper()
	as, _ := m.Affected(context.Background(), eco, pkg)
	for _, a := range as {
		if a.VulnID == id {
			return a, true
		}
	}
	return advisory.Affected{}, false
}

func fixed(a advisory.Affected) string {
	for _, r := range a.Ranges {
		for _, e := range r.Events {
			if e.Fixed != "" {
				return e.Fixed
			}
		}
	}
	return ""
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, input string
		records     int
		eco, pkg    string
		id          string
		fixed       string
		status      advisory.AffectedStatus
		aliases     []string
	}{
		{"yaml xen", yamlDoc, 3, "Alpine:v3.11", "xen", "CVE-2016-6258", "4.7.0-r0", "", []string{"XSA-182"}},
		{"yaml float key", yamlDoc, 3, "Alpine:v3.11", "xen", "CVE-2020-0001", "1.2", "", nil},
		{"yaml zero", yamlDoc, 3, "Alpine:v3.11", "zlib", "CVE-2023-45853", "", advisory.AffectedNot, nil},
		{"vuln-list", vulnListDoc, 2, "Alpine:v3.18", "openssl", "CVE-2023-2650", "3.1.1-r0", "", nil},
		{"vuln-list zero", vulnListDoc, 2, "Alpine:v3.18", "openssl", "CVE-2022-1234", "", advisory.AffectedNot, nil},
		{"json secdb", `{"distroversion":"v3.20","reponame":"main","packages":[{"pkg":{"name":"curl","secfixes":{"8.9.0-r0":["CVE-2024-6197"]}}}]}`,
			1, "Alpine:v3.20", "curl", "CVE-2024-6197", "8.9.0-r0", "", nil},
	}
	l := SecDB()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !l.Detect("main.yaml", []byte(tt.input)) {
				t.Fatal("Detect rejected")
			}
			m := advisory.NewMemory()
			n, err := l.Load(ctx, "x", strings.NewReader(tt.input), m)
			if err != nil || n != tt.records {
				t.Fatalf("Load = %d, %v; want %d", n, err, tt.records)
			}
			a, ok := get(t, m, tt.eco, tt.pkg, tt.id)
			if !ok || fixed(a) != tt.fixed || a.Status != tt.status || a.Source != Source {
				t.Errorf("affected = %+v (found %v)", a, ok)
			}
			v, _, _ := m.Vulnerability(ctx, tt.id)
			if !reflect.DeepEqual(v.Aliases, tt.aliases) {
				t.Errorf("aliases = %v, want %v", v.Aliases, tt.aliases)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, in := range []string{`{"name":"x","secfixes":{"1":["CVE-1"]}}`, `{"name":`, "distroversion: [\n", `{"distroversion":"v3.1","packages":[{"pkg":{"name":"a","secfixes":{"1":{"x":1}}}}]}`} {
		if _, err := SecDB().Load(context.Background(), "f.json", strings.NewReader(in), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%q) gave no error", in)
		}
	}
	// The release comes from the path when the file lacks it.
	m := advisory.NewMemory()
	if _, err := SecDB().Load(context.Background(), "vuln-list/alpine/3.19/main/x.json", strings.NewReader(`{"name":"x","secfixes":{"1-r0":["CVE-2024-1"]}}`), m); err != nil {
		t.Fatal(err)
	}
	if _, ok := get(t, m, "Alpine:v3.19", "x", "CVE-2024-1"); !ok {
		t.Error("release not taken from the path")
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{yamlDoc, true},
		{vulnListDoc, true},
		{`{"schema_version":"1.6.0","id":"ALPINE-CVE-1","affected":[{"package":{"ecosystem":"Alpine:v3.18"}}],"database_specific":{"secfixes":1,"distroversion":2}}`, false},
		{`{"id":"GHSA-x","affected":[]}`, false},
		{"gem: rails\ncve: 2020-1\n", false},
	}
	for _, tt := range tests {
		if got := SecDB().Detect("f", []byte(tt.in)); got != tt.want {
			t.Errorf("Detect(%.40q) = %v", tt.in, got)
		}
	}
}

func TestNormaliseRelease(t *testing.T) {
	for in, want := range map[string]string{"v3.18": "v3.18", "3.18": "v3.18", "v3.18.4": "v3.18", "edge": "edge", "x": ""} {
		if got := normaliseRelease(in); got != want {
			t.Errorf("normaliseRelease(%q) = %q, want %q", in, got, want)
		}
	}
}
