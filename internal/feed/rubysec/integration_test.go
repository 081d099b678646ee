package rubysec

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func TestRealArchive(t *testing.T) {
	ctx := context.Background()
	l := Advisories()
	m := advisory.NewMemory()
	loaded, detected := feedtest.LoadArchive(t, l, "vulndata/rubygems/rubysec-ruby-advisory-db.tar.gz", "rubysec.tar.gz!",
		func(name string) bool {
			return strings.HasSuffix(name, ".yml") && (strings.Contains(name, "/gems/") || strings.Contains(name, "/rubies/"))
		}, m)
	if loaded != 1234 || l.(Skipper).Skipped() != 147 || detected != 1381 {
		t.Errorf("loaded %d gems, skipped %d rubies, detected %d; want 1234, 147, 1381", loaded, l.(Skipper).Skipped(), detected)
	}
	as, _ := m.Affected(ctx, advisory.EcoRubyGems, "actionpack")
	found := false
	for _, a := range as {
		if a.VulnID == "CVE-2016-0751" {
			found = len(a.UnaffectedConstraints) > 0
		}
	}
	if !found {
		t.Errorf("actionpack CVE-2016-0751 missing or without constraints: %d entries", len(as))
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Advisories().Load(context.Background(), "gems/actionpack/x.yml", strings.NewReader(gemDoc), discard{}); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) PutVulnerability(context.Context, advisory.Vulnerability) error { return nil }
func (discard) PutAffected(context.Context, advisory.Affected) error           { return nil }
