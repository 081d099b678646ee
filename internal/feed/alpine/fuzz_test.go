package alpine

import (
	"bytes"
	"context"
	"strings"
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
	if a.Package == "" || !strings.HasPrefix(a.Ecosystem, "Alpine:") || a.Ecosystem == "Alpine:" {
		s.t.Fatalf("bad affected: %+v", a)
	}
	return nil
}

func FuzzSecDB(f *testing.F) {
	f.Add([]byte(yamlDoc))
	f.Add([]byte(vulnListDoc))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := SecDB()
		l.Detect("f", data)
		_, _ = l.Load(context.Background(), "f", bytes.NewReader(data), checkSink{t})
	})
}
