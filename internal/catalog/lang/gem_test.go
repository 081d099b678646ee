package lang

import (
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

const gemspecRubyGems = `# -*- encoding: utf-8 -*-
# stub: rake 13.0.6 ruby lib

Gem::Specification.new do |s|
  s.name = "rake".freeze
  s.version = "13.0.6"
  s.licenses = ["MIT".freeze, "Ruby".freeze]
  s.summary = "Rake is a Make-like program implemented in Ruby".freeze
end
`

const gemspecHandWritten = `Gem::Specification.new do |spec|
  spec.name          = 'nokogiri'
  spec.version       = Gem::Version.new('1.10.3')
  spec.license       = 'MIT'
end
`

const gemfileLock = `GIT
  remote: https://github.com/rails/turbolinks.git
  revision: 80216ce9
  specs:
    turbolinks (3.0.0)
      coffee-rails

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.10.3)
      mini_portile2 (~> 2.4.0)
    nokogiri (1.10.3-x86_64-linux)
    rack (2.2.3)

PLATFORMS
  ruby

DEPENDENCIES
  rack (= 2.2.3)
`

func TestGemspec(t *testing.T) {
	cases := []struct {
		name, data, wantName, wantVersion, wantLicenses string
	}{
		{"rubygems stub", gemspecRubyGems, "rake", "13.0.6", "MIT|Ruby"},
		{"hand written", gemspecHandWritten, "nokogiri", "1.10.3", "MIT"},
		{"no version", "Gem::Specification.new do |s|\n  s.name = 'x'\nend\n", "", "", ""},
		{"computed version", "s.name = 'x'\ns.version = X::VERSION\n", "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, Gem(), catalog.File{Path: "usr/local/bundle/specifications/x.gemspec", Data: []byte(tc.data)})
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
			if p.Name != tc.wantName || p.Version != tc.wantVersion || p.PURL != "pkg:gem/"+tc.wantName+"@"+tc.wantVersion {
				t.Errorf("got %+v", p)
			}
			if got := strings.Join(p.Licenses, "|"); got != tc.wantLicenses {
				t.Errorf("licenses %q, want %q", got, tc.wantLicenses)
			}
		})
	}
}

func TestGemfileLock(t *testing.T) {
	pkgs := mustParse(t, Gem(), catalog.File{Path: "app/Gemfile.lock", Data: []byte(gemfileLock)})
	if len(pkgs) != 3 {
		t.Fatalf("got %d packages, want 3 (the platform copy folded): %+v", len(pkgs), pkgs)
	}
	if p := find(t, pkgs, "turbolinks", "3.0.0"); p.Metadata["source"] != "git" {
		t.Errorf("turbolinks source %q", p.Metadata["source"])
	}
	find(t, pkgs, "nokogiri", "1.10.3")
	find(t, pkgs, "rack", "2.2.3")
	if hasName(pkgs, "mini_portile2") || hasName(pkgs, "coffee-rails") {
		t.Error("dependency constraint lines reported as packages")
	}
}

func TestGemWants(t *testing.T) {
	checkWants(t, Gem(), []wantsCase{
		{"usr/local/bundle/specifications/rake-13.0.6.gemspec", 0o644, 100, true},
		{"var/lib/gems/3.1.0/specifications/default/json-2.6.1.gemspec", 0o644, 100, true},
		{"var/lib/gems/3.1.0/gems/x/default/json-2.6.1.gemspec", 0o644, 100, false},
		{"var/lib/gems/3.1.0/specifications/json-2.6.1.gemspec", 0o644, 100, true},
		{"app/mygem.gemspec", 0o644, 100, false},
		{"app/Gemfile.lock", 0o644, 100, true},
		{"app/Gemfile", 0o644, 100, false},
	})
}

func TestGemFixtures(t *testing.T) {
	cases := []struct {
		rel           string
		count         int
		name, version string
	}{
		{"ruby/syft/Gemfile.lock", 52, "actionmailer", "4.1.1"},
		{"ruby/syft/Gemfile.lock", 52, "google-cloud-errors", "1.3.0"},
		{"ruby/scalibr-rails/Gemfile.lock", 46, "actioncable", "7.0.2.2"},
	}
	for _, tc := range cases {
		pkgs := mustParse(t, Gem(), fixture(t, tc.rel))
		if len(pkgs) != tc.count {
			t.Errorf("%s: got %d packages, want %d", tc.rel, len(pkgs), tc.count)
		}
		find(t, pkgs, tc.name, tc.version)
	}
}

func FuzzGemspec(f *testing.F) {
	f.Add([]byte(gemspecRubyGems))
	f.Add([]byte(gemspecHandWritten))
	c := Gem()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "specifications/x.gemspec", data) })
}

func FuzzGemfileLock(f *testing.F) {
	f.Add([]byte(gemfileLock))
	c := Gem()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "Gemfile.lock", data) })
}
