package nvd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulwarkdev/bulwark/internal/progress"
	"github.com/bulwarkdev/bulwark/internal/redact"
)

// APIURL is the NVD CVE API 2.0 endpoint.
const APIURL = "https://services.nvd.nist.gov/rest/json/cves/2.0"

const (
	pageSize = 2000 // the API's maximum resultsPerPage
	// maxWindow is the longest lastModStartDate..lastModEndDate range the
	// API accepts.
	maxWindow = 120 * 24 * time.Hour
	maxPage   = 256 << 20
	retries   = 4
	// NVD allows 5 requests in a rolling 30 s window without a key and 50
	// with one; spacing requests evenly keeps under both.
	intervalNoKey = 6 * time.Second
	intervalKey   = 600 * time.Millisecond
	backoff       = 30 * time.Second
)

// FetchOptions tune Fetch.
type FetchOptions struct {
	// APIKey raises NVD's rate limit; optional.
	APIKey string
	// Since fetches only CVEs modified after it (lastModStartDate); zero
	// fetches everything.
	Since time.Time
	// BaseURL defaults to APIURL (tests point it at a local server).
	BaseURL string
	Now     func() time.Time
	// Sleep waits between requests; tests replace it to record the pacing.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
}

// FetchResult says what Fetch wrote.
type FetchResult struct {
	Pages, CVEs int
	// Until is the end of the fetched window: the next incremental fetch
	// starts there.
	Until time.Time
}

// Fetch downloads the CVEs modified since o.Since (all when zero) as API
// pages into dir, one file per page named so that later fetches sort
// after earlier ones. Each page is written to a temporary file and renamed,
// so a failed fetch leaves only whole pages behind.
func Fetch(ctx context.Context, client *http.Client, dir string, o FetchOptions) (FetchResult, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if o.BaseURL == "" {
		o.BaseURL = APIURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	interval := intervalNoKey
	if o.APIKey != "" {
		interval = intervalKey
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return FetchResult{}, fmt.Errorf("create NVD folder %s: %w", dir, err)
	}
	now := o.Now().UTC()
	res := FetchResult{Until: now}
	// Windows of at most 120 days from Since to now; one unbounded
	// window for a full fetch.
	type window struct{ from, to time.Time }
	var windows []window
	if o.Since.IsZero() {
		windows = []window{{}}
	} else {
		for from := o.Since.UTC(); from.Before(now); from = from.Add(maxWindow) {
			to := from.Add(maxWindow)
			if to.After(now) {
				to = now
			}
			windows = append(windows, window{from, to})
		}
	}
	first := true
	for _, w := range windows {
		for start := 0; ; {
			q := url.Values{}
			q.Set("resultsPerPage", strconv.Itoa(pageSize))
			q.Set("startIndex", strconv.Itoa(start))
			if !w.from.IsZero() {
				q.Set("lastModStartDate", w.from.Format("2006-01-02T15:04:05.000Z07:00"))
				q.Set("lastModEndDate", w.to.Format("2006-01-02T15:04:05.000Z07:00"))
			}
			name := fmt.Sprintf("nvd-%d-%08d.json", now.Unix(), res.Pages)
			var page pageHead
			for attempt := 0; ; attempt++ {
				if !first {
					if err := o.Sleep(ctx, interval); err != nil {
						return res, err
					}
				}
				first = false
				var err error
				page, err = fetchPage(ctx, client, o.BaseURL+"?"+q.Encode(), o.APIKey, filepath.Join(dir, name))
				if err == nil {
					break
				}
				var st statusError
				if !errors.As(err, &st) || !st.retry() || attempt == retries {
					return res, fmt.Errorf("fetch NVD page at %d: %w", start, err)
				}
				o.Logger.Warn("NVD rate limit or outage; waiting", "status", int(st), "wait", backoff)
				if err := o.Sleep(ctx, backoff); err != nil {
					return res, err
				}
			}
			res.Pages++
			res.CVEs += page.ResultsPerPage
			o.Logger.Info("NVD page", "start", start, "results", page.ResultsPerPage, "total", page.TotalResults)
			start += page.ResultsPerPage
			if page.ResultsPerPage == 0 || start >= page.TotalResults {
				break
			}
		}
	}
	return res, nil
}

type pageHead struct {
	ResultsPerPage int `json:"resultsPerPage"`
	StartIndex     int `json:"startIndex"`
	TotalResults   int `json:"totalResults"`
}

type statusError int

func (s statusError) Error() string {
	return "HTTP " + strconv.Itoa(int(s)) + " " + http.StatusText(int(s))
}

// retry: NVD answers 403 when the rolling window is exceeded, and 503/504
// under load.
func (s statusError) retry() bool {
	return s == http.StatusForbidden || s == http.StatusTooManyRequests || s >= 500
}

func fetchPage(ctx context.Context, client *http.Client, u, key, dst string) (pageHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return pageHead{}, err
	}
	if key != "" {
		req.Header.Set("apiKey", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return pageHead{}, redact.URLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return pageHead{}, statusError(resp.StatusCode)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".nvd-page-*")
	if err != nil {
		return pageHead{}, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, progress.Reader(io.LimitReader(resp.Body, maxPage+1), progress.BarFrom(ctx)))
	if err == nil && n > maxPage {
		err = fmt.Errorf("page larger than %d bytes", maxPage)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return pageHead{}, err
	}
	data, err := os.ReadFile(tmp.Name())
	if err != nil {
		return pageHead{}, err
	}
	var h pageHead
	if err := json.Unmarshal(data, &h); err != nil {
		return pageHead{}, fmt.Errorf("decode NVD page: %w", err)
	}
	if h.ResultsPerPage < 0 || h.TotalResults < 0 {
		return pageHead{}, fmt.Errorf("NVD page with negative counts")
	}
	return h, os.Rename(tmp.Name(), dst)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
