// Package client is the Go client of the server's /api/v1: the CLIs'
// --server, the agents and the tests all talk to the server through it, so
// the wire format has one implementation on each side.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/tlsconf"
)

// Options configure a client.
type Options struct {
	// CAFile adds a CA bundle to trust (a server with its own certificate).
	CAFile    string
	Timeout   time.Duration
	UserAgent string
	// Retries of a report POST on 429, 5xx and network errors (the server
	// stores the same report once, so a retry is safe). Default 3.
	Retries int
	// HTTPClient replaces the transport entirely (tests).
	HTTPClient *http.Client
}

// Client talks to one server.
type Client struct {
	base    *url.URL
	token   atomic.Pointer[string] // an agent's credential is replaced when rotated
	hc      *http.Client
	ua      string
	retries int
}

// New makes a client for server (https://host:port) with a token.
func New(server, token string, o Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want https://host[:port]", server)
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.UserAgent == "" {
		o.UserAgent = "bulwark-client"
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if o.CAFile != "" {
			cfg, err := tlsconf.Client(o.CAFile)
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig = cfg
		}
		hc = &http.Client{Transport: tr, Timeout: o.Timeout}
	}
	c := &Client{base: u, hc: hc, ua: o.UserAgent, retries: o.Retries}
	c.SetToken(token)
	return c, nil
}

// SetToken replaces the credential for the requests that follow.
func (c *Client) SetToken(token string) {
	t := strings.TrimSpace(token)
	c.token.Store(&t)
}

// Token is the credential in use.
func (c *Client) Token() string { return *c.token.Load() }

// URL is the server's base URL joined with path.
func (c *Client) URL(path string) string {
	u := *c.base
	u.Path += path
	return u.String()
}

// HTTPClient is the client's transport (with its CA), for other calls to
// the same trust.
func (c *Client) HTTPClient() *http.Client { return c.hc }

// TokenFrom resolves a token the way every command does: --token, else
// --token-file, else $BULWARK_TOKEN.
func TokenFrom(flag, file string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read token file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := os.Getenv("BULWARK_TOKEN"); t != "" {
		return t, nil
	}
	return "", errors.New("no token: give --token, --token-file or $BULWARK_TOKEN")
}

// Problem is an error the server answered with (RFC 9457).
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("server: %d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("server: %d %s", p.Status, p.Title)
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := *c.base
	u.Path += path
	if query != nil {
		u.RawQuery = query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if tok := c.Token(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		p := &Problem{Status: resp.StatusCode}
		if json.Unmarshal(data, p) != nil || p.Title == "" {
			p.Title = http.StatusText(resp.StatusCode)
		}
		p.Status = resp.StatusCode
		return p
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func retryable(err error) bool {
	var p *Problem
	if errors.As(err, &p) {
		return p.Status == http.StatusTooManyRequests || p.Status >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// IngestResult is the server's answer to a report.
type IngestResult struct {
	Kind     string             `json:"kind"`
	Resource string             `json:"resource"`
	Result   store.IngestResult `json:"result"`
	Summary  *model.Summary     `json:"summary,omitempty"`
	Report   *model.Report      `json:"report,omitempty"`
}

// PostReport sends a report (JSON as the capability wrote it); kind may be
// empty (the server detects it).
func (c *Client) PostReport(ctx context.Context, kind string, body []byte) (*IngestResult, error) {
	q := url.Values{}
	if kind != "" {
		q.Set("kind", kind)
	}
	var out IngestResult
	var err error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 500 * time.Millisecond):
			}
		}
		err = c.do(ctx, http.MethodPost, "/api/v1/reports", q, body, &out)
		if err == nil || !retryable(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PostJSON marshals v and sends it as a report.
func (c *Client) PostJSON(ctx context.Context, kind string, v any) (*IngestResult, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return c.PostReport(ctx, kind, b)
}

// Get reads any route into out.
func (c *Client) Get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

// Resources lists the inventory.
func (c *Client) Resources(ctx context.Context, query url.Values) (*store.Page[store.ResourceRow], error) {
	var p store.Page[store.ResourceRow]
	return &p, c.Get(ctx, "/api/v1/resources", query, &p)
}

// Resource reads one resource.
func (c *Client) Resource(ctx context.Context, id string) (*store.ResourceDetail, error) {
	var d store.ResourceDetail
	return &d, c.Get(ctx, "/api/v1/resources/"+escapeID(id), nil, &d)
}

// Findings lists findings.
func (c *Client) Findings(ctx context.Context, query url.Values) (*store.Page[store.FindingRow], error) {
	var p store.Page[store.FindingRow]
	return &p, c.Get(ctx, "/api/v1/findings", query, &p)
}

// Assessments lists assessments.
func (c *Client) Assessments(ctx context.Context, query url.Values) (*store.Page[store.AssessmentRow], error) {
	var p store.Page[store.AssessmentRow]
	return &p, c.Get(ctx, "/api/v1/assessments", query, &p)
}

// Alerts lists alerts.
func (c *Client) Alerts(ctx context.Context, query url.Values) (*store.Page[model.Alert], error) {
	var p store.Page[model.Alert]
	return &p, c.Get(ctx, "/api/v1/alerts", query, &p)
}

// WhereIs finds a vulnerability across the inventory.
func (c *Client) WhereIs(ctx context.Context, vuln string) (*store.Where, error) {
	var w store.Where
	return &w, c.Get(ctx, "/api/v1/vulnerabilities/"+url.PathEscape(vuln), nil, &w)
}

// escapeID escapes each segment of a resource id, keeping its slashes.
func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// PostJSONTo sends v as JSON to an API path and decodes the answer into
// out (exemptions, VEX documents).
func (c *Client) PostJSONTo(ctx context.Context, path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, nil, body, out)
}
