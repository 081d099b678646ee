package alert

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/redact"
	"github.com/bulwarkdev/bulwark/internal/tlsconf"
)

// WebhookOptions configure the HTTP webhook output. Zero values take the
// defaults.
type WebhookOptions struct {
	URL     string
	Headers map[string]string // added to every request (Authorization, …)
	Timeout time.Duration     // per request; default 10s
	// QueueDir holds undelivered alerts (required); they survive restarts.
	QueueDir string
	// MaxQueueBytes bounds QueueDir; when full the oldest undelivered alert
	// is dropped, logged and counted. Default 64 MiB.
	MaxQueueBytes int64
	// MaxRetries is how many times one alert is retried before it is counted
	// as failed and removed; 0 retries until delivered (the queue bound
	// still applies).
	MaxRetries int
	MinBackoff time.Duration // first retry delay; default 1s
	MaxBackoff time.Duration // cap on the delay (and on Retry-After); default 5m
	CAFile     string        // PEM CA certificates trusted besides the system's
	Logger     *slog.Logger
	// Item names one queued entry in log lines; default "alert"
	// (internal/notify says "notification").
	Item string
	// Authorize, when set, adds credentials to each request as it is
	// sent (an agent's credential changes when it is rotated).
	Authorize func(*http.Request)
	// KeepUnauthorized retries 401 and 403 like a server error instead of
	// dropping the document: an agent whose credential was revoked keeps
	// its queue until it is enrolled again.
	KeepUnauthorized bool
	// OnUnauthorized, when set, makes a 401 answer hold delivery instead:
	// the entry stays queued, nothing more is sent (a refused credential
	// would be refused again), OnUnauthorized is called once per hold
	// with the answer, and delivery resumes at Resume.
	OnUnauthorized func(error)
	// Gzip stores and sends documents gzip-compressed (Content-Encoding:
	// gzip); the receiver must accept it, as Bulwark's server does.
	Gzip bool
}

// WebhookStats counts deliveries. Queued is the number waiting now.
type WebhookStats struct {
	Sent        int64 // delivered (2xx)
	Retried     int64 // attempts that failed and were retried
	Queued      int64 // waiting in the queue now
	QueuedBytes int64
	Dropped     int64 // dropped, oldest first, because the queue (or its disk) was full
	// DiskFullDropped is the part of Dropped the disk being full caused
	// (ENOSPC), DiskFull whether the last write met it.
	DiskFullDropped int64 `json:",omitempty"`
	DiskFull        bool  `json:",omitempty"`
	// Held: delivery is held after a 401 until Resume.
	Held    bool  `json:",omitempty"`
	Failed  int64 // permanent failures (4xx other than 408/429, retries exhausted, too large)
	Corrupt int64 // damaged queue files set aside
}

// Webhook POSTs each alert as its JSON document to a URL, in order, through
// a durable queue. Send returns once the alert is on disk; a background
// goroutine delivers.
type Webhook struct {
	opts   WebhookOptions
	log    *slog.Logger
	client *http.Client
	q      *diskQueue

	notify chan struct{}
	ctx    context.Context // cancelled by Close: aborts the request in flight
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	sent, retried, failed atomic.Int64
	held                  atomic.Bool
	resume                chan struct{}
}

// NewWebhook opens (or reloads) the queue and starts delivering.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if opts.URL == "" {
		return nil, errors.New("alert webhook: no URL")
	}
	if opts.QueueDir == "" {
		return nil, errors.New("alert webhook: no queue directory")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = 64 << 20
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.Item == "" {
		opts.Item = "alert"
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The URL often is the credential (Slack, Teams, SIEM collectors):
	// logs get it redacted.
	log = log.With("sink", "webhook", "url", redact.URL(opts.URL))
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if opts.CAFile != "" {
		cfg, err := tlsconf.Client(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("webhook CA: %w", err)
		}
		tr.TLSClientConfig = cfg
	}
	q, err := openQueue(opts.QueueDir, opts.MaxQueueBytes, log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Webhook{
		opts: opts, log: log, q: q,
		client: &http.Client{Transport: tr, Timeout: opts.Timeout},
		notify: make(chan struct{}, 1),
		resume: make(chan struct{}, 1),
		ctx:    ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Send queues the alert durably. It fails only when the alert cannot be
// stored (disk error, larger than the whole queue, sink closed).
func (w *Webhook) Send(_ context.Context, a model.Alert) error {
	if w.ctx.Err() != nil {
		return errors.New("sending alert: webhook sink is closed")
	}
	body, err := Marshal(a)
	if err != nil {
		return err
	}
	if err := w.enqueue(body); err != nil {
		w.log.Error("alert not queued", "alert", a.ID, "type", a.Type, "err", err)
		return fmt.Errorf("webhook: alert %s: %w", a.ID, err)
	}
	return nil
}

// SendJSON queues one JSON document as it is, for outputs that render their
// own body (internal/notify: a notification event, a Slack message). It has
// Send's durability, order, retries and counters; it fails when payload is
// not JSON or cannot be stored.
func (w *Webhook) SendJSON(_ context.Context, payload []byte) error {
	if w.ctx.Err() != nil {
		return errors.New("sending to webhook: sink is closed")
	}
	if !json.Valid(payload) {
		w.failed.Add(1)
		return errors.New("sending to webhook: payload is not JSON")
	}
	if err := w.enqueue(payload); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}

// SendJSONBatch is SendJSON for a burst: the documents are queued in
// order with one directory sync. The error joins those that were not
// queued (each counted failed); the others are.
func (w *Webhook) SendJSONBatch(_ context.Context, payloads [][]byte) error {
	if w.ctx.Err() != nil {
		return errors.New("sending to webhook: sink is closed")
	}
	var errs []error
	valid := make([][]byte, 0, len(payloads))
	for i, p := range payloads {
		if !json.Valid(p) {
			w.failed.Add(1)
			errs = append(errs, fmt.Errorf("webhook: payload %d is not JSON", i))
			continue
		}
		valid = append(valid, p)
	}
	if w.opts.Gzip {
		for i, p := range valid {
			z, err := gzipBytes(p)
			if err != nil {
				return err
			}
			valid[i] = z
		}
	}
	for i, err := range w.q.pushBatch(valid) {
		if err != nil {
			w.failed.Add(1)
			errs = append(errs, fmt.Errorf("webhook: payload %d: %w", i, err))
		}
	}
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return errors.Join(errs...)
}

// SendGzipped queues a document already gzip-compressed (Gzip must be
// set): a large report is compressed as it is encoded, never held whole.
func (w *Webhook) SendGzipped(_ context.Context, gz []byte) error {
	if !w.opts.Gzip {
		return errors.New("sending a compressed document: the webhook does not send gzip")
	}
	if w.ctx.Err() != nil {
		return errors.New("sending document: webhook sink is closed")
	}
	if err := w.q.push(gz); err != nil {
		w.failed.Add(1)
		w.log.Error("document not queued", "bytes", len(gz), "err", err)
		return fmt.Errorf("webhook: document: %w", err)
	}
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// enqueue is the core Send and SendJSON share: store, count a failure,
// wake the deliverer.
func (w *Webhook) enqueue(body []byte) error {
	if w.opts.Gzip {
		z, err := gzipBytes(body)
		if err != nil {
			w.failed.Add(1)
			return err
		}
		body = z
	}
	if err := w.q.push(body); err != nil {
		w.failed.Add(1)
		return err
	}
	select {
	case w.notify <- struct{}{}:
	default:
	}
	return nil
}

// Close stops delivery and aborts the request in flight; what is not yet
// delivered stays in the queue for the next NewWebhook on the same dir.
func (w *Webhook) Close() error {
	w.once.Do(func() {
		w.cancel()
		<-w.done
		if n, _, _, _ := w.q.stats(); n > 0 {
			w.log.Info("webhook closed with "+w.opts.Item+"s still queued", "queued", n, "dir", w.opts.QueueDir)
		}
	})
	return nil
}

// Stats returns the counters.
func (w *Webhook) Stats() WebhookStats {
	n, b, dropped, corrupt := w.q.stats()
	full, isFull := w.q.diskFullStats()
	return WebhookStats{
		Sent: w.sent.Load(), Retried: w.retried.Load(), Failed: w.failed.Load(),
		Queued: int64(n), QueuedBytes: b, Dropped: dropped, Corrupt: corrupt,
		DiskFullDropped: full, DiskFull: isFull, Held: w.held.Load(),
	}
}

type outcome int

const (
	delivered outcome = iota
	permanent
	retry
	unauthorized // 401 with OnUnauthorized set: hold
)

// Resume ends a hold (OnUnauthorized): the held entry is sent again at
// once, with whatever credential Authorize now adds.
func (w *Webhook) Resume() {
	if w.held.CompareAndSwap(true, false) {
		select {
		case w.resume <- struct{}{}:
		default:
		}
	}
}

func (w *Webhook) run() {
	defer close(w.done)
	var cur uint64
	attempts := 0
	for {
		seq, body, ok := w.q.head()
		if !ok {
			select {
			case <-w.ctx.Done():
				return
			case <-w.notify:
				continue
			}
		}
		if seq != cur {
			cur, attempts = seq, 0
		}
		attempts++
		res, after, err := w.post(body)
		if w.ctx.Err() != nil {
			w.q.unpin() // closed mid-request: it stays queued
			return
		}
		switch {
		// The entry leaves the queue before it is counted, so a reader that
		// sees the count also sees the queue without it.
		case res == delivered:
			w.removeEntry(seq)
			w.sent.Add(1)
		case res == unauthorized:
			w.q.unpin()
			w.held.Store(true)
			w.opts.OnUnauthorized(err)
			select {
			case <-w.ctx.Done():
				return
			case <-w.resume:
			}
			attempts = 0
		case res == permanent:
			w.log.Error(w.opts.Item+" rejected by webhook: not retried", "seq", seq, "err", err)
			w.removeEntry(seq)
			w.failed.Add(1)
		case w.opts.MaxRetries > 0 && attempts > w.opts.MaxRetries:
			w.log.Error(w.opts.Item+" not delivered: retries exhausted", "seq", seq, "attempts", attempts, "err", err)
			w.removeEntry(seq)
			w.failed.Add(1)
		default:
			w.q.unpin()
			w.retried.Add(1)
			d := w.backoff(attempts)
			if after > d {
				d = min(after, w.opts.MaxBackoff)
			}
			w.log.Warn(w.opts.Item+" delivery failed; will retry", "seq", seq, "attempt", attempts, "in", d, "err", err)
			t := time.NewTimer(d)
			select {
			case <-w.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

func (w *Webhook) removeEntry(seq uint64) {
	if err := w.q.remove(seq); err != nil {
		w.log.Error("alert queue", "err", err)
	}
}

// backoff is exponential with equal jitter: half the step fixed, half
// random, so retries of many agents spread out but never collapse to zero.
func (w *Webhook) backoff(attempt int) time.Duration {
	d := w.opts.MinBackoff
	for i := 1; i < attempt && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opts.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

func (w *Webhook) post(body []byte) (outcome, time.Duration, error) {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return permanent, 0, fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bulwark")
	for k, v := range w.opts.Headers {
		req.Header.Set(k, v)
	}
	if w.opts.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if w.opts.Authorize != nil {
		w.opts.Authorize(req)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		// A *url.Error names the URL: it reaches the logs redacted.
		return retry, 0, fmt.Errorf("posting alert: %w", redact.URLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return delivered, 0, nil
	case code == http.StatusUnauthorized && w.opts.OnUnauthorized != nil:
		return unauthorized, 0, fmt.Errorf("webhook answered %s", resp.Status)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500,
		w.opts.KeepUnauthorized && (code == http.StatusUnauthorized || code == http.StatusForbidden):
		return retry, retryAfter(resp.Header.Get("Retry-After")), fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return permanent, 0, fmt.Errorf("webhook answered %s", resp.Status)
	}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
