package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/slokeeper/slokeeper/internal/proctest"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium for the test; it skips when Chromium is
// missing, unless CI is set.
func browser(t *testing.T) context.Context {
	t.Helper()
	proctest.RequireBinary(t, chromiumPath, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(1366, 768),
		chromedp.UserDataDir(t.TempDir()),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return bctx
}

// tab is one browser tab that records console errors, JavaScript
// exceptions, browser log errors (CSP violations, failed loads) and
// dialogs, which it dismisses.
type tab struct {
	ctx     context.Context
	mu      sync.Mutex
	errs    []string
	dialogs []string
}

func newTab(t *testing.T, parent context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("opening tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.errs = append(tb.errs, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			tb.errs = append(tb.errs, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				tb.errs = append(tb.errs, "log "+string(ev.Entry.Source)+": "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *network.EventResponseReceived:
			if ev.Type != network.ResourceTypeDocument && ev.Response.Status >= 400 {
				tb.errs = append(tb.errs, fmt.Sprintf("HTTP %d for %s", ev.Response.Status, ev.Response.URL))
			}
		case *page.EventJavascriptDialogOpening:
			tb.dialogs = append(tb.dialogs, string(ev.Type)+": "+ev.Message)
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	})
	if err != nil {
		t.Fatalf("listening to the tab's events: %v", err)
	}
	return tb
}

// check fails the test on any recorded error or dialog, and clears them.
func (tb *tab) check(t *testing.T, where string) {
	t.Helper()
	// Console and log events may trail the load event a little.
	time.Sleep(150 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, e := range tb.errs {
		t.Errorf("%s: browser reported: %s", where, e)
	}
	for _, d := range tb.dialogs {
		t.Errorf("%s: a dialog opened: %s", where, d)
	}
	tb.errs, tb.dialogs = nil, nil
}

// allow drops the recorded errors that contain s, and fails when there is
// none: the error was expected.
func (tb *tab) allow(t *testing.T, s string) {
	t.Helper()
	time.Sleep(150 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	n := len(tb.errs)
	tb.errs = slices.DeleteFunc(tb.errs, func(e string) bool { return strings.Contains(e, s) })
	if len(tb.errs) == n {
		t.Errorf("expected a browser error with %q", s)
	}
}

func (tb *tab) navigate(t *testing.T, url string, wantStatus int64) {
	t.Helper()
	resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("navigating to %s: %v", url, err)
	}
	if resp.Status != wantStatus {
		t.Fatalf("%s: status %d, want %d", url, resp.Status, wantStatus)
	}
	if err := chromedp.Do(tb.ctx, chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
		t.Fatalf("%s: waiting for the page: %v", url, err)
	}
}

func eval[T any](t *testing.T, tb *tab, js string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %q: %v", js, err)
	}
	return v
}

// screenshot writes a full-page PNG under dir (the test's temp dir), and
// when publish is set also under $SLOKEEPER_SCREENSHOTS if set (the
// README's images: SLOKEEPER_SCREENSHOTS=docs/img go test ./webui/).
func (tb *tab) screenshot(t *testing.T, dir, name string, publish bool) {
	t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	dirs := []string{dir}
	if extra := os.Getenv("SLOKEEPER_SCREENSHOTS"); extra != "" && publish {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type svgBox struct {
	ID    string  `json:"id"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	Lines int     `json:"lines"`
}

const chartBoxesJS = `Array.from(document.querySelectorAll("figure.chart")).map(f => {
  const s = f.querySelector("svg"); const r = s ? s.getBoundingClientRect() : {width: 0, height: 0};
  return {id: f.id, w: r.width, h: r.height, lines: s ? s.querySelectorAll("g.series path").length : 0};
})`

// injectedJS counts what a successful injection would have created.
const injectedJS = `document.querySelectorAll('img[src="x"], img[onerror], [onerror], script:not([src])').length`

func startUI(t *testing.T, f *fakeBackend) *httptest.Server {
	t.Helper()
	h, err := New(f, Options{GrafanaURL: "https://grafana.example.com", Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ui/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowserPages(t *testing.T) {
	bctx := browser(t)
	shots := t.TempDir()
	f := newFake(false)
	srv := startUI(t, f)
	tb := newTab(t, bctx)

	pages := []struct {
		name, path string
		charts     int
		lines      bool
		publish    bool
	}{
		{"slo-list", "/ui/", 0, false, true},
		{"slo-detail", "/ui/slos/checkout/availability", 3, true, true},
		{"slo-detail-no-data", "/ui/slos/inventory/apiserver-up", 3, false, false},
		{"services", "/ui/services", 0, false, true},
		{"service", "/ui/services/checkout", 0, false, true},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			tb.navigate(t, srv.URL+p.path, http.StatusOK)
			tb.check(t, p.path)
			boxes := eval[[]svgBox](t, tb, chartBoxesJS)
			if len(boxes) != p.charts {
				t.Fatalf("%d charts, want %d: %+v", len(boxes), p.charts, boxes)
			}
			for _, b := range boxes {
				if b.W < 200 || b.H < 80 {
					t.Errorf("chart %s renders %gx%g", b.ID, b.W, b.H)
				}
				if p.lines && b.Lines == 0 {
					t.Errorf("chart %s draws no line", b.ID)
				}
			}
			if w := eval[float64](t, tb, `document.documentElement.scrollWidth`); w > 1366 {
				t.Errorf("page is %gpx wide, more than a 1366px screen", w)
			}
			tb.screenshot(t, shots, p.name, p.publish)
		})
	}

	// The dark palette, as a browser set to dark mode shows it.
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatalf("emulating dark mode: %v", err)
	}
	tb.navigate(t, srv.URL+"/ui/slos/checkout/availability", http.StatusOK)
	if bg := eval[string](t, tb, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(15, 19, 24)" {
		t.Errorf("dark mode background is %s", bg)
	}
	tb.check(t, "dark mode")
	tb.screenshot(t, shots, "slo-detail-dark", false)
}

func TestBrowserKeyboardSearch(t *testing.T) {
	bctx := browser(t)
	srv := startUI(t, newFake(false))
	tb := newTab(t, bctx)
	tb.navigate(t, srv.URL+"/ui/", http.StatusOK)
	visible := func() int {
		return eval[int](t, tb, `Array.from(document.querySelectorAll("#slo-table tbody tr")).filter(r => !r.hidden).length`)
	}
	all := visible()
	if all != len(newFake(false).slos) {
		t.Fatalf("%d rows, want every SLO", all)
	}

	// Tab from the top of the page: the skip link comes first, the search
	// box a few stops later.
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, tb, `document.activeElement.className`); got != "skip" {
		t.Fatalf("first tab stop is %q, want the skip link", got)
	}
	reached := false
	for range 8 {
		if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		if eval[string](t, tb, `document.activeElement.id`) == "q" {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatal("the search box is not reachable with Tab")
	}
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent("checkout")); err != nil {
		t.Fatal(err)
	}
	if got := visible(); got != 2 {
		t.Errorf("instant search for checkout shows %d rows, want 2", got)
	}
	if got := eval[string](t, tb, `document.getElementById("count").textContent`); !strings.HasPrefix(got, "2 of ") {
		t.Errorf("count says %q", got)
	}
	if err := chromedp.Do(tb.ctx, chromedp.KeyEvent(" latency")); err != nil {
		t.Fatal(err)
	}
	if got := visible(); got != 1 {
		t.Errorf("instant search for 'checkout latency' shows %d rows, want 1", got)
	}

	// Enter submits the form: the server filters too.
	if _, err := chromedp.RunResponse(tb.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "q=checkout+latency") {
		t.Errorf("after Enter the page is %s", loc)
	}
	if got := eval[int](t, tb, `document.querySelectorAll("#slo-table tbody tr").length`); got != 1 {
		t.Errorf("server-side search returned %d rows, want 1", got)
	}

	// "/" brings the focus back to the search box; the team select filters.
	if err := chromedp.Do(tb.ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("/")); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, tb, `document.activeElement.id`); got != "q" {
		t.Errorf("after / the focus is on %q", got)
	}
	tb.check(t, "keyboard search")
}

func TestBrowserFreezeForm(t *testing.T) {
	bctx := browser(t)
	f := newFake(false)
	srv := startUI(t, f)
	tb := newTab(t, bctx)
	tb.navigate(t, srv.URL+"/ui/services/auth", http.StatusOK)

	fill := func(token string) {
		t.Helper()
		if err := chromedp.Do(tb.ctx,
			chromedp.Evaluate[chromedp.Void](`document.getElementById("freeze-author").value = ""; document.getElementById("freeze-reason").value = ""`),
			chromedp.SendKeys(chromedp.ID("freeze-author"), "Ada"),
			chromedp.SendKeys(chromedp.ID("freeze-reason"), "release of the new token service"),
			chromedp.SendKeys(chromedp.ID("freeze-token"), token),
		); err != nil {
			t.Fatal(err)
		}
	}

	// A wrong token: the error shows, nothing changes, the token is gone.
	fill("wrong-token")
	if _, err := chromedp.RunResponse(tb.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.ID("form-error")))
	if err != nil {
		t.Fatalf("no error shown: %v", err)
	}
	if !strings.Contains(msg, "not valid") {
		t.Errorf("error says %q", msg)
	}
	if f.frozen("auth").Frozen {
		t.Fatal("a wrong token froze the service")
	}
	if v := eval[string](t, tb, `document.getElementById("freeze-token").value`); v != "" {
		t.Errorf("token field kept %q", v)
	}
	if v := eval[string](t, tb, `document.getElementById("freeze-reason").value`); v != "release of the new token service" {
		t.Errorf("reason field is %q after the error", v)
	}
	if html := eval[string](t, tb, `document.documentElement.outerHTML`); strings.Contains(html, "wrong-token") {
		t.Error("the page shows the token")
	}
	// The refused form comes back as 401, which Chromium logs; nothing else.
	tb.allow(t, "status of 401 (Unauthorized)")
	tb.check(t, "refused freeze")

	// The right token, submitted with the keyboard.
	fill(testToken)
	if _, err := chromedp.RunResponse(tb.ctx, chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.ID("flash")))
	if err != nil {
		t.Fatalf("no confirmation shown: %v", err)
	}
	if !strings.Contains(flash, "frozen") {
		t.Errorf("confirmation says %q", flash)
	}
	st := f.frozen("auth")
	if !st.Frozen || len(st.Reasons) == 0 || !strings.Contains(st.Reasons[0], "release of the new token service") {
		t.Errorf("freeze state after the form: %+v", st)
	}
	loc, err := chromedp.Run(tb.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(loc, testToken) || !strings.HasSuffix(loc, "/ui/services/auth?done=freeze") {
		t.Errorf("redirected to %s", loc)
	}
	tb.check(t, "freeze form")
	tb.screenshot(t, t.TempDir(), "service-frozen", false)
}

func TestBrowserHostileValues(t *testing.T) {
	bctx := browser(t)
	f := newFake(true)
	srv := startUI(t, f)
	tb := newTab(t, bctx)
	sloPath := "/ui/slos/" + pathEscape(hostileScript) + "/" + pathEscape(hostileAttr)
	for _, p := range []string{
		"/ui/",
		"/ui/?q=" + queryEscape(hostileScript) + "&label=" + queryEscape(hostileScript+"="+hostileAttr),
		sloPath,
		"/ui/services",
		"/ui/services/" + pathEscape(hostileScript),
	} {
		tb.navigate(t, srv.URL+p, http.StatusOK)
		tb.check(t, p)
		if n := eval[int](t, tb, injectedJS); n != 0 {
			t.Errorf("%s: %d injected elements", p, n)
		}
		text := eval[string](t, tb, `document.body.innerText`)
		if !strings.Contains(text, hostileScript) {
			t.Errorf("%s: the hostile text is not shown as text", p)
		}
	}
	// The hostile SLO's charts render, with their escaped text.
	tb.navigate(t, srv.URL+sloPath, http.StatusOK)
	boxes := eval[[]svgBox](t, tb, chartBoxesJS)
	if len(boxes) != 3 {
		t.Fatalf("hostile SLO: %d charts", len(boxes))
	}
	// Links with a javascript: URL are dropped.
	if n := eval[int](t, tb, `document.querySelectorAll('a[href^="javascript:"]').length`); n != 0 {
		t.Errorf("%d javascript: links", n)
	}
	// Freezing the hostile service with hostile author and reason.
	tb.navigate(t, srv.URL+"/ui/services/"+pathEscape(hostileScript), http.StatusOK)
	if err := chromedp.Do(tb.ctx,
		chromedp.SendKeys(chromedp.ID("freeze-author"), hostileAttr),
		chromedp.SendKeys(chromedp.ID("freeze-reason"), hostileScript),
		chromedp.SendKeys(chromedp.ID("freeze-token"), testToken),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.RunResponse(tb.ctx, chromedp.Click(chromedp.CSS("#freeze-form button"))); err != nil {
		t.Fatal(err)
	}
	tb.check(t, "hostile freeze")
	if n := eval[int](t, tb, injectedJS); n != 0 {
		t.Errorf("after the hostile freeze: %d injected elements", n)
	}
	if f.calls != 1 {
		t.Errorf("%d freeze calls, want 1", f.calls)
	}
}

func pathEscape(s string) string  { return url.PathEscape(s) }
func queryEscape(s string) string { return url.QueryEscape(s) }

// TestBrowserHarnessSeesErrors proves the page checks would fail: under
// the UI's security headers, an inline script is refused (a CSP error in
// the browser's log), a missing file is a failed load, and a console
// error, an exception and an alert are caught.
func TestBrowserHarnessSeesErrors(t *testing.T) {
	bctx := browser(t)
	page := `<!doctype html><html><head><title>x</title><link rel="icon" href="data:,"></head><body>
<script>console.log("inline runs")</script>
<script src="/bad.js"></script>
<img src="/missing.png" alt=""><footer>end</footer></body></html>`
	srv := httptest.NewServer(securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(page))
		case "/bad.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(`console.error("boom"); alert("x"); null.f();`))
		default:
			http.NotFound(w, r)
		}
	})))
	t.Cleanup(srv.Close)
	tb := newTab(t, bctx)
	tb.navigate(t, srv.URL+"/", http.StatusOK)
	time.Sleep(300 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	all := strings.Join(tb.errs, "\n")
	for _, want := range []string{"Content Security Policy", "boom", "Cannot read properties of null", "HTTP 404 for " + srv.URL + "/missing.png"} {
		if !strings.Contains(all, want) {
			t.Errorf("the harness missed %q; it saw:\n%s", want, all)
		}
	}
	if len(tb.dialogs) != 1 {
		t.Errorf("dialogs seen: %q", tb.dialogs)
	}
}
