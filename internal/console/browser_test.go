package console_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

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
	chromium(t)
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
	b := newChrome(t, ctx, base)

	// An anonymous visit goes to the log-in page, and back after it.
	b.open("/recommendations/REC-PRIVILEGED", "#name")
	b.shot("login")
	b.do("type", chromedp.SendKeys(chromedp.ID("name"), "ana"), chromedp.SendKeys(chromedp.ID("password"), f.password))
	b.click("log in", chromedp.Submit(chromedp.ID("password")))
	if h1 := b.text("h1"); h1 != "Privileged containers should be avoided" {
		t.Errorf("after the log-in, back on the recommendation: h1 %q", h1)
	}

	b.click("dashboard", chromedp.Click(chromedp.CSS(`nav a[href="/"]`)))
	b.shot("dashboard")
	body := b.text("main")
	for _, want := range []string{"Coverage", "Secure score", "Privileged containers should be avoided", "Unhealthy resources by severity"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard: no %q", want)
		}
	}
	if n := b.evalInt(`document.querySelectorAll("svg.chart").length`); n != 2 {
		t.Errorf("dashboard charts: %d, want 2", n)
	}

	// The hostile name is on the page as text, and no element came of it
	// (shot counts injected elements).
	b.click("open the recommendation", chromedp.Click(chromedp.CSS(`section[aria-labelledby="top"] a[href="/recommendations/REC-PRIVILEGED"]`)))
	b.shot("recommendation")
	if tbl := b.text("table.resources"); !strings.Contains(tbl, hostileName) || !strings.Contains(tbl, hostileEvidence) {
		t.Errorf("the hostile name and evidence should show as text:\n%s", tbl)
	}

	// Exempt web: the form posts, the server refreshes, it shows as exempt.
	row := fmt.Sprintf(`tr[data-resource=%q]`, f.web)
	b.do("fill the exemption", chromedp.SendKeys(chromedp.CSS(row+` input[name="reason"]`), "the node agent needs it"),
		chromedp.SetValue(chromedp.CSS(row+` select[name="expires"]`), "90d"))
	b.click("exempt", chromedp.Click(chromedp.CSS(row+` button[type="submit"]`)))
	if !strings.Contains(b.text("p.flash"), "Exemption created") {
		t.Error("no confirmation of the exemption")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.open("/recommendations/REC-PRIVILEGED?status=exempt", "table.resources")
		status := b.evalString(fmt.Sprintf(`(document.querySelector(%q)||{innerText:""}).innerText`, row+" td.status"))
		if strings.HasPrefix(status, "exempt") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exempted resource is not exempt after 10s (status %q)", status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.shot("exempted")

	// Dismiss the alert with a comment.
	b.open("/alerts?status=active", "main table")
	b.shot("alerts")
	b.click("open the alert", chromedp.Click(chromedp.CSS(`a[href="/alerts/`+f.alert+`"]`)))
	b.do("comment", chromedp.SendKeys(chromedp.ID("comment"), "expected maintenance"))
	b.click("dismiss", chromedp.Click(chromedp.CSS(`button[value="dismissed"]`)))
	b.shot("alert-dismissed")
	if st := b.text("#alert-status"); st != "dismissed" {
		t.Errorf("alert status after dismissing: %q", st)
	}
	if m := b.text("main"); !strings.Contains(m, hostileCommand) {
		t.Errorf("the alert's command line should show as text:\n%s", m)
	}

	// The image page: the hostile package name as text, the fixed version.
	b.open("/inventory/"+f.image, "table.vulns")
	b.shot("image")
	if m := b.text("table.vulns"); !strings.Contains(m, hostilePackage) || !strings.Contains(m, "CVE-2026-0001") || !strings.Contains(m, "fixed in 1.1") {
		t.Errorf("image findings:\n%s", m)
	}

	// Filters live in the URL.
	b.open("/inventory", "#f-kind")
	b.do("filter", chromedp.SetValue(chromedp.ID("f-kind"), "workload"))
	b.click("filter", chromedp.Submit(chromedp.ID("f-kind")))
	if l := b.location(); !strings.Contains(l, "kind=workload") {
		t.Errorf("the inventory filter is not in the URL: %s", l)
	}
	b.shot("inventory")

	b.click("log out", chromedp.Click(chromedp.CSS(`form.who button`)))
	b.open("/", "#password")
	if l := b.location(); !strings.Contains(l, "/login") {
		t.Errorf("after log-out the dashboard should send to the log-in page: %s", l)
	}
}
