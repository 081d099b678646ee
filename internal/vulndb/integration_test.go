package vulndb_test

import (
	"context"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/kev"
	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
	"github.com/bulwarkdev/bulwark/internal/feed/osv"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// TestBuildShared builds a DB from the real OSV, NVD and KEV data and reads
// merged records back.
func TestBuildShared(t *testing.T) {
	const root = "../../../shared/vulndata"
	roots := []string{root + "/osv", root + "/k8s", root + "/nvd", root + "/kev"}
	for _, r := range roots {
		if _, err := os.Stat(r); err != nil {
			testenv.Skipf(t, "needs ../shared/vulndata (osv, k8s, nvd, kev): %v", err)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	loaders := []feed.Loader{osv.Loader(), nvd.Loader(), kev.Loader()}
	meta, err := vulndb.Build(ctx, dir, func(ctx context.Context, s advisory.Sink) error {
		for _, r := range roots {
			if _, err := feed.Import(ctx, r, loaders, s, nil); err != nil {
				return err
			}
		}
		return nil
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Every record is read; those no package advisory reaches (most NVD
	// and KEV CVEs) are left out of the file.
	if meta.Counts["Go"] < 4000 || meta.Counts["PyPI"] < 2600 || meta.Counts["crates.io"] < 1100 ||
		meta.Vulnerabilities+meta.Unreferenced < 9000 || meta.Unreferenced == 0 {
		t.Errorf("meta = %d vulns (%d left out), counts %v", meta.Vulnerabilities, meta.Unreferenced, meta.Counts)
	}
	db, err := vulndb.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.Affected(ctx, "Maven", "org.apache.logging.log4j:log4j-core")
	if err != nil || len(as) == 0 {
		t.Fatalf("log4j-core = %v, %v", as, err)
	}
	ids, _ := db.Aliases(ctx, "CVE-2021-44228")
	if !slices.Contains(ids, "GHSA-jfh8-c2jp-5v3q") {
		t.Errorf("aliases of CVE-2021-44228 = %v", ids)
	}
	v, ok, _ := db.Vulnerability(ctx, "CVE-2021-44228")
	if !ok || !v.KnownExploited {
		t.Errorf("CVE-2021-44228 = %+v", v)
	}
	g, ok, _ := db.Vulnerability(ctx, "GHSA-jfh8-c2jp-5v3q")
	if !ok || g.Severity != "critical" || len(g.CVSS) == 0 {
		t.Errorf("GHSA-jfh8-c2jp-5v3q = %+v", g)
	}
}
