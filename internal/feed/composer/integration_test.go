package composer

import (
	"bytes"
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

func TestRealArchive(t *testing.T) {
	ctx := context.Background()
	l := FriendsOfPHP()
	m := advisory.NewMemory()
	loaded := 0
	testenv.TarGzFiles(t, "vulndata/composer/friendsofphp-security-advisories-yaml.tar.gz", func(hname string, data []byte) {
		name := "fop.tar.gz!" + hname
		want := strings.HasSuffix(hname, ".yaml")
		if got := l.Detect(name, data[:min(len(data), 8<<10)]); got != want {
			t.Errorf("Detect(%s) = %v", hname, got)
			return
		}
		if !want {
			return
		}
		n, err := l.Load(ctx, name, bytes.NewReader(data), m)
		if err != nil {
			t.Errorf("%s: %v", hname, err)
		}
		loaded += n
	})
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
