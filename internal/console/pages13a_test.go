package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// More of the fixture for the score, vulnerability and settings pages: an
// admin who needs no first-run change, a known-exploited vulnerability with
// an alias, an EPSS score and a hostile title, a container running its
// image on a Docker host, and an exemption of it with a hostile reason.
const (
	kevCVE   = "CVE-2026-0002"
	kevAlias = "GHSA-hhhh-jjjj-kkkk"
)

func moreFixture(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	st := f.s.Store
	h, err := auth.HashPassword(f.password)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, store.User{Name: "ada", Role: string(auth.RoleAdmin), PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	img2 := "sha256:" + strings.Repeat("cd", 32)
	kev := model.Finding{ID: kevCVE, Aliases: []string{kevAlias}, Title: hostileName, Severity: model.SeverityCritical, Status: model.StatusFixed,
		KnownExploited: true, KEVDateAdded: "2026-11-20", EPSS: &model.EPSS{Score: 0.5312, Percentile: 0.991, Date: "2026-11-30"},
		Package: model.Package{Name: "openssl", Version: "3.0.1", Type: "deb"}, InstalledVersion: "3.0.1", FixedVersion: "3.0.2"}
	now := fixedNow
	if _, err := st.Ingest(ctx, &store.Batch{Kind: "image", Subject: img2, At: now, ContentHash: "img2",
		Resources: []model.Resource{{Kind: model.KindImage, ID: img2, Name: "registry.example/api:2.0"}},
		ImageRefs: []store.ImageRef{{ImageID: img2, Repository: "registry.example/api", Tag: "2.0"}},
		Findings:  []model.Finding{kev}, Matched: true,
		Health: &store.Health{Verdict: model.VerdictUnhealthy, Counts: model.Counts{Critical: 1, Total: 1}, DBVersion: "test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, &store.Batch{Kind: "docker-bench", Subject: "ENGINE-1", At: now, ContentHash: "host1", Source: "cis-docker",
		Resources: []model.Resource{{Kind: model.KindDockerHost, ID: "ENGINE-1", Name: "node-1"}, {Kind: model.KindContainer, ID: "ENGINE-1/c1", Name: "api", Parent: "ENGINE-1"}},
		Runs:      []store.Run{{RunnerID: "ENGINE-1/c1", Image: img2, RootID: "ENGINE-1"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateExemption(ctx, recommend.Exemption{ID: "ex-vuln1", Vulnerability: kevAlias, Scope: recommend.ScopeRepository, Value: "registry.example/api",
		Reason: "mitigated: " + hostileEvidence, Author: "ana", Source: "api", CreatedAt: now, Expires: now.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

func noScript(t *testing.T, what, body string) {
	t.Helper()
	for _, bad := range []string{"<script", "<img", `"onerror`} {
		if strings.Contains(body, bad) {
			t.Errorf("%s: unescaped %q in the page", what, bad)
		}
	}
}

// TestConsoleScoreVulnsSettings drives the secure score, vulnerability and
// settings pages over HTTP against the real server handler.
func TestConsoleScoreVulnsSettings(t *testing.T) {
	f := newFixture(t, server.Options{})
	moreFixture(t, f)
	srv := httptest.NewServer(f.s.Handler())
	t.Cleanup(srv.Close)
	ada, ana, rita := newBrowser(t, srv.URL), newBrowser(t, srv.URL), newBrowser(t, srv.URL)
	ada.login("ada", f.password)
	ana.login("ana", f.password)
	rita.login("rita", f.password)

	// Every new page renders for a reader; hostile strings only as text.
	for _, p := range []string{"/score", "/score?control=manage-access-and-permissions&days=7", "/score?sort=title", "/vulnerabilities",
		"/vulnerabilities?q=" + kevAlias, "/vulnerabilities?q=" + url.QueryEscape(hostilePackage), "/vulnerabilities?kev=true&severity=high",
		"/vulnerabilities/" + kevCVE, "/vulnerabilities/CVE-2026-0001"} {
		st, body, _ := rita.do("GET", p, nil)
		expect(t, p, st, 200, body, "<h1>")
		noScript(t, p, body)
	}
	_, body, _ := rita.do("GET", "/score", nil)
	expect(t, "score", 200, 200, body, `href="/recommendations/REC-PRIVILEGED"`, `aria-label="0% of the points gained"`, "Manage access and permissions", "<svg", `href="/vulnerabilities"`)
	if strings.Contains(body, "/settings") {
		t.Error("a reader is shown the settings link")
	}
	_, body, _ = rita.do("GET", "/score?control=manage-access-and-permissions", nil)
	if n := strings.Count(body, "data-control="); n != 1 {
		t.Errorf("one control asked, %d shown", n)
	}
	for _, p := range []string{"/score?days=5", "/score?sort=worst"} {
		if st, _, _ := rita.do("GET", p, nil); st != 400 {
			t.Errorf("%s: %d, want 400", p, st)
		}
	}
	if st, _, _ := rita.do("GET", "/score?control=nope", nil); st != 404 {
		t.Errorf("unknown control: %d", st)
	}

	// Vulnerabilities: search by alias, package, prefix; flags; detail.
	_, body, _ = rita.do("GET", "/vulnerabilities?q="+kevAlias, nil)
	expect(t, "search by alias", 200, 200, body, `data-vuln="`+kevCVE+`"`, `class="flag"`, "EPSS 53.1%", "Matched the id or one of its aliases.", "&lt;script&gt;alert(&#34;xss-name&#34;)&lt;/script&gt;")
	if strings.Contains(body, `data-vuln="CVE-2026-0001"`) {
		t.Error("the alias search lists another vulnerability")
	}
	_, body, _ = rita.do("GET", "/vulnerabilities?q="+url.QueryEscape(hostilePackage), nil)
	expect(t, "search by package", 200, 200, body, `data-vuln="CVE-2026-0001"`, "Matched the package “pkg&lt;script&gt;")
	_, body, _ = rita.do("GET", "/vulnerabilities?q=cve-2026-", nil)
	expect(t, "search by prefix", 200, 200, body, `data-vuln="CVE-2026-0001"`, `data-vuln="`+kevCVE+`"`, "Matched ids beginning with")
	_, body, _ = rita.do("GET", "/vulnerabilities?q=nothing-here", nil)
	expect(t, "no match", 200, 200, body, "Nothing matches", "No vulnerability matches.")
	_, body, _ = rita.do("GET", "/vulnerabilities?kev=true", nil)
	if !strings.Contains(body, `data-vuln="`+kevCVE+`"`) || strings.Contains(body, `data-vuln="CVE-2026-0001"`) {
		t.Errorf("KEV filter:\n%s", body)
	}
	if st, _, _ := rita.do("GET", "/vulnerabilities?severity=dire", nil); st != 400 {
		t.Errorf("bad severity: %d", st)
	}
	_, body, _ = rita.do("GET", "/vulnerabilities/"+kevCVE, nil)
	expect(t, "vulnerability page", 200, 200, body, "registry.example/api:2.0", "openssl 3.0.1 → 3.0.2", `href="/inventory/ENGINE-1"`, `href="/inventory/ENGINE-1/c1"`,
		"in CISA's KEV catalogue since 2026-11-20", "53.1% in the next 30 days", kevAlias, "mitigated: &#34;&gt;&lt;img src=x onerror=alert(&#34;xss-evidence&#34;)&gt;", "repository <code>registry.example/api</code>")
	if st, _, h := rita.do("GET", "/vulnerabilities/"+kevAlias, nil); st != http.StatusSeeOther || h.Get("Location") != "/vulnerabilities/"+kevCVE {
		t.Errorf("alias: %d to %q", st, h.Get("Location"))
	}
	if st, _, _ := rita.do("GET", "/vulnerabilities/CVE-1999-0001", nil); st != 404 {
		t.Errorf("unknown vulnerability: %d", st)
	}

	// The dashboard counts alerts per day through the store.
	_, body, _ = rita.do("GET", "/", nil)
	expect(t, "dashboard alerts", 200, 200, body, "Alerts over 30 days by severity: 1", `<title>1 Dec: 1 high</title>`)

	// Settings: an admin sees the link; a reader and an analyst get 403 on
	// every page and post, CSRF or not.
	_, body, _ = ada.do("GET", "/", nil)
	expect(t, "admin's nav", 200, 200, body, `href="/settings/users"`)
	if _, body, _ := ana.do("GET", "/", nil); strings.Contains(body, "/settings") {
		t.Error("an analyst is shown the settings link")
	}
	for _, who := range []*browser{rita, ana} {
		tok := who.csrf("/")
		for _, p := range []string{"/settings", "/settings/users", "/settings/tokens", "/settings/registries", "/settings/exemptions"} {
			if st, _, _ := who.do("GET", p, nil); st != 403 {
				t.Errorf("GET %s by a non-admin: %d", p, st)
			}
		}
		for _, p := range []string{"/settings/users", "/settings/users/rita", "/settings/tokens", "/settings/tokens/x/revoke", "/settings/registries",
			"/settings/registries/x/crawl", "/settings/registries/x/delete", "/settings/exemptions/ex-vuln1/revoke"} {
			if st, _, _ := who.do("POST", p, url.Values{"csrf": {tok}, "name": {"x"}, "action": {"delete"}}); st != 403 {
				t.Errorf("POST %s by a non-admin: %d", p, st)
			}
		}
	}
	atok := ada.csrf("/settings/users")
	if st, _, _ := ada.do("POST", "/settings/users", url.Values{"name": {"bob"}, "role": {"analyst"}, "password": {"a long passphrase!"}, "confirm": {"a long passphrase!"}}); st != 403 {
		t.Errorf("create a user without CSRF: %d", st)
	}

	// Users: create, change role, disable, enable, delete; bad input shown.
	st, body, _ := ada.do("POST", "/settings/users", url.Values{"csrf": {atok}, "name": {hostileName}, "role": {"analyst"}, "password": {"a long passphrase!"}, "confirm": {"a long passphrase!"}})
	expect(t, "hostile user name", st, 400, body, "The user was not created: bad user name")
	noScript(t, "users page", body)
	st, body, _ = ada.do("POST", "/settings/users", url.Values{"csrf": {atok}, "name": {"bob"}, "role": {"analyst"}, "password": {"a long passphrase!"}, "confirm": {"another"}})
	expect(t, "mismatched passwords", st, 400, body, "The two passwords differ.")
	st, _, h := ada.do("POST", "/settings/users", url.Values{"csrf": {atok}, "name": {"bob"}, "role": {"analyst"}, "password": {"a long passphrase!"}, "confirm": {"a long passphrase!"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/settings/users?done=user-created" {
		t.Fatalf("create bob: %d to %q", st, h.Get("Location"))
	}
	userRow := func() string {
		_, body, _ := ada.do("GET", "/settings/users", nil)
		m := regexp.MustCompile(`<tr data-user="bob">.*`).FindString(body)
		return m
	}
	if r := userRow(); !strings.Contains(r, "<td>analyst</td>") || !strings.Contains(r, "must set a password") {
		t.Errorf("bob's row: %s", r)
	}
	for _, step := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"action": {"role"}, "role": {"reader"}}, "<td>reader</td>"},
		{url.Values{"action": {"disable"}}, "<td>disabled</td>"},
		{url.Values{"action": {"enable"}}, "must set a password"},
	} {
		step.form.Set("csrf", atok)
		if st, _, _ := ada.do("POST", "/settings/users/bob", step.form); st != http.StatusSeeOther {
			t.Errorf("%v: %d", step.form, st)
		}
		if r := userRow(); !strings.Contains(r, step.want) {
			t.Errorf("after %v: %s", step.form, r)
		}
	}
	st, body, _ = ada.do("POST", "/settings/users/bob", url.Values{"csrf": {atok}, "action": {"role"}, "role": {"root"}})
	expect(t, "bad role", st, 400, body, "The change to bob was refused: bad role")
	if st, _, _ := ada.do("POST", "/settings/users/bob", url.Values{"csrf": {atok}, "action": {"delete"}}); st != http.StatusSeeOther {
		t.Errorf("delete bob: %d", st)
	}
	if userRow() != "" {
		t.Error("bob is still listed")
	}
	st, body, _ = ada.do("POST", "/settings/users/ada", url.Values{"csrf": {atok}, "action": {"delete"}})
	expect(t, "delete oneself", st, 400, body, "cannot delete yourself")

	// Tokens: the secret is on the creation's answer only; it works until
	// revoked.
	st, body, _ = ada.do("POST", "/settings/tokens", url.Values{"csrf": {atok}, "name": {"ci " + hostileName}, "kind": {"api"}, "scope": {"read", "ingest"}, "expires": {"90d"}})
	expect(t, "token created", st, 201, body, "is shown this once", "scopes: ingest, read")
	noScript(t, "token page", body)
	secret := regexp.MustCompile(`<code id="secret" class="secret">([^<]+)</code>`).FindStringSubmatch(body)
	if secret == nil {
		t.Fatalf("no secret on the page:\n%s", body)
	}
	useToken := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/status", nil)
		req.Header.Set("Authorization", "Bearer "+secret[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := useToken(); got != 200 {
		t.Errorf("the new token: %d", got)
	}
	_, body, _ = ada.do("GET", "/settings/tokens", nil)
	if strings.Contains(body, secret[1]) {
		t.Error("the secret is shown again")
	}
	id, _, _ := auth.ParseToken(secret[1])
	if !strings.Contains(body, `data-token="`+id+`"`) {
		t.Errorf("the token is not listed:\n%s", body)
	}
	if st, _, _ := ada.do("POST", "/settings/tokens/"+id+"/revoke", url.Values{"csrf": {atok}}); st != http.StatusSeeOther {
		t.Errorf("revoke: %d", st)
	}
	if got := useToken(); got != 401 {
		t.Errorf("the revoked token: %d", got)
	}
	st, body, _ = ada.do("POST", "/settings/tokens", url.Values{"csrf": {atok}, "name": {"node-a"}, "kind": {"enrol"}, "expires": {"never"}, "resource": {"docker-host/node-a"}})
	expect(t, "enrolment token that never expires", st, 400, body, "enrolment token has the enroll scope alone and expires within 7 days", `value="node-a"`)
	st, body, _ = ada.do("POST", "/settings/tokens", url.Values{"csrf": {atok}, "name": {"node-a"}, "kind": {"enrol"}, "expires": {"1h"}, "resource": {"docker-host/node-a"}})
	expect(t, "enrolment token", st, 201, body, "An enrolment token", "<code>docker-host/node-a</code>")

	// Registries: add (the secret is never written back), crawl, remove.
	st, body, _ = ada.do("POST", "/settings/registries", url.Values{"csrf": {atok}, "name": {"local"}, "url": {"ftp://x"}, "auth": {"basic"}, "username": {"u"}, "secret": {"hunter2-secret"}})
	expect(t, "bad registry", st, 422, body, "The registry was not added", `value="local"`)
	if strings.Contains(body, "hunter2-secret") {
		t.Error("the registry secret is written back into the page")
	}
	st, _, h = ada.do("POST", "/settings/registries", url.Values{"csrf": {atok}, "name": {"local"}, "url": {"http://127.0.0.1:5999"}, "auth": {"none"},
		"include": {"team-a/**\nteam-b/*"}, "crawl_interval": {"1h"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/settings/registries?done=registry-added" {
		t.Fatalf("add a registry: %d to %q", st, h.Get("Location"))
	}
	_, body, _ = ada.do("GET", "/settings/registries", nil)
	expect(t, "registry listed", 200, 200, body, `data-registry="local"`, "team-a/**, team-b/*", "every 1h0m0s")
	if st, _, h := ada.do("POST", "/settings/registries/local/crawl", url.Values{"csrf": {atok}}); st != http.StatusSeeOther || h.Get("Location") != "/settings/registries?done=crawl" {
		t.Errorf("crawl: %d to %q", st, h.Get("Location"))
	}
	if st, _, _ := ada.do("POST", "/settings/registries/local/delete", url.Values{"csrf": {atok}}); st != http.StatusSeeOther {
		t.Errorf("remove: %d", st)
	}
	if _, body, _ := ada.do("GET", "/settings/registries", nil); strings.Contains(body, `data-registry="local"`) {
		t.Error("the removed registry is listed")
	}

	// Exemption scopes from the recommendation page: the workload's
	// namespace; an image's repository is read from the inventory.
	ntok := ana.csrf("/")
	st, _, _ = ana.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"csrf": {ntok}, "resource": {f.web}, "scope": {"namespace"}, "namespace": {"c1/shop"},
		"reason": {"the shop namespace runs node agents"}, "expires": {"30d"}})
	if st != http.StatusSeeOther {
		t.Fatalf("namespace exemption: %d", st)
	}
	st, _, _ = ana.do("POST", "/recommendations/REC-IMAGE-VULNS/exempt", url.Values{"csrf": {ntok}, "resource": {f.image}, "scope": {"repository"}, "reason": {"a test image"}, "expires": {"7d"}})
	if st != http.StatusSeeOther {
		t.Fatalf("repository exemption: %d", st)
	}
	st, body, _ = ana.do("POST", "/recommendations/REC-PRIVILEGED/exempt", url.Values{"csrf": {ntok}, "resource": {f.web}, "scope": {"galaxy"}, "reason": {"r"}, "expires": {"30d"}})
	expect(t, "unknown scope", st, 400, body, "scope: this resource, its repository, its namespace or its cluster")
	exs, err := f.s.Store.Exemptions(context.Background(), store.ExemptionQuery{Kind: "recommendation"})
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, e := range exs {
		scopes[e.Recommendation] = string(e.Scope) + " " + e.Value
	}
	if scopes["REC-PRIVILEGED"] != "namespace c1/shop" || scopes["REC-IMAGE-VULNS"] != "repository registry.example/app" {
		t.Errorf("exemption scopes: %v", scopes)
	}
	if err := f.s.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, body, _ = ana.do("GET", "/recommendations/REC-PRIVILEGED?status=exempt", nil)
	for _, w := range []string{f.web, f.evl} {
		if !strings.Contains(body, `data-resource="`+w+`"`) {
			t.Errorf("the namespace exemption does not cover %s", w)
		}
	}

	// Exemptions settings: every exemption with its scope and author;
	// revoke one; the ended ones on demand.
	_, body, _ = ada.do("GET", "/settings/exemptions", nil)
	expect(t, "exemptions", 200, 200, body, `data-exemption="ex-vuln1"`, "namespace <code>c1/shop</code>", "repository <code>registry.example/app</code>", "mitigated: &#34;&gt;&lt;img")
	noScript(t, "exemptions", body)
	_, body, _ = ada.do("GET", "/settings/exemptions?kind=vulnerability", nil)
	if strings.Contains(body, "c1/shop") || !strings.Contains(body, "ex-vuln1") {
		t.Error("kind=vulnerability lists other exemptions")
	}
	if st, _, h := ada.do("POST", "/settings/exemptions/ex-vuln1/revoke", url.Values{"csrf": {atok}}); st != http.StatusSeeOther || h.Get("Location") != "/settings/exemptions?done=revoked" {
		t.Errorf("revoke from the settings: %d to %q", st, h.Get("Location"))
	}
	if _, body, _ := ada.do("GET", "/settings/exemptions", nil); strings.Contains(body, `data-exemption="ex-vuln1"`) {
		t.Error("the revoked exemption is still in force")
	}
	_, body, _ = ada.do("GET", "/settings/exemptions?ended=true", nil)
	expect(t, "ended exemptions", 200, 200, body, `data-exemption="ex-vuln1"`, "revoked <span class=\"hint\">by user:ada</span>")
	if st, _, _ := ada.do("POST", "/settings/exemptions/ex-vuln1/revoke", url.Values{"csrf": {atok}}); st != 404 {
		t.Errorf("revoke twice: %d", st)
	}

	// A vulnerability exempted from its page: analysts only.
	if _, body, _ := rita.do("GET", "/vulnerabilities/"+kevCVE, nil); strings.Contains(body, "/exempt") {
		t.Error("a reader is offered the vulnerability's exempt form")
	}
	if st, _, _ := rita.do("POST", "/vulnerabilities/"+kevCVE+"/exempt", url.Values{"csrf": {rita.csrf("/")}, "target": {"all"}, "reason": {"r"}, "expires": {"30d"}}); st != 403 {
		t.Errorf("a reader's vulnerability exemption: %d", st)
	}
	_, body, _ = ana.do("GET", "/vulnerabilities/"+kevCVE, nil)
	expect(t, "exempt form", 200, 200, body, `<option value="repository:registry.example/api">`, `<option value="resource:sha256:`+strings.Repeat("cd", 32)+`">`)
	st, _, h = ana.do("POST", "/vulnerabilities/"+kevCVE+"/exempt", url.Values{"csrf": {ntok}, "target": {"repository:registry.example/api"}, "reason": {"behind the WAF " + hostileName}, "expires": {"fix"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/vulnerabilities/"+kevCVE+"?done=exempted-vuln" {
		t.Fatalf("exempt the vulnerability: %d to %q", st, h.Get("Location"))
	}
	_, body, _ = ana.do("GET", h.Get("Location"), nil)
	expect(t, "vulnerability exempted", 200, 200, body, "Exemption created", "behind the WAF &lt;script&gt;", "until a fix exists")
	m := regexp.MustCompile(`<tr data-exemption="(ex-[0-9a-f]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the new exemption is not listed")
	}
	if st, _, h := ana.do("POST", "/vulnerabilities/"+kevCVE+"/revoke", url.Values{"csrf": {ntok}, "exemption": {m[1]}}); st != http.StatusSeeOther || h.Get("Location") != "/vulnerabilities/"+kevCVE+"?done=revoked-vuln" {
		t.Errorf("revoke: %d to %q", st, h.Get("Location"))
	}
	st, body, _ = ana.do("POST", "/vulnerabilities/"+kevCVE+"/exempt", url.Values{"csrf": {ntok}, "target": {"all"}, "reason": {""}, "expires": {"30d"}})
	expect(t, "exemption without a reason", st, 400, body, "was refused")
}

// TestLoginSSOLink: with single sign-on configured the log-in page links to
// it, keeping where to go back; without it, no link.
func TestLoginSSOLink(t *testing.T) {
	f := newFixture(t, server.Options{API: api.Options{OIDC: &api.OIDCOptions{Issuer: "https://idp.example/realms/corp", ClientID: "bulwark", ClientSecret: "never-shown",
		RedirectURL: "https://bulwark.example/api/v1/oidc/callback", Name: `Corp <SSO> "x"`}}})
	srv := httptest.NewServer(f.s.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	st, body, _ := b.do("GET", "/login?return_to="+url.QueryEscape("/score?days=7"), nil)
	expect(t, "log-in page with SSO", st, 200, body, `href="/api/v1/oidc/login?return_to=%2Fscore%3Fdays%3D7"`, "Sign in with Corp &lt;SSO&gt; &#34;x&#34;")
	if strings.Contains(body, "never-shown") {
		t.Error("the client secret is on the page")
	}
	plain := newFixture(t, server.Options{})
	srv2 := httptest.NewServer(plain.s.Handler())
	t.Cleanup(srv2.Close)
	if _, body, _ := newBrowser(t, srv2.URL).do("GET", "/login", nil); strings.Contains(body, "oidc") {
		t.Error("a link to single sign-on without it configured")
	}
}

// TestGoldenPages13a pins the HTML of the score, vulnerability and settings
// pages for the fixture (-update rewrites them).
func TestGoldenPages13a(t *testing.T) {
	f := newFixture(t, server.Options{})
	moreFixture(t, f)
	srv := httptest.NewServer(f.s.Handler())
	t.Cleanup(srv.Close)
	b := newBrowser(t, srv.URL)
	b.login("ada", f.password)
	tok := b.csrf("/")
	if st, _, _ := b.do("POST", "/settings/registries", url.Values{"csrf": {tok}, "name": {"local"}, "url": {"http://127.0.0.1:5999"}, "auth": {"none"}, "crawl_interval": {"30m"}}); st != http.StatusSeeOther {
		t.Fatalf("add a registry: %d", st)
	}
	norm := func(s string) string {
		s = csrfRe.ReplaceAllString(s, `name="csrf" value="CSRF"`)
		return regexp.MustCompile(`bwt_[0-9a-f]+`).ReplaceAllString(s, "bwt_ID")
	}
	for _, g := range []struct{ file, path string }{
		{"score.html", "/score"}, {"vulnerabilities.html", "/vulnerabilities?q=cve-2026-"}, {"vulnerability.html", "/vulnerabilities/" + kevCVE},
		{"settings_users.html", "/settings/users"}, {"settings_registries.html", "/settings/registries"}, {"settings_exemptions.html", "/settings/exemptions"},
		{"settings_tokens.html", "/settings/tokens"}, {"login.html", "/login?return_to=%2Fscore"},
	} {
		st, body, _ := b.do("GET", g.path, nil)
		if st != 200 {
			t.Fatalf("%s: %d", g.path, st)
		}
		testenv.Golden(t, "golden/"+g.file, []byte(norm(body)), *update)
	}
}
