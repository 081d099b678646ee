package lang

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

const npmLockV1 = `{
  "lockfileVersion": 1,
  "dependencies": {
    "a": {"version": "1.0.0", "dependencies": {"b": {"version": "2.0.0", "dev": true}}},
    "b": {"version": "3.0.0"},
    "@s/c": {"version": "4.0.0", "dev": true},
    "local": {"version": "file:../local"}
  }
}`

const npmLockV3 = `{
  "name": "root", "version": "9.9.9", "lockfileVersion": 3,
  "packages": {
    "": {"name": "root", "version": "9.9.9"},
    "packages/ws": {"name": "ws-member", "version": "0.0.1"},
    "node_modules/ws-member": {"resolved": "packages/ws", "link": true},
    "node_modules/a": {"version": "1.0.0", "license": "MIT"},
    "node_modules/a/node_modules/b": {"version": "2.0.0", "dev": true},
    "node_modules/@s/c": {"version": "4.0.0", "dev": true, "license": "ISC"},
    "node_modules/x/node_modules/a": {"version": "1.0.0", "dev": true},
    "node_modules/alias": {"name": "real-name", "version": "5.0.0"}
  }
}`

func TestNPMLock(t *testing.T) {
	type want struct {
		name, version, purl string
		dev                 bool
		licenses            int
	}
	cases := []struct {
		name    string
		data    string
		count   int
		want    []want
		missing []string
	}{
		{"v1", npmLockV1, 4, []want{
			{"a", "1.0.0", "pkg:npm/a@1.0.0", false, 0},
			{"b", "2.0.0", "pkg:npm/b@2.0.0", true, 0},
			{"b", "3.0.0", "pkg:npm/b@3.0.0", false, 0},
			{"@s/c", "4.0.0", "pkg:npm/%40s/c@4.0.0", true, 0},
		}, []string{"local"}},
		{"v3", npmLockV3, 4, []want{
			// a is installed twice, once for production: not dev.
			{"a", "1.0.0", "pkg:npm/a@1.0.0", false, 1},
			{"b", "2.0.0", "pkg:npm/b@2.0.0", true, 0},
			{"@s/c", "4.0.0", "pkg:npm/%40s/c@4.0.0", true, 1},
			{"real-name", "5.0.0", "pkg:npm/real-name@5.0.0", false, 0},
			{"ws-member", "0.0.1", "pkg:npm/ws-member@0.0.1", false, 0},
		}, []string{"root"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, NPMLock(), catalog.File{Path: "app/package-lock.json", Data: []byte(tc.data)})
			if len(pkgs) != tc.count {
				t.Errorf("got %d packages, want %d: %+v", len(pkgs), tc.count, pkgs)
			}
			for _, w := range tc.want {
				if w.name == "ws-member" {
					// Workspace members are the project's own code, not installed
					// dependencies; they must not be reported.
					if hasName(pkgs, w.name) {
						t.Errorf("workspace member %s reported", w.name)
					}
					continue
				}
				p := find(t, pkgs, w.name, w.version)
				if p.PURL != w.purl || p.Dev != w.dev || len(p.Licenses) != w.licenses {
					t.Errorf("%s@%s: purl %q dev %v licenses %v; want %q %v %d", w.name, w.version, p.PURL, p.Dev, p.Licenses, w.purl, w.dev, w.licenses)
				}
			}
			for _, n := range tc.missing {
				if hasName(pkgs, n) {
					t.Errorf("%s should not be reported", n)
				}
			}
		})
	}
}

func TestNPMLockErrors(t *testing.T) {
	for _, data := range []string{"", "{", `{"packages": []}`, `{"dependencies": {"a": 1}}`, "[1,2]"} {
		if _, err := NPMLock().Parse(context.Background(), catalog.File{Path: "package-lock.json", Data: []byte(data)}); err == nil {
			t.Errorf("Parse(%q): want error", data)
		}
	}
}

func TestNPMWants(t *testing.T) {
	checkWants(t, NPMLock(), []wantsCase{
		{"app/package-lock.json", 0o644, 10, true},
		{"package-lock.json", 0o644, 10, true},
		{"app/node_modules/.package-lock.json", 0o644, 10, false},
		{"app/node_modules/foo/package-lock.json", 0o644, 10, false},
		{"app/package-lock.json", 0o644, 0, false},
		{"app/package-lock.json", 0o644, maxManifestSize + 1, false},
		{"app/package.json", 0o644, 10, false},
	})
	checkWants(t, NPMPackage(), []wantsCase{
		{"app/node_modules/foo/package.json", 0o644, 10, true},
		{"node_modules/foo/package.json", 0o644, 10, true},
		{"app/node_modules/@scope/foo/package.json", 0o644, 10, true},
		{"app/node_modules/a/node_modules/b/package.json", 0o644, 10, true},
		{"app/node_modules/.pnpm/x@1/node_modules/x/package.json", 0o644, 10, true},
		{"app/node_modules/foo/lib/package.json", 0o644, 10, false},
		{"app/node_modules/.bin/package.json", 0o644, 10, false},
		{"app/package.json", 0o644, 10, false},
		{"app/node_modules/foo/package.json.bak", 0o644, 10, false},
	})
}

func TestNPMPackage(t *testing.T) {
	cases := []struct {
		name, data, wantName, wantVersion, wantPURL string
		wantLicenses                                []string
	}{
		{"string license", `{"name":"lodash","version":"4.17.4","license":"MIT"}`, "lodash", "4.17.4", "pkg:npm/lodash@4.17.4", []string{"MIT"}},
		{"object license", `{"name":"@a/b","version":"1.0.0","license":{"type":"ISC"}}`, "@a/b", "1.0.0", "pkg:npm/%40a/b@1.0.0", []string{"ISC"}},
		{"legacy licenses", `{"name":"c","version":"2.0.0","licenses":[{"type":"MIT"},"BSD"]}`, "c", "2.0.0", "pkg:npm/c@2.0.0", []string{"MIT", "BSD"}},
		{"no version", `{"name":"c"}`, "", "", "", nil},
		{"no name", `{"version":"1.0.0"}`, "", "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, NPMPackage(), catalog.File{Path: "node_modules/x/package.json", Data: []byte(tc.data)})
			if tc.wantName == "" {
				if len(pkgs) != 0 {
					t.Fatalf("got %+v, want nothing", pkgs)
				}
				return
			}
			if len(pkgs) != 1 {
				t.Fatalf("got %d packages, want 1", len(pkgs))
			}
			p := pkgs[0]
			if p.Name != tc.wantName || p.Version != tc.wantVersion || p.PURL != tc.wantPURL || len(p.Licenses) != len(tc.wantLicenses) {
				t.Fatalf("got %+v", p)
			}
			for i := range tc.wantLicenses {
				if p.Licenses[i] != tc.wantLicenses[i] {
					t.Errorf("license %d = %q, want %q", i, p.Licenses[i], tc.wantLicenses[i])
				}
			}
		})
	}
	if _, err := NPMPackage().Parse(context.Background(), catalog.File{Path: "node_modules/x/package.json", Data: []byte("{")}); err == nil {
		t.Error("truncated JSON: want error")
	}
}

func TestNPMFixtures(t *testing.T) {
	cases := []struct {
		rel     string
		count   int
		devs    int
		name    string
		version string
	}{
		{"npm/trivy-integration/package-lock.json", 13, 1, "jquery", "3.3.9"},
		{"npm/trivy-integration/package-lock.json", 13, 1, "z-lock", "1.0.0"},
		{"npm/osv-scanner-in-place-npm/package-lock.json", 106, 0, "minimist", "1.2.8"},
		{"npm/scalibr-nested-dup-v1/package-lock.json", 39, 0, "supports-color", "6.1.0"},
		// 36 install locations, only two distinct supports-color versions.
		{"npm/scalibr-nested-dup-v2/package-lock.json", 2, 0, "supports-color", "2.0.0"},
	}
	for _, tc := range cases {
		t.Run(tc.rel, func(t *testing.T) {
			pkgs := mustParse(t, NPMLock(), fixture(t, tc.rel))
			devs := 0
			for _, p := range pkgs {
				if p.Dev {
					devs++
				}
			}
			if len(pkgs) != tc.count || devs != tc.devs {
				t.Errorf("got %d packages (%d dev), want %d (%d dev)", len(pkgs), devs, tc.count, tc.devs)
			}
			p := find(t, pkgs, tc.name, tc.version)
			if tc.name == "z-lock" && !p.Dev {
				t.Errorf("z-lock should be dev")
			}
		})
	}
	rel := "npm/trivy-integration-pnpm/node_modules/.pnpm/lodash@4.17.4/node_modules/lodash/package.json"
	if !NPMPackage().Wants(rel, 0o644, 652) {
		t.Errorf("NPMPackage does not want %s", rel)
	}
	pkgs := mustParse(t, NPMPackage(), fixture(t, rel))
	if p := find(t, pkgs, "lodash", "4.17.4"); p.PURL != "pkg:npm/lodash@4.17.4" || len(p.Licenses) != 1 || p.Licenses[0] != "MIT" {
		t.Errorf("lodash: %+v", p)
	}
}

func FuzzNPMLock(f *testing.F) {
	f.Add([]byte(npmLockV1))
	f.Add([]byte(npmLockV3))
	c := NPMLock()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "package-lock.json", data) })
}

func FuzzNPMPackage(f *testing.F) {
	f.Add([]byte(`{"name":"@a/b","version":"1.0.0","license":{"type":"ISC"}}`))
	c := NPMPackage()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "node_modules/x/package.json", data) })
}
