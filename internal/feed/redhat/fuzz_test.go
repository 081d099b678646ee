package redhat

import (
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzVEX(f *testing.F) {
	seed, err := os.ReadFile("testdata/cve-2024-22020.json")
	if err != nil {
		f.Fatal(err)
	}
	feedtest.Fuzz(f, VEX(), "f.json", "Red Hat:", nil, string(seed))
}
