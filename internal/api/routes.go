package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Route is one route: its handler, the scope it needs, and what the
// OpenAPI document says of it.
type Route struct {
	Method  string
	Path    string
	Scope   auth.Scope
	Summary string
	Tag     string
	Params  []Param
	Body    string // schema name of the request body, if any
	Result  string // schema name of the 2xx body
	Status  int    // 2xx status (default 200)
	Handler http.HandlerFunc
	// Agents: an agent's own credential (scope ingest, issued at
	// enrolment) may call the route too, though it lacks Scope. The
	// engines' configuration and the image verdicts are what the agents
	// run with; the rest of what the read scope opens stays closed to them.
	Agents bool
}

// Param is a query or path parameter.
type Param struct {
	Name string
	In   string // query | path
	Desc string
	Enum []string
}

func q(name, desc string, enum ...string) Param {
	return Param{Name: name, In: "query", Desc: desc, Enum: enum}
}

var listParams = []Param{q("sort", "sort key; prefix - for descending"), q("limit", "page size (1-500, default 50)"), q("cursor", "the `next` of the previous page")}

func withList(p ...Param) []Param { return append(p, listParams...) }

func (a *API) table() []Route {
	sev := []string{"critical", "high", "medium", "low", "info"}
	return []Route{
		{Method: "GET", Path: "/healthz", Scope: auth.ScopeNone, Tag: "health", Summary: "The process is up.", Result: "Text", Handler: a.healthz},
		{Method: "GET", Path: "/readyz", Scope: auth.ScopeNone, Tag: "health", Summary: "The store answers (a server without a vulnerability DB is still ready; /api/v1/status says why).", Result: "Text", Handler: a.readyz},
		{Method: "GET", Path: "/api/v1/openapi.json", Scope: auth.ScopeNone, Tag: "meta", Summary: "This document.", Result: "Object", Handler: a.openapi},
		{Method: "GET", Path: "/metrics", Scope: auth.ScopeRead, Tag: "meta", Summary: "Prometheus metrics.", Result: "Text", Handler: func(w http.ResponseWriter, r *http.Request) { a.metrics().ServeHTTP(w, r) }},
		{Method: "POST", Path: "/api/v1/login", Scope: auth.ScopeNone, Tag: "access", Summary: "Log in with a name and password; sets the session cookie and returns the CSRF token.", Body: "Login", Result: "Me", Handler: a.login},
		{Method: "GET", Path: "/api/v1/oidc/login", Scope: auth.ScopeNone, Tag: "access", Summary: "Single sign-on: redirects to the OIDC provider (authorization code with PKCE).",
			Params: []Param{q("return_to", "path to land on after the log-in")}, Status: 302, Handler: a.oidcStart},
		{Method: "GET", Path: "/api/v1/oidc/callback", Scope: auth.ScopeNone, Tag: "access", Summary: "The OIDC provider's redirect back: verifies the ID token, starts a session.",
			Params: []Param{q("code", "authorization code"), q("state", "log-in state")}, Status: 302, Handler: a.oidcCallback},
		{Method: "POST", Path: "/api/v1/logout", Scope: auth.ScopeRead, Tag: "access", Summary: "End the session.", Status: 204, Handler: a.logout},
		{Method: "GET", Path: "/api/v1/me", Scope: auth.ScopeNone, Tag: "access", Summary: "Who the caller is (401 when anonymous).", Result: "Me", Handler: a.me},
		{Method: "POST", Path: "/api/v1/me/password", Scope: auth.ScopeNone, Tag: "access", Summary: "Change the caller's password (a user who must replace the initial one may do only this).", Body: "PasswordChange", Status: 204, Handler: a.changePassword},
		{Method: "GET", Path: "/api/v1/status", Scope: auth.ScopeRead, Tag: "meta", Summary: "Server, store and vulnerability DB state, with counts.", Result: "Object", Handler: a.status},
		{Method: "POST", Path: "/api/v1/reports", Scope: auth.ScopeIngest, Tag: "ingest", Summary: "Store a report as a capability writes it: image report or SBOM (matched by the server), CIS Docker report, Kubernetes policy report, the cluster agent's delta, alerts.",
			Params: []Param{q("kind", "report kind (detected when absent)", "image", "sbom", "docker-bench", "k8s-policy", "k8s-bench", "k8s-delta", "alerts")}, Body: "Report", Result: "IngestResult", Status: 201, Handler: a.postReport},
		{Method: "GET", Path: "/api/v1/resources", Scope: auth.ScopeRead, Tag: "inventory", Summary: "The inventory: registries, repositories, images, Docker hosts, containers, clusters, namespaces, workloads.",
			Params: withList(q("kind", "resource kind"), q("parent", "parent resource id"), q("name", "exact name, or a prefix ending in *"), q("health", "verdict", "healthy", "unhealthy", "not-assessed"),
				q("severity", "worst unhealthy result at least", sev...), q("label", "key=value")), Result: "ResourcePage", Handler: a.listResources},
		{Method: "GET", Path: "/api/v1/resources/{id...}", Scope: auth.ScopeRead, Tag: "inventory", Summary: "One resource with its references, children, the images it runs and, for an image, what runs it.",
			Params: []Param{{Name: "id", In: "path", Desc: "resource id (slashes kept)"}}, Result: "ResourceDetail", Handler: a.getResource},
		{Method: "GET", Path: "/api/v1/findings", Scope: auth.ScopeRead, Tag: "vulnerabilities", Summary: "Vulnerability findings of images.",
			Params: withList(q("resource", "image id"), q("vulnerability", "advisory id"), q("package", "package name"), q("severity", "at least", sev...), q("kev", "known exploited only (true)"), q("fixable", "with a fix only (true)")),
			Result: "FindingPage", Handler: a.listFindings},
		{Method: "GET", Path: "/api/v1/vulnerabilities/{id}", Scope: auth.ScopeRead, Tag: "vulnerabilities", Summary: "Where is this vulnerability: the images, the containers and workloads running them, their hosts and clusters.",
			Params: []Param{{Name: "id", In: "path", Desc: "advisory id (CVE-…, GHSA-…)"}}, Result: "Where", Handler: a.whereIs},
		{Method: "GET", Path: "/api/v1/assessments", Scope: auth.ScopeRead, Tag: "assessments", Summary: "Rule results (CIS Docker, Kubernetes policies, image health).",
			Params: withList(q("resource", "resource id"), q("rule", "rule id"), q("status", "status", "healthy", "unhealthy", "not-applicable", "not-assessed", "manual", "error", "exempt"),
				q("source", "engine", "vuln", "cis-docker", "k8s-policy"), q("severity", "at least", sev...)), Result: "AssessmentPage", Handler: a.listAssessments},
		{Method: "GET", Path: "/api/v1/alerts", Scope: auth.ScopeRead, Tag: "alerts", Summary: "Security alerts, newest first.",
			Params: withList(q("severity", "at least", sev...), q("type", "alert type"), q("status", "status", "active", "dismissed", "resolved"), q("resource", "resource id"),
				q("tactic", "MITRE ATT&CK tactic"), q("since", "RFC 3339 time or a duration such as 720h")), Result: "AlertPage", Handler: a.listAlerts},
		{Method: "GET", Path: "/api/v1/alerts/{id}", Scope: auth.ScopeRead, Tag: "alerts", Summary: "One alert, with who changed its status, when and why.", Params: []Param{{Name: "id", In: "path", Desc: "alert id"}}, Result: "Alert", Handler: a.getAlert},
		{Method: "POST", Path: "/api/v1/alerts/{id}/status", Scope: auth.ScopeTriage, Tag: "alerts", Summary: "Dismiss, resolve or reopen (active) an alert, with a comment (required to dismiss).",
			Params: []Param{{Name: "id", In: "path", Desc: "alert id"}}, Body: "AlertStatusChange", Result: "Alert", Handler: a.setAlertStatus},
		{Method: "GET", Path: "/api/v1/users", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Users.", Result: "Users", Handler: a.listUsers},
		{Method: "POST", Path: "/api/v1/users", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Create a user.", Body: "NewUser", Result: "User", Status: 201, Handler: a.createUser},
		{Method: "PATCH", Path: "/api/v1/users/{name}", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Change a user's role, password or disabled flag.", Params: []Param{{Name: "name", In: "path", Desc: "user name"}}, Body: "UserPatch", Result: "User", Handler: a.patchUser},
		{Method: "DELETE", Path: "/api/v1/users/{name}", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Delete a user and end their sessions.", Params: []Param{{Name: "name", In: "path", Desc: "user name"}}, Status: 204, Handler: a.deleteUser},
		{Method: "GET", Path: "/api/v1/tokens", Scope: auth.ScopeAdmin, Tag: "access", Summary: "API tokens (never their secrets).", Result: "Tokens", Handler: a.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Create a token; its secret is in this response only.", Body: "NewToken", Result: "CreatedToken", Status: 201, Handler: a.createToken},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Revoke a token.", Params: []Param{{Name: "id", In: "path", Desc: "token id"}}, Status: 204, Handler: a.revokeToken},
		{Method: "POST", Path: "/api/v1/agents/enroll", Scope: auth.ScopeEnroll, Tag: "agents", Summary: "Exchange an enrolment token for the agent's own credential (bound to its host or cluster); refused (426) for an agent too old for this server.", Body: "EnrolRequest", Result: "AgentCredential", Status: 201, Handler: a.enrolAgent},
		{Method: "POST", Path: "/api/v1/agents/rotate", Scope: auth.ScopeIngest, Tag: "agents", Summary: "Replace the calling agent's credential before it expires; the old one stays valid for 10 minutes.", Result: "AgentCredential", Status: 201, Handler: a.rotateAgent},
		{Method: "POST", Path: "/api/v1/agents/heartbeat", Scope: auth.ScopeIngest, Tag: "agents", Summary: "The calling agent's version, interval and health; the reply carries the server's version and any skew warning.", Body: "Heartbeat", Result: "HeartbeatReply", Handler: a.agentHeartbeat},
		{Method: "GET", Path: "/api/v1/agents", Scope: auth.ScopeRead, Tag: "agents", Summary: "Enrolled agents: last contact, version, health, and silent when not heard from for three intervals.", Result: "Agents", Handler: a.listAgents},
		{Method: "GET", Path: "/api/v1/audit-log", Scope: auth.ScopeAdmin, Tag: "access", Summary: "Changes people and tokens made, newest first.", Params: []Param{q("limit", "entries (default 100)")}, Result: "AuditLog", Handler: a.auditLog},
	}
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n") //nolint:errcheck
}

func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.o.Store.Ping(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "store unreachable\n") //nolint:errcheck
		return
	}
	io.WriteString(w, "ok\n") //nolint:errcheck
}

func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrBadQuery) && !errors.Is(err, store.ErrConflict) {
		a.o.Logger.Error("store error", "route", r.URL.Path, "err", err)
	}
	storeError(w, r, err, what)
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	st, err := a.stats(r.Context())
	if err != nil {
		a.storeError(w, r, err, "status")
		return
	}
	sv, _ := a.o.Store.SchemaVersion(r.Context())
	out := map[string]any{"version": a.o.Version, "store": map[string]any{"dialect": a.o.Store.Dialect(), "schema_version": sv}, "counts": st}
	if a.o.Status != nil {
		for k, v := range a.o.Status(r.Context()) {
			out[k] = v
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) postReport(w http.ResponseWriter, r *http.Request) {
	select {
	case a.ingestSem <- struct{}{}:
		defer func() { <-a.ingestSem }()
	case <-r.Context().Done():
		return
	case <-time.After(30 * time.Second):
		w.Header().Set("Retry-After", "5")
		problem(w, r, http.StatusServiceUnavailable, "ingestion busy", "too many reports are being stored; retry shortly")
		return
	}
	// Agents compress their reports; the decompressed body has the same
	// bound as a plain one.
	var src io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			problem(w, r, http.StatusBadRequest, "could not read the body", "Content-Encoding gzip: "+err.Error())
			return
		}
		defer zr.Close()
		src = http.MaxBytesReader(w, io.NopCloser(zr), a.o.MaxBody)
	}
	body, err := io.ReadAll(src)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, r, http.StatusRequestEntityTooLarge, "report too large", fmt.Sprintf("a report may hold at most %d bytes", mbe.Limit))
			return
		}
		problem(w, r, http.StatusBadRequest, "could not read the body", err.Error())
		return
	}
	kind := ingest.Kind(r.URL.Query().Get("kind"))
	p := principalOf(r)
	prep, err := ingest.Prepare(r.Context(), kind, body, ingest.Options{Matcher: a.o.Matcher, Limits: a.o.Limits, Now: a.o.Now})
	if err != nil {
		a.ingested.WithLabelValues(string(kind), "refused").Inc()
		if errors.Is(err, ingest.ErrInvalid) {
			problem(w, r, http.StatusUnprocessableEntity, "invalid report", err.Error())
			return
		}
		a.o.Logger.Error("prepare report", "err", err)
		problem(w, r, http.StatusInternalServerError, "could not process the report", "it is logged; nothing was stored")
		return
	}
	pin, err := auth.AllowWrite(p, prep.Target)
	if err != nil {
		a.ingested.WithLabelValues(string(prep.Kind), "refused").Inc()
		problem(w, r, http.StatusForbidden, "outside the token's binding", err.Error())
		return
	}
	if pin != "" {
		got, err := a.o.Store.PinToken(r.Context(), p.ID, pin)
		if err != nil {
			a.storeError(w, r, err, "token")
			return
		}
		if got != pin {
			problem(w, r, http.StatusForbidden, "outside the token's binding", fmt.Sprintf("token bound to %s is pinned to %s", p.Binding, got))
			return
		}
	}
	res, err := a.o.Store.Ingest(r.Context(), prep.Batch)
	if err != nil {
		a.ingested.WithLabelValues(string(prep.Kind), "error").Inc()
		a.storeError(w, r, err, "report")
		return
	}
	outcome := "stored"
	if res.Duplicate {
		outcome = "duplicate"
	}
	a.ingested.WithLabelValues(string(prep.Kind), outcome).Inc()
	if a.o.Ingested != nil && !res.Duplicate {
		a.o.Ingested(r.Context(), prep, res)
	}
	out := map[string]any{"kind": prep.Kind, "resource": prep.Batch.Subject, "result": res}
	if prep.Verdict != nil {
		out["summary"] = prep.Verdict
	}
	if prep.Report != nil && r.URL.Query().Get("return") == "report" {
		out["report"] = prep.Report
	}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
	}
	writeJSON(w, status, out)
}

func listOf(r *http.Request) store.List {
	v := r.URL.Query()
	n, _ := strconv.Atoi(v.Get("limit"))
	return store.List{Sort: v.Get("sort"), Limit: n, Cursor: v.Get("cursor")}
}

func sevParam(w http.ResponseWriter, r *http.Request) (model.Severity, bool) {
	s := r.URL.Query().Get("severity")
	if s == "" {
		return "", true
	}
	v, err := model.ParseSeverity(s)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "bad query", err.Error())
		return "", false
	}
	return v, true
}

func (a *API) listResources(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	sev, ok := sevParam(w, r)
	if !ok {
		return
	}
	page, err := a.o.Store.ListResources(r.Context(), store.ResourceQuery{List: listOf(r), Kind: v.Get("kind"), Parent: v.Get("parent"), Name: v.Get("name"),
		Health: v.Get("health"), Severity: sev, Label: v.Get("label")})
	if err != nil {
		a.storeError(w, r, err, "resources")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) getResource(w http.ResponseWriter, r *http.Request) {
	d, err := a.o.Store.Resource(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, r, err, "resource")
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) listFindings(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	sev, ok := sevParam(w, r)
	if !ok {
		return
	}
	page, err := a.o.Store.ListFindings(r.Context(), store.FindingQuery{List: listOf(r), Resource: v.Get("resource"), Vuln: v.Get("vulnerability"),
		Package: v.Get("package"), Severity: sev, KEV: v.Get("kev") == "true", Fixable: v.Get("fixable") == "true"})
	if err != nil {
		a.storeError(w, r, err, "findings")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) whereIs(w http.ResponseWriter, r *http.Request) {
	wh, err := a.o.Store.WhereIs(r.Context(), r.PathValue("id"), 1000)
	if err != nil {
		a.storeError(w, r, err, "vulnerability")
		return
	}
	writeJSON(w, http.StatusOK, wh)
}

func (a *API) listAssessments(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	sev, ok := sevParam(w, r)
	if !ok {
		return
	}
	page, err := a.o.Store.ListAssessments(r.Context(), store.AssessmentQuery{List: listOf(r), Resource: v.Get("resource"), Rule: v.Get("rule"),
		Status: v.Get("status"), Source: v.Get("source"), Severity: sev})
	if err != nil {
		a.storeError(w, r, err, "assessments")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) listAlerts(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	sev, ok := sevParam(w, r)
	if !ok {
		return
	}
	var since time.Time
	if s := v.Get("since"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			since = a.o.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, s); err == nil {
			since = t
		} else {
			problem(w, r, http.StatusBadRequest, "bad query", "since: an RFC 3339 time or a duration such as 720h")
			return
		}
	}
	page, err := a.o.Store.ListAlerts(r.Context(), store.AlertQuery{List: listOf(r), Severity: sev, Type: v.Get("type"), Status: v.Get("status"),
		Resource: v.Get("resource"), Tactic: v.Get("tactic"), Since: since})
	if err != nil {
		a.storeError(w, r, err, "alerts")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// AlertDetail is an alert with its status history.
type AlertDetail struct {
	model.Alert
	History []store.AlertEvent `json:"history"`
}

func (a *API) alertDetail(w http.ResponseWriter, r *http.Request, id string, status int) {
	al, err := a.o.Store.Alert(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err, "alert")
		return
	}
	h, err := a.o.Store.AlertEvents(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err, "alert history")
		return
	}
	writeJSON(w, status, AlertDetail{Alert: *al, History: h})
}

func (a *API) getAlert(w http.ResponseWriter, r *http.Request) {
	a.alertDetail(w, r, r.PathValue("id"), http.StatusOK)
}

// setAlertStatus is triage: active → dismissed or resolved, and back to
// active (reopened). Who, when and why go to the alert's history and the
// audit log.
func (a *API) setAlertStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Status  string `json:"status"`
		Comment string `json:"comment"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	switch model.AlertStatus(in.Status) {
	case model.AlertActive, model.AlertDismissed, model.AlertResolved:
	default:
		problem(w, r, http.StatusBadRequest, "bad status", "status: active (reopen), dismissed or resolved")
		return
	}
	in.Comment = strings.TrimSpace(in.Comment)
	if len(in.Comment) > 2000 {
		problem(w, r, http.StatusBadRequest, "comment too long", "at most 2,000 bytes")
		return
	}
	if in.Status == string(model.AlertDismissed) && in.Comment == "" {
		problem(w, r, http.StatusBadRequest, "a dismissal needs a reason", "say in comment why the alert is dismissed")
		return
	}
	id := r.PathValue("id")
	cur, err := a.o.Store.Alert(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err, "alert")
		return
	}
	if string(cur.Status) == in.Status {
		problem(w, r, http.StatusConflict, "no change", fmt.Sprintf("the alert is already %s", in.Status))
		return
	}
	actor := principalOf(r).Actor()
	prev, err := a.o.Store.SetAlertStatus(r.Context(), id, in.Status, actor, in.Comment)
	if err != nil {
		a.storeError(w, r, err, "alert")
		return
	}
	a.audit(r, "alert."+in.Status, id, fmt.Sprintf("from %s: %s", prev, in.Comment))
	a.alertDetail(w, r, id, http.StatusOK)
}

// decodeBody reads a small JSON request body, refusing unknown fields (a
// typo in a field name of a change is an error, not a silent no-op).
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem(w, r, http.StatusBadRequest, "bad request body", err.Error())
		return false
	}
	return true
}

func (a *API) audit(r *http.Request, action, target, detail string) {
	if err := a.o.Store.Audit(r.Context(), store.AuditEntry{At: a.o.Now(), Actor: principalOf(r).Actor(), Action: action, Target: target, Detail: detail}); err != nil {
		a.o.Logger.Error("audit trail", "action", action, "err", err)
	}
}

// Me is the caller as /api/v1/me and the log-in return it.
type Me struct {
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Role       string   `json:"role,omitempty"`
	Scopes     []string `json:"scopes"`
	CSRFToken  string   `json:"csrf_token,omitempty"`
	MustChange bool     `json:"must_change_password,omitempty"`
	Binding    string   `json:"binding,omitempty"`
}

func meOf(p *auth.Principal, mustChange bool) Me {
	m := Me{Kind: p.Kind, Name: p.Name, Role: string(p.Role), CSRFToken: p.CSRF, MustChange: mustChange, Binding: p.Binding, Scopes: []string{}}
	for _, s := range p.Scopes {
		m.Scopes = append(m.Scopes, string(s))
	}
	return m
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if p == nil {
		problem(w, r, http.StatusUnauthorized, "unauthenticated", "no token and no session")
		return
	}
	must := false
	if p.Kind == "user" {
		if u, err := a.o.Store.User(r.Context(), p.Name); err == nil {
			must = u.MustChange
		}
	}
	writeJSON(w, http.StatusOK, meOf(p, must))
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if !a.loginAllowed(r) {
		w.Header().Set("Retry-After", "60")
		problem(w, r, http.StatusTooManyRequests, "too many log-in attempts", "wait a minute before trying again")
		return
	}
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	ctx := r.Context()
	u, err := a.o.Store.User(ctx, in.Name)
	now := a.o.Now()
	fail := func(detail string) {
		a.o.Logger.Warn("log-in failed", "user", in.Name, "client", clientIP(r), "why", detail)
		problem(w, r, http.StatusUnauthorized, "log-in failed", "wrong name or password, or the account is locked")
	}
	if err != nil {
		auth.VerifyDummy(in.Password)
		fail("no such user")
		return
	}
	if u.Disabled {
		auth.VerifyDummy(in.Password)
		fail("disabled")
		return
	}
	if now.Before(u.LockedUntil) {
		auth.VerifyDummy(in.Password)
		fail("locked")
		return
	}
	if !auth.VerifyPassword(in.Password, u.PasswordHash) {
		// 5 failures lock the account for a minute, doubling up to an hour.
		until, err := a.o.Store.LoginFailed(ctx, u.Name, 5, func(n int) time.Duration {
			d := time.Minute << min(n-5, 6)
			return min(d, time.Hour)
		})
		if err != nil {
			a.o.Logger.Error("count failed log-in", "err", err)
		}
		if !until.IsZero() {
			a.audit(r.WithContext(ctx), "user.locked", u.Name, "until "+until.Format(time.RFC3339))
		}
		fail("wrong password")
		return
	}
	if err := a.o.Store.LoginSucceeded(ctx, u.Name); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	csrf, ok := a.startSession(w, r, u.Name)
	if !ok {
		return
	}
	role := auth.Role(u.Role)
	p := &auth.Principal{Kind: "user", Name: u.Name, Role: role, Scopes: auth.RoleScopes(role), CSRF: csrf}
	a.o.Logger.Info("log-in", "user", u.Name, "client", clientIP(r))
	writeJSON(w, http.StatusOK, meOf(p, u.MustChange))
}

// startSession stores a new session for the user and sets its cookie; it
// returns the session's CSRF token.
func (a *API) startSession(w http.ResponseWriter, r *http.Request, user string) (string, bool) {
	cookie, err1 := auth.RandomString(32)
	csrf, err2 := auth.RandomString(32)
	if err1 != nil || err2 != nil {
		problem(w, r, http.StatusInternalServerError, "no randomness", "")
		return "", false
	}
	now := a.o.Now()
	se := store.Session{IDHash: auth.HashSecret(cookie), User: user, CSRF: csrf, CreatedAt: now, ExpiresAt: now.Add(a.o.SessionTTL)}
	if err := a.o.Store.CreateSession(r.Context(), se); err != nil {
		a.storeError(w, r, err, "session")
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: cookie, Path: "/", HttpOnly: true, Secure: a.o.SecureCookies,
		SameSite: http.SameSiteStrictMode, Expires: se.ExpiresAt})
	return csrf, true
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.o.Store.DeleteSession(r.Context(), auth.HashSecret(c.Value)) //nolint:errcheck
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.o.SecureCookies, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	if p == nil || p.Kind != "user" {
		problem(w, r, http.StatusUnauthorized, "unauthenticated", "log in as the user whose password to change")
		return
	}
	var in struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	u, err := a.o.Store.User(r.Context(), p.Name)
	if err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	if !auth.VerifyPassword(in.Current, u.PasswordHash) {
		problem(w, r, http.StatusForbidden, "wrong current password", "")
		return
	}
	if err := auth.CheckPasswordPolicy(in.New); err != nil {
		problem(w, r, http.StatusBadRequest, "password refused", err.Error())
		return
	}
	if in.New == in.Current {
		problem(w, r, http.StatusBadRequest, "password refused", "the new password must differ from the current one")
		return
	}
	h, err := auth.HashPassword(in.New)
	if err != nil {
		problem(w, r, http.StatusInternalServerError, "could not hash", "")
		return
	}
	u.PasswordHash, u.MustChange = h, false
	if err := a.o.Store.UpdateUser(r.Context(), *u); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	// Every other session of the user ends; this one goes on.
	a.o.Store.DeleteSessionsOf(r.Context(), u.Name) //nolint:errcheck
	if c, err := r.Cookie(SessionCookie); err == nil {
		now := a.o.Now()
		a.o.Store.CreateSession(r.Context(), store.Session{IDHash: auth.HashSecret(c.Value), User: u.Name, CSRF: p.CSRF, CreatedAt: now, ExpiresAt: now.Add(a.o.SessionTTL)}) //nolint:errcheck
	}
	a.audit(r, "user.password", u.Name, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := a.o.Store.Users(r.Context())
	if err != nil {
		a.storeError(w, r, err, "users")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": us})
}

var userNameOK = func(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@-", c)) {
			return false
		}
	}
	return true
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if !userNameOK(in.Name) {
		problem(w, r, http.StatusBadRequest, "bad user name", "1-64 letters, digits and . _ @ -")
		return
	}
	role, err := auth.ParseRole(in.Role)
	if err != nil {
		problem(w, r, http.StatusBadRequest, "bad role", err.Error())
		return
	}
	if err := auth.CheckPasswordPolicy(in.Password); err != nil {
		problem(w, r, http.StatusBadRequest, "password refused", err.Error())
		return
	}
	h, err := auth.HashPassword(in.Password)
	if err != nil {
		problem(w, r, http.StatusInternalServerError, "could not hash", "")
		return
	}
	u := store.User{Name: in.Name, Role: string(role), PasswordHash: h, MustChange: true}
	if err := a.o.Store.CreateUser(r.Context(), u); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	a.audit(r, "user.create", u.Name, "role "+u.Role)
	created, _ := a.o.Store.User(r.Context(), u.Name)
	writeJSON(w, http.StatusCreated, created)
}

func (a *API) patchUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Role     *string `json:"role"`
		Password *string `json:"password"`
		Disabled *bool   `json:"disabled"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	u, err := a.o.Store.User(r.Context(), r.PathValue("name"))
	if err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	var changes []string
	if in.Role != nil {
		role, err := auth.ParseRole(*in.Role)
		if err != nil {
			problem(w, r, http.StatusBadRequest, "bad role", err.Error())
			return
		}
		u.Role = string(role)
		changes = append(changes, "role "+u.Role)
	}
	if in.Password != nil {
		if err := auth.CheckPasswordPolicy(*in.Password); err != nil {
			problem(w, r, http.StatusBadRequest, "password refused", err.Error())
			return
		}
		h, err := auth.HashPassword(*in.Password)
		if err != nil {
			problem(w, r, http.StatusInternalServerError, "could not hash", "")
			return
		}
		u.PasswordHash, u.MustChange, u.FailedLogins, u.LockedUntil = h, true, 0, time.Time{}
		changes = append(changes, "password reset")
	}
	if in.Disabled != nil {
		u.Disabled = *in.Disabled
		changes = append(changes, fmt.Sprintf("disabled %v", u.Disabled))
	}
	if err := a.o.Store.UpdateUser(r.Context(), *u); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	if in.Password != nil || (in.Disabled != nil && *in.Disabled) || in.Role != nil {
		a.o.Store.DeleteSessionsOf(r.Context(), u.Name) //nolint:errcheck
	}
	a.audit(r, "user.update", u.Name, strings.Join(changes, ", "))
	writeJSON(w, http.StatusOK, u)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if p := principalOf(r); p != nil && p.Kind == "user" && p.Name == name {
		problem(w, r, http.StatusBadRequest, "cannot delete yourself", "another admin must do it")
		return
	}
	if err := a.o.Store.DeleteUser(r.Context(), name); err != nil {
		a.storeError(w, r, err, "user")
		return
	}
	a.audit(r, "user.delete", name, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.o.Store.Tokens(r.Context())
	if err != nil {
		a.storeError(w, r, err, "tokens")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ts})
}

// TokenRequest creates a token.
type TokenRequest struct {
	Name     string `json:"name"`
	Scopes   string `json:"scopes"`   // read,ingest
	Expires  string `json:"expires"`  // 90d, 12h, never, RFC 3339
	Resource string `json:"resource"` // cluster/NAME or docker-host/NAME
}

// CreateToken makes a token in the store and returns its secret (shown
// once). The CLI's `token create` and the API share it; errors wrapping
// ErrBadInput are the request's.
func CreateToken(ctx context.Context, st *store.Store, in TokenRequest, createdBy string, now time.Time) (*store.Token, string, error) {
	if in.Name == "" || len(in.Name) > 128 {
		return nil, "", fmt.Errorf("%w: a token needs a name (at most 128 characters)", ErrBadInput)
	}
	scopes, err := auth.ParseScopes(in.Scopes)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	exp, err := auth.ParseExpiry(in.Expires, now)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if slices.Contains(scopes, auth.ScopeEnroll) && (len(scopes) > 1 || exp.IsZero() || exp.Sub(now) > maxEnrolmentTTL) {
		return nil, "", fmt.Errorf("%w: an enrolment token has the enroll scope alone and expires within 7 days (--expires 1h)", ErrBadInput)
	}
	if in.Resource != "" {
		kind, name, ok := strings.Cut(in.Resource, "/")
		if !ok || name == "" || (kind != string(model.KindCluster) && kind != string(model.KindDockerHost)) {
			return nil, "", fmt.Errorf("%w: resource binding %q: want cluster/NAME-or-ID or docker-host/NAME-or-ID", ErrBadInput, in.Resource)
		}
	}
	id, secret, hash, err := auth.NewToken()
	if err != nil {
		return nil, "", err
	}
	t := store.Token{ID: id, Name: in.Name, SecretHash: hash, Binding: in.Resource, CreatedBy: createdBy, CreatedAt: now, ExpiresAt: exp}
	for _, s := range scopes {
		t.Scopes = append(t.Scopes, string(s))
	}
	if err := st.CreateToken(ctx, t); err != nil {
		return nil, "", err
	}
	return &t, secret, nil
}

// ErrBadInput wraps errors in a request to create something.
var ErrBadInput = errors.New("bad input")

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var in TokenRequest
	if !decodeBody(w, r, &in) {
		return
	}
	t, secret, err := CreateToken(r.Context(), a.o.Store, in, principalOf(r).Actor(), a.o.Now())
	if errors.Is(err, ErrBadInput) {
		problem(w, r, http.StatusBadRequest, "bad token request", err.Error())
		return
	}
	if err != nil {
		a.storeError(w, r, err, "token")
		return
	}
	a.audit(r, "token.create", t.ID, fmt.Sprintf("%s scopes %s binding %q", t.Name, strings.Join(t.Scopes, ","), t.Binding))
	writeJSON(w, http.StatusCreated, map[string]any{"token": secret, "info": t})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.o.Store.RevokeToken(r.Context(), id); err != nil {
		a.storeError(w, r, err, "token")
		return
	}
	a.audit(r, "token.revoke", id, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) auditLog(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	es, err := a.o.Store.AuditLog(r.Context(), n)
	if err != nil {
		a.storeError(w, r, err, "audit log")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": es})
}
