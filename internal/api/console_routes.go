package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// consoleRoutes are what the console's pages read beyond the lists the
// other tables give: the vulnerability search, alerts counted per day, and
// the log-in methods an anonymous log-in page may show.
func (a *API) consoleRoutes() []Route {
	sev := []string{"critical", "high", "medium", "low"}
	return []Route{
		{Method: "GET", Path: "/api/v1/vulnerabilities", Scope: auth.ScopeRead, Tag: "vulnerabilities",
			Summary: "Distinct vulnerabilities across the findings, by id: images affected, findings, worst severity, known exploited (KEV), EPSS, whether a fix exists. q is an id, an alias (GHSA-…), an id prefix or a package name, tried in that order (match says which).",
			Params: []Param{q("q", "advisory id, alias, id prefix, or package name"), q("package", "exact package name"), q("severity", "findings at least", sev...),
				q("kev", "known exploited only (true)"), q("limit", "page size (1-500, default 50)"), q("cursor", "the `next` of the previous page")},
			Result: "VulnerabilityList", Handler: a.listVulnerabilities},
		{Method: "GET", Path: "/api/v1/alerts/stats", Scope: auth.ScopeRead, Tag: "alerts",
			Summary: "Alerts counted per day (UTC, by last seen), severity and status over the last days (figures kept 15 s per replica, as /api/v1/status's counts).",
			Params:  []Param{q("days", "how many days back, today included (default 30, at most 400)")}, Result: "AlertStats", Handler: a.alertStats},
		{Method: "GET", Path: "/api/v1/login/methods", Scope: auth.ScopeNone, Tag: "access",
			Summary: "How one logs in here: password, and single sign-on (the provider's name and the route that starts it) when configured.",
			Result:  "LoginMethods", Handler: a.loginMethods},
	}
}

func (a *API) listVulnerabilities(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	sev, ok := sevParam(w, r)
	if !ok {
		return
	}
	out, err := a.o.Store.ListVulnerabilities(r.Context(), store.VulnQuery{List: listOf(r), Q: v.Get("q"), Package: v.Get("package"), Severity: sev, KEV: v.Get("kev") == "true"})
	if err != nil {
		a.storeError(w, r, err, "vulnerabilities")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// AlertStats is GET /api/v1/alerts/stats.
type AlertStats struct {
	From  string             `json:"from"` // the first day counted (UTC)
	Days  int                `json:"days"`
	Items []store.AlertCount `json:"items"`
	// Totals by severity and by status over the window.
	BySeverity map[string]int `json:"by_severity"`
	ByStatus   map[string]int `json:"by_status"`
}

func (a *API) alertStats(w http.ResponseWriter, r *http.Request) {
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 400 {
			problem(w, r, http.StatusBadRequest, "bad query", "days: 1 to 400")
			return
		}
		days = n
	}
	from := a.o.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days+1)
	a.alertStatsMu.Lock()
	defer a.alertStatsMu.Unlock()
	if e, ok := a.alertStatsVal[days]; ok && e.val.From == from.Format("2006-01-02") && time.Since(e.at) < statsTTL {
		writeJSON(w, http.StatusOK, e.val)
		return
	}
	items, err := a.o.Store.AlertCounts(r.Context(), from)
	if err != nil {
		a.storeError(w, r, err, "alert counts")
		return
	}
	out := AlertStats{From: from.Format("2006-01-02"), Days: days, Items: items, BySeverity: map[string]int{}, ByStatus: map[string]int{}}
	for _, c := range items {
		out.BySeverity[c.Severity] += c.Count
		out.ByStatus[c.Status] += c.Count
	}
	if a.alertStatsVal == nil {
		a.alertStatsVal = map[int]alertStatsEntry{}
	}
	a.alertStatsVal[days] = alertStatsEntry{at: time.Now(), val: out}
	writeJSON(w, http.StatusOK, out)
}

type alertStatsEntry struct {
	at  time.Time
	val AlertStats
}

// LoginMethods tells an anonymous log-in page what to offer; it holds
// nothing secret (the provider's display name and a local path).
type LoginMethods struct {
	Password bool       `json:"password"`
	OIDC     *OIDCEntry `json:"oidc,omitempty"`
}

// OIDCEntry is the single sign-on link of the log-in page.
type OIDCEntry struct {
	Name  string `json:"name"`
	Login string `json:"login"` // add ?return_to=PATH
}

func (a *API) loginMethods(w http.ResponseWriter, r *http.Request) {
	out := LoginMethods{Password: true}
	if a.oidc != nil {
		name := a.oidc.o.Name
		if name == "" {
			if u, err := url.Parse(a.oidc.o.Issuer); err == nil && u.Host != "" {
				name = u.Host
			} else {
				name = "single sign-on"
			}
		}
		out.OIDC = &OIDCEntry{Name: name, Login: "/api/v1/oidc/login"}
	}
	writeJSON(w, http.StatusOK, out)
}
