package osv

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestVendorExports: the OSV exports of the distributions (written after
// each vendor's published records) load under the ecosystems the matcher
// looks up, and Ubuntu's priority becomes the vendor severity.
func TestVendorExports(t *testing.T) {
	files, _ := filepath.Glob("testdata/vendors/*.json")
	rec := feedtest.Golden(t, Loader(), "testdata/golden/vendors.json", *update, files...)
	want := map[string]bool{
		"AlmaLinux:8": true, "Rocky Linux:8": true, "SUSE:Linux Enterprise Module for Basesystem 15 SP5": true,
		"openSUSE:Leap 15.5": true, "Azure Linux:2": true, "Wolfi": true, "Chainguard": true, "Ubuntu:22.04:LTS": true,
	}
	for _, a := range rec.Affected {
		delete(want, a.Ecosystem)
	}
	if len(want) > 0 {
		t.Errorf("ecosystems not loaded: %v", want)
	}
	for _, v := range rec.Vulnerabilities {
		if v.ID == "UBUNTU-CVE-2024-2511" && (v.Severity != model.SeverityLow || v.SeveritySource != "ubuntu") {
			t.Errorf("Ubuntu priority: %s from %q", v.Severity, v.SeveritySource)
		}
	}
}
