package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/memtrim"

	"github.com/spf13/cobra"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/docker"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

type watchFlags struct {
	srv             serverFlags
	audit           auditWebhookFlags
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

	noServerExceptions bool
	configInterval     time.Duration
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
counters of every source and of the engine are logged.

With --server, alerts are also sent to the server, and the server's run-time
exceptions (PUT /api/v1/config/runtime-exceptions) apply beside the
--exceptions files: loaded at start (else from the last copy kept under the
cache directory, runtime/server-exceptions.json), polled every
--config-interval, a new version applied without a restart. The token then
needs the read scope besides ingest (--no-server-exceptions: alerts only).`,
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
	f.audit.register(fl)
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
	fl.BoolVar(&f.noServerExceptions, "no-server-exceptions", false, "with --server, send alerts only: do not pull the server's run-time exceptions (pulling them needs the read scope besides ingest)")
	fl.DurationVar(&f.configInterval, "config-interval", 30*time.Second, "with --server, how often the server's run-time exceptions are polled (If-None-Match: an unchanged copy costs a 304)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus /metrics (bulwark_rule_blind) on this address; off unless given")
	return c
}

// sourceConfig checks the source flags and turns them into the watch's
// source configuration.
func sourceConfig(f *watchFlags, checkpointDir string, stdin io.Reader, log *slog.Logger) (watch.SourceConfig, error) {
	c := watch.SourceConfig{AuditLogs: f.auditLogs, EBPF: f.ebpf, Proc: f.proc, ProcInterval: f.procInterval,
		Auditd: f.auditd, Falco: f.falco, Stdin: stdin, Cluster: f.cluster, Node: f.node, CheckpointDir: checkpointDir, Logger: log}
	wh, err := f.audit.options()
	if err != nil {
		return c, err
	}
	c.AuditWebhook = wh
	if f.docker {
		if (f.dockerTLSCert == "") != (f.dockerTLSKey == "") {
			return c, &usageError{errors.New("--docker-tls-cert and --docker-tls-key go together")}
		}
		o := docker.Options{Host: f.dockerHost, TLSCAFile: f.dockerTLSCA, TLSCertFile: f.dockerTLSCert, TLSKeyFile: f.dockerTLSKey}
		if f.dockerSince != "" {
			t, err := parseSince(f.dockerSince, time.Now())
			if err != nil {
				return c, &usageError{fmt.Errorf("--docker-since: %w", err)}
			}
			o.Since = t
		}
		c.Docker = &o
	}
	return c, nil
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

func runWatch(ctx context.Context, g *globalFlags, rf *runtimeFlags, f *watchFlags, log *slog.Logger, stdin io.Reader, stdout io.Writer) error {
	if f.ebpf && f.proc {
		return &usageError{errors.New("--ebpf and --proc: choose one (--ebpf falls back to /proc scanning by itself)")}
	}
	if f.queue <= 0 {
		return &usageError{fmt.Errorf("--queue %d: must be positive", f.queue)}
	}
	checkpointDir := f.auditCheckpoint
	if checkpointDir == "" && g.cacheDir != "" {
		checkpointDir = filepath.Join(g.cacheDir, "runtime")
	}
	sc, err := sourceConfig(f, checkpointDir, stdin, log)
	if err != nil {
		return err
	}
	levels, err := auditLevels("", f.auditPolicy)
	if err != nil {
		return err
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
	sources, err := watch.OpenSources(ctx, sc)
	if err != nil {
		sink.Close()
		if errors.Is(err, k8saudit.ErrInsecure) {
			return &usageError{err}
		}
		return err
	}
	wc := watch.Config{Engine: eng, Sources: sources, Sink: sink, Window: f.window, Queue: f.queue,
		StatsInterval: f.statsInterval, AuditLevels: levels, MetricsListen: f.metricsListen, Logger: log}
	if f.srv.server != "" && !f.noServerExceptions {
		cl, err := f.srv.client()
		if err != nil {
			sink.Close()
			watch.CloseSources(sources, log)
			return err
		}
		if wc.Exceptions, err = remoteconfig.New(remoteconfig.Options{Source: cl, Name: "runtime-exceptions",
			CacheFile: filepath.Join(g.cacheDir, "runtime", "server-exceptions.json"), Interval: f.configInterval, Logger: log,
			Validate: func(b []byte) error { _, err := runtime.ParseExceptions("server runtime-exceptions", b); return err }}); err != nil {
			sink.Close()
			watch.CloseSources(sources, log)
			return err
		}
	}
	// A long-running watch: what start-up mapped goes back once it runs.
	trim := memtrim.NewReleaser(log, 0, 0)
	trim.Soon()
	defer trim.Stop()
	err = watch.Run(ctx, wc)
	if errors.Is(err, watch.ErrNoSource) {
		return &usageError{errors.New("no source chosen: give at least one of --audit-webhook, --audit-log, --docker, --ebpf, --proc, --auditd, --falco")}
	}
	return err
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
