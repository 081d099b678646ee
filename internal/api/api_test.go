package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

type env struct {
	srv    *httptest.Server
	st     *store.Store
	tokens map[string]string // principal name -> bearer token
	now    time.Time
}

// eachStore runs an API test over SQLite and a real PostgreSQL.
func eachStore(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			dsn := ""
			if b == "postgres" {
				dsn = testenv.Postgres(t)
			}
			f(t, newEnv(t, dsn))
		})
	}
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), tokens: map[string]string{}}
	st, err := store.Open(ctx, dsn, t.TempDir(), store.Options{Now: func() time.Time { return e.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	a := api.New(api.Options{Store: st, Now: func() time.Time { return e.now }})
	e.srv = httptest.NewServer(a)
	t.Cleanup(e.srv.Close)
	mk := func(name, scopes, expires, binding string) string {
		_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: name, Scopes: scopes, Expires: expires, Resource: binding}, "test", e.now)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	e.tokens["read"] = mk("read", "read", "", "")
	e.tokens["ingest"] = mk("ingest", "ingest", "", "")
	e.tokens["triage"] = mk("triage", "read,triage", "", "")
	e.tokens["admin"] = mk("admin", "admin,read", "", "")
	e.tokens["expired"] = mk("expired", "read,ingest,triage,admin", "1h", "")
	revoked := mk("revoked", "read,ingest,triage,admin", "", "")
	id, _, _ := auth.ParseToken(revoked)
	if err := st.RevokeToken(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.tokens["revoked"] = revoked
	e.tokens["bound"] = mk("bound", "ingest", "", "docker-host/node-a")
	e.tokens["wrong"] = "bwt_000000000000_" + strings.Repeat("A", 43)
	return e
}

func (e *env) do(t *testing.T, method, path, token string, body any, hdr map[string]string, cookies []*http.Cookie) *http.Response {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *env) login(t *testing.T, name, role string) ([]*http.Cookie, string) {
	t.Helper()
	h, _ := auth.HashPassword("correct horse battery")
	if err := e.st.CreateUser(context.Background(), store.User{Name: name, Role: role, PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	resp := e.do(t, "POST", "/api/v1/login", "", map[string]string{"name": name, "password": "correct horse battery"}, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("log-in %s: %d", name, resp.StatusCode)
	}
	var me api.Me
	json.NewDecoder(resp.Body).Decode(&me) //nolint:errcheck
	return resp.Cookies(), me.CSRFToken
}

// TestAuthorizationMatrix walks the OpenAPI document: every route must have
// a row here, and every row is checked for each kind of caller.
func TestAuthorizationMatrix(t *testing.T) { eachStore(t, authorizationMatrix) }

func authorizationMatrix(t *testing.T, e *env) {
	e.now = e.now.Add(2 * time.Hour) // the "expired" token is past its hour
	// The scope each route needs, by METHOD path as the OpenAPI names it.
	rows := map[string]auth.Scope{
		"GET /healthz": "", "GET /readyz": "", "GET /api/v1/openapi.json": "", "POST /api/v1/login": "", "GET /api/v1/me": "",
		"POST /api/v1/me/password": "", "GET /api/v1/oidc/login": "", "GET /api/v1/oidc/callback": "",
		"GET /metrics": auth.ScopeRead, "POST /api/v1/logout": auth.ScopeRead, "GET /api/v1/status": auth.ScopeRead,
		"POST /api/v1/reports":       auth.ScopeIngest,
		"POST /api/v1/agents/enroll": auth.ScopeEnroll, "POST /api/v1/agents/rotate": auth.ScopeIngest, "POST /api/v1/agents/heartbeat": auth.ScopeIngest, "GET /api/v1/agents": auth.ScopeRead,
		"GET /api/v1/resources": auth.ScopeRead, "GET /api/v1/resources/{id}": auth.ScopeRead, "GET /api/v1/findings": auth.ScopeRead,
		"GET /api/v1/vulnerabilities/{id}": auth.ScopeRead, "GET /api/v1/assessments": auth.ScopeRead, "GET /api/v1/alerts": auth.ScopeRead,
		"GET /api/v1/alerts/{id}": auth.ScopeRead, "POST /api/v1/alerts/{id}/status": auth.ScopeTriage,
		"GET /api/v1/users": auth.ScopeAdmin, "POST /api/v1/users": auth.ScopeAdmin, "PATCH /api/v1/users/{name}": auth.ScopeAdmin,
		"DELETE /api/v1/users/{name}": auth.ScopeAdmin, "GET /api/v1/tokens": auth.ScopeAdmin, "POST /api/v1/tokens": auth.ScopeAdmin,
		"DELETE /api/v1/tokens/{id}": auth.ScopeAdmin, "GET /api/v1/audit-log": auth.ScopeAdmin,
		"GET /api/v1/registries": auth.ScopeRead, "POST /api/v1/registries": auth.ScopeAdmin, "GET /api/v1/registries/{name}": auth.ScopeRead,
		"DELETE /api/v1/registries/{name}": auth.ScopeAdmin, "POST /api/v1/registries/{name}/events": auth.ScopeIngest,
		"POST /api/v1/registries/{name}/crawl": auth.ScopeAdmin, "GET /api/v1/registries/{name}/images": auth.ScopeRead,
		"GET /api/v1/catalog": auth.ScopeRead, "GET /api/v1/recommendations": auth.ScopeRead, "GET /api/v1/recommendations/{id}": auth.ScopeRead,
		"GET /api/v1/recommendations/{id}/resources": auth.ScopeRead, "GET /api/v1/score": auth.ScopeRead, "GET /api/v1/score/history": auth.ScopeRead,
		"GET /api/v1/exemptions": auth.ScopeRead, "POST /api/v1/exemptions": auth.ScopeTriage, "DELETE /api/v1/exemptions/{id}": auth.ScopeTriage,
		"GET /api/v1/vex": auth.ScopeRead, "POST /api/v1/vex": auth.ScopeTriage, "GET /api/v1/history": auth.ScopeRead,
		"GET /api/v1/images/{id}/layers": auth.ScopeRead, "GET /api/v1/images/{id}/packages": auth.ScopeRead, "GET /api/v1/images/{id}/upgrades": auth.ScopeRead,
		"GET /api/v1/assessments/sections": auth.ScopeRead,
		"GET /api/v1/vulnerabilities":      auth.ScopeRead, "GET /api/v1/alerts/stats": auth.ScopeRead, "GET /api/v1/login/methods": "",
		"GET /api/v1/images/verdict": auth.ScopeRead, "POST /api/v1/images/verdicts": auth.ScopeRead,
		"GET /api/v1/config/policies": auth.ScopeRead, "PUT /api/v1/config/policies": auth.ScopeAdmin,
		"GET /api/v1/config/runtime-exceptions": auth.ScopeRead, "PUT /api/v1/config/runtime-exceptions": auth.ScopeAdmin,
	}
	resp := e.do(t, "GET", "/api/v1/openapi.json", "", nil, nil, nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for p, item := range doc.Paths {
		for m := range item {
			ops = append(ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(ops)
	if len(ops) != len(rows) {
		t.Errorf("the document has %d operations, the matrix %d rows", len(ops), len(rows))
	}
	readerCookies, readerCSRF := e.login(t, "rita", "reader")
	analystCookies, analystCSRF := e.login(t, "anna", "analyst")
	adminCookies, adminCSRF := e.login(t, "ada", "admin")
	for _, op := range ops {
		need, ok := rows[op]
		if !ok {
			t.Errorf("%s: no row in the authorization matrix", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{id}", "x", "{name}", "nobody").Replace(path)
		type caller struct {
			name    string
			token   string
			cookies []*http.Cookie
			csrf    string
			scopes  []auth.Scope
			bad     bool // bad credentials: 401 on every route but the anonymous ones
		}
		callers := []caller{
			{name: "anonymous"},
			{name: "wrong token", token: e.tokens["wrong"], bad: true},
			{name: "expired token", token: e.tokens["expired"], bad: true},
			{name: "revoked token", token: e.tokens["revoked"], bad: true},
			{name: "read token", token: e.tokens["read"], scopes: []auth.Scope{auth.ScopeRead}},
			{name: "ingest token", token: e.tokens["ingest"], scopes: []auth.Scope{auth.ScopeIngest}},
			{name: "triage token", token: e.tokens["triage"], scopes: []auth.Scope{auth.ScopeRead, auth.ScopeTriage}},
			{name: "admin token", token: e.tokens["admin"], scopes: []auth.Scope{auth.ScopeAdmin, auth.ScopeRead}},
			{name: "reader session", cookies: readerCookies, csrf: readerCSRF, scopes: auth.RoleScopes(auth.RoleReader)},
			{name: "analyst session", cookies: analystCookies, csrf: analystCSRF, scopes: auth.RoleScopes(auth.RoleAnalyst)},
			{name: "admin session", cookies: adminCookies, csrf: adminCSRF, scopes: auth.RoleScopes(auth.RoleAdmin)},
		}
		for _, c := range callers {
			if path == "/api/v1/logout" || op == "POST /api/v1/login" || op == "POST /api/v1/me/password" {
				continue // change the caller's own session; covered in TestSessions
			}
			hdr := map[string]string{}
			if c.csrf != "" {
				hdr["X-CSRF-Token"] = c.csrf
			}
			var body any
			if method == "POST" || method == "PATCH" || method == "PUT" {
				body = map[string]string{}
			}
			got := e.do(t, method, path, c.token, body, hdr, c.cookies).StatusCode
			allowed := need == "" || (!c.bad && hasScope(c.scopes, need))
			switch {
			case c.bad && need != "" && got != 401:
				t.Errorf("%s as %s = %d, want 401", op, c.name, got)
			case !allowed && !c.bad && c.token == "" && c.cookies == nil && got != 401:
				t.Errorf("%s as %s = %d, want 401", op, c.name, got)
			case !allowed && !c.bad && (c.token != "" || c.cookies != nil) && got != 403:
				t.Errorf("%s as %s = %d, want 403", op, c.name, got)
			case allowed && (got == 401 || got == 403) && !(op == "GET /api/v1/me" && (c.bad || c.name == "anonymous")):
				if c.bad && need == "" {
					continue // bad credentials on an anonymous route are still refused
				}
				t.Errorf("%s as %s = %d, want it allowed", op, c.name, got)
			}
		}
	}
}

func hasScope(have []auth.Scope, need auth.Scope) bool {
	for _, s := range have {
		if s == need {
			return true
		}
	}
	return false
}

// TestSessions: CSRF, the initial-password gate, lockout, log-out.
func TestSessions(t *testing.T) { eachStore(t, sessions) }

func sessions(t *testing.T, e *env) {
	cookies, csrf := e.login(t, "ada", "admin")
	// Without the CSRF header a cookie session cannot change anything.
	if got := e.do(t, "POST", "/api/v1/tokens", "", map[string]string{"name": "x", "scopes": "read"}, nil, cookies).StatusCode; got != 403 {
		t.Errorf("POST without CSRF = %d, want 403", got)
	}
	resp := e.do(t, "POST", "/api/v1/tokens", "", map[string]string{"name": "x", "scopes": "read"}, map[string]string{"X-CSRF-Token": csrf}, cookies)
	if resp.StatusCode != 201 {
		t.Fatalf("POST with CSRF = %d", resp.StatusCode)
	}
	var created struct {
		Token string      `json:"token"`
		Info  store.Token `json:"info"`
	}
	json.NewDecoder(resp.Body).Decode(&created) //nolint:errcheck
	if !strings.HasPrefix(created.Token, "bwt_") || created.Info.SecretHash != "" {
		t.Errorf("created token = %+v", created)
	}
	if got := e.do(t, "GET", "/api/v1/status", created.Token, nil, nil, nil).StatusCode; got != 200 {
		t.Errorf("the new token reads: %d", got)
	}
	// The audit trail names who did it.
	resp = e.do(t, "GET", "/api/v1/audit-log", e.tokens["admin"], nil, nil, nil)
	var log struct{ Items []store.AuditEntry }
	json.NewDecoder(resp.Body).Decode(&log) //nolint:errcheck
	if len(log.Items) == 0 || log.Items[0].Actor != "user:ada" || log.Items[0].Action != "token.create" {
		t.Errorf("audit log = %+v", log.Items)
	}
	// A user who must change the password may do nothing else.
	h, _ := auth.HashPassword("initial password!")
	e.st.CreateUser(context.Background(), store.User{Name: "new", Role: "admin", PasswordHash: h, MustChange: true}) //nolint:errcheck
	resp = e.do(t, "POST", "/api/v1/login", "", map[string]string{"name": "new", "password": "initial password!"}, nil, nil)
	var me api.Me
	json.NewDecoder(resp.Body).Decode(&me) //nolint:errcheck
	nc := resp.Cookies()
	if !me.MustChange {
		t.Errorf("log-in did not say the password must change: %+v", me)
	}
	if got := e.do(t, "GET", "/api/v1/resources", "", nil, nil, nc).StatusCode; got != 403 {
		t.Errorf("before replacing the initial password: %d, want 403", got)
	}
	if got := e.do(t, "POST", "/api/v1/me/password", "", map[string]string{"current": "initial password!", "new": "short"}, map[string]string{"X-CSRF-Token": me.CSRFToken}, nc).StatusCode; got != 400 {
		t.Errorf("short password = %d, want 400", got)
	}
	if got := e.do(t, "POST", "/api/v1/me/password", "", map[string]string{"current": "initial password!", "new": "a much better passphrase"}, map[string]string{"X-CSRF-Token": me.CSRFToken}, nc).StatusCode; got != 204 {
		t.Errorf("password change = %d, want 204", got)
	}
	if got := e.do(t, "GET", "/api/v1/resources", "", nil, nil, nc).StatusCode; got != 200 {
		t.Errorf("after replacing the password: %d, want 200", got)
	}
	// Five wrong passwords lock the account, even for the right one.
	for range 5 {
		e.do(t, "POST", "/api/v1/login", "", map[string]string{"name": "new", "password": "wrong wrong wrong"}, nil, nil)
	}
	if got := e.do(t, "POST", "/api/v1/login", "", map[string]string{"name": "new", "password": "a much better passphrase"}, nil, nil).StatusCode; got != 401 && got != 429 {
		t.Errorf("log-in while locked = %d, want 401", got)
	}
	// Log-out ends the session.
	e.do(t, "POST", "/api/v1/logout", "", nil, map[string]string{"X-CSRF-Token": csrf}, cookies)
	if got := e.do(t, "GET", "/api/v1/status", "", nil, nil, cookies).StatusCode; got != 401 {
		t.Errorf("after log-out = %d, want 401", got)
	}
}

// TestIngestRefusals: bad reports get a problem and store nothing; a bound
// token writes only for its host.
func TestIngestRefusals(t *testing.T) { eachStore(t, ingestRefusals) }

func ingestRefusals(t *testing.T, e *env) {
	post := func(token, body string) (int, api.Problem) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/reports", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p api.Problem
		json.NewDecoder(resp.Body).Decode(&p) //nolint:errcheck
		return resp.StatusCode, p
	}
	bench := func(id, name string) string {
		return `{"schema_version":"1","benchmark":"CIS Docker Benchmark v1.6.0","generated_at":"2026-12-01T00:00:00Z","host":{"id":"` + id + `","name":"` + name +
			`","images":1,"containers":0,"containers_running":0},"score":{},"results":[],"assessments":[{"rule":"CIS-DOCKER-2.1","status":"unhealthy","severity":"high","observed_at":"2026-12-01T00:00:00Z"}],"containers":[],"images":[]}`
	}
	cases := []struct {
		name, token, body string
		want              int
	}{
		{"not JSON", "ingest", "{", 422},
		{"empty", "ingest", "", 422},
		{"unknown document", "ingest", `{"hello":"world"}`, 422},
		{"wrong schema major", "ingest", `{"schema_version":"2","image":{"source":"registry","digest":"sha256:` + strings.Repeat("a", 64) + `"},"packages":[]}`, 422},
		{"image without digest", "ingest", `{"schema_version":"1","image":{"source":"tarball"},"packages":[]}`, 422},
		{"image with a forged resource id", "ingest", `{"schema_version":"1","resource":{"kind":"image","id":"sha256:` + strings.Repeat("b", 64) + `"},"image":{"source":"registry","digest":"sha256:` + strings.Repeat("a", 64) + `"},"packages":[]}`, 422},
		{"trailing data", "ingest", `{"schema_version":"1","type":"X","id":"a","first_seen":"2026-12-01T00:00:00Z","resource":{"kind":"host","id":"h"}} {}`, 422},
		{"alert without id", "ingest", `{"schema_version":"1","type":"X","first_seen":"2026-12-01T00:00:00Z","resource":{"kind":"host","id":"h"}}`, 422},
		{"bound token, other host", "bound", bench("ENGINE-B", "node-b"), 403},
		{"bound token, its host", "bound", bench("ENGINE-A", "node-a"), 201},
		{"bound token, pinned, same name other id", "bound", bench("ENGINE-C", "node-a"), 403},
		{"read token", "read", bench("ENGINE-A", "node-a"), 403},
	}
	for _, c := range cases {
		got, p := post(e.tokens[c.token], c.body)
		if got != c.want {
			t.Errorf("%s: %d %+v, want %d", c.name, got, p, c.want)
		}
		if got >= 400 && (p.Title == "" || p.Status != got) {
			t.Errorf("%s: problem document = %+v", c.name, p)
		}
	}
	st, _ := e.st.Stats(context.Background())
	if st.Resources["docker-host"] != 1 || len(st.Resources) != 1 {
		t.Errorf("stored after refusals: %+v, want only the bound host", st.Resources)
	}
	// Oversized bodies are refused before they are read whole.
	a := api.New(api.Options{Store: e.st, MaxBody: 1024})
	big := httptest.NewServer(a)
	defer big.Close()
	req, _ := http.NewRequest("POST", big.URL+"/api/v1/reports", strings.NewReader(`{"x":"`+strings.Repeat("a", 4096)+`"}`))
	req.Header.Set("Authorization", "Bearer "+e.tokens["ingest"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("oversized report = %d, want 413", resp.StatusCode)
	}
}

// TestAlertTriage: an analyst dismisses (with a reason), the history and
// the audit log say who and when, a later document of the same alert keeps
// it dismissed, and reopening makes it active again; a reader cannot.
func TestAlertTriage(t *testing.T) { eachStore(t, alertTriage) }

func alertTriage(t *testing.T, e *env) {
	ctx := context.Background()
	first := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	alert := `{"schema_version":"1","id":"a1","type":"K8S_PrivilegedContainer","title":"t","severity":"high","count":%d,` +
		`"first_seen":"2026-12-01T10:00:00Z","last_seen":"%s","resource":{"kind":"workload","id":"uid/ns/Pod/p"},"status":"active"}`
	post := func(count int, last time.Time) {
		t.Helper()
		body := strings.NewReader(fmt.Sprintf(alert, count, last.Format(time.RFC3339)))
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/reports", body)
		req.Header.Set("Authorization", "Bearer "+e.tokens["ingest"])
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode/100 != 2 {
			t.Fatalf("post alert: %v %v", r.StatusCode, err)
		}
		r.Body.Close()
	}
	post(1, first)
	readerCookies, readerCSRF := e.login(t, "rita", "reader")
	analystCookies, analystCSRF := e.login(t, "anna", "analyst")
	set := func(cookies []*http.Cookie, csrf, status, comment string) (int, api.AlertDetail) {
		resp := e.do(t, "POST", "/api/v1/alerts/a1/status", "", map[string]string{"status": status, "comment": comment}, map[string]string{"X-CSRF-Token": csrf}, cookies)
		var d api.AlertDetail
		json.NewDecoder(resp.Body).Decode(&d) //nolint:errcheck
		return resp.StatusCode, d
	}
	if code, _ := set(readerCookies, readerCSRF, "dismissed", "noise"); code != 403 {
		t.Errorf("reader dismisses: %d, want 403", code)
	}
	if code, _ := set(analystCookies, analystCSRF, "dismissed", ""); code != 400 {
		t.Errorf("dismiss without a reason: %d, want 400", code)
	}
	code, d := set(analystCookies, analystCSRF, "dismissed", "expected: the CNI runs privileged")
	if code != 200 || d.Status != "dismissed" || len(d.History) != 1 || d.History[0].Actor != "user:anna" || d.History[0].Previous != "active" {
		t.Fatalf("dismiss = %d %+v", code, d)
	}
	if code, _ := set(analystCookies, analystCSRF, "dismissed", "again"); code != 409 {
		t.Errorf("dismissing twice: %d, want 409", code)
	}
	// The window's closing document (same id, higher count) keeps it dismissed.
	post(7, first.Add(5*time.Minute))
	al, err := e.st.Alert(ctx, "a1")
	if err != nil || al.Status != "dismissed" || al.Count != 7 {
		t.Errorf("after a later document: %+v, %v", al, err)
	}
	code, d = set(analystCookies, analystCSRF, "active", "seen again on a new node")
	if code != 200 || d.Status != "active" || len(d.History) != 2 {
		t.Errorf("reopen = %d %+v", code, d)
	}
	log, _ := e.st.AuditLog(ctx, 10)
	if len(log) < 2 || log[0].Action != "alert.active" || log[1].Action != "alert.dismissed" || log[0].Actor != "user:anna" {
		t.Errorf("audit log = %+v", log)
	}
	p, _ := e.st.ListAlerts(ctx, store.AlertQuery{Status: "active"})
	if len(p.Items) != 1 {
		t.Errorf("active alerts = %d, want 1", len(p.Items))
	}
}
