package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Skipf(t, "Chromium is not installed (apt-get install chromium): the console's browser test needs it")
	return ""
}

// TestBrowser drives Debian's Chromium, headless, against a real server on
// loopback: log in, the dashboard, a recommendation, exempt a resource and
// see it move to exempt (through the server's own posture refresh), dismiss
// an alert, log out. No script may run (the page holds hostile names): the
// test fails on any dialog, exception or console error. Screenshots go to
// the test's artifact directory (go test -artifacts keeps them).
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	f := newFixture(t, server.Options{Listen: "127.0.0.1:0", Now: time.Now, PostureInterval: 200 * time.Millisecond})
	ln, err := f.s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + ln.Addr().String()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	var mu sync.Mutex
	var problems []string
	report := func(s string) { mu.Lock(); problems = append(problems, s); mu.Unlock() }
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			report("a script opened a dialog: " + e.Message)
		}
	}))
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	defer tcancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// Every console message is a problem: a script that ran, an exception,
	// a CSP violation, a failed load.
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			report("console: " + m.String())
		}
	}()
	dir := t.ArtifactDir()
	// Accessibility basics on every page a screenshot is taken of: one h1,
	// a main landmark, a label on every form control.
	a11y := func(name string) {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`(document.querySelectorAll("h1").length == 1 ? 0 : 1) + (document.querySelector("main") ? 0 : 1) +
			[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => !e.labels || e.labels.length == 0).length`))
		if err != nil || n != 0 {
			t.Errorf("%s: %d accessibility problems (h1, main, unlabelled controls), %v", name, n, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		a11y(name)
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// click follows a link or submits a form and waits for the new page.
	click := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(bctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != 200 {
			t.Fatalf("%s: HTTP %d", what, resp.Status)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return n
	}
	location := func() string {
		l, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// An anonymous visit goes to the log-in page, and back after it.
	do("open a recommendation", chromedp.Navigate(base+"/recommendations/REC-PRIVILEGED"), chromedp.WaitVisible(chromedp.ID("name")))
	shot("login")
	do("type", chromedp.SendKeys(chromedp.ID("name"), "ana"), chromedp.SendKeys(chromedp.ID("password"), f.password))
	click("log in", chromedp.Submit(chromedp.ID("password")))
	if h1 := text("h1"); h1 != "Privileged containers should be avoided" {
		t.Errorf("after the log-in, back on the recommendation: h1 %q", h1)
	}

	click("dashboard", chromedp.Click(chromedp.CSS(`nav a[href="/"]`)))
	shot("dashboard")
	body := text("main")
	for _, want := range []string{"Coverage", "Secure score", "Privileged containers should be avoided", "Unhealthy resources by severity"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard: no %q", want)
		}
	}
	if n := eval(`document.querySelectorAll("svg.chart").length`); n != 2 {
		t.Errorf("dashboard charts: %d, want 2", n)
	}

	// The hostile name is on the page as text, and no element came of it.
	click("open the recommendation", chromedp.Click(chromedp.CSS(`section[aria-labelledby="top"] a[href="/recommendations/REC-PRIVILEGED"]`)))
	shot("recommendation")
	if tbl := text("table.resources"); !strings.Contains(tbl, hostileName) || !strings.Contains(tbl, hostileEvidence) {
		t.Errorf("the hostile name and evidence should show as text:\n%s", tbl)
	}
	if n := eval(`document.querySelectorAll("main script, main img, [onerror]").length`); n != 0 {
		t.Errorf("%d script or img elements in main: a hostile string became markup", n)
	}
	// Accessibility basics: every form control has a label.
	if n := eval(`[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => !e.labels || e.labels.length == 0).length`); n != 0 {
		t.Errorf("%d form controls without a label", n)
	}

	// Exempt web: the form posts, the server refreshes, it shows as exempt.
	row := fmt.Sprintf(`tr[data-resource=%q]`, f.web)
	do("fill the exemption", chromedp.SendKeys(chromedp.CSS(row+` input[name="reason"]`), "the node agent needs it"),
		chromedp.SetValue(chromedp.CSS(row+` select[name="expires"]`), "90d"))
	click("exempt", chromedp.Click(chromedp.CSS(row+` button[type="submit"]`)))
	if !strings.Contains(text("p.flash"), "Exemption created") {
		t.Error("no confirmation of the exemption")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		do("reload", chromedp.Navigate(base+"/recommendations/REC-PRIVILEGED?status=exempt"), chromedp.WaitVisible(chromedp.CSS("table.resources")))
		status, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{innerText:""}).innerText`, row+" td.status")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(status, "exempt") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exempted resource is not exempt after 10s (status %q)", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	shot("exempted")

	// Dismiss the alert with a comment.
	do("alerts", chromedp.Navigate(base+"/alerts?status=active"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
	shot("alerts")
	click("open the alert", chromedp.Click(chromedp.CSS(`a[href="/alerts/`+f.alert+`"]`)))
	do("comment", chromedp.SendKeys(chromedp.ID("comment"), "expected maintenance"))
	click("dismiss", chromedp.Click(chromedp.CSS(`button[value="dismissed"]`)))
	shot("alert-dismissed")
	if st := text("#alert-status"); st != "dismissed" {
		t.Errorf("alert status after dismissing: %q", st)
	}
	if m := text("main"); !strings.Contains(m, hostileCommand) {
		t.Errorf("the alert's command line should show as text:\n%s", m)
	}

	// The image page: the hostile package name as text, the fixed version.
	do("image", chromedp.Navigate(base+"/inventory/"+f.image), chromedp.WaitVisible(chromedp.CSS("main table")))
	shot("image")
	if m := text("main table"); !strings.Contains(m, hostilePackage) || !strings.Contains(m, "CVE-2026-0001") || !strings.Contains(m, "1.1") {
		t.Errorf("image findings:\n%s", m)
	}
	if n := eval(`document.querySelectorAll("main script, main img, [onerror]").length`); n != 0 {
		t.Errorf("%d injected elements on the image page", n)
	}

	// Filters live in the URL.
	do("inventory", chromedp.Navigate(base+"/inventory"), chromedp.WaitVisible(chromedp.ID("f-kind")), chromedp.SetValue(chromedp.ID("f-kind"), "workload"))
	click("filter", chromedp.Submit(chromedp.ID("f-kind")))
	if l := location(); !strings.Contains(l, "kind=workload") {
		t.Errorf("the inventory filter is not in the URL: %s", l)
	}
	shot("inventory")

	click("log out", chromedp.Click(chromedp.CSS(`form.who button`)))
	do("dashboard again", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("password")))
	if l := location(); !strings.Contains(l, "/login") {
		t.Errorf("after log-out the dashboard should send to the log-in page: %s", l)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("in the browser: %s", p)
	}
}
