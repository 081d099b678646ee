// Package remoteconfig keeps an engine's configuration in step with the
// server's copy (GET /api/v1/config/{name}): it polls with If-None-Match, so
// an unchanged document costs a 304; checks each new document with the
// engine's own parser before handing it over; keeps the last good copy on
// disk (written atomically), so an engine that restarts while the server
// is unreachable starts from it; and says once when it works from that
// copy and once when the server is back.
//
// The admission webhook and the cluster agent (policy config), the
// run-time watch and the Docker and node agents (alert exceptions) use it;
// the agents through agent.Conn.RemoteConfig (their own credential, the
// copy in their state directory), passed to watch.Config the same way
// `runtime watch --server` does:
//
//	w, err := conn.RuntimeExceptions(30 * time.Second)
//	cfg := watch.Config{…, Exceptions: w}   // watch.Run loads it, then polls
package remoteconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Source reads a configuration document; *client.Client is one. With etag
// set and the document unchanged it returns client.ErrNotModified.
type Source interface {
	ConfigDoc(ctx context.Context, name, etag string) (*store.ConfigDoc, string, error)
}

var _ Source = (*client.Client)(nil)

// Options configure a Watcher.
type Options struct {
	Source Source
	// Name is the document: "policies" or "runtime-exceptions".
	Name string
	// CacheFile keeps the last good copy ("": none kept; an engine that
	// starts while the server is unreachable then has nothing to start
	// from).
	CacheFile string
	// Interval between polls (default DefaultInterval).
	Interval time.Duration
	// Timeout bounds one request (default 10 s).
	Timeout time.Duration
	// Validate is the engine's parser: a document it refuses is never
	// handed over nor cached (the current one stays). Required.
	Validate func(body []byte) error
	Logger   *slog.Logger
}

// DefaultInterval is how often a Watcher polls by default.
const DefaultInterval = 30 * time.Second

// Doc is one version of a document.
type Doc struct {
	Name      string    `json:"name"`
	Version   int64     `json:"version"`
	ETag      string    `json:"etag"`
	Body      string    `json:"config"`
	FetchedAt time.Time `json:"fetched_at"`
	// FromCache: read from CacheFile (the server was unreachable).
	FromCache bool `json:"-"`
}

// Watcher follows one document. Current is safe for concurrent use; Load
// and Run are called by one goroutine.
type Watcher struct {
	o Options

	mu      sync.Mutex
	cur     Doc
	have    bool
	refused string // ETag of a document the validator or the engine refused
	outage  bool   // the last request failed (logged once)
}

// New checks the options.
func New(o Options) (*Watcher, error) {
	if o.Source == nil || o.Name == "" || o.Validate == nil {
		return nil, errors.New("remoteconfig: a source, a document name and a validator are required")
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Watcher{o: o}, nil
}

// Name is the document's name.
func (w *Watcher) Name() string { return w.o.Name }

// Current is the document in force (false before Load succeeded).
func (w *Watcher) Current() (Doc, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.have
}

// ErrNoConfig: neither the server nor a cached copy gave a document.
var ErrNoConfig = errors.New("no configuration: the server is unreachable and there is no cached copy")

// Load gets the document to start with: the server's (asked with the
// cached copy's ETag, so an unchanged one is not sent again), else the
// cached copy, logged as such. ErrNoConfig (wrapped with the server's
// error) when there is neither.
func (w *Watcher) Load(ctx context.Context) (Doc, error) {
	cached, cacheErr := w.readCache()
	if cacheErr != nil && !errors.Is(cacheErr, os.ErrNotExist) {
		w.o.Logger.Warn("remote config: cached copy unusable; ignoring it", "config", w.o.Name, "file", w.o.CacheFile, "err", cacheErr)
	}
	if cacheErr == nil {
		w.set(cached)
	}
	doc, changed, err := w.fetch(ctx)
	switch {
	case err == nil && changed:
		if verr := w.o.Validate([]byte(doc.Body)); verr != nil {
			w.refuse(doc, verr)
			break
		}
		w.set(doc)
		w.writeCache(doc)
	case err == nil:
	case cacheErr == nil:
		w.o.Logger.Warn("remote config: server unreachable; working from the cached copy", "config", w.o.Name, "version", cached.Version, "fetched_at", cached.FetchedAt, "err", err)
	default:
		return Doc{}, fmt.Errorf("remote config %s: %w (%v)", w.o.Name, ErrNoConfig, err)
	}
	d, ok := w.Current()
	if !ok {
		return Doc{}, fmt.Errorf("remote config %s: %w (the server's copy was refused)", w.o.Name, ErrNoConfig)
	}
	return d, nil
}

// Run polls every Interval until ctx ends and calls onChange with each new
// document the validator accepts. When onChange fails (the engine could
// not be rebuilt from it) the document is logged as refused and the
// previous one stays in force and on disk.
func (w *Watcher) Run(ctx context.Context, onChange func(context.Context, Doc) error) {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.Poll(ctx, onChange)
	}
}

// Poll asks the server once (Run's step).
func (w *Watcher) Poll(ctx context.Context, onChange func(context.Context, Doc) error) {
	doc, changed, err := w.fetch(ctx)
	if err != nil || !changed {
		return
	}
	if verr := w.o.Validate([]byte(doc.Body)); verr != nil {
		w.refuse(doc, verr)
		return
	}
	if onChange != nil {
		if cerr := onChange(ctx, doc); cerr != nil {
			w.refuse(doc, cerr)
			return
		}
	}
	w.set(doc)
	w.writeCache(doc)
	w.o.Logger.Info("remote config: new version in force", "config", w.o.Name, "version", doc.Version)
}

// fetch asks the server with the current ETag; changed is false for a 304
// or a document already refused. A failure is logged on the first of a
// run of them, and the recovery once.
func (w *Watcher) fetch(ctx context.Context) (Doc, bool, error) {
	w.mu.Lock()
	etag := ""
	if w.have {
		etag = w.cur.ETag
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	d, newTag, err := w.o.Source.ConfigDoc(ctx, w.o.Name, etag)
	w.mu.Lock()
	wasOut := w.outage
	w.outage = err != nil && !errors.Is(err, client.ErrNotModified)
	refused := w.refused
	w.mu.Unlock()
	switch {
	case errors.Is(err, client.ErrNotModified):
		if wasOut {
			w.o.Logger.Info("remote config: server reachable again", "config", w.o.Name)
		}
		return Doc{}, false, nil
	case err != nil:
		if !wasOut {
			w.o.Logger.Warn("remote config: server unreachable; keeping the current copy until it answers", "config", w.o.Name, "err", err)
		}
		return Doc{}, false, err
	}
	if wasOut {
		w.o.Logger.Info("remote config: server reachable again", "config", w.o.Name)
	}
	doc := Doc{Name: w.o.Name, Version: d.Version, ETag: newTag, Body: d.Body, FetchedAt: time.Now().UTC()}
	if newTag != "" && newTag == refused {
		return doc, false, nil
	}
	return doc, true, nil
}

func (w *Watcher) set(d Doc) {
	w.mu.Lock()
	w.cur, w.have = d, true
	w.mu.Unlock()
}

func (w *Watcher) refuse(d Doc, err error) {
	w.mu.Lock()
	w.refused = d.ETag
	w.mu.Unlock()
	w.o.Logger.Error("remote config: the server's new version is refused; keeping the current one", "config", w.o.Name, "version", d.Version, "err", err)
}

// readCache reads and checks the last good copy.
func (w *Watcher) readCache() (Doc, error) {
	if w.o.CacheFile == "" {
		return Doc{}, os.ErrNotExist
	}
	b, err := os.ReadFile(w.o.CacheFile)
	if err != nil {
		return Doc{}, err
	}
	var d Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return Doc{}, fmt.Errorf("decode %s: %w", w.o.CacheFile, err)
	}
	if d.Name != w.o.Name {
		return Doc{}, fmt.Errorf("%s holds the %q config, not %q", w.o.CacheFile, d.Name, w.o.Name)
	}
	if err := w.o.Validate([]byte(d.Body)); err != nil {
		return Doc{}, fmt.Errorf("%s: %w", w.o.CacheFile, err)
	}
	d.FromCache = true
	return d, nil
}

// writeCache keeps d as the last good copy (mode 0600: exceptions and
// policies say what is not watched).
func (w *Watcher) writeCache(d Doc) {
	if w.o.CacheFile == "" {
		return
	}
	err := func() error {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			return err
		}
		f, err := atomicfile.Create(w.o.CacheFile, 0o600)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
		return f.Commit()
	}()
	if err != nil {
		w.o.Logger.Warn("remote config: could not keep the last good copy on disk", "config", w.o.Name, "file", w.o.CacheFile, "err", err)
	}
}
