// Package feedtest holds what every feed loader's tests share: a sink that
// fails the test on an invalid record, and a fuzz driver over a loader.
package feedtest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// Sink fails the test on any record that does not Validate, whose ecosystem
// does not start with Eco, or that Extra (optional) rejects.
type Sink struct {
	T     testing.TB
	Eco   string
	Extra func(advisory.Affected) error
}

var _ advisory.Sink = Sink{}

func (s Sink) PutVulnerability(_ context.Context, v advisory.Vulnerability) error {
	if err := v.Validate(); err != nil {
		s.T.Fatalf("loader emitted a bad vulnerability: %v: %+v", err, v)
	}
	return nil
}

func (s Sink) PutAffected(_ context.Context, a advisory.Affected) error {
	if err := a.Validate(); err != nil {
		s.T.Fatalf("loader emitted a bad entry: %v: %+v", err, a)
	}
	if !strings.HasPrefix(a.Ecosystem, s.Eco) {
		s.T.Fatalf("ecosystem %q, want prefix %q: %+v", a.Ecosystem, s.Eco, a)
	}
	if s.Extra != nil {
		if err := s.Extra(a); err != nil {
			s.T.Fatalf("bad entry: %v: %+v", err, a)
		}
	}
	return nil
}

// Fuzz drives a loader's Detect and Load of a file called name with
// arbitrary bytes: it must never panic, and whatever it emits must be valid.
func Fuzz(f *testing.F, l feed.Loader, name, eco string, extra func(advisory.Affected) error, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l.Detect(name, data)
		_, _ = l.Load(context.Background(), name, bytes.NewReader(data), Sink{T: t, Eco: eco, Extra: extra})
	})
}
