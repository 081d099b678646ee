// Package update builds the local vulnerability DB from feeds: local files
// and archives for air-gapped hosts, or the public upstreams downloaded
// first. The build is atomic (see vulndb.Build).
package update

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/feeds"
	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// Options for Run.
type Options struct {
	// Sources are local files or folders to import; empty means download
	// the default upstreams first.
	Sources    []string
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// FeedCache keeps what downloads may reuse between updates (the NVD
	// pages and how far they reach, for incremental fetches); empty means
	// a temporary folder, so every update fetches NVD in full.
	FeedCache string
	// NVDAPIKey raises NVD's rate limit (optional).
	NVDAPIKey string
	// NVDBaseURL overrides the NVD API endpoint (tests).
	NVDBaseURL string
}

// Result reports what an update did.
type Result struct {
	Meta    vulndb.Meta
	Imports []feed.Stats
}

// nvdOverlap re-fetches a little before the last fetch ended, so a CVE
// modified while the last fetch ran is not missed.
const nvdOverlap = time.Hour

// fetchNVD brings the NVD pages up to date: into FeedCache/nvd,
// incrementally from where the last successful update ended, or in full
// into a temporary folder. commit records the new state; it is called
// only once the DB was built.
func fetchNVD(ctx context.Context, client *http.Client, tmp string, o Options) (dir string, commit func(), err error) {
	dir, statePath := filepath.Join(tmp, "nvd"), ""
	var since time.Time
	if o.FeedCache != "" {
		dir, statePath = filepath.Join(o.FeedCache, "nvd"), filepath.Join(o.FeedCache, "nvd-state.json")
		st, err := nvd.ReadState(statePath)
		if err != nil {
			return "", nil, err
		}
		if !st.Until.IsZero() {
			since = st.Until.Add(-nvdOverlap)
		}
	}
	res, err := nvd.Fetch(ctx, client, dir, nvd.FetchOptions{APIKey: o.NVDAPIKey, Since: since, BaseURL: o.NVDBaseURL, Now: o.Now, Logger: o.Logger})
	if err != nil {
		return "", nil, fmt.Errorf("NVD: %w", err)
	}
	o.Logger.Info("NVD fetched", "pages", res.Pages, "cves", res.CVEs, "since", since)
	return dir, func() {
		if statePath != "" {
			if err := nvd.WriteState(statePath, nvd.State{Until: res.Until}); err != nil {
				o.Logger.Warn("NVD state not saved; the next update fetches more", "err", err)
			}
		}
	}, nil
}

// Run builds a new DB in dbDir from the sources.
func Run(ctx context.Context, dbDir string, o Options) (*Result, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	sources := o.Sources
	commitNVD := func() {}
	if len(sources) == 0 {
		tmp, err := os.MkdirTemp("", "bulwark-feeds-*")
		if err != nil {
			return nil, fmt.Errorf("make download dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		client := o.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: 10 * time.Minute}
		}
		if err := feed.Download(ctx, client, tmp, feed.DefaultUpstreams(), o.Logger); err != nil {
			return nil, fmt.Errorf("download feeds (use --source for air-gapped hosts): %w", err)
		}
		nvdDir, commit, err := fetchNVD(ctx, client, tmp, o)
		if err != nil {
			return nil, fmt.Errorf("download feeds (use --source for air-gapped hosts): %w", err)
		}
		commitNVD = commit
		sources = []string{tmp, nvdDir}
	}
	res := &Result{}
	loaders := feeds.Default()
	meta, err := vulndb.Build(ctx, dbDir, func(ctx context.Context, sink advisory.Sink) error {
		for _, src := range sources {
			st, err := feed.Import(ctx, src, loaders, sink, o.Logger)
			if err != nil {
				return fmt.Errorf("import %s: %w", src, err)
			}
			res.Imports = append(res.Imports, st)
		}
		return nil
	}, o.Now())
	if err != nil {
		return nil, err
	}
	commitNVD() // only a DB that holds the pages moves the NVD state on
	res.Meta = meta
	return res, nil
}
