package ospkg

import (
	"testing"

	"github.com/package-url/packageurl-go"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func intp(i int) *int { return &i }

func TestApplyDistro(t *testing.T) {
	debian12 := &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"}
	for _, tc := range []struct {
		name string
		pkg  model.Package
		d    *model.Distro
		want string
	}{
		{"deb with source", model.Package{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, Arch: "amd64", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4"},
			debian12, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc"},
		{"deb source version differs", model.Package{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Type: model.TypeDeb, Arch: "amd64", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3"},
			debian12, "pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3"},
		{"deb is its own source", model.Package{Name: "tzdata", Version: "2024a-0+deb12u1", Type: model.TypeDeb, Arch: "all", SourceName: "tzdata", SourceVersion: "2024a-0+deb12u1"},
			debian12, "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12"},
		{"ubuntu", model.Package{Name: "bash", Version: "5.1-6ubuntu1", Type: model.TypeDeb, Arch: "amd64", SourceName: "bash", SourceVersion: "5.1-6ubuntu1"},
			&model.Distro{ID: "ubuntu", VersionID: "22.04"}, "pkg:deb/ubuntu/bash@5.1-6ubuntu1?arch=amd64&distro=ubuntu-22.04"},
		{"debian sid uses codename", model.Package{Name: "a", Version: "1", Type: model.TypeDeb},
			&model.Distro{ID: "debian", Codename: "trixie"}, "pkg:deb/debian/a@1?distro=debian-trixie"},
		{"apk", model.Package{Name: "libcrypto3", Version: "3.1.0-r4", Type: model.TypeAPK, Arch: "x86_64", SourceName: "openssl", SourceVersion: "3.1.0-r4"},
			&model.Distro{ID: "alpine", VersionID: "3.18.0"}, "pkg:apk/alpine/libcrypto3@3.1.0-r4?arch=x86_64&distro=alpine-3.18.0&upstream=openssl"},
		{"wolfi rolling", model.Package{Name: "glibc", Version: "2.39-r1", Type: model.TypeAPK, SourceName: "glibc", SourceVersion: "2.39-r1"},
			&model.Distro{ID: "wolfi", VersionID: ""}, "pkg:apk/wolfi/glibc@2.39-r1?distro=wolfi"},
		{"rpm epoch", model.Package{Name: "openssl-libs", Version: "3.0.7-2.el9", Epoch: intp(1), Type: model.TypeRPM, Arch: "x86_64", SourceName: "openssl", SourceVersion: "3.0.7-2.el9"},
			&model.Distro{ID: "rhel", VersionID: "9.3"}, "pkg:rpm/rhel/openssl-libs@3.0.7-2.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl"},
		{"opensuse leap", model.Package{Name: "glibc", Version: "2.31-9.3.2", Type: model.TypeRPM, SourceName: "glibc", SourceVersion: "2.31-9.3.2"},
			&model.Distro{ID: "opensuse-leap", VersionID: "15.5"}, "pkg:rpm/opensuse/glibc@2.31-9.3.2?distro=opensuse-leap-15.5"},
		{"no distro deb", model.Package{Name: "libc6", Version: "2.36", Type: model.TypeDeb, SourceName: "glibc", SourceVersion: "2.36"},
			nil, "pkg:deb/debian/libc6@2.36?upstream=glibc"},
		{"no distro apk", model.Package{Name: "musl", Version: "1.2.4-r0", Type: model.TypeAPK}, nil, "pkg:apk/alpine/musl@1.2.4-r0"},
		{"no distro rpm", model.Package{Name: "bash", Version: "5.1.8-9", Type: model.TypeRPM, Epoch: intp(0)}, nil, "pkg:rpm/redhat/bash@5.1.8-9?epoch=0"},
		{"language package untouched", model.Package{Name: "lodash", Version: "4.17.4", Type: model.TypeNPM, PURL: "pkg:npm/lodash@4.17.4"},
			debian12, "pkg:npm/lodash@4.17.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := []model.Package{tc.pkg}
			ApplyDistro(pkgs, tc.d)
			if pkgs[0].PURL != tc.want {
				t.Errorf("purl = %s\nwant   %s", pkgs[0].PURL, tc.want)
			}
			if _, err := packageurl.FromString(pkgs[0].PURL); err != nil {
				t.Errorf("purl does not parse back: %v", err)
			}
		})
	}
}
