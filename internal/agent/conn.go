// Package agent runs Bulwark's engines continuously on a Docker host (and,
// later, a cluster or node) and reports to the server: it enrols for its
// own credential, rotates it before expiry, calls in with its health, and
// sends every report and alert through one bounded on-disk outbox, so a
// server outage loses nothing and a full outbox drops the oldest documents
// (counted), never blocking detection.
package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/atomicfile"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Options configure the connection of an agent to its server.
type Options struct {
	Server string
	CAFile string
	// Token is an enrolment token (scope enroll), used when StateDir holds
	// no credential yet; or, when it is not one, used as the credential
	// itself (a token made by hand with `token create`).
	Token string
	// StateDir keeps the credential (mode 0600) and the outbox.
	StateDir string
	// Kind and Name say what the agent is: docker + the host name.
	Kind, Name string
	Version    string
	// Heartbeat is how often the agent calls in (default 60s).
	Heartbeat time.Duration
	// MaxOutboxBytes bounds the outbox (default 256 MiB).
	MaxOutboxBytes int64
	// Timeout bounds one request to the server: a server that hangs
	// costs this much per attempt, then the agent retries (default 2m for
	// calls, 5m for a report).
	Timeout time.Duration
	Logger  *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// credential is what StateDir/credential.json holds.
type credential struct {
	AgentID   string    `json:"agent_id"`
	Token     string    `json:"token"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// EnrolledWith is the SHA-256 (hex) of the enrolment token this
	// credential came from: after a refusal only a different token enrols
	// again, so a revoked agent cannot undo its revocation with the
	// token it was deployed with.
	EnrolledWith string `json:"enrolled_with,omitempty"`
}

// Conn is an agent's link to the server: its credential, the outbox and
// the heartbeat. Its methods are safe for concurrent use.
type Conn struct {
	o      Options
	log    *slog.Logger
	cl     *client.Client
	outbox *alert.Webhook

	mu      sync.Mutex
	cred    credential
	sent    map[string][32]byte // last content hash queued per key
	skipped uint64              // documents not queued: unchanged
	lastErr string

	// refused: the server answered 401 to the credential (revoked,
	// expired or unknown) and nothing is sent until it is accepted again
	// or replaced; refusals, lastRefused, reEnrolled and reenrolTried
	// (guarded by mu) tell the health.
	refused      atomic.Bool
	refusals     int
	lastRefused  time.Time
	reEnrolled   int
	reenrolTried bool
}

const credentialFile = "credential.json"

// Connect loads the agent's credential from StateDir, or enrols with the
// enrolment token, and opens the outbox. It fails when neither a stored
// credential nor a token is given, or the enrolment is refused.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Minute
	}
	if o.MaxOutboxBytes <= 0 {
		o.MaxOutboxBytes = 256 << 20
	}
	if o.StateDir == "" {
		return nil, errors.New("agent: no state directory")
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the agent state directory: %w", err)
	}
	callTimeout, reportTimeout := 2*time.Minute, 5*time.Minute
	if o.Timeout > 0 {
		callTimeout, reportTimeout = o.Timeout, o.Timeout
	}
	cl, err := client.New(o.Server, "", client.Options{CAFile: o.CAFile, UserAgent: "bulwark-agent/" + o.Version, Timeout: callTimeout})
	if err != nil {
		return nil, err
	}
	c := &Conn{o: o, log: o.Logger.With("server", o.Server), cl: cl, sent: map[string][32]byte{}}
	// The outbox may call back (a 401) before c.outbox is set.
	outboxSet := make(chan struct{})
	if err := c.loadOrEnrol(ctx); err != nil {
		return nil, err
	}
	c.outbox, err = alert.NewWebhook(alert.WebhookOptions{
		URL: cl.URL("/api/v1/reports"), QueueDir: filepath.Join(o.StateDir, "outbox"), MaxQueueBytes: o.MaxOutboxBytes,
		CAFile: o.CAFile, Logger: o.Logger, Gzip: true, KeepUnauthorized: true, MaxBackoff: 30 * time.Second,
		// A cluster of thousands of objects is one report the server
		// stores in one transaction: seconds, not the alert default of 10s.
		Timeout:   reportTimeout,
		Authorize: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cl.Token()) },
		// A refused credential would be refused for every document: hold
		// them (on disk) instead of retrying, until it is replaced.
		OnUnauthorized: func(err error) { <-outboxSet; c.refuse(context.Background(), "report", err) },
	})
	close(outboxSet)
	if err != nil {
		return nil, fmt.Errorf("opening the agent outbox: %w", err)
	}
	return c, nil
}

func (c *Conn) loadOrEnrol(ctx context.Context) error {
	path := filepath.Join(c.o.StateDir, credentialFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &c.cred); err != nil || c.cred.Token == "" {
			return fmt.Errorf("reading the agent credential %s: damaged (remove it and enrol again)", path)
		}
		c.cl.SetToken(c.cred.Token)
		c.log.Info("agent credential loaded", "agent", c.cred.AgentID, "expires", c.cred.ExpiresAt)
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the agent credential: %w", err)
	}
	if c.o.Token == "" {
		return errors.New("agent: not enrolled and no --token: give an enrolment token (bulwark token create --scope enroll --expires 1h)")
	}
	c.cl.SetToken(c.o.Token)
	host, _ := os.Hostname()
	cr, err := c.cl.Enrol(ctx, client.Enrolment{Kind: c.o.Kind, Name: c.o.Name, Version: c.o.Version, Hostname: host,
		IntervalSeconds: int(c.o.Heartbeat / time.Second)})
	if err != nil {
		return err
	}
	if cr.Warning != "" {
		c.log.Warn("server on enrolment", "warning", cr.Warning)
	}
	c.log.Info("agent enrolled", "agent", cr.AgentID, "server_version", cr.ServerVersion, "expires", cr.ExpiresAt)
	return c.store(credential{AgentID: cr.AgentID, Token: cr.Token, IssuedAt: c.o.Now(), ExpiresAt: cr.ExpiresAt, EnrolledWith: tokenHash(c.o.Token)})
}

func tokenHash(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// refuse answers a 401: the credential is revoked, expired or unknown to
// the server. Sending stops (the outbox holds its documents on disk;
// detection goes on). When the agent was started with an enrolment token
// other than the one its credential came from (a restart with a new
// --token), it enrols again with it and sending resumes: the held outbox
// is delivered, each document once. Otherwise one line says what to do.
func (c *Conn) refuse(ctx context.Context, by string, err error) {
	if !c.refused.CompareAndSwap(false, true) {
		return
	}
	c.mu.Lock()
	c.refusals++
	c.lastRefused = c.o.Now()
	id := c.cred.AgentID
	c.mu.Unlock()
	if c.reenrol(ctx, err) {
		return
	}
	st := c.outbox.Stats()
	c.log.Error("server refuses the agent credential (revoked or unknown): sending stopped, detection goes on and reports and alerts are kept in the outbox; "+
		"to resume, restart the agent with a new enrolment token (bulwark token create --scope enroll --expires 1h, then --token)",
		"agent", id, "refused", by, "queued", st.Queued, "outbox", filepath.Join(c.o.StateDir, "outbox"), "err", err)
}

// reenrol enrols with Options.Token after a refusal, once per process,
// when that token is not the one the refused credential came from.
func (c *Conn) reenrol(ctx context.Context, why error) bool {
	c.mu.Lock()
	tried, same := c.reenrolTried, c.o.Token == "" || tokenHash(c.o.Token) == c.cred.EnrolledWith
	c.reenrolTried = true
	c.mu.Unlock()
	if tried || same {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cl, err := client.New(c.o.Server, c.o.Token, client.Options{CAFile: c.o.CAFile, UserAgent: "bulwark-agent/" + c.o.Version, Retries: -1})
	var cr *client.Credential
	if err == nil {
		host, _ := os.Hostname()
		cr, err = cl.Enrol(ctx, client.Enrolment{Kind: c.o.Kind, Name: c.o.Name, Version: c.o.Version, Hostname: host,
			IntervalSeconds: int(c.o.Heartbeat / time.Second)})
	}
	if err == nil {
		err = c.store(credential{AgentID: cr.AgentID, Token: cr.Token, IssuedAt: c.o.Now(), ExpiresAt: cr.ExpiresAt, EnrolledWith: tokenHash(c.o.Token)})
	}
	if err != nil {
		c.log.Error("the stored agent credential is refused and enrolling again with the given token failed", "refused", why, "err", err)
		return false
	}
	c.mu.Lock()
	c.reEnrolled++
	c.mu.Unlock()
	c.log.Info("the stored agent credential was refused (revoked or unknown); enrolled again with the given enrolment token: sending resumes",
		"agent", cr.AgentID, "queued", c.outbox.Stats().Queued, "refused", why)
	c.refused.Store(false)
	c.outbox.Resume()
	return true
}

// store keeps a credential on disk and in use.
func (c *Conn) store(cr credential) error {
	b, err := json.Marshal(cr)
	if err != nil {
		return err
	}
	err = atomicfile.Write(filepath.Join(c.o.StateDir, credentialFile), 0o600, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("storing the agent credential: %w", err)
	}
	c.mu.Lock()
	c.cred = cr
	c.mu.Unlock()
	c.cl.SetToken(cr.Token)
	return nil
}

// Client is the server client with the agent's credential.
func (c *Conn) Client() *client.Client { return c.cl }

// AgentID is the server's id of this agent.
func (c *Conn) AgentID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cred.AgentID
}

// Send queues a report unless the one last queued under key had the
// same content hash (times excluded by the caller's hash input): the
// server gets each change once. A report whose key is new since start is
// always sent (the resync of a restart).
func (c *Conn) Send(ctx context.Context, key string, hashInput any, doc []byte) error {
	h, err := contentHash(hashInput)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if old, ok := c.sent[key]; ok && old == h {
		c.skipped++
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if err := c.outbox.SendJSON(ctx, doc); err != nil {
		return err
	}
	c.mu.Lock()
	c.sent[key] = h
	c.mu.Unlock()
	return nil
}

// SendStream is Send for a large report: hash is its content hash (times
// excluded), and write encodes it straight into the compressed outbox
// record, so the report is never held uncompressed.
func (c *Conn) SendStream(ctx context.Context, key string, hash [32]byte, write func(io.Writer) error) error {
	c.mu.Lock()
	if old, ok := c.sent[key]; ok && old == hash {
		c.skipped++
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := write(zw); err != nil {
		return fmt.Errorf("encoding a report: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := c.outbox.SendGzipped(ctx, buf.Bytes()); err != nil {
		return err
	}
	c.mu.Lock()
	c.sent[key] = hash
	c.mu.Unlock()
	return nil
}

// StreamHash hashes v's JSON encoding without holding it.
func StreamHash(v any) ([32]byte, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(v); err != nil {
		return [32]byte{}, fmt.Errorf("hashing a report: %w", err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

// Sink is the alert output of the agent's run-time watch: alerts go
// through the same outbox as the reports.
func (c *Conn) Sink() alert.Sink { return sinkOnly{c.outbox} }

// sinkOnly lets the watch close its sink without closing the outbox the
// reports still use.
type sinkOnly struct{ w *alert.Webhook }

func (s sinkOnly) Send(ctx context.Context, a model.Alert) error { return s.w.Send(ctx, a) }
func (s sinkOnly) Close() error                                  { return nil }

// Close stops the outbox; what is undelivered stays on disk for the next
// start.
func (c *Conn) Close() error { return c.outbox.Close() }

// Health is what the agent tells the server of itself (each heartbeat)
// and keeps in StateDir/health.json for whoever is on the host: a refused
// credential cannot be told to the server.
type Health struct {
	Outbox    alert.WebhookStats `json:"outbox"`
	Unchanged uint64             `json:"unchanged"`
	LastError string             `json:"last_error,omitempty"`
	// Credential is "accepted", or "refused" while the server refuses it
	// (nothing is sent then); Refusals counts refusals since start,
	// ReEnrolled the enrolments with a new token that ended one.
	Credential  string         `json:"credential"`
	Refusals    int            `json:"refusals,omitempty"`
	LastRefused *time.Time     `json:"last_refused,omitempty"`
	ReEnrolled  int            `json:"re_enrolled,omitempty"`
	Extra       map[string]any `json:"extra,omitempty"`
}

// Health is the agent's health now (without Extra).
func (c *Conn) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := Health{Outbox: c.outbox.Stats(), Unchanged: c.skipped, LastError: c.lastErr, Credential: "accepted",
		Refusals: c.refusals, ReEnrolled: c.reEnrolled}
	if c.refused.Load() {
		h.Credential = "refused"
	}
	if !c.lastRefused.IsZero() {
		t := c.lastRefused
		h.LastRefused = &t
	}
	return h
}

const healthFile = "health.json"

// Run calls in every Heartbeat and rotates the credential once two
// thirds of its life are gone, until ctx ends. A refused credential is
// logged once (the outbox holds its documents until the agent is enrolled
// again, see refuse); nothing here stops detection.
func (c *Conn) Run(ctx context.Context, extra func() map[string]any) {
	t := time.NewTicker(c.o.Heartbeat)
	defer t.Stop()
	for {
		c.beat(ctx, extra)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Conn) beat(ctx context.Context, extra func() map[string]any) {
	h := c.Health()
	c.mu.Lock()
	cred := c.cred
	c.mu.Unlock()
	if extra != nil {
		h.Extra = extra()
	}
	hb, _ := json.Marshal(h)
	// Kept for the host's operator; a full disk only costs this copy.
	if err := atomicfile.Write(filepath.Join(c.o.StateDir, healthFile), 0o600, func(w io.Writer) error { _, err := w.Write(hb); return err }); err != nil {
		c.log.Debug("writing the agent health file", "err", err)
	}
	reply, err := c.cl.Heartbeat(ctx, client.Heartbeat{Version: c.o.Version, IntervalSeconds: int(c.o.Heartbeat / time.Second), Health: hb})
	if err != nil {
		var p *client.Problem
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &p) && p.Status == http.StatusUnauthorized:
			c.refuse(ctx, "heartbeat", err)
		case errors.As(err, &p) && p.Status == http.StatusUpgradeRequired:
			c.log.Error("server refuses this agent version: upgrade the agent", "version", c.o.Version, "err", err)
		default:
			c.log.Warn("heartbeat failed; server unreachable or failing, reports wait in the outbox", "err", err)
		}
		c.mu.Lock()
		c.lastErr = err.Error()
		c.mu.Unlock()
		return
	}
	if c.refused.Swap(false) {
		c.log.Info("server accepts the agent credential again: sending resumes", "agent", cred.AgentID)
	}
	c.outbox.Resume()
	c.mu.Lock()
	c.lastErr = ""
	c.mu.Unlock()
	if reply.Warning != "" {
		c.log.Warn("server on heartbeat", "warning", reply.Warning)
	}
	exp := cred.ExpiresAt
	if !reply.CredentialExpiresAt.IsZero() {
		exp = reply.CredentialExpiresAt
	}
	life := exp.Sub(cred.IssuedAt)
	if exp.IsZero() || life <= 0 || c.o.Now().Before(exp.Add(-life/3)) {
		return
	}
	nc, err := c.cl.Rotate(ctx)
	if err != nil {
		c.log.Error("rotating the agent credential failed; will retry at the next heartbeat", "expires", exp, "err", err)
		return
	}
	if err := c.store(credential{AgentID: nc.AgentID, Token: nc.Token, IssuedAt: c.o.Now(), ExpiresAt: nc.ExpiresAt, EnrolledWith: cred.EnrolledWith}); err != nil {
		c.log.Error("the rotated credential could not be stored: it is in use but lost at restart", "err", err)
		return
	}
	c.log.Info("agent credential rotated", "agent", nc.AgentID, "expires", nc.ExpiresAt)
}

func contentHash(v any) ([32]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return [32]byte{}, fmt.Errorf("hashing a report: %w", err)
	}
	return sha256.Sum256(b), nil
}

// OutboxStats are the outbox's counters: sent, queued, dropped (full).
func (c *Conn) OutboxStats() alert.WebhookStats { return c.outbox.Stats() }

// Refused says whether the server refuses the agent's credential
// (revoked, expired or unknown): nothing is sent, engines may stop
// queueing, until it is accepted again or replaced.
func (c *Conn) Refused() bool { return c.refused.Load() }

// Queue puts one document in the outbox, encoded by write straight into
// the compressed record (never held uncompressed), without a content
// hash: for messages whose content is already only what changed (the
// cluster agent's deltas).
func (c *Conn) Queue(ctx context.Context, write func(io.Writer) error) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := write(zw); err != nil {
		return fmt.Errorf("encoding a message: %w", err)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return c.outbox.SendGzipped(ctx, buf.Bytes())
}

// RemoteConfig follows one of the server's configuration documents
// ("policies", "runtime-exceptions") with the agent's credential, keeping
// the last good copy in the state directory (StateDir/config/NAME.json),
// so an agent that restarts while the server is unreachable starts from
// it. validate is the engine's parser.
func (c *Conn) RemoteConfig(name string, interval time.Duration, validate func([]byte) error) (*remoteconfig.Watcher, error) {
	dir := filepath.Join(c.o.StateDir, "config")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("config copy directory: %w", err)
	}
	return remoteconfig.New(remoteconfig.Options{Source: c.cl, Name: name, CacheFile: filepath.Join(dir, name+".json"),
		Interval: interval, Validate: validate, Logger: c.o.Logger})
}

// RuntimeExceptions follows the server's run-time alert exceptions (for
// watch.Config.Exceptions).
func (c *Conn) RuntimeExceptions(interval time.Duration) (*remoteconfig.Watcher, error) {
	return c.RemoteConfig("runtime-exceptions", interval, func(b []byte) error {
		_, err := runtime.ParseExceptions("server runtime-exceptions", b)
		return err
	})
}
