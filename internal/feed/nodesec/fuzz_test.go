package nodesec

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
	if a.Package == "" || a.Ecosystem != advisory.EcoNPM || len(a.AffectedConstraints)+len(a.UnaffectedConstraints) == 0 {
		s.t.Fatalf("bad affected: %+v", a)
	}
	return nil
}

func FuzzNPM(f *testing.F) {
	for _, s := range []string{npmDocWithCVE, npmDocNoCVE, coreDoc, indexDoc} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := NPM()
		l.Detect("vuln/npm/x.json", data)
		_, _ = l.Load(context.Background(), "vuln/npm/x.json", bytes.NewReader(data), checkSink{t})
	})
}
