package cvss

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func TestScore(t *testing.T) {
	tests := []struct {
		name, vector, version string
		score                 float64
		sev                   model.Severity
		wantErr               bool
	}{
		// log4shell, CVE-2021-44228 (NVD 3.1: 10.0)
		{"v3.1 critical", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, model.SeverityCritical, false},
		// CVE-2014-0160 heartbleed v2: 5.0
		{"v2 bare", "AV:N/AC:L/Au:N/C:P/I:N/A:N", "2.0", 5.0, model.SeverityMedium, false},
		{"v2 parens", "(AV:N/AC:L/Au:N/C:P/I:P/A:P)", "2.0", 7.5, model.SeverityHigh, false},
		{"v2 prefixed", "CVSS:2.0/AV:N/AC:L/Au:N/C:C/I:C/A:C", "2.0", 10.0, model.SeverityCritical, false},
		{"v3.0 high", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "3.0", 7.5, model.SeverityHigh, false},
		{"v3.1 medium", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "3.1", 6.1, model.SeverityMedium, false},
		{"v3.1 low", "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "3.1", 1.8, model.SeverityLow, false},
		{"v3.1 none", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0, model.SeverityInfo, false},
		{"v4.0 critical", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, model.SeverityCritical, false},
		{"v4.0 high local", "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 8.5, model.SeverityHigh, false},
		{"v4.0 none", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "4.0", 0, model.SeverityInfo, false},
		{"spaces", "  CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H \n", "3.1", 9.8, model.SeverityCritical, false},
		{"empty", "", "", 0, "", true},
		{"garbage", "not a vector", "", 0, "", true},
		{"unknown version", "CVSS:5.0/AV:N", "", 0, "", true},
		{"missing metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "", 0, "", true},
		{"bad value", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "", 0, "", true},
		{"too long", "CVSS:3.1/" + string(make([]byte, 600)), "", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Score(tt.vector)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Score(%q) = %+v, want error", tt.vector, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Score(%q): %v", tt.vector, err)
			}
			if got.Version != tt.version || got.Score != tt.score {
				t.Errorf("Score(%q) = %s %v, want %s %v", tt.vector, got.Version, got.Score, tt.version, tt.score)
			}
			if got.Vector == "" {
				t.Errorf("Score(%q): empty canonical vector", tt.vector)
			}
			if s := Severity(got); s != tt.sev {
				t.Errorf("Severity = %s, want %s", s, tt.sev)
			}
		})
	}
}

func FuzzScore(f *testing.F) {
	for _, s := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
		"AV:N/AC:L/Au:N/C:P/I:N/A:N",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := Score(v)
		if err != nil {
			return
		}
		if c.Score < 0 || c.Score > 10 {
			t.Fatalf("score %v out of range for %q", c.Score, v)
		}
		// The canonical vector must parse again to the same score.
		c2, err := Score(c.Vector)
		if err != nil {
			t.Fatalf("canonical vector %q of %q does not parse: %v", c.Vector, v, err)
		}
		if c2.Score != c.Score || c2.Version != c.Version {
			t.Fatalf("round trip %q: %+v != %+v", v, c2, c)
		}
	})
}
