package registry

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Options configure a Watcher.
type Options struct {
	Store   *store.Store
	Matcher ingest.Matcher
	Sealer  *Sealer
	// CacheDir holds the per-layer analysis cache (CacheDir/layers), the
	// one `scan image` uses: a layer analysed once is not downloaded again.
	CacheDir string
	Logger   *slog.Logger
	Now      func() time.Time // a clock the tests move
	Version  string
	// Window keeps pushed or pulled images under assessment (default 30
	// days).
	Window time.Duration
	// PollInterval is how often each queue looks for jobs (default 250ms;
	// the queue's drivers here poll, they do not listen).
	PollInterval time.Duration
	// RetryBase is the first retry's delay, doubling each attempt up to
	// 5 minutes, with jitter (default 2s); MaxAttempts bounds them (5).
	RetryBase   time.Duration
	MaxAttempts int
	// CrawlTick is how often the queue's leader looks for registries due a
	// crawl (default 15s).
	CrawlTick time.Duration
	// RescueAfter is when a job whose replica died mid-way is given to
	// another (default 15 minutes); scans are cut at RescueAfter less a
	// margin, so a slow scan is never run twice at once.
	RescueAfter time.Duration
	// CrawlPageSize is the page size the crawler asks for (default 100).
	CrawlPageSize int
	// QueueSync is how often a replica picks up registries added through
	// another (default 5s).
	QueueSync time.Duration
}

// Watcher watches the configured registries: notifications and crawls
// become scan jobs, which inventory each digest once and store the result
// through the server's ingestion.
type Watcher struct {
	o      Options
	st     *store.Store
	qdb    *sql.DB // the queue's pool (closed by Close when it is not the store's)
	client *river.Client[*sql.Tx]
	mu     sync.Mutex
	queues map[string]bool
	stop   context.CancelFunc
	done   chan struct{}
}

// Job kinds.
const (
	kindScan  = "registry_scan"
	kindCrawl = "registry_crawl"
	kindTick  = "registry_crawl_tick"
)

// ScanArgs is a scan job: one manifest digest (image or index), unique by
// digest whatever the repository or registry it was seen in.
type ScanArgs struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Digest     string `json:"digest" river:"unique"`
	// Generation counts the times a failed digest was pushed again: each
	// asks for a new scan, which the last one's job must not shadow.
	Generation int `json:"generation" river:"unique"`
}

// Kind implements river.JobArgs.
func (ScanArgs) Kind() string { return kindScan }

type crawlArgs struct {
	Registry string `json:"registry"`
}

func (crawlArgs) Kind() string { return kindCrawl }

type tickArgs struct{}

func (tickArgs) Kind() string { return kindTick }

// uniqueWhileQueued dedups a job while one is waiting or running. (River's
// SQLite driver also counts finished jobs; the generation in ScanArgs is
// what lets a failed digest be asked again.)
var uniqueWhileQueued = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}

func queueName(registry string) string { return "registry_" + registry }

// New prepares a Watcher: the queue's tables are migrated (River's own
// migrations, on the store's database), the workers registered.
func New(ctx context.Context, o Options) (*Watcher, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window <= 0 {
		o.Window = 30 * 24 * time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 2 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.CrawlTick <= 0 {
		o.CrawlTick = 15 * time.Second
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = 15 * time.Minute
	}
	if o.QueueSync <= 0 {
		o.QueueSync = 5 * time.Second
	}
	if o.Store == nil || o.Sealer == nil {
		return nil, errors.New("registry watch: a store and a secrets key are needed")
	}
	w := &Watcher{o: o, st: o.Store, queues: map[string]bool{}}
	qdb, err := o.Store.QueueDB()
	if err != nil {
		return nil, err
	}
	w.qdb = qdb
	var driver riverdriver.Driver[*sql.Tx]
	if o.Store.Dialect() == store.Postgres {
		driver = riverdatabasesql.New(qdb)
	} else {
		driver = riversqlite.New(qdb)
	}
	if err := w.migrate(ctx, driver); err != nil {
		w.closeQDB()
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &scanWorker{w: w})
	river.AddWorker(workers, &crawlWorker{w: w})
	river.AddWorker(workers, &tickWorker{w: w})
	cooldown := min(100*time.Millisecond, o.PollInterval)
	w.client, err = river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:              workers,
		PeriodicJobs:         []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.CrawlTick), func() (river.JobArgs, *river.InsertOpts) { return tickArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})},
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        cooldown,
		PollOnly:             true,
		MaxAttempts:          o.MaxAttempts,
		JobTimeout:           w.maxScan(),
		RescueStuckJobsAfter: max(o.RescueAfter, time.Second),
		Logger:               quiet(o.Logger),
	})
	if err != nil {
		w.closeQDB()
		return nil, fmt.Errorf("create the scan queue: %w", err)
	}
	return w, nil
}

// quiet keeps the queue's own chatter (each job, each leader election) at
// debug: the watch logs what matters.
func quiet(l *slog.Logger) *slog.Logger {
	return slog.New(levelFloor{l.Handler(), slog.LevelWarn})
}

type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (w *Watcher) migrate(ctx context.Context, driver riverdriver.Driver[*sql.Tx]) error {
	if w.st.Dialect() == store.Postgres {
		// Replicas starting together must not migrate twice: hold a lock on
		// one connection for the duration.
		conn, err := w.qdb.Conn(ctx)
		if err != nil {
			return fmt.Errorf("lock for queue migrations: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7305412)`); err != nil {
			return fmt.Errorf("lock for queue migrations: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7305412)`) //nolint:errcheck
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: quiet(w.o.Logger)})
	if err != nil {
		return fmt.Errorf("prepare queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate the scan queue's tables: %w", err)
	}
	return nil
}

func (w *Watcher) closeQDB() {
	if w.qdb != nil && w.qdb != w.st.DB() {
		w.qdb.Close()
	}
}

// Start runs the queue's workers until Stop: this replica takes its share
// of every registry's jobs.
func (w *Watcher) Start(ctx context.Context) error {
	if err := w.syncQueues(ctx); err != nil {
		return err
	}
	// The queue stops by Stop, gracefully, not when the caller's context ends.
	if err := w.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start the scan queue: %w", err)
	}
	lctx, cancel := context.WithCancel(ctx)
	w.stop, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.o.QueueSync)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				if err := w.syncQueues(lctx); err != nil && lctx.Err() == nil {
					w.o.Logger.Warn("registry watch: list registries", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop stops taking jobs and waits for those running (until ctx ends;
// then they are cancelled and retried later, here or on another replica).
func (w *Watcher) Stop(ctx context.Context) error {
	if w.stop != nil {
		w.stop()
		<-w.done
	}
	err := w.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = w.client.StopAndCancel(cctx)
	}
	return err
}

// Close releases the queue's pool (after Stop).
func (w *Watcher) Close() error {
	w.closeQDB()
	return nil
}

// syncQueues gives each registry its queue on this replica, with the
// registry's concurrency: a slow, failing or rate-limiting registry holds
// up its own jobs only.
func (w *Watcher) syncQueues(ctx context.Context) error {
	regs, err := w.st.Registries(ctx)
	if err != nil {
		return err
	}
	for _, r := range regs {
		cfg, err := decodeConfig(r)
		if err != nil {
			w.o.Logger.Warn("registry watch: unreadable settings", "registry", r.Name, "err", err)
			continue
		}
		w.ensureQueue(cfg)
	}
	return nil
}

func (w *Watcher) ensureQueue(cfg *Config) {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := queueName(cfg.Name)
	if w.queues[q] {
		return
	}
	if err := w.client.Queues().Add(q, river.QueueConfig{MaxWorkers: cfg.Concurrency}); err != nil {
		w.o.Logger.Warn("registry watch: add queue", "registry", cfg.Name, "err", err)
		return
	}
	w.queues[q] = true
}

func decodeConfig(r store.Registry) (*Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(r.Config), &c); err != nil {
		return nil, fmt.Errorf("read settings of registry %s: %w", r.Name, err)
	}
	c.Name, c.URL = r.Name, r.URL
	return &c, nil
}

// ErrBadSettings wraps a refusal of a registry's settings (a 4xx).
var ErrBadSettings = errors.New("invalid registry settings")

// Add stores a new registry (secret sealed) and starts its queue here.
func (w *Watcher) Add(ctx context.Context, cfg Config, secret string) (*Config, error) {
	if err := cfg.Normalise(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSettings, err)
	}
	if (cfg.Auth == AuthBasic || cfg.Auth == AuthToken) && secret == "" {
		return nil, fmt.Errorf("%w: auth %s needs a password or token", ErrBadSettings, cfg.Auth)
	}
	if cfg.Auth == AuthNone || cfg.Auth == AuthDocker {
		secret = ""
	}
	sealed, err := w.o.Sealer.Seal(cfg.Name, secret)
	if err != nil {
		return nil, fmt.Errorf("seal the secret: %w", err)
	}
	raw, _ := json.Marshal(cfg)
	if err := w.st.CreateRegistry(ctx, store.Registry{Name: cfg.Name, URL: cfg.URL, Config: string(raw), Secret: sealed}); err != nil {
		return nil, err
	}
	if w.client != nil {
		w.ensureQueue(&cfg)
	}
	return &cfg, nil
}

// Get reads a registry's settings (never its secret).
func (w *Watcher) Get(ctx context.Context, name string) (*Config, error) {
	r, err := w.st.Registry(ctx, name)
	if err != nil {
		return nil, err
	}
	return decodeConfig(*r)
}

// List reads every registry's settings.
func (w *Watcher) List(ctx context.Context) ([]Config, error) {
	regs, err := w.st.Registries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Config, 0, len(regs))
	for _, r := range regs {
		c, err := decodeConfig(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// Delete forgets a registry; what was stored of its images stays.
func (w *Watcher) Delete(ctx context.Context, name string) error {
	return w.st.DeleteRegistry(ctx, name)
}

func (w *Watcher) load(ctx context.Context, name string) (*Config, string, error) {
	r, err := w.st.Registry(ctx, name)
	if err != nil {
		return nil, "", err
	}
	cfg, err := decodeConfig(*r)
	if err != nil {
		return nil, "", err
	}
	secret, err := w.o.Sealer.Open(name, r.Secret)
	if err != nil {
		return nil, "", err
	}
	return cfg, secret, nil
}

// NotifyResult says what a notification did.
type NotifyResult struct {
	Format   string `json:"format"`
	Events   int    `json:"events"`   // about manifests
	Ignored  int    `json:"ignored"`  // repositories not watched
	Recorded int    `json:"recorded"` // pushes, pulls, deletes applied
	Queued   int    `json:"queued"`   // scans queued
}

// Notify applies a registry's events: each push, pull or delete is
// recorded (the window of assessment moves), and each digest not scanned
// yet gets a scan job.
func (w *Watcher) Notify(ctx context.Context, registry string, evs []Event) (NotifyResult, error) {
	res := NotifyResult{Events: len(evs)}
	cfg, err := w.Get(ctx, registry)
	if err != nil {
		return res, err
	}
	var jobs []river.InsertManyParams
	for _, e := range evs {
		if !cfg.Wants(e.Repository) {
			res.Ignored++
			continue
		}
		// The window runs on the server's clock: when the event arrived,
		// not the registry's timestamp (clocks differ, events are retried).
		at := w.o.Now()
		need, gen, err := w.st.RecordRegistryEvent(ctx, e.Action, store.RegistryImage{Registry: registry, Repository: e.Repository, Digest: e.Digest,
			Tag: e.Tag, MediaType: e.MediaType, PushedAt: at})
		if err != nil {
			return res, err
		}
		res.Recorded++
		if need && e.Action != store.ActionDelete {
			jobs = append(jobs, w.scanJob(registry, e.Repository, e.Digest, gen))
		}
	}
	if len(jobs) > 0 {
		if _, err := w.client.InsertMany(ctx, jobs); err != nil {
			return res, fmt.Errorf("queue scans: %w", err)
		}
		res.Queued = len(jobs)
	}
	return res, nil
}

func (w *Watcher) scanJob(registry, repo, digest string, generation int) river.InsertManyParams {
	return river.InsertManyParams{Args: ScanArgs{Registry: registry, Repository: repo, Digest: digest, Generation: generation},
		InsertOpts: &river.InsertOpts{Queue: queueName(registry), UniqueOpts: uniqueWhileQueued}}
}

// Crawl queues a crawl of the registry now.
func (w *Watcher) Crawl(ctx context.Context, registry string) error {
	if _, err := w.st.Registry(ctx, registry); err != nil {
		return err
	}
	// Not unique: the periodic tick claims its crawls in the store, and an
	// admin asking again means now.
	_, err := w.client.Insert(ctx, crawlArgs{Registry: registry}, &river.InsertOpts{Queue: queueName(registry)})
	if err != nil {
		return fmt.Errorf("queue a crawl of %s: %w", registry, err)
	}
	return nil
}

// UnderAssessment lists the stored images under assessment now (see
// store.ImagesUnderAssessment), with the watch's window.
func (w *Watcher) UnderAssessment(ctx context.Context) ([]string, error) {
	return w.st.ImagesUnderAssessment(ctx, w.o.Window)
}

// backoff is the delay before retry n (1-based): base·2^(n-1), at most 5
// minutes, ±20% jitter so a registry's failed jobs do not return together.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < 5*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 5*time.Minute)
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return d - d/10 + j
}

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	w *Watcher
}

func (s *scanWorker) Timeout(job *river.Job[ScanArgs]) time.Duration {
	cfg, err := s.w.Get(context.Background(), job.Args.Registry)
	if err != nil || cfg.Timeout <= 0 {
		return s.w.maxScan()
	}
	return min(time.Duration(cfg.Timeout), s.w.maxScan())
}

// maxScan is the longest a job may run: less than the time after which
// another replica takes it over.
func (w *Watcher) maxScan() time.Duration {
	return min(DefaultTimeout, w.o.RescueAfter*9/10)
}

func (s *scanWorker) NextRetry(job *river.Job[ScanArgs]) time.Time {
	return time.Now().Add(backoff(s.w.o.RetryBase, job.Attempt))
}

func (s *scanWorker) Work(ctx context.Context, job *river.Job[ScanArgs]) error {
	return s.w.runScan(ctx, job.Args, job.Attempt, job.MaxAttempts)
}

type crawlWorker struct {
	river.WorkerDefaults[crawlArgs]
	w *Watcher
}

func (c *crawlWorker) NextRetry(job *river.Job[crawlArgs]) time.Time {
	return time.Now().Add(backoff(c.w.o.RetryBase, job.Attempt))
}

func (c *crawlWorker) Work(ctx context.Context, job *river.Job[crawlArgs]) error {
	_, err := c.w.crawl(ctx, job.Args.Registry)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	w *Watcher
}

// Work queues a crawl of each registry whose interval has passed; the
// claim in the store makes one tick crawl a registry once whatever the
// replicas.
func (t *tickWorker) Work(ctx context.Context, job *river.Job[tickArgs]) error {
	cfgs, err := t.w.List(ctx)
	if err != nil {
		return err
	}
	for _, c := range cfgs {
		if c.CrawlInterval <= 0 {
			continue
		}
		ok, err := t.w.st.ClaimCrawl(ctx, c.Name, t.w.o.Now().Add(-time.Duration(c.CrawlInterval)))
		if err != nil {
			return err
		}
		if ok {
			if err := t.w.Crawl(ctx, c.Name); err != nil {
				return err
			}
		}
	}
	return nil
}
