package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// debFindings is the set of "package vuln-id" pairs of deb findings.
func debFindings(r *model.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Package.Type == model.TypeDeb {
			out = append(out, f.Package.Name+" "+f.ID)
		}
	}
	sort.Strings(out)
	return out
}

// TestScanPeerSBOMsKeepDebianMatches checks the interoperability promise:
// an SBOM of the Debian 12 minbase fixture written by syft (source package
// in the purl's upstream= qualifier) or in trivy's shape (SrcName/SrcVersion
// properties) gives exactly the Debian findings a direct scan of the same
// root filesystem gives.
func TestScanPeerSBOMsKeepDebianMatches(t *testing.T) {
	cache := cacheWithDB(t)
	root := testenv.Shared(t, "fixtures/pkgdb/dpkg/debian-12-minbase")
	ctx := context.Background()
	direct, err := scan.Image(ctx, scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	want := debFindings(direct)
	if len(want) < 10 {
		t.Fatalf("direct scan found only %d deb findings: %v", len(want), want)
	}
	peers := filepath.Join(testenv.ModuleRoot(t), "internal", "sbom", "testdata", "peers")
	for _, f := range []string{"syft-debian-12-minbase.cyclonedx.json", "syft-debian-12-minbase.spdx.json",
		"trivy-debian-12-minbase.cyclonedx.json", "trivy-debian-12-minbase.spdx.json", "trivy-shaped-debian-12-minbase.cyclonedx.json"} {
		t.Run(f, func(t *testing.T) {
			r, err := scan.SBOM(ctx, filepath.Join(peers, f), scanOpts(cache))
			if err != nil {
				t.Fatal(err)
			}
			got := debFindings(r)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("SBOM %s: %d deb findings, direct scan %d\nSBOM:   %v\ndirect: %v", f, len(got), len(want), got, want)
			}
		})
	}
}

// TestOwnSBOMRoundTrip: Bulwark's own SBOMs (CycloneDX and SPDX) of an image
// scan to the same findings as the image itself.
func TestOwnSBOMRoundTrip(t *testing.T) {
	cache := cacheWithDB(t)
	img := debianImage(t)
	dir := t.TempDir()
	tarPath := writeTarball(t, img, dir)
	ctx := context.Background()
	target := scan.Target{Kind: scan.FromTarball, Ref: tarPath}
	direct, err := scan.Image(ctx, target, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := scan.Catalog(ctx, target, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []report.Format{report.FormatCycloneDX, report.FormatSPDXJSON} {
		t.Run(string(f), func(t *testing.T) {
			p := filepath.Join(dir, "sbom."+string(f)+".json")
			out, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := report.WriteSBOM(out, f, inv, report.Options{}); err != nil {
				t.Fatal(err)
			}
			out.Close()
			r, err := scan.SBOM(ctx, p, scanOpts(cache))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Packages) != len(direct.Packages) {
				t.Errorf("SBOM has %d packages, image %d", len(r.Packages), len(direct.Packages))
			}
			if len(r.Findings) != len(direct.Findings) {
				t.Errorf("SBOM scan: %d findings, image scan: %d", len(r.Findings), len(direct.Findings))
			}
			if got, want := debFindings(r), debFindings(direct); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("deb findings differ:\nsbom:  %v\nimage: %v", got, want)
			}
		})
	}
}
