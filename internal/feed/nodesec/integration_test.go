package nodesec

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func TestRealArchive(t *testing.T) {
	ctx := context.Background()
	l := NPM()
	m := advisory.NewMemory()
	loaded, _ := feedtest.LoadArchive(t, l, "vulndata/npm/nodejs-security-wg-vuln.tar.gz", "nswg.tar.gz!",
		func(member string) bool { return strings.HasSuffix(member, ".json") }, m)
	s := l.(Skipper)
	// 468 npm files are 467 advisories plus index.json; 172 core likewise.
	if loaded != 467 || s.SkippedCore() != 171 || s.Skipped() != 173 {
		t.Errorf("loaded %d, skipped %d (core %d); want 467, 173 (171)", loaded, s.Skipped(), s.SkippedCore())
	}
	as, _ := m.Affected(ctx, advisory.EcoNPM, "bassmaster")
	if len(as) == 0 || as[0].VulnID != "CVE-2014-7205" || as[0].AffectedConstraints[0] != "<=1.5.1" {
		t.Errorf("bassmaster = %+v", as)
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := NPM().Load(context.Background(), "vuln/npm/1.json", strings.NewReader(npmDocWithCVE), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) PutVulnerability(context.Context, advisory.Vulnerability) error { return nil }
func (discard) PutAffected(context.Context, advisory.Affected) error           { return nil }
