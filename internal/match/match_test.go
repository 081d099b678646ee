package match

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var (
	debian12 = &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}
	ubuntu22 = &model.Distro{ID: "ubuntu", VersionID: "22.04"}
	alpine18 = &model.Distro{ID: "alpine", VersionID: "3.18.0"}
	rocky9   = &model.Distro{ID: "rocky", VersionID: "9.3"}
)

func fixedRange(typ advisory.RangeType, evs ...advisory.Event) []advisory.Range {
	return []advisory.Range{{Type: typ, Events: evs}}
}

func intro(v string) advisory.Event { return advisory.Event{Introduced: v} }
func fix(v string) advisory.Event   { return advisory.Event{Fixed: v} }
func last(v string) advisory.Event  { return advisory.Event{LastAffected: v} }
func limit(v string) advisory.Event { return advisory.Event{Limit: v} }

type want struct {
	id, fixed   string
	aliases     []string
	status      model.Status
	severity    model.Severity
	sevSource   string
	remediation string // substring
}

func TestMatch(t *testing.T) {
	libssl := model.Package{Name: "libssl3", Version: "3.0.11-1~deb12u2", Type: model.TypeDeb, SourceName: "openssl",
		Layer: &model.Layer{Index: 0, Base: true}}
	tests := []struct {
		name     string
		distro   *model.Distro
		pkg      model.Package
		vulns    []advisory.Vulnerability
		affected []advisory.Affected
		want     []want
		warnings int
	}{
		{
			name: "debian source package, fixed, base layer", distro: debian12, pkg: libssl,
			vulns: []advisory.Vulnerability{{ID: "CVE-2024-0727", Summary: "PKCS12 crash\nmore", Source: "nvd",
				CVSS: []model.CVSS{{Version: "3.1", Score: 5.5, Source: "nvd"}}}},
			affected: []advisory.Affected{{VulnID: "CVE-2024-0727", Ecosystem: "Debian:12", Package: "openssl", Source: "debian-tracker",
				Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("3.0.13-1~deb12u1"))}},
			want: []want{{id: "CVE-2024-0727", fixed: "3.0.13-1~deb12u1", status: model.StatusFixed, severity: model.SeverityMedium, sevSource: "nvd",
				remediation: "Upgrade libssl3 from 3.0.11-1~deb12u2 to 3.0.13-1~deb12u1 (source package openssl) — the package comes from the base image: rebuild on an updated base image"}},
		},
		{
			name: "debian fixed at installed version is not a finding (boundary)", distro: debian12,
			pkg: model.Package{Name: "perl-base", Version: "5.36.0-7+deb12u3", Type: model.TypeDeb, SourceName: "perl"},
			affected: []advisory.Affected{{VulnID: "CVE-2023-31484", Ecosystem: "Debian:12", Package: "perl",
				Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("5.36.0-7+deb12u3"))}},
		},
		{
			name: "source version used over binary version", distro: debian12,
			pkg: model.Package{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Type: model.TypeDeb, SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3"},
			affected: []advisory.Affected{{VulnID: "DSA-5650-1", Ecosystem: "Debian:12", Package: "util-linux",
				Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.38.1-5+deb12u1"))}},
		},
		{
			name: "unfixed with distro urgency and note", distro: debian12,
			pkg:   model.Package{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Type: model.TypeDeb, SourceName: "zlib"},
			vulns: []advisory.Vulnerability{{ID: "CVE-2023-45853", Severity: model.SeverityCritical, SeveritySource: "nvd"}},
			affected: []advisory.Affected{{VulnID: "CVE-2023-45853", Ecosystem: "Debian:12", Package: "zlib", Status: advisory.AffectedUnfixed,
				Severity: model.SeverityLow, Note: "fixed in unstable 1:1.3.dfsg-2", Source: "debian-tracker"}},
			want: []want{{id: "CVE-2023-45853", status: model.StatusAffected, severity: model.SeverityLow, sevSource: "debian",
				remediation: "No fix available yet for Debian 12; fixed in unstable 1:1.3.dfsg-2"}},
		},
		{
			name: "will not fix, layer added by build", distro: debian12,
			pkg: model.Package{Name: "coreutils", Version: "9.1-1", Type: model.TypeDeb,
				Layer: &model.Layer{Index: 2, CreatedBy: "/bin/sh -c apt-get update && apt-get install -y coreutils"}},
			affected: []advisory.Affected{{VulnID: "CVE-2016-2781", Ecosystem: "Debian:12", Package: "coreutils", Status: advisory.AffectedWillNotFix,
				Note: "ignored: minor issue"}},
			want: []want{{id: "CVE-2016-2781", status: model.StatusWillNotFix, severity: model.SeverityUnknown,
				remediation: "Debian will not fix this in Debian 12 (ignored: minor issue) — added by your build (apt-get update && apt-get install -y coreutils)"}},
		},
		{
			name: "not-affected status", distro: debian12,
			pkg:      model.Package{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, SourceName: "glibc"},
			affected: []advisory.Affected{{VulnID: "CVE-2010-4756", Ecosystem: "Debian:12", Package: "glibc", Status: advisory.AffectedNot}},
		},
		{
			name: "DSA and CVE merge; newer distro fix wins over stale record", distro: debian12,
			pkg:   model.Package{Name: "libc6", Version: "2.36-9+deb12u7", Type: model.TypeDeb, SourceName: "glibc"},
			vulns: []advisory.Vulnerability{{ID: "DSA-5673-1", Aliases: []string{"CVE-2024-2961"}}},
			affected: []advisory.Affected{
				{VulnID: "DSA-5673-1", Ecosystem: "Debian:12", Package: "glibc", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.36-9+deb12u6"))},
				{VulnID: "CVE-2024-2961", Ecosystem: "Debian:12", Package: "glibc", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.37-15"))},
			},
		},
		{
			name: "DSA and CVE merge into one finding", distro: debian12,
			pkg:   model.Package{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, SourceName: "glibc"},
			vulns: []advisory.Vulnerability{{ID: "DSA-5673-1", Aliases: []string{"CVE-2024-2961"}, Severity: model.SeverityHigh, SeveritySource: "debian"}},
			affected: []advisory.Affected{
				{VulnID: "DSA-5673-1", Ecosystem: "Debian:12", Package: "glibc", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.36-9+deb12u6"))},
				{VulnID: "CVE-2024-2961", Ecosystem: "Debian:12", Package: "glibc", Status: advisory.AffectedUnfixed},
			},
			want: []want{{id: "CVE-2024-2961", aliases: []string{"DSA-5673-1"}, status: model.StatusFixed, fixed: "2.36-9+deb12u6", severity: model.SeverityHigh, sevSource: "debian"}},
		},
		{
			name: "language: GHSA and PYSEC with same CVE, any affected wins", distro: nil,
			pkg: model.Package{Name: "Requests", Version: "2.31.0", Type: model.TypePython},
			vulns: []advisory.Vulnerability{
				{ID: "GHSA-9wx4-h78v-vm56", Aliases: []string{"CVE-2024-35195"}, Severity: model.SeverityMedium, SeveritySource: "ghsa", Source: "osv:ghsa"},
				{ID: "PYSEC-2024-1", Aliases: []string{"CVE-2024-35195"}, Source: "osv:pypa"},
				{ID: "CVE-2024-35195", CVSS: []model.CVSS{{Version: "3.1", Score: 5.6, Source: "nvd"}}},
			},
			affected: []advisory.Affected{
				{VulnID: "GHSA-9wx4-h78v-vm56", Ecosystem: "PyPI", Package: "requests", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.32.0"))},
				{VulnID: "PYSEC-2024-1", Ecosystem: "PyPI", Package: "Requests", Ranges: fixedRange(advisory.RangeEcosystem, intro("2.32.0"), fix("2.32.1"))},
			},
			want: []want{{id: "CVE-2024-35195", aliases: []string{"GHSA-9wx4-h78v-vm56", "PYSEC-2024-1"}, status: model.StatusFixed, fixed: "2.32.0",
				severity: model.SeverityMedium, sevSource: "ghsa", remediation: "Upgrade Requests from 2.31.0 to 2.32.0"}},
		},
		{
			name: "pep503 normalised name lookup", pkg: model.Package{Name: "Foo_Bar.baz", Version: "1.0", Type: model.TypePython},
			affected: []advisory.Affected{{VulnID: "PYSEC-1", Ecosystem: "PyPI", Package: "foo-bar-baz", Versions: []string{"0.9", "1.0.0"}}},
			want:     []want{{id: "PYSEC-1", status: model.StatusAffected, severity: model.SeverityUnknown, remediation: "No fix available yet for Foo_Bar.baz 1.0"}},
		},
		{
			name: "GHSA primary without CVE; highest CVSS version with NVD preferred",
			pkg:  model.Package{Name: "lodash", Version: "4.17.4", Type: model.TypeNPM},
			vulns: []advisory.Vulnerability{{ID: "GHSA-aaaa", Aliases: []string{"SNYK-1"}, CVSS: []model.CVSS{
				{Version: "2.0", Score: 9.8, Source: "nvd"}, {Version: "3.1", Score: 7.5, Source: "ghsa"}, {Version: "3.1", Score: 9.1, Source: "nvd"}}}},
			affected: []advisory.Affected{{VulnID: "GHSA-aaaa", Ecosystem: "npm", Package: "lodash", Ranges: fixedRange(advisory.RangeSemver, intro("0"), fix("4.17.12"))}},
			want:     []want{{id: "GHSA-aaaa", aliases: []string{"SNYK-1"}, status: model.StatusFixed, fixed: "4.17.12", severity: model.SeverityCritical, sevSource: "nvd"}},
		},
		{
			name:     "two CVEs in one group: GHSA first",
			pkg:      model.Package{Name: "x", Version: "1.0.0", Type: model.TypeNPM},
			vulns:    []advisory.Vulnerability{{ID: "GHSA-bbbb", Aliases: []string{"CVE-2020-2", "CVE-2020-1"}}},
			affected: []advisory.Affected{{VulnID: "GHSA-bbbb", Ecosystem: "npm", Package: "x", AffectedConstraints: []string{"<1.0.1"}}},
			want:     []want{{id: "GHSA-bbbb", aliases: []string{"CVE-2020-1", "CVE-2020-2"}, status: model.StatusFixed, fixed: "1.0.1", severity: model.SeverityUnknown}},
		},
		{
			name: "last_affected and limit",
			pkg:  model.Package{Name: "golang.org/x/net", Version: "0.17.0", Type: model.TypeGo},
			affected: []advisory.Affected{
				{VulnID: "GO-1", Ecosystem: "Go", Package: "golang.org/x/net", Ranges: fixedRange(advisory.RangeSemver, intro("0"), last("0.17.0"))},
				{VulnID: "GO-2", Ecosystem: "Go", Package: "golang.org/x/net", Ranges: fixedRange(advisory.RangeSemver, intro("0"), last("0.16.0"))},
				{VulnID: "GO-3", Ecosystem: "Go", Package: "golang.org/x/net", Ranges: fixedRange(advisory.RangeEcosystem, intro("0.1.0"), limit("0.17.0"))},
				{VulnID: "GO-4", Ecosystem: "Go", Package: "golang.org/x/net", Ranges: fixedRange(advisory.RangeEcosystem, intro("0.1.0"), fix("0.13.0"), intro("0.15.0"), fix("0.17.1"), fix("0.18.0"))},
				{VulnID: "GO-5", Ecosystem: "Go", Package: "golang.org/x/net", Ranges: fixedRange(advisory.RangeEcosystem, intro("0.18.0"))},
			},
			want: []want{
				{id: "GO-1", status: model.StatusAffected, severity: model.SeverityUnknown},
				{id: "GO-4", status: model.StatusFixed, fixed: "0.17.1", severity: model.SeverityUnknown},
			},
		},
		{
			name: "GIT ranges ignored",
			pkg:  model.Package{Name: "foo", Version: "1.0.0", Type: model.TypeCargo},
			affected: []advisory.Affected{{VulnID: "RUSTSEC-1", Ecosystem: "crates.io", Package: "foo",
				Ranges: []advisory.Range{{Type: advisory.RangeGit, Events: []advisory.Event{intro("abc"), fix("def")}}}}},
		},
		{
			name: "rubygems unaffected constraints",
			pkg:  model.Package{Name: "rack", Version: "2.2.6.1", Type: model.TypeGem},
			affected: []advisory.Affected{
				{VulnID: "CVE-2023-1", Ecosystem: "RubyGems", Package: "rack", UnaffectedConstraints: []string{"~> 2.2.6, >= 2.2.6.2", ">= 3.0.4.1"}},
				{VulnID: "CVE-2023-2", Ecosystem: "RubyGems", Package: "rack", UnaffectedConstraints: []string{">= 2.2.6"}},
			},
			want: []want{{id: "CVE-2023-1", status: model.StatusFixed, fixed: "2.2.6.2", severity: model.SeverityUnknown}},
		},
		{
			name: "composer affected constraints",
			pkg:  model.Package{Name: "symfony/http-kernel", Version: "v2.7.3", Type: model.TypeComposer},
			affected: []advisory.Affected{
				{VulnID: "CVE-2015-1", Ecosystem: "Packagist", Package: "symfony/http-kernel", AffectedConstraints: []string{">=2.7.0,<2.7.51", ">=3.0.0,<3.4.1"}},
				{VulnID: "CVE-2015-2", Ecosystem: "Packagist", Package: "symfony/http-kernel", AffectedConstraints: []string{">=3.0.0,<3.4.1"}},
			},
			want: []want{{id: "CVE-2015-1", status: model.StatusFixed, fixed: "2.7.51", severity: model.SeverityUnknown}},
		},
		{
			name: "maven group:artifact from metadata; unfixed with ranges",
			pkg:  model.Package{Name: "jackson-databind", Version: "2.9.1", Type: model.TypeJava, Metadata: map[string]string{"groupId": "com.fasterxml.jackson.core"}},
			affected: []advisory.Affected{
				{VulnID: "GHSA-jjjh-jjxp-wpff", Ecosystem: "Maven", Package: "com.fasterxml.jackson.core:jackson-databind",
					Ranges: fixedRange(advisory.RangeEcosystem, intro("2.9.0"), fix("2.9.10.8"))},
				{VulnID: "GHSA-cccc", Ecosystem: "Maven", Package: "com.fasterxml.jackson.core:jackson-databind", Status: advisory.AffectedUnfixed,
					Ranges: fixedRange(advisory.RangeEcosystem, intro("2.10.0"))},
			},
			want: []want{{id: "GHSA-jjjh-jjxp-wpff", status: model.StatusFixed, fixed: "2.9.10.8", severity: model.SeverityUnknown}},
		},
		{
			name: "alpine origin; secdb 0 means not affected", distro: alpine18,
			pkg: model.Package{Name: "libcrypto3", Version: "3.1.0-r4", Type: model.TypeAPK, SourceName: "openssl"},
			affected: []advisory.Affected{
				{VulnID: "CVE-2023-2650", Ecosystem: "Alpine:v3.18", Package: "openssl", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("3.1.1-r0"))},
				{VulnID: "CVE-2023-0001", Ecosystem: "Alpine:v3.18", Package: "openssl", Status: advisory.AffectedNot},
			},
			want: []want{{id: "CVE-2023-2650", status: model.StatusFixed, fixed: "3.1.1-r0", severity: model.SeverityUnknown, remediation: "(source package openssl)"}},
		},
		{
			name: "alpine: secdb CVE and OSV ALPINE record merge", distro: alpine18,
			pkg:   model.Package{Name: "busybox", Version: "1.36.0-r9", Type: model.TypeAPK, SourceName: "busybox"},
			vulns: []advisory.Vulnerability{{ID: "ALPINE-CVE-2022-48174", Aliases: []string{"CVE-2022-48174"}}},
			affected: []advisory.Affected{
				{VulnID: "CVE-2022-48174", Ecosystem: "Alpine:v3.18", Package: "busybox", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("1.36.1-r1"))},
				{VulnID: "ALPINE-CVE-2022-48174", Ecosystem: "Alpine:v3.18", Package: "busybox", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("1.36.1-r0"))},
			},
			want: []want{{id: "CVE-2022-48174", aliases: []string{"ALPINE-CVE-2022-48174"}, status: model.StatusFixed, fixed: "1.36.1-r1", severity: model.SeverityUnknown}},
		},
		{
			name: "ubuntu LTS ecosystem", distro: ubuntu22,
			pkg:      model.Package{Name: "libssl3", Version: "3.0.2-0ubuntu1.10", Type: model.TypeDeb, SourceName: "openssl"},
			affected: []advisory.Affected{{VulnID: "UBUNTU-CVE-2024-1", Ecosystem: "Ubuntu:22.04:LTS", Package: "openssl", Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("3.0.2-0ubuntu1.15"))}},
			want:     []want{{id: "UBUNTU-CVE-2024-1", status: model.StatusFixed, fixed: "3.0.2-0ubuntu1.15", severity: model.SeverityUnknown, remediation: "Upgrade libssl3"}},
		},
		{
			name: "unparsable installed version is a warning", distro: nil,
			pkg:      model.Package{Name: "golang.org/x/text", Version: "not-a-version", Type: model.TypeGo},
			affected: []advisory.Affected{{VulnID: "GO-9", Ecosystem: "Go", Package: "golang.org/x/text", Ranges: fixedRange(advisory.RangeSemver, intro("0"), fix("0.3.8"))}},
			warnings: 1,
		},
		{
			name: "unparsable event is a warning, other records still match",
			pkg:  model.Package{Name: "left-pad", Version: "1.0.0", Type: model.TypeNPM},
			affected: []advisory.Affected{
				{VulnID: "GHSA-bad", Ecosystem: "npm", Package: "left-pad", Ranges: fixedRange(advisory.RangeSemver, intro("0"), fix("§§§"))},
				{VulnID: "GHSA-good", Ecosystem: "npm", Package: "left-pad", Ranges: fixedRange(advisory.RangeSemver, intro("0"), fix("1.1.0"))},
			},
			want:     []want{{id: "GHSA-good", status: model.StatusFixed, fixed: "1.1.0", severity: model.SeverityUnknown}},
			warnings: 1,
		},
		{
			name:     "devel version skipped",
			pkg:      model.Package{Name: "example.com/m", Version: "(devel)", Type: model.TypeGo},
			affected: []advisory.Affected{{VulnID: "GO-7", Ecosystem: "Go", Package: "example.com/m"}},
		},
		{
			name: "rpm distro without feed gives nothing", distro: rocky9,
			pkg: model.Package{Name: "openssl-libs", Version: "3.0.7-27.el9", Type: model.TypeRPM, SourceName: "openssl-3.0.7-27.el9.src.rpm"},
		},
		{
			name:     "no ranges at all means every version",
			pkg:      model.Package{Name: "Newtonsoft.Json", Version: "12.0.3", Type: model.TypeNuGet},
			affected: []advisory.Affected{{VulnID: "GHSA-nnnn", Ecosystem: "NuGet", Package: "Newtonsoft.Json"}},
			want:     []want{{id: "GHSA-nnnn", status: model.StatusAffected, severity: model.SeverityUnknown}},
		},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := advisory.NewMemory()
			for _, v := range tt.vulns {
				if err := db.PutVulnerability(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range tt.affected {
				if err := db.PutAffected(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			fs, ws, err := New(db).Match(ctx, tt.distro, []model.Package{tt.pkg})
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if len(ws) != tt.warnings {
				t.Errorf("warnings = %v, want %d", ws, tt.warnings)
			}
			for _, w := range ws {
				if w.Stage != "match" {
					t.Errorf("warning stage %q", w.Stage)
				}
			}
			if len(fs) != len(tt.want) {
				t.Fatalf("got %d findings %+v, want %d", len(fs), ids(fs), len(tt.want))
			}
			for i, w := range tt.want {
				f := fs[i]
				if f.ID != w.id || f.Status != w.status || f.FixedVersion != w.fixed || f.Severity != w.severity || f.SeveritySource != w.sevSource {
					t.Errorf("finding %d = {%s %s fixed=%q %s src=%q}, want %+v", i, f.ID, f.Status, f.FixedVersion, f.Severity, f.SeveritySource, w)
				}
				if !slices.Equal(f.Aliases, w.aliases) {
					t.Errorf("aliases = %v, want %v", f.Aliases, w.aliases)
				}
				if !strings.Contains(f.Remediation, w.remediation) {
					t.Errorf("remediation = %q, want it to contain %q", f.Remediation, w.remediation)
				}
				if f.Package.Name != tt.pkg.Name || f.InstalledVersion != tt.pkg.Version {
					t.Errorf("package = %s %s", f.Package.Name, f.InstalledVersion)
				}
			}
		})
	}
}

func ids(fs []model.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"/"+f.Package.Name)
	}
	return out
}

func TestFindingDetails(t *testing.T) {
	ctx := context.Background()
	db := advisory.NewMemory()
	pub := time.Date(2024, 4, 17, 0, 0, 0, 0, time.UTC)
	_ = db.PutVulnerability(ctx, advisory.Vulnerability{ID: "DSA-5673-1", Aliases: []string{"CVE-2024-2961"}, Summary: "  glibc - security update  ", Source: "debian-dsa",
		References: []string{"https://www.debian.org/security/2024/dsa-5673"}})
	_ = db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2024-2961", Source: "nvd", KnownExploited: true, KEVDateAdded: "2025-05-01", Published: pub,
		CVSS:       []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N", Score: 7.3, Source: "nvd"}},
		References: []string{"https://nvd.nist.gov/vuln/detail/CVE-2024-2961"}})
	_ = db.PutAffected(ctx, advisory.Affected{VulnID: "DSA-5673-1", Ecosystem: "Debian:12", Package: "glibc", Source: "debian-dsa",
		Ranges: fixedRange(advisory.RangeEcosystem, intro("0"), fix("2.36-9+deb12u6"))})
	pkgs := []model.Package{
		{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, SourceName: "glibc"},
		{Name: "libc-bin", Version: "2.36-9+deb12u4", Type: model.TypeDeb, SourceName: "glibc"},
	}
	fs, _, err := New(db).Match(ctx, debian12, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 {
		t.Fatalf("want one finding per binary package, got %v", ids(fs))
	}
	f := fs[1] // sorted by package name: libc-bin, libc6
	if fs[0].Package.Name != "libc-bin" || f.Package.Name != "libc6" {
		t.Errorf("order: %v", ids(fs))
	}
	if f.ID != "CVE-2024-2961" || !slices.Equal(f.Aliases, []string{"DSA-5673-1"}) {
		t.Errorf("id %s aliases %v", f.ID, f.Aliases)
	}
	if f.Title != "glibc - security update" {
		t.Errorf("title %q", f.Title)
	}
	if !f.KnownExploited || f.KEVDateAdded != "2025-05-01" {
		t.Errorf("kev %v %q", f.KnownExploited, f.KEVDateAdded)
	}
	if f.Published == nil || !f.Published.Equal(pub) {
		t.Errorf("published %v", f.Published)
	}
	if f.Severity != model.SeverityHigh || f.SeveritySource != "nvd" || len(f.CVSS) != 1 {
		t.Errorf("severity %s %s %v", f.Severity, f.SeveritySource, f.CVSS)
	}
	if len(f.References) != 2 || !slices.Equal(f.DataSources, []string{"debian-dsa", "nvd"}) {
		t.Errorf("refs %v sources %v", f.References, f.DataSources)
	}
}

func TestSortOrder(t *testing.T) {
	ctx := context.Background()
	db := advisory.NewMemory()
	add := func(id string, sev model.Severity) {
		_ = db.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Severity: sev})
		_ = db.PutAffected(ctx, advisory.Affected{VulnID: id, Ecosystem: "npm", Package: "p", AffectedConstraints: []string{"<2.0.0"}})
	}
	add("GHSA-b", model.SeverityLow)
	add("GHSA-c", model.SeverityCritical)
	add("GHSA-a", model.SeverityLow)
	add("GHSA-d", "")
	fs, _, err := New(db).Match(ctx, nil, []model.Package{{Name: "p", Version: "1.0.0", Type: model.TypeNPM}})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(fs)
	want := []string{"GHSA-c/p", "GHSA-a/p", "GHSA-b/p", "GHSA-d/p"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestMatchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := New(advisory.NewMemory()).Match(ctx, nil, []model.Package{{Name: "p", Version: "1.0.0", Type: model.TypeNPM}})
	if err == nil {
		t.Fatal("want error for cancelled context")
	}
}

func TestEcosystem(t *testing.T) {
	epoch := 1
	tests := []struct {
		d                  *model.Distro
		p                  model.Package
		eco, name, version string
		ok                 bool
	}{
		{debian12, model.Package{Name: "libc6", Version: "2.36-9", Type: model.TypeDeb, SourceName: "glibc"}, "Debian:12", "glibc", "2.36-9", true},
		{&model.Distro{ID: "debian", VersionID: "12.5"}, model.Package{Name: "bash", Version: "5.2", Type: model.TypeDeb}, "Debian:12", "bash", "5.2", true},
		{ubuntu22, model.Package{Name: "bash", Version: "5.1", Type: model.TypeDeb}, "Ubuntu:22.04", "bash", "5.1", true},
		{alpine18, model.Package{Name: "libssl3", Version: "3.1.0-r4", Type: model.TypeAPK, SourceName: "openssl"}, "Alpine:v3.18", "openssl", "3.1.0-r4", true},
		{rocky9, model.Package{Name: "openssl-libs", Version: "3.0.7-27.el9", Type: model.TypeRPM, SourceName: "openssl-3.0.7-27.el9.src.rpm", Epoch: &epoch}, "Rocky Linux:9", "openssl", "1:3.0.7-27.el9", true},
		{&model.Distro{ID: "mariner", VersionID: "2.0"}, model.Package{Name: "bash", Version: "5.1-1", Type: model.TypeRPM}, "Azure Linux:2", "bash", "5.1-1", true},
		{&model.Distro{ID: "azurelinux", VersionID: "3.0"}, model.Package{Name: "bash", Version: "5.2-1.azl3", Type: model.TypeRPM}, "Azure Linux:3", "bash", "5.2-1.azl3", true},
		{&model.Distro{ID: "sles", VersionID: "15.5"}, model.Package{Name: "glibc", Version: "2.31-9.3.2", Type: model.TypeRPM}, "SUSE:Linux Enterprise Server 15 SP5", "glibc", "2.31-9.3.2", true},
		{&model.Distro{ID: "sles", VersionID: "15"}, model.Package{Name: "glibc", Version: "2.26-1", Type: model.TypeRPM}, "SUSE:Linux Enterprise Server 15", "glibc", "2.26-1", true},
		{&model.Distro{ID: "amzn", VersionID: "2018.03"}, model.Package{Name: "curl", Version: "7.61.1-12.95.amzn1", Type: model.TypeRPM}, "Amazon Linux:1", "curl", "7.61.1-12.95.amzn1", true},
		{&model.Distro{ID: "photon", VersionID: "5.0"}, model.Package{Name: "curl", Version: "8.1.2-1.ph5", Type: model.TypeRPM}, "Photon OS:5.0", "curl", "8.1.2-1.ph5", true},
		{&model.Distro{ID: "rhel", VersionID: "8.10"}, model.Package{Name: "nodejs", Version: "18.20.2-1.module+el8.10.0+21668+4c3ff8a5", Type: model.TypeRPM, Epoch: &epoch,
			Metadata: map[string]string{"modularity_label": "nodejs:18:8100020240402155623:489197e6"}}, "Red Hat:8", "nodejs:18::nodejs", "1:18.20.2-1.module+el8.10.0+21668+4c3ff8a5", true},
		{&model.Distro{ID: "wolfi", VersionID: "20230201"}, model.Package{Name: "busybox", Version: "1.36.1-r2", Type: model.TypeAPK}, "Wolfi", "busybox", "1.36.1-r2", true},
		{&model.Distro{ID: "chainguard", VersionID: "20230214"}, model.Package{Name: "libcrypto3", Version: "3.3.0-r0", Type: model.TypeAPK, SourceName: "openssl"}, "Chainguard", "openssl", "3.3.0-r0", true},
		{nil, model.Package{Name: "stdlib", Version: "1.22.4", Type: model.TypeBinary}, "Go", "stdlib", "1.22.4", true},
		{nil, model.Package{Name: "stdlib", Version: "v1.22.4", Type: model.TypeGo}, "Go", "stdlib", "v1.22.4", true},
		{nil, model.Package{Name: "Django_REST.framework", Version: "3.0", Type: model.TypePython}, "PyPI", "django-rest-framework", "3.0", true},
		{nil, model.Package{Name: "log4j-core", Version: "2.14.1", Type: model.TypeJava, PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}, "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", true},
		{nil, model.Package{Name: "rack", Version: "2.0", Type: model.TypeGem}, "RubyGems", "rack", "2.0", true},
		{nil, model.Package{Name: "serde", Version: "1.0.0", Type: model.TypeCargo}, "crates.io", "serde", "1.0.0", true},
		{nil, model.Package{Name: "a/b", Version: "1.0.0", Type: model.TypeComposer}, "Packagist", "a/b", "1.0.0", true},
		{nil, model.Package{Name: "N", Version: "1.0.0", Type: model.TypeNuGet}, "NuGet", "N", "1.0.0", true},
		{nil, model.Package{Name: "left-pad", Version: "1.0.0", Type: model.TypeNPM}, "npm", "left-pad", "1.0.0", true},
		{nil, model.Package{Name: "libc6", Version: "2.36", Type: model.TypeDeb}, "", "", "", false},
		{&model.Distro{ID: "debian", VersionID: ""}, model.Package{Name: "libc6", Version: "2.36", Type: model.TypeDeb}, "", "", "", false},
		{nil, model.Package{Name: "m", Version: "(devel)", Type: model.TypeGo}, "", "", "", false},
		{nil, model.Package{Name: "log4j-core", Version: "2.0", Type: model.TypeJava}, "", "", "", false},
	}
	// A module-stream package elsewhere than Red Hat is also looked up by
	// its plain name (AlmaLinux's OSV names modular packages plainly);
	// Red Hat files it only under its stream.
	mod := model.Package{Name: "nodejs", Version: "18.20.2-1.module_el8", Type: model.TypeRPM, Metadata: map[string]string{"modularity_label": "nodejs:18:1:a"}}
	if keys := lookups(&model.Distro{ID: "almalinux", VersionID: "8.10"}, mod); len(keys) != 2 || keys[0].name != "nodejs:18::nodejs" || keys[1].name != "nodejs" {
		t.Errorf("AlmaLinux module lookups = %v", keys)
	}
	if keys := lookups(&model.Distro{ID: "rhel", VersionID: "8.10"}, mod); len(keys) != 1 {
		t.Errorf("Red Hat module lookups = %v", keys)
	}
	for _, tt := range tests {
		eco, name, ver, ok := Ecosystem(tt.d, tt.p)
		if eco != tt.eco || name != tt.name || ver != tt.version || ok != tt.ok {
			t.Errorf("Ecosystem(%v, %s) = %q %q %q %v, want %q %q %q %v", tt.d, tt.p.Name, eco, name, ver, ok, tt.eco, tt.name, tt.version, tt.ok)
		}
	}
}

func TestSummarize(t *testing.T) {
	pa := model.Package{Name: "openssl", Type: model.TypeDeb, Path: "/var/lib/dpkg/status", Version: "3.0.11-1"}
	pb := model.Package{Name: "lodash", Type: model.TypeNPM, Path: "/app/package-lock.json", Version: "4.17.4"}
	fs := []model.Finding{
		{ID: "CVE-1", Severity: model.SeverityHigh, Status: model.StatusFixed, Package: pa, InstalledVersion: pa.Version, FixedVersion: "3.0.13-1"},
		{ID: "CVE-2", Severity: model.SeverityMedium, Status: model.StatusFixed, Package: pa, InstalledVersion: pa.Version, FixedVersion: "3.0.9-1"},
		{ID: "CVE-3", Severity: model.SeverityCritical, Status: model.StatusFixed, Package: pb, InstalledVersion: pb.Version, FixedVersion: "4.17.21"},
		{ID: "CVE-4", Severity: model.SeverityLow, Status: model.StatusAffected, Package: pa, InstalledVersion: pa.Version},
		{ID: "CVE-5", Severity: model.SeverityCritical, Status: model.StatusExempt, Package: pa, FixedVersion: "9"},
		{ID: "CVE-6", Severity: model.SeverityCritical, Status: model.StatusNotAffected, Package: pb},
		{ID: "CVE-7", Severity: "", Status: model.StatusWillNotFix, Package: pa},
	}
	s := Summarize(fs, 10, model.SeverityHigh)
	if s.Healthy || s.Packages != 10 || s.Threshold != model.SeverityHigh {
		t.Errorf("summary head %+v", s)
	}
	want := model.Counts{Critical: 1, High: 1, Medium: 1, Low: 1, Unknown: 1, Total: 5}
	if s.Counts != want || s.Suppressed != 2 {
		t.Errorf("counts %+v suppressed %d", s.Counts, s.Suppressed)
	}
	if len(s.Upgrades) != 2 {
		t.Fatalf("upgrades %+v", s.Upgrades)
	}
	if u := s.Upgrades[0]; u.Package != "lodash" || u.To != "4.17.21" || u.FixesCount != 1 {
		t.Errorf("first upgrade %+v", u)
	}
	if u := s.Upgrades[1]; u.Package != "openssl" || u.To != "3.0.13-1" || !slices.Equal(u.Fixes, []string{"CVE-1", "CVE-2"}) || u.From != "3.0.11-1" {
		t.Errorf("second upgrade %+v", u)
	}
	if s := Summarize(fs[3:], 10, model.SeverityHigh); !s.Healthy {
		t.Errorf("only low/unknown active: want healthy, got %+v", s)
	}
	if s := Summarize(nil, 0, model.SeverityUnknown); !s.Healthy || s.Counts.Total != 0 {
		t.Errorf("empty: %+v", s)
	}
}

func TestSortFindingsRanksExploitedFirst(t *testing.T) {
	fs := []model.Finding{
		{ID: "CVE-A", Severity: model.SeverityHigh, CVSS: []model.CVSS{{Score: 8.8}}},
		{ID: "CVE-B", Severity: model.SeverityHigh, CVSS: []model.CVSS{{Score: 7.0}}, KnownExploited: true},
		{ID: "CVE-C", Severity: model.SeverityCritical, CVSS: []model.CVSS{{Score: 9.1}}},
		{ID: "CVE-D", Severity: model.SeverityHigh, CVSS: []model.CVSS{{Score: 8.9}}},
	}
	sortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, f.ID)
	}
	if want := "CVE-C CVE-B CVE-D CVE-A"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

// TestRemediationOrderExploitedFirst: the upgrade that fixes a known
// exploited finding comes first, then one that fixes a likely exploited
// one (EPSS >= 10%), whatever the severities; within a severity findings
// rank KEV, then EPSS, then CVSS.
func TestRemediationOrderExploitedFirst(t *testing.T) {
	pkg := func(n string) model.Package { return model.Package{Name: n, Type: model.TypeDeb, Version: "1.0-1"} }
	fs := []model.Finding{
		{ID: "CVE-CRIT", Severity: model.SeverityCritical, Status: model.StatusFixed, Package: pkg("crit"), InstalledVersion: "1.0-1", FixedVersion: "1.1-1"},
		{ID: "CVE-EPSS", Severity: model.SeverityLow, Status: model.StatusFixed, Package: pkg("likely"), InstalledVersion: "1.0-1", FixedVersion: "1.1-1", EPSS: &model.EPSS{Score: 0.42}},
		{ID: "CVE-LOWEPSS", Severity: model.SeverityLow, Status: model.StatusFixed, Package: pkg("unlikely"), InstalledVersion: "1.0-1", FixedVersion: "1.1-1", EPSS: &model.EPSS{Score: 0.02}},
		{ID: "CVE-KEV", Severity: model.SeverityMedium, Status: model.StatusFixed, Package: pkg("kev"), InstalledVersion: "1.0-1", FixedVersion: "1.1-1", KnownExploited: true},
	}
	s := Summarize(fs, 4, model.SeverityHigh)
	var got []string
	for _, u := range s.Upgrades {
		got = append(got, u.Package)
	}
	if want := "kev likely crit unlikely"; strings.Join(got, " ") != want {
		t.Errorf("upgrade order %v, want %s", got, want)
	}
	low := []model.Finding{
		{ID: "CVE-1", Severity: model.SeverityLow, CVSS: []model.CVSS{{Score: 3.9}}},
		{ID: "CVE-2", Severity: model.SeverityLow, EPSS: &model.EPSS{Score: 0.3}},
		{ID: "CVE-3", Severity: model.SeverityLow, KnownExploited: true, EPSS: &model.EPSS{Score: 0.01}},
	}
	sortFindings(low)
	if low[0].ID != "CVE-3" || low[1].ID != "CVE-2" || low[2].ID != "CVE-1" {
		t.Errorf("finding order %s %s %s", low[0].ID, low[1].ID, low[2].ID)
	}
}

// TestEPSSOnFinding: a CVE's EPSS score from the DB reaches the finding.
func TestEPSSOnFinding(t *testing.T) {
	ctx := context.Background()
	db := advisory.NewMemory()
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2024-28085", Source: "redhat-csaf-vex"})
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2024-28085", EPSS: &model.EPSS{Score: 0.12, Percentile: 0.95, Date: "2025-12-05"}, Source: "epss"})
	db.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2024-28085", Ecosystem: "Red Hat:8", Package: "util-linux", Source: "redhat-csaf-vex",
		Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "2.32.1-46.el8"}}}}})
	fs, _, err := New(db).Match(ctx, &model.Distro{ID: "rhel", VersionID: "8.8"}, []model.Package{{Name: "libuuid", Version: "2.32.1-42.el8_8", Type: model.TypeRPM, SourceName: "util-linux-2.32.1-42.el8_8.src.rpm"}})
	if err != nil || len(fs) != 1 {
		t.Fatalf("findings %v %v", fs, err)
	}
	if e := fs[0].EPSS; e == nil || e.Score != 0.12 || e.Date != "2025-12-05" {
		t.Errorf("EPSS %+v", e)
	}
}

// TestSeverityVendorFirst: the vendor's rating wins over NVD's CVSS and
// is named; without one, NVD's CVSS (reached through the alias) rates the
// finding and NVD is named.
func TestSeverityVendorFirst(t *testing.T) {
	ctx := context.Background()
	db := advisory.NewMemory()
	nvd := advisory.Vulnerability{ID: "CVE-2023-5678", Source: "nvd",
		CVSS: []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "nvd"}}}
	db.PutVulnerability(ctx, nvd)
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2023-5678", Severity: model.SeverityLow, SeveritySource: "redhat", Source: "redhat-csaf-vex"})
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2024-0002", Source: "nvd",
		CVSS: []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", Score: 7.5, Source: "nvd"}}})
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "ALSA-2024:1", Aliases: []string{"CVE-2024-0002"}, Source: "osv:alsa"})
	fix := []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "9:9-9"}}}}
	db.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2023-5678", Ecosystem: "Red Hat:9", Package: "openssl", Source: "redhat-csaf-vex", Ranges: fix})
	db.PutAffected(ctx, advisory.Affected{VulnID: "ALSA-2024:1", Ecosystem: "AlmaLinux:9", Package: "openssl", Source: "osv:alsa", Ranges: fix})
	pkg := []model.Package{{Name: "openssl", Version: "3.0.7-27.el9", Type: model.TypeRPM}}
	for _, c := range []struct {
		d       *model.Distro
		sev     model.Severity
		src, id string
	}{
		{&model.Distro{ID: "rhel", VersionID: "9.4"}, model.SeverityLow, "redhat", "CVE-2023-5678"},
		{&model.Distro{ID: "almalinux", VersionID: "9.4"}, model.SeverityHigh, "nvd", "ALSA-2024:1"},
	} {
		fs, _, err := New(db).Match(ctx, c.d, pkg)
		if err != nil || len(fs) != 1 {
			t.Fatalf("%s: %v %v", c.d.ID, fs, err)
		}
		if f := fs[0]; f.Severity != c.sev || f.SeveritySource != c.src {
			t.Errorf("%s: %s severity %s from %q, want %s from %q", c.d.ID, f.ID, f.Severity, f.SeveritySource, c.sev, c.src)
		}
	}
}
