package epss

import (
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzEPSS(f *testing.F) {
	seed, err := os.ReadFile("testdata/epss_scores-2025-12-05.csv")
	if err != nil {
		f.Fatal(err)
	}
	feedtest.Fuzz(f, Loader(), "epss.csv", "", nil, string(seed))
}
