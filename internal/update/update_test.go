package update

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
)

// fakeInternet answers every default upstream from one loopback server:
// the client's transport sends each request there whatever its host, so
// nothing leaves the machine. Upstreams get empty-but-valid answers; NVD
// records the lastModStartDate it is asked for.
type fakeInternet struct {
	mu       sync.Mutex
	nvdSince []string
}

func (f *fakeInternet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/rest/json/cves/2.0"):
		f.mu.Lock()
		f.nvdSince = append(f.nvdSince, r.URL.Query().Get("lastModStartDate"))
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"resultsPerPage": 1, "startIndex": 0, "totalResults": 1, "format": "NVD_CVE", "version": "2.0",
			"vulnerabilities": []any{map[string]any{"cve": map[string]any{"id": "CVE-2026-0001", "descriptions": []any{map[string]string{"lang": "en", "value": "x"}}}}}})
	case strings.HasSuffix(r.URL.Path, "archive_latest.txt"):
		w.Write([]byte("csaf_vex_2026-12-05.tar.zst"))
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

// TestRunDownloadIncrementalNVD: `db update` over every default upstream
// fetches NVD in full the first time and from the last update's end
// (less an hour's overlap) the next.
func TestRunDownloadIncrementalNVD(t *testing.T) {
	f := &fakeInternet{}
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
	// not stored.
	if res.Meta.Unreferenced != 1 || len(res.Meta.Sources) != 1 || res.Meta.Sources[0].Name != "nvd" {
		t.Errorf("meta %+v, want the one NVD CVE read and left out", res.Meta)
	}
	st, err := nvd.ReadState(filepath.Join(cache, "feeds", "nvd-state.json"))
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
}
