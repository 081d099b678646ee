package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
)

// Config is one watch: the engine, its started sources and its outputs.
type Config struct {
	Engine *runtime.Engine
	// Sources are started (OpenSources); Run closes them.
	Sources []Source
	// Sink receives the aggregated alerts; Run drains and closes it.
	Sink alert.Sink
	// Window aggregates repeats of one (type, resource).
	Window time.Duration
	// Queue is how many events wait between the sources and the engine
	// (default 4096); a full queue slows the sources, it drops nothing.
	Queue int
	// StatsInterval logs the counters this often (0: only at the end).
	StatsInterval time.Duration
	// AuditLevels is the API server's audit policy, for coverage.
	AuditLevels blindspot.AuditLevels
	// MetricsListen serves /metrics (bulwark_rule_blind) there ("": off).
	MetricsListen string
	// Identity names host and container alerts as the inventory does
	// (nil: the run-time ids, container:<id> and host:<name>).
	Identity *Identity
	Logger   *slog.Logger
	// Name starts the log lines ("runtime watch" by default).
	Name string
	// Exceptions, when set, follows the server's run-time alert exceptions
	// (GET /api/v1/config/runtime-exceptions): Run loads them (from the
	// server, else the watcher's cached copy) before the first event and
	// applies each new version while it runs, beside the engine's own
	// exception files. Without a copy to start from, the watch starts
	// without them and applies the server's once it answers: detection
	// never waits for the server.
	Exceptions *remoteconfig.Watcher
}

// applyExceptions parses a document of the server's run-time exceptions
// and hands it to the engine.
func applyExceptions(eng *runtime.Engine, d remoteconfig.Doc) error {
	exs, err := runtime.ParseExceptions(fmt.Sprintf("server runtime-exceptions v%d", d.Version), []byte(d.Body))
	if err != nil {
		return err
	}
	eng.SetServerExceptions(exs)
	return nil
}

// ErrNoSource is returned when a watch is given no source.
var ErrNoSource = errors.New("no runtime source")

// Run watches until ctx ends or every source has ended, then drains: the
// sources stop, the engine evaluates what they queued, open aggregates
// are flushed, the sink is closed and the counters logged. Sources that
// fail do not stop the others; their errors are returned joined.
func Run(ctx context.Context, c Config) error {
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	name := c.Name
	if name == "" {
		name = "runtime watch"
	}
	if c.Queue <= 0 {
		c.Queue = 4096
	}
	sources := c.Sources
	sinkClosed := false
	defer func() {
		if !sinkClosed {
			c.Sink.Close()
		}
	}()
	defer CloseSources(sources, log)
	if len(sources) == 0 {
		return ErrNoSource
	}
	eng := c.Engine
	if c.Exceptions != nil {
		if d, err := c.Exceptions.Load(ctx); err != nil {
			log.Warn(name+": starting without the server's exceptions", "err", err)
		} else if err := applyExceptions(eng, d); err != nil { // cannot happen: Load validated it
			log.Error(name+": the server's exceptions are refused", "err", err)
		} else {
			log.Info(name+": server exceptions in force", "version", d.Version, "from_cache", d.FromCache)
		}
		exCtx, stopEx := context.WithCancel(ctx)
		defer stopEx()
		go c.Exceptions.Run(exCtx, func(_ context.Context, d remoteconfig.Doc) error { return applyExceptions(eng, d) })
	}
	agg := alert.NewAggregator(alert.AggregatorOptions{Window: c.Window, Logger: log}, c.Sink)
	p := NewPipeline(eng, agg, log)
	p.Identity = c.Identity
	// What the sources cannot show is said once at start (a fallback, a
	// missing auditd rule, a short audit policy) and as it is seen (audit
	// events below the level a rule reads).
	p.Observer = newBlindObserver(eng.Rules(), log)
	startCoverage(ctx, p.Observer, eng.Rules(), sources, c.AuditLevels, log)
	if c.MetricsListen != "" {
		stop, err := serveMetrics(ctx, c.MetricsListen, p.Observer, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	events := make(chan *event.Event, c.Queue)

	srcCtx, stopSources := context.WithCancel(ctx)
	defer stopSources()
	var srcWG sync.WaitGroup
	var ended atomic.Int32
	var srcErrs []error
	var errMu sync.Mutex
	allEnded := make(chan struct{})
	for _, s := range sources {
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			err := s.Reader.Run(srcCtx, func(ev *event.Event) {
				select {
				case events <- ev:
				case <-srcCtx.Done():
				}
			})
			if srcCtx.Err() != nil {
				return
			}
			// One broken (or finished: Falco output on stdin) source does
			// not stop the others; when none is left, watching is over.
			if err != nil {
				log.Error("runtime source stopped", "source", s.Reader.Name(), "err", err)
				errMu.Lock()
				srcErrs = append(srcErrs, fmt.Errorf("source %s: %w", s.Reader.Name(), err))
				errMu.Unlock()
			} else {
				log.Info("runtime source finished", "source", s.Reader.Name())
			}
			if int(ended.Add(1)) == len(sources) {
				close(allEnded)
			}
		}()
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.Reader.Name()
	}
	log.Info(name+" started", "sources", strings.Join(names, ","), "rules", len(eng.Rules()), "window", c.Window)

	// The engine goroutine: the only reader of events, so the engine and
	// the pipeline's state are owned by it.
	engDone := make(chan struct{})
	go func() {
		defer close(engDone)
		for ev := range events {
			p.Handle(ev)
		}
	}()

	aggCtx, stopAgg := context.WithCancel(context.WithoutCancel(ctx))
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		agg.Run(aggCtx)
	}()

	var statsDone chan struct{}
	if c.StatsInterval > 0 {
		statsDone = make(chan struct{})
		go func() {
			defer close(statsDone)
			tk := time.NewTicker(c.StatsInterval)
			defer tk.Stop()
			for {
				select {
				case <-srcCtx.Done():
					return
				case <-tk.C:
					logStats(log, name+" stats", sources, eng, agg, p, false)
				}
			}
		}()
	}

	select {
	case <-ctx.Done():
	case <-allEnded:
	}
	log.Info(name + " stopping: draining")
	stopSources()
	srcWG.Wait()
	close(events)
	<-engDone
	stopAgg()
	<-aggDone
	if statsDone != nil {
		<-statsDone
	}
	errMu.Lock()
	errs := append([]error(nil), srcErrs...)
	errMu.Unlock()
	if err := agg.Drain(context.WithoutCancel(ctx)); err != nil {
		errs = append(errs, fmt.Errorf("draining alert aggregates: %w", err))
	}
	sinkClosed = true
	if err := c.Sink.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing alert outputs: %w", err))
	}
	logStats(log, name+" stopped", sources, eng, agg, p, true)
	return errors.Join(errs...)
}

// logStats logs each source's counters, the engine's and the
// aggregator's; final adds the rules that fired.
func logStats(log *slog.Logger, msg string, sources []Source, eng *runtime.Engine, agg *alert.Aggregator, p *Pipeline, final bool) {
	for _, s := range sources {
		st := s.Reader.Stats()
		log.Info(msg, "source", s.Reader.Name(), "events", st.Events, "malformed", st.Malformed, "dropped", st.Dropped)
		if b, ok := s.Reader.(interface{ Batches() []k8saudit.BatchCounts }); ok {
			for _, c := range b.Batches() {
				log.Info(msg, "source", s.Reader.Name(), "sender", c.Source, "batches_accepted", c.Accepted,
					"batches_refused", c.Refused, "batches_dropped", c.Dropped)
			}
		}
	}
	es := eng.Stats()
	as := agg.Stats()
	log.Info(msg, "engine_events", es.Events, "duplicates", p.Duplicates(), "twins", p.Twins(), "firings", es.Alerts, "excepted", es.Excepted,
		"eval_errors", es.EvalErrors, "alerts", as.Alerts, "updates", as.Updates, "open", as.Open,
		"evicted", as.Evicted, "send_errors", as.Errors)
	if final {
		for id, rs := range es.Rules {
			if rs.Alerts > 0 || rs.EvalErrors > 0 {
				log.Info(msg, "rule", id, "alerts", rs.Alerts, "matches", rs.Matches, "excepted", rs.Excepted, "eval_errors", rs.EvalErrors)
			}
		}
	}
}
