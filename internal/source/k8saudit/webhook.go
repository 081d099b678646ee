package k8saudit

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// DefaultMaxBodyBytes bounds one webhook request. It is the API server's
// own bound on a webhook batch, --audit-webhook-truncate-max-batch-size
// (10 MiB): with --audit-webhook-truncate-enabled no batch is larger. An API
// server sending RequestResponse events without truncation may need more
// (WebhookOptions.MaxBodyBytes).
const DefaultMaxBodyBytes = 10 << 20

// DefaultMaxConcurrent bounds the requests served at once: the API server
// sends one batch at a time per backend, and its retries and throttle
// burst (--audit-webhook-batch-throttle-burst, 15) stay under it.
const DefaultMaxConcurrent = 16

// maxSources bounds the per-source counters a receiver keeps: beyond it,
// refusals from new addresses are counted under "other".
const maxSources = 256

// ErrInsecure is returned by NewWebhook when the receiver would serve
// without TLS or without an authenticator and the caller did not say
// Insecure, or said it for an address other than loopback.
var ErrInsecure = errors.New("audit webhook: refusing to serve without TLS and an authenticator")

// WebhookOptions configure the audit webhook receiver.
type WebhookOptions struct {
	// Addr is the listen address (":8443"). Listener, when set, is used
	// instead (tests, socket activation).
	Addr     string
	Listener net.Listener
	// CertFile and KeyFile are the serving certificate. Without them the
	// receiver serves plain HTTP, which only suits loopback.
	CertFile, KeyFile string
	// ClientCAFile verifies client certificates (the webhook kubeconfig's
	// users[].user.client-certificate). A verified certificate
	// authenticates the request like a token does.
	ClientCAFile string
	// Tokens are the accepted bearer tokens (users[].user.token), compared
	// in constant time.
	Tokens []string
	// Insecure allows serving without TLS or without tokens and client CA
	// (then every request is accepted), and only on a loopback address.
	// Without it, NewWebhook refuses such a configuration.
	Insecure bool
	// Cluster is stamped on every event.
	Cluster string
	// MaxBodyBytes bounds one request's body (DefaultMaxBodyBytes); a
	// larger batch is answered 413 and counted as dropped.
	MaxBodyBytes int64
	// MaxConcurrent bounds the requests read at once (DefaultMaxConcurrent);
	// beyond it a request is answered 429 with Retry-After, which the API
	// server's webhook backend retries.
	MaxConcurrent int
	Logger        *slog.Logger
}

// Webhook receives EventList POSTs from the API server's audit webhook
// backend. It implements event.Reader.
type Webhook struct {
	opts WebhookOptions
	log  *slog.Logger
	sem  chan struct{}
	stats
	batches batchCounters
}

// stats are the counters a source shares with its handler.
type stats struct {
	events, malformed, filtered, dropped atomic.Uint64
}

func (s *stats) snapshot() event.Stats {
	return event.Stats{Events: s.events.Load(), Malformed: s.malformed.Load(), Filtered: s.filtered.Load(), Dropped: s.dropped.Load()}
}

// NewWebhook returns a receiver; Run serves it.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("audit webhook: the certificate and key go together")
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.ClientCAFile != "" && opts.CertFile == "" {
		return nil, errors.New("audit webhook: client certificates need TLS (a certificate and key)")
	}
	for _, t := range opts.Tokens {
		if t == "" {
			return nil, errors.New("audit webhook: empty token")
		}
	}
	tlsOn := opts.CertFile != ""
	authOn := len(opts.Tokens) > 0 || opts.ClientCAFile != ""
	if !tlsOn || !authOn {
		var missing []string
		if !tlsOn {
			missing = append(missing, "no TLS (certificate and key: --audit-cert, --audit-key)")
		}
		if !authOn {
			missing = append(missing, "no authenticator (bearer tokens: --audit-token, or client certificates: --audit-client-ca)")
		}
		if !opts.Insecure {
			return nil, fmt.Errorf("%w: %s; only --audit-insecure allows that, and on a loopback address only", ErrInsecure, strings.Join(missing, ", "))
		}
		addr := opts.Addr
		if opts.Listener != nil {
			addr = opts.Listener.Addr().String()
		}
		if !loopback(addr) {
			return nil, fmt.Errorf("%w: %s, and --audit-insecure serves on a loopback address only, not %q", ErrInsecure, strings.Join(missing, ", "), addr)
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Webhook{opts: opts, log: log.With("source", "k8s-audit-webhook"), sem: make(chan struct{}, opts.MaxConcurrent)}, nil
}

// loopback reports whether a listen address (host:port) is on a loopback
// interface only: a loopback IP, or a name all of whose addresses are.
// An empty host (all interfaces) is not.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host != "localhost" {
		return false
	}
	ips, err := net.LookupIP(host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// Name implements event.Reader.
func (w *Webhook) Name() string { return "k8s-audit-webhook" }

// Stats implements event.Reader.
func (w *Webhook) Stats() event.Stats { return w.snapshot() }

// Run serves until ctx ends.
func (w *Webhook) Run(ctx context.Context, emit event.Emit) error {
	srv := &http.Server{
		Handler:           w.Handler(emit),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelWarn),
	}
	if w.opts.CertFile != "" {
		cfg, err := w.tlsConfig()
		if err != nil {
			return err
		}
		srv.TLSConfig = cfg
	}
	ln := w.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", w.opts.Addr); err != nil {
			return fmt.Errorf("audit webhook: listening on %s: %w", w.opts.Addr, err)
		}
	}
	if w.opts.Insecure && w.opts.Listener == nil && !loopback(ln.Addr().String()) {
		ln.Close()
		return fmt.Errorf("%w: %s is not a loopback address", ErrInsecure, ln.Addr())
	}
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else {
		w.log.Warn("serving the audit webhook without TLS (--audit-insecure, loopback only)", "addr", ln.Addr().String())
	}
	if len(w.opts.Tokens) == 0 && w.opts.ClientCAFile == "" {
		w.log.Warn("audit webhook requests are not authenticated (--audit-insecure, loopback only)")
	}
	w.log.Info("audit webhook listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil,
		"max_body_bytes", w.opts.MaxBodyBytes, "max_concurrent", w.opts.MaxConcurrent)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("audit webhook: serving: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}

// tlsConfig loads the serving certificate (reloaded when its files change,
// so a rotated certificate needs no restart) and the client CA.
func (w *Webhook) tlsConfig() (*tls.Config, error) {
	kp := &keypairReloader{cert: w.opts.CertFile, key: w.opts.KeyFile}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
	}
	if w.opts.ClientCAFile != "" {
		pem, err := os.ReadFile(w.opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("audit webhook: reading client CA %s: %w", w.opts.ClientCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("audit webhook: no certificate in client CA %s", w.opts.ClientCAFile)
		}
		cfg.ClientCAs = pool
		// A client may authenticate with a token instead, so a certificate
		// is verified when given but not demanded at the handshake.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

type keypairReloader struct {
	cert, key string
	mu        sync.Mutex
	loaded    *tls.Certificate
	mtime     time.Time
	checked   time.Time
}

func (k *keypairReloader) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < 10*time.Second {
		return k.loaded, nil
	}
	k.checked = time.Now()
	fi, err := os.Stat(k.cert)
	if err == nil && k.loaded != nil && fi.ModTime().Equal(k.mtime) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil // keep serving the previous one while files are being replaced
		}
		return nil, fmt.Errorf("audit webhook: loading certificate %s: %w", k.cert, err)
	}
	k.loaded = &c
	if fi != nil {
		k.mtime = fi.ModTime()
	}
	return k.loaded, nil
}

// Handler returns the HTTP handler: any path, POST of an EventList. Events
// are handed to emit in order before the response, one request at a time,
// so emit needs no locking of its own. Every request is counted as an
// accepted, refused (not authenticated, not a POST) or dropped (too large,
// over the concurrency cap, malformed) batch of its source.
func (w *Webhook) Handler(emit event.Emit) http.Handler {
	var mu sync.Mutex // serializes emit across concurrent requests
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		src, ok := w.authenticate(r)
		if !ok {
			w.batches.add(src, outcomeRefused)
			w.log.Warn("rejected unauthenticated audit webhook request", "remote", r.RemoteAddr)
			rw.Header().Set("WWW-Authenticate", `Bearer realm="bulwark-audit"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost {
			w.batches.add(src, outcomeRefused)
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "POST an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
			return
		}
		select {
		case w.sem <- struct{}{}:
			defer func() { <-w.sem }()
		default:
			w.dropped.Add(1)
			w.batches.add(src, outcomeDropped)
			w.log.Warn("audit webhook over its concurrency limit, batch refused for a retry", "remote", r.RemoteAddr, "sender", src, "limit", w.opts.MaxConcurrent)
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, "too many concurrent requests", http.StatusTooManyRequests)
			return
		}
		if r.ContentLength > w.opts.MaxBodyBytes {
			w.tooLarge(rw, r, src)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.opts.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				w.tooLarge(rw, r, src)
				return
			}
			w.batches.add(src, outcomeDropped)
			w.log.Warn("reading audit webhook body", "remote", r.RemoteAddr, "sender", src, "err", err)
			http.Error(rw, "reading body", http.StatusBadRequest)
			return
		}
		evs, res, err := ParseListDetail(body)
		if err != nil {
			w.malformed.Add(1)
			w.batches.add(src, outcomeDropped)
			w.log.Warn("malformed audit webhook body", "remote", r.RemoteAddr, "sender", src, "bytes", len(body), "err", err)
			http.Error(rw, "malformed EventList", http.StatusBadRequest)
			return
		}
		for _, merr := range res.Malformed {
			w.log.Warn("malformed audit event in webhook batch", "remote", r.RemoteAddr, "sender", src, "err", merr)
		}
		w.malformed.Add(uint64(len(res.Malformed)))
		w.filtered.Add(uint64(res.Filtered))
		mu.Lock()
		for _, e := range evs {
			e.Cluster = w.opts.Cluster
			emit(e)
		}
		mu.Unlock()
		w.events.Add(uint64(len(evs)))
		w.batches.add(src, outcomeAccepted)
		rw.WriteHeader(http.StatusOK)
	})
}

func (w *Webhook) tooLarge(rw http.ResponseWriter, r *http.Request, src string) {
	w.dropped.Add(1)
	w.batches.add(src, outcomeDropped)
	w.log.Warn("audit webhook body over the limit, batch dropped", "remote", r.RemoteAddr, "sender", src, "limit", w.opts.MaxBodyBytes)
	http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
}

// authenticate accepts a verified client certificate or a configured
// bearer token, and names the source for the counters: "cert:<CN>",
// "token:<n>" (the token's position among the configured ones: never the
// token) or, unauthenticated, "addr:<ip>". With no authenticator
// configured (Insecure), every request is accepted.
func (w *Webhook) authenticate(r *http.Request) (source string, ok bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.CommonName, true
	}
	if tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found && tok != "" {
		// Every configured token is compared, whatever matched, so the
		// time taken says nothing of which or how much matched.
		idx := -1
		for i, t := range w.opts.Tokens {
			if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
				idx = i
			}
		}
		if idx >= 0 {
			return fmt.Sprintf("token:%d", idx+1), true
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	src := "addr:" + host
	return src, len(w.opts.Tokens) == 0 && w.opts.ClientCAFile == ""
}

// BatchCounts are one source's batches by outcome.
type BatchCounts struct {
	Source   string `json:"source"`
	Accepted uint64 `json:"accepted"`
	Refused  uint64 `json:"refused"`
	Dropped  uint64 `json:"dropped"`
}

// Batches returns the per-source batch counters, sorted by source.
func (w *Webhook) Batches() []BatchCounts { return w.batches.snapshot() }

type outcome int

const (
	outcomeAccepted outcome = iota
	outcomeRefused
	outcomeDropped
)

// batchCounters counts batches per source; at most maxSources sources,
// later ones are counted as "other".
type batchCounters struct {
	mu sync.Mutex
	m  map[string]*BatchCounts
}

func (b *batchCounters) add(src string, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*BatchCounts{}
	}
	c := b.m[src]
	if c == nil {
		if len(b.m) >= maxSources {
			src = "other"
			c = b.m[src]
		}
		if c == nil {
			c = &BatchCounts{Source: src}
			b.m[src] = c
		}
	}
	switch o {
	case outcomeAccepted:
		c.Accepted++
	case outcomeRefused:
		c.Refused++
	case outcomeDropped:
		c.Dropped++
	}
}

func (b *batchCounters) snapshot() []BatchCounts {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BatchCounts, 0, len(b.m))
	for _, c := range b.m {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y BatchCounts) int { return strings.Compare(x.Source, y.Source) })
	return out
}
