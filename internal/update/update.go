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
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/feed"
	"github.com/bulwarkdev/bulwark/internal/feed/feeds"
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
}

// Result reports what an update did.
type Result struct {
	Meta    vulndb.Meta
	Imports []feed.Stats
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
	res.Meta = meta
	return res, nil
}
