package composer

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
	if !strings.Contains(a.Package, "/") || a.Ecosystem != advisory.EcoPackagist || len(a.AffectedConstraints) == 0 {
		s.t.Fatalf("bad affected: %+v", a)
	}
	return nil
}

func FuzzFriendsOfPHP(f *testing.F) {
	f.Add([]byte(withCVE))
	f.Add([]byte(noCVE))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := FriendsOfPHP()
		l.Detect("f", data)
		_, _ = l.Load(context.Background(), "root/v/p/2020-01-01.yaml", bytes.NewReader(data), checkSink{t})
	})
}
