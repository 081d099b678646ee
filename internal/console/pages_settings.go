package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// --- Settings (admins): users, tokens, registries, exemptions. Each form
// goes to the API route that makes the change; the console refuses a
// non-admin first so a reader or analyst gets the same 403 on the page and
// on a forged post, whatever the API route's own scope (revoking an
// exemption is an analyst's right on the recommendation page, but the
// settings list of every exemption is an admin's).

func (c *Console) settingsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /settings", c.authed(c.admin(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/settings/users", http.StatusSeeOther)
	})))
	m.HandleFunc("GET /settings/users", c.authed(c.admin(c.usersPage)))
	m.HandleFunc("POST /settings/users", c.authed(c.admin(c.userCreate)))
	m.HandleFunc("POST /settings/users/{name}", c.authed(c.admin(c.userChange)))
	m.HandleFunc("GET /settings/tokens", c.authed(c.admin(c.tokensPage)))
	m.HandleFunc("POST /settings/tokens", c.authed(c.admin(c.tokenCreate)))
	m.HandleFunc("POST /settings/tokens/{id}/revoke", c.authed(c.admin(c.tokenRevoke)))
	m.HandleFunc("GET /settings/registries", c.authed(c.admin(c.registriesPage)))
	m.HandleFunc("POST /settings/registries", c.authed(c.admin(c.registryAdd)))
	m.HandleFunc("POST /settings/registries/{name}/crawl", c.authed(c.admin(c.registryCrawl)))
	m.HandleFunc("POST /settings/registries/{name}/delete", c.authed(c.admin(c.registryDelete)))
	m.HandleFunc("GET /settings/exemptions", c.authed(c.admin(c.exemptionsPage)))
	m.HandleFunc("POST /settings/exemptions/{id}/revoke", c.authed(c.admin(c.exemptionRevoke)))
}

// admin lets only an admin's session through.
func (c *Console) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s := sessionOf(r); s == nil || !s.can("admin") {
			c.errorPage(w, r, s, http.StatusForbidden, "Forbidden", "Settings are for admins.")
			return
		}
		h(w, r)
	}
}

// settingsDone redirects after a change to the page with its message.
func settingsDone(w http.ResponseWriter, r *http.Request, path, done string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// --- Users

type usersData struct{ Items []store.User }

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request) {
	c.usersRender(w, r, http.StatusOK, "")
}

func (c *Console) usersRender(w http.ResponseWriter, r *http.Request, status int, errText string) {
	var d usersData
	if !c.get(w, r, "/api/v1/users", &d) {
		return
	}
	sort.Slice(d.Items, func(i, j int) bool { return d.Items[i].Name < d.Items[j].Name })
	c.render(w, r, status, "settings_users", page{Title: "Settings: users", Nav: "settings", Data: d, Error: errText})
}

func (c *Console) userCreate(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	if f.Get("password") != f.Get("confirm") {
		c.usersRender(w, r, http.StatusBadRequest, "The two passwords differ.")
		return
	}
	st, body := c.post(r, "POST", "/api/v1/users", map[string]string{"name": strings.TrimSpace(f.Get("name")), "role": f.Get("role"), "password": f.Get("password")})
	if st != http.StatusCreated {
		c.usersRender(w, r, st, "The user was not created: "+problemText(body))
		return
	}
	settingsDone(w, r, "/settings/users", "user-created")
}

// userChange applies one action of a user's row: role, disable, enable,
// delete.
func (c *Console) userChange(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	path := "/api/v1/users/" + url.PathEscape(name)
	var st int
	var body []byte
	done := "user-updated"
	switch r.PostForm.Get("action") {
	case "role":
		st, body = c.post(r, "PATCH", path, map[string]any{"role": r.PostForm.Get("role")})
	case "disable":
		st, body = c.post(r, "PATCH", path, map[string]any{"disabled": true})
	case "enable":
		st, body = c.post(r, "PATCH", path, map[string]any{"disabled": false})
	case "delete":
		st, body = c.post(r, "DELETE", path, nil)
		done = "user-deleted"
	default:
		c.usersRender(w, r, http.StatusBadRequest, "Unknown action: role, disable, enable or delete.")
		return
	}
	if st != http.StatusOK && st != http.StatusNoContent {
		c.usersRender(w, r, st, "The change to "+name+" was refused: "+problemText(body))
		return
	}
	settingsDone(w, r, "/settings/users", done)
}

// --- Tokens

type tokenRow struct {
	store.Token
	State string // active, expired, revoked
}

type tokensData struct {
	Items []tokenRow
	// Created is the token just made: its secret is on this answer only.
	Created *createdToken
	Form    api.TokenRequest
}

type createdToken struct {
	Secret string
	Info   store.Token
	Enrol  bool
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request) {
	c.tokensRender(w, r, http.StatusOK, "", tokensData{})
}

func (c *Console) tokensRender(w http.ResponseWriter, r *http.Request, status int, errText string, d tokensData) {
	var out struct{ Items []store.Token }
	if !c.get(w, r, "/api/v1/tokens", &out) {
		return
	}
	now := c.o.Now()
	for _, t := range out.Items {
		row := tokenRow{Token: t, State: "active"}
		switch {
		case !t.RevokedAt.IsZero():
			row.State = "revoked"
		case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
			row.State = "expired"
		}
		d.Items = append(d.Items, row)
	}
	// Working tokens first, newest first.
	sort.SliceStable(d.Items, func(i, j int) bool {
		if (d.Items[i].State == "active") != (d.Items[j].State == "active") {
			return d.Items[i].State == "active"
		}
		return d.Items[i].CreatedAt.After(d.Items[j].CreatedAt)
	})
	c.render(w, r, status, "settings_tokens", page{Title: "Settings: tokens", Nav: "settings", Data: d, Error: errText})
}

// tokenCreate makes an API token (scopes) or an agent's enrolment token
// (enroll alone, short-lived, bound to a host or cluster) and shows its
// secret on this answer, never again (the page is no-store).
func (c *Console) tokenCreate(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	in := api.TokenRequest{Name: strings.TrimSpace(f.Get("name")), Expires: f.Get("expires"), Resource: strings.TrimSpace(f.Get("resource"))}
	if f.Get("kind") == "enrol" {
		in.Scopes = "enroll"
	} else {
		in.Scopes = strings.Join(f["scope"], ",")
	}
	st, body := c.post(r, "POST", "/api/v1/tokens", in)
	if st != http.StatusCreated {
		c.tokensRender(w, r, st, "The token was not created: "+problemText(body), tokensData{Form: in})
		return
	}
	var out struct {
		Token string      `json:"token"`
		Info  store.Token `json:"info"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		c.errorPage(w, r, sessionOf(r), http.StatusInternalServerError, "Internal error", "The console could not read the server's answer.")
		return
	}
	c.tokensRender(w, r, http.StatusCreated, "", tokensData{Created: &createdToken{Secret: out.Token, Info: out.Info, Enrol: in.Scopes == "enroll"}})
}

func (c *Console) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	st, body := c.post(r, "DELETE", "/api/v1/tokens/"+url.PathEscape(r.PathValue("id")), nil)
	if st != http.StatusNoContent {
		c.tokensRender(w, r, st, "The revocation was refused: "+problemText(body), tokensData{})
		return
	}
	settingsDone(w, r, "/settings/tokens", "token-revoked")
}

// --- Registries

type registriesData struct {
	Items []registry.Config
	Form  url.Values
}

func (c *Console) registriesPage(w http.ResponseWriter, r *http.Request) {
	c.registriesRender(w, r, http.StatusOK, "", nil)
}

func (c *Console) registriesRender(w http.ResponseWriter, r *http.Request, status int, errText string, form url.Values) {
	d := registriesData{Form: form}
	if d.Form == nil {
		d.Form = url.Values{}
	}
	var out struct{ Items []registry.Config }
	if !c.get(w, r, "/api/v1/registries", &out) {
		return
	}
	d.Items = out.Items
	c.render(w, r, status, "settings_registries", page{Title: "Settings: registries", Nav: "settings", Data: d, Error: errText})
}

// lines splits a textarea into its non-empty lines (commas too).
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (c *Console) registryAdd(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	in := api.RegistryRequest{Config: registry.Config{Name: strings.TrimSpace(f.Get("name")), URL: strings.TrimSpace(f.Get("url")), Auth: f.Get("auth"),
		Username: strings.TrimSpace(f.Get("username")), Include: lines(f.Get("include")), Exclude: lines(f.Get("exclude")), Repositories: lines(f.Get("repositories")),
		Insecure: f.Get("insecure") == "true"}}
	if v := strings.TrimSpace(f.Get("crawl_interval")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			c.registriesRender(w, r, http.StatusBadRequest, "Crawl interval: a duration such as 1h or 30m (empty: events only).", keepRegistryForm(f))
			return
		}
		in.CrawlInterval = registry.Duration(d)
	}
	if in.Auth == registry.AuthToken {
		in.Token = f.Get("secret")
	} else {
		in.Password = f.Get("secret")
	}
	st, body := c.post(r, "POST", "/api/v1/registries", in)
	if st != http.StatusCreated {
		c.registriesRender(w, r, st, "The registry was not added: "+problemText(body), keepRegistryForm(f))
		return
	}
	settingsDone(w, r, "/settings/registries", "registry-added")
}

// keepRegistryForm is the form as sent, less its secret (never written
// back into a page).
func keepRegistryForm(f url.Values) url.Values {
	k := url.Values{}
	for key, v := range f {
		if key != "secret" && key != "csrf" {
			k[key] = v
		}
	}
	return k
}

func (c *Console) registryCrawl(w http.ResponseWriter, r *http.Request) {
	st, body := c.post(r, "POST", "/api/v1/registries/"+url.PathEscape(r.PathValue("name"))+"/crawl", nil)
	if st != http.StatusAccepted {
		c.registriesRender(w, r, st, "The crawl was refused: "+problemText(body), nil)
		return
	}
	settingsDone(w, r, "/settings/registries", "crawl")
}

func (c *Console) registryDelete(w http.ResponseWriter, r *http.Request) {
	st, body := c.post(r, "DELETE", "/api/v1/registries/"+url.PathEscape(r.PathValue("name")), nil)
	if st != http.StatusNoContent {
		c.registriesRender(w, r, st, "The registry was not removed: "+problemText(body), nil)
		return
	}
	settingsDone(w, r, "/settings/registries", "registry-removed")
}

// --- Exemptions

type exemptionsData struct {
	Items []exemptionRow
	Q     url.Values
}

type exemptionRow struct {
	recommend.Exemption
	State string // in force, expired, revoked
}

// exemptionsPage lists every exemption, of recommendations and of
// vulnerabilities (?kind=), in force or (?ended=true) all of them.
func (c *Console) exemptionsPage(w http.ResponseWriter, r *http.Request) {
	c.exemptionsRender(w, r, http.StatusOK, "")
}

func (c *Console) exemptionsRender(w http.ResponseWriter, r *http.Request, status int, errText string) {
	q := apiQuery(r, "kind", "ended")
	var out struct{ Items []recommend.Exemption }
	if !c.get(w, r, "/api/v1/exemptions?"+q.Encode(), &out) {
		return
	}
	d := exemptionsData{Q: r.URL.Query()}
	now := c.o.Now()
	for i := len(out.Items) - 1; i >= 0; i-- { // newest first
		e := out.Items[i]
		row := exemptionRow{Exemption: e, State: "in force"}
		switch {
		case !e.RevokedAt.IsZero():
			row.State = "revoked"
		case !e.Active(now):
			row.State = "expired"
		}
		d.Items = append(d.Items, row)
	}
	c.render(w, r, status, "settings_exemptions", page{Title: "Settings: exemptions", Nav: "settings", Data: d, Error: errText})
}

func (c *Console) exemptionRevoke(w http.ResponseWriter, r *http.Request) {
	st, body := c.post(r, "DELETE", "/api/v1/exemptions/"+url.PathEscape(r.PathValue("id")), nil)
	if st != http.StatusNoContent {
		c.exemptionsRender(w, r, st, "The revocation was refused: "+problemText(body))
		return
	}
	settingsDone(w, r, "/settings/exemptions", "revoked")
}

// withSSO adds the single sign-on link to the log-in page when the API
// says the server has one (GET /api/v1/login/methods, anonymous).
func (c *Console) withSSO(r *http.Request, d loginData) loginData {
	st, body := c.call(r, nil, "", "GET", "/api/v1/login/methods", nil)
	var m api.LoginMethods
	if st != http.StatusOK || json.Unmarshal(body, &m) != nil || m.OIDC == nil {
		return d
	}
	d.SSOName, d.SSOURL = m.OIDC.Name, m.OIDC.Login+"?"+url.Values{"return_to": {d.ReturnTo}}.Encode()
	return d
}
