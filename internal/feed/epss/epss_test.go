package epss

import (
	"flag"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestLoad: a day's scores in FIRST's published CSV layout.
func TestLoad(t *testing.T) {
	rec := feedtest.Golden(t, Loader(), "testdata/golden/epss.json", *update, "testdata/epss_scores-2025-12-05.csv")
	if len(rec.Vulnerabilities) != 3 || len(rec.Affected) != 0 {
		t.Fatalf("%d vulnerabilities, %d affected", len(rec.Vulnerabilities), len(rec.Affected))
	}
	v := rec.Vulnerabilities[0]
	if v.ID != "CVE-2021-44228" || v.EPSS.Score != 0.94358 || v.EPSS.Percentile != 0.99958 || v.EPSS.Date != "2025-12-05" || !v.EPSS.LikelyExploited() {
		t.Errorf("first row %+v %+v", v, v.EPSS)
	}
}

// TestBadInput: a broken file is an error; rows before it stay loaded.
func TestBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		in string
		n  int
	}{
		"bad header":         {"cve,score\nCVE-1,0.1\n", 0},
		"score out of range": {"cve,epss,percentile\nCVE-2024-1,0.5,0.5\nCVE-2024-2,7,0.5\n", 1},
		"truncated row":      {"cve,epss,percentile\nCVE-2024-1,0.5", 0},
		"not a CVE":          {"cve,epss,percentile\nGHSA-x,0.5,0.5\n", 0},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := Loader().Load(t.Context(), name, strings.NewReader(c.in), advisory.NewMemory())
			if err == nil || n != c.n {
				t.Errorf("n %d err %v, want %d and an error", n, err, c.n)
			}
		})
	}
}

// TestMerge: EPSS joins the CVE's record from other feeds; the newest
// day's score wins.
func TestMerge(t *testing.T) {
	m := advisory.NewMemory()
	ctx := t.Context()
	m.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2021-44228", Summary: "log4shell", Source: "nvd"})
	Loader().Load(ctx, "old", strings.NewReader("#model_version:v1,score_date:2025-01-01T00:00:00Z\ncve,epss,percentile\nCVE-2021-44228,0.5,0.9\n"), m)
	Loader().Load(ctx, "new", strings.NewReader("#model_version:v1,score_date:2025-12-05T00:00:00Z\ncve,epss,percentile\nCVE-2021-44228,0.9,0.99\n"), m)
	v, _, _ := m.Vulnerability(ctx, "CVE-2021-44228")
	if v.Summary != "log4shell" || v.EPSS == nil || v.EPSS.Score != 0.9 || v.Source != "nvd,epss" {
		t.Errorf("merged %+v %+v", v, v.EPSS)
	}
}
