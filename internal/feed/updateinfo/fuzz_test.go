package updateinfo

import (
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
)

func FuzzUpdateInfo(f *testing.F) {
	seed, err := os.ReadFile("testdata/ol8-updateinfo.xml")
	if err != nil {
		f.Fatal(err)
	}
	feedtest.Fuzz(f, Loader(), "updateinfo.xml", "", nil, string(seed))
}
