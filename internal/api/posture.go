package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/suppress"
)

// postureRoutes are the recommendations, the secure score, exemptions and
// VEX: what turns stored results into a posture.
func (a *API) postureRoutes() []Route {
	statuses := []string{"healthy", "unhealthy", "not-applicable", "not-assessed", "manual", "error", "exempt"}
	sev := []string{"critical", "high", "medium", "low"}
	scopeFilters := []Param{q("cluster", "cluster id"), q("host", "Docker host id"), q("namespace", "CLUSTER_ID/NAMESPACE"), q("kind", "resource kind")}
	return []Route{
		{Method: "GET", Path: "/api/v1/catalog", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "The recommendation catalogue: security controls (with their points) and recommendations (with the rules that feed them).",
			Result: "Catalog", Handler: a.catalog},
		{Method: "GET", Path: "/api/v1/recommendations", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "Every recommendation with its resources counted by status, most unhealthy first.",
			Params: append([]Param{q("control", "security control id"), q("severity", "at least", sev...), q("unhealthy", "only those with unhealthy resources (true)")}, scopeFilters...),
			Result: "Recommendations", Handler: a.listRecommendations},
		{Method: "GET", Path: "/api/v1/recommendations/{id}", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "One recommendation: description, remediation, counts, and its first page of resources (unhealthy first).",
			Params: append([]Param{{Name: "id", In: "path", Desc: "REC-…"}}, scopeFilters...), Result: "Recommendation", Handler: a.getRecommendation},
		{Method: "GET", Path: "/api/v1/recommendations/{id}/resources", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "A recommendation's resources with their evidence and history.",
			Params: withList(Param{Name: "id", In: "path", Desc: "REC-…"}, q("status", "status", statuses...), q("cluster", "cluster id"), q("host", "Docker host id"), q("namespace", "CLUSTER_ID/NAMESPACE")),
			Result: "RecResourcePage", Handler: a.listRecResources},
		{Method: "GET", Path: "/api/v1/score", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "The secure score: per control, points gained of points possible (precomputed).", Result: "Score", Handler: a.score},
		{Method: "GET", Path: "/api/v1/score/history", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "The score per day.",
			Params: []Param{q("days", "how many days back (default 30, at most 400)"), q("control", "a control id (default: the whole score)")}, Result: "ScoreHistory", Handler: a.scoreHistory},
		{Method: "GET", Path: "/api/v1/exemptions", Scope: auth.ScopeRead, Tag: "recommendations", Summary: "Exemptions in force (with ended=true: expired and revoked ones too).",
			Params: []Param{q("ended", "include ended ones (true)"), q("kind", "recommendation or vulnerability", "recommendation", "vulnerability"),
				q("vulnerability", "those of this advisory id (repeatable: its aliases too)")}, Result: "Exemptions", Handler: a.listExemptions},
		{Method: "POST", Path: "/api/v1/exemptions", Scope: auth.ScopeTriage, Tag: "recommendations", Summary: "Exempt a recommendation or a vulnerability for a resource, repository, namespace, cluster or everywhere, with a reason and an expiry (or until a fix exists).",
			Body: "NewExemption", Result: "Exemption", Status: 201, Handler: a.createExemption},
		{Method: "DELETE", Path: "/api/v1/exemptions/{id}", Scope: auth.ScopeTriage, Tag: "recommendations", Summary: "Revoke an exemption: what it covered comes back.",
			Params: []Param{{Name: "id", In: "path", Desc: "exemption id"}}, Status: 204, Handler: a.revokeExemption},
		{Method: "GET", Path: "/api/v1/vex", Scope: auth.ScopeRead, Tag: "vulnerabilities", Summary: "OpenVEX documents the server applies to every match.", Result: "VEXDocuments", Handler: a.listVEX},
		{Method: "POST", Path: "/api/v1/vex", Scope: auth.ScopeTriage, Tag: "vulnerabilities", Summary: "Send an OpenVEX document: its not_affected and fixed statements suppress findings on every image they name; the images are matched again.",
			Body: "Object", Result: "VEXDocument", Status: 201, Handler: a.postVEX},
		{Method: "GET", Path: "/api/v1/history", Scope: auth.ScopeRead, Tag: "inventory", Summary: "A resource's history: rule status changes, resolved findings, recommendation states with first seen, last evaluated and resolved.",
			Params: []Param{q("resource", "resource id (required)"), q("limit", "entries of each list (default 200)")}, Result: "History", Handler: a.resourceHistory},
	}
}

func (a *API) catalog(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.o.Catalog)
}

// RecSummary is one recommendation as the list shows it.
type RecSummary struct {
	ID            string         `json:"id"`
	Title         string         `json:"title"`
	Severity      string         `json:"severity"`
	Control       string         `json:"control"`
	ResourceKinds []string       `json:"resource_kinds"`
	Counts        map[string]int `json:"counts"`
	Unhealthy     int            `json:"unhealthy"`
	Total         int            `json:"total"`
}

func (a *API) recFilter(r *http.Request) store.RecFilter {
	v := r.URL.Query()
	f := store.RecFilter{Root: v.Get("cluster"), Namespace: v.Get("namespace"), Kind: v.Get("kind")}
	if h := v.Get("host"); h != "" {
		f.Root = h
	}
	return f
}

func (a *API) summaries(r *http.Request) ([]RecSummary, error) {
	counts, err := a.o.Store.RecCounts(r.Context(), a.recFilter(r))
	if err != nil {
		return nil, err
	}
	v := r.URL.Query()
	minSev := model.Severity(v.Get("severity"))
	out := []RecSummary{}
	for _, rec := range a.o.Catalog.Recommendations {
		if c := v.Get("control"); c != "" && rec.Control != c {
			continue
		}
		if minSev != "" && model.Severity(rec.Severity).Rank() < minSev.Rank() {
			continue
		}
		s := RecSummary{ID: rec.ID, Title: rec.Title, Severity: rec.Severity, Control: rec.Control, ResourceKinds: rec.ResourceKinds, Counts: map[string]int{}}
		for st, n := range counts[rec.ID] {
			s.Counts[st] = n
			s.Total += n
		}
		s.Unhealthy = s.Counts[string(model.AssessUnhealthy)]
		if v.Get("unhealthy") == "true" && s.Unhealthy == 0 {
			continue
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Unhealthy != out[j].Unhealthy {
			return out[i].Unhealthy > out[j].Unhealthy
		}
		return model.Severity(out[i].Severity).Rank() > model.Severity(out[j].Severity).Rank()
	})
	return out, nil
}

func (a *API) listRecommendations(w http.ResponseWriter, r *http.Request) {
	if _, ok := sevParam(w, r); !ok {
		return
	}
	out, err := a.summaries(r)
	if err != nil {
		a.storeError(w, r, err, "recommendations")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (a *API) getRecommendation(w http.ResponseWriter, r *http.Request) {
	rec, ok := a.o.Catalog.Recommendation(r.PathValue("id"))
	if !ok {
		problem(w, r, http.StatusNotFound, "no such recommendation", "GET /api/v1/catalog lists them")
		return
	}
	counts, err := a.o.Store.RecCounts(r.Context(), a.recFilter(r))
	if err != nil {
		a.storeError(w, r, err, "recommendation")
		return
	}
	f := a.recFilter(r)
	page, err := a.o.Store.RecResources(r.Context(), store.RecResourceQuery{Recommendation: rec.ID, Status: string(model.AssessUnhealthy), Root: f.Root, Namespace: f.Namespace})
	if err != nil {
		a.storeError(w, r, err, "recommendation")
		return
	}
	ct, _ := a.o.Catalog.Control(rec.Control)
	c := counts[rec.ID]
	if c == nil {
		c = map[string]int{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"recommendation": rec, "control": ct, "counts": c, "unhealthy": page})
}

func (a *API) listRecResources(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := a.o.Catalog.Recommendation(id); !ok {
		problem(w, r, http.StatusNotFound, "no such recommendation", "GET /api/v1/catalog lists them")
		return
	}
	f := a.recFilter(r)
	page, err := a.o.Store.RecResources(r.Context(), store.RecResourceQuery{List: listOf(r), Recommendation: id, Status: r.URL.Query().Get("status"), Root: f.Root, Namespace: f.Namespace})
	if err != nil {
		a.storeError(w, r, err, "recommendation resources")
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (a *API) score(w http.ResponseWriter, r *http.Request) {
	sc, err := a.o.Store.Score(r.Context(), a.o.Catalog)
	if err != nil {
		a.storeError(w, r, err, "score")
		return
	}
	writeJSON(w, http.StatusOK, sc)
}

func (a *API) scoreHistory(w http.ResponseWriter, r *http.Request) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 400 {
			problem(w, r, http.StatusBadRequest, "bad query", "days: 1 to 400")
			return
		}
		days = n
	}
	from := a.o.Now().UTC().AddDate(0, 0, -days+1).Format("2006-01-02")
	h, err := a.o.Store.ScoreHistory(r.Context(), r.URL.Query().Get("control"), from)
	if err != nil {
		a.storeError(w, r, err, "score history")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h})
}

func (a *API) listExemptions(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if len(v["vulnerability"]) > 20 {
		problem(w, r, http.StatusBadRequest, "bad query", "vulnerability: at most 20")
		return
	}
	es, err := a.o.Store.Exemptions(r.Context(), store.ExemptionQuery{Ended: v.Get("ended") == "true", Kind: v.Get("kind"), Vulnerability: v["vulnerability"]})
	if err != nil {
		a.storeError(w, r, err, "exemptions")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": es})
}

// NewExemption is the body of POST /api/v1/exemptions.
type NewExemption struct {
	Recommendation string          `json:"recommendation"`
	Vulnerability  string          `json:"vulnerability"`
	Scope          recommend.Scope `json:"scope"`
	Value          string          `json:"value"`
	Reason         string          `json:"reason"`
	// Expires: RFC 3339, or a duration (90d, 720h); UntilFix for a
	// vulnerability lasts while no fix exists. One of them, or neither
	// (until revoked).
	Expires  string `json:"expires"`
	UntilFix bool   `json:"until_fix"`
}

func (a *API) createExemption(w http.ResponseWriter, r *http.Request) {
	var in NewExemption
	if !decodeBody(w, r, &in) {
		return
	}
	now := a.o.Now().UTC()
	e := recommend.Exemption{Recommendation: in.Recommendation, Vulnerability: strings.TrimSpace(in.Vulnerability), Scope: in.Scope, Value: in.Value,
		Reason: strings.TrimSpace(in.Reason), Author: principalOf(r).Actor(), Source: "api", CreatedAt: now, UntilFix: in.UntilFix}
	if in.Expires != "" {
		exp, err := auth.ParseExpiry(in.Expires, now)
		if err != nil || exp.IsZero() || !exp.After(now) {
			problem(w, r, http.StatusBadRequest, "bad expiry", "expires: a future RFC 3339 time or a duration such as 90d or 720h")
			return
		}
		e.Expires = exp
	}
	if err := e.Validate(a.o.Catalog); err != nil {
		problem(w, r, http.StatusBadRequest, "invalid exemption", err.Error())
		return
	}
	e.ID = newID("ex")
	if err := a.o.Store.CreateExemption(r.Context(), e); err != nil {
		a.storeError(w, r, err, "exemption")
		return
	}
	what := e.Recommendation + e.Vulnerability
	a.audit(r, "exemption.create", e.ID, fmt.Sprintf("%s for %s %s: %s", what, e.Scope, e.Value, e.Reason))
	if a.o.PostureChanged != nil {
		a.o.PostureChanged()
	}
	writeJSON(w, http.StatusCreated, e)
}

func (a *API) revokeExemption(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.o.Store.RevokeExemption(r.Context(), id, principalOf(r).Actor()); err != nil {
		a.storeError(w, r, err, "exemption")
		return
	}
	a.audit(r, "exemption.revoke", id, "")
	if a.o.PostureChanged != nil {
		a.o.PostureChanged()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listVEX(w http.ResponseWriter, r *http.Request) {
	ds, err := a.o.Store.VEXDocuments(r.Context(), false)
	if err != nil {
		a.storeError(w, r, err, "VEX documents")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}

func (a *API) postVEX(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20+1))
	if err != nil {
		problem(w, r, http.StatusBadRequest, "could not read the body", err.Error())
		return
	}
	if len(body) > 32<<20 {
		problem(w, r, http.StatusRequestEntityTooLarge, "VEX document too large", "at most 32 MiB")
		return
	}
	sum := sha256.Sum256(body)
	id := "vex-" + hex.EncodeToString(sum[:8])
	doc, err := suppress.ParseVEX(body, "server VEX "+id)
	if err != nil {
		problem(w, r, http.StatusUnprocessableEntity, "invalid OpenVEX document", err.Error())
		return
	}
	d := store.VEXDocument{ID: id, Author: principalOf(r).Actor(), Statements: doc.Statements(), ReceivedAt: a.o.Now().UTC(), Data: body}
	if err := a.o.Store.AddVEX(r.Context(), d, doc.Vulnerabilities()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			problem(w, r, http.StatusConflict, "already applied", "this document was sent before")
			return
		}
		a.storeError(w, r, err, "VEX document")
		return
	}
	a.audit(r, "vex.add", id, fmt.Sprintf("%d statements", d.Statements))
	if a.o.PostureChanged != nil {
		a.o.PostureChanged()
	}
	writeJSON(w, http.StatusCreated, d)
}

func (a *API) resourceHistory(w http.ResponseWriter, r *http.Request) {
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			problem(w, r, http.StatusBadRequest, "bad query", "limit: 1 to 1000")
			return
		}
		limit = n
	}
	id := r.URL.Query().Get("resource")
	if id == "" {
		problem(w, r, http.StatusBadRequest, "bad query", "resource: the resource id")
		return
	}
	h, err := a.o.Store.History(r.Context(), id, limit)
	if err != nil {
		a.storeError(w, r, err, "history")
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func newID(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail on Linux
	return prefix + "-" + hex.EncodeToString(b)
}
