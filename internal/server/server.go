// Package server composes the store, the API and the vulnerability DB of
// `bulwark server` into one process: first-run set-up, the listener (TLS,
// or loopback only unless told otherwise), the DB update loop, graceful
// shutdown.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/console"
	"github.com/bulwarkdev/bulwark/internal/dbartifact"
	"github.com/bulwarkdev/bulwark/internal/image"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/update"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// Options configure a server.
type Options struct {
	DataDir  string
	Database string // postgres:// URL; empty: SQLite in DataDir
	Listen   string
	TLSCert  string
	TLSKey   string
	// InsecureListen allows a non-loopback address without TLS.
	InsecureListen bool
	// CacheDir holds the vulnerability DB (CacheDir/db), as for every
	// command.
	CacheDir         string
	DBUpdateInterval time.Duration // 0: never
	DBSources        []string      // local feeds; empty: the public upstreams
	// DBFrom is a registry reference (REGISTRY/REPO:TAG) of a DB published
	// with `db push`: the update pulls it instead of building one, checked
	// against DBVerifyKey when set.
	DBFrom          string
	DBVerifyKey     ed25519.PublicKey
	DBInsecure      bool
	Version         string
	Logger          *slog.Logger
	Now             func() time.Time
	API             api.Options // limits; Store, Matcher, Logger set here
	ShutdownTimeout time.Duration
	// SecretsKeyFile seals registry credentials (default
	// DataDir/secrets.key, created on first use; replicas share one).
	SecretsKeyFile string
	// Watch tunes the registry watch (window, queue polling, retries);
	// Store, Matcher, Sealer, CacheDir, Logger and Now are set here.
	Watch registry.Options
	// Threshold: an image is unhealthy when a finding is at or above it
	// (default medium); the server's verdicts, `check image` included,
	// follow it, so teams share one policy.
	Threshold model.Severity
	// PostureInterval is how often recommendations, the score and due
	// re-matches are brought up to date (default 5s; an exemption or a DB
	// update triggers one at once).
	PostureInterval time.Duration
	RematchWorkers  int
	// Retention bounds history (zero durations keep it).
	Retention store.Retention
	// Notifier receives notifications (new findings on running images,
	// newly unhealthy recommendations, new alerts); nil: none.
	Notifier Notifier
}

// InitialPasswordFile is written once on first run, mode 0600.
const InitialPasswordFile = "initial-admin-password"

// Server is a running server.
type Server struct {
	o       Options
	Store   *store.Store
	API     *api.API
	console *console.Console
	cat     *recommend.Catalog
	posture *posture
	matcher *Matcher
	// Watch is the registry watch: notifications, crawls, scan jobs.
	Watch *registry.Watcher
	srv   *http.Server
	ln    net.Listener
}

// Open opens the store, sets up a first run, and prepares the API.
func Open(ctx context.Context, o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 20 * time.Second
	}
	st, err := store.Open(ctx, o.Database, o.DataDir, store.Options{Logger: o.Logger, Now: o.Now})
	if err != nil {
		return nil, err
	}
	if o.PostureInterval <= 0 {
		o.PostureInterval = 5 * time.Second
	}
	cat, err := recommend.Default()
	if err != nil {
		st.Close()
		return nil, err
	}
	if prev, err := st.Meta(ctx, "catalog_hash"); err == nil && prev != cat.Hash() {
		// Another catalogue (a new version): every judged resource again.
		if err := st.MarkAllDirty(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("queue recommendations for the new catalogue: %w", err)
		}
		if err := st.SetMeta(ctx, "catalog_hash", cat.Hash()); err != nil {
			st.Close()
			return nil, err
		}
	}
	s := &Server{o: o, Store: st, cat: cat, matcher: NewMatcher(scan.DBDir(o.CacheDir), o.Logger, o.Now, o.Version)}
	s.matcher.threshold, s.matcher.store = o.Threshold, st
	s.posture = newPosture(s)
	if err := s.firstRun(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if o.SecretsKeyFile == "" {
		o.SecretsKeyFile = filepath.Join(o.DataDir, "secrets.key")
	}
	sealer, err := registry.LoadSealer(o.SecretsKeyFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	wo := o.Watch
	wo.Store, wo.Matcher, wo.Sealer, wo.CacheDir, wo.Logger, wo.Now, wo.Version = st, s.matcher, sealer, o.CacheDir, o.Logger, o.Now, o.Version
	if s.Watch, err = registry.New(ctx, wo); err != nil {
		st.Close()
		return nil, err
	}
	ao := o.API
	ao.Store, ao.Matcher, ao.Logger, ao.Now, ao.Version = st, s.matcher, o.Logger, o.Now, o.Version
	ao.Registries = s.Watch
	ao.SecureCookies = o.TLSCert != ""
	ao.Status = s.status
	ao.Catalog, ao.PostureChanged, ao.Ingested = cat, s.posture.Kick, s.ingested
	s.API = api.New(ao)
	s.console, err = console.New(console.Options{API: s.API, Logger: o.Logger, Now: o.Now})
	if err != nil {
		st.Close()
		return nil, err
	}
	return s, nil
}

// firstRun creates the admin user when the store has no user, writing its
// password once to a file only root (or the server's user) can read.
func (s *Server) firstRun(ctx context.Context) error {
	n, err := s.Store.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return nil
	}
	pw, err := auth.GeneratePassword()
	if err != nil {
		return err
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.o.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(s.o.DataDir, InitialPasswordFile)
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, pw+"\n"); return err }); err != nil {
		return fmt.Errorf("write the initial admin password: %w", err)
	}
	if err := s.Store.CreateUser(ctx, store.User{Name: "admin", Role: string(auth.RoleAdmin), PasswordHash: h, MustChange: true}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // another replica won the first run
		}
		return err
	}
	s.o.Logger.Info("first run: created user admin; the password is in the file (replace it at the first log-in)", "file", path)
	return nil
}

// Handler serves the API (/api/…, /healthz, /readyz, /metrics) and the web
// console (every other path).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			s.API.ServeHTTP(w, r)
			return
		}
		s.console.ServeHTTP(w, r)
	})
}

// Listen checks the address against the TLS settings and binds it.
func (s *Server) Listen() (net.Listener, error) {
	tlsOn := s.o.TLSCert != "" || s.o.TLSKey != ""
	if tlsOn && (s.o.TLSCert == "" || s.o.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	host, _, err := net.SplitHostPort(s.o.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", s.o.Listen, err)
	}
	if !tlsOn && !s.o.InsecureListen && !image.IsLoopback(host) {
		return nil, fmt.Errorf("--listen %s without TLS: the server listens on loopback only unless given --tls-cert/--tls-key, or --insecure-listen by name", s.o.Listen)
	}
	ln, err := net.Listen("tcp", s.o.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.o.Listen, err)
	}
	if tlsOn {
		cert, err := tls.LoadX509KeyPair(s.o.TLSCert, s.o.TLSKey)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	}
	s.ln = ln
	return ln, nil
}

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		if _, err := s.Listen(); err != nil {
			return err
		}
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn)}
	var wg sync.WaitGroup
	loopCtx, stop := context.WithCancel(ctx)
	defer stop()
	if s.o.DBUpdateInterval > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); s.updateLoop(loopCtx) }()
	}
	if err := s.Watch.Start(loopCtx); err != nil {
		return err
	}
	defer func() {
		wctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
		defer cancel()
		if err := s.Watch.Stop(wctx); err != nil {
			s.o.Logger.Warn("registry watch: stop", "err", err)
		}
	}()
	wg.Add(1)
	go func() { defer wg.Done(); s.posture.loop(loopCtx, s.o.PostureInterval) }()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	s.o.Logger.Info("server listening", "addr", s.ln.Addr().String(), "tls", s.o.TLSCert != "", "store", s.Store.Dialect())
	select {
	case err := <-errc:
		stop()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	stop()
	wg.Wait()
	return err
}

// Addr is the bound address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close releases the store and the DB.
func (s *Server) Close() error {
	s.Watch.Close()
	s.matcher.Close()
	return s.Store.Close()
}

// updateLoop updates the DB at start when it is missing, then on the
// interval. Replicas each keep their own cache directory.
func (s *Server) updateLoop(ctx context.Context) {
	if !s.matcher.Ready() {
		s.UpdateDB(ctx)
	}
	t := time.NewTicker(s.o.DBUpdateInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.UpdateDB(ctx)
		}
	}
}

// UpdateDB runs one DB update and swaps the new DB in.
func (s *Server) UpdateDB(ctx context.Context) {
	start := s.o.Now()
	s.matcher.setUpdate(start, nil)
	var meta vulndb.Meta
	var err error
	if s.o.DBFrom != "" {
		meta, err = dbartifact.Pull(ctx, s.o.DBFrom, scan.DBDir(s.o.CacheDir), s.o.DBVerifyKey, dbartifact.Options{Insecure: s.o.DBInsecure})
	} else {
		var res *update.Result
		res, err = update.Run(ctx, scan.DBDir(s.o.CacheDir), update.Options{Sources: s.o.DBSources, Logger: s.o.Logger, Now: s.o.Now})
		if err == nil {
			meta = res.Meta
		}
	}
	if err != nil {
		s.o.Logger.Error("vulnerability DB update failed; the previous DB stays", "err", err)
		s.matcher.setUpdate(start, err)
		return
	}
	s.matcher.Reload()
	s.posture.Kick() // stored inventories are matched again with it
	s.o.Logger.Info("vulnerability DB updated", "built_at", meta.BuiltAt, "took", s.o.Now().Sub(start).Round(time.Millisecond))
}

func (s *Server) status(ctx context.Context) map[string]any {
	return map[string]any{"vulnerability_db": s.matcher.Status(), "posture": s.posture.status()}
}

// Tick brings recommendations, the score and due re-matches up to date now
// (the background loop does it on its interval).
func (s *Server) Tick(ctx context.Context) error { return s.posture.Tick(ctx) }

// DBVersion is the version of the vulnerability DB in use ("" without one).
func (s *Server) DBVersion() string { return s.matcher.Version() }

// Catalog is the recommendation catalogue the server uses.
func (s *Server) Catalog() *recommend.Catalog { return s.cat }

// Matcher judges images with the server's DB; it reopens the DB when an
// update replaced it.
type Matcher struct {
	threshold model.Severity
	store     *store.Store
	policy    atomic.Pointer[policy]
	dir       string
	log       *slog.Logger
	now       func() time.Time
	version   string
	mu        sync.RWMutex
	db        *vulndb.DB
	openErr   error
	lastRun   time.Time
	lastErr   error
}

// NewMatcher opens the DB in dir if there is one.
func NewMatcher(dir string, log *slog.Logger, now func() time.Time, version string) *Matcher {
	m := &Matcher{dir: dir, log: log, now: now, version: version}
	m.Reload()
	return m
}

// Reload (re)opens the DB.
func (m *Matcher) Reload() {
	db, err := vulndb.Open(m.dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.openErr = err
		return
	}
	if m.db != nil {
		m.db.Close()
	}
	m.db, m.openErr = db, nil
}

// Ready reports whether a DB is open.
func (m *Matcher) Ready() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.db != nil
}

func (m *Matcher) setUpdate(at time.Time, err error) {
	m.mu.Lock()
	m.lastRun, m.lastErr = at, err
	m.mu.Unlock()
}

// Version is the open DB's version: its build time.
func (m *Matcher) Version() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return ""
	}
	return m.db.Meta().BuiltAt.UTC().Format(time.RFC3339)
}

// Match implements ingest.Matcher.
func (m *Matcher) Match(ctx context.Context, rep *model.Report) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.db == nil {
		return "", ingest.ErrNoDB
	}
	o := scan.Options{Now: m.now, Version: m.version, Threshold: m.threshold}
	o.Suppress = m.policy.Load().suppressor(ctx, m.store, rep, m.now())
	if err := scan.Match(ctx, rep, m.db, o); err != nil {
		return "", err
	}
	return m.db.Meta().BuiltAt.UTC().Format(time.RFC3339), nil
}

func (m *Matcher) setPolicy(p *policy) { m.policy.Store(p) }

// Status says what the DB is and why it is missing.
func (m *Matcher) Status() map[string]any {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st := map[string]any{"path": m.dir, "ready": m.db != nil}
	if m.db != nil {
		meta := m.db.Meta()
		st["version"] = meta.BuiltAt.UTC().Format(time.RFC3339)
		st["age"] = m.now().Sub(meta.BuiltAt).Round(time.Minute).String()
		st["stale"] = m.now().Sub(meta.BuiltAt) > 7*24*time.Hour
	} else {
		why := "no vulnerability DB yet: images are stored and read not assessed until one is built (bulwark db update, or --db-update-interval)"
		if m.openErr != nil {
			why += ": " + m.openErr.Error()
		}
		st["why"] = why
	}
	if !m.lastRun.IsZero() {
		st["last_update"] = m.lastRun
	}
	if m.lastErr != nil {
		st["last_update_error"] = m.lastErr.Error()
	}
	return st
}

// Close closes the DB.
func (m *Matcher) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.db != nil {
		m.db.Close()
		m.db = nil
	}
}
