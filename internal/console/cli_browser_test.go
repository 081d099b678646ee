package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/server/servertest"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// bulwarkBinary is the real CLI: $BULWARK_BIN, or built once for the test.
func bulwarkBinary(t *testing.T) string {
	if p := os.Getenv("BULWARK_BIN"); p != "" {
		return p
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Skipf(t, "no go tool to build the CLI (or set BULWARK_BIN): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "bulwark")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/bulwark")
	cmd.Dir = testenv.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the CLI: %v\n%s", err, out)
	}
	return bin
}

// cli runs the CLI and returns its standard output; a non-zero exit fails
// the test.
func cli(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BULWARK_TOKEN=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bulwark %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestBrowserCLI drives Chromium against a real server on loopback filled
// by the real CLIs: `scan image` of the Debian test image, this host's
// `bench docker` and a `runtime replay` of recorded events, each sent with
// --server; plus, through the API client, an image and alerts whose
// package names, title, command line and evidence hold scripts. An analyst
// logs in, reads the dashboard, filters the inventory to unhealthy images,
// opens the Debian image and finds a CVE with its fixed version (the one
// the CLI's own report gives), opens the Docker host's CIS results by
// section, exempts the image from its recommendation and sees the counts
// move, dismisses an alert, opens the hostile pages, logs out and sees
// nothing. Every page is checked for accessibility basics and injected
// markup and screenshotted; any dialog or console message fails the test.
func TestBrowserCLI(t *testing.T) {
	chromium(t)
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		testenv.Skipf(t, "bench docker needs a Docker engine: %v", err)
	}
	feeds := testenv.Shared(t, "vulndata")
	tarball := testenv.DebianImageTarball(t)
	bin := bulwarkBinary(t)
	cache, work := t.TempDir(), t.TempDir()
	cli(t, bin, "--cache-dir", cache, "db", "update", "--source", feeds)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dataDir := t.TempDir()
	// The server matches with the DB the CLI built; its threshold makes
	// the Debian image's findings (low at worst in ../shared) unhealthy.
	s, base := servertest.Start(t, server.Options{DataDir: dataDir, CacheDir: cache, Now: time.Now, Version: "test",
		PostureInterval: 200 * time.Millisecond, Threshold: model.SeverityLow})

	tok := strings.TrimSpace(cli(t, bin, "token", "create", "--data-dir", dataDir, "--name", "ci", "--scope", "ingest"))
	srv := []string{"--server", base, "--token", tok}
	scanJSON := filepath.Join(work, "scan.json")
	cli(t, bin, append([]string{"--cache-dir", cache, "scan", "image", "--input", tarball, "-f", "json", "-o", scanJSON}, srv...)...)
	cli(t, bin, append([]string{"bench", "docker", "-f", "json", "-o", filepath.Join(work, "bench.json")}, srv...)...)
	cli(t, bin, append([]string{"--cache-dir", cache, "runtime", "replay", "--format", "json", "-o", filepath.Join(work, "alerts.jsonl"),
		filepath.Join(testenv.ModuleRoot(t), "cmd", "bulwark", "testdata", "runtime", "mixed.log")}, srv...)...)

	// A CVE to look for on the Debian image, from the CLI's own report
	// (its packages are current: none has a fix yet).
	var rep model.Report
	if b, err := os.ReadFile(scanJSON); err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("read the scan report: %v", err)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("the Debian image's scan found nothing: ../shared/vulndata changed?")
	}
	cve := rep.Findings[0]
	imageID := rep.Image.Digest
	if imageID == "" {
		imageID = rep.Image.ConfigDigest
	}

	// Hostile strings, through the API as any client may send them.
	c, err := client.New(base, tok, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evil := "sha256:" + strings.Repeat("e1", 32)
	const xssPkg, xssAttr = `<script>alert(1)</script>`, `"onerror=alert(1) x="`
	if _, err := c.PostJSON(ctx, "image", model.Report{SchemaVersion: "1", Resource: model.Resource{Kind: model.KindImage, ID: evil},
		Image:    model.ImageInfo{Source: "registry", Digest: evil, RepoTags: []string{"registry.example/evil:1"}, Layers: []model.Layer{{Index: 0, CreatedBy: "RUN " + xssPkg}}},
		Distro:   &model.Distro{ID: "debian", VersionID: "12"},
		Packages: []model.Package{{Name: "pkg" + xssPkg, Version: "1" + xssAttr, Type: "deb", Layer: &model.Layer{Index: 0}}, {Name: "lib" + xssAttr, Version: "2", Type: "deb"}}}); err != nil {
		t.Fatalf("post the hostile image: %v", err)
	}
	// An image with glibc from before DSA-5514-1 (Looney Tunables): the
	// server's DB, built from ../shared/vulndata, gives the fixed version.
	legacy := "sha256:" + strings.Repeat("1e", 32)
	if _, err := c.PostJSON(ctx, "image", model.Report{SchemaVersion: "1", Resource: model.Resource{Kind: model.KindImage, ID: legacy},
		Image:    model.ImageInfo{Source: "registry", Digest: legacy, RepoTags: []string{"registry.example/team/legacy:1"}},
		Distro:   &model.Distro{ID: "debian", VersionID: "12", Codename: "bookworm"},
		Packages: []model.Package{{Name: "libc6", Version: "2.36-9+deb12u1", Type: "deb", SourceName: "glibc", SourceVersion: "2.36-9+deb12u1"}}}); err != nil {
		t.Fatalf("post the legacy image: %v", err)
	}
	now := time.Now().UTC()
	if _, err := c.PostJSON(ctx, "alerts", []model.Alert{{ID: fmt.Sprintf("%032x", 0xe1), Type: "K8S.NODE_ReverseShell", Title: "shell " + xssPkg, Severity: model.SeverityHigh,
		Resource: model.Resource{Kind: model.KindContainer, ID: "c-" + strings.Repeat("ab", 8), Name: "web" + xssAttr}, FirstSeen: now, LastSeen: now, Count: 1, Status: model.AlertActive,
		Actor:    &model.Actor{Command: "bash -c '" + xssPkg + "'"},
		Evidence: []model.Evidence{{Time: now, Source: "ebpf", Summary: "exec " + xssAttr + xssPkg}}}}); err != nil {
		t.Fatalf("post the hostile alert: %v", err)
	}
	h, _ := auth.HashPassword("correct horse battery staple")
	for name, role := range map[string]auth.Role{"ana": auth.RoleAnalyst, "adm": auth.RoleAdmin} {
		if err := s.Store.CreateUser(ctx, store.User{Name: name, Role: string(role), PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	b := newChrome(t, ctx, base)
	b.open("/", "#password")
	b.shot("login")
	b.do("type", chromedp.SendKeys(chromedp.ID("name"), "ana"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery staple"))
	b.click("log in", chromedp.Submit(chromedp.ID("password")))
	b.shot("dashboard")
	if m := b.text("main"); !strings.Contains(m, "Coverage") || !strings.Contains(m, "Docker hosts") {
		t.Errorf("dashboard:\n%s", m)
	}

	// The inventory, filtered to unhealthy images: the Debian image is one.
	b.open("/inventory", "#f-kind")
	b.do("filter", chromedp.SetValue(chromedp.ID("f-kind"), "image"), chromedp.SetValue(chromedp.ID("f-health"), "unhealthy"))
	b.click("filter", chromedp.Submit(chromedp.ID("f-kind")))
	if l := b.location(); !strings.Contains(l, "kind=image") || !strings.Contains(l, "health=unhealthy") {
		t.Errorf("the filters are not in the URL: %s", l)
	}
	b.shot("inventory-unhealthy-images")
	b.click("open the image", chromedp.Click(chromedp.CSS(`main table a[href="/inventory/`+imageID+`"]`)))
	b.shot("image")
	vuln := func(id string) string {
		return b.evalString(fmt.Sprintf(`[...document.querySelectorAll("table.vulns li")].map(e => e.innerText).filter(s => s.startsWith(%q)).join("\n")`, id+" "))
	}
	if row := vuln(cve.ID); !strings.Contains(row, "no fix") {
		t.Errorf("the image page should list %s (%s) without a fix; found %q", cve.ID, cve.Package.Name, row)
	}
	if l := b.text("table.layers"); !strings.Contains(l, "debootstrap --variant=minbase bookworm") {
		t.Errorf("layers should show the history command:\n%s", l)
	}
	if m := b.text("main dl"); !strings.Contains(m, "Debian") || !strings.Contains(m, "2028") {
		t.Errorf("the OS and its end of support (Debian 12: 2028):\n%s", m)
	}

	b.open("/inventory?kind=image&health=unhealthy", "main table")
	b.click("open the legacy image", chromedp.Click(chromedp.CSS(`main table a[href="/inventory/`+legacy+`"]`)))
	b.shot("image-legacy")
	if row := vuln("CVE-2023-4911"); !strings.Contains(row, "fixed in 2.36-9+deb12u3") {
		t.Errorf("the legacy image should list CVE-2023-4911 fixed in 2.36-9+deb12u3; found %q", row)
	}
	// One upgrade, to the highest version any of libc6's findings needs.
	fixedIn := b.text("table.vulns tbody tr td:nth-child(4)")
	if ups := b.text("table.upgrades tbody"); !strings.Contains(ups, "libc6\t2.36-9+deb12u1\t"+fixedIn+"\t") || strings.Count(ups, "\n") > 0 {
		t.Errorf("the upgrades should be one, libc6 to %s:\n%s", fixedIn, ups)
	}

	// This host's CIS Docker results by section.
	b.open("/inventory?kind=docker-host", "main table")
	b.click("open the host", chromedp.Click(chromedp.CSS(`main table tbody a`)))
	b.shot("docker-host")
	if sec := b.text("table.sections"); !strings.Contains(sec, "CIS Docker 1 Host Configuration") || !strings.Contains(sec, "CIS Docker 2 Docker Daemon Configuration") {
		t.Errorf("CIS sections:\n%s", sec)
	}
	if m := b.text("main dl"); !strings.Contains(m, "Engine version") {
		t.Errorf("host facts:\n%s", m)
	}

	// Exempt the Debian image from its recommendation: the counts move.
	counts := func() string {
		b.open("/recommendations", "main table")
		return b.evalString(`[...document.querySelector('a[href="/recommendations/REC-IMAGE-VULNS"]').closest("tr").querySelectorAll("td.num")].map(e => e.innerText).join(",")`)
	}
	before := counts()
	b.open("/recommendations/REC-IMAGE-VULNS", "table.resources")
	r := fmt.Sprintf(`tr[data-resource=%q]`, imageID)
	b.do("fill the exemption", chromedp.SendKeys(chromedp.CSS(r+` input[name="reason"]`), "base image rebuilt next sprint"),
		chromedp.SetValue(chromedp.CSS(r+` select[name="expires"]`), "90d"))
	b.click("exempt", chromedp.Click(chromedp.CSS(r+` button[type="submit"]`)))
	b.shot("exempted")
	var after string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if after = counts(); after != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recommendation's counts did not move after the exemption: %s", before)
		}
	}
	b.shot("recommendations-after")
	num := func(s string, i int) int {
		n, _ := strconv.Atoi(strings.Split(s, ",")[i])
		return n
	}
	if num(after, 0) != num(before, 0)-1 || num(after, 4) != num(before, 4)+1 {
		t.Errorf("unhealthy,healthy,n/a,not assessed,exempt: %s before, %s after: want one less unhealthy, one more exempt", before, after)
	}

	// Dismiss an alert the replay raised.
	b.open("/alerts?type=K8S_PrivilegedContainer", "main table")
	b.shot("alerts")
	b.click("open the alert", chromedp.Click(chromedp.CSS(`main table tbody a[href^="/alerts/"]`)))
	b.do("comment", chromedp.SendKeys(chromedp.ID("comment"), "a test cluster"))
	b.click("dismiss", chromedp.Click(chromedp.CSS(`button[value="dismissed"]`)))
	b.shot("alert-dismissed")
	if st := b.text("#alert-status"); st != "dismissed" {
		t.Errorf("alert status after dismissing: %q", st)
	}

	// The hostile pages: the strings are text, nothing ran (the chrome's
	// listeners fail the test on any dialog or console message).
	b.open("/inventory/"+evil, "table.packages")
	b.shot("xss-image")
	if p := b.text("table.packages"); !strings.Contains(p, "pkg"+xssPkg) || !strings.Contains(p, "lib"+xssAttr) {
		t.Errorf("the hostile package names should show as text:\n%s", p)
	}
	// A filter echoed into the search box stays an attribute value.
	b.open("/inventory/"+evil+"?package="+url.QueryEscape("lib"+xssAttr+"*"), "table.packages")
	b.shot("xss-package-search")
	if p := b.text("table.packages tbody"); !strings.Contains(p, "lib"+xssAttr) || strings.Contains(p, "pkg") {
		t.Errorf("the search for the hostile prefix should find that package only:\n%s", p)
	}
	b.open("/alerts/"+fmt.Sprintf("%032x", 0xe1), "main")
	b.shot("xss-alert")
	if m := b.text("main"); !strings.Contains(m, "exec "+xssAttr+xssPkg) {
		t.Errorf("the hostile evidence should show as text:\n%s", m)
	}
	b.open("/alerts", "main table")
	b.shot("xss-alerts")

	b.click("log out", chromedp.Click(chromedp.CSS(`form.who button`)))
	b.open("/inventory/"+imageID, "#password")
	if l := b.location(); !strings.Contains(l, "/login") {
		t.Errorf("after log-out a page should send to the log-in page: %s", l)
	}
	if m := b.text("main"); strings.Contains(m, cve.ID) || strings.Contains(m, "debian") {
		t.Errorf("after log-out the page shows data:\n%s", m)
	}
	b.shot("logged-out")

	adminPages(t, b, s, base, imageID, cve.ID)
}

// logIn fills the log-in page the tab is on and sends it.
func logIn(b *chrome, name, password string) {
	b.t.Helper()
	b.do("type", chromedp.SendKeys(chromedp.ID("name"), name), chromedp.SendKeys(chromedp.ID("password"), password))
	b.click("log in as "+name, chromedp.Submit(chromedp.ID("password")))
}

// apiStatus is the status the API answers a bearer token on /api/v1/me.
func apiStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// adminPages is the second half of TestBrowserCLI, on 13a's pages: an
// admin reads the secure score, finds the Debian image's CVE through the
// vulnerability search and exempts it from its page, creates an API token
// (its secret shown once, refused by the API once revoked) and a reader;
// the reader, in another browser context, sees no settings and no triage
// button; the admin's session expires on the server and the browser goes
// to the log-in page and back to where it was.
func adminPages(t *testing.T, b *chrome, s *server.Server, base, imageID, cveID string) {
	start := time.Now()
	defer func() {
		t.Logf("13a's pages, reader and expired session: %s", time.Since(start).Round(time.Millisecond))
	}()
	const pw = "correct horse battery staple"
	b.open("/login", "#password")
	logIn(b, "adm", pw)

	// The score: every control with its points, REC-IMAGE-VULNS under one.
	b.open("/score", "table.controls")
	b.shot("score")
	ctl := `tbody[data-control]:has(a[href="/recommendations/REC-IMAGE-VULNS"])`
	if n := b.evalInt(`document.querySelectorAll('` + ctl + `').length`); n != 1 {
		t.Fatalf("/score should list REC-IMAGE-VULNS under one control, found %d", n)
	}
	if pts := b.text(ctl + ` td.num`); !regexp.MustCompile(`^\d+(\.\d+)? of \d+(\.\d+)?$`).MatchString(pts) {
		t.Errorf("the control's points should read \"N of M\": %q", pts)
	}
	if rec := b.text(ctl + ` tr.sub`); !strings.Contains(rec, "unhealthy of") {
		t.Errorf("the control's recommendation row: %q", rec)
	}
	if now := b.text("p.big"); !strings.Contains(now, " points") {
		t.Errorf("the score's points: %q", now)
	}

	// The vulnerability search finds the Debian image's CVE; its page lists
	// the image; the admin exempts it there for that image.
	b.open("/vulnerabilities", "#f-q")
	b.shot("vulnerabilities")
	b.do("search", chromedp.SendKeys(chromedp.ID("f-q"), cveID))
	b.click("search", chromedp.Submit(chromedp.ID("f-q")))
	if l := b.location(); !strings.Contains(l, "q="+cveID) {
		t.Errorf("the search is not in the URL: %s", l)
	}
	b.shot("vulnerabilities-search")
	b.click("open "+cveID, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-vuln=%q] a`, cveID))))
	b.shot("vulnerability")
	if n := b.evalInt(fmt.Sprintf(`document.querySelectorAll('tr[data-image=%q]').length`, imageID)); n != 1 {
		t.Fatalf("/vulnerabilities/%s should list the Debian image %s:\n%s", cveID, imageID, b.text("main"))
	}
	b.do("fill the exemption", chromedp.SetValue(chromedp.ID("x-target"), "resource:"+imageID),
		chromedp.SendKeys(chromedp.ID("x-reason"), "not reachable in this image"), chromedp.SetValue(chromedp.ID("x-exp"), "30d"))
	b.click("exempt "+cveID, chromedp.Submit(chromedp.ID("x-reason")))
	b.shot("vulnerability-exempted")
	if ex := b.text("section[aria-labelledby=exs] tbody"); !strings.Contains(ex, "not reachable in this image") || !strings.Contains(ex, imageID) || !strings.Contains(ex, "adm") {
		t.Errorf("the exemption should be listed with its image, reason and author:\n%s", ex)
	}
	// The server re-matches the image under the new policy (a posture
	// tick): on the image's page the CVE turns exempt.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		b.open("/inventory/"+imageID, "table.vulns")
		row := b.evalString(fmt.Sprintf(`[...document.querySelectorAll("table.vulns li")].map(e => e.innerText).filter(s => s.startsWith(%q)).join("\n")`, cveID+" "))
		if strings.HasSuffix(row, "· exempt") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("after the exemption the image page should show %s exempt: %q", cveID, row)
			break
		}
	}
	b.shot("image-cve-exempt")

	// A token: the secret once, then never; it works until revoked.
	b.open("/settings/tokens", "#t-name")
	b.do("name the token", chromedp.SendKeys(chromedp.ID("t-name"), "browser-test"))
	b.submit("create the token", chromedp.Submit(chromedp.ID("t-name")), http.StatusCreated)
	b.shot("token-created")
	secret := b.text("#secret")
	if len(secret) < 20 {
		t.Fatalf("the new token's secret: %q", secret)
	}
	if st := apiStatus(t, base, secret); st != http.StatusOK {
		t.Errorf("the new token on /api/v1/me: %d", st)
	}
	b.open("/settings/tokens", "#t-name")
	b.shot("tokens")
	if html := b.evalString(`document.documentElement.outerHTML`); strings.Contains(html, secret) || strings.Contains(html, `id="secret"`) {
		t.Error("the token's secret is shown again on reload")
	}
	row := `[...document.querySelectorAll("tr[data-token]")].find(r => r.cells[0].innerText == "browser-test")`
	id := b.evalString(row + `.dataset.token`)
	b.click("revoke the token", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-token=%q] button`, id))))
	b.shot("token-revoked")
	if st := b.evalString(row + `.querySelector("td.status").innerText`); st == "active" {
		t.Errorf("the revoked token's state: %q", st)
	}
	if st := apiStatus(t, base, secret); st != http.StatusUnauthorized {
		t.Errorf("a revoked token on /api/v1/me: %d, want 401", st)
	}

	// A reader, who replaces the initial password at the first log-in.
	b.open("/settings/users", "#u-name")
	b.do("new user", chromedp.SendKeys(chromedp.ID("u-name"), "rita"), chromedp.SetValue(chromedp.ID("u-role"), "reader"),
		chromedp.SendKeys(chromedp.ID("u-pw"), "initial password 1"), chromedp.SendKeys(chromedp.ID("u-pw2"), "initial password 1"))
	b.click("create the user", chromedp.Submit(chromedp.ID("u-name")))
	b.shot("users")
	if u := b.text(`tr[data-user="rita"]`); !strings.Contains(u, "reader") {
		t.Errorf("the new user's row: %q", u)
	}

	r := b.fresh()
	r.open("/settings/users", "#password") // no cookie of the admin's
	logIn(r, "rita", "initial password 1")
	if l := r.location(); !strings.HasSuffix(l, "/password") {
		t.Fatalf("a new user should replace the initial password first: %s", l)
	}
	r.shot("reader-password")
	r.do("new password", chromedp.SendKeys(chromedp.ID("current"), "initial password 1"),
		chromedp.SendKeys(chromedp.ID("new"), "reader password 22"), chromedp.SendKeys(chromedp.ID("confirm"), "reader password 22"))
	r.click("change the password", chromedp.Submit(chromedp.ID("new")))
	r.open("/", "nav")
	r.shot("reader-dashboard")
	if n := r.evalInt(`document.querySelectorAll('a[href^="/settings"]').length`); n != 0 {
		t.Errorf("a reader sees %d links to the settings", n)
	}
	r.allow("status of 403")
	if st := r.status("/settings/users"); st != http.StatusForbidden {
		t.Errorf("a reader on /settings/users: HTTP %d, want 403", st)
	}
	r.shot("reader-settings-403")
	// No exempt, dismiss or revoke: no form that posts, on the pages that
	// have them for an analyst.
	for i, p := range []string{"/recommendations/REC-IMAGE-VULNS", "/alerts/" + fmt.Sprintf("%032x", 0xe1), "/vulnerabilities/" + cveID} {
		r.open(p, "main h1")
		r.shot([]string{"reader-recommendation", "reader-alert", "reader-vulnerability"}[i])
		if n := r.evalInt(`document.querySelectorAll("main form[method=post], main button[type=submit][value]").length`); n != 0 {
			t.Errorf("a reader has %d forms that post on %s:\n%s", n, p, r.text("main"))
		}
	}

	// The admin's session expires on the server: the next page sends to
	// the log-in page, which comes back to it.
	if _, err := s.Store.DB().ExecContext(context.Background(), `UPDATE sessions SET expires_at = 1 WHERE user_name = 'adm'`); err != nil {
		t.Fatal(err)
	}
	back := "/inventory?kind=image&health=unhealthy"
	b.open(back, "#password")
	b.shot("session-expired")
	if l := b.location(); !strings.Contains(l, "/login?return_to="+url.QueryEscape(back)) {
		t.Errorf("an expired session should go to the log-in page with return_to: %s", l)
	}
	logIn(b, "adm", pw)
	if l := b.location(); l != base+back {
		t.Errorf("after logging in again the browser should be back on %s: %s", back, l)
	}
	b.shot("session-back")
}
