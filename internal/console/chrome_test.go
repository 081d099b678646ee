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
	"github.com/chromedp/chromedp/kb"
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
	root     context.Context // the tab before its timeout: a fresh context's parent
	base     string
	dir      string
	mu       sync.Mutex
	problems []string
	allowed  []string
	// netChanged: Chromium reported a load aborted by a change of the
	// host's network interfaces since the flag was last cleared.
	netChanged bool
	reloads    int // loads made again after such an abort
}

// networkChanged is the error Chromium aborts what is in flight with when
// the host's network interfaces change — here, the Docker engine adding
// or removing a container's interface for another package's test, which
// no test of ours can hold off. A page a test opens (a GET) is then
// opened again; a form it submits is not.
const networkChanged = "net::ERR_NETWORK_CHANGED"

// retries bounds how often one page is opened again after such an abort.
const retries = 4

func newChrome(t *testing.T, ctx context.Context, base string) *chrome {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	return attachChrome(t, actx, base)
}

// fresh opens a tab in a new browser context of the same Chromium: no
// cookie or storage of this one, as another person's browser would be.
func (c *chrome) fresh() *chrome {
	return attachChrome(c.t, c.root, c.base, chromedp.WithNewBrowserContext())
}

func attachChrome(t *testing.T, parent context.Context, base string, opts ...chromedp.ContextOption) *chrome {
	c := &chrome{t: t, base: base, dir: outputDir(t)}
	bctx, bcancel := chromedp.NewContext(parent, append(opts, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			c.report("a script opened a dialog: " + e.Message)
		}
	}))...)
	t.Cleanup(bcancel)
	c.root = bctx
	bctx, tcancel := context.WithTimeout(bctx, 180*time.Second)
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

// allow stops counting console messages holding s as problems: the log
// line Chromium writes for a page a test expects to be refused.
func (c *chrome) allow(s string) { c.mu.Lock(); c.allowed = append(c.allowed, s); c.mu.Unlock() }

func (c *chrome) report(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.Contains(s, networkChanged) {
		c.netChanged = true // a subresource aborted: open loads the page again
		return
	}
	for _, a := range c.allowed {
		if strings.Contains(s, a) {
			return
		}
	}
	c.problems = append(c.problems, s)
}

// open navigates to a path of the server and waits for the selector.
func (c *chrome) open(path, waitFor string) {
	c.t.Helper()
	if err := c.load(path, func() error {
		return chromedp.Do(c.ctx, chromedp.Navigate(c.base+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
	}); err != nil {
		c.t.Fatalf("open %s: %v", path, err)
	}
}

// load runs a page load, and again (after a pause, at most retries times)
// when Chromium aborted it or a part of it for a change of the host's
// network (networkChanged).
func (c *chrome) load(path string, run func() error) error {
	for try := 0; ; try++ {
		c.takeNetChanged()
		err := run()
		if try == retries || !(err != nil && strings.Contains(err.Error(), networkChanged) || err == nil && c.takeNetChanged()) {
			return err
		}
		c.t.Logf("open %s: the host's network changed during the load (%v); loading it again", path, err)
		c.reloads++
		time.Sleep(time.Duration(try+1) * 500 * time.Millisecond) // one change is a burst of notifications
	}
}

// takeNetChanged reports and clears netChanged.
func (c *chrome) takeNetChanged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.netChanged
	c.netChanged = false
	return ch
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
	c.submit(what, a, 200)
}

// submit is click for a page that answers another status (201 Created).
func (c *chrome) submit(what string, a chromedp.Action[chromedp.Void], status int64) {
	c.t.Helper()
	resp, err := chromedp.RunResponse(c.ctx, a)
	if err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != status {
		c.t.Fatalf("%s: HTTP %d, want %d", what, resp.Status, status)
	}
}

// status navigates to a path and returns the status of the page it ends
// on (after redirects).
func (c *chrome) status(path string) int64 {
	c.t.Helper()
	var status int64
	if err := c.load(path, func() error {
		resp, err := chromedp.RunResponse(c.ctx, chromedp.Navigate(c.base+path))
		if err == nil {
			status = resp.Status
		}
		return err
	}); err != nil {
		c.t.Fatalf("open %s: %v", path, err)
	}
	return status
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
// landmark, a nav landmark (once logged in, except on /password, where a
// user who must replace the initial password has nowhere else to go), a
// label on every form control.
const a11yJS = `(document.querySelectorAll("h1").length == 1 ? 0 : 1) + (document.querySelector("main") ? 0 : 1) +
	(document.querySelector("form.who") && !document.querySelector("nav") && location.pathname != "/password" ? 1 : 0) +
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
	c.skipLink(name)
}

// firstTabbableJS is the first element the Tab key reaches in document order.
const firstTabbableJS = `document.querySelector("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])")`

// skipLink checks that a keyboard user's first Tab lands on the skip link
// and that it leads to the main landmark. A page whose form takes the focus
// on load (the log-in page's autofocus) must still have the skip link
// first in the tab order. The focus is put back after, so that the link,
// shown when focused, covers nothing the test clicks next.
func (c *chrome) skipLink(name string) {
	c.t.Helper()
	target := c.evalString(`(() => { const s = ` + firstTabbableJS + `; const m = document.querySelector("main");
		return s && s.matches("a.skip") && m && s.getAttribute("href") == "#" + m.id ? m.id : "" })()`)
	if target != "main" {
		c.t.Errorf("%s: the first tabbable element should be the skip link to #main (got %q)", name, c.evalString(firstTabbableJS+`?.outerHTML || "none"`))
		return
	}
	if c.evalString(`document.activeElement == document.body ? "" : document.activeElement.id`) != "" {
		return // autofocus: checked by the order above
	}
	c.do("press Tab on "+name, chromedp.KeyEvent(kb.Tab))
	if got := c.evalString(`document.activeElement.matches("a.skip") ? document.activeElement.getAttribute("href") : document.activeElement.outerHTML`); got != "#main" {
		c.t.Errorf("%s: the first Tab should land on the skip link to #main, got %s", name, got)
	}
	c.evalInt(`(document.activeElement.blur(), 0)`)
}
