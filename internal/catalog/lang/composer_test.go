package lang

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/catalog"
)

const composerLock = `{"packages":[{"name":"monolog/monolog","version":"2.3.5","license":["MIT"]},{"name":"nosuchvendor","version":"1"}],
"packages-dev":[{"name":"phpunit/phpunit","version":"9.5.10","license":"BSD-3-Clause"}]}`

const composerInstalled1 = `[{"name":"symfony/console","version":"v5.3.7","license":["MIT"]}]`

const composerInstalled2 = `{"packages":[{"name":"symfony/console","version":"v5.3.7"},{"name":"phpunit/phpunit","version":"9.5.10"}],
"dev":true,"dev-package-names":["phpunit/phpunit"]}`

func TestComposer(t *testing.T) {
	type want struct {
		name, version, purl, licenses string
		dev                           bool
	}
	cases := []struct {
		name, path, data string
		want             []want
	}{
		{"composer.lock", "app/composer.lock", composerLock, []want{
			{"monolog/monolog", "2.3.5", "pkg:composer/monolog/monolog@2.3.5", "MIT", false},
			{"phpunit/phpunit", "9.5.10", "pkg:composer/phpunit/phpunit@9.5.10", "BSD-3-Clause", true},
		}},
		{"installed v1", "app/vendor/composer/installed.json", composerInstalled1, []want{
			{"symfony/console", "v5.3.7", "pkg:composer/symfony/console@v5.3.7", "MIT", false},
		}},
		{"installed v2", "app/vendor/composer/installed.json", composerInstalled2, []want{
			{"symfony/console", "v5.3.7", "pkg:composer/symfony/console@v5.3.7", "", false},
			{"phpunit/phpunit", "9.5.10", "pkg:composer/phpunit/phpunit@9.5.10", "", true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pkgs := mustParse(t, Composer(), catalog.File{Path: tc.path, Data: []byte(tc.data)})
			if len(pkgs) != len(tc.want) {
				t.Fatalf("got %d packages, want %d: %+v", len(pkgs), len(tc.want), pkgs)
			}
			for _, w := range tc.want {
				p := find(t, pkgs, w.name, w.version)
				if p.PURL != w.purl || strings.Join(p.Licenses, "|") != w.licenses || p.Dev != w.dev {
					t.Errorf("%s: %+v", w.name, p)
				}
			}
		})
	}
	for _, bad := range []string{"", "[", `{"packages": {}}`, `"x"`} {
		if _, err := Composer().Parse(context.Background(), catalog.File{Path: "composer.lock", Data: []byte(bad)}); err == nil {
			t.Errorf("Parse(%q): want error", bad)
		}
	}
	checkWants(t, Composer(), []wantsCase{
		{"app/composer.lock", 0o644, 10, true},
		{"vendor/composer/installed.json", 0o644, 10, true},
		{"var/www/vendor/composer/installed.json", 0o644, 10, true},
		{"app/installed.json", 0o644, 10, false},
		{"app/composer.json", 0o644, 10, false},
	})
}

func TestComposerFixtures(t *testing.T) {
	pkgs := mustParse(t, Composer(), fixture(t, "php/syft/composer.lock"))
	if len(pkgs) != 4 {
		t.Errorf("syft: got %d packages, want 4", len(pkgs))
	}
	if p := find(t, pkgs, "behat/gherkin", "v4.6.2"); !p.Dev || p.PURL != "pkg:composer/behat/gherkin@v4.6.2" {
		t.Errorf("behat/gherkin: %+v", p)
	}
	if p := find(t, pkgs, "adoy/fastcgi-client", "1.0.2"); p.Dev || strings.Join(p.Licenses, "|") != "MIT" {
		t.Errorf("adoy/fastcgi-client: %+v", p)
	}
	pkgs = mustParse(t, Composer(), fixture(t, "php/osv-scanner-locks-insecure/composer.lock"))
	if len(pkgs) != 6 {
		t.Errorf("osv-scanner: got %d packages, want 6", len(pkgs))
	}
	find(t, pkgs, "drupal/core", "10.4.5")
}

func FuzzComposer(f *testing.F) {
	f.Add([]byte(composerLock))
	f.Add([]byte(composerInstalled1))
	f.Add([]byte(composerInstalled2))
	c := Composer()
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, c, "composer.lock", data) })
}
