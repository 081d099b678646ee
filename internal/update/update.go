// Package update builds the local vulnerability DB from feeds: local files
// and archives for air-gapped hosts, or the public upstreams downloaded
// first. The build is atomic (see vulndb.Build).
package update

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/feeds"
	"github.com/bulwarkdev/bulwark/internal/feed/nvd"
	"github.com/bulwarkdev/bulwark/internal/feed/redhat"
	"github.com/bulwarkdev/bulwark/internal/progress"
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
	// pages, the Red Hat VEX mirror, and how far each reaches, for
	// incremental fetches); empty means a temporary folder, so every
	// update fetches them in full.
	FeedCache string
	// NVDAPIKey raises NVD's rate limit (optional).
	NVDAPIKey string
	// NVDBaseURL and RedHatBaseURL override the upstreams (tests).
	NVDBaseURL, RedHatBaseURL string
}

// Result reports what an update did.
type Result struct {
	Meta    vulndb.Meta
	Imports []feed.Stats
}

// incremental is a feed downloaded into a folder kept under FeedCache,
// bringing it up to date from how far it reached last time.
type incremental struct {
	name string // folder and state file under FeedCache ("nvd")
	// overlap re-fetches a little before the last fetch ended, so a record
	// modified while it ran is not missed.
	overlap time.Duration
	fetch   func(ctx context.Context, client *http.Client, dir string, since time.Time, o Options) (until time.Time, err error)
}

// incrementals is the explicit table of feeds fetched incrementally.
var incrementals = []incremental{
	{name: "nvd", overlap: time.Hour, fetch: func(ctx context.Context, client *http.Client, dir string, since time.Time, o Options) (time.Time, error) {
		res, err := nvd.Fetch(ctx, client, dir, nvd.FetchOptions{APIKey: o.NVDAPIKey, Since: since, BaseURL: o.NVDBaseURL, Now: o.Now, Logger: o.Logger})
		return res.Until, err
	}},
	{name: "redhat-vex", overlap: time.Minute, fetch: func(ctx context.Context, client *http.Client, dir string, since time.Time, o Options) (time.Time, error) {
		res, err := redhat.Fetch(ctx, client, dir, redhat.FetchOptions{Since: since, BaseURL: o.RedHatBaseURL, Logger: o.Logger})
		return res.Until, err
	}},
}

// fetchIncremental brings one feed's folder up to date: under FeedCache
// from where the last successful update ended, or in full into a
// temporary folder. commit records the new state; it is called only once
// the DB was built from the folder.
func fetchIncremental(ctx context.Context, client *http.Client, tmp string, inc incremental, o Options) (dir string, commit func(), err error) {
	dir, statePath := filepath.Join(tmp, inc.name), ""
	var since time.Time
	if o.FeedCache != "" {
		dir, statePath = filepath.Join(o.FeedCache, inc.name), filepath.Join(o.FeedCache, inc.name+"-state.json")
		st, err := feed.ReadState(statePath)
		if err != nil {
			return "", nil, err
		}
		if !st.Until.IsZero() {
			since = st.Until.Add(-inc.overlap)
		}
	}
	bar := progress.Start(ctx, "download "+inc.name, -1, true)
	until, err := inc.fetch(progress.WithBar(ctx, bar), client, dir, since, o)
	bar.Finish()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", inc.name, err)
	}
	o.Logger.Info("feed fetched", "feed", inc.name, "since", since, "until", until)
	return dir, func() {
		if statePath != "" {
			if err := feed.WriteState(statePath, feed.State{Until: until}); err != nil {
				o.Logger.Warn("feed state not saved; the next update fetches more", "feed", inc.name, "err", err)
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
	// A source that is not there fails before anything is built, named once.
	for _, src := range sources {
		if _, err := os.Stat(src); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("feed source %s: %w (want a folder or a .zip, .tar.gz, .tar.zst, .json, .yaml or .xml file)", src, err)
		}
	}
	var commits []func()
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
		sources = []string{tmp}
		// Apart from tmp, which is imported as a whole: each folder once.
		incTmp, err := os.MkdirTemp("", "bulwark-incremental-*")
		if err != nil {
			return nil, fmt.Errorf("make download dir: %w", err)
		}
		defer os.RemoveAll(incTmp)
		for _, inc := range incrementals {
			dir, commit, err := fetchIncremental(ctx, client, incTmp, inc, o)
			if err != nil {
				return nil, fmt.Errorf("download feeds (use --source for air-gapped hosts): %w", err)
			}
			commits = append(commits, commit)
			sources = append(sources, dir)
		}
	}
	res := &Result{}
	loaders := feeds.Default()
	meta, err := vulndb.Build(ctx, dbDir, func(ctx context.Context, sink advisory.Sink) error {
		for _, src := range sources {
			st, err := feed.Import(ctx, src, loaders, sink, o.Logger)
			if err != nil {
				return err // names the source already
			}
			res.Imports = append(res.Imports, st)
		}
		return nil
	}, o.Now())
	if err != nil {
		return nil, err
	}
	for _, commit := range commits {
		commit() // only a DB built from what was fetched moves the state on
	}
	res.Meta = meta
	return res, nil
}
