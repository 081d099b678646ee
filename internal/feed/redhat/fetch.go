package redhat

import (
	"archive/tar"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/redact"
)

// VEXURL is where Red Hat publishes its VEX documents, the archive of all
// of them (named by archive_latest.txt) and changes.csv / deletions.csv.
const VEXURL = "https://security.access.redhat.com/data/csaf/v2/vex/"

const (
	maxArchive  = 8 << 30  // decompressed bytes of the whole archive
	maxDocument = 64 << 20 // one VEX document (same bound as Load)
	maxIndex    = 256 << 20
)

// docPath is what a document path in the archive and the CSV indexes
// looks like ("2024/cve-2024-1234.json"); anything else is refused, so a
// hostile archive or index cannot write outside the mirror.
var docPath = regexp.MustCompile(`^\d{4}/cve-\d{4}-\d{4,}\.json$`)

// archiveDate reads the date out of "csaf_vex_2026-12-05.tar.zst".
var archiveDate = regexp.MustCompile(`^csaf_vex_(\d{4}-\d{2}-\d{2})\.tar\.zst$`)

// FetchOptions tune Fetch.
type FetchOptions struct {
	// Since: the mirror in dir is complete up to this time; zero starts
	// over from the archive.
	Since   time.Time
	BaseURL string // default VEXURL
	Logger  *slog.Logger
}

// FetchResult says what Fetch did.
type FetchResult struct {
	FromArchive bool
	Updated     int
	Deleted     int
	// Until is the newest change applied: the next fetch starts there.
	Until time.Time
}

// Fetch keeps a mirror of Red Hat's VEX documents in dir, one file per
// CVE: the first time from the archive archive_latest.txt names, then
// incrementally, fetching only the documents changes.csv lists as changed
// since o.Since and removing those deletions.csv lists.
func Fetch(ctx context.Context, client *http.Client, dir string, o FetchOptions) (FetchResult, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if o.BaseURL == "" {
		o.BaseURL = VEXURL
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	base, err := url.Parse(strings.TrimSuffix(o.BaseURL, "/") + "/")
	if err != nil {
		return FetchResult{}, fmt.Errorf("Red Hat VEX base URL: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return FetchResult{}, fmt.Errorf("create VEX mirror %s: %w", dir, err)
	}
	cleanStale(dir)
	res := FetchResult{Until: o.Since}
	if o.Since.IsZero() {
		since, err := fromArchive(ctx, client, base, dir)
		if err != nil {
			return res, err
		}
		res.FromArchive, res.Until = true, since
	}
	changes, err := index(ctx, client, base.JoinPath("changes.csv").String())
	if err != nil {
		return res, fmt.Errorf("Red Hat VEX changes.csv: %w", err)
	}
	newest := res.Until
	for _, c := range changes {
		if !c.at.After(res.Until) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b, err := feed.Get(ctx, client, base.JoinPath(c.path).String(), maxDocument)
		if err != nil {
			return res, fmt.Errorf("fetch %s: %w", c.path, err)
		}
		if err := writeDoc(dir, c.path, b); err != nil {
			return res, err
		}
		res.Updated++
		if c.at.After(newest) {
			newest = c.at
		}
	}
	deletions, err := index(ctx, client, base.JoinPath("deletions.csv").String())
	if err != nil {
		return res, fmt.Errorf("Red Hat VEX deletions.csv: %w", err)
	}
	for _, d := range deletions {
		if !d.at.After(res.Until) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(d.path))); err == nil {
			res.Deleted++
		} else if !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("remove %s: %w", d.path, err)
		}
	}
	res.Until = newest
	o.Logger.Info("Red Hat VEX mirror updated", "from_archive", res.FromArchive, "updated", res.Updated, "deleted", res.Deleted, "until", res.Until)
	return res, nil
}

type change struct {
	path string
	at   time.Time
}

// index reads changes.csv or deletions.csv: "path","RFC 3339 time" rows.
func index(ctx context.Context, client *http.Client, u string) ([]change, error) {
	b, err := feed.Get(ctx, client, u, maxIndex)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = 2
	var out []change
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		p := strings.TrimSpace(rec[0])
		at, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[1]))
		if err != nil || !docPath.MatchString(p) {
			return nil, fmt.Errorf("bad row %q", strings.Join(rec, ","))
		}
		out = append(out, change{p, at})
	}
}

// fromArchive replaces the mirror's documents with the archive's and
// returns the archive's date.
func fromArchive(ctx context.Context, client *http.Client, base *url.URL, dir string) (time.Time, error) {
	b, err := feed.Get(ctx, client, base.JoinPath("archive_latest.txt").String(), 1024)
	if err != nil {
		return time.Time{}, fmt.Errorf("Red Hat VEX archive_latest.txt: %w", err)
	}
	name := strings.TrimSpace(string(b))
	m := archiveDate.FindStringSubmatch(name)
	if m == nil {
		return time.Time{}, fmt.Errorf("Red Hat VEX archive_latest.txt names %q, not csaf_vex_YYYY-MM-DD.tar.zst", name)
	}
	since, _ := time.Parse(time.DateOnly, m[1])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.JoinPath(name).String(), nil)
	if err != nil {
		return time.Time{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("fetch %s: %w", name, redact.URLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("fetch %s: HTTP %s", name, resp.Status)
	}
	zr, err := zstd.NewReader(resp.Body, zstd.WithDecoderMaxWindow(128<<20), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return time.Time{}, fmt.Errorf("open %s: %w", name, err)
	}
	defer zr.Close()
	tr := tar.NewReader(io.LimitReader(zr, maxArchive))
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("read %s: %w", name, err)
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag != tar.TypeReg || !docPath.MatchString(p) {
			continue // directories, links and anything not a VEX document
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxDocument+1))
		if err != nil || len(data) > maxDocument {
			return time.Time{}, fmt.Errorf("read %s in %s: too large or unreadable (%v)", p, name, err)
		}
		if err := writeDoc(dir, p, data); err != nil {
			return time.Time{}, err
		}
		n++
	}
	if n == 0 {
		return time.Time{}, fmt.Errorf("%s holds no VEX documents", name)
	}
	return since, nil
}

// writeDoc writes one document into the mirror through a temporary file
// that cleanStale removes if a killed fetch leaves it.
func writeDoc(dir, p string, data []byte) error {
	dst := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), tmpPattern)
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

const tmpPattern = ".vex-*.tmp"

// cleanStale removes temporary files of a killed fetch, which an import
// would otherwise read as documents.
func cleanStale(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if ok, _ := filepath.Match(tmpPattern, d.Name()); ok {
				os.Remove(p)
			}
		}
		return nil
	})
}
