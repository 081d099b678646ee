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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// DefaultMaxBodyBytes bounds one webhook request: the API server's batch
// (default 400 events) of RequestResponse events fits easily.
const DefaultMaxBodyBytes = 64 << 20

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
	// Tokens are the accepted bearer tokens (users[].user.token). With no
	// tokens and no client CA, requests are not authenticated.
	Tokens []string
	// Cluster is stamped on every event.
	Cluster      string
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Webhook receives EventList POSTs from the API server's audit webhook
// backend. It implements event.Reader.
type Webhook struct {
	opts WebhookOptions
	log  *slog.Logger
	stats
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
	if opts.ClientCAFile != "" && opts.CertFile == "" {
		return nil, errors.New("audit webhook: client certificates need TLS (a certificate and key)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Webhook{opts: opts, log: log.With("source", "k8s-audit-webhook")}, nil
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
	if srv.TLSConfig != nil {
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else {
		w.log.Warn("serving the audit webhook without TLS", "addr", ln.Addr().String())
	}
	if len(w.opts.Tokens) == 0 && w.opts.ClientCAFile == "" {
		w.log.Warn("audit webhook requests are not authenticated (no tokens, no client CA)")
	}
	w.log.Info("audit webhook listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil)

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
// so emit needs no locking of its own.
func (w *Webhook) Handler(emit event.Emit) http.Handler {
	var mu sync.Mutex // serializes emit across concurrent requests
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "POST an audit.k8s.io/v1 EventList", http.StatusMethodNotAllowed)
			return
		}
		if !w.authorized(r) {
			w.log.Warn("rejected unauthenticated audit webhook request", "remote", r.RemoteAddr)
			rw.Header().Set("WWW-Authenticate", `Bearer realm="bulwark-audit"`)
			http.Error(rw, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.ContentLength > w.opts.MaxBodyBytes {
			w.tooLarge(rw, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.opts.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				w.tooLarge(rw, r)
				return
			}
			w.log.Warn("reading audit webhook body", "remote", r.RemoteAddr, "err", err)
			http.Error(rw, "reading body", http.StatusBadRequest)
			return
		}
		evs, res, err := ParseListDetail(body)
		if err != nil {
			w.malformed.Add(1)
			w.log.Warn("malformed audit webhook body", "remote", r.RemoteAddr, "bytes", len(body), "err", err)
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		for _, merr := range res.Malformed {
			w.log.Warn("malformed audit event in webhook batch", "remote", r.RemoteAddr, "err", merr)
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
		rw.WriteHeader(http.StatusOK)
	})
}

func (w *Webhook) tooLarge(rw http.ResponseWriter, r *http.Request) {
	w.dropped.Add(1)
	w.log.Warn("audit webhook body over the limit, batch dropped", "remote", r.RemoteAddr, "limit", w.opts.MaxBodyBytes)
	http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
}

// authorized accepts a configured bearer token or a verified client
// certificate; with neither configured, everything.
func (w *Webhook) authorized(r *http.Request) bool {
	if len(w.opts.Tokens) == 0 && w.opts.ClientCAFile == "" {
		return true
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	match := 0
	for _, t := range w.opts.Tokens {
		match |= subtle.ConstantTimeCompare([]byte(t), []byte(tok))
	}
	return match == 1
}
