package feeds

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func TestNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range Default() {
		if seen[l.Name()] {
			t.Errorf("duplicate loader name %q", l.Name())
		}
		seen[l.Name()] = true
	}
}

// TestImportSharedVulndata imports the whole of ../shared/vulndata the way
// `bulwark db update --source` does and checks that every feed family was
// recognised, nothing failed, and what was skipped is what we expect to skip.
func TestImportSharedVulndata(t *testing.T) {
	root := testenv.Shared(t, "vulndata")
	mem := advisory.NewMemory()
	st, err := feed.Import(context.Background(), root, Default(), mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Failed {
		t.Errorf("failed: %s: %s", f.Name, f.Reason)
	}
	for _, s := range st.Skipped {
		t.Logf("skipped: %s: %s", s.Name, s.Reason)
	}
	t.Logf("records per loader: %v", st.Records)
	counts := mem.Counts()
	t.Logf("affected entries per ecosystem: %v", counts)
	for eco, min := range map[string]int{"Go": 4000, "crates.io": 1000, "PyPI": 2000, "RubyGems": 1000, "Packagist": 1000, "npm": 400, "Debian:12": 10, "Debian:11": 300, "Alpine:v3.18": 10, "Alpine:v3.11": 100, "Maven": 1, "NuGet": 1} {
		if counts[eco] < min {
			t.Errorf("ecosystem %s: %d affected entries, want at least %d", eco, counts[eco], min)
		}
	}
	ctx := context.Background()
	v, ok, _ := mem.Vulnerability(ctx, "CVE-2021-44228")
	if !ok || !v.KnownExploited {
		t.Errorf("CVE-2021-44228 known_exploited = %v (found %v): KEV not merged", v.KnownExploited, ok)
	}
}
