// Package api serves the server's REST API under /api/v1: one route table
// (routes.go) that gives each route its handler, the scope it needs and its
// OpenAPI description, so the document, the authorization and the handlers
// cannot disagree. Handlers call the store, ingest and auth packages; none
// writes SQL.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Options configure the API.
type Options struct {
	Store   *store.Store
	Matcher ingest.Matcher
	Logger  *slog.Logger
	Now     func() time.Time
	Version string
	// SecureCookies marks session cookies Secure (the server runs TLS).
	SecureCookies bool
	// MaxBody bounds a request body (default 64 MiB: an SBOM of a large
	// image); MaxConcurrentIngest bounds reports processed at once.
	MaxBody             int64
	MaxConcurrentIngest int
	MaxConcurrent       int
	Limits              ingest.Limits
	SessionTTL          time.Duration
	// OIDC enables single sign-on (nil: password log-in only).
	OIDC *OIDCOptions
	// AgentCredentialTTL is how long an agent's credential lives before
	// it must be rotated (default 30 days).
	AgentCredentialTTL time.Duration
	// Status adds the server's own state (DB update) to /api/v1/status.
	Status func(ctx context.Context) map[string]any
	// Registries is the registry watch (nil: its routes answer 404).
	Registries Registries
	// Catalog is the recommendation catalogue (default: the built-in one).
	Catalog *recommend.Catalog
	// PostureChanged is told when an exemption or a VEX document changed
	// what the recommendations and verdicts are (the server refreshes them
	// at once rather than on its next tick).
	PostureChanged func()
	// Ingested sees every stored report and what it changed
	// (notifications).
	Ingested func(ctx context.Context, p *ingest.Prepared, res store.IngestResult)
}

// API is the HTTP handler of the server.
type API struct {
	o         Options
	mux       *http.ServeMux
	routes    []Route
	ingestSem chan struct{}
	sem       chan struct{}
	reg       *prometheus.Registry
	reqs      *prometheus.CounterVec
	dur       *prometheus.HistogramVec
	ingested  *prometheus.CounterVec
	loginMu   sync.Mutex
	loginIP   map[string]*rate.Limiter
	oidc      *oidcLogin
	// Counting a million findings takes a while: the counts are kept for
	// statsTTL (a per-replica cache of figures, not of state).
	statsMu  sync.Mutex
	statsAt  time.Time
	statsVal *store.Stats
	// Alerts per day over a window: counted off an index, but 100,000
	// alerts in 30 days are still 100,000 index entries; kept for statsTTL
	// per window asked.
	alertStatsMu  sync.Mutex
	alertStatsVal map[int]alertStatsEntry
}

const statsTTL = 15 * time.Second

func (a *API) stats(ctx context.Context) (*store.Stats, error) {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	if a.statsVal != nil && time.Since(a.statsAt) < statsTTL {
		return a.statsVal, nil
	}
	st, err := a.o.Store.Stats(ctx)
	if err != nil {
		return nil, err
	}
	a.statsVal, a.statsAt = st, time.Now()
	return st, nil
}

// New builds the API.
func New(o Options) *API {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 20
	}
	if o.MaxConcurrentIngest <= 0 {
		o.MaxConcurrentIngest = 4
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 128
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	a := &API{o: o, mux: http.NewServeMux(), ingestSem: make(chan struct{}, o.MaxConcurrentIngest),
		sem: make(chan struct{}, o.MaxConcurrent), reg: prometheus.NewRegistry(), loginIP: map[string]*rate.Limiter{}}
	a.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_http_requests_total", Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	a.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bulwark_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}}, []string{"route"})
	a.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_reports_ingested_total", Help: "Reports ingested by kind and outcome (stored, duplicate, refused)."}, []string{"kind", "outcome"})
	a.reg.MustRegister(a.reqs, a.dur, a.ingested, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if o.OIDC != nil {
		a.oidc = &oidcLogin{o: *o.OIDC}
	}
	if o.Catalog == nil {
		cat, err := recommend.Default()
		if err != nil {
			panic(err) // the built-in catalogue is tested: a broken one is a build error
		}
		a.o.Catalog = cat
	}
	a.routes = append(append(append(append(append(append(a.table(), a.postureRoutes()...), a.registryRoutes()...), a.consoleRoutes()...), a.imageRoutes()...), a.configRoutes()...), a.resourceRoutes()...)
	for _, rt := range a.routes {
		a.mux.Handle(rt.Method+" "+rt.Path, a.wrap(rt))
	}
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, r, http.StatusNotFound, "no such route", fmt.Sprintf("%s %s is not a route of this server (see /api/v1/openapi.json)", r.Method, r.URL.Path))
	})
	return a
}

// Routes returns the route table (for the authorization matrix test and
// the OpenAPI document).
func (a *API) Routes() []Route { return a.routes }

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Metrics is the Prometheus handler (behind the read scope).
func (a *API) metrics() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
}

type ctxKey int

const principalKey ctxKey = 0

func principalOf(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey).(*auth.Principal)
	return p
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(c int) {
	if s.code == 0 {
		s.code = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// wrap applies, in order: the concurrency limit, the body limit,
// authentication, CSRF for cookie sessions, the route's scope, metrics.
func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				a.o.Logger.Error("handler panicked", "route", rt.Path, "panic", p)
				if sw.code == 0 {
					problem(sw, r, http.StatusInternalServerError, "internal error", "the server failed on this request; it is logged")
				}
			}
			a.reqs.WithLabelValues(rt.Path, fmt.Sprint(sw.code)).Inc()
			a.dur.WithLabelValues(rt.Path).Observe(time.Since(start).Seconds())
		}()
		w = sw
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		select {
		case a.sem <- struct{}{}:
			defer func() { <-a.sem }()
		default:
			w.Header().Set("Retry-After", "1")
			problem(w, r, http.StatusServiceUnavailable, "too many requests in flight", "the server is at its concurrency limit; retry shortly")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.o.MaxBody)
		p, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark"`)
			problem(w, r, http.StatusUnauthorized, "unauthenticated", err.Error())
			return
		}
		if rt.Scope != auth.ScopeNone && p != nil && p.Kind == "user" && r.Method != http.MethodGet && r.Method != http.MethodHead && rt.Path != "/api/v1/login" {
			if got := r.Header.Get("X-CSRF-Token"); got == "" || !auth.SecretMatches(got, auth.HashSecret(p.CSRF)) {
				problem(w, r, http.StatusForbidden, "CSRF token missing or wrong", "send the session's CSRF token (from the log-in response or GET /api/v1/me) in the X-CSRF-Token header")
				return
			}
		}
		if err := auth.Allow(p, rt.Scope); err != nil && !(rt.Agents && a.isAgentCredential(r.Context(), p)) {
			if errors.Is(err, auth.ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark"`)
				problem(w, r, http.StatusUnauthorized, "unauthenticated", "this route needs a token (Authorization: Bearer …) or a session")
				return
			}
			problem(w, r, http.StatusForbidden, "forbidden", err.Error())
			return
		}
		if p != nil {
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		}
		rt.Handler(w, r)
	})
}

// SessionCookie names the session cookie.
const SessionCookie = "bulwark_session"

// authenticate finds the caller: a Bearer token, else a session cookie.
// No credentials is not an error (anonymous); bad ones are.
func (a *API) authenticate(r *http.Request) (*auth.Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errors.New("Authorization must be a Bearer token")
		}
		id, secret, ok := auth.ParseToken(tok)
		if !ok {
			return nil, errors.New("malformed token")
		}
		t, err := a.o.Store.Token(ctx, id)
		if err != nil || !auth.SecretMatches(secret, t.SecretHash) {
			return nil, errors.New("unknown token")
		}
		now := a.o.Now()
		switch {
		case !t.RevokedAt.IsZero():
			return nil, errors.New("token revoked")
		case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
			return nil, errors.New("token expired")
		}
		a.o.Store.TouchToken(ctx, id) //nolint:errcheck // last use is informative
		p := &auth.Principal{Kind: "token", Name: t.Name, ID: t.ID, Binding: t.Binding, BoundID: t.BoundID}
		for _, s := range t.Scopes {
			p.Scopes = append(p.Scopes, auth.Scope(s))
		}
		return p, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	se, err := a.o.Store.Session(ctx, auth.HashSecret(c.Value))
	if err != nil {
		return nil, errors.New("session expired or unknown: log in again")
	}
	u, err := a.o.Store.User(ctx, se.User)
	if err != nil || u.Disabled {
		return nil, errors.New("session's user no longer exists or is disabled")
	}
	role := auth.Role(u.Role)
	p := &auth.Principal{Kind: "user", Name: u.Name, Role: role, Scopes: auth.RoleScopes(role), CSRF: se.CSRF}
	// A user who must replace the initial password may do only that.
	if u.MustChange && r.URL.Path != "/api/v1/me/password" && r.URL.Path != "/api/v1/me" && r.URL.Path != "/api/v1/logout" {
		p.Scopes = nil
	}
	return p, nil
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

func problem(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Instance: r.URL.Path}) //nolint:errcheck
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v) //nolint:errcheck
}

// storeError maps store errors to problems.
func storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, r, http.StatusNotFound, what+" not found", "")
	case errors.Is(err, store.ErrBadQuery):
		problem(w, r, http.StatusBadRequest, "bad query", err.Error())
	case errors.Is(err, store.ErrConflict):
		problem(w, r, http.StatusConflict, what+" already exists", "")
	case errors.Is(err, context.Canceled):
		problem(w, r, 499, "client closed request", "")
	default:
		slog.Default()
		problem(w, r, http.StatusInternalServerError, "store error", "the store failed on this request; it is logged")
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// loginAllowed rate-limits log-in attempts per client address (5 a minute,
// bursts of 10); the per-user lockout lives in the store for all replicas.
func (a *API) loginAllowed(r *http.Request) bool {
	a.loginMu.Lock()
	defer a.loginMu.Unlock()
	ip := clientIP(r)
	l, ok := a.loginIP[ip]
	if !ok {
		if len(a.loginIP) > 10_000 {
			clear(a.loginIP) // bounded memory under a spray of addresses
		}
		l = rate.NewLimiter(rate.Every(12*time.Second), 10)
		a.loginIP[ip] = l
	}
	return l.Allow()
}
