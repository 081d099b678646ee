package rubysec

import (
	"bytes"
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/advisory"
)

type checkSink struct{ t *testing.T }

func (s checkSink) PutVulnerability(_ context.Context, v advisory.Vulnerability) error {
	if v.ID == "" {
		s.t.Fatalf("vulnerability without id: %+v", v)
	}
	return nil
}

func (s checkSink) PutAffected(_ context.Context, a advisory.Affected) error {
	if a.Package == "" || a.Ecosystem != advisory.EcoRubyGems {
		s.t.Fatalf("bad affected: %+v", a)
	}
	return nil
}

func FuzzAdvisories(f *testing.F) {
	for _, s := range []string{gemDoc, osvdbDoc, noIDDoc, rubyDoc} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := Advisories()
		l.Detect("f", data)
		_, _ = l.Load(context.Background(), "gems/x/y.yml", bytes.NewReader(data), checkSink{t})
	})
}
