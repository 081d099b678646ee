package ospkg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/model"
)

func TestDpkgWants(t *testing.T) {
	c := Dpkg()
	for _, tc := range []struct {
		path string
		size int64
		want bool
	}{
		{"var/lib/dpkg/status", 100, true},
		{"var/lib/dpkg/status.d/libssl3", 100, true},
		{"var/lib/dpkg/status.d/libssl3.md5sums", 100, false},
		{"var/lib/dpkg/status.d/libssl3.list", 100, false},
		{"var/lib/dpkg/status.d/sub/x", 100, false},
		{"var/lib/dpkg/status-old", 100, false},
		{"var/lib/dpkg/available", 100, false},
		{"var/lib/dpkg/status", dpkgMaxSize + 1, false},
	} {
		if got := c.Wants(tc.path, 0o644, tc.size); got != tc.want {
			t.Errorf("Wants(%q, %d) = %v, want %v", tc.path, tc.size, got, tc.want)
		}
	}
}

func TestStripBinNMU(t *testing.T) {
	for in, want := range map[string]string{
		"5.2.15-2+b13":          "5.2.15-2",
		"1:2.66-4+deb12u3+b1":   "1:2.66-4+deb12u3",
		"2.36-9+deb12u4":        "2.36-9+deb12u4",
		"1.0+bzr":               "1.0+bzr",
		"1.0+b":                 "1.0+b",
		"2.4+20151223.git-2+b2": "2.4+20151223.git-2",
	} {
		if got := stripBinNMU(in); got != want {
			t.Errorf("stripBinNMU(%q) = %q, want %q", in, got, want)
		}
	}
}

const dpkgSample = `Package: libc6
Status: install ok installed
Priority: optional
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5+deb12u3)
Version: 1:2.38.1-5+deb12u3

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b13
Source: bash (5.2.15-2)

Package: libbrotli1
Status: install ok installed
Architecture: amd64
Source: brotli
Version: 1.0.9-2+b6

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1

Package: oldkernel
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: gone
Status: purge ok not-installed
Version: 2.0

Package: noversion
Status: install ok installed
`

func TestDpkgParse(t *testing.T) {
	want := []model.Package{
		{Name: "libc6", Version: "2.36-9+deb12u4", Type: model.TypeDeb, Arch: "amd64", SourceName: "glibc", SourceVersion: "2.36-9+deb12u4",
			Metadata: map[string]string{"maintainer": "GNU Libc Maintainers <debian-glibc@lists.debian.org>"}},
		{Name: "bsdutils", Version: "1:2.38.1-5+deb12u3", Type: model.TypeDeb, Arch: "amd64", SourceName: "util-linux", SourceVersion: "2.38.1-5+deb12u3"},
		{Name: "bash", Version: "5.2.15-2+b13", Type: model.TypeDeb, Arch: "amd64", SourceName: "bash", SourceVersion: "5.2.15-2"},
		{Name: "libbrotli1", Version: "1.0.9-2+b6", Type: model.TypeDeb, Arch: "amd64", SourceName: "brotli", SourceVersion: "1.0.9-2"},
		{Name: "tzdata", Version: "2024a-0+deb12u1", Type: model.TypeDeb, Arch: "all", SourceName: "tzdata", SourceVersion: "2024a-0+deb12u1"},
	}
	for i := range want {
		want[i].Cataloger = "dpkg"
	}
	crlf := strings.ReplaceAll(dpkgSample, "\n", "\r\n")
	noTrailing := strings.TrimRight(dpkgSample, "\n")
	for _, tc := range []struct {
		name string
		data string
	}{
		{"lf", dpkgSample},
		{"crlf", crlf},
		{"no trailing newline", noTrailing},
		{"extra blank lines", "\n\n" + strings.ReplaceAll(dpkgSample, "\n\n", "\n\n\n") + "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Dpkg().Parse(context.Background(), catalog.File{Path: "var/lib/dpkg/status", Data: []byte(tc.data)})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDpkgStatusD(t *testing.T) {
	// Distroless: no Status line, the file's presence means installed; an
	// explicit non-installed Status is still honoured.
	for _, tc := range []struct {
		name, data string
		want       int
	}{
		{"no status", "Package: libssl3\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n", 1},
		{"config-files", "Package: x\nStatus: deinstall ok config-files\nVersion: 1\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Dpkg().Parse(context.Background(), catalog.File{Path: "var/lib/dpkg/status.d/libssl3", Data: []byte(tc.data)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d packages, want %d: %+v", len(got), tc.want, got)
			}
			if tc.want == 1 && (got[0].SourceName != "openssl" || got[0].SourceVersion != "3.0.11-1~deb12u2") {
				t.Errorf("source = %s %s", got[0].SourceName, got[0].SourceVersion)
			}
		})
	}
	// In the main status file a stanza without Status is not installed.
	got, err := Dpkg().Parse(context.Background(), catalog.File{Path: "var/lib/dpkg/status", Data: []byte("Package: x\nVersion: 1\n")})
	if err != nil || len(got) != 0 {
		t.Errorf("status without Status: got %v, %v; want none", got, err)
	}
}

func TestDpkgMalformed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		want    []string // package names kept
		wantErr bool
	}{
		{"bad stanza skipped", "Package: a\nStatus: install ok installed\nVersion: 1\n\nthis is junk\nPackage: b\nVersion: 2\n\nPackage: c\nStatus: install ok installed\nVersion: 3\n", []string{"a", "c"}, false},
		{"leading continuation", " orphan\nPackage: a\nStatus: install ok installed\nVersion: 1\n", nil, true},
		{"binary garbage", "\x00\x01\x02\xff\xfe", nil, true},
		{"empty", "", nil, false},
		{"comments only", "# nothing\n", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Dpkg().Parse(context.Background(), catalog.File{Path: "var/lib/dpkg/status", Data: []byte(tc.data)})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "var/lib/dpkg/status") {
				t.Errorf("error %q does not name the file", err)
			}
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("packages = %v, want %v", names, tc.want)
			}
		})
	}
}

func TestDpkgTooLarge(t *testing.T) {
	_, err := Dpkg().Parse(context.Background(), catalog.File{Path: "var/lib/dpkg/status", Data: make([]byte, dpkgMaxSize+1)})
	if err == nil {
		t.Fatal("oversized status file accepted")
	}
}

func FuzzDpkg(f *testing.F) {
	f.Add([]byte(dpkgSample))
	f.Add([]byte("Package: a\r\nVersion: 1\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, path := range []string{"var/lib/dpkg/status", "var/lib/dpkg/status.d/x"} {
			pkgs, err := Dpkg().Parse(context.Background(), catalog.File{Path: path, Data: data})
			if err != nil && pkgs != nil {
				t.Fatalf("packages returned with an error")
			}
			for _, p := range pkgs {
				if p.Name == "" || p.Version == "" || p.SourceName == "" {
					t.Fatalf("incomplete package %+v", p)
				}
			}
		}
	})
}

// benchStatus is the Ubuntu fixture when present (357 packages, 467 KB),
// else a synthetic file of the same shape.
func benchStatus(b *testing.B) []byte {
	data, err := os.ReadFile(filepath.Join(pkgdbDir, "dpkg/ubuntu-18.04-texlive/var/lib/dpkg/status"))
	if err == nil {
		return data
	}
	var buf bytes.Buffer
	for i := range 400 {
		fmt.Fprintf(&buf, "Package: pkg%d\nStatus: install ok installed\nArchitecture: amd64\nSource: src%d (1.%d-1)\nVersion: 1.%d-1+b1\nDescription: x\n %s\n\n", i, i, i, i, strings.Repeat("lorem ipsum ", 80))
	}
	return buf.Bytes()
}

func BenchmarkDpkg(b *testing.B) {
	data := benchStatus(b)
	c := Dpkg()
	f := catalog.File{Path: "var/lib/dpkg/status", Data: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Parse(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
}
