package console_test

import (
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/console"
	"github.com/bulwarkdev/bulwark/internal/server"
)

var update = flag.Bool("update", false, "rewrite the golden pages")

// browser is a cookie-keeping client that does not follow redirects, so a
// test sees where each answer sends it.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	return &browser{t: t, base: base, c: &http.Client{Jar: &jar{m: map[string]*http.Cookie{}}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// jar keeps cookies by name and ignores their expiry: the server under test
// runs at a fixed time (for golden pages) while the real clock has moved on.
type jar struct{ m map[string]*http.Cookie }

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		if c.MaxAge < 0 || c.Value == "" {
			delete(j.m, c.Name)
		} else {
			j.m[c.Name] = c
		}
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.m {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the session's token from a page's form.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body, _ := b.do("GET", path, nil)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

func (b *browser) login(name, password string) {
	b.t.Helper()
	st, body, _ := b.do("POST", "/login", url.Values{"name": {name}, "password": {password}, "return_to": {"/"}})
	if st != http.StatusSeeOther {
		b.t.Fatalf("log in as %s: %d %s", name, st, body)
	}
}

func expect(t *testing.T, what string, gotStatus, wantStatus int, body string, contains ...string) {
	t.Helper()
	if gotStatus != wantStatus {
		t.Errorf("%s: status %d, want %d\n%s", what, gotStatus, wantStatus, body)
	}
	for _, c := range contains {
		if !strings.Contains(body, c) {
			t.Errorf("%s: no %q in the page", what, c)
		}
	}
}

// TestConsoleFlow drives the console over HTTP against the real server's
// handler: log-in and the first-run password change, every page, the
// exemption and triage forms with their CSRF and role checks, and escaping.
func TestConsoleFlow(t *testing.T) {
	f := newFixture(t, server.Options{})
	srv := httptest.NewServer(f.s.Handler())
	t.Cleanup(srv.Close)

	anon := newBrowser(t, srv.URL)
	st, _, h := anon.do("GET", "/alerts?status=active", nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/login?return_to="+url.QueryEscape("/alerts?status=active") {
		t.Errorf("anonymous: %d to %q", st, h.Get("Location"))
	}
	st, body, h := anon.do("GET", "/login", nil)
	expect(t, "log-in page", st, 200, body, `<label for="password">`)
	if h.Get("Content-Security-Policy") != console.CSP || !strings.Contains(console.CSP, "default-src 'none'") {
		t.Errorf("CSP: %q", h.Get("Content-Security-Policy"))
	}
	st, body, _ = anon.do("POST", "/login", url.Values{"name": {"admin"}, "password": {"wrong"}})
	expect(t, "wrong password", st, 401, body, "log-in failed")
	st, _, h = anon.do("POST", "/login", url.Values{"name": {"admin"}, "password": {"x"}, "return_to": {"//evil.example/"}})
	if st != 401 {
		t.Errorf("wrong password again: %d", st)
	}
	if st, _, _ := anon.do("GET", "/api/v1/healthz", nil); st != 404 {
		t.Errorf("API beside the console: /api/v1/healthz %d", st)
	}
	if st, _, _ := anon.do("GET", "/healthz", nil); st != 200 {
		t.Errorf("/healthz through the server's handler: %d", st)
	}

	// First run: the admin must replace the initial password before any page.
	admin := newBrowser(t, srv.URL)
	st, _, h = admin.do("POST", "/login", url.Values{"name": {"admin"}, "password": {f.initial}, "return_to": {"//evil.example/"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/password" {
		t.Fatalf("admin's first log-in: %d to %q", st, h.Get("Location"))
	}
	if st, _, h := admin.do("GET", "/", nil); st != http.StatusSeeOther || h.Get("Location") != "/password" {
		t.Errorf("dashboard before the change: %d to %q", st, h.Get("Location"))
	}
	tok := admin.csrf("/password")
	st, body, _ = admin.do("POST", "/password", url.Values{"csrf": {tok}, "current": {f.initial}, "new": {"another long passphrase"}, "confirm": {"another long passphrase!"}})
	expect(t, "mismatched confirmation", st, 400, body, "differ")
	st, _, h = admin.do("POST", "/password", url.Values{"csrf": {tok}, "current": {f.initial}, "new": {"another long passphrase"}, "confirm": {"another long passphrase"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/?done=password" {
		t.Fatalf("password change: %d to %q", st, h.Get("Location"))
	}
	st, body, _ = admin.do("GET", "/?done=password", nil)
	expect(t, "dashboard", st, 200, body, "Password changed.", "Top recommendations", "Privileged containers should be avoided", "<svg", "Secure score")

	// Every page renders; hostile strings only as text.
	ana := newBrowser(t, srv.URL)
	ana.login("ana", f.password)
	for _, p := range []string{"/", "/recommendations", "/recommendations?severity=medium&unhealthy=true&sort=title", "/recommendations/REC-PRIVILEGED",
		"/alerts", "/alerts?severity=high&status=active", "/alerts/" + f.alert, "/inventory", "/inventory?kind=workload&sort=-name",
		"/inventory/" + f.evl, "/inventory/" + f.image, "/inventory/c1"} {
		st, body, _ := ana.do("GET", p, nil)
		expect(t, p, st, 200, body, "<h1>")
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: unescaped %q in the page", p, bad)
			}
		}
	}
	_, body, _ = ana.do("GET", "/inventory/"+f.image, nil)
	expect(t, "image page", 200, 200, body, "CVE-2026-0001", "fixed in <code>1.1</code>", "registry.example/app:1.0", "pkg&lt;script&gt;alert(&#34;xss-pkg&#34;)&lt;/script&gt;",
		"Upgrades that fix the most", "No package inventory is stored for this image")
	_, body, _ = ana.do("GET", "/inventory/"+f.evl, nil)
	expect(t, "workload page", 200, 200, body, "Checks by section", `href="#sec-k8s-policy-pss">Pod Security Standards</a>`, "&#34;&gt;&lt;img src=x onerror=alert(&#34;xss-evidence&#34;)&gt;")
	_, body, _ = ana.do("GET", "/recommendations/REC-PRIVILEGED", nil)
	expect(t, "recommendation page", 200, 200, body, "&lt;script&gt;alert(&#34;xss-name&#34;)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(&#34;xss-evidence&#34;)&gt;", `action="/recommendations/REC-PRIVILEGED/exempt"`)
	_, body, _ = ana.do("GET", "/recommendations?unhealthy=true&severity=medium", nil)
	expect(t, "export links keep the filters", 200, 200, body, `href="/recommendations.csv?severity=medium&amp;unhealthy=true"`, `href="/api/v1/recommendations?severity=medium&amp;unhealthy=true"`)
	st, body, h = ana.do("GET", "/recommendations.csv?unhealthy=true", nil)
	if st != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || body != "id,title,severity,control,unhealthy,healthy,not-applicable,not-assessed,exempt\nREC-PRIVILEGED,Privileged containers should be avoided,medium,manage-access-and-permissions,2,0,0,0,0\n" {
		t.Errorf("CSV export: %d %q\n%s", st, h.Get("Content-Type"), body)
	}
	st, body, _ = ana.do("GET", "/recommendations/REC-NOPE", nil)
	expect(t, "unknown recommendation", st, 404, body, "no such recommendation")
	st, body, _ = ana.do("GET", "/inventory?severity=dire", nil)
	expect(t, "bad filter", st, 400, body, "bad query")

	// A reader sees no form, and a forged post is refused by the API.
	rita := newBrowser(t, srv.URL)
	rita.login("rita", f.password)
	_, body, _ = rita.do("GET", "/recommendations/REC-PRIVILEGED", nil)
	if strings.Contains(body, "/exempt") {
		t.Error("a reader is offered the exempt form")
	}
	if _, body, _ = rita.do("GET", "/alerts/"+f.alert, nil); strings.Contains(body, `value="dismissed"`) {
		t.Error("a reader is offered triage")
	}
	rtok := rita.csrf("/")
	st, body, _ = rita.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"csrf": {rtok}, "resource": {f.web}, "reason": {"r"}, "expires": {"30d"}})
	expect(t, "reader's exemption", st, 403, body, "forbidden")
	st, _, _ = rita.do("POST", "/alerts/"+f.alert+"/status", url.Values{"csrf": {rtok}, "status": {"dismissed"}, "comment": {"c"}})
	expect(t, "reader's dismissal", st, 403, "")

	// An ended session sends to the log-in page, and back after it.
	if err := f.s.Store.DeleteSessionsOf(t.Context(), "rita"); err != nil {
		t.Fatal(err)
	}
	if st, _, h := rita.do("GET", "/inventory?kind=image", nil); st != http.StatusSeeOther || h.Get("Location") != "/login?return_to="+url.QueryEscape("/inventory?kind=image") {
		t.Errorf("ended session: %d to %q", st, h.Get("Location"))
	}
	st, _, h = rita.do("POST", "/login", url.Values{"name": {"rita"}, "password": {f.password}, "return_to": {"/inventory?kind=image"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/inventory?kind=image" {
		t.Errorf("log in again: %d to %q", st, h.Get("Location"))
	}

	// The analyst exempts: without the CSRF token refused, with it the
	// resource moves to exempt once the posture is refreshed.
	atok := ana.csrf("/")
	st, body, _ = ana.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"resource": {f.web}, "reason": {"r"}, "expires": {"30d"}})
	expect(t, "exemption without CSRF", st, 403, body, "CSRF")
	st, body, _ = ana.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"csrf": {atok}, "resource": {f.web}, "reason": {""}, "expires": {"30d"}})
	expect(t, "exemption without a reason", st, 400, body, "The exemption was refused")
	st, _, h = ana.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"csrf": {atok}, "resource": {f.web}, "reason": {"runs the node agent"}, "expires": {"30d"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/recommendations/REC-PRIVILEGED?done=exempted" {
		t.Fatalf("exemption: %d to %q", st, h.Get("Location"))
	}
	if err := f.s.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, body, _ = ana.do("GET", "/recommendations/REC-PRIVILEGED?status=exempt", nil)
	if !regexp.MustCompile(`data-resource="` + regexp.QuoteMeta(f.web) + `">[^\n]*\n<td class="status status-exempt">exempt`).MatchString(body) {
		t.Errorf("the exempted resource is not listed as exempt:\n%s", body)
	}

	// Revoking the exemption brings the resource back.
	m := regexp.MustCompile(`name="exemption" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no revoke form on the exempt resource")
	}
	if st, _, _ := rita.do("POST", "/recommendations/REC-PRIVILEGED/revoke", url.Values{"csrf": {rita.csrf("/")}, "exemption": {m[1]}}); st != 403 {
		t.Errorf("a reader's revocation: %d, want 403", st)
	}
	st, _, h = ana.do("POST", "/recommendations/REC-PRIVILEGED/revoke", url.Values{"csrf": {atok}, "exemption": {m[1]}})
	if st != http.StatusSeeOther || h.Get("Location") != "/recommendations/REC-PRIVILEGED?done=revoked" {
		t.Fatalf("revoke: %d to %q", st, h.Get("Location"))
	}
	if err := f.s.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, body, _ = ana.do("GET", "/recommendations/REC-PRIVILEGED?status=unhealthy", nil)
	if !strings.Contains(body, `data-resource="`+f.web+`"`) {
		t.Error("after the revocation the resource is not unhealthy again")
	}
	if st, body, _ := ana.do("POST", "/recommendations/REC-PRIVILEGED/revoke", url.Values{"csrf": {atok}, "exemption": {m[1]}}); st != 404 {
		t.Errorf("revoke twice: %d\n%s", st, body)
	}

	// Triage: dismissing needs a comment; then reopen.
	st, body, _ = ana.do("POST", "/alerts/"+f.alert+"/status", url.Values{"csrf": {atok}, "status": {"dismissed"}})
	expect(t, "dismissal without comment", st, 400, body, "a dismissal needs a reason")
	st, _, h = ana.do("POST", "/alerts/"+f.alert+"/status", url.Values{"csrf": {atok}, "status": {"dismissed"}, "comment": {"expected: " + hostileName}})
	if st != http.StatusSeeOther {
		t.Fatalf("dismiss: %d", st)
	}
	_, body, _ = ana.do("GET", h.Get("Location"), nil)
	expect(t, "dismissed alert", 200, 200, body, "Alert dismissed.", `id="alert-status">dismissed`, "expected: &lt;script&gt;", `value="active">Reopen`)
	_, body, _ = ana.do("GET", "/alerts?status=dismissed", nil)
	expect(t, "dismissed filter", 200, 200, body, "/alerts/"+f.alert)

	// Log out: the session ends for the API too.
	st, _, h = ana.do("POST", "/logout", url.Values{"csrf": {atok}})
	if st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Errorf("log out: %d to %q", st, h.Get("Location"))
	}
	if st, _, _ := ana.do("GET", "/", nil); st != http.StatusSeeOther {
		t.Errorf("after log-out: %d", st)
	}
}

// TestGoldenPages pins the HTML of the recommendation page and the
// dashboard (charts included) for the fixture; -update rewrites them.
func TestGoldenPages(t *testing.T) {
	f := newFixture(t, server.Options{})
	srv := httptest.NewServer(f.s.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	b.login("ana", f.password)
	norm := func(s string) string {
		s = csrfRe.ReplaceAllString(s, `name="csrf" value="CSRF"`)
		return regexp.MustCompile(`<p class="hint">Vulnerability DB:[^\n]*`).ReplaceAllString(s, `<p class="hint">Vulnerability DB: (varies)</p>`)
	}
	for name, path := range map[string]string{"recommendation.html": "/recommendations/REC-PRIVILEGED", "dashboard.html": "/", "alert.html": "/alerts/" + f.alert} {
		st, body, _ := b.do("GET", path, nil)
		if st != 200 {
			t.Fatalf("%s: %d", path, st)
		}
		got := norm(body)
		file := filepath.Join("testdata", "golden", name)
		if *update {
			os.MkdirAll(filepath.Dir(file), 0o755) //nolint:errcheck
			if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", path, file, got)
		}
	}
}
