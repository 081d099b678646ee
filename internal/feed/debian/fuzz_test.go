package debian

import (
	"github.com/bulwarkdev/bulwark/internal/feed/feedtest"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/feed"
)

// checkSink fails the fuzz run on records no loader may produce.
func fuzzLoader(f *testing.F, l feed.Loader, seeds ...string) {
	feedtest.Fuzz(f, l, "f", "Debian:", nil, seeds...)
}

func FuzzList(f *testing.F)    { fuzzLoader(f, List(), dsaListSample) }
func FuzzCVEList(f *testing.F) { fuzzLoader(f, CVEList(), cveListSample) }
func FuzzTracker(f *testing.F) { fuzzLoader(f, TrackerJSON(), trackerSample) }
func FuzzVulnList(f *testing.F) {
	fuzzLoader(f, VulnList(), `{"Header":{"Original":"CVE-2023-1 (x)"},"Annotations":[{"Original":"- a 1"}]}`)
}
