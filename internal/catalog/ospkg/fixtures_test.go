package ospkg

import (
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// pkgdbDir is the shared fixture tree, a sibling of the module root.
const pkgdbDir = "../../../../shared/fixtures/pkgdb"

// parseFixture runs c on the fixture at rel (under pkgdbDir), whose path
// inside the image is imagePath.
func parseFixture(t *testing.T, c catalog.Cataloger, rel, imagePath string) []model.Package {
	t.Helper()
	full := filepath.Join(pkgdbDir, rel)
	data, err := os.ReadFile(full)
	if os.IsNotExist(err) {
		testenv.Skipf(t, "needs ../shared/fixtures/pkgdb (%s)", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !c.Wants(imagePath, 0o644, int64(len(data))) {
		t.Fatalf("%s does not want %s", c.Name(), imagePath)
	}
	pkgs, err := c.Parse(context.Background(), catalog.File{Path: imagePath, Mode: 0o644, Data: data})
	if err != nil {
		t.Fatalf("parse %s: %v", rel, err)
	}
	return pkgs
}

func byName(pkgs []model.Package) map[string]model.Package {
	m := make(map[string]model.Package, len(pkgs))
	for _, p := range pkgs {
		m[p.Name] = p
	}
	return m
}

func TestFixturesDpkg(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		count int
		check map[string][3]string // name → version, source name, source version
	}{
		{"debian-12-minbase", 88, map[string][3]string{
			"libc6":    {"2.36-9+deb12u14", "glibc", "2.36-9+deb12u14"},
			"bsdutils": {"1:2.38.1-5+deb12u3", "util-linux", "2.38.1-5+deb12u3"},
			"bash":     {"5.2.15-2+b13", "bash", "5.2.15-2"},
			"zlib1g":   {"", "zlib", ""},
			"login":    {"", "shadow", ""},
		}},
		{"debian-12-minbase-plus-curl-openssl", 109, map[string][3]string{
			"libssl3": {"3.0.20-1~deb12u2", "openssl", "3.0.20-1~deb12u2"},
			"curl":    {"7.88.1-10+deb12u15", "curl", "7.88.1-10+deb12u15"},
		}},
		{"ubuntu-18.04-texlive", 357, nil},
		{"debian-10-postgresql", 3, nil},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			pkgs := parseFixture(t, Dpkg(), filepath.Join("dpkg", tc.dir, "var/lib/dpkg/status"), "var/lib/dpkg/status")
			if len(pkgs) != tc.count {
				t.Errorf("got %d packages, want %d", len(pkgs), tc.count)
			}
			m := byName(pkgs)
			for name, w := range tc.check {
				p, ok := m[name]
				if !ok {
					t.Errorf("%s missing", name)
					continue
				}
				if (w[0] != "" && p.Version != w[0]) || p.SourceName != w[1] || (w[2] != "" && p.SourceVersion != w[2]) {
					t.Errorf("%s: got %s, source %s %s; want %v", name, p.Version, p.SourceName, p.SourceVersion, w)
				}
				if p.Arch == "" {
					t.Errorf("%s: no arch", name)
				}
			}
		})
	}
}

func TestFixturesDpkgStatusD(t *testing.T) {
	pkgs := parseFixture(t, Dpkg(), "dpkg/distroless-status.d/var/lib/dpkg/status.d/libsqlite3-0", "var/lib/dpkg/status.d/libsqlite3-0")
	if len(pkgs) != 1 || pkgs[0].Name != "libsqlite3-0" || pkgs[0].Version != "3.34.1-3" || pkgs[0].SourceName != "sqlite3" || pkgs[0].Arch != "arm64" {
		t.Errorf("got %+v", pkgs)
	}
	if Dpkg().Wants("var/lib/dpkg/status.d/libsqlite3-0.md5sums", 0o644, 459) {
		t.Error("wants the md5sums file")
	}
	// A status.d file whose Status says config-files is not installed.
	pkgs = parseFixture(t, Dpkg(), "dpkg/syft-status.d-samples/deinstall", "var/lib/dpkg/status.d/deinstall")
	for _, p := range pkgs {
		if p.Name == "linux-image-6.8.0-1029-aws" {
			t.Errorf("config-files package reported: %+v", p)
		}
	}
	if m := byName(pkgs); m["linux-image-6.14.0-1012-aws"].SourceName != "linux-signed-aws-6.14" {
		t.Errorf("installed kernel missing or wrong source: %+v", pkgs)
	}
}

func TestFixturesAPK(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		count int
		check map[string][2]string // name → version, origin
	}{
		{"alpine-3.18-base", 15, map[string][2]string{
			"musl": {"1.2.4-r0", "musl"}, "busybox": {"1.36.0-r9", "busybox"},
			"libcrypto3": {"3.1.0-r4", "openssl"}, "libssl3": {"3.1.0-r4", "openssl"},
			"zlib": {"1.2.13-r1", "zlib"}, "apk-tools": {"2.14.0-r0", "apk-tools"},
		}},
		{"alpine-3.16-base", 14, map[string][2]string{"busybox": {"1.35.0-r17", "busybox"}, "libcrypto1.1": {"1.1.1q-r0", "openssl"}}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			pkgs := parseFixture(t, APK(), filepath.Join("apk", tc.dir, "lib/apk/db/installed"), "lib/apk/db/installed")
			if len(pkgs) != tc.count {
				t.Errorf("got %d packages, want %d", len(pkgs), tc.count)
			}
			m := byName(pkgs)
			for name, w := range tc.check {
				p := m[name]
				if p.Version != w[0] || p.SourceName != w[1] || p.SourceVersion != w[0] || len(p.Licenses) == 0 {
					t.Errorf("%s: %+v, want version %s origin %s", name, p, w[0], w[1])
				}
			}
		})
	}
}

func TestFixturesRPM(t *testing.T) {
	for _, tc := range []struct {
		rel, imagePath string
		count, sources int
		check          func(t *testing.T, m map[string]model.Package)
	}{
		{"rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite", "var/lib/rpm/rpmdb.sqlite", 129, 0, func(t *testing.T, m map[string]model.Package) {
			p := m["ca-certificates-base"]
			if p.Epoch == nil || *p.Epoch != 1 || p.SourceName != "ca-certificates" || p.Version != "2.0.0-1.cm2" {
				t.Errorf("ca-certificates-base: %+v", p)
			}
			if p := m["glibc"]; p.Epoch != nil || p.Version != "2.34-2.cm2" || p.Arch != "x86_64" {
				t.Errorf("glibc: %+v", p)
			}
		}},
		{"rpm/sle15-bci/var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db", 35, 29, func(t *testing.T, m map[string]model.Package) {
			if p := m["glibc"]; p.Version != "2.31-9.3.2" || p.SourceName != "glibc" || len(p.Licenses) != 1 {
				t.Errorf("glibc: %+v", p)
			}
		}},
		{"rpm/bdb-libuuid/var/lib/rpm/Packages", "var/lib/rpm/Packages", 1, 1, func(t *testing.T, m map[string]model.Package) {
			p := m["libuuid"]
			if p.Version != "2.32.1-42.el8_8" || p.SourceName != "util-linux" || p.SourceVersion != "2.32.1-42.el8_8" || p.Arch != "x86_64" {
				t.Errorf("libuuid: %+v", p)
			}
		}},
		{"rpm/grype-centos-match-coverage/var/lib/rpm/Packages", "var/lib/rpm/Packages", 1, 1, func(t *testing.T, m map[string]model.Package) {
			if p := m["dive"]; p.Version != "0.9.2-1" {
				t.Errorf("dive: %+v", p)
			}
		}},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			pkgs := parseFixture(t, RPM(), tc.rel, tc.imagePath)
			if len(pkgs) != tc.count {
				t.Errorf("got %d packages, want %d", len(pkgs), tc.count)
			}
			srcs := map[string]bool{}
			for _, p := range pkgs {
				srcs[p.Metadata["source_rpm"]] = true
			}
			if tc.sources > 0 && len(srcs) != tc.sources {
				t.Errorf("got %d source rpms, want %d", len(srcs), tc.sources)
			}
			tc.check(t, byName(pkgs))
		})
	}
}
