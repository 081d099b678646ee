package debian

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// checkSink fails the fuzz run on records no loader may produce.
type checkSink struct{ t *testing.T }

func (s checkSink) PutVulnerability(_ context.Context, v advisory.Vulnerability) error {
	if v.ID == "" || v.Source == "" {
		s.t.Fatalf("vulnerability without id or source: %+v", v)
	}
	return nil
}

func (s checkSink) PutAffected(_ context.Context, a advisory.Affected) error {
	if a.VulnID == "" || a.Package == "" || !strings.HasPrefix(a.Ecosystem, "Debian:") {
		s.t.Fatalf("bad affected: %+v", a)
	}
	for _, r := range a.Ranges {
		if len(r.Events) == 0 {
			s.t.Fatalf("empty range: %+v", a)
		}
	}
	return nil
}

func fuzzLoader(f *testing.F, l feed.Loader, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l.Detect("f", data)
		_, _ = l.Load(context.Background(), "f", bytes.NewReader(data), checkSink{t})
	})
}

func FuzzList(f *testing.F)    { fuzzLoader(f, List(), dsaListSample) }
func FuzzCVEList(f *testing.F) { fuzzLoader(f, CVEList(), cveListSample) }
func FuzzTracker(f *testing.F) { fuzzLoader(f, TrackerJSON(), trackerSample) }
func FuzzVulnList(f *testing.F) {
	fuzzLoader(f, VulnList(), `{"Header":{"Original":"CVE-2023-1 (x)"},"Annotations":[{"Original":"- a 1"}]}`)
}
