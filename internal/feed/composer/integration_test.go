package composer

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func TestRealArchive(t *testing.T) {
	ctx := context.Background()
	l := FriendsOfPHP()
	m := advisory.NewMemory()
	loaded, _ := feedtest.LoadArchive(t, l, "vulndata/composer/friendsofphp-security-advisories-yaml.tar.gz", "fop.tar.gz!",
		func(member string) bool { return strings.HasSuffix(member, ".yaml") }, m)
	if loaded != 1592 {
		t.Errorf("loaded %d, want 1592", loaded)
	}
	if c := m.Counts()[advisory.EcoPackagist]; c != 1592 {
		t.Errorf("Packagist entries = %d", c)
	}
	as, _ := m.Affected(ctx, advisory.EcoPackagist, "contao/core")
	fop := 0
	for _, a := range as {
		if strings.HasPrefix(a.VulnID, "FOP-contao/core/") {
			fop++
		}
	}
	if len(as) == 0 || fop == 0 {
		t.Errorf("contao/core: %d entries, %d FOP ids", len(as), fop)
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := FriendsOfPHP().Load(context.Background(), "symfony/symfony/CVE-2017-16652.yaml", strings.NewReader(withCVE), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) PutVulnerability(context.Context, advisory.Vulnerability) error { return nil }
func (discard) PutAffected(context.Context, advisory.Affected) error           { return nil }
