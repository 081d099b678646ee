package sbom

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
)

func decodeFile(t testing.TB, name string) *Document {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "peers", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := Decode(f)
	if err != nil {
		t.Fatalf("Decode %s: %v", name, err)
	}
	return doc
}

func byName(doc *Document) map[string]model.Package {
	m := map[string]model.Package{}
	for _, p := range doc.Packages {
		m[p.Name] = p
	}
	return m
}

func TestPeerSBOMs(t *testing.T) {
	tests := []struct {
		file, format string
		n            int
		typ          model.PackageType
		distroID     string
		distroVer    string
		source       map[string][2]string // package → source name, version ("" = unchecked)
		layer        bool
	}{
		{"syft-debian-12-minbase.cyclonedx.json", FormatCycloneDX, 88, model.TypeDeb, "debian", "12.15",
			map[string][2]string{"libc6": {"glibc", ""}, "bsdutils": {"util-linux", "2.38.1-5+deb12u3"}, "login": {"shadow", ""}, "zlib1g": {"zlib", ""}, "perl-base": {"perl", ""}}, false},
		{"syft-debian-12-minbase.spdx.json", FormatSPDX, 88, model.TypeDeb, "debian", "12.15",
			map[string][2]string{"libc6": {"glibc", ""}, "bsdutils": {"util-linux", "2.38.1-5+deb12u3"}, "zlib1g": {"zlib", ""}}, false},
		{"trivy-shaped-debian-12-minbase.cyclonedx.json", FormatCycloneDX, 88, model.TypeDeb, "debian", "12.15",
			map[string][2]string{"libc6": {"glibc", "2.36-9+deb12u14"}, "bsdutils": {"util-linux", "2.38.1-5+deb12u3"}, "zlib1g": {"zlib", "1:1.2.13.dfsg-1"}}, true},
		{"syft-alpine-3.18-base.cyclonedx.json", FormatCycloneDX, 15, model.TypeAPK, "", "",
			map[string][2]string{"libcrypto3": {"openssl", ""}, "musl": {"musl", ""}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			doc := decodeFile(t, tc.file)
			if doc.Format != tc.format {
				t.Errorf("format = %q, want %q", doc.Format, tc.format)
			}
			if len(doc.Packages) != tc.n {
				t.Fatalf("%d packages, want %d", len(doc.Packages), tc.n)
			}
			for _, p := range doc.Packages {
				if p.Type != tc.typ || p.Name == "" || p.Version == "" {
					t.Fatalf("package %+v: want type %s with name and version", p, tc.typ)
				}
			}
			switch {
			case tc.distroID == "" && doc.Distro != nil:
				t.Errorf("distro = %+v, want none", doc.Distro)
			case tc.distroID != "" && (doc.Distro == nil || doc.Distro.ID != tc.distroID || doc.Distro.VersionID != tc.distroVer):
				t.Errorf("distro = %+v, want %s %s", doc.Distro, tc.distroID, tc.distroVer)
			}
			pkgs := byName(doc)
			for name, src := range tc.source {
				p, ok := pkgs[name]
				if !ok {
					t.Errorf("no package %s", name)
					continue
				}
				if p.SourceName != src[0] || (src[1] != "" && p.SourceVersion != src[1]) {
					t.Errorf("%s source = %s %s, want %s %s", name, p.SourceName, p.SourceVersion, src[0], src[1])
				}
			}
			if tc.layer {
				if l := pkgs["libc6"].Layer; l == nil || !strings.HasPrefix(l.DiffID, "sha256:d1") || !strings.HasPrefix(l.Digest, "sha256:a1") {
					t.Errorf("libc6 layer = %+v", l)
				}
			}
		})
	}
	// Version with epoch is kept whole (bsdutils 1:2.38.1-5+deb12u3).
	if p := byName(decodeFile(t, "syft-debian-12-minbase.cyclonedx.json"))["bsdutils"]; p.Version != "1:2.38.1-5+deb12u3" || p.Arch != "amd64" || p.Path != "/var/lib/dpkg/status" {
		t.Errorf("bsdutils = %+v", p)
	}
	trivy := decodeFile(t, "trivy-shaped-debian-12-minbase.cyclonedx.json")
	if trivy.Subject.Reference != "debian:12" || trivy.Subject.Digest != "sha256:"+strings.Repeat("11", 32) || trivy.Subject.ConfigDigest == "" {
		t.Errorf("trivy subject = %+v", trivy.Subject)
	}
}

func fixtureReport() *model.Report {
	layer := &model.Layer{Index: 1, Digest: "sha256:aa", DiffID: "sha256:dd", CreatedBy: "RUN npm ci", Base: false}
	return &model.Report{
		SchemaVersion: model.SchemaVersion,
		Tool:          model.Tool{Name: "bulwark", Version: "test"},
		GeneratedAt:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Image:         model.ImageInfo{Reference: "docker.io/library/app:1", Source: "registry", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111", ConfigDigest: "sha256:22"},
		Distro:        &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"},
		Packages: []model.Package{
			{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, PURL: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4", Arch: "amd64", Path: "/var/lib/dpkg/status", Licenses: []string{"LGPL-2.1-only"}},
			{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Type: model.TypeDeb, PURL: "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3", Arch: "amd64", Path: "/var/lib/dpkg/status"},
			{Name: "@babel/core", Version: "7.22.5", Type: model.TypeNPM, PURL: "pkg:npm/%40babel/core@7.22.5", Path: "/app/package-lock.json", Layer: layer, Licenses: []string{"MIT"}},
			{Name: "lodash", Version: "4.17.21", Type: model.TypeNPM, PURL: "pkg:npm/lodash@4.17.21", Path: "/app/package-lock.json", Layer: layer},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []report.Format{report.FormatCycloneDX, report.FormatSPDXJSON} {
		t.Run(string(f), func(t *testing.T) {
			r := fixtureReport()
			var buf bytes.Buffer
			if err := report.WriteSBOM(&buf, f, r, report.Options{}); err != nil {
				t.Fatal(err)
			}
			doc, err := Decode(&buf)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(doc.Packages) != len(r.Packages) {
				t.Fatalf("%d packages, want %d", len(doc.Packages), len(r.Packages))
			}
			for i, want := range r.Packages {
				got := doc.Packages[i]
				if got.Name != want.Name || got.Version != want.Version || got.Type != want.Type || got.PURL != want.PURL ||
					got.SourceName != want.SourceName || got.SourceVersion != want.SourceVersion || got.Path != want.Path {
					t.Errorf("package %d:\n got %+v\nwant %+v", i, got, want)
				}
			}
			if doc.Distro == nil || doc.Distro.ID != "debian" || doc.Distro.VersionID != "12" {
				t.Errorf("distro = %+v", doc.Distro)
			}
			if doc.Subject.Digest != r.Image.Digest || doc.Subject.Reference != r.Image.Reference {
				t.Errorf("subject = %+v", doc.Subject)
			}
			if f == report.FormatCycloneDX {
				l := doc.Packages[2].Layer
				if l == nil || *l != *r.Packages[2].Layer {
					t.Errorf("layer = %+v, want %+v", l, r.Packages[2].Layer)
				}
				if doc.Distro.Codename != "bookworm" {
					t.Errorf("codename = %q", doc.Distro.Codename)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"whitespace", "  \n ", "empty input"},
		{"cyclonedx xml", `<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"></bom>`, "XML"},
		{"spdx tag-value", "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n", "tag-value"},
		{"garbage", "\x00\x01garbage", "not a JSON object"},
		{"json array", `[1,2]`, "not a JSON object"},
		{"other json", `{"name":"x"}`, "without bomFormat"},
		{"spdx 3", `{"spdxVersion":"SPDX-3.0"}`, "SPDX-3.0"},
		{"broken json", `{"bomFormat":"CycloneDX",`, "invalid JSON"},
		{"cdx wrong types", `{"bomFormat":"CycloneDX","specVersion":"1.5","components":{}}`, "decode cyclonedx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want containing %q", err, tc.want)
			}
		})
	}
	_, err := Decode(strings.NewReader("<bom/>"))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("XML error %v does not wrap ErrUnsupported", err)
	}
	big := `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}` + strings.Repeat(" ", 100)
	if _, err := Decode(strings.NewReader(big), WithMaxSize(64)); err == nil || !strings.Contains(err.Error(), "larger than 64") {
		t.Errorf("size limit: %v", err)
	}
	if doc, err := Decode(strings.NewReader("\xef\xbb\xbf" + `{"bomFormat":"CycloneDX","specVersion":"1.5"}`)); err != nil || doc.Format != FormatCycloneDX || len(doc.Packages) != 0 {
		t.Errorf("BOM-prefixed empty CycloneDX: %v %+v", err, doc)
	}
}

func TestPURLMapping(t *testing.T) {
	tests := []struct {
		purl, name, typ, src, srcVer, distro string
	}{
		{"pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12&upstream=glibc", "libc6", "deb", "glibc", "", "debian-12"},
		{"pkg:deb/debian/bash@5.2.15-2%2Bb13?upstream=bash%405.2.15-2", "bash", "deb", "bash", "5.2.15-2", ""},
		{"pkg:rpm/redhat/glibc@2.28-225.el8?arch=x86_64&upstream=glibc-2.28-225.el8.src.rpm&epoch=1", "glibc", "rpm", "glibc", "2.28-225.el8", ""},
		{"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1", "com.fasterxml.jackson.core:jackson-databind", "java-archive", "", "", ""},
		{"pkg:golang/github.com/foo/bar@v1.2.3", "github.com/foo/bar", "go-module", "", "", ""},
		{"pkg:npm/%40scope/pkg@1.0.0", "@scope/pkg", "npm", "", "", ""},
		{"pkg:composer/laravel/framework@10.0.0", "laravel/framework", "php-composer", "", "", ""},
		{"pkg:pypi/requests@2.31.0", "requests", "python", "", "", ""},
		{"pkg:nuget/Newtonsoft.Json@12.0.3", "Newtonsoft.Json", "dotnet", "", "", ""},
		{"pkg:cargo/serde@1.0.0", "serde", "rust-crate", "", "", ""},
		{"pkg:gem/rails@7.0.0", "rails", "gem", "", "", ""},
		{"pkg:apk/alpine/musl@1.2.4-r0?distro=alpine-3.18.0&upstream=musl", "musl", "apk", "musl", "", "alpine-3.18.0"},
		{"pkg:github/actions/checkout@v4", "checkout", "github", "", "", ""},
	}
	for _, tc := range tests {
		p, distro, err := pkgFromPURL(tc.purl)
		if err != nil {
			t.Errorf("%s: %v", tc.purl, err)
			continue
		}
		if p.Name != tc.name || string(p.Type) != tc.typ || p.SourceName != tc.src || p.SourceVersion != tc.srcVer || distro != tc.distro {
			t.Errorf("%s → name %q type %q src %q %q distro %q", tc.purl, p.Name, p.Type, p.SourceName, p.SourceVersion, distro)
		}
	}
	if p, _, _ := pkgFromPURL("pkg:rpm/redhat/glibc@2.28?epoch=1"); p.Epoch == nil || *p.Epoch != 1 {
		t.Errorf("epoch = %v", p.Epoch)
	}
	if _, _, err := pkgFromPURL("not-a-purl"); err == nil {
		t.Error("bad purl: want error")
	}
	for in, want := range map[string]model.Distro{
		"debian-12": {ID: "debian", VersionID: "12"}, "debian-12.5": {ID: "debian", VersionID: "12.5"},
		"opensuse-leap-15.5": {ID: "opensuse-leap", VersionID: "15.5"}, "wolfi": {ID: "wolfi"},
	} {
		if got := parseDistroQualifier(in); got == nil || got.ID != want.ID || got.VersionID != want.VersionID {
			t.Errorf("parseDistroQualifier(%q) = %+v", in, got)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"syft-debian-12-minbase.cyclonedx.json", "syft-debian-12-minbase.spdx.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "peers", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Decode(bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","purl":"pkg:deb/debian/a@1?distro=debian-12&upstream=b%401"}]}`))
	f.Add([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"SPDXID":"SPDXRef-a","name":"a","sourceInfo":"built package from: b 1","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:npm/a@1"}]}]}`))
	f.Add([]byte(`<bom/>`))
	f.Add([]byte("SPDXVersion: SPDX-2.3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(bytes.NewReader(data), WithMaxSize(1<<20))
		if err == nil && doc == nil {
			t.Fatal("nil document without error")
		}
	})
}
