package version

import (
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	tests := []struct {
		eco, a, b string
		want      int
	}{
		// Debian / Ubuntu
		{"Debian:12", "1:2.0", "2.0", 1},
		{"Debian:12", "1.0~rc1", "1.0", -1},
		{"Debian:12", "2.36-9+deb12u4", "2.36-9+deb12u14", -1},
		{"Debian:12", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", -1},
		{"Debian:12", "5.36.0-7+deb12u3", "5.36.0-7+deb12u3", 0},
		{"Debian:12", "1:1.2.13.dfsg-1", "1:1.3.dfsg-2", -1},
		{"Ubuntu:22.04:LTS", "1.2-3ubuntu0.1", "1.2-3", 1},
		// Alpine
		{"Alpine:v3.18", "1.2.3_rc1", "1.2.3", -1},
		{"Alpine:v3.18", "1.2.3_p1", "1.2.3", 1},
		{"Alpine:v3.18", "1.36.0-r9", "1.36.1-r1", -1},
		{"Alpine:v3.18", "3.1.0-r4", "3.1.1-r0", -1},
		{"Alpine:v3.18", "1.2.4-r0", "1.2.4-r3", -1},
		{"Alpine:v3.18", "1.2.13-r1", "1.2.13-r1", 0},
		// RPM
		{"Red Hat:8", "1.0-1.el8", "1.0-1.el8_8", -1},
		{"Rocky Linux:9", "1:1.0-1", "2.0-1", 1},
		{"AlmaLinux:9", "2.32.1-42.el8_8", "2.32.1-39.el8_7", 1},
		{"Mariner:2.0", "1.2.3-4.cm2", "1.2.3-4.cm2", 0},
		{"SUSE:Linux Enterprise Server 15 SP5", "1.1-150500.1", "1.1-150400.3", 1},
		// Go
		{"Go", "1.2.3", "v1.2.4", -1},
		{"Go", "0.0.0-20210101000000-abcdefabcdef", "0.1.0", -1},
		{"Go", "1.22.4", "1.22.10", -1},
		{"Go", "go1.21rc2", "1.21.0", -1},
		{"Go", "2.0.0+incompatible", "2.0.0", 0},
		// npm
		{"npm", "1.0.0-alpha", "1.0.0", -1},
		{"npm", "4.17.4", "4.17.21", -1},
		{"npm", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
		// PyPI
		{"PyPI", "1.0.post1", "1.0", 1},
		{"PyPI", "1.0rc1", "1.0", -1},
		{"PyPI", "1.0", "1.0.0", 0},
		{"PyPI", "1!1.0", "2.0", 1},
		{"PyPI", "2.0.dev1", "2.0a1", -1},
		// Maven
		{"Maven", "1.0-SNAPSHOT", "1.0", -1},
		{"Maven", "2.9.10.1", "2.9.10", 1},
		{"Maven", "2.9.10.8", "2.10.0", -1},
		{"Maven", "1.0.RELEASE", "1.0", 0},
		{"Maven", "1.0-rc1", "1.0", -1},
		// RubyGems
		{"RubyGems", "2.2.6.2", "2.2.6", 1},
		{"RubyGems", "1.0.0.pre", "1.0.0", -1},
		// semver family
		{"crates.io", "1.0.0-alpha", "1.0.0", -1},
		{"crates.io", "0.10.0", "0.9.9", 1},
		{"Packagist", "v2.7.0", "2.7.0", 0},
		{"Packagist", "2.7.50", "2.7.51", -1},
		{"NuGet", "4.0.10.2", "4.0.10", 1},
		{"NuGet", "4.0.10.0", "4.0.10", 0},
		{"NuGet", "12.0.3", "13.0.1", -1},
		{"NuGet", "1.0.0-Beta", "1.0.0-beta", 0},
		{"Kubernetes", "1.27.3", "1.28.0", -1},
		// fallback for what semver cannot read
		{"Hex", "1.2.3.4.5", "1.2.3.4", 1},
		{"Hex", "1.0rc1x", "1.0.1", -1},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.a+"_vs_"+tt.b, func(t *testing.T) {
			got, err := Compare(tt.eco, tt.a, tt.b)
			if err != nil {
				t.Fatalf("Compare: %v", err)
			}
			if got != tt.want {
				t.Errorf("Compare(%q, %q, %q) = %d, want %d", tt.eco, tt.a, tt.b, got, tt.want)
			}
			rev, err := Compare(tt.eco, tt.b, tt.a)
			if err != nil || rev != -tt.want {
				t.Errorf("reverse Compare = %d, %v; want %d", rev, err, -tt.want)
			}
		})
	}
}

func TestCompareInvalid(t *testing.T) {
	tests := []struct{ eco, a, b string }{
		{"Debian:12", "", "1.0"},
		{"Debian:12", "1.0 2", "1.0"},
		{"Alpine:v3.18", "not a version", "1.0-r0"},
		{"Go", "latest", "1.0.0"},
		{"Go", "(devel)", "1.0.0"},
		{"npm", "1.x.y.z", "1.0.0"},
		{"PyPI", "1.0-foo-bar!", "1.0"},
		{"Red Hat:8", "x:1.0", "1.0"},
		{"crates.io", "???", "1.0.0"},
		{"NuGet", strings.Repeat("1", 300), "1.0.0"},
	}
	for _, tt := range tests {
		if _, err := Compare(tt.eco, tt.a, tt.b); err == nil {
			t.Errorf("Compare(%q, %q, %q): no error", tt.eco, tt.a, tt.b)
		}
		if Valid(tt.eco, tt.a) {
			t.Errorf("Valid(%q, %q) = true", tt.eco, tt.a)
		}
	}
}

func TestValid(t *testing.T) {
	for _, tt := range []struct{ eco, v string }{
		{"Debian:12", "1:2.38.1-5+deb12u3"},
		{"Alpine:v3.20", "1.36.1-r29"},
		{"Go", "v1.2.3"},
		{"Go", "1.22.4"},
		{"PyPI", "2.31.0"},
		{"Maven", "2.9.10.1"},
		{"NuGet", "4.0.10.2"},
	} {
		if !Valid(tt.eco, tt.v) {
			t.Errorf("Valid(%q, %q) = false", tt.eco, tt.v)
		}
	}
}

func TestSatisfies(t *testing.T) {
	tests := []struct {
		eco, v, c string
		want      bool
	}{
		{"npm", "1.5.1", "<=1.5.1", true},
		{"npm", "1.5.2", "<=1.5.1", false},
		{"npm", "1.1.0", ">=1.0.0 <1.2.3 || ^2.0.0", true},
		{"npm", "2.4.0", ">=1.0.0 <1.2.3 || ^2.0.0", true},
		{"npm", "1.2.3", ">=1.0.0 <1.2.3 || ^2.0.0", false},
		{"npm", "3.0.0", ">=1.0.0 <1.2.3 || ^2.0.0", false},
		{"Packagist", "2.7.50", ">=2.7.0,<2.7.51", true},
		{"Packagist", "2.7.51", ">=2.7.0,<2.7.51", false},
		{"Packagist", "1.9.0", "^1.2 | ~2.0", true},
		{"Packagist", "2.0.5", "^1.2 | ~2.0", true},
		{"Packagist", "3.0.0", "^1.2 | ~2.0", false},
		{"Packagist", "v2.7.3", ">=2.7.0,<2.7.51", true},
		{"RubyGems", "2.2.6.2", "~> 2.2.6, >= 2.2.6.2", true},
		{"RubyGems", "2.2.6.1", "~> 2.2.6, >= 2.2.6.2", false},
		{"RubyGems", "2.3.0", "~> 2.2.6, >= 2.2.6.2", false},
		{"PyPI", "2.31.0", ">=2.0,<2.32.0", true},
		{"PyPI", "2.32.0", ">=2.0,<2.32.0", false},
		{"PyPI", "1.0rc1", "<1.0", true},
		{"Maven", "1.5", "[1.0,2.0)", true},
		{"Maven", "2.0", "[1.0,2.0)", false},
		{"Maven", "1.0", "[1.0,2.0)", true},
		{"Maven", "2.9.10.1", ">=2.9.0, <2.9.10.8", true},
		{"crates.io", "0.5.3", ">=0.5.0, <0.5.4", true},
		{"crates.io", "0.5.4", ">=0.5.0, <0.5.4", false},
		{"crates.io", "1.0.0-rc.1", "<1.0.0", true},
		{"Debian:12", "2.36-9+deb12u3", "< 2.36-9+deb12u4", true},
		{"Debian:12", "2.36-9+deb12u14", "< 2.36-9+deb12u4", false},
		{"Alpine:v3.18", "1.36.0-r9", ">=1.36.0-r0, <1.36.1-r1", true},
		{"Go", "1.22.4", ">=1.22.0 <1.22.5", true},
		{"Go", "1.22.5", ">=1.22.0 <1.22.5", false},
		{"NuGet", "4.0.10.1", "<4.0.10.2", true},
		{"NuGet", "13.0.1", ">= 13.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.v+"/"+tt.c, func(t *testing.T) {
			got, err := Satisfies(tt.eco, tt.v, tt.c)
			if err != nil {
				t.Fatalf("Satisfies: %v", err)
			}
			if got != tt.want {
				t.Errorf("Satisfies(%q, %q, %q) = %v, want %v", tt.eco, tt.v, tt.c, got, tt.want)
			}
		})
	}
}

func TestSatisfiesErrors(t *testing.T) {
	for _, tt := range []struct{ eco, v, c string }{
		{"npm", "1.0.0", ">>>"},
		{"npm", "bogus", "<1.0.0"},
		{"Debian:12", "1.0", ">="},
		{"Debian:12", "1.0", ""},
		{"RubyGems", "1.0", "~> ~>"},
		{"Go", "1.0.0", "< junk!"},
	} {
		if _, err := Satisfies(tt.eco, tt.v, tt.c); err == nil {
			t.Errorf("Satisfies(%q, %q, %q): no error", tt.eco, tt.v, tt.c)
		}
	}
}

var fuzzEcosystems = []string{"Debian:12", "Alpine:v3.18", "Red Hat:8", "Go", "npm", "PyPI", "Maven", "RubyGems", "crates.io", "Packagist", "NuGet", "Hex"}

func FuzzCompare(f *testing.F) {
	for _, s := range [][2]string{
		{"1:2.0", "2.0"}, {"1.0~rc1", "1.0"}, {"1.2.3_rc1", "1.2.3"}, {"1.36.0-r9", "1.36.1-r1"},
		{"1.0-1.el8", "1.0-1.el8_8"}, {"1.0.post1", "1.0rc1"}, {"1.0-SNAPSHOT", "2.9.10.1"},
		{"v1.2.3", "1.22.4"}, {"4.0.10.2", "1.0.0-beta"},
	} {
		for i := range fuzzEcosystems {
			f.Add(i, s[0], s[1])
		}
	}
	f.Fuzz(func(t *testing.T, eco int, a, b string) {
		if eco < 0 {
			eco = -eco
		}
		e := fuzzEcosystems[eco%len(fuzzEcosystems)]
		ab, err1 := Compare(e, a, b)
		ba, err2 := Compare(e, b, a)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%s: errors not symmetric: %v / %v", e, err1, err2)
		}
		if err1 == nil && ab != -ba {
			t.Fatalf("%s: Compare(%q,%q)=%d but reverse %d", e, a, b, ab, ba)
		}
		if err1 == nil {
			if c, err := Compare(e, a, a); err != nil || c != 0 {
				t.Fatalf("%s: Compare(%q,%q)=%d, %v", e, a, a, c, err)
			}
		}
		_, _ = Satisfies(e, a, b)
	})
}

func BenchmarkCompare(b *testing.B) {
	cases := []struct{ eco, a, c string }{
		{"Debian:12", "2.36-9+deb12u14", "2.36-9+deb12u4"},
		{"Alpine:v3.18", "1.36.0-r9", "1.36.1-r1"},
		{"npm", "4.17.4", "4.17.21"},
		{"PyPI", "2.31.0", "2.32.0rc1"},
		{"Maven", "2.9.10.1", "2.9.10.8"},
	}
	for _, c := range cases {
		b.Run(c.eco, func(b *testing.B) {
			for b.Loop() {
				if _, err := Compare(c.eco, c.a, c.c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
