package nodesec

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
	l := NPM()
	m := advisory.NewMemory()
	loaded := 0
	testenv.TarGzFiles(t, "vulndata/npm/nodejs-security-wg-vuln.tar.gz", func(hname string, data []byte) {
		name := "nswg.tar.gz!" + hname
		want := strings.HasSuffix(hname, ".json")
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
