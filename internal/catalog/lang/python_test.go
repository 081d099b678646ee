package lang

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

const pyMetadata = "Metadata-Version: 2.1\nName: Foo_Bar.baz\nVersion: 1.2.3\nLicense: Apache-2.0\nClassifier: License :: OSI Approved :: MIT License\n\nName: ignored-body\n"

func TestPythonMetadata(t *testing.T) {
	cases := []struct {
		name, data, wantName, wantVersion, wantPURL string
		wantLicenses                                []string
	}{
		{"dist-info", pyMetadata, "Foo_Bar.baz", "1.2.3", "pkg:pypi/foo-bar-baz@1.2.3", []string{"Apache-2.0"}},
		{"license expression wins", "Name: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: MIT\n", "a", "1", "pkg:pypi/a@1", []string{"MIT OR Apache-2.0"}},
		{"long licence text falls back to classifiers", "Name: b\nVersion: 2.0\nLicense: Copyright (c) someone\n        all rights reserved\nClassifier: License :: OSI Approved :: BSD License\nClassifier: Topic :: Utilities\n", "b", "2.0", "pkg:pypi/b@2.0", []string{"BSD License"}},
		{"UNKNOWN licence", "Name: c\r\nVersion: 3\r\nLicense: UNKNOWN\r\n", "c", "3", "pkg:pypi/c@3", nil},
		{"headers stop at blank line", "Name: d\n\nVersion: 4\n", "", "", "", nil},
		{"no name", "Version: 4\n", "", "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, Python(), catalog.File{Path: "usr/lib/python3/site-packages/x-1.dist-info/METADATA", Data: []byte(tc.data)})
			if tc.wantName == "" {
				if len(pkgs) != 0 {
					t.Fatalf("got %+v, want nothing", pkgs)
				}
				return
			}
			if len(pkgs) != 1 {
				t.Fatalf("got %d packages", len(pkgs))
			}
			p := pkgs[0]
			if p.Name != tc.wantName || p.Version != tc.wantVersion || p.PURL != tc.wantPURL {
				t.Errorf("got %s %s %s", p.Name, p.Version, p.PURL)
			}
			if strings.Join(p.Licenses, "|") != strings.Join(tc.wantLicenses, "|") {
				t.Errorf("licenses %q, want %q", p.Licenses, tc.wantLicenses)
			}
		})
	}
	long := "Name: e\nVersion: 1\nSummary: " + strings.Repeat("x", maxPythonHeaderLine+10) + "\n"
	if _, err := Python().Parse(context.Background(), catalog.File{Path: "a.egg-info", Data: []byte(long)}); err == nil {
		t.Error("over-long header line: want error")
	}
}

func TestPythonWants(t *testing.T) {
	checkWants(t, Python(), []wantsCase{
		{"usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA", 0o644, 100, true},
		{"usr/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO", 0o644, 100, true},
		{"usr/lib/python3/dist-packages/six-1.16.0.egg-info", 0o644, 100, true},
		{"usr/lib/python3/dist-packages/requests-2.0.dist-info/RECORD", 0o644, 100, false},
		{"usr/lib/python3/dist-packages/x/METADATA", 0o644, 100, false},
		{"usr/lib/python3/dist-packages/x/PKG-INFO", 0o644, 100, false},
		{"usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA", 0o644, 0, false},
	})
}

func TestPythonNormalizeName(t *testing.T) {
	for in, want := range map[string]string{"Django": "django", "zope.interface": "zope-interface", "A__b-.-C": "a-b-c", "ruamel.yaml.clib": "ruamel-yaml-clib"} {
		if got := normalizePythonName(in); got != want {
			t.Errorf("normalizePythonName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPythonFixtures(t *testing.T) {
	cases := []struct{ rel, name, version, license string }{
		{"python/site-packages-samples/distinfo_METADATA", "pip", "22.2.2", "MIT"},
		{"python/site-packages-samples/egginfo_PKG-INFO", "setuptools", "57.4.0", "MIT License"},
	}
	for _, tc := range cases {
		pkgs := mustParse(t, Python(), fixture(t, tc.rel))
		if len(pkgs) != 1 {
			t.Fatalf("%s: got %d packages", tc.rel, len(pkgs))
		}
		p := find(t, pkgs, tc.name, tc.version)
		if len(p.Licenses) != 1 || p.Licenses[0] != tc.license || p.PURL != "pkg:pypi/"+tc.name+"@"+tc.version {
			t.Errorf("%s: %+v", tc.rel, p)
		}
	}
}

func FuzzPythonMetadata(f *testing.F) {
	f.Add([]byte(pyMetadata))
	c := Python()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "x.dist-info/METADATA", data) })
}
