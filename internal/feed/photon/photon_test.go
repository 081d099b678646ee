package photon

import (
	"flag"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestLoad: a release file in Photon's published layout: fixed builds,
// "NA" while unfixed, "Not Affected" rows; the release from the name.
func TestLoad(t *testing.T) {
	rec := feedtest.Golden(t, Loader(), "testdata/golden/photon.json", *update, "testdata/cve_data_photon4.0.json")
	want := map[string]string{"curl": "8.1.2-6.ph4", "openssl": "3.0.8-1.ph4", "python3-pillow": "unfixed", "httpd": "not-affected"}
	for _, a := range rec.Affected {
		got := string(a.Status)
		if len(a.Ranges) == 1 {
			got = a.Ranges[0].Events[1].Fixed
		}
		if a.Ecosystem != "Photon OS:4.0" || got != want[a.Package] {
			t.Errorf("%s %s: %s, want %s", a.Ecosystem, a.Package, got, want[a.Package])
		}
		if a.Package == "curl" && a.Severity != "critical" {
			t.Errorf("curl severity %s", a.Severity)
		}
	}
	if len(rec.Affected) != 4 {
		t.Errorf("%d entries", len(rec.Affected))
	}
	if Loader().Detect("other.json", []byte(`[{"cve_id": "CVE-1"}]`)) {
		t.Error("claimed a file without the release in its name")
	}
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"object":    `{"cve_id": "CVE-1"}`,
		"truncated": `[{"cve_id": "CVE-1", "pkg": "a", "res_ver": "1-1.ph4"}`,
		"bad row":   `[{"cve_id": 5}]`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Loader().Load(t.Context(), "cve_data_photon5.0.json", strings.NewReader(in), advisory.NewMemory()); err == nil {
				t.Error("no error")
			}
		})
	}
}
