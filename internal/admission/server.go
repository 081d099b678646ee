package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure Serve.
type Options struct {
	Addr     string // default ":8443"
	CertFile string // PEM certificate chain, reloaded when it changes
	KeyFile  string // PEM private key, reloaded when it changes
	Handler  HandlerOptions
	// DrainDelay is how long the server goes on serving after ctx ends,
	// with /readyz failing and keep-alives off, so the endpoints and the
	// API server's connection pool move to other replicas before the
	// listener closes (default DefaultDrainDelay; negative: none).
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight reviews once the
	// listener is closed (default 10 s: more than the API server's
	// timeoutSeconds, so every review ends on its own deadline).
	ShutdownTimeout time.Duration
	// HTTP2 offers HTTP/2 in ALPN. Off by default, as controller-runtime
	// webhooks do since the HTTP/2 rapid-reset attacks (CVE-2023-44487):
	// the API server then keeps a pool of HTTP/1.1 connections (25 idle
	// per host in client-go), and a review costs less CPU without the
	// HTTP/2 stream machinery (bench/admission.sh).
	HTTP2 bool
}

// DefaultDrainDelay is Options.DrainDelay's default.
const DefaultDrainDelay = 5 * time.Second

// Paths served.
const (
	PathValidate = "/validate"
	PathHealthz  = "/healthz"
	PathReadyz   = "/readyz"
	PathMetrics  = "/metrics"
)

// Server is the webhook's HTTPS server.
type Server struct {
	opts    Options
	log     *slog.Logger
	certs   *certReloader
	handler *Handler
	metrics *Metrics
	ready   atomic.Bool
	mux     *http.ServeMux
}

// NewServer loads the certificate and builds the handler.
func NewServer(o Options) (*Server, error) {
	if o.Addr == "" {
		o.Addr = ":8443"
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	if o.DrainDelay == 0 {
		o.DrainDelay = DefaultDrainDelay
	}
	log := o.Handler.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	certs, err := newCertReloader(o.CertFile, o.KeyFile, log)
	if err != nil {
		return nil, err
	}
	m := o.Handler.Metrics
	if m == nil {
		m = NewMetrics()
		o.Handler.Metrics = m
	}
	h, err := NewHandler(o.Handler)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: log, certs: certs, handler: h, metrics: m, mux: http.NewServeMux()}
	s.mux.Handle(PathValidate, h)
	s.mux.Handle(PathMetrics, m)
	s.mux.HandleFunc(PathHealthz, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc(PathReadyz, func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return s, nil
}

// Handler is the server's routes (validate, health, readiness, metrics).
func (s *Server) Handler() http.Handler { return s.mux }

// TLSConfig serves the current certificate, re-read when its files change.
func (s *Server) TLSConfig() *tls.Config {
	protos := []string{"http/1.1"}
	if s.opts.HTTP2 {
		protos = []string{"h2", "http/1.1"}
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.GetCertificate, NextProtos: protos}
}

// Serve listens on o.Addr and serves until ctx ends, then shuts down
// gracefully (see ServeListener).
func Serve(ctx context.Context, o Options) error {
	s, err := NewServer(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("admission server: listen on %s: %w", s.opts.Addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln (closed on return) until ctx ends. Then
// (SIGTERM) it shuts down in three steps: /readyz fails at once; for
// DrainDelay it goes on serving, without keep-alives, so clients move to
// other replicas; then the listener closes and in-flight reviews finish,
// each on its own deadline (request contexts do not derive from ctx),
// within ShutdownTimeout. The handler's workers stop last.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	// Requests live in a context of their own: ctx ending must not cancel
	// the reviews in flight (they would be denied as timed out). It keeps
	// ctx's values and is cancelled once the server is down.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	defer s.handler.Close()
	// While draining, every response says Connection: close, so clients
	// (the API server's pool) reconnect, through the endpoints that no
	// longer list this replica, without a request lost on a closed
	// keep-alive connection.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			w.Header().Set("Connection", "close")
		}
		s.mux.ServeHTTP(w, r)
	})
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         s.TLSConfig(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	s.ready.Store(true)
	s.log.InfoContext(ctx, "admission webhook serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		s.ready.Store(false)
		return fmt.Errorf("admission server: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	if s.opts.DrainDelay > 0 {
		s.log.InfoContext(reqCtx, "admission webhook draining: not ready, still serving", "drain_delay", s.opts.DrainDelay)
		select {
		case <-time.After(s.opts.DrainDelay):
		case err := <-errc:
			return fmt.Errorf("admission server: %w", err)
		}
	}
	s.log.InfoContext(reqCtx, "admission webhook shutting down: waiting for reviews in flight", "timeout", s.opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(reqCtx, s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("admission server: shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admission server: %w", err)
	}
	s.log.InfoContext(reqCtx, "admission webhook stopped")
	return nil
}

// certReloader re-reads the key pair when either file's mtime or size
// changes; a pair that fails to load (half-written files) keeps the
// previous one in use until the next handshake retries.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("admission server: certificate and key files are required (the API server only calls webhooks over TLS)")
	}
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := c.reloadIfChanged(); err != nil {
		return nil, err
	}
	return c, nil
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// reloadIfChanged reports whether it loaded a new pair.
func (c *certReloader) reloadIfChanged() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := stamp(c.certFile)
	if err != nil {
		return false, fmt.Errorf("stat certificate: %w", err)
	}
	ks, err := stamp(c.keyFile)
	if err != nil {
		return false, fmt.Errorf("stat key: %w", err)
	}
	if c.cert != nil && cs == c.stamp[0] && ks == c.stamp[1] {
		return false, nil
	}
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return false, fmt.Errorf("load certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert = &pair
	c.stamp = [2]fileStamp{cs, ks}
	return true, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certReloader) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	loaded, err := c.reloadIfChanged()
	ctx := context.Background()
	if hello != nil {
		ctx = hello.Context()
	}
	switch {
	case err != nil:
		c.log.WarnContext(ctx, "certificate reload failed; serving the previous one", "err", err)
	case loaded:
		c.log.InfoContext(ctx, "certificate reloaded", "cert", c.certFile)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cert, nil
}
