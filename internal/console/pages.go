package console

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/match"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// safeReturn keeps a post-log-in destination on this site: a path, never
// //host or /\host (which browsers read as another origin).
func safeReturn(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, `/\`) || strings.ContainsAny(s, "\r\n") {
		return "/"
	}
	return s
}

type loginData struct {
	ReturnTo, Name string
	// SSOName and SSOURL: the single sign-on link, when the server has one.
	SSOName, SSOURL string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", page{Title: "Log in", Data: c.withSSO(r, loginData{ReturnTo: safeReturn(r.URL.Query().Get("return_to"))})})
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.render(w, r, http.StatusBadRequest, "login", page{Title: "Log in", Error: "bad form"})
		return
	}
	d := loginData{ReturnTo: safeReturn(r.PostForm.Get("return_to")), Name: r.PostForm.Get("name")}
	st, body, hdr := c.callH(r, nil, "", "POST", "/api/v1/login", map[string]string{"name": d.Name, "password": r.PostForm.Get("password")})
	if st != http.StatusOK {
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "60")
		}
		c.render(w, r, st, "login", page{Title: "Log in", Error: problemText(body), Data: c.withSSO(r, d)})
		return
	}
	for _, v := range hdr.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", v)
	}
	var me api.Me
	if json.Unmarshal(body, &me) == nil && me.MustChange {
		http.Redirect(w, r, "/password", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, d.ReturnTo, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	_, _, hdr := c.callH(r, s.cookie, s.CSRFToken, "POST", "/api/v1/logout", nil)
	for _, v := range hdr.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", v)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "password", page{Title: "Change your password"})
}

func (c *Console) passwordPost(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if f.Get("new") != f.Get("confirm") {
		c.render(w, r, http.StatusBadRequest, "password", page{Title: "Change your password", Error: "The two new passwords differ."})
		return
	}
	st, body := c.post(r, "POST", "/api/v1/me/password", map[string]string{"current": f.Get("current"), "new": f.Get("new")})
	if st != http.StatusNoContent {
		c.render(w, r, st, "password", page{Title: "Change your password", Error: problemText(body)})
		return
	}
	http.Redirect(w, r, "/?done=password", http.StatusSeeOther)
}

// apiQuery copies the named URL parameters that are set into a query for
// the API, so a page's filters are the API's filters.
func apiQuery(r *http.Request, keys ...string) url.Values {
	in, out := r.URL.Query(), url.Values{}
	for _, k := range keys {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// idPath escapes a resource id for a path, keeping its slashes.
func idPath(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// --- Dashboard

type kindCoverage struct {
	Kind, Label           string
	Total, Unhealthy, Not int
	NotMore               bool
}

type dashData struct {
	Coverage   []kindCoverage
	BySeverity []sevCount
	TopRecs    []api.RecSummary
	Score      store.Score
	Trend      *lineChart
	Alerts     *barChart
	AlertTotal int
	DB         map[string]any
}

type sevCount struct {
	Severity string
	N        int
	More     bool
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request) {
	var status struct {
		Counts store.Stats    `json:"counts"`
		DB     map[string]any `json:"vulnerability_db"`
	}
	if !c.get(w, r, "/api/v1/status", &status) {
		return
	}
	d := dashData{DB: status.DB}
	for _, k := range []struct{ kind, label string }{{"docker-host", "Docker hosts"}, {"cluster", "Clusters"}, {"registry", "Registries"}, {"image", "Images"}} {
		kc := kindCoverage{Kind: k.kind, Label: k.label, Total: status.Counts.Resources[k.kind], Unhealthy: status.Counts.Unhealthy[k.kind],
			Not: status.Counts.NotAssessed[k.kind]}
		d.Coverage = append(d.Coverage, kc)
	}
	// Counted by the server in one query, not listed.
	for _, sev := range []string{"critical", "high", "medium", "low"} {
		d.BySeverity = append(d.BySeverity, sevCount{Severity: sev, N: status.Counts.UnhealthyBySeverity[sev]})
	}
	var recs struct{ Items []api.RecSummary }
	if !c.get(w, r, "/api/v1/recommendations?unhealthy=true", &recs) {
		return
	}
	d.TopRecs = recs.Items[:min(len(recs.Items), 5)]
	if !c.get(w, r, "/api/v1/score", &d.Score) {
		return
	}
	var hist struct{ Items []store.ScoreDay }
	if !c.get(w, r, "/api/v1/score/history?days=30", &hist) {
		return
	}
	d.Trend = scoreTrend(hist.Items, c.o.Now())
	// Counted per day by the store: every alert of the 30 days, however many.
	var alerts api.AlertStats
	if !c.get(w, r, "/api/v1/alerts/stats?days=30", &alerts) {
		return
	}
	for _, n := range alerts.BySeverity {
		d.AlertTotal += n
	}
	d.Alerts = alertCountBars(alerts.Items, c.o.Now())
	c.render(w, r, http.StatusOK, "dashboard", page{Title: "Workload protections", Nav: "dashboard", Data: d})
}

// --- Recommendations

type recsData struct {
	CSV, JSON string // export links with the list's filters
	Items     []api.RecSummary
	Controls  []recommend.Control
	Q         url.Values
}

func (c *Console) recommendations(w http.ResponseWriter, r *http.Request) {
	q := apiQuery(r, "severity", "control", "unhealthy", "kind", "cluster", "host")
	var out struct{ Items []api.RecSummary }
	if !c.get(w, r, "/api/v1/recommendations?"+q.Encode(), &out) {
		return
	}
	switch r.URL.Query().Get("sort") {
	case "title":
		sort.SliceStable(out.Items, func(i, j int) bool { return out.Items[i].Title < out.Items[j].Title })
	case "severity":
		sort.SliceStable(out.Items, func(i, j int) bool {
			return model.Severity(out.Items[i].Severity).Rank() > model.Severity(out.Items[j].Severity).Rank()
		})
	}
	var cat recommend.Catalog
	if !c.get(w, r, "/api/v1/catalog", &cat) {
		return
	}
	c.render(w, r, http.StatusOK, "recommendations", page{Title: "Recommendations", Nav: "recommendations", Data: recsData{CSV: "/recommendations.csv?" + q.Encode(), JSON: "/api/v1/recommendations?" + q.Encode(), Items: out.Items, Controls: cat.Controls, Q: r.URL.Query()}})
}

// recommendationsCSV exports the list as it is filtered. A cell that a
// spreadsheet would read as a formula is prefixed with a quote.
func (c *Console) recommendationsCSV(w http.ResponseWriter, r *http.Request) {
	q := apiQuery(r, "severity", "control", "unhealthy", "kind", "cluster", "host")
	var out struct{ Items []api.RecSummary }
	if !c.get(w, r, "/api/v1/recommendations?"+q.Encode(), &out) {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="recommendations.csv"`)
	cw := csv.NewWriter(w)
	statuses := []string{"unhealthy", "healthy", "not-applicable", "not-assessed", "exempt"}
	cw.Write(append([]string{"id", "title", "severity", "control"}, statuses...)) //nolint:errcheck
	for _, it := range out.Items {
		row := []string{csvCell(it.ID), csvCell(it.Title), it.Severity, csvCell(it.Control)}
		for _, st := range statuses {
			row = append(row, strconv.Itoa(it.Counts[st]))
		}
		cw.Write(row) //nolint:errcheck
	}
	cw.Flush()
}

func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

type recData struct {
	Rec       recommend.Recommendation
	Control   recommend.Control
	Counts    map[string]int
	Resources store.Page[store.RecResourceRow]
	Q         url.Values
	NextURL   string
}

func (c *Console) recommendation(w http.ResponseWriter, r *http.Request) {
	c.recommendationPage(w, r, http.StatusOK, "")
}

func (c *Console) recommendationPage(w http.ResponseWriter, r *http.Request, status int, errText string) {
	id := r.PathValue("id")
	var d recData
	var head struct {
		Recommendation recommend.Recommendation `json:"recommendation"`
		Control        recommend.Control        `json:"control"`
		Counts         map[string]int           `json:"counts"`
	}
	if !c.get(w, r, "/api/v1/recommendations/"+url.PathEscape(id), &head) {
		return
	}
	d.Rec, d.Control, d.Counts = head.Recommendation, head.Control, head.Counts
	q := apiQuery(r, "status", "cursor", "cluster", "host", "namespace")
	q.Set("limit", "50")
	if !c.get(w, r, "/api/v1/recommendations/"+url.PathEscape(id)+"/resources?"+q.Encode(), &d.Resources) {
		return
	}
	d.Q = r.URL.Query()
	if d.Resources.Next != "" {
		d.NextURL = withParam(r.URL, "cursor", d.Resources.Next)
	}
	c.render(w, r, status, "recommendation", page{Title: d.Rec.Title, Nav: "recommendations", Data: d, Error: errText})
}

func (c *Console) exempt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := r.PostForm
	scope, value, ok := c.exemptionScope(w, r)
	if !ok {
		return
	}
	st, body := c.post(r, "POST", "/api/v1/exemptions", api.NewExemption{Recommendation: id, Scope: scope, Value: value,
		Reason: f.Get("reason"), Expires: f.Get("expires")})
	if st != http.StatusCreated {
		c.recommendationPage(w, r, st, "The exemption was refused: "+problemText(body))
		return
	}
	http.Redirect(w, r, "/recommendations/"+url.PathEscape(id)+"?done=exempted", http.StatusSeeOther)
}

// revoke ends an exemption: what it covered comes back.
func (c *Console) revoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, body := c.post(r, "DELETE", "/api/v1/exemptions/"+url.PathEscape(r.PostForm.Get("exemption")), nil)
	if st != http.StatusNoContent {
		c.recommendationPage(w, r, st, "The revocation was refused: "+problemText(body))
		return
	}
	http.Redirect(w, r, "/recommendations/"+url.PathEscape(id)+"?done=revoked", http.StatusSeeOther)
}

// --- Alerts

type alertsData struct {
	Items   []model.Alert
	Q       url.Values
	NextURL string
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request) {
	q := apiQuery(r, "severity", "type", "status", "resource", "tactic", "since", "sort", "cursor")
	q.Set("limit", "50")
	var p store.Page[model.Alert]
	if !c.get(w, r, "/api/v1/alerts?"+q.Encode(), &p) {
		return
	}
	d := alertsData{Items: p.Items, Q: r.URL.Query()}
	if p.Next != "" {
		d.NextURL = withParam(r.URL, "cursor", p.Next)
	}
	c.render(w, r, http.StatusOK, "alerts", page{Title: "Security alerts", Nav: "alerts", Data: d})
}

func (c *Console) alert(w http.ResponseWriter, r *http.Request) { c.alertPage(w, r, http.StatusOK, "") }

func (c *Console) alertPage(w http.ResponseWriter, r *http.Request, status int, errText string) {
	var d api.AlertDetail
	if !c.get(w, r, "/api/v1/alerts/"+url.PathEscape(r.PathValue("id")), &d) {
		return
	}
	c.render(w, r, status, "alert", page{Title: d.Title, Nav: "alerts", Data: d, Error: errText})
}

func (c *Console) alertStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	to := r.PostForm.Get("status")
	st, body := c.post(r, "POST", "/api/v1/alerts/"+url.PathEscape(id)+"/status", map[string]string{"status": to, "comment": r.PostForm.Get("comment")})
	if st != http.StatusOK {
		c.alertPage(w, r, st, "The change was refused: "+problemText(body))
		return
	}
	http.Redirect(w, r, "/alerts/"+url.PathEscape(id)+"?done="+url.QueryEscape(to), http.StatusSeeOther)
}

// --- Inventory

type inventoryData struct {
	Items   []store.ResourceRow
	Q       url.Values
	NextURL string
}

func (c *Console) inventory(w http.ResponseWriter, r *http.Request) {
	q := apiQuery(r, "kind", "parent", "name", "health", "severity", "label", "sort", "cursor")
	q.Set("limit", "50")
	var p store.Page[store.ResourceRow]
	if !c.get(w, r, "/api/v1/resources?"+q.Encode(), &p) {
		return
	}
	d := inventoryData{Items: p.Items, Q: r.URL.Query()}
	if p.Next != "" {
		d.NextURL = withParam(r.URL, "cursor", p.Next)
	}
	c.render(w, r, http.StatusOK, "inventory", page{Title: "Inventory", Nav: "inventory", Data: d})
}

type resourceData struct {
	R           store.ResourceDetail
	Assessments store.Page[store.AssessmentRow]
	Alerts      store.Page[model.Alert]
	// An image's layers and OS, its vulnerabilities by package with the
	// upgrades that fix them, and a page of its packages; LayersErr says
	// why the stored inventory could not be shown.
	Layers    *api.ImageLayers
	LayersErr string
	Upgrades  api.ImageUpgrades
	Packages  api.PackagePage
	TopUps    []match.RankedUpgrade
	MoreUps   int
	VulnNext  string
	PkgNext   string
	Q         url.Values
	// A Docker host's, a cluster's or a workload's check results by
	// section, and a Docker host's containers.
	Sections   []api.Section
	Containers store.Page[store.ResourceRow]
}

// topUpgrades is how many ranked upgrades the image page lists: the rest
// fix less than the first and are in the JSON twin.
const topUpgrades = 20

func (c *Console) resource(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d := resourceData{Q: r.URL.Query()}
	if !c.get(w, r, "/api/v1/resources/"+idPath(id), &d.R) {
		return
	}
	q := url.Values{"resource": {id}, "limit": {"20"}}
	switch d.R.Kind {
	case model.KindImage:
		base := "/api/v1/images/" + url.PathEscape(id)
		var layers api.ImageLayers
		if st, body := c.call(r, sessionOf(r).cookie, "", "GET", base+"/layers", nil); st == http.StatusOK && json.Unmarshal(body, &layers) == nil {
			d.Layers = &layers
		} else {
			// An image known only by reference (a run, a registry listing)
			// has no inventory: the page says so instead of failing.
			d.LayersErr = problemText(body)
		}
		uq := url.Values{}
		if v := r.URL.Query().Get("vcursor"); v != "" {
			uq.Set("cursor", v)
		}
		if !c.get(w, r, base+"/upgrades?"+uq.Encode(), &d.Upgrades) {
			return
		}
		d.TopUps = d.Upgrades.Upgrades[:min(len(d.Upgrades.Upgrades), topUpgrades)]
		d.MoreUps = len(d.Upgrades.Upgrades) - len(d.TopUps)
		if d.Upgrades.Next != "" {
			d.VulnNext = withParam(r.URL, "vcursor", d.Upgrades.Next) + "#vulns"
		}
		if d.Layers != nil {
			pq := url.Values{"limit": {"50"}}
			if v := strings.TrimSpace(r.URL.Query().Get("package")); v != "" {
				pq.Set("name", v)
			}
			if v := r.URL.Query().Get("pcursor"); v != "" {
				pq.Set("cursor", v)
			}
			if !c.get(w, r, base+"/packages?"+pq.Encode(), &d.Packages) {
				return
			}
			if d.Packages.Next != "" {
				d.PkgNext = withParam(r.URL, "pcursor", d.Packages.Next) + "#pkgs"
			}
		}
	default:
		var sec api.Sections
		if !c.get(w, r, "/api/v1/assessments/sections?"+url.Values{"resource": {id}}.Encode(), &sec) {
			return
		}
		d.Sections = sec.Sections
		if d.R.Kind == model.KindDockerHost {
			cq := url.Values{"parent": {id}, "kind": {"container"}, "limit": {"50"}}
			if !c.get(w, r, "/api/v1/resources?"+cq.Encode(), &d.Containers) {
				return
			}
		}
		if !c.get(w, r, "/api/v1/alerts?"+q.Encode(), &d.Alerts) {
			return
		}
	}
	title := d.R.Name
	if title == "" {
		title = d.R.ID
	}
	c.render(w, r, http.StatusOK, "resource", page{Title: title, Nav: "inventory", Data: d})
}

// withParam is u with one query parameter set (the next page's link keeps
// every filter).
func withParam(u *url.URL, k, v string) string {
	q := u.Query()
	q.Set(k, v)
	q.Del("done")
	return u.Path + "?" + q.Encode()
}
