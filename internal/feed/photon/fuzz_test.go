package photon

import (
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzPhoton(f *testing.F) {
	seed, err := os.ReadFile("testdata/cve_data_photon4.0.json")
	if err != nil {
		f.Fatal(err)
	}
	feedtest.Fuzz(f, Loader(), "cve_data_photon4.0.json", "Photon OS:4.0", nil, string(seed))
}
