package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// movingClock is a time the test moves.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movingClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// copyTree copies a folder of feeds (the test changes which ones the
// server's DB is built from).
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var blobGET = regexp.MustCompile(`"(GET|HEAD) /v2/[^ ]+/blobs/sha256:`)

// TestServerRematch: a DB update re-matches the stored inventory of an
// image pushed to a real registry — new and resolved findings recorded
// against the DB version — without reading a blob from the registry; a
// vulnerability exemption takes findings out of the verdict until the
// clock passes its expiry; the recommendations and the score follow.
func TestServerRematch(t *testing.T) {
	var regLog string
	reg := testenv.Registry(t, testenv.RegistryOptions{Log: &regLog})
	feeds := t.TempDir()
	copyTree(t, testenv.Shared(t, "vulndata"), feeds)
	debianFeed := filepath.Join(t.TempDir(), "debian")
	ref, err := name.NewTag(reg + "/team/debian:12")
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(debianTarball(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}

	clock := &movingClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The background loop is slowed down: the test ticks when it chooses.
	s, err := server.Open(ctx, server.Options{DataDir: dataDir, Listen: "127.0.0.1:0", CacheDir: t.TempDir(), Version: "test",
		DBSources: []string{feeds}, Now: clock.now, PostureInterval: time.Hour,
		// The server's threshold, not the client's, judges: the Debian
		// image's findings in ../shared/vulndata are low at worst.
		Threshold: model.SeverityLow})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	url := "http://" + s.Addr()
	s.UpdateDB(ctx)
	v1 := s.DBVersion()

	tok, _ := run(t, "token", "create", "--data-dir", dataDir, "--name", "ci", "--scope", "ingest,read,triage")
	tok = strings.TrimSpace(tok)
	if out, stderr, code := runCLI(t, ctx, "", "--cache-dir", t.TempDir(), "check", "image", ref.String(), "--server", url, "--token", tok, "--exit-code", "1"); code != 1 {
		t.Fatalf("check image of the pushed Debian image: exit %d, want 1 (unhealthy): %s %s (DB %q)", code, out, stderr, s.DBVersion())
	}
	regLogBytes := func() []byte { b, _ := os.ReadFile(regLog); return b }
	blobReads := len(blobGET.FindAll(regLogBytes(), -1))
	if blobReads == 0 {
		t.Fatalf("the registry log shows no blob read for the first scan: the access-log check proves nothing:\n%s", regLogBytes())
	}
	c, err := client.New(url, tok, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Resources(ctx, urlValues("kind", "image"))
	if err != nil || len(res.Items) != 1 {
		t.Fatalf("images: %+v %v", res, err)
	}
	imgID := res.Items[0].ID
	findings := func() int {
		n, cursor := 0, ""
		for {
			p, err := c.Findings(ctx, urlValues("resource", imgID, "limit", "500", "cursor", cursor))
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Items)
			if p.Next == "" {
				return n
			}
			cursor = p.Next
		}
	}
	n1 := findings()
	if n1 == 0 {
		t.Fatal("no findings with ../shared/vulndata: the test proves nothing")
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var recs struct{ Items []api.RecSummary }
	if err := c.Get(ctx, "/api/v1/recommendations", nil, &recs); err != nil {
		t.Fatal(err)
	}
	if recs.Items[0].ID != "REC-IMAGE-VULNS" || recs.Items[0].Unhealthy != 1 {
		t.Errorf("the image's recommendation: %+v", recs.Items[0])
	}

	// A DB without the Debian feed: every finding resolved by it, the
	// image not assessed (never healthy), and no blob read.
	if err := os.Rename(filepath.Join(feeds, "debian"), debianFeed); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	s.UpdateDB(ctx)
	v2 := s.DBVersion()
	if v2 == v1 {
		t.Fatalf("the DB version did not change: %s", v2)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := findings(); n != 0 {
		t.Errorf("after the DB without the Debian feed: %d findings, want 0", n)
	}
	var h store.History
	if err := c.Get(ctx, "/api/v1/history", urlValues("resource", imgID, "limit", "1000"), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.ResolvedFindings) != min(n1, 1000) || h.ResolvedFindings[0].ResolvedWith != v2 || h.ResolvedFindings[0].FoundWith != v1 {
		t.Errorf("resolved findings: %d (want %d), resolved with %q (want %q), found with %q (want %q)", len(h.ResolvedFindings), n1,
			h.ResolvedFindings[0].ResolvedWith, v2, h.ResolvedFindings[0].FoundWith, v1)
	}
	d, err := c.Resource(ctx, imgID)
	if err != nil || d.Health != "not-assessed" {
		t.Errorf("image health without Debian data: %q %v", d.Health, err)
	}

	// The feed comes back: the findings are new again, against v3.
	if err := os.Rename(debianFeed, filepath.Join(feeds, "debian")); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	s.UpdateDB(ctx)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := findings(); n != n1 {
		t.Errorf("after the Debian feed came back: %d findings, want %d", n, n1)
	}
	if got := len(blobGET.FindAll(regLogBytes(), -1)); got != blobReads {
		t.Errorf("re-matching read %d blobs from the registry; it must read none", got-blobReads)
	}

	// A vulnerability exempted everywhere for a day: exempt in the verdict,
	// back when the clock passes the day.
	p, err := c.Findings(ctx, urlValues("resource", imgID, "limit", "1", "sort", "-severity"))
	if err != nil || len(p.Items) == 0 {
		t.Fatal(err)
	}
	cve := p.Items[0].ID
	var ex map[string]any
	if err := c.PostJSONTo(ctx, "/api/v1/exemptions", map[string]any{"vulnerability": cve, "scope": "all", "reason": "not reachable in our build", "expires": "1d"}, &ex); err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	statusOf := func() string {
		p, err := c.Findings(ctx, urlValues("resource", imgID, "vulnerability", cve, "limit", "5"))
		if err != nil || len(p.Items) == 0 {
			t.Fatalf("finding %s: %v", cve, err)
		}
		return string(p.Items[0].Status)
	}
	if st := statusOf(); st != "exempt" {
		t.Errorf("%s after the exemption: %s, want exempt", cve, st)
	}
	clock.add(25 * time.Hour)
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(); st == "exempt" {
		t.Errorf("%s after the exemption expired: still exempt", cve)
	}
	var sc store.Score
	if err := c.Get(ctx, "/api/v1/score", nil, &sc); err != nil || len(sc.Controls) == 0 || sc.MaxPoints == 0 {
		t.Errorf("score: %+v %v", sc, err)
	}
}
