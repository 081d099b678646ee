package console

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// --- Vulnerabilities: CVE-centric search

type vulnsData struct {
	List    store.VulnList
	Q       url.Values
	NextURL string
	JSON    string
}

// vulnerabilities searches the vulnerabilities the findings hold: by id,
// alias, id prefix or package (q), narrowed by package, severity and KEV.
func (c *Console) vulnerabilities(w http.ResponseWriter, r *http.Request) {
	q := apiQuery(r, "q", "package", "severity", "kev", "cursor")
	q.Set("limit", "50")
	d := vulnsData{Q: r.URL.Query()}
	if !c.get(w, r, "/api/v1/vulnerabilities?"+q.Encode(), &d.List) {
		return
	}
	if d.List.Next != "" {
		d.NextURL = withParam(r.URL, "cursor", d.List.Next)
	}
	q.Del("cursor")
	d.JSON = "/api/v1/vulnerabilities?" + q.Encode()
	c.render(w, r, http.StatusOK, "vulnerabilities", page{Title: "Vulnerabilities", Nav: "vulnerabilities", Data: d})
}

// whereRoot is a host or cluster with the containers and workloads on it
// that run an affected image.
type whereRoot struct {
	ID      string
	Runners []store.RunRow
}

type vulnData struct {
	// Repos are the repositories the affected images were seen under (an
	// exemption's scope).
	Repos      []string
	V          store.VulnSummary
	Where      store.Where
	Roots      []whereRoot
	Elsewhere  []store.RunRow // runners whose host or cluster is unknown
	Exemptions []recommend.Exemption
}

// vulnerability is one vulnerability across the fleet: its advisory (KEV,
// EPSS, aliases), every image with the packages and fixed versions, the
// containers and workloads running them by host and cluster, and the
// exemptions of it (by its id or an alias).
func (c *Console) vulnerability(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var l store.VulnList
	if !c.get(w, r, "/api/v1/vulnerabilities?"+url.Values{"q": {id}, "limit": {"5"}}.Encode(), &l) {
		return
	}
	var d vulnData
	found := false
	if l.Match == "id" {
		for _, v := range l.Items {
			if v.ID == id {
				d.V, found = v, true
			}
		}
		if !found && len(l.Items) == 1 {
			// An alias (a GHSA of a stored CVE): the page of the id the
			// findings use.
			http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(l.Items[0].ID), http.StatusSeeOther)
			return
		}
	}
	if !found {
		c.errorPage(w, r, sessionOf(r), http.StatusNotFound, "No such vulnerability", "No image has a finding of "+id+". Search by package or id prefix on the vulnerabilities page.")
		return
	}
	if !c.get(w, r, "/api/v1/vulnerabilities/"+url.PathEscape(id), &d.Where) {
		return
	}
	byRoot := map[string]int{}
	for _, run := range d.Where.Runners {
		if run.RootID == "" {
			d.Elsewhere = append(d.Elsewhere, run)
			continue
		}
		i, ok := byRoot[run.RootID]
		if !ok {
			i = len(d.Roots)
			byRoot[run.RootID] = i
			d.Roots = append(d.Roots, whereRoot{ID: run.RootID})
		}
		d.Roots[i].Runners = append(d.Roots[i].Runners, run)
	}
	sort.Slice(d.Roots, func(i, j int) bool { return d.Roots[i].ID < d.Roots[j].ID })
	seen := map[string]bool{}
	for _, im := range d.Where.Images {
		for _, ref := range im.References {
			repo := ref
			if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
				repo = ref[:i] // the tag off
			}
			if !seen[repo] {
				seen[repo] = true
				d.Repos = append(d.Repos, repo)
			}
		}
	}
	sort.Strings(d.Repos)
	eq := url.Values{"kind": {"vulnerability"}, "vulnerability": append([]string{id}, d.V.Aliases...)}
	if len(eq["vulnerability"]) > 20 {
		eq["vulnerability"] = eq["vulnerability"][:20]
	}
	var ex struct{ Items []recommend.Exemption }
	if !c.get(w, r, "/api/v1/exemptions?"+eq.Encode(), &ex) {
		return
	}
	d.Exemptions = ex.Items
	c.render(w, r, http.StatusOK, "vulnerability", page{Title: id, Nav: "vulnerabilities", Data: d})
}

// vulnExempt exempts the vulnerability everywhere, for an affected image's
// repository, or for one image, with a reason and an expiry or until a fix
// exists (analysts and admins: the API refuses anyone else).
func (c *Console) vulnExempt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := r.PostForm
	in := api.NewExemption{Vulnerability: id, Reason: f.Get("reason")}
	scope, value, _ := strings.Cut(f.Get("target"), ":")
	in.Scope, in.Value = recommend.Scope(scope), value
	if e := f.Get("expires"); e == "fix" {
		in.UntilFix = true
	} else {
		in.Expires = e
	}
	st, body := c.post(r, "POST", "/api/v1/exemptions", in)
	if st != http.StatusCreated {
		c.errorPage(w, r, sessionOf(r), st, "Exemption refused", "The exemption of "+id+" was refused: "+problemText(body))
		return
	}
	http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(id)+"?done=exempted-vuln", http.StatusSeeOther)
}

// vulnRevoke ends one of the vulnerability's exemptions.
func (c *Console) vulnRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, body := c.post(r, "DELETE", "/api/v1/exemptions/"+url.PathEscape(r.PostForm.Get("exemption")), nil)
	if st != http.StatusNoContent {
		c.errorPage(w, r, sessionOf(r), st, "Revocation refused", "The revocation was refused: "+problemText(body))
		return
	}
	http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(id)+"?done=revoked-vuln", http.StatusSeeOther)
}
