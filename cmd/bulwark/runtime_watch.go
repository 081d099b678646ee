package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/client"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/auditd"
	"github.com/bulwarkdev/bulwark/internal/source/docker"
	"github.com/bulwarkdev/bulwark/internal/source/ebpf"
	"github.com/bulwarkdev/bulwark/internal/source/falco"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
	"github.com/bulwarkdev/bulwark/internal/source/procscan"
)

type watchFlags struct {
	srv             serverFlags
	auditWebhook    string
	auditCert       string
	auditKey        string
	auditClientCA   string
	auditTokens     []string
	auditInsecure   bool
	auditMaxBody    int64
	auditMaxConc    int
	auditLogs       []string
	auditCheckpoint string
	docker          bool
	dockerHost      string
	dockerSince     string
	dockerTLSCA     string
	dockerTLSCert   string
	dockerTLSKey    string
	ebpf            bool
	proc            bool
	procInterval    time.Duration
	auditd          string
	falco           string
	cluster         string
	node            string

	output        string
	webhookURL    string
	webhookQueue  string
	webhookCA     string
	webhookHeader []string
	syslog        string

	window        time.Duration
	statsInterval time.Duration
	queue         int

	auditPolicy   string
	metricsListen string
}

// newRuntimeWatchCmd is `bulwark runtime watch`: the chosen sources feed
// one engine goroutine through a bounded channel; its firings are
// aggregated and delivered to the sinks until SIGINT/SIGTERM, then
// everything is drained.
func newRuntimeWatchCmd(g *globalFlags, rf *runtimeFlags) *cobra.Command {
	f := &watchFlags{}
	c := &cobra.Command{
		Use:   "watch",
		Short: "Watch audit, Docker, process and network events and raise alerts until interrupted",
		Long: `Watch the chosen event sources and raise alerts until SIGINT or SIGTERM.

Sources: --audit-webhook (the API server's audit webhook backend: TLS with
--audit-cert/--audit-key and bearer tokens or client certificates; it refuses
to start without both unless --audit-insecure, and then only on a loopback
address), --audit-log (audit log files, followed across rotation, position kept
in --audit-checkpoint), --docker (the Engine API event stream), --ebpf (the
node sensor; falls back to /proc scanning when it cannot load) or --proc,
--auditd (the Linux audit log) and --falco (Falco JSON output, a file or -).
The same API server may feed both --audit-webhook and --audit-log: events are
de-duplicated by audit ID.

Outputs: JSON lines (--output, default stdout), an HTTP --webhook with an
on-disk queue, --syslog. Repeats of one alert type on one resource within
--window are aggregated. On shutdown open aggregates are flushed and the
counters of every source and of the engine are logged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log := g.logger
			// A daemon says what it is doing: start-up and the exit stats are
			// info, shown unless the user chose a level.
			if fl := cmd.Flag("log-level"); fl != nil && !fl.Changed {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			}
			return runWatch(cmd.Context(), g, rf, f, log, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.auditWebhook, "audit-webhook", "", "serve the API server's audit webhook backend on this address (host:port), TLS with --audit-cert/--audit-key")
	fl.StringVar(&f.auditCert, "audit-cert", "", "TLS certificate (PEM) of the audit webhook receiver")
	fl.StringVar(&f.auditKey, "audit-key", "", "TLS key (PEM) of the audit webhook receiver")
	fl.StringVar(&f.auditClientCA, "audit-client-ca", "", "CA (PEM) of client certificates the audit webhook accepts instead of a token")
	fl.StringArrayVar(&f.auditTokens, "audit-token", nil, "bearer token the audit webhook accepts (repeatable; a value @FILE reads it from FILE)")
	fl.BoolVar(&f.auditInsecure, "audit-insecure", false, "let the audit webhook serve without TLS or without an authenticator, on a loopback address only (tests, a local API server)")
	fl.Int64Var(&f.auditMaxBody, "audit-max-body", k8saudit.DefaultMaxBodyBytes, "largest audit webhook batch in bytes (the API server's --audit-webhook-truncate-max-batch-size); larger ones are answered 413 and counted")
	fl.IntVar(&f.auditMaxConc, "audit-max-concurrent", k8saudit.DefaultMaxConcurrent, "audit webhook requests served at once; more are answered 429 (retried by the API server) and counted")
	fl.StringArrayVar(&f.auditLogs, "audit-log", nil, "follow this audit log file (JSON lines; repeatable)")
	fl.StringVar(&f.auditCheckpoint, "audit-checkpoint", "", "directory for the audit log and auditd positions (default: the cache directory/runtime)")
	fl.BoolVar(&f.docker, "docker", false, "watch the Docker engine's event stream")
	fl.StringVar(&f.dockerHost, "docker-host", "", "Docker engine address (default $DOCKER_HOST or the local socket)")
	fl.StringVar(&f.dockerTLSCA, "docker-tls-ca", "", "CA (PEM) of a TLS engine at --docker-host tcp://…:2376 (default: $DOCKER_CERT_PATH/ca.pem with $DOCKER_TLS_VERIFY)")
	fl.StringVar(&f.dockerTLSCert, "docker-tls-cert", "", "client certificate (PEM) for a TLS engine (--tlsverify)")
	fl.StringVar(&f.dockerTLSKey, "docker-tls-key", "", "client key (PEM) for a TLS engine")
	fl.StringVar(&f.dockerSince, "docker-since", "", "also replay the engine's events since this time (RFC 3339) or this long ago (duration)")
	fl.BoolVar(&f.ebpf, "ebpf", false, "run the eBPF node sensor (falls back to /proc scanning when it cannot load)")
	fl.BoolVar(&f.proc, "proc", false, "scan /proc for new processes and connections (the fallback sensor)")
	fl.DurationVar(&f.procInterval, "proc-interval", 0, "how often --proc scans (default: the scanner's own)")
	fl.StringVar(&f.auditd, "auditd", "", "follow this Linux audit log (e.g. /var/log/audit/audit.log)")
	fl.StringVar(&f.falco, "falco", "", "read Falco JSON output from this file (followed) or - for stdin")
	fl.StringVar(&f.cluster, "cluster", "", "cluster name put on audit events")
	fl.StringVar(&f.node, "node", "", "node name put on node events (default: the host name)")
	fl.StringVarP(&f.output, "output", "o", "", "write alerts as JSON lines to this file (appended) or - for stdout; default stdout when no other output is set")
	fl.StringVar(&f.webhookURL, "webhook", "", "POST every alert to this URL (retried; undelivered alerts wait in --webhook-queue)")
	fl.StringVar(&f.webhookQueue, "webhook-queue", "", "directory of the webhook's on-disk queue (default: the cache directory/runtime/webhook-queue)")
	f.srv.register(c)
	fl.StringVar(&f.webhookCA, "webhook-ca", "", "CA (PEM) trusted for the webhook besides the system's")
	fl.StringArrayVar(&f.webhookHeader, "webhook-header", nil, "header added to webhook requests, as 'Name: value' (repeatable)")
	fl.StringVar(&f.syslog, "syslog", "", "send alerts to syslog (RFC 5424): udp://host:port, tcp://host:port or unix:///dev/log")
	fl.DurationVar(&f.window, "window", 10*time.Minute, "aggregation window: repeats of one (type, resource) within it make one alert")
	fl.DurationVar(&f.statsInterval, "stats-interval", 0, "log source and engine counters this often (0: only at exit)")
	fl.IntVar(&f.queue, "queue", 4096, "events buffered between the sources and the engine; a full buffer slows the sources down, it drops nothing")
	fl.StringVar(&f.auditPolicy, "audit-policy", "", "the API server's audit policy file: rules it records too little for are reported blind at start")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus /metrics (bulwark_rule_blind) on this address; off unless given")
	return c
}

// watchSource is one started source and how to release it.
type watchSource struct {
	r     event.Reader
	close func() error
}

// sourceBuilder starts the sources one flag asks for (none when unset).
type sourceBuilder func(ctx context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error)

// watchEnv is what builders share.
type watchEnv struct {
	log           *slog.Logger
	checkpointDir string
	stdin         io.Reader
}

// watchSources is the table of sources, in start-up order.
var watchSources = []sourceBuilder{
	auditWebhookSource,
	auditLogSources,
	dockerSource,
	nodeSensorSource,
	auditdSource,
	falcoSource,
}

func auditWebhookSource(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	if f.auditWebhook == "" {
		if f.auditCert != "" || f.auditKey != "" || len(f.auditTokens) > 0 || f.auditClientCA != "" || f.auditInsecure {
			return nil, &usageError{errors.New("--audit-cert, --audit-key, --audit-token, --audit-client-ca and --audit-insecure need --audit-webhook")}
		}
		return nil, nil
	}
	if (f.auditCert == "") != (f.auditKey == "") {
		return nil, &usageError{errors.New("--audit-cert and --audit-key go together")}
	}
	tokens := make([]string, 0, len(f.auditTokens))
	for _, tok := range f.auditTokens {
		if file, ok := strings.CutPrefix(tok, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("reading audit webhook token: %w", err)
			}
			tok = strings.TrimSpace(string(b))
		}
		if tok == "" {
			return nil, &usageError{errors.New("--audit-token: empty token")}
		}
		tokens = append(tokens, tok)
	}
	w, err := k8saudit.NewWebhook(k8saudit.WebhookOptions{Addr: f.auditWebhook, CertFile: f.auditCert, KeyFile: f.auditKey,
		ClientCAFile: f.auditClientCA, Tokens: tokens, Insecure: f.auditInsecure, MaxBodyBytes: f.auditMaxBody,
		MaxConcurrent: f.auditMaxConc, Cluster: f.cluster, Logger: env.log})
	if errors.Is(err, k8saudit.ErrInsecure) {
		return nil, &usageError{err}
	}
	if err != nil {
		return nil, fmt.Errorf("starting the audit webhook receiver: %w", err)
	}
	return []watchSource{{r: w}}, nil
}

func auditLogSources(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	var out []watchSource
	for _, path := range f.auditLogs {
		t := k8saudit.NewTailer(k8saudit.TailerOptions{Path: path, Cluster: f.cluster, Logger: env.log,
			CheckpointPath: checkpointPath(env.checkpointDir, "k8s-audit", path)})
		out = append(out, watchSource{r: t})
	}
	if len(out) > 0 && env.checkpointDir != "" {
		if err := os.MkdirAll(env.checkpointDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
		}
	}
	return out, nil
}

func dockerSource(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	if !f.docker {
		return nil, nil
	}
	if (f.dockerTLSCert == "") != (f.dockerTLSKey == "") {
		return nil, &usageError{errors.New("--docker-tls-cert and --docker-tls-key go together")}
	}
	o := docker.Options{Host: f.dockerHost, Logger: env.log, NodeName: f.node,
		TLSCAFile: f.dockerTLSCA, TLSCertFile: f.dockerTLSCert, TLSKeyFile: f.dockerTLSKey}
	if f.dockerSince != "" {
		t, err := parseSince(f.dockerSince, time.Now())
		if err != nil {
			return nil, &usageError{fmt.Errorf("--docker-since: %w", err)}
		}
		o.Since = t
	}
	s, err := docker.New(o)
	if err != nil {
		return nil, fmt.Errorf("starting the docker source: %w", err)
	}
	return []watchSource{{r: s, close: s.Close}}, nil
}

// nodeSensorSource is the eBPF sensor, or /proc scanning when --proc is
// set or the sensor cannot load.
func nodeSensorSource(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	if !f.ebpf && !f.proc {
		return nil, nil
	}
	if f.ebpf {
		s, err := ebpf.New(ebpf.Options{Logger: env.log, NodeName: f.node})
		if err == nil {
			for _, h := range s.Hooks() {
				if h.Live {
					env.log.Info("ebpf hook live", "hook", h.Name)
				} else {
					env.log.Warn("ebpf hook not attached", "hook", h.Name, "err", h.Err)
				}
			}
			return []watchSource{{r: s, close: s.Close}}, nil
		}
		env.log.Warn("ebpf sensor cannot load; falling back to /proc scanning (short-lived processes may be missed)", "err", err)
	}
	return procSource(f, env)
}

func procSource(f *watchFlags, env *watchEnv) ([]watchSource, error) {
	return []watchSource{{r: procscan.New(procscan.Options{Interval: f.procInterval, Logger: env.log, NodeName: f.node})}}, nil
}

func auditdSource(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	if f.auditd == "" {
		return nil, nil
	}
	cp := checkpointPath(env.checkpointDir, "auditd", f.auditd)
	if cp != "" {
		if err := os.MkdirAll(env.checkpointDir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
		}
	}
	// FromEnd: a first start does not replay the node's whole audit
	// history; later starts resume from the checkpoint.
	t := auditd.NewTailer(auditd.Options{Path: f.auditd, CheckpointPath: cp, Host: f.node, FromEnd: true, Logger: env.log})
	return []watchSource{{r: t}}, nil
}

func falcoSource(_ context.Context, f *watchFlags, env *watchEnv) ([]watchSource, error) {
	if f.falco == "" {
		return nil, nil
	}
	o := falco.Options{Logger: env.log}
	if f.falco == "-" {
		o.Input = env.stdin
	} else {
		o.Path = f.falco
		o.CheckpointPath = checkpointPath(env.checkpointDir, "falco", f.falco)
		if o.CheckpointPath != "" {
			if err := os.MkdirAll(env.checkpointDir, 0o700); err != nil {
				return nil, fmt.Errorf("creating the checkpoint directory: %w", err)
			}
		}
	}
	r, err := falco.NewReader(o)
	if err != nil {
		return nil, fmt.Errorf("starting the falco source: %w", err)
	}
	return []watchSource{{r: r}}, nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// checkpointPath names the position file of one followed log inside dir.
func checkpointPath(dir, kind, path string) string {
	if dir == "" {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	name := strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(strings.TrimPrefix(abs, "/"))
	return filepath.Join(dir, kind+"-"+name+".checkpoint")
}

func runWatch(ctx context.Context, g *globalFlags, rf *runtimeFlags, f *watchFlags, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	if f.ebpf && f.proc {
		return &usageError{errors.New("--ebpf and --proc: choose one (--ebpf falls back to /proc scanning by itself)")}
	}
	if f.queue <= 0 {
		return &usageError{fmt.Errorf("--queue %d: must be positive", f.queue)}
	}
	opts := rf.options(g)
	opts.Logger = log
	eng, err := runtime.New(ctx, opts)
	if err != nil {
		return err
	}
	sink, err := buildSinks(g, f, log, stdout)
	if err != nil {
		return err
	}
	sinkClosed := false
	defer func() {
		if !sinkClosed {
			sink.Close()
		}
	}()

	env := &watchEnv{log: log, checkpointDir: f.auditCheckpoint, stdin: stdin}
	if env.checkpointDir == "" && g.cacheDir != "" {
		env.checkpointDir = filepath.Join(g.cacheDir, "runtime")
	}
	var sources []watchSource
	closeSources := func() {
		for _, s := range sources {
			if s.close != nil {
				if err := s.close(); err != nil {
					log.Warn("closing runtime source", "source", s.r.Name(), "err", err)
				}
			}
		}
	}
	for _, b := range watchSources {
		ss, err := b(ctx, f, env)
		sources = append(sources, ss...)
		if err != nil {
			closeSources()
			return err
		}
	}
	if len(sources) == 0 {
		return &usageError{errors.New("no source chosen: give at least one of --audit-webhook, --audit-log, --docker, --ebpf, --proc, --auditd, --falco")}
	}
	defer closeSources()

	agg := alert.NewAggregator(alert.AggregatorOptions{Window: f.window, Logger: log}, sink)
	p := newPipeline(eng, agg, log)
	// What the sources cannot show is said once at start (a fallback, a
	// missing auditd rule, a short audit policy) and as it is seen (audit
	// events below the level a rule reads).
	p.obs = newBlindObserver(eng.Rules(), log)
	if err := startWatchCoverage(ctx, p.obs, eng.Rules(), sources, f.auditPolicy, log); err != nil {
		return err
	}
	if f.metricsListen != "" {
		stop, err := serveMetrics(ctx, f.metricsListen, p.obs, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	events := make(chan *event.Event, f.queue)

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
			err := s.r.Run(srcCtx, func(ev *event.Event) {
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
				log.Error("runtime source stopped", "source", s.r.Name(), "err", err)
				errMu.Lock()
				srcErrs = append(srcErrs, fmt.Errorf("source %s: %w", s.r.Name(), err))
				errMu.Unlock()
			} else {
				log.Info("runtime source finished", "source", s.r.Name())
			}
			if int(ended.Add(1)) == len(sources) {
				close(allEnded)
			}
		}()
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		names[i] = s.r.Name()
	}
	log.Info("runtime watch started", "sources", strings.Join(names, ","), "rules", len(eng.Rules()), "window", f.window)

	// The engine goroutine: the only reader of events, so the engine and
	// the pipeline's state are owned by it.
	engDone := make(chan struct{})
	go func() {
		defer close(engDone)
		for ev := range events {
			p.handle(ev)
		}
	}()

	aggCtx, stopAgg := context.WithCancel(context.WithoutCancel(ctx))
	aggDone := make(chan struct{})
	go func() {
		defer close(aggDone)
		agg.Run(aggCtx)
	}()

	var statsDone chan struct{}
	if f.statsInterval > 0 {
		statsDone = make(chan struct{})
		go func() {
			defer close(statsDone)
			tk := time.NewTicker(f.statsInterval)
			defer tk.Stop()
			for {
				select {
				case <-srcCtx.Done():
					return
				case <-tk.C:
					logWatchStats(log, "runtime watch stats", sources, eng, agg, p, false)
				}
			}
		}()
	}

	select {
	case <-ctx.Done():
	case <-allEnded:
	}
	log.Info("runtime watch stopping: draining")
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
	if err := sink.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing alert outputs: %w", err))
	}
	logWatchStats(log, "runtime watch stopped", sources, eng, agg, p, true)
	return errors.Join(errs...)
}

// logWatchStats logs each source's counters, the engine's and the
// aggregator's; final adds the rules that fired.
func logWatchStats(log *slog.Logger, msg string, sources []watchSource, eng *runtime.Engine, agg *alert.Aggregator, p *pipeline, final bool) {
	for _, s := range sources {
		st := s.r.Stats()
		log.Info(msg, "source", s.r.Name(), "events", st.Events, "malformed", st.Malformed, "dropped", st.Dropped)
		if b, ok := s.r.(interface{ Batches() []k8saudit.BatchCounts }); ok {
			for _, c := range b.Batches() {
				log.Info(msg, "source", s.r.Name(), "sender", c.Source, "batches_accepted", c.Accepted,
					"batches_refused", c.Refused, "batches_dropped", c.Dropped)
			}
		}
	}
	es := eng.Stats()
	as := agg.Stats()
	log.Info(msg, "engine_events", es.Events, "duplicates", p.duplicates.Load(), "firings", es.Alerts, "excepted", es.Excepted,
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

// buildSinks opens the outputs; stdout JSON lines when none is chosen.
func buildSinks(g *globalFlags, f *watchFlags, log *slog.Logger, stdout io.Writer) (alert.Sink, error) {
	var sinks []alert.Sink
	closeAll := func() {
		for _, s := range sinks {
			s.Close()
		}
	}
	if f.output != "" || (f.webhookURL == "" && f.syslog == "" && f.srv.server == "") {
		if f.output == "" || f.output == "-" {
			sinks = append(sinks, alert.NewJSONLines(stdout))
		} else {
			fh, err := os.OpenFile(f.output, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
			if err != nil {
				return nil, fmt.Errorf("opening alert output %s: %w", f.output, err)
			}
			sinks = append(sinks, fileSink{Sink: alert.NewJSONLines(fh), f: fh})
		}
	}
	if f.webhookURL != "" {
		headers := map[string]string{}
		for _, h := range f.webhookHeader {
			k, v, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(k) == "" {
				closeAll()
				return nil, &usageError{fmt.Errorf("--webhook-header %q: want 'Name: value'", h)}
			}
			headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		dir := f.webhookQueue
		if dir == "" {
			dir = filepath.Join(g.cacheDir, "runtime", "webhook-queue")
		}
		w, err := alert.NewWebhook(alert.WebhookOptions{URL: f.webhookURL, Headers: headers, QueueDir: dir, CAFile: f.webhookCA, Logger: log})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("starting the alert webhook: %w", err)
		}
		sinks = append(sinks, w)
	}
	if f.srv.server != "" {
		// Alerts go to the server like to any webhook: through the disk
		// queue, retried until delivered, one document per request.
		if _, err := f.srv.client(); err != nil {
			closeAll()
			return nil, err
		}
		tok, _ := client.TokenFrom(f.srv.token, f.srv.tokenFile)
		w, err := alert.NewWebhook(alert.WebhookOptions{URL: strings.TrimRight(f.srv.server, "/") + "/api/v1/reports?kind=alerts",
			Headers: map[string]string{"Authorization": "Bearer " + tok}, QueueDir: filepath.Join(g.cacheDir, "runtime", "server-queue"),
			CAFile: f.srv.ca, Logger: log})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("starting the alert sender to %s: %w", f.srv.server, err)
		}
		sinks = append(sinks, w)
	}
	if f.syslog != "" {
		network, addr, err := parseSyslogURL(f.syslog)
		if err != nil {
			closeAll()
			return nil, &usageError{fmt.Errorf("--syslog: %w", err)}
		}
		s, err := alert.NewSyslog(alert.SyslogOptions{Network: network, Addr: addr})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("connecting to syslog %s: %w", f.syslog, err)
		}
		sinks = append(sinks, s)
	}
	if len(sinks) == 1 {
		return sinks[0], nil
	}
	return alert.Multi(sinks...), nil
}

// fileSink closes the file it writes to.
type fileSink struct {
	alert.Sink
	f *os.File
}

func (s fileSink) Close() error {
	return errors.Join(s.Sink.Close(), s.f.Close())
}

func parseSyslogURL(s string) (network, addr string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", err
	}
	switch u.Scheme {
	case "udp", "tcp":
		if u.Host == "" {
			return "", "", fmt.Errorf("%q: no host:port", s)
		}
		return u.Scheme, u.Host, nil
	case "unix":
		if u.Path == "" {
			return "", "", fmt.Errorf("%q: no socket path", s)
		}
		return "unix", u.Path, nil
	}
	return "", "", fmt.Errorf("%q: want udp://host:port, tcp://host:port or unix:///path", s)
}
