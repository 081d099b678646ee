package update

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwarkdev/bulwark/internal/feed"
)

// fakeInternet answers every default upstream from one loopback server:
// the client's transport sends each request there whatever its host, so
// nothing leaves the machine. Upstreams get empty-but-valid answers; NVD
// records the lastModStartDate it is asked for.
type fakeInternet struct {
	mu          sync.Mutex
	nvdSince    []string
	vexArchive  []byte
	vexArchives int
}

func (f *fakeInternet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/rest/json/cves/2.0"):
		f.mu.Lock()
		f.nvdSince = append(f.nvdSince, r.URL.Query().Get("lastModStartDate"))
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
			"vulnerabilities": []any{map[string]any{"cve": map[string]any{"id": "CVE-2026-0001", "descriptions": []any{map[string]string{"lang": "en", "value": "x"}}}}}})
	case strings.HasSuffix(r.URL.Path, "/vex/archive_latest.txt"):
		w.Write([]byte("csaf_vex_2026-12-05.tar.zst"))
	case strings.HasSuffix(r.URL.Path, "/vex/csaf_vex_2026-12-05.tar.zst"):
		f.mu.Lock()
		f.vexArchives++
		f.mu.Unlock()
		w.Write(f.vexArchive)
	case strings.HasSuffix(r.URL.Path, "/vex/changes.csv"), strings.HasSuffix(r.URL.Path, "/vex/deletions.csv"):
		// nothing changed since the archive
	case strings.HasSuffix(r.URL.Path, "mirror.list"):
		w.Write([]byte("https://cdn.amazonlinux.com/guids/1/x86_64/\n"))
	case strings.HasSuffix(r.URL.Path, "repodata/repomd.xml"):
		w.Write([]byte(`<repomd><data type="updateinfo"><location href="repodata/updateinfo.xml"/></data></repomd>`))
	default:
		// Any other file: something no loader claims, so it is skipped.
		w.Write([]byte("placeholder"))
	}
}

type redirect struct{ to *url.URL }

func (rt redirect) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = rt.to.Scheme, rt.to.Host
	return http.DefaultTransport.RoundTrip(r)
}

func tarZst(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	return enc.EncodeAll(tb.Bytes(), nil)
}

// TestRunDownloadIncrementalNVD: `db update` over every default upstream
// fetches NVD in full the first time and from the last update's end
// (less an hour's overlap) the next; Red Hat's VEX archive is fetched
// once, then only changes.csv.
func TestRunDownloadIncrementalNVD(t *testing.T) {
	doc, err := os.ReadFile("../feed/redhat/testdata/cve-2023-5678.json")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeInternet{vexArchive: tarZst(t, "2023/cve-2023-5678.json", doc)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: redirect{u}, Timeout: time.Minute}
	cache := t.TempDir()
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	o := Options{HTTPClient: client, FeedCache: filepath.Join(cache, "feeds"), Now: func() time.Time { return now }}
	res, err := Run(context.Background(), filepath.Join(cache, "db"), o)
	if err != nil {
		t.Fatal(err)
	}
	// The one NVD CVE was read; no package advisory names it, so it is
	// not stored. The Red Hat VEX document came from the archive.
	if _, ok := res.Meta.Covers("Red Hat:9"); res.Meta.Unreferenced != 1 || !ok {
		t.Errorf("meta %+v, want the NVD CVE read and left out, and Red Hat:9 covered", res.Meta)
	}
	st, err := feed.ReadState(filepath.Join(cache, "feeds", "nvd-state.json"))
	if err != nil || !st.Until.Equal(now) {
		t.Fatalf("state %v %v", st, err)
	}
	now = now.Add(24 * time.Hour)
	if _, err := Run(context.Background(), filepath.Join(cache, "db"), o); err != nil {
		t.Fatal(err)
	}
	if len(f.nvdSince) != 2 || f.nvdSince[0] != "" || f.nvdSince[1] != "2026-12-06T01:00:00.000Z" {
		t.Errorf("NVD asked since %q", f.nvdSince)
	}
	if f.vexArchives != 1 {
		t.Errorf("the Red Hat VEX archive was fetched %d times, want once (then changes.csv)", f.vexArchives)
	}
}
