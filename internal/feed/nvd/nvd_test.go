package nvd

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

const legacy = `{
  "CVE_data_type" : "CVE", "CVE_data_numberOfCVEs" : "2",
  "CVE_Items" : [ {
    "cve": {"CVE_data_meta": {"ID": "CVE-2022-0090"},
      "references": {"reference_data": [{"url": "https://example.org/a"}, {"url": "https://example.org/a"}]},
      "description": {"description_data": [{"lang": "en", "value": "An   issue\n in GitLab."}]}},
    "configurations": {"nodes": [{"cpe_match": [{"cpe23Uri": "cpe:2.3:a:gitlab:gitlab:*:*:*:*:*:*:*:*"}]}]},
    "impact": {
      "baseMetricV3": {"cvssV3": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:H/A:N", "baseScore": 6.5}},
      "baseMetricV2": {"cvssV2": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:S/C:N/I:P/A:N", "baseScore": 4.0}}},
    "publishedDate": "2022-01-18T16:15Z", "lastModifiedDate": "2022-01-28T14:44Z"
  }, {"cve": {"CVE_data_meta": {"ID": ""}}} ]
}`

const api = `{"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
 "vulnerabilities": [{"cve": {"id": "CVE-2023-27314", "published": "2023-10-12T19:15:11.747", "lastModified": "2023-10-18T18:00:24.900",
   "descriptions": [{"lang": "es", "value": "Las versiones"}, {"lang": "en", "value": "ONTAP 9 crash."}],
   "metrics": {
     "cvssMetricV40": [{"type": "Secondary", "cvssData": {"version": "4.0", "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "baseScore": 9.3}}],
     "cvssMetricV31": [{"type": "Primary", "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "baseScore": 7.5}},
                       {"type": "Secondary", "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "baseScore": 7.5}}],
     "cvssMetricV2": [{"type": "Primary", "cvssData": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:N/I:N/A:P", "baseScore": 5.0}}]},
   "references": [{"url": "https://security.netapp.com/advisory/ntap-1"}]}}]}`

func TestLoad(t *testing.T) {
	tests := []struct {
		name, data, id, summary string
		n                       int
		versions                string
		year                    int
	}{
		{"legacy", legacy, "CVE-2022-0090", "An issue in GitLab.", 1, "3.1,2.0", 2022},
		{"api", api, "CVE-2023-27314", "ONTAP 9 crash.", 1, "4.0,3.1,2.0", 2023},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Loader()
			if !l.Detect(tt.name+".json", []byte(tt.data)) {
				t.Fatal("not detected")
			}
			m := advisory.NewMemory()
			n, err := l.Load(context.Background(), tt.name, strings.NewReader(tt.data), m)
			if err != nil || n != tt.n {
				t.Fatalf("Load = %d, %v; want %d", n, err, tt.n)
			}
			v, ok, _ := m.Vulnerability(context.Background(), tt.id)
			if !ok {
				t.Fatal("record missing")
			}
			if v.Summary != tt.summary || v.Source != "nvd" || v.Published.Year() != tt.year || v.Modified.Before(v.Published) {
				t.Errorf("record = %+v", v)
			}
			var vs []string
			for _, c := range v.CVSS {
				vs = append(vs, c.Version)
				if c.Source != "nvd" || c.Score == 0 {
					t.Errorf("cvss = %+v", c)
				}
			}
			if strings.Join(vs, ",") != tt.versions {
				t.Errorf("cvss versions = %v, want %s", vs, tt.versions)
			}
			if len(v.References) != 1 {
				t.Errorf("references = %v", v.References)
			}
			if c := m.Counts(); len(c) != 0 {
				t.Errorf("NVD must not produce affected entries: %v", c)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	l := Loader()
	for _, tt := range []struct {
		head string
		want bool
	}{
		{legacy, true}, {api, true},
		{`{"catalogVersion": "1", "vulnerabilities": []}`, false},
		{`{"$schema": "x", "CVE_Items": {}}`, false},
		{`{"id": "GO-1", "affected": []}`, false},
		{`[]`, false},
	} {
		if got := l.Detect("x.json", []byte(tt.head)); got != tt.want {
			t.Errorf("Detect(%.30q) = %v", tt.head, got)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, data := range []string{``, `[]`, `{"CVE_Items": {}}`, `{"CVE_Items": [{"cve": 5}]}`, `{"vulnerabilities": [` + "\n"} {
		if _, err := Loader().Load(context.Background(), "x", strings.NewReader(data), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%q): no error", data)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(legacy)
	f.Add(api)
	f.Fuzz(func(t *testing.T, data string) {
		m := advisory.NewMemory()
		n, _ := Loader().Load(context.Background(), "f", strings.NewReader(data), m)
		if len(m.IDs()) > n {
			t.Fatalf("stored %d > reported %d", len(m.IDs()), n)
		}
	})
}
