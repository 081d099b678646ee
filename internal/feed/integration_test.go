package feed_test

import (
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/kev"
	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
	"github.com/bulwarkdev/bulwark/internal/feed/osv"
)

const vulndata = "../../../shared/vulndata"

func importShared(t *testing.T, rel string) (*advisory.Memory, feed.Stats) {
	t.Helper()
	p := filepath.Join(vulndata, rel)
	if _, err := os.Stat(p); err != nil {
		testenv.Skipf(t, "needs ../shared/vulndata (%s): %v", rel, err)
	}
	m := advisory.NewMemory()
	st, err := feed.Import(context.Background(), p, []feed.Loader{osv.Loader(), nvd.Loader(), kev.Loader()}, m, nil)
	if err != nil {
		t.Fatalf("Import %s: %v", rel, err)
	}
	if len(st.Failed) != 0 {
		t.Errorf("%s: %d failed, first: %+v", rel, len(st.Failed), st.Failed[0])
	}
	return m, st
}

func TestImportShared(t *testing.T) {
	tests := []struct {
		rel, loader string
		records     int
		eco         string
		minAffected int
	}{
		{"osv/go-vulndb-osv.tar.gz", "osv", 4291, "Go", 4270},
		{"osv/rustsec-crates-osv.tar.gz", "osv", 1206, "crates.io", 1180},
		{"osv/pypa-pysec-osv-yaml.tar.gz", "osv", 2661, "PyPI", 2640},
		{"osv/psf-cpython-osv.tar.gz", "osv", 132, "", 0},
		{"osv/ghsa-sample", "osv", 11, "Maven", 3},
		{"k8s/k8s-cve-feed-osv.tar.gz", "osv", 47, "kubernetes", 47},
		{"nvd", "nvd", 669 + 38, "", 0},
		{"kev", "kev", 1404, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			m, st := importShared(t, tt.rel)
			got := st.Records[tt.loader]
			// Allow for withdrawn records and feed-count drift of a few.
			if got < tt.records-tt.records/50-2 || got > tt.records {
				t.Errorf("records = %d, want about %d (stats %+v)", got, tt.records, st.Records)
			}
			if tt.eco != "" && m.Counts()[tt.eco] < tt.minAffected {
				t.Errorf("affected in %s = %d, want >= %d", tt.eco, m.Counts()[tt.eco], tt.minAffected)
			}
			for _, s := range st.Skipped {
				if s.Reason == "no loader recognises this content" && !strings.Contains(s.Name, ".id-allocator") {
					t.Errorf("unrecognised: %s", s.Name)
				}
			}
			t.Logf("%s: files %d records %v skipped %d tallies %v", tt.rel, st.Files, st.Records, len(st.Skipped), st.Tallies)
		})
	}
}

func TestSharedRecords(t *testing.T) {
	ctx := context.Background()
	t.Run("ghsa log4j", func(t *testing.T) {
		m, _ := importShared(t, "osv/ghsa-sample")
		v, ok, _ := m.Vulnerability(ctx, "GHSA-jfh8-c2jp-5v3q")
		if !ok || !slices.Contains(v.Aliases, "CVE-2021-44228") || v.Severity != "critical" || v.SeveritySource != "ghsa" {
			t.Fatalf("GHSA-jfh8-c2jp-5v3q = %+v", v)
		}
		as, _ := m.Affected(ctx, "Maven", "org.apache.logging.log4j:log4j-core")
		var fixed []string
		for _, a := range as {
			if a.VulnID != "GHSA-jfh8-c2jp-5v3q" {
				continue
			}
			for _, r := range a.Ranges {
				for _, e := range r.Events {
					if e.Fixed != "" {
						fixed = append(fixed, e.Fixed)
					}
				}
			}
		}
		slices.Sort(fixed)
		if !slices.Contains(fixed, "2.15.0") || !slices.Contains(fixed, "2.12.2") {
			t.Errorf("log4j-core fixed versions = %v", fixed)
		}
	})
	t.Run("go aliases", func(t *testing.T) {
		m, _ := importShared(t, "osv/go-vulndb-osv.tar.gz")
		v, ok, _ := m.Vulnerability(ctx, "GO-2024-2600")
		if !ok || !slices.Contains(v.Aliases, "CVE-2023-45289") || v.Source != "osv:go" {
			t.Fatalf("GO-2024-2600 = %+v", v)
		}
		as, _ := m.Affected(ctx, "Go", "stdlib")
		if len(as) < 100 {
			t.Errorf("stdlib entries = %d", len(as))
		}
	})
	t.Run("psf no package", func(t *testing.T) {
		m, st := importShared(t, "osv/psf-cpython-osv.tar.gz")
		if st.Tallies["osv: no package"] < 132 {
			t.Errorf("tallies = %v", st.Tallies)
		}
		if _, ok, _ := m.Vulnerability(ctx, "PSF-2024-1"); !ok {
			t.Error("PSF-2024-1 missing")
		}
		if len(m.Counts()) != 0 {
			t.Errorf("affected = %v", m.Counts())
		}
	})
	t.Run("kev flag", func(t *testing.T) {
		m, st := importShared(t, "kev")
		v, ok, _ := m.Vulnerability(ctx, "CVE-2021-44228")
		if !ok || !v.KnownExploited || v.KEVDateAdded != "2021-12-10" {
			t.Errorf("CVE-2021-44228 = %+v", v)
		}
		if len(st.Skipped) != 1 || st.Skipped[0].Reason != "JSON schema file" {
			t.Errorf("skipped = %+v", st.Skipped)
		}
	})
	t.Run("nvd cvss", func(t *testing.T) {
		m, _ := importShared(t, "nvd")
		v, ok, _ := m.Vulnerability(ctx, "CVE-2023-27314")
		if !ok || len(v.CVSS) == 0 || v.CVSS[0].Score != 7.5 || v.Summary == "" {
			t.Errorf("CVE-2023-27314 = %+v", v)
		}
	})
}
