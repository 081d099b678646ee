// Package docker is the Docker Engine API event source: it follows the
// engine's /events stream, turns container, image, network and volume
// events into event.Events, and joins the container's inspect data
// (image, privileges, namespaces, mounts, labels) from a small cache.
//
// When the stream breaks (the engine restarts, the socket goes away) it
// reconnects with backoff and asks for the events since the last one it
// handed on, skipping those it already has, so nothing is lost or repeated
// while the engine keeps them.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// Options configure a Source.
type Options struct {
	// Host is a DOCKER_HOST-style address (unix:///var/run/docker.sock,
	// tcp://host:2376); empty means $DOCKER_HOST or the default socket.
	Host string
	// TLSCAFile, TLSCertFile and TLSKeyFile configure TLS to a tcp:// host
	// (the engine's --tlsverify setup: its CA, a client certificate and
	// key). Empty: $DOCKER_CERT_PATH and $DOCKER_TLS_VERIFY decide, as for
	// the docker CLI.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// Logger receives connection and join problems; nil discards.
	Logger *slog.Logger
	// Since, when set, replays the engine's events from this time first
	// (a checkpoint); zero means only new events.
	Since time.Time
	// NodeName goes into Event.Host; empty means os.Hostname.
	NodeName string
	// CacheSize bounds the container inspect cache (default 1024).
	CacheSize int
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults 200ms, 15s).
	MinBackoff, MaxBackoff time.Duration
}

// Source reads the Engine API event stream. It implements event.Reader.
type Source struct {
	o   Options
	log *slog.Logger
	cli *client.Client
	// execHTTP reads exec inspect (whose argv the client's ExecInspect
	// leaves out) over the client's own dialer, TLS included: one
	// transport for the source's life.
	execHTTP *http.Client
	execWarn sync.Once
	cache    *cache
	host     string

	events, malformed, reconnects atomic.Uint64

	mu sync.Mutex
	// cursor is the engine time (ns) of the last event emitted and the
	// keys of the events emitted at exactly that time: `since` is
	// inclusive, so after a reconnect those are skipped, not repeated.
	cursor     int64
	cursorSeen map[string]bool
}

// New makes a Source; it does not connect until Run.
func New(o Options) (*Source, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 1024
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = 15 * time.Second
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	opts := []client.Opt{client.FromEnv}
	if o.Host != "" {
		opts = append(opts, client.WithHost(o.Host))
	}
	if o.TLSCAFile != "" || o.TLSCertFile != "" || o.TLSKeyFile != "" {
		if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
			return nil, errors.New("docker client: the TLS certificate and key go together")
		}
		opts = append(opts, client.WithTLSClientConfig(o.TLSCAFile, o.TLSCertFile, o.TLSKeyFile))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %q: %w", o.Host, err)
	}
	s := &Source{o: o, log: o.Logger, cli: cli, cache: newCache(o.CacheSize), host: o.NodeName, cursorSeen: map[string]bool{}}
	s.execHTTP = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext:     func(ctx context.Context, _, _ string) (net.Conn, error) { return cli.Dialer()(ctx) },
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}}
	if !o.Since.IsZero() {
		s.cursor = o.Since.UnixNano()
	}
	return s, nil
}

// Name implements event.Reader.
func (s *Source) Name() string { return string(event.SourceDocker) }

// Stats implements event.Reader.
func (s *Source) Stats() event.Stats {
	return event.Stats{Events: s.events.Load(), Malformed: s.malformed.Load()}
}

// Reconnects says how many times the stream was reopened after a break.
func (s *Source) Reconnects() uint64 { return s.reconnects.Load() }

// Close releases the client's connections.
func (s *Source) Close() error {
	s.execHTTP.CloseIdleConnections()
	return s.cli.Close()
}

// Run follows the event stream until ctx ends; it returns nil then. Stream
// errors are logged and retried with backoff, never returned.
func (s *Source) Run(ctx context.Context, emit event.Emit) error {
	backoff := s.o.MinBackoff
	for first := true; ; first = false {
		if !first {
			s.reconnects.Add(1)
		}
		got, err := s.stream(ctx, emit)
		if ctx.Err() != nil {
			return nil
		}
		if got {
			backoff = s.o.MinBackoff
		}
		s.log.Warn("docker event stream broke; reconnecting", "host", s.cli.DaemonHost(), "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.o.MaxBackoff)
	}
}

// stream opens one /events stream from the cursor and emits until it
// breaks; got says the engine answered (so the backoff resets).
func (s *Source) stream(ctx context.Context, emit event.Emit) (got bool, err error) {
	if _, err := s.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return false, fmt.Errorf("ping docker engine %s: %w", s.cli.DaemonHost(), err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	start := s.cursor == 0
	s.mu.Unlock()
	if start {
		// Start the cursor at the engine's clock, so a break before the
		// first event still resumes from here rather than from "now".
		t := time.Now()
		if info, err := s.cli.Info(ctx, client.InfoOptions{}); err == nil {
			if et, err := time.Parse(time.RFC3339Nano, info.Info.SystemTime); err == nil {
				t = et
			}
		}
		s.mu.Lock()
		if s.cursor == 0 {
			s.cursor = t.UnixNano()
		}
		s.mu.Unlock()
	}
	opts := client.EventsListOptions{}
	s.mu.Lock()
	if s.cursor > 0 {
		opts.Since = fmt.Sprintf("%d.%09d", s.cursor/1e9, s.cursor%1e9)
	}
	s.mu.Unlock()
	res := s.cli.Events(sctx, opts)
	for {
		select {
		case m, ok := <-res.Messages:
			if !ok {
				return true, io.ErrUnexpectedEOF
			}
			got = true
			s.handle(ctx, m, emit)
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return got, fmt.Errorf("reading docker events from %s: %w", s.cli.DaemonHost(), err)
		}
	}
}

// handle dedups one message against the cursor, converts and emits it.
func (s *Source) handle(ctx context.Context, m events.Message, emit event.Emit) {
	t := m.TimeNano
	if t == 0 {
		t = m.Time * 1e9
	}
	key := string(m.Type) + "\x00" + string(m.Action) + "\x00" + m.Actor.ID
	s.mu.Lock()
	switch {
	case t < s.cursor:
		s.mu.Unlock()
		return
	case t == s.cursor:
		if s.cursorSeen[key] {
			s.mu.Unlock()
			return
		}
	default:
		s.cursor = t
		s.cursorSeen = map[string]bool{}
	}
	s.cursorSeen[key] = true
	s.mu.Unlock()

	ev, ok := convert(m)
	if !ok {
		return // a type we do not report (daemon, plugin, swarm objects)
	}
	if ev.Action == "" {
		s.malformed.Add(1)
		s.log.Warn("docker event without action", "type", m.Type, "id", m.Actor.ID)
		return
	}
	ev.Host = s.host
	if ev.Container != nil {
		s.join(ctx, m, ev)
	}
	s.events.Add(1)
	emit(ev)
}

// join fills the container from the cache or an inspect. On destroy the
// container is gone: the cached copy is used and then evicted.
func (s *Source) join(ctx context.Context, m events.Message, ev *event.Event) {
	id := ev.Container.ID
	c, ok := s.cache.get(id)
	if !ok && ev.Action != "destroy" {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := s.cli.ContainerInspect(ictx, id, client.ContainerInspectOptions{})
		cancel()
		if err != nil {
			s.log.Debug("docker container inspect failed; event keeps the engine's attributes", "id", id, "err", err)
		} else {
			c = fromInspect(res.Container)
			s.cache.put(id, c)
			ok = true
		}
	}
	if ok {
		mergeContainer(ev.Container, c)
	}
	if ev.Action == "destroy" {
		s.cache.del(id)
	}
	if execID := m.Actor.Attributes["execID"]; execID != "" && (ev.Action == "exec_create" || ev.Action == "exec_start") {
		if argv := s.execArgv(ctx, execID); len(argv) > 0 {
			ev.Container.Exec = argv
		}
	}
}
