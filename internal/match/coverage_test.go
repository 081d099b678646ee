package match

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// covers is a DB that holds advisories for the named ecosystems.
func covers(ecos ...string) CoverageLookup {
	return func(eco string) ([]string, bool) {
		for _, e := range ecos {
			if e == eco {
				return []string{"src-" + e}, true
			}
		}
		return nil, false
	}
}

func TestCoverage(t *testing.T) {
	debian := &model.Distro{ID: "debian", VersionID: "12"}
	rhel := &model.Distro{ID: "rhel", VersionID: "9.4"}
	jammy := &model.Distro{ID: "ubuntu", VersionID: "22.04"}
	deb := model.Package{Name: "libc6", Version: "2.36-9", Type: model.TypeDeb, SourceName: "glibc"}
	rpm := model.Package{Name: "openssl-libs", Version: "3.0.7-27.el9", Type: model.TypeRPM, SourceName: "openssl-3.0.7-27.el9.src.rpm"}
	npm := model.Package{Name: "lodash", Version: "4.17.4", Type: model.TypeNPM}
	gomod := model.Package{Name: "golang.org/x/net", Version: "v0.1.0", Type: model.TypeGo}
	node := model.Package{Name: "node", Version: "20.11.1", Type: model.TypeBinary}
	jar := model.Package{Name: "mystery", Version: "1.0", Type: model.TypeJava}
	noVersion := model.Package{Name: "left-pad", Version: "", Type: model.TypeNPM}

	tests := []struct {
		name    string
		distro  *model.Distro
		pkgs    []model.Package
		db      CoverageLookup
		want    []string // "name kind packages assessed"
		verdict model.Verdict
	}{
		{"debian covered", debian, []model.Package{deb, deb, npm}, covers("Debian:12", "npm"),
			[]string{"Debian:12 os 2 true", "npm language 1 true"}, model.VerdictHealthy},
		{"rhel without data", rhel, []model.Package{rpm, rpm}, covers("Debian:12", "npm"),
			[]string{"Red Hat:9 os 2 false"}, model.VerdictNotAssessed},
		{"npm without data", debian, []model.Package{deb, npm}, covers("Debian:12"),
			[]string{"Debian:12 os 1 true", "npm language 1 false"}, model.VerdictNotAssessed},
		{"ubuntu LTS key", jammy, []model.Package{deb}, covers("Ubuntu:22.04:LTS"),
			[]string{"Ubuntu:22.04:LTS os 1 true"}, model.VerdictHealthy},
		{"ubuntu neither key", jammy, []model.Package{deb}, covers(),
			[]string{"Ubuntu:22.04 os 1 false"}, model.VerdictNotAssessed},
		{"os packages without os-release", nil, []model.Package{deb}, covers("Debian:12"),
			[]string{"deb (unknown distribution) os 1 false"}, model.VerdictNotAssessed},
		{"deb of an unmapped distribution", &model.Distro{ID: "kali", VersionID: "2024.1"}, []model.Package{deb}, covers("Debian:12"),
			[]string{"deb on kali 2024.1 os 1 false"}, model.VerdictNotAssessed},
		{"binaries, jars and unversioned are listed, not counted", debian, []model.Package{gomod, node, jar, noVersion}, covers("Go"),
			[]string{"Go language 1 true", "Maven (no group id) none 1 false", "binary none 1 false", "unversioned none 1 false"}, model.VerdictHealthy},
		{"nothing", debian, nil, covers(), nil, model.VerdictHealthy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parts := Coverage(tc.distro, tc.pkgs, tc.db)
			var got []string
			for _, p := range parts {
				got = append(got, fmt.Sprintf("%s %s %d %t", p.Name, p.Kind, p.Packages, p.Assessed))
				if p.Assessed && (len(p.Sources) == 0 || p.Reason != "") {
					t.Errorf("assessed part %s: sources %v reason %q", p.Name, p.Sources, p.Reason)
				}
				if !p.Assessed && p.Reason == "" {
					t.Errorf("part %s not assessed without a reason", p.Name)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("parts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			s := model.Summary{Coverage: parts}
			s.Decide(true)
			if s.Verdict != tc.verdict || s.Healthy != (tc.verdict == model.VerdictHealthy) {
				t.Errorf("verdict %s healthy=%t, want %s", s.Verdict, s.Healthy, tc.verdict)
			}
			// Findings that make the image unhealthy win over gaps in coverage.
			s.Decide(false)
			if s.Verdict != model.VerdictUnhealthy || s.Healthy {
				t.Errorf("with unhealthy findings: verdict %s healthy=%t", s.Verdict, s.Healthy)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{"Red Hat:9": "Red Hat 9", "Ubuntu:22.04:LTS": "Ubuntu 22.04 LTS", "npm": "npm"} {
		if got := Describe(in); got != want {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
	}
}
