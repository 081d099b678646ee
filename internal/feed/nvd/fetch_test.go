package nvd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// nvdServer answers like the CVE API 2.0: pages of at most 2 CVEs out of
// total, one 403 (the rate limit) on the second request, and it records
// the query of every request.
func nvdServer(t *testing.T, total int, queries *[]map[string]string) *httptest.Server {
	t.Helper()
	n := 0
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		q := map[string]string{"apiKey": r.Header.Get("apiKey")}
		for k := range r.URL.Query() {
			q[k] = r.URL.Query().Get(k)
		}
		*queries = append(*queries, q)
		if n == 2 {
			http.Error(w, "rate limited", http.StatusForbidden)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		var vulns []map[string]any
		for i := start; i < total && i < start+2; i++ {
			vulns = append(vulns, map[string]any{"cve": map[string]any{
				"id": fmt.Sprintf("CVE-2026-%04d", i), "lastModified": "2026-12-01T10:00:00.000",
				"descriptions": []map[string]string{{"lang": "en", "value": "test"}},
				"metrics": map[string]any{"cvssMetricV31": []map[string]any{{"type": "Primary", "cvssData": map[string]any{
					"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}}}},
			}})
		}
		json.NewEncoder(w).Encode(map[string]any{"resultsPerPage": len(vulns), "startIndex": start, "totalResults": total,
			"format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-06T00:00:00.000", "vulnerabilities": vulns})
	}))
}

// TestFetch: an incremental fetch asks for lastModStartDate..now in
// windows of at most 120 days, pages through them, sends the API key,
// spaces requests as the key's rate limit allows, waits out a 403, and
// leaves pages the NVD loader reads.
func TestFetch(t *testing.T) {
	now := time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		key      string
		since    time.Time
		requests int // including the refused one
		interval time.Duration
	}{
		{"full, no key", "", time.Time{}, 4, 6 * time.Second},
		{"incremental, key", "k", now.Add(-200 * 24 * time.Hour), 7, 600 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var queries []map[string]string
			srv := nvdServer(t, 5, &queries)
			defer srv.Close()
			var slept []time.Duration
			dir := t.TempDir()
			res, err := Fetch(context.Background(), srv.Client(), dir, FetchOptions{APIKey: c.key, Since: c.since, BaseURL: srv.URL,
				Now: func() time.Time { return now }, Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) != c.requests {
				t.Errorf("%d requests, want %d: %v", len(queries), c.requests, queries)
			}
			for _, q := range queries {
				if q["apiKey"] != c.key || q["resultsPerPage"] != "2000" {
					t.Errorf("query %v", q)
				}
				if c.since.IsZero() != (q["lastModStartDate"] == "") {
					t.Errorf("lastModStartDate in %v", q)
				}
			}
			if !c.since.IsZero() {
				if q := queries[0]; q["lastModStartDate"] != "2026-05-20T02:00:00.000Z" || q["lastModEndDate"] != "2026-09-17T02:00:00.000Z" {
					t.Errorf("first window %s..%s", q["lastModStartDate"], q["lastModEndDate"])
				}
			}
			if slept[0] != c.interval {
				t.Errorf("paced at %v, want %v", slept[0], c.interval)
			}
			if !containsDur(slept, 30*time.Second) {
				t.Errorf("no back-off after the 403: %v", slept)
			}
			if res.Until != now {
				t.Errorf("until %v", res.Until)
			}
			pages, _ := filepath.Glob(filepath.Join(dir, "nvd-*.json"))
			if len(pages) != res.Pages {
				t.Errorf("%d files for %d pages", len(pages), res.Pages)
			}
			m := advisory.NewMemory()
			st, err := feed.Import(context.Background(), dir, []feed.Loader{Loader()}, m, nil)
			if err != nil || st.Records["nvd"] != res.CVEs || len(st.Skipped)+len(st.Failed) != 0 {
				t.Errorf("import: %v %+v (fetched %d CVEs)", err, st, res.CVEs)
			}
		})
	}
}

func containsDur(ds []time.Duration, d time.Duration) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
