package redhat

import (
	"archive/tar"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
)

// vexArchive packs files (path → content) as Red Hat's csaf_vex_*.tar.zst.
func vexArchive(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	tw.Close()
	enc, _ := zstd.NewWriter(nil)
	defer enc.Close()
	return enc.EncodeAll(tb.Bytes(), nil)
}

type vexServer struct {
	mu        sync.Mutex
	archive   []byte
	changes   string
	deletions string
	docs      map[string][]byte
	fetched   []string
}

func (s *vexServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/vex/")
	s.fetched = append(s.fetched, p)
	switch p {
	case "archive_latest.txt":
		w.Write([]byte("csaf_vex_2026-12-01.tar.zst\n"))
	case "csaf_vex_2026-12-01.tar.zst":
		w.Write(s.archive)
	case "changes.csv":
		w.Write([]byte(s.changes))
	case "deletions.csv":
		w.Write([]byte(s.deletions))
	default:
		if b, ok := s.docs[p]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}
}

// TestFetch: the first fetch unpacks the archive and applies the changes
// newer than its date; the next one fetches only what changed since, and
// removes what deletions.csv lists. The mirror imports as VEX documents.
func TestFetch(t *testing.T) {
	a, _ := os.ReadFile("testdata/cve-2023-5678.json")
	b, _ := os.ReadFile("testdata/cve-2024-28085.json")
	c, _ := os.ReadFile("testdata/cve-2024-22020.json")
	srv := &vexServer{
		archive: vexArchive(t, map[string][]byte{"2023/cve-2023-5678.json": a, "2024/cve-2024-28085.json": b,
			"../../escape/cve-2024-0001.json": a, "2024/README": []byte("x")}),
		changes:   "\"2024/cve-2024-28085.json\",\"2026-12-02T10:00:00+00:00\"\n\"2023/cve-2023-5678.json\",\"2026-11-30T10:00:00+00:00\"\n",
		deletions: "",
		docs:      map[string][]byte{"2024/cve-2024-28085.json": b, "2024/cve-2024-22020.json": c},
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	dir := filepath.Join(t.TempDir(), "mirror")
	ctx := context.Background()
	res, err := Fetch(ctx, hs.Client(), dir, FetchOptions{BaseURL: hs.URL + "/vex/"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.FromArchive || res.Updated != 1 || !res.Until.Equal(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("first fetch %+v", res)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); err == nil {
		t.Error("an archive member escaped the mirror")
	}
	// Next: one new document, one deleted.
	srv.changes = "\"2024/cve-2024-22020.json\",\"2026-12-03T08:00:00+00:00\"\n" + srv.changes
	srv.deletions = "\"2023/cve-2023-5678.json\",\"2026-12-03T09:00:00+00:00\"\n"
	srv.fetched = nil
	res, err = Fetch(ctx, hs.Client(), dir, FetchOptions{BaseURL: hs.URL + "/vex/", Since: res.Until})
	if err != nil {
		t.Fatal(err)
	}
	if res.FromArchive || res.Updated != 1 || res.Deleted != 1 {
		t.Errorf("second fetch %+v", res)
	}
	for _, f := range srv.fetched {
		if strings.HasSuffix(f, ".tar.zst") || f == "2024/cve-2024-28085.json" {
			t.Errorf("incremental fetch asked for %s", f)
		}
	}
	m := advisory.NewMemory()
	st, err := feed.Import(ctx, dir, []feed.Loader{VEX()}, m, nil)
	if err != nil || st.Records[source] != 2 || len(st.Skipped)+len(st.Failed) != 0 {
		t.Errorf("import of the mirror: %v %+v", err, st)
	}
}

// TestFetchHostileIndex: an index row that is not a document path is an
// error, and nothing is written for it.
func TestFetchHostileIndex(t *testing.T) {
	a, _ := os.ReadFile("testdata/cve-2023-5678.json")
	for _, row := range []string{"\"../../etc/cron.d/x\",\"2026-12-05T00:00:00+00:00\"\n", "\"2024/cve-2024-1.json\",\"yesterday\"\n"} {
		srv := &vexServer{archive: vexArchive(t, map[string][]byte{"2023/cve-2023-5678.json": a}), changes: row}
		hs := httptest.NewServer(srv)
		_, err := Fetch(context.Background(), hs.Client(), t.TempDir(), FetchOptions{BaseURL: hs.URL + "/vex/"})
		hs.Close()
		if err == nil || !strings.Contains(err.Error(), "bad row") {
			t.Errorf("row %q: %v", row, err)
		}
	}
}
