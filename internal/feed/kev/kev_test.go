package kev

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

const catalog = `{
  "title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2025.08.25", "count": 3,
  "vulnerabilities": [
    {"cveID": "CVE-2025-48384", "vendorProject": "Git", "dateAdded": "2025-08-25", "cwes": ["CWE-59"], "notes": ""},
    {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "dateAdded": "2021-12-10"},
    {"cveID": "", "dateAdded": "2021-12-10"}
  ]
}`

func TestLoad(t *testing.T) {
	l := Loader()
	if !l.Detect("kev.json", []byte(catalog)) {
		t.Fatal("not detected")
	}
	m := advisory.NewMemory()
	// The full record from another feed is merged with the KEV flag.
	m.PutVulnerability(context.Background(), advisory.Vulnerability{ID: "CVE-2021-44228", Summary: "log4shell", Source: "nvd"})
	n, err := l.Load(context.Background(), "kev.json", strings.NewReader(catalog), m)
	if err != nil || n != 2 {
		t.Fatalf("Load = %d, %v", n, err)
	}
	v, _, _ := m.Vulnerability(context.Background(), "CVE-2021-44228")
	if !v.KnownExploited || v.KEVDateAdded != "2021-12-10" || v.Summary != "log4shell" || v.Source != "nvd,kev" {
		t.Errorf("merged = %+v", v)
	}
	v, _, _ = m.Vulnerability(context.Background(), "CVE-2025-48384")
	if !v.KnownExploited || v.KEVDateAdded != "2025-08-25" || v.Source != "kev" {
		t.Errorf("partial = %+v", v)
	}
}

func TestDetect(t *testing.T) {
	l := Loader()
	for _, tt := range []struct {
		head string
		want bool
	}{
		{catalog, true},
		{`{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"catalogVersion": {}, "vulnerabilities": {}}}`, false},
		{`{"resultsPerPage": 1, "vulnerabilities": []}`, false},
		{`catalogVersion vulnerabilities`, false},
	} {
		if got := l.Detect("x.json", []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%.30q) = %v", tt.head, got)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, data := range []string{``, `[]`, `{"vulnerabilities": {}}`, `{"vulnerabilities": [{"cveID": 5}]}`, `{"vulnerabilities": [`} {
		if _, err := Loader().Load(context.Background(), "x", strings.NewReader(data), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%q): no error", data)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(catalog)
	f.Fuzz(func(t *testing.T, data string) {
		m := advisory.NewMemory()
		n, _ := Loader().Load(context.Background(), "f", strings.NewReader(data), m)
		if len(m.IDs()) > n {
			t.Fatalf("stored %d > reported %d", len(m.IDs()), n)
		}
	})
}
