package scan_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/report"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// checkCoverage asserts which parts of a report were assessed and which
// not, by name (other parts, such as kind "none", are ignored).
func checkCoverage(t *testing.T, r *model.Report, assessed, notAssessed []string) {
	t.Helper()
	var gotA, gotN []string
	for _, p := range r.Summary.Coverage {
		switch {
		case p.Kind == model.CoverageNone:
		case p.Assessed:
			gotA = append(gotA, p.Name)
			if len(p.Sources) == 0 {
				t.Errorf("assessed part %s names no source", p.Name)
			}
		default:
			gotN = append(gotN, p.Name)
			if p.Reason == "" || p.Need == "" {
				t.Errorf("part %s not assessed without reason or need: %+v", p.Name, p)
			}
		}
	}
	if !slices.Equal(gotA, assessed) || !slices.Equal(gotN, notAssessed) {
		t.Errorf("coverage: assessed %v, not assessed %v; want %v and %v", gotA, gotN, assessed, notAssessed)
	}
}

// rootfsWith makes a root filesystem of a real package DB fixture under a
// crafted os-release.
func rootfsWith(t *testing.T, fixture, osRelease string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(testenv.Shared(t, fixture))); err != nil {
		t.Fatalf("copy %s: %v", fixture, err)
	}
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte(osRelease), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func checkNotAssessed(t *testing.T, r *model.Report, part string) {
	t.Helper()
	if r.Summary.Verdict != model.VerdictNotAssessed || r.Summary.Healthy {
		t.Errorf("verdict %q healthy=%t, want not-assessed", r.Summary.Verdict, r.Summary.Healthy)
	}
	if len(r.Assessments) != 1 || r.Assessments[0].Status != model.AssessNotAssessed ||
		!strings.Contains(strings.Join(r.Assessments[0].Evidence, "\n"), part) {
		t.Errorf("VULN-image assessment = %+v, want not-assessed naming %s", r.Assessments, part)
	}
}

// TestScanRPMDistrosNotAssessed: real RPM databases under the os-release
// of distributions the shared feeds do not cover are reported not
// assessed, never healthy, in every format.
func TestScanRPMDistrosNotAssessed(t *testing.T) {
	cache := cacheWithDB(t)
	cases := []struct {
		name, fixture, osRelease, part string
	}{
		{"RHEL 9", "fixtures/pkgdb/rpm/cbl-mariner-2.0",
			"NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n", "Red Hat:9"},
		{"Rocky 9", "fixtures/pkgdb/rpm/grype-centos-match-coverage",
			"NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n", "Rocky Linux:9"},
		{"SLES 15", "fixtures/pkgdb/rpm/sle15-bci",
			"NAME=\"SLES\"\nVERSION=\"15-SP5\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\nID_LIKE=\"suse\"\n", "SUSE:Linux Enterprise Server 15 SP5"},
		{"Amazon Linux 2023", "fixtures/pkgdb/rpm/bdb-libuuid",
			"NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\n", "Amazon Linux:2023"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := rootfsWith(t, c.fixture, c.osRelease)
			r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cache))
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.Packages == 0 {
				t.Fatalf("no packages catalogued from %s", c.fixture)
			}
			checkCoverage(t, r, nil, []string{c.part})
			checkNotAssessed(t, r, c.part)
			var table, sarif, cdx bytes.Buffer
			for f, w := range map[report.Format]*bytes.Buffer{report.FormatTable: &table, report.FormatSARIF: &sarif, report.FormatCycloneDX: &cdx} {
				if err := report.Write(w, f, r, report.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			if want := "Result: NOT ASSESSED (no advisories for " + strings.ReplaceAll(c.part, ":", " ") + " in the DB"; !strings.Contains(table.String(), want) {
				t.Errorf("table lacks %q:\n%s", want, table.String())
			}
			if !strings.Contains(sarif.String(), `"coverage/not-assessed"`) || !strings.Contains(sarif.String(), `"verdict": "not-assessed"`) {
				t.Errorf("SARIF lacks the not-assessed notification and verdict")
			}
			if !strings.Contains(cdx.String(), `"value": "not-assessed"`) {
				t.Errorf("CycloneDX lacks the bulwark:verdict property")
			}
		})
	}
}

// TestScanSBOMNotAssessed: an SBOM of a distribution the DB lacks (our own
// CycloneDX of the RHEL 9 root filesystem) is not assessed either.
func TestScanSBOMNotAssessed(t *testing.T) {
	cache := cacheWithDB(t)
	root := rootfsWith(t, "fixtures/pkgdb/rpm/cbl-mariner-2.0", "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\n")
	ctx := context.Background()
	cat, err := scan.Catalog(ctx, scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	cat.Findings = nil
	sbomPath := filepath.Join(t.TempDir(), "rhel.cdx.json")
	var buf bytes.Buffer
	if err := report.Write(&buf, report.FormatCycloneDX, cat, report.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sbomPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := scan.SBOM(ctx, sbomPath, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, r, nil, []string{"Red Hat:9"})
	checkNotAssessed(t, r, "Red Hat:9")
}

var (
	goOnlyOnce  sync.Once
	goOnlyCache string
	goOnlyErr   error
)

// TestScanEcosystemWithoutData: npm packages with a DB that holds only the
// Go vulnerability DB: npm is not assessed, Go is, and the verdict says so.
func TestScanEcosystemWithoutData(t *testing.T) {
	src := testenv.Shared(t, "vulndata/osv/go-vulndb-osv.tar.gz")
	goOnlyOnce.Do(func() {
		goOnlyCache, goOnlyErr = os.MkdirTemp("", "bulwark-go-only-*")
		if goOnlyErr == nil {
			_, goOnlyErr = update.Run(context.Background(), scan.DBDir(goOnlyCache), update.Options{Sources: []string{src}})
		}
	})
	if goOnlyErr != nil {
		t.Fatal(goOnlyErr)
	}
	t.Cleanup(func() { os.RemoveAll(goOnlyCache) })
	root := t.TempDir()
	lock := `{"name":"app","version":"1.0.0","lockfileVersion":3,"packages":{"":{"name":"app","version":"1.0.0"},"node_modules/lodash":{"version":"4.17.21"}}}`
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "app", "package-lock.json"), []byte(lock), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(goOnlyCache))
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, r, nil, []string{"npm"})
	checkNotAssessed(t, r, "npm")
	for _, p := range r.Summary.Coverage {
		if p.Name == "npm" && !strings.Contains(p.Need, "bulwark db update") {
			t.Errorf("npm need %q should say that `bulwark db update` brings npm advisories", p.Need)
		}
	}
	// The same app with the full shared feeds (npm from the Node.js WG and
	// GHSA) is assessed and healthy: lodash 4.17.21 has no open advisory there.
	full, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cacheWithDB(t)))
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, full, []string{"npm"}, nil)
	if full.Summary.Verdict != model.VerdictHealthy || !full.Summary.Healthy || full.Assessments[0].Status != model.AssessHealthy {
		t.Errorf("covered npm app: verdict %q healthy=%t assessment %s", full.Summary.Verdict, full.Summary.Healthy, full.Assessments[0].Status)
	}
}

// TestScanDebianFixtureAssessed: the real Debian 12 minbase package DB with
// the shared feeds is assessed, with the Debian sources named.
func TestScanDebianFixtureAssessed(t *testing.T) {
	cache := cacheWithDB(t)
	root := testenv.Shared(t, "fixtures/pkgdb/dpkg/debian-12-minbase")
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDir, Ref: root}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, r, []string{"Debian:12"}, nil)
	// Assessed as today: the verdict is the findings' alone.
	wantVerdict := model.VerdictHealthy
	if r.Summary.Counts.Critical+r.Summary.Counts.High+r.Summary.Counts.Medium > 0 {
		wantVerdict = model.VerdictUnhealthy
	}
	if r.Summary.Verdict != wantVerdict || len(r.Findings) < 10 {
		t.Errorf("verdict %q with %d findings (%+v), want %q", r.Summary.Verdict, len(r.Findings), r.Summary.Counts, wantVerdict)
	}
	if src := r.Summary.Coverage[0].Sources; !slices.Contains(src, "debian-dsa") {
		t.Errorf("Debian:12 sources %v, want debian-dsa among them", src)
	}
}
