package composer

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

const withCVE = `title:     Some XSS
link:      https://symfony.com/blog/cve
cve:       CVE-2017-16652
branches:
    2.7.x:
        time:     2017-11-16 10:00:00
        versions: ['>=2.7.0', '<2.7.38']
    3.3.x:
        time:     2017-11-15 10:00:00
        versions: ['>=3.3.0', '<3.3.13']
reference: composer://symfony/symfony
`

const noCVE = `title:     PHP object injection
link:      https://contao.org/en/news
cve:       ~
branches:
    2.x:
        time:     ~
        versions: '<2.11.16'
`

func TestLoad(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, file, in string
		id, pkg        string
		constraints    []string
		published      string
	}{
		{"cve", "fop.tar.gz!friendsofphp-security-advisories/symfony/symfony/CVE-2017-16652.yaml", withCVE, "CVE-2017-16652", "symfony/symfony",
			[]string{">=2.7.0,<2.7.38", ">=3.3.0,<3.3.13"}, "2017-11-15"},
		{"no cve, package from path", "root/contao/core/2014-02-13-1.yaml", noCVE, "FOP-contao/core/2014-02-13-1", "contao/core",
			[]string{"<2.11.16"}, "0001-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := FriendsOfPHP()
			if !l.Detect(tt.file, []byte(tt.in)) {
				t.Fatal("Detect rejected")
			}
			m := advisory.NewMemory()
			if n, err := l.Load(ctx, tt.file, strings.NewReader(tt.in), m); err != nil || n != 1 {
				t.Fatalf("Load = %d, %v", n, err)
			}
			v, ok, _ := m.Vulnerability(ctx, tt.id)
			if !ok || v.Summary == "" || len(v.References) != 1 || v.Published.Format("2006-01-02") != tt.published {
				t.Errorf("vuln = %+v", v)
			}
			as, _ := m.Affected(ctx, advisory.EcoPackagist, tt.pkg)
			if len(as) != 1 || !reflect.DeepEqual(as[0].AffectedConstraints, tt.constraints) || as[0].VulnID != tt.id {
				t.Errorf("affected = %+v", as)
			}
		})
	}
}

func TestErrorsAndDetect(t *testing.T) {
	bad := map[string]string{
		"no package":  "title: x\nbranches:\n  a:\n    versions: ['<1']\n",
		"no versions": "title: x\nreference: composer://a/b\nbranches:\n  a:\n    time: ~\n",
		"bad yaml":    "branches: [\n",
		"bad branch":  "reference: composer://a/b\nbranches: [1, 2]\n",
	}
	for name, in := range bad {
		if _, err := FriendsOfPHP().Load(context.Background(), "x.yaml", strings.NewReader(in), advisory.NewMemory()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for _, in := range []string{"gem: rails\ncve: 2020-1\npatched_versions: []\n", `{"branches":{}, "link": "x"}`, "id: PYSEC-1\naffected: []\n"} {
		if FriendsOfPHP().Detect("f", []byte(in)) {
			t.Errorf("Detect claimed %q", in)
		}
	}
}
