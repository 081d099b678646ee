package report

import (
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func intp(n int) *int { return &n }

// testReport is a small synthetic scan result: deb and npm packages, one
// finding of each status, layer attribution, warnings.
func testReport() *model.Report {
	gen := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	pub := time.Date(2024, 1, 9, 0, 0, 0, 0, time.UTC)
	base := &model.Layer{Index: 0, Digest: "sha256:aaaa000000000000000000000000000000000000000000000000000000000001", DiffID: "sha256:dddd000000000000000000000000000000000000000000000000000000000001", CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / ", Base: true}
	app := &model.Layer{Index: 2, Digest: "sha256:aaaa000000000000000000000000000000000000000000000000000000000003", DiffID: "sha256:dddd000000000000000000000000000000000000000000000000000000000003", CreatedBy: "/bin/sh -c npm ci --omit=dev && npm cache clean --force"}
	openssl := model.Package{Name: "openssl", Version: "3.0.11-1~deb12u2", Type: model.TypeDeb,
		PURL:       "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
		SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2", Arch: "amd64",
		Path: "/var/lib/dpkg/status", Layer: base, Licenses: []string{"Apache-2.0"}, Cataloger: "dpkg"}
	libc := model.Package{Name: "libc6", Version: "2.36-9+deb12u3", Type: model.TypeDeb,
		PURL:       "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=glibc",
		SourceName: "glibc", SourceVersion: "2.36-9+deb12u3", Arch: "amd64",
		Path: "/var/lib/dpkg/status", Layer: base, Licenses: []string{"LGPL-2.1-or-later", "GPL-2.0-only WITH Linux-syscall-note"}, Cataloger: "dpkg"}
	zlib := model.Package{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Type: model.TypeDeb,
		PURL:       "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib",
		SourceName: "zlib", SourceVersion: "1:1.2.13.dfsg-1", Arch: "amd64",
		Path: "/var/lib/dpkg/status", Layer: base, Licenses: []string{"Zlib"}, Cataloger: "dpkg"}
	lodash := model.Package{Name: "lodash", Version: "4.17.4", Type: model.TypeNPM,
		PURL: "pkg:npm/lodash@4.17.4", Path: "/app/package-lock.json", Layer: app,
		Licenses: []string{"MIT"}, Cataloger: "npm-lock"}
	scoped := model.Package{Name: "@babel/traverse", Version: "7.22.5", Type: model.TypeNPM,
		PURL: "pkg:npm/%40babel/traverse@7.22.5", Path: "/app/package-lock.json", Layer: app,
		Licenses: []string{"some custom license"}, Dev: true, Cataloger: "npm-lock"}
	lodashOther := lodash
	lodashOther.Path = "/app/node_modules/x/package-lock.json"

	f := func(id string, sev model.Severity, st model.Status, p model.Package, fixed string) model.Finding {
		return model.Finding{ID: id, Severity: sev, Status: st, Package: p, InstalledVersion: p.Version, FixedVersion: fixed}
	}
	f1 := f("CVE-2024-0727", model.SeverityCritical, model.StatusFixed, openssl, "3.0.13-1~deb12u1")
	f1.Title = "openssl: denial of service via null dereference in PKCS12 parsing <and more>"
	f1.CVSS = []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Source: "nvd"}}
	f1.SeveritySource = "nvd"
	f1.KnownExploited, f1.KEVDateAdded = true, "2024-02-01"
	f1.Remediation = "Upgrade openssl to 3.0.13-1~deb12u1"
	f1.References = []string{"https://security-tracker.debian.org/tracker/CVE-2024-0727", "https://nvd.nist.gov/vuln/detail/CVE-2024-0727"}
	f1.DataSources = []string{"debian", "nvd"}
	f1.Published = &pub
	f2 := f("CVE-2023-5678", model.SeverityHigh, model.StatusFixed, openssl, "3.0.13-1~deb12u1")
	f2.Title = "openssl: Generating excessively long X9.42 DH keys or checking excessively long X9.42 DH keys or parameters may be very slow"
	f2.CVSS = []model.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", Score: 7.5}, {Version: "2.0", Vector: "AV:N/AC:L/Au:N/C:N/I:N/A:P", Score: 5.0}}
	f2.Remediation = "Upgrade openssl to 3.0.13-1~deb12u1"
	f3 := f("CVE-2023-45853", model.SeverityCritical, model.StatusWillNotFix, zlib, "")
	f3.Title = "zlib: integer overflow in MiniZip zipOpenNewFileInZip4_6"
	f3.Remediation = "No fix planned by debian (minor issue); consider removing zlib1g"
	f4 := f("CVE-2024-2961", model.SeverityMedium, model.StatusAffected, libc, "")
	f4.Title = "glibc: out of bounds write in iconv ISO-2022-CN-EXT"
	f4.Remediation = "No fix released yet for glibc"
	f4.CVSS = []model.CVSS{{Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", Score: 9.3, Source: "ghsa"}}
	f5 := f("GHSA-p6mc-m468-83gw", model.SeverityHigh, model.StatusNotAffected, lodash, "4.17.19")
	f5.Aliases = []string{"CVE-2020-8203"}
	f5.Title = "Prototype Pollution in lodash"
	f5.Remediation = "Upgrade lodash to 4.17.19"
	f5.Suppression = &model.Suppression{Kind: "vex", Justification: "vulnerable_code_not_in_execute_path", Reason: "zipObjectDeep is never called", Source: "vex.json"}
	f6 := f("GHSA-67hx-6x53-jw92", model.SeverityLow, model.StatusExempt, scoped, "7.23.2")
	f6.Title = "Babel vulnerable to arbitrary code execution when compiling specifically crafted malicious code"
	f6.Remediation = "Upgrade @babel/traverse to 7.23.2"
	f6.Suppression = &model.Suppression{Kind: "ignore-file", Reason: "build-time only", Expires: "2027-01-01", Source: ".bulwarkignore"}
	f7 := f("GHSA-p6mc-m468-83gw", model.SeverityHigh, model.StatusFixed, lodashOther, "4.17.19")
	f7.Aliases = f5.Aliases
	f7.Title = f5.Title
	f7.Remediation = f5.Remediation
	f8 := f("TEMP-0000000-ABCDEF", model.SeverityUnknown, model.StatusAffected, libc, "")
	f8.Remediation = "No fix released yet for glibc"

	findings := []model.Finding{f1, f2, f3, f4, f8, f5, f7, f6}
	var counts model.Counts
	suppressedN := 0
	for _, x := range findings {
		if x.Status == model.StatusNotAffected || x.Status == model.StatusExempt {
			suppressedN++
			continue
		}
		counts.Add(x.Severity)
	}
	return &model.Report{
		SchemaVersion: model.SchemaVersion,
		Tool:          model.Tool{Name: "bulwark", Version: "0.1.0-test"},
		GeneratedAt:   gen,
		Resource:      model.Resource{Kind: model.KindImage, ID: "sha256:1111111111111111111111111111111111111111111111111111111111111111", Name: "registry.example.com/team/app:1.4"},
		Image: model.ImageInfo{
			Reference: "registry.example.com/team/app:1.4", Source: "registry",
			Digest:       "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			ConfigDigest: "sha256:2222222222222222222222222222222222222222222222222222222222222222",
			Platform:     "linux/amd64", Created: "2026-11-01T10:00:00Z", Size: 123456789,
			Layers: []model.Layer{*base, {Index: 1, DiffID: "sha256:dddd000000000000000000000000000000000000000000000000000000000002", CreatedBy: "/bin/sh -c apt-get update", Base: true}, *app},
		},
		Distro:   &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)", IDLike: nil, EOL: true, EOLDate: "2026-06-10"},
		Packages: []model.Package{libc, openssl, zlib, scoped, lodash, lodashOther},
		Findings: findings,
		Summary: model.Summary{Verdict: model.VerdictUnhealthy, Healthy: false, Threshold: model.SeverityHigh, Counts: counts, Suppressed: suppressedN, Packages: 6,
			Coverage: []model.CoveragePart{
				{Name: "Debian:12", Kind: model.CoverageOS, Packages: 3, Assessed: true, Sources: []string{"debian-tracker"}},
				{Name: "npm", Kind: model.CoverageLanguage, Packages: 3, Assessed: true, Sources: []string{"osv:ghsa"}},
			},
			Upgrades: []model.Upgrade{
				{Package: "openssl", Type: model.TypeDeb, From: "3.0.11-1~deb12u2", To: "3.0.13-1~deb12u1", Fixes: []string{"CVE-2023-5678", "CVE-2024-0727"}, FixesCount: 2, Layer: base, Path: "/var/lib/dpkg/status"},
				{Package: "lodash", Type: model.TypeNPM, From: "4.17.4", To: "4.17.19", Fixes: []string{"GHSA-p6mc-m468-83gw"}, FixesCount: 1, Layer: app, Path: "/app/node_modules/x/package-lock.json"},
			}},
		DB:       &model.DBInfo{BuiltAt: time.Date(2026, 11, 17, 6, 0, 0, 0, time.UTC), Sources: []string{"debian", "ghsa", "nvd"}, Stale: false},
		Warnings: []model.Warning{{Stage: "catalog", Subject: "/usr/lib/python3/dist-packages/broken.dist-info/METADATA", Message: "parse python metadata: unexpected EOF"}, {Stage: "layer", Subject: "sha256:dddd…0002", Message: "tar entry too large,\n skipped"}},
	}
}

// notAssessedReport is an image of a distribution the DB has no advisories
// for, with an npm app the DB does cover and a bare binary.
func notAssessedReport() *model.Report {
	r := testReport()
	r.Distro = &model.Distro{ID: "rhel", VersionID: "9.4", PrettyName: "Red Hat Enterprise Linux 9.4 (Plow)"}
	r.Packages = []model.Package{
		{Name: "openssl-libs", Version: "3.0.7-27.el9", Type: model.TypeRPM, SourceName: "openssl-3.0.7-27.el9.src.rpm", PURL: "pkg:rpm/rhel/openssl-libs@3.0.7-27.el9", Path: "/var/lib/rpm/rpmdb.sqlite"},
		{Name: "left-pad", Version: "1.3.0", Type: model.TypeNPM, PURL: "pkg:npm/left-pad@1.3.0", Path: "/app/package-lock.json"},
		{Name: "node", Version: "20.11.1", Type: model.TypeBinary, Path: "/usr/local/bin/node"},
	}
	r.Findings = []model.Finding{}
	r.Summary = model.Summary{Verdict: model.VerdictNotAssessed, Threshold: model.SeverityMedium, Packages: 3,
		Coverage: []model.CoveragePart{
			{Name: "Red Hat:9", Kind: model.CoverageOS, Packages: 1, Reason: "no advisories for Red Hat 9 in the DB",
				Need: "Red Hat 9 advisories: the default upstreams of `bulwark db update` carry none yet"},
			{Name: "npm", Kind: model.CoverageLanguage, Packages: 1, Assessed: true, Sources: []string{"osv:ghsa"}},
			{Name: "binary", Kind: model.CoverageNone, Packages: 1, Reason: "no advisory source describes bare binaries by name and version"},
		}}
	r.Assessments = []model.Assessment{{Rule: "VULN-image", Status: model.AssessNotAssessed, Severity: model.SeverityHigh,
		Evidence: []string{"not assessed: Red Hat:9 (1 packages): no advisories for Red Hat 9 in the DB"}, ObservedAt: r.GeneratedAt}}
	r.Warnings = nil
	return r
}
