// Package console serves the web console: server-rendered pages under /
// beside the API. Every page reads through the API's own handler in
// process (GET /api/v1/… with the caller's session cookie), and every form
// posts through it (with the session's CSRF token), so the console can show
// nothing and change nothing the API would not allow the same caller; the
// console adds only HTML, the form's CSRF check and the log-in flow.
package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/console.css
var css []byte

// CSP allows the console's own stylesheet and nothing else: no script at
// all, no inline style, no frames, forms only to this origin.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configure the console.
type Options struct {
	// API is the server's API handler: every read and change goes through it.
	API    http.Handler
	Logger *slog.Logger
	Now    func() time.Time
}

// Console is the web console's handler.
type Console struct {
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New builds the console.
func New(o Options) (*Console, error) {
	if o.API == nil {
		return nil, errors.New("console: no API handler")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{o: o, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n.Name() == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(pageFuncs).ParseFS(templateFS, "templates/layout.html", "templates/"+n.Name())
		if err != nil {
			return nil, fmt.Errorf("parse console template %s: %w", n.Name(), err)
		}
		c.pages[strings.TrimSuffix(n.Name(), ".html")] = t
	}
	c.routes()
	return c, nil
}

// ServeHTTP implements http.Handler with the console's security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10) // forms are small
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := c.mux
	m.HandleFunc("GET /static/console.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(css) //nolint:errcheck
	})
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.loginPost)
	m.HandleFunc("POST /logout", c.authed(c.logout))
	m.HandleFunc("GET /password", c.authed(c.passwordPage))
	m.HandleFunc("POST /password", c.authed(c.passwordPost))
	m.HandleFunc("GET /{$}", c.authed(c.dashboard))
	m.HandleFunc("GET /recommendations", c.authed(c.recommendations))
	m.HandleFunc("GET /recommendations.csv", c.authed(c.recommendationsCSV))
	m.HandleFunc("GET /recommendations/{id}", c.authed(c.recommendation))
	m.HandleFunc("POST /recommendations/{id}/exempt", c.authed(c.exempt))
	m.HandleFunc("POST /recommendations/{id}/revoke", c.authed(c.revoke))
	m.HandleFunc("GET /alerts", c.authed(c.alerts))
	m.HandleFunc("GET /alerts/{id}", c.authed(c.alert))
	m.HandleFunc("POST /alerts/{id}/status", c.authed(c.alertStatus))
	m.HandleFunc("GET /inventory", c.authed(c.inventory))
	m.HandleFunc("GET /inventory/{id...}", c.authed(c.resource))
	m.HandleFunc("GET /score", c.authed(c.scorePage))
	m.HandleFunc("GET /vulnerabilities", c.authed(c.vulnerabilities))
	m.HandleFunc("GET /vulnerabilities/{id}", c.authed(c.vulnerability))
	m.HandleFunc("POST /vulnerabilities/{id}/exempt", c.authed(c.vulnExempt))
	m.HandleFunc("POST /vulnerabilities/{id}/revoke", c.authed(c.vulnRevoke))
	c.settingsRoutes(m)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound, "No such page", r.URL.Path+" is not a page of the console.")
	})
}

// session is the caller as the API sees them.
type session struct {
	api.Me
	cookie *http.Cookie
}

func (s *session) can(scope string) bool {
	for _, x := range s.Scopes {
		if x == scope {
			return true
		}
	}
	return false
}

type ctxKey struct{}

func sessionOf(r *http.Request) *session { s, _ := r.Context().Value(ctxKey{}).(*session); return s }

// authed sends an anonymous (or expired) caller to the log-in page and back,
// and a user who must replace the initial password to /password. A form
// post must carry the session's CSRF token in the csrf field.
func (c *Console) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie(api.SessionCookie)
		if err != nil || ck.Value == "" {
			c.toLogin(w, r)
			return
		}
		s := &session{cookie: ck}
		if st, body := c.call(r, ck, "", "GET", "/api/v1/me", nil); st != http.StatusOK || json.Unmarshal(body, &s.Me) != nil || s.Kind != "user" {
			c.toLogin(w, r)
			return
		}
		if s.MustChange && r.URL.Path != "/password" && r.URL.Path != "/logout" {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				c.errorPage(w, r, s, http.StatusBadRequest, "Bad form", err.Error())
				return
			}
			if tok := r.PostForm.Get("csrf"); tok == "" || !auth.SecretMatches(tok, auth.HashSecret(s.CSRFToken)) {
				c.errorPage(w, r, s, http.StatusForbidden, "Form expired", "The form's CSRF token is missing or wrong: reload the page and send it again.")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	dest := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		dest = "/"
	}
	http.Redirect(w, r, "/login?return_to="+url.QueryEscape(dest), http.StatusSeeOther)
}

// call runs one API request in process as the caller (cookie, CSRF token
// for a change) and returns its status and body.
func (c *Console) call(r *http.Request, ck *http.Cookie, csrf, method, path string, body any) (int, []byte) {
	st, b, _ := c.callH(r, ck, csrf, method, path, body)
	return st, b
}

func (c *Console) callH(r *http.Request, ck *http.Cookie, csrf, method, path string, body any) (int, []byte, http.Header) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequestWithContext(r.Context(), method, path, rd)
	req.RemoteAddr = r.RemoteAddr // the log-in rate limit is per client
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ck != nil {
		req.AddCookie(ck)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	rec := httptest.NewRecorder()
	c.o.API.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes(), rec.Result().Header
}

// get reads an API route into v; a failure renders the error page and
// returns false.
func (c *Console) get(w http.ResponseWriter, r *http.Request, path string, v any) bool {
	s := sessionOf(r)
	st, body := c.call(r, s.cookie, "", "GET", path, nil)
	if st != http.StatusOK {
		c.apiError(w, r, st, body)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		c.o.Logger.Error("console: decode API answer", "path", path, "err", err)
		c.errorPage(w, r, s, http.StatusInternalServerError, "Internal error", "The console could not read the server's answer; it is logged.")
		return false
	}
	return true
}

// post sends a change through the API with the session's CSRF token.
func (c *Console) post(r *http.Request, method, path string, body any) (int, []byte) {
	s := sessionOf(r)
	return c.call(r, s.cookie, s.CSRFToken, method, path, body)
}

func problemText(body []byte) string {
	var p api.Problem
	if json.Unmarshal(body, &p) != nil || p.Title == "" {
		return strings.TrimSpace(string(body))
	}
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

func (c *Console) apiError(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	title := http.StatusText(status)
	if status == http.StatusUnauthorized {
		c.toLogin(w, r)
		return
	}
	c.errorPage(w, r, sessionOf(r), status, title, problemText(body))
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	S       *session
	Flash   string
	Error   string
	Data    any
	Now     time.Time
	Request *http.Request
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := c.pages[name]
	if t == nil {
		panic("console: no template " + name)
	}
	if p.S == nil {
		p.S = sessionOf(r)
	}
	p.Now, p.Request = c.o.Now(), r
	if p.Flash == "" {
		p.Flash = flashes[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		c.o.Logger.Error("console: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; it is logged", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck
}

// flashes are the messages a redirect after a change may ask for (a fixed
// set: a query parameter never puts text on a page).
var flashes = map[string]string{
	"exempted":  "Exemption created: the resource moves to exempt when the recommendations are refreshed (seconds).",
	"revoked":   "Exemption revoked: the resource comes back when the recommendations are refreshed (seconds).",
	"dismissed": "Alert dismissed.",
	"resolved":  "Alert resolved.",
	"active":    "Alert reopened.",
	"password":  "Password changed.",
	// Settings.
	"user-created":     "User created: they choose their own password at their first log-in.",
	"user-updated":     "User changed: their sessions ended.",
	"user-deleted":     "User deleted.",
	"token-revoked":    "Token revoked: it no longer works.",
	"registry-added":   "Registry added: its images are found by its crawls and notifications.",
	"registry-removed": "Registry removed: its images' stored results stay.",
	"crawl":            "Crawl queued: new and moved images are scanned as it finds them.",
	"exempted-vuln":    "Exemption created: the images' findings are matched again with it (seconds).",
	"revoked-vuln":     "Exemption revoked: the images' findings are matched again without it (seconds).",
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int, title, detail string) {
	c.render(w, r, status, "error", page{Title: title, S: s, Error: detail})
}
