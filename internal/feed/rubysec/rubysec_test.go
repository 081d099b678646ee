package rubysec

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

const gemDoc = `---
gem: actionpack
framework: rails
cve: 2016-0751
ghsa: ffpv-c4hm-3x6v
url: https://groups.google.com/forum/#!topic/rubyonrails-security/9oLY_FCzvoc
title: Possible Object Leak and Denial of Service attack in Action Pack
date: 2016-01-25
description: |
  There is a possible object leak.
cvss_v3: 7.5
patched_versions:
  - "~> 3.2.22.1"
  - "~> 4.1.14, >= 4.1.14.1"
unaffected_versions:
  - "< 3.0.0"
related:
  url:
    - https://example.org/a
`

const osvdbDoc = `gem: rack
osvdb: 12345
title: old one
date: 2010-01-02
cvss_v2: 5.0
patched_versions:
  - ">= 1.1.0"
`

const noIDDoc = `gem: foo
url: https://x
title: no ids
`

const rubyDoc = `engine: ruby
cve: 2005-1992
url: https://nvd.nist.gov/vuln/detail/CVE-2005-1992
title: Ruby XML-RPC
patched_versions:
  - ">= 1.8.2-r2"
`

func TestLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, file, in string
		records        int
		id             string
		aliases        []string
		constraints    []string
		status         advisory.AffectedStatus
		cvss           []model.CVSS
		sev            model.Severity
	}{
		{"cve and ghsa", "gems/actionpack/CVE-2016-0751.yml", gemDoc, 1, "CVE-2016-0751", []string{"GHSA-ffpv-c4hm-3x6v"},
			[]string{"~> 3.2.22.1", "~> 4.1.14, >= 4.1.14.1", "< 3.0.0"}, "", []model.CVSS{{Version: "3.x", Score: 7.5, Source: Source}}, model.SeverityHigh},
		{"osvdb only", "gems/rack/OSVDB-12345.yml", osvdbDoc, 1, "OSVDB-12345", nil, []string{">= 1.1.0"}, "",
			[]model.CVSS{{Version: "2.0", Score: 5, Source: Source}}, model.SeverityMedium},
		{"file id", "x.tar.gz!gems/foo/RUBYSEC-1.yml", noIDDoc, 1, "RUBYSEC-1", nil, nil, advisory.AffectedUnfixed, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Advisories()
			if !l.Detect(tt.file, []byte(tt.in)) {
				t.Fatal("Detect rejected")
			}
			m := advisory.NewMemory()
			n, err := l.Load(ctx, tt.file, strings.NewReader(tt.in), m)
			if err != nil || n != tt.records {
				t.Fatalf("Load = %d, %v", n, err)
			}
			v, ok, _ := m.Vulnerability(ctx, tt.id)
			if !ok || !reflect.DeepEqual(v.Aliases, tt.aliases) || !reflect.DeepEqual(v.CVSS, tt.cvss) || v.Severity != tt.sev || v.Summary == "" {
				t.Errorf("vuln = %+v", v)
			}
			as, _ := m.Affected(ctx, advisory.EcoRubyGems, strings.Split(tt.file, "/")[1])
			if len(as) != 1 || !reflect.DeepEqual(as[0].UnaffectedConstraints, tt.constraints) || as[0].Status != tt.status || as[0].VulnID != tt.id {
				t.Errorf("affected = %+v", as)
			}
		})
	}
}

func TestRubiesSkipped(t *testing.T) {
	l := Advisories()
	if !l.Detect("rubies/ruby/CVE-2005-1992.yml", []byte(rubyDoc)) {
		t.Fatal("Detect rejected a rubies advisory")
	}
	m := advisory.NewMemory()
	n, err := l.Load(context.Background(), "rubies/ruby/CVE-2005-1992.yml", strings.NewReader(rubyDoc), m)
	if err != nil || n != 0 || len(m.IDs()) != 0 {
		t.Errorf("Load = %d, %v, ids %v", n, err, m.IDs())
	}
	if got := l.(Skipper).Skipped(); got != 1 {
		t.Errorf("Skipped = %d", got)
	}
}

func TestErrorsAndDetect(t *testing.T) {
	for _, in := range []string{"title: x\n", "gem: [\n", "gem: a\ncvss_v3: high\n"} {
		if _, err := Advisories().Load(context.Background(), "f.yml", strings.NewReader(in), advisory.NewMemory()); err == nil {
			t.Errorf("Load(%q) gave no error", in)
		}
	}
	for _, in := range []string{`{"gem":"x","cve":"1"}`, "id: PYSEC-1\nschema_version: 1.0\naffected:\n- package: {name: gem}\n", "title: x\nlink: y\ncve: CVE-1\nbranches: {}\n"} {
		if Advisories().Detect("f", []byte(in)) {
			t.Errorf("Detect claimed %q", in)
		}
	}
}
