package server

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// movableClock is the server's clock in these tests: real time plus an
// offset the test moves (the 30-day window).
type movableClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *movableClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *movableClock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// watchDB builds a small vulnerability DB: openssl below 3.0.99-1 in
// Debian 12 is vulnerable.
func watchDB(t testing.TB, cache string) {
	t.Helper()
	if _, err := vulndb.Build(context.Background(), scan.DBDir(cache), func(ctx context.Context, s advisory.Sink) error {
		if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2099-1", Source: "test", Severity: "high"}); err != nil {
			return err
		}
		return s.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2099-1", Ecosystem: "Debian:12", Package: "openssl", Source: "test",
			Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "3.0.99-1"}}}}})
	}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func tarLayer(t testing.TB, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: p, Mode: 0o644, Size: int64(len(files[p])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, files[p]) //nolint:errcheck
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// baseLayer is a Debian 12 base with openssl at version v.
func baseLayer(t testing.TB, v string) v1.Layer {
	return tarLayer(t, map[string]string{
		"etc/os-release":      "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
		"var/lib/dpkg/status": fmt.Sprintf("Package: openssl\nStatus: install ok installed\nVersion: %s\nArchitecture: amd64\nSource: openssl\n\n", v),
	})
}

// smallImage is a base plus an app layer whose content names the image.
func smallImage(t testing.TB, base v1.Layer, app, arch string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, base, tarLayer(t, map[string]string{"app/name": app}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

type watchEnv struct {
	srv    *Server
	url    string
	clock  *movableClock
	admin  *client.Client
	reader *client.Client
	ingest string
	read   string
	cache  string
}

// startWatchServer runs a server (SQLite, or PostgreSQL at dsn) with fast
// queue settings and returns admin and read clients.
func startWatchServer(t testing.TB, dsn, dataDir, cache string, clock *movableClock) *watchEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, Options{DataDir: dataDir, Database: dsn, Listen: "127.0.0.1:0", CacheDir: cache, Now: clock.now, ShutdownTimeout: 5 * time.Second,
		Watch: registry.Options{PollInterval: 50 * time.Millisecond, RetryBase: 100 * time.Millisecond, MaxAttempts: 3, CrawlPageSize: 2, CrawlTick: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	e := &watchEnv{srv: s, url: "http://" + s.Addr(), clock: clock, cache: cache}
	mk := func(scopes string) string {
		_, secret, err := api.CreateToken(context.Background(), s.Store, api.TokenRequest{Name: scopes + fmt.Sprint(time.Now().UnixNano()), Scopes: scopes}, "test", clock.now())
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	if e.admin, err = client.New(e.url, mk("admin,read"), client.Options{}); err != nil {
		t.Fatal(err)
	}
	e.read = mk("read")
	if e.reader, err = client.New(e.url, e.read, client.Options{}); err != nil {
		t.Fatal(err)
	}
	e.ingest = mk("ingest")
	return e
}

// waitImage polls the registry's image list until digest is in a final
// state (scanned with every platform image scanned, or failed).
func (e *watchEnv) waitImage(t testing.TB, reg, digest string, timeout time.Duration) store.RegistryImageState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last store.RegistryImageState
	for time.Now().Before(deadline) {
		cursor := ""
		for {
			page, err := e.reader.RegistryImages(context.Background(), reg, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if it.Digest == digest {
					last = it
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if last.Scan != nil && final(last) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not scanned in %s: %+v (scan %+v)", digest, timeout, last, last.Scan)
	return last
}

func final(it store.RegistryImageState) bool {
	switch it.Scan.State {
	case store.ScanFailed:
		return true
	case store.ScanScanned:
		if len(it.Images) == 0 {
			return false
		}
		for _, im := range it.Images {
			if im.State != store.ScanScanned && im.State != store.ScanFailed {
				return false
			}
		}
		return true
	}
	return false
}

func push(t testing.TB, ref string, img v1.Image) string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, _ := img.Digest()
	return d.String()
}

func eachWatchStore(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := ""
			if backend == "postgres" {
				dsn = testenv.Postgres(t)
			}
			f(t, dsn)
		})
	}
}

// TestRegistryWatch: a real CNCF distribution registry sends its
// notifications to the server. A push ends as a stored scan with its
// verdict (an index: each platform's image); a pull refreshes the 30-day
// window, a delete takes the image out of assessment; a second image on
// the same base downloads only its new layer; an artifact fails as an
// unsupported media type; bad notifications change nothing.
func TestRegistryWatch(t *testing.T) { eachWatchStore(t, registryWatch) }

func registryWatch(t *testing.T, dsn string) {
	ctx := context.Background()
	cache := t.TempDir()
	watchDB(t, cache)
	clock := &movableClock{}
	e := startWatchServer(t, dsn, t.TempDir(), cache, clock)
	logPath := filepath.Join(t.TempDir(), "registry.log")
	host := testenv.Registry(t, testenv.RegistryOptions{NotifyURL: e.url + "/api/v1/registries/local/events", NotifyToken: e.ingest, LogPath: logPath})
	if _, err := e.admin.AddRegistry(ctx, client.NewRegistry{Config: registry.Config{Name: "local", URL: "http://" + host, Exclude: []string{"ignored/**"}}}); err != nil {
		t.Fatal(err)
	}

	// A push ends as a stored scan, visible through the inventory API.
	base := baseLayer(t, "3.0.11-1")
	d1 := push(t, host+"/team/app:1.0", smallImage(t, base, "app 1.0", "amd64"))
	it := e.waitImage(t, "local", d1, 30*time.Second)
	if it.Scan.State != store.ScanScanned || len(it.Images) != 1 || it.Images[0].Verdict != "unhealthy" || it.Images[0].High != 1 || it.Tag != "1.0" {
		t.Fatalf("after the push: %+v scan %+v images %+v", it, it.Scan, it.Images)
	}
	res, err := e.reader.Resource(ctx, d1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Health != "unhealthy" || res.Name != host+"/team/app@"+d1 {
		t.Errorf("image resource: %+v", res.ResourceRow)
	}
	fs, err := e.reader.Findings(ctx, map[string][]string{"resource": {d1}})
	if err != nil || len(fs.Items) != 1 || fs.Items[0].ID != "CVE-2099-1" {
		t.Errorf("findings of %s: %+v %v", d1, fs, err)
	}

	// A second image on the same base: only its own layer is downloaded.
	d2 := push(t, host+"/team/other:2.0", smallImage(t, base, "other 2.0", "amd64"))
	e.waitImage(t, "local", d2, 30*time.Second)
	baseDigest, _ := base.Digest()
	if n := blobReads(t, logPath, baseDigest.String()); n != 1 {
		t.Errorf("the shared base layer was downloaded %d times; want once", n)
	}

	// The same digest pushed to another repository is not scanned again.
	push(t, host+"/team/copy:1.0", smallImage(t, base, "app 1.0", "amd64"))
	time.Sleep(300 * time.Millisecond)
	st, err := e.srv.Store.ImageScanState(ctx, d1)
	if err != nil || st.Scans != 1 {
		t.Errorf("digest pushed to two repositories: %+v %v; want one stored scan", st, err)
	}

	// A multi-arch index: each platform's image is assessed.
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: smallImage(t, baseLayer(t, "3.0.99-1"), "multi amd64", "amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: smallImage(t, baseLayer(t, "3.0.11-1"), "multi arm64", "arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	ir, _ := name.ParseReference(host+"/team/multi:latest", name.Insecure)
	if err := remote.WriteIndex(ir, idx); err != nil {
		t.Fatal(err)
	}
	di, _ := idx.Digest()
	it = e.waitImage(t, "local", di.String(), 30*time.Second)
	verdicts := map[string]string{}
	for _, im := range it.Images {
		verdicts[im.Platform] = im.Verdict
	}
	if len(verdicts) != 2 || verdicts["linux/amd64"] != "healthy" || verdicts["linux/arm64"] != "unhealthy" {
		t.Errorf("index: %+v", it.Images)
	}

	// An artifact that is not an image fails with its reason, not retried.
	art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), "application/vnd.example.config+json")
	da := push(t, host+"/team/chart:1", art)
	it = e.waitImage(t, "local", da, 30*time.Second)
	if it.Scan.State != store.ScanFailed || it.Scan.Reason != registry.ReasonMediaType || it.Scan.Attempts != 1 {
		t.Errorf("artifact: %+v", it.Scan)
	}

	// A repository outside the globs is not watched.
	dIgn := push(t, host+"/ignored/x:1", smallImage(t, base, "ignored", "amd64"))
	time.Sleep(300 * time.Millisecond)
	if _, err := e.srv.Store.ImageScanState(ctx, dIgn); err == nil {
		t.Errorf("an excluded repository was recorded")
	}

	// The 30-day window: a pull refreshes it, a delete ends it.
	under := func() map[string]bool {
		ids, err := e.srv.Watch.UnderAssessment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	if u := under(); !u[d1] || !u[d2] {
		t.Fatalf("just pushed, not under assessment: %v", u)
	}
	clock.advance(20 * 24 * time.Hour)
	r1, _ := name.ParseReference(host+"/team/app@"+d1, name.Insecure)
	if _, err := remote.Image(r1); err != nil { // a user's pull (go-containerregistry's user agent)
		t.Fatal(err)
	}
	if _, err := remote.Image(r1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pulled := false
		page, _ := e.reader.RegistryImages(ctx, "local", "")
		for _, it := range page.Items {
			if it.Digest == d1 && it.Repository == "team/app" && it.PulledAt.After(time.Now().Add(19*24*time.Hour)) {
				pulled = true
			}
		}
		if pulled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pull was not recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	clock.advance(15 * 24 * time.Hour) // 35 days after the pushes, 15 after the pull
	if u := under(); !u[d1] || u[d2] {
		t.Errorf("35 days on: d1 (pulled 15 days ago) under: %v, d2 (pushed 35 days ago) under: %v", u[d1], u[d2])
	}
	// d1 is also in team/copy (pushed 35 days ago): delete it from team/app.
	req, _ := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/team/app/manifests/"+d1, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete: %v %v", resp, err)
	}
	resp.Body.Close()
	deadline = time.Now().Add(10 * time.Second)
	for under()[d1] {
		if time.Now().After(deadline) {
			t.Fatal("deleted image still under assessment")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// History stays.
	if _, err := e.reader.Resource(ctx, d1); err != nil {
		t.Errorf("the deleted image's stored result: %v", err)
	}

	// A DB update re-matches the stored inventories without pulling: the
	// registry's access log shows no new blob read.
	blobsBefore := blobReads(t, logPath, "")
	if _, err := vulndb.Build(ctx, scan.DBDir(cache), func(ctx context.Context, s advisory.Sink) error {
		for _, id := range []string{"CVE-2099-1", "CVE-2099-2"} {
			if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Source: "test", Severity: "high"}); err != nil {
				return err
			}
			if err := s.PutAffected(ctx, advisory.Affected{VulnID: id, Ecosystem: "Debian:12", Package: "openssl", Source: "test",
				Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "3.0.99-1"}}}}}); err != nil {
				return err
			}
		}
		return nil
	}, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.srv.matcher.Reload()
	if err := e.srv.posture.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	// d2, pushed 35 days ago and not pulled since, is out of the window:
	// the re-match leaves it as it was.
	if fs, err := e.reader.Findings(ctx, map[string][]string{"resource": {d2}}); err != nil || len(fs.Items) != 1 {
		t.Errorf("after the DB update, findings of %s (out of the window): %+v %v; want the 1 it had", d2, fs, err)
	}
	if n := blobReads(t, logPath, ""); n != blobsBefore {
		t.Errorf("the re-match read %d blobs from the registry", n-blobsBefore)
	}

	// Bad notifications: refused, nothing changes.
	d9 := "sha256:" + strings.Repeat("9", 64)
	good := fmt.Sprintf(`{"repository":"team/app","digest":%q,"action":"push"}`, d9)
	for _, c := range []struct {
		name, token, body, ct string
		want                  int
	}{
		{"no token", "", good, "application/json", 401},
		{"forged token", "bwt_x_y", good, "application/json", 401},
		{"read token", "", good, "application/json", 403},
		{"malformed", e.ingest, `{"events": [`, registry.DistributionMediaType, 422},
		{"bad digest", e.ingest, `{"repository":"team/app","digest":"sha256:zz","action":"push"}`, "application/json", 422},
		{"oversized", e.ingest, `[` + strings.Repeat(good+",", 20000) + good + `]`, "application/json", 413},
		{"not JSON", e.ingest, "hello", "text/plain", 415},
		{"unknown registry", e.ingest, good, "application/json", 404},
	} {
		path := "/api/v1/registries/local/events"
		if c.name == "unknown registry" {
			path = "/api/v1/registries/nope/events"
		}
		req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		tok := c.token
		if c.name == "read token" {
			tok = e.read
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	if _, err := e.srv.Store.ImageScanState(ctx, d9); err == nil {
		t.Errorf("a refused notification recorded its digest")
	}
	// A pushed digest the registry does not hold fails as not found.
	req, _ = http.NewRequest(http.MethodPost, e.url+"/api/v1/registries/local/events", strings.NewReader(good))
	req.Header.Set("Authorization", "Bearer "+e.ingest)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("generic event: %v %v", resp, err)
	}
	resp.Body.Close()
	it = e.waitImage(t, "local", d9, 30*time.Second)
	if it.Scan.Reason != registry.ReasonNotFound {
		t.Errorf("missing digest: %+v", it.Scan)
	}

	// Credentials never come back.
	var regs struct {
		Items []map[string]any `json:"items"`
	}
	if err := e.admin.Get(ctx, "/api/v1/registries", nil, &regs); err != nil || len(regs.Items) != 1 {
		t.Fatalf("list registries: %+v %v", regs, err)
	}
}

// blobReads counts the registry's access-log lines that GET the blob.
func blobReads(t testing.TB, logPath, digest string) int {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `"GET /v2/`) && strings.Contains(l, "/blobs/"+digest) {
			n++
		}
	}
	return n
}

// TestRegistryCrawl: a registry that sends no notifications is found by
// the crawler: /v2/_catalog and tags/list pages followed through their
// Link headers (page size 2), every tag resolved; a moved tag is news, a
// tag already known is not.
func TestRegistryCrawl(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	watchDB(t, cache)
	e := startWatchServer(t, "", t.TempDir(), cache, &movableClock{})
	host := testenv.Registry(t, testenv.RegistryOptions{}) // no notifications
	base := baseLayer(t, "3.0.11-1")
	want := map[string]string{} // digest → repository
	for _, repo := range []string{"a/one", "a/two", "b/three"} {
		for _, tag := range []string{"1", "2", "3"} {
			want[push(t, host+"/"+repo+":"+tag, smallImage(t, base, repo+tag, "amd64"))] = repo
		}
	}
	if _, err := e.admin.AddRegistry(ctx, client.NewRegistry{Config: registry.Config{Name: "quiet", URL: "http://" + host, Exclude: []string{"b/**"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.CrawlRegistry(ctx, "quiet"); err != nil {
		t.Fatal(err)
	}
	for d, repo := range want {
		if repo != "b/three" {
			e.waitImage(t, "quiet", d, 30*time.Second)
		}
	}
	page, err := e.reader.RegistryImages(ctx, "quiet", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 6 {
		t.Errorf("crawled %d images, want 6 (a/one and a/two, 3 tags each)", len(page.Items))
	}
	// A tag moved to a new digest is found by the next crawl.
	moved := push(t, host+"/a/one:1", smallImage(t, base, "moved", "amd64"))
	if err := e.admin.CrawlRegistry(ctx, "quiet"); err != nil {
		t.Fatal(err)
	}
	it := e.waitImage(t, "quiet", moved, 30*time.Second)
	if it.Tag != "1" || it.Scan.State != store.ScanScanned {
		t.Errorf("moved tag: %+v %+v", it, it.Scan)
	}
}
