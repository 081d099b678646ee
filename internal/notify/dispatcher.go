package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/image"
)

// Options tune a Dispatcher. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// StateDir holds the queues of webhook and slack sinks that name no
	// queue_dir: <StateDir>/notify/<sink name>.
	StateDir string
	// Hostname is syslog's HOSTNAME; default os.Hostname().
	Hostname string
	// Timeout bounds one HTTP request or syslog write; default 10s.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the webhook retry delay (Retry-After
	// included); defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetries per event before it counts as failed; 0 retries until
	// delivered or pushed out of the bounded queue.
	MaxRetries int
	// Buffer is how many events one sink holds in memory: for a webhook or
	// slack sink, waiting for their batch to reach the disk queue (a few
	// milliseconds); for a syslog sink, while its receiver is slow. Past it
	// new events are dropped, counted and reported by Notify. Default 4096.
	Buffer int
}

// defaultMaxQueueBytes is internal/alert's default queue bound.
const defaultMaxQueueBytes = 64 << 20

// Stats are one sink's counters since New (Queued: waiting now).
type Stats struct {
	Name     string   `json:"name"`
	Type     SinkType `json:"type"`
	Sent     int64    `json:"sent"`     // delivered (2xx, or written to syslog)
	Filtered int64    `json:"filtered"` // not for this sink (kinds, min_severity, resource_kinds)
	Queued   int64    `json:"queued"`   // waiting for delivery now
	Dropped  int64    `json:"dropped"`  // lost to a full queue or buffer, or a damaged queue file
	Failed   int64    `json:"failed"`   // refused (4xx other than 408/429), retries exhausted, too large, not written
	Retried  int64    `json:"retried"`  // attempts that failed and were retried
}

// output is one sink's delivery: enqueue must not wait for the receiver.
type output interface {
	enqueue(ctx context.Context, e Event) error
	stats() Stats
	close() error
}

type sink struct {
	cfg      SinkConfig
	out      output
	filtered atomic.Int64
}

// Dispatcher fans events out to the configured sinks. Safe for concurrent
// use.
type Dispatcher struct {
	log   *slog.Logger
	sinks []*sink

	mu     sync.RWMutex // Notify holds it shared; Close exclusively
	closed bool
}

// New opens every sink: reloads the webhook queues (what a previous
// Dispatcher left undelivered is sent first) and starts delivery. Secret
// files (url_file, header_files) are read here. A syslog receiver that is
// down does not fail New: the sink connects when it has something to send.
func New(cfg Config, opts Options) (*Dispatcher, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	d := &Dispatcher{log: opts.Logger}
	names := map[string]bool{}
	dirs := map[string]string{}
	for _, sc := range cfg.Sinks {
		out, err := openSink(cfg.BaseDir, sc, opts, names, dirs)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.sinks = append(d.sinks, &sink{cfg: sc, out: out})
	}
	return d, nil
}

func openSink(base string, sc SinkConfig, opts Options, names map[string]bool, dirs map[string]string) (output, error) {
	if !nameRE.MatchString(sc.Name) {
		return nil, fmt.Errorf("notification sink %q: bad name", clip(sc.Name, 64))
	}
	if names[sc.Name] {
		return nil, fmt.Errorf("%s: name used twice", sc)
	}
	names[sc.Name] = true
	log := opts.Logger.With("notify_sink", sc.Name)
	switch sc.Type {
	case SinkWebhook, SinkSlack:
		u, err := sc.resolveURL(base)
		if err != nil {
			return nil, err
		}
		if !httpURL(u) {
			return nil, fmt.Errorf("%s: url: want an absolute http or https URL", sc)
		}
		if pu, err := url.Parse(u); err == nil && pu.Scheme == "http" && !image.IsLoopback(pu.Host) {
			// Allowed (an internal collector may speak only http), but said.
			log.Warn("notification sink sends over plain http: its URL, headers and events travel unencrypted")
		}
		headers, err := sc.resolveHeaders(base)
		if err != nil {
			return nil, err
		}
		dir, err := sc.queueDir(base, opts.StateDir)
		if err != nil {
			return nil, err
		}
		if other, ok := dirs[dir]; ok {
			return nil, fmt.Errorf("%s: queue_dir %s is also sink %q's", sc, dir, other)
		}
		dirs[dir] = sc.Name
		w, err := alert.NewWebhook(alert.WebhookOptions{
			URL: u, Headers: headers, Timeout: opts.Timeout,
			QueueDir: dir, MaxQueueBytes: sc.MaxQueueBytes,
			MaxRetries: opts.MaxRetries, MinBackoff: opts.MinBackoff, MaxBackoff: opts.MaxBackoff,
			CAFile: abs(base, sc.CAFile), Logger: log, Item: "notification",
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc, err)
		}
		render := Marshal
		if sc.Type == SinkSlack {
			render = slackPayload
		}
		limit := sc.MaxQueueBytes
		if limit <= 0 {
			limit = defaultMaxQueueBytes
		}
		return newWebhookOut(w, render, limit, opts.Buffer, log), nil
	case SinkSyslog:
		network, addr, err := syslogAddress(sc.Address)
		if err != nil {
			return nil, fmt.Errorf("%s: address: %w", sc, err)
		}
		return newSyslogOut(alert.SyslogOptions{Network: network, Addr: addr, Hostname: opts.Hostname, Timeout: opts.Timeout},
			opts.Buffer, log), nil
	}
	return nil, fmt.Errorf("%s: type %q: want webhook, slack or syslog", sc, clip(string(sc.Type), 32))
}

// Notify validates each event and hands it to every sink whose filters
// accept it, in a bounded memory buffer per sink; it never waits for a
// receiver or a disk sync. Webhook and slack events reach the sink's disk
// queue within milliseconds (from then on they survive a restart or a
// crash), and Close moves what is still buffered there. The error joins
// the events that are invalid, too large for a sink's queue, or met a full
// buffer; the others are queued all the same.
func (d *Dispatcher) Notify(ctx context.Context, events ...Event) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return errors.New("notify: dispatcher is closed")
	}
	var errs []error
	for _, e := range events {
		if err := e.Validate(); err != nil {
			d.log.Error("notification refused", "err", err)
			errs = append(errs, err)
			continue
		}
		e = e.normalized()
		for _, s := range d.sinks {
			if !s.cfg.accepts(e) {
				s.filtered.Add(1)
				continue
			}
			if err := s.out.enqueue(ctx, e); err != nil {
				d.log.Error("notification not queued", "notify_sink", s.cfg.Name, "id", e.ID, "err", err)
				errs = append(errs, fmt.Errorf("%s: notification %s: %w", s.cfg, e.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Stats returns every sink's counters, in configuration order.
func (d *Dispatcher) Stats() []Stats {
	out := make([]Stats, 0, len(d.sinks))
	for _, s := range d.sinks {
		st := s.out.stats()
		st.Name, st.Type, st.Filtered = s.cfg.Name, s.cfg.Type, s.filtered.Load()
		out = append(out, st)
	}
	return out
}

// Close stops delivery. Webhook and slack events not yet delivered stay
// queued on disk for the next Dispatcher on the same queue_dir; a syslog
// sink gets up to Options.Timeout to write what it holds.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	var errs []error
	for _, s := range d.sinks {
		if err := s.out.close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", s.cfg, err))
		}
	}
	return errors.Join(errs...)
}

// webhookOut is a webhook or slack sink: the rendered body goes through
// internal/alert's durable queue and retrying delivery. Notify renders and
// hands the body to a bounded memory buffer; one writer moves what has
// gathered there to the disk queue in batches (one directory sync per
// batch), so the caller never waits for a disk sync nor a receiver.
type webhookOut struct {
	w      *alert.Webhook
	log    *slog.Logger
	render func(Event) ([]byte, error)
	limit  int64 // largest record the queue takes
	ch     chan []byte
	done   chan struct{}

	dropped, failed atomic.Int64
}

// maxBatch bounds one disk batch, so one sync never covers a huge burst.
const maxBatch = 256

func newWebhookOut(w *alert.Webhook, render func(Event) ([]byte, error), limit int64, buffer int, log *slog.Logger) *webhookOut {
	o := &webhookOut{w: w, log: log, render: render, limit: limit, ch: make(chan []byte, buffer), done: make(chan struct{})}
	go o.run()
	return o
}

// recordOverhead is internal/alert's queue record header.
const recordOverhead = 12

func (o *webhookOut) enqueue(_ context.Context, e Event) error {
	b, err := o.render(e)
	if err != nil {
		o.failed.Add(1)
		return err
	}
	if int64(len(b))+recordOverhead > o.limit {
		o.failed.Add(1)
		return fmt.Errorf("%d bytes rendered, larger than the whole queue (max_queue_bytes %d)", len(b), o.limit)
	}
	select {
	case o.ch <- b:
		return nil
	default:
		o.dropped.Add(1)
		return fmt.Errorf("memory buffer full (%d events waiting for the disk queue): dropped", cap(o.ch))
	}
}

func (o *webhookOut) run() {
	defer close(o.done)
	batch := make([][]byte, 0, maxBatch)
	for b := range o.ch {
		batch = append(batch[:0], b)
	more:
		for len(batch) < maxBatch {
			select {
			case b, ok := <-o.ch:
				if !ok {
					break more
				}
				batch = append(batch, b)
			default:
				break more
			}
		}
		if err := o.w.SendJSONBatch(context.Background(), batch); err != nil {
			o.log.Error("notifications not queued", "err", err)
		}
	}
}

func (o *webhookOut) stats() Stats {
	ws := o.w.Stats()
	return Stats{Sent: ws.Sent, Queued: ws.Queued + int64(len(o.ch)), Dropped: ws.Dropped + ws.Corrupt + o.dropped.Load(),
		Failed: ws.Failed + o.failed.Load(), Retried: ws.Retried}
}

// close moves what the buffer holds to disk, then stops delivery; the
// queue keeps what is undelivered.
func (o *webhookOut) close() error {
	close(o.ch)
	<-o.done
	return o.w.Close()
}

// syslogOut is a syslog sink: a bounded in-memory buffer and one writer,
// so a slow or absent receiver costs the caller nothing. It connects
// lazily and, after a failed connect, waits redialPause before the next.
type syslogOut struct {
	opts alert.SyslogOptions
	log  *slog.Logger
	ch   chan Event
	done chan struct{}
	stop chan struct{} // closed when Close's grace is over: the rest is dropped

	sent, dropped, failed atomic.Int64
}

const redialPause = time.Second

func newSyslogOut(opts alert.SyslogOptions, buffer int, log *slog.Logger) *syslogOut {
	o := &syslogOut{opts: opts, log: log.With("address", opts.Network+"://"+opts.Addr),
		ch: make(chan Event, buffer), done: make(chan struct{}), stop: make(chan struct{})}
	go o.run()
	return o
}

func (o *syslogOut) enqueue(_ context.Context, e Event) error {
	select {
	case o.ch <- e:
		return nil
	default:
		o.dropped.Add(1)
		return fmt.Errorf("syslog buffer full (%d events): dropped", cap(o.ch))
	}
}

func (o *syslogOut) run() {
	defer close(o.done)
	var conn *alert.Syslog
	var lastDial time.Time
	down := false
	for e := range o.ch {
		select {
		case <-o.stop:
			o.dropped.Add(1)
			continue
		default:
		}
		if conn == nil && time.Since(lastDial) >= redialPause {
			lastDial = time.Now()
			c, err := alert.NewSyslog(o.opts)
			if err != nil {
				if !down {
					o.log.Error("syslog receiver unreachable; events fail until it answers", "err", err)
				}
				down = true
			} else {
				conn = c
			}
		}
		if conn == nil {
			o.failed.Add(1)
			continue
		}
		if err := conn.SendMessage(context.Background(), syslogMessage(e)); err != nil {
			o.failed.Add(1)
			o.log.Error("notification not written to syslog", "id", e.ID, "err", err)
			conn.Close()
			conn, lastDial, down = nil, time.Now(), true
			continue
		}
		if down {
			o.log.Info("syslog receiver reachable again")
			down = false
		}
		o.sent.Add(1)
	}
	if conn != nil {
		conn.Close()
	}
}

func (o *syslogOut) stats() Stats {
	return Stats{Sent: o.sent.Load(), Queued: int64(len(o.ch)), Dropped: o.dropped.Load(), Failed: o.failed.Load()}
}

func (o *syslogOut) close() error {
	close(o.ch)
	t := time.NewTimer(o.opts.Timeout)
	defer t.Stop()
	select {
	case <-o.done:
	case <-t.C:
		close(o.stop)
		<-o.done
	}
	return nil
}
