package catalog

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func TestDedupe(t *testing.T) {
	npm := func(name, ver, path string, dev bool) model.Package {
		return model.Package{Type: model.TypeNPM, Name: name, Version: ver, Path: path, Dev: dev}
	}
	tests := []struct {
		name string
		in   []model.Package
		want []string // paths kept, in order
		dev  map[string]bool
	}{
		{"lock and installed merge to installed",
			[]model.Package{npm("lodash", "4.17.4", "/app/package-lock.json", true), npm("lodash", "4.17.4", "/app/node_modules/lodash/package.json", false)},
			[]string{"/app/node_modules/lodash/package.json"}, map[string]bool{"/app/node_modules/lodash/package.json": true}},
		{"different version kept apart",
			[]model.Package{npm("lodash", "4.17.4", "/app/package-lock.json", false), npm("lodash", "4.17.21", "/app/node_modules/lodash/package.json", false)},
			[]string{"/app/package-lock.json", "/app/node_modules/lodash/package.json"}, nil},
		{"different project kept apart",
			[]model.Package{npm("lodash", "4.17.4", "/srv/package-lock.json", false), npm("lodash", "4.17.4", "/app/node_modules/lodash/package.json", false)},
			[]string{"/srv/package-lock.json", "/app/node_modules/lodash/package.json"}, nil},
		{"nested install belongs to the project root",
			[]model.Package{npm("b", "1.0.0", "/app/node_modules/a/node_modules/b/package.json", false), npm("b", "1.0.0", "/app/package-lock.json", false)},
			[]string{"/app/node_modules/a/node_modules/b/package.json"}, nil},
		{"other types untouched",
			[]model.Package{{Type: model.TypeDeb, Name: "libc6", Version: "1", Path: "/var/lib/dpkg/status"}, npm("x", "1.0.0", "/package-lock.json", false), npm("x", "1.0.0", "/node_modules/x/package.json", false)},
			[]string{"/var/lib/dpkg/status", "/node_modules/x/package.json"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Dedupe(append([]model.Package(nil), tc.in...))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d packages %+v, want %v", len(got), got, tc.want)
			}
			for i, p := range got {
				if p.Path != tc.want[i] {
					t.Errorf("[%d] path %s, want %s", i, p.Path, tc.want[i])
				}
				if d, ok := tc.dev[p.Path]; ok && p.Dev != d {
					t.Errorf("%s dev=%v, want %v", p.Path, p.Dev, d)
				}
			}
		})
	}
}
