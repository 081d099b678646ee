package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/dbartifact"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// TestDBFromRegistry: a server whose DB source is a registry pulls the DB
// published with `db push` (signature checked), matches with it, and says
// so in its status; a DB signed by another key is refused and the previous
// one stays in use.
func TestDBFromRegistry(t *testing.T) {
	ctx := context.Background()
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	built := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	src := t.TempDir()
	if _, err := vulndb.Build(ctx, src, func(ctx context.Context, s advisory.Sink) error {
		if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2099-1", Source: "test", Severity: "high"}); err != nil {
			return err
		}
		return s.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2099-1", Ecosystem: "Debian:12", Package: "openssl", Source: "test",
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "3.0.99-1"}}}}})
	}, built); err != nil {
		t.Fatal(err)
	}
	if _, err := dbartifact.Push(ctx, src, reg+"/bulwark/db:good", priv, dbartifact.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbartifact.Push(ctx, src, reg+"/bulwark/db:forged", otherPriv, dbartifact.Options{}); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	s, err := Open(ctx, Options{DataDir: t.TempDir(), CacheDir: cache, DBFrom: reg + "/bulwark/db:good", DBVerifyKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.matcher.Ready() {
		t.Fatal("a DB before any update")
	}
	s.UpdateDB(ctx)
	if !s.matcher.Ready() || s.matcher.Version() != built.Format(time.RFC3339) {
		t.Fatalf("after the pull: ready %v version %q; status %v", s.matcher.Ready(), s.matcher.Version(), s.matcher.Status())
	}
	rep := &model.Report{Distro: &model.Distro{ID: "debian", VersionID: "12"},
		Packages: []model.Package{{Name: "openssl", Version: "3.0.11-1", Type: "deb", SourceName: "openssl", SourceVersion: "3.0.11-1"}}}
	v, err := s.matcher.Match(ctx, rep)
	if err != nil || v == "" || len(rep.Findings) != 1 || rep.Findings[0].ID != "CVE-2099-1" {
		t.Errorf("match with the pulled DB: version %q, findings %+v, %v", v, rep.Findings, err)
	}
	// The forged artifact is refused; the good DB stays.
	s.o.DBFrom = reg + "/bulwark/db:forged"
	s.UpdateDB(ctx)
	st := s.matcher.Status()
	if st["last_update_error"] == nil || !s.matcher.Ready() || s.matcher.Version() != built.Format(time.RFC3339) {
		t.Errorf("after a forged DB: %v", st)
	}
}
