package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// outputDir is where a test writes what a person may want to look at
// (screenshots): $BULWARK_TEST_OUTPUT/<test> when set, else the test's
// artifact directory (kept by go test -artifacts).
func outputDir(t *testing.T) string {
	if d := os.Getenv("BULWARK_TEST_OUTPUT"); d != "" {
		p := filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return t.ArtifactDir()
}

// chrome is one headless Chromium tab driven by a test. Every dialog and
// every console message (a script that ran, an exception, a CSP violation,
// a failed load) is recorded as a problem the test reports at its end.
type chrome struct {
	t        *testing.T
	ctx      context.Context
	base     string
	dir      string
	mu       sync.Mutex
	problems []string
}

func newChrome(t *testing.T, ctx context.Context, base string) *chrome {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	c := &chrome{t: t, base: base, dir: outputDir(t)}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			c.report("a script opened a dialog: " + e.Message)
		}
	}))
	t.Cleanup(bcancel)
	bctx, tcancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(tcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(bctx) {
			if err != nil {
				return
			}
			c.report("console: " + m.String())
		}
	}()
	c.ctx = bctx
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, p := range c.problems {
			t.Errorf("in the browser: %s", p)
		}
	})
	return c
}

func (c *chrome) report(s string) { c.mu.Lock(); c.problems = append(c.problems, s); c.mu.Unlock() }

// open navigates to a path of the server and waits for the selector.
func (c *chrome) open(path, waitFor string) {
	c.t.Helper()
	c.do("open "+path, chromedp.Navigate(c.base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (c *chrome) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, actions...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// click follows a link or submits a form and waits for the new page,
// which must answer 200.
func (c *chrome) click(what string, a chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	resp, err := chromedp.RunResponse(c.ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != 200 {
		c.t.Fatalf("%s: HTTP %d", what, resp.Status)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (c *chrome) evalInt(js string) int {
	c.t.Helper()
	n, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](js))
	if err != nil {
		c.t.Fatalf("%s: %v", js, err)
	}
	return n
}

func (c *chrome) evalString(js string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		c.t.Fatalf("%s: %v", js, err)
	}
	return s
}

func (c *chrome) location() string {
	c.t.Helper()
	l, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil {
		c.t.Fatal(err)
	}
	return l
}

// a11yJS counts accessibility basics a page misses: exactly one h1, a main
// landmark, a nav landmark (once logged in), a label on every form control.
const a11yJS = `(document.querySelectorAll("h1").length == 1 ? 0 : 1) + (document.querySelector("main") ? 0 : 1) +
	(document.querySelector("form.who") && !document.querySelector("nav") ? 1 : 0) +
	[...document.querySelectorAll("input:not([type=hidden]), select, textarea")].filter(e => !e.labels || e.labels.length == 0).length`

// injectedJS counts elements a hostile string could have become.
const injectedJS = `document.querySelectorAll("main script, main img, main iframe, [onerror], [onload]").length`

// shot checks the page's accessibility basics and that nothing was
// injected, then writes its screenshot.
func (c *chrome) shot(name string) {
	c.t.Helper()
	if n := c.evalInt(a11yJS); n != 0 {
		c.t.Errorf("%s: %d accessibility problems (one h1, main and nav landmarks, a label on every control)", name, n)
	}
	if n := c.evalInt(injectedJS); n != 0 {
		c.t.Errorf("%s: %d script, img or event-handler elements: a hostile string became markup", name, n)
	}
	b, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100)) // quality 100: a PNG
	if err != nil {
		c.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name+".png"), b, 0o644); err != nil {
		c.t.Fatal(err)
	}
}
