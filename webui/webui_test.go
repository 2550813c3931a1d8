package webui

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

type testUI struct {
	h   http.Handler
	f   *fakeBackend
	log *bytes.Buffer
}

func newTestUI(t *testing.T, f *fakeBackend) *testUI {
	t.Helper()
	var buf bytes.Buffer
	h, err := New(f, Options{
		GrafanaURL: "https://grafana.example.com/",
		Logger:     slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testUI{h: h, f: f, log: &buf}
}

func (u *testUI) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	u.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func (u *testUI) post(t *testing.T, path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	u.h.ServeHTTP(rec, req)
	return rec
}

var rowRE = regexp.MustCompile(`<tr data-search="[^"]*">\s*<td><a class="slo-link" href="/ui/slos/([^"/]+)/([^"/]+)">`)

// rows are the SLO IDs of the list page's table, in order.
func rows(t *testing.T, body string) []string {
	t.Helper()
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		svc, err1 := url.PathUnescape(html.UnescapeString(m[1]))
		name, err2 := url.PathUnescape(html.UnescapeString(m[2]))
		if err1 != nil || err2 != nil {
			t.Fatalf("bad SLO link %q", m[0])
		}
		ids = append(ids, svc+"/"+name)
	}
	return ids
}

func TestListFiltersAndSort(t *testing.T) {
	u := newTestUI(t, newFake(false))
	byBudget := []string{"search/freshness", "checkout/availability", "checkout/latency", "auth/token-latency", "search/availability", "auth/login-success", "inventory/apiserver-up"}
	byName := slices.Clone(byBudget)
	slices.Sort(byName)
	tests := []struct {
		name, query string
		want        []string
		// first and last, when want is nil: sorts that depend on the
		// synthetic data's details.
		first, last string
	}{
		{name: "default sorts by budget, no data last", query: "", want: byBudget},
		{name: "sort by budget", query: "sort=budget", want: byBudget},
		{name: "sort by name", query: "sort=name", want: byName},
		{name: "sort by burn, fastest first", query: "sort=burn", first: "checkout/availability", last: "inventory/apiserver-up"},
		{name: "service", query: "service=checkout", want: []string{"checkout/availability", "checkout/latency"}},
		{name: "team", query: "team=identity&sort=name", want: []string{"auth/login-success", "auth/token-latency"}},
		{name: "label name=value", query: "label=tier%3D0&sort=name", want: []string{"auth/login-success", "auth/token-latency"}},
		{name: "label name only", query: "label=journey&sort=name", want: []string{"checkout/availability", "checkout/latency"}},
		{name: "label no match", query: "label=tier%3D9", want: nil},
		{name: "search is case-insensitive, every word", query: "q=CHECKOUT+latency", want: []string{"checkout/latency"}},
		{name: "search matches team and name", query: "q=discovery+fresh", want: []string{"search/freshness"}},
		{name: "search matches labels", query: "q=journey%3Dpurchase&sort=name", want: []string{"checkout/availability", "checkout/latency"}},
		{name: "filters combine", query: "service=search&team=discovery&q=avail", want: []string{"search/availability"}},
		{name: "unknown service", query: "service=nope", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := u.get(t, "/ui/?"+tt.query)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			got := rows(t, rec.Body.String())
			if tt.want != nil || tt.first == "" {
				if !slices.Equal(got, tt.want) {
					t.Errorf("rows\n got %q\nwant %q", got, tt.want)
				}
			} else if len(got) == 0 || got[0] != tt.first || got[len(got)-1] != tt.last {
				t.Errorf("rows %q: want %s first and %s last", got, tt.first, tt.last)
			}
			noMatch := strings.Contains(rec.Body.String(), `<p id="no-match" class="empty">`)
			if noMatch != (len(got) == 0) {
				t.Errorf("'no match' shown: %v with %d rows", noMatch, len(got))
			}
		})
	}
}

func TestListFilterForm(t *testing.T) {
	u := newTestUI(t, newFake(false))
	body := u.get(t, "/ui/?service=checkout&team=payments&label=tier%3D1&sort=burn&q=avail").Body.String()
	for _, want := range []string{
		`<option value="checkout" selected>checkout</option>`,
		`<option value="payments" selected>payments</option>`,
		`<option value="burn" selected>`,
		`id="q" name="q" type="search" value="avail"`,
		`id="label" name="label" type="text" list="label-values" value="tier=1"`,
		`<option value="journey=purchase"></option>`,
		// sort links keep the filters
		`href="/ui/?label=tier%3D1&amp;q=avail&amp;service=checkout&amp;sort=name&amp;team=payments"`,
		`<th scope="col" class="num" aria-sort="descending">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestBadListQuery(t *testing.T) {
	u := newTestUI(t, newFake(false))
	for _, q := range []string{"sort=bogus", "q=" + strings.Repeat("x", 201), "label=" + strings.Repeat("x", 201)} {
		rec := u.get(t, "/ui/?"+q)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%.30s: status %d, want 400", q, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), `role="alert" id="filter-error"`) {
			t.Errorf("%.30s: no error shown", q)
		}
		if got := rows(t, rec.Body.String()); len(got) != 0 {
			t.Errorf("%.30s: rows shown with a bad query: %q", q, got)
		}
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	u := newTestUI(t, newFake(false))
	tests := []struct {
		method, path string
		code         int
		location     string
	}{
		{"GET", "/ui/slos/checkout/nope", http.StatusNotFound, ""},
		{"GET", "/ui/slos/nope/availability", http.StatusNotFound, ""},
		{"GET", "/ui/services/nope", http.StatusNotFound, ""},
		{"GET", "/ui/nope", http.StatusNotFound, ""},
		{"GET", "/ui/slos/checkout", http.StatusNotFound, ""},
		{"GET", "/ui/static/nope.js", http.StatusNotFound, ""},
		{"GET", "/ui", http.StatusMovedPermanently, "/ui/"},
		{"DELETE", "/ui/", http.StatusMethodNotAllowed, ""},
		{"GET", "/ui/services/auth/freeze", http.StatusNotFound, ""},
		{"PUT", "/ui/services/auth/freeze", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		u.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.code {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.code)
		}
		if tt.location != "" && rec.Header().Get("Location") != tt.location {
			t.Errorf("%s %s: Location %q", tt.method, tt.path, rec.Header().Get("Location"))
		}
		if tt.code == http.StatusNotFound && tt.path != "/ui/static/nope.js" && tt.method == "GET" && !strings.Contains(rec.Body.String(), "<h1>404 Not Found</h1>") {
			t.Errorf("%s %s: no error page", tt.method, tt.path)
		}
	}
}

func TestPages(t *testing.T) {
	u := newTestUI(t, newFake(false))
	tests := []struct {
		path string
		want []string
	}{
		{"/ui/", []string{"<title>SLOs · slokeeper</title>", `aria-current="page">SLOs</a>`, "7 SLOs; 7 shown",
			`<span class="badge stale"`, `The status of 1 SLO is stale: read 12m ago`, `<span class="badge firing">1 firing</span>`,
			`<span class="budget out">`, `-52.0%`, `<span class="budget none">`}},
		{"/ui/slos/checkout/availability", []string{"<title>checkout/availability · slokeeper</title>",
			`<figure class="chart" id="chart-budget"><svg`, `id="chart-burn"`, `id="chart-sli"`,
			`<th scope="row">page-fast</th>`, `<span class="badge firing">burning</span>`, `<strong>SLOBurnRateCritical</strong>`,
			`<summary>Spec</summary>`, `apiVersion: slokeeper.io/v1`, `record: slo:sli_error:ratio_rate5m`,
			`href="https://grafana.example.com/d/slo-checkout/slo"`, `href="https://grafana.example.com/d/red-checkout"`,
			"objective 99.9%", "ideal (burn rate 1)", "page-fast 13.44x"}},
		{"/ui/slos/inventory/apiserver-up", []string{`<p class="big txt-none">no data</p>`, "no data"}},
		{"/ui/services", []string{"4 services;", "2 with changes frozen", `<span class="state frozen">Frozen</span>`,
			`<span class="chip src">schedule</span>`, "in 1d 22h", `<span class="state open">Open</span>`}},
		{"/ui/services/checkout", []string{"<h1>checkout</h1>", "PagerDuty incident P123ABC (high urgency) open on checkout",
			`<span class="chip src">incident</span>`, `id="freeze-form"`, `action="/ui/services/checkout/freeze"`,
			`action="/ui/services/checkout/unfreeze"`, `<input id="freeze-token" name="token" type="password"`,
			`<label for="freeze-reason">`, "error budget back above 40%"}},
		{"/ui/services/auth", []string{"database migration", `<span class="muted">ended</span>`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := u.get(t, tt.path)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			checkPageHygiene(t, rec)
		})
	}
}

// checkPageHygiene asserts what the content security policy requires of
// every page (no inline script or style), and the security headers.
func checkPageHygiene(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers: %v", h)
	}
	for _, tag := range scanTags(rec.Body.String()) {
		switch tag.name {
		case "script":
			if tag.attrs["src"] == "" {
				t.Errorf("inline script: %s", tag.raw)
			}
		case "style", "img", "iframe", "object", "embed", "base":
			t.Errorf("unexpected element: %s", tag.raw)
		}
		for name, value := range tag.attrs {
			switch {
			case strings.HasPrefix(name, "on"), name == "style", name == "srcdoc":
				t.Errorf("attribute %s in %s", name, tag.raw)
			case (name == "href" || name == "src" || name == "action") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(value)), "javascript:"):
				t.Errorf("javascript: URL in %s", tag.raw)
			case name == "src" && !strings.HasPrefix(value, "/"):
				t.Errorf("resource from outside: %s", tag.raw)
			}
		}
		if tag.name == "link" && !strings.HasPrefix(tag.attrs["href"], "/") {
			t.Errorf("link to outside: %s", tag.raw)
		}
	}
}

type htmlTag struct {
	name  string
	attrs map[string]string
	raw   string
}

var (
	tagRE  = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`([^\s=>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?`)
)

// scanTags lists the start tags of a page with their attributes; text
// and attribute values are skipped as a browser would, so escaped
// injection attempts inside them are not tags.
func scanTags(body string) []htmlTag {
	var out []htmlTag
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		tag := htmlTag{name: strings.ToLower(m[1]), attrs: map[string]string{}, raw: m[0]}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			tag.attrs[strings.ToLower(a[1])] = html.UnescapeString(strings.Trim(a[2], `"'`))
		}
		out = append(out, tag)
	}
	return out
}

// TestScanTags: the page check sees real injections and ignores escaped
// ones.
func TestScanTags(t *testing.T) {
	injected := `<p>x</p><img src=x onerror=alert(1)><a href="javascript:alert(1)">a</a>`
	var names []string
	for _, tag := range scanTags(injected) {
		names = append(names, tag.name)
	}
	if !slices.Equal(names, []string{"p", "img", "a"}) {
		t.Errorf("tags %v", names)
	}
	if tags := scanTags(injected); tags[1].attrs["onerror"] != "alert(1)" || tags[2].attrs["href"] != "javascript:alert(1)" {
		t.Errorf("attributes %v %v", tags[1].attrs, tags[2].attrs)
	}
	escaped := `<td data-x="&#34;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</td>`
	tags := scanTags(escaped)
	if len(tags) != 1 || tags[0].name != "td" || len(tags[0].attrs) != 1 {
		t.Errorf("escaped: %+v", tags)
	}
}

func TestHostileValuesEscaped(t *testing.T) {
	u := newTestUI(t, newFake(true))
	esc := func(s string) string { return html.EscapeString(s) }
	for _, p := range []string{
		"/ui/",
		"/ui/?sort=name&service=" + url.QueryEscape(hostileScript) + "&team=" + url.QueryEscape(hostileScript) + "&label=" + url.QueryEscape(hostileScript+"="+hostileAttr) + "&q=" + url.QueryEscape(hostileAttr),
		"/ui/slos/" + url.PathEscape(hostileScript) + "/" + url.PathEscape(hostileAttr),
		"/ui/services",
		"/ui/services/" + url.PathEscape(hostileScript),
	} {
		t.Run(p, func(t *testing.T) {
			rec := u.get(t, p)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			body := rec.Body.String()
			for _, raw := range []string{hostileScript, "<img", `"'>`, "javascript:"} {
				if strings.Contains(body, raw) {
					t.Errorf("page contains %q unescaped", raw)
				}
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("the hostile text is not on the page, escaped")
			}
			checkPageHygiene(t, rec)
		})
	}
	// The filtered list has the hostile SLO, and only it.
	rec := u.get(t, "/ui/?label="+url.QueryEscape(hostileScript+"="+hostileAttr))
	if got := rows(t, rec.Body.String()); !slices.Equal(got, []string{hostileScript + "/" + hostileAttr}) {
		t.Errorf("hostile label filter: %q", got)
	}
	// Hostile 404s are escaped too.
	rec = u.get(t, "/ui/services/"+url.PathEscape(hostileAttr))
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "<img") || !strings.Contains(rec.Body.String(), esc(hostileAttr)) {
		t.Errorf("hostile 404: %d %s", rec.Code, rec.Body.String())
	}
}

func TestFreezeForm(t *testing.T) {
	valid := func() url.Values {
		return url.Values{"token": {testToken}, "author": {"Ada"}, "reason": {"risky migration"}, "until": {"2026-05-15T18:00"}}
	}
	with := func(k, v string) url.Values {
		f := valid()
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name      string
		path      string
		form      url.Values
		freezeErr error
		code      int
		// msg is in the page's error; empty for a redirect.
		msg    string
		frozen bool
	}{
		{name: "missing token", path: "/ui/services/auth/freeze", form: with("token", ""), code: 400, msg: "The freeze token is required."},
		{name: "missing author", path: "/ui/services/auth/freeze", form: with("author", "  "), code: 400, msg: "Your name is required."},
		{name: "missing reason", path: "/ui/services/auth/freeze", form: with("reason", ""), code: 400, msg: "A reason is required."},
		{name: "long reason", path: "/ui/services/auth/freeze", form: with("reason", strings.Repeat("é", 501)), code: 400, msg: "longer than 500"},
		{name: "long author", path: "/ui/services/auth/freeze", form: with("author", strings.Repeat("a", 101)), code: 400, msg: "longer than 100"},
		{name: "control characters", path: "/ui/services/auth/freeze", form: with("reason", "a\nb"), code: 400, msg: "single lines"},
		{name: "invalid UTF-8", path: "/ui/services/auth/freeze", form: with("author", "a\xffb"), code: 400, msg: "invalid text"},
		{name: "bad until", path: "/ui/services/auth/freeze", form: with("until", "tomorrow"), code: 400, msg: "date and time"},
		{name: "until in the past", path: "/ui/services/auth/freeze", form: with("until", "2026-05-14T09:59"), code: 400, msg: "in the past"},
		{name: "wrong token", path: "/ui/services/auth/freeze", form: with("token", "wrong-token-value"), code: 401, msg: "The freeze token is not valid. Nothing was changed."},
		{name: "wrong token unfreeze", path: "/ui/services/checkout/unfreeze", form: with("token", "wrong-token-value"), code: 401, msg: "not valid"},
		{name: "backend refuses", path: "/ui/services/auth/freeze", form: valid(), freezeErr: fmt.Errorf("%w: expiry beyond the 14d maximum", ErrInvalid), code: 400, msg: "expiry beyond the 14d maximum"},
		{name: "backend fails", path: "/ui/services/auth/freeze", form: valid(), freezeErr: errors.New("database is locked"), code: 500, msg: "could not be applied"},
		{name: "unknown service", path: "/ui/services/nope/freeze", form: valid(), code: 404, msg: "There is no service nope."},
		{name: "freeze", path: "/ui/services/auth/freeze", form: valid(), code: 303, frozen: true},
		{name: "freeze without end", path: "/ui/services/auth/freeze", form: with("until", ""), code: 303, frozen: true},
		{name: "freeze with seconds", path: "/ui/services/auth/freeze", form: with("until", "2026-05-15T18:00:30"), code: 303, frozen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(false)
			f.freezeErr = tt.freezeErr
			u := newTestUI(t, f)
			before := f.frozen("auth")
			rec := u.post(t, tt.path, tt.form)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body.String())
			}
			body := rec.Body.String()
			if tt.msg != "" && !strings.Contains(body, tt.msg) {
				t.Errorf("page lacks the message %q", tt.msg)
			}
			token := tt.form.Get("token")
			if token != "" && (strings.Contains(body, token) || strings.Contains(u.log.String(), token) || strings.Contains(rec.Header().Get("Location"), token)) {
				t.Error("the token leaked into the page, the log or the redirect")
			}
			after := f.frozen("auth")
			if tt.frozen {
				if loc := rec.Header().Get("Location"); loc != "/ui/services/auth?done=freeze" {
					t.Errorf("Location %q", loc)
				}
				if !after.Frozen || f.calls != 1 {
					t.Errorf("not frozen: %+v, %d calls", after, f.calls)
				}
				wantUntil := map[string]time.Time{
					"2026-05-15T18:00":    time.Date(2026, 5, 15, 18, 0, 0, 0, time.UTC),
					"2026-05-15T18:00:30": time.Date(2026, 5, 15, 18, 0, 30, 0, time.UTC),
				}[tt.form.Get("until")]
				if !after.Until.Equal(wantUntil) {
					t.Errorf("until %v, want %v", after.Until, wantUntil)
				}
				if !strings.Contains(u.log.String(), "author=Ada") {
					t.Errorf("the change is not logged: %s", u.log.String())
				}
				return
			}
			if f.calls != 0 || after.Frozen != before.Frozen || len(after.Reasons) != len(before.Reasons) {
				t.Errorf("state changed: %+v -> %+v, %d calls", before, after, f.calls)
			}
			if tt.code != 404 {
				// The form keeps what was typed, but never the token.
				if !strings.Contains(body, `role="alert" id="form-error"`) {
					t.Error("the error is not announced")
				}
				if a := tt.form.Get("author"); strings.TrimSpace(a) != "" && !strings.Contains(body, `value="`+html.EscapeString(strings.TrimSpace(a))) && tt.name != "invalid UTF-8" {
					t.Errorf("the author %q is not kept", a)
				}
				if !strings.Contains(body, `<input id="freeze-token" name="token" type="password" required autocomplete="off">`) {
					t.Error("the token field is not empty")
				}
			}
		})
	}
}

func TestFreezeThenUnfreeze(t *testing.T) {
	f := newFake(false)
	u := newTestUI(t, f)
	rec := u.post(t, "/ui/services/auth/freeze", url.Values{"token": {testToken}, "author": {"Ada"}, "reason": {"release"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("freeze: %d", rec.Code)
	}
	page := u.get(t, rec.Header().Get("Location")).Body.String()
	for _, want := range []string{`id="flash">The service is frozen.</p>`, `<span class="state frozen">active</span>`, "manual: release (Ada)"} {
		if !strings.Contains(page, want) {
			t.Errorf("after freezing, the page lacks %q", want)
		}
	}
	rec = u.post(t, "/ui/services/auth/unfreeze", url.Values{"token": {testToken}, "author": {"Bob"}, "reason": {"done"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/services/auth?done=unfreeze" {
		t.Fatalf("unfreeze: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if f.frozen("auth").Frozen {
		t.Error("still frozen after unfreeze")
	}
	page = u.get(t, rec.Header().Get("Location")).Body.String()
	for _, want := range []string{"The manual freeze is lifted.", "Bob, 2026-05-14 10:00 UTC", "lifted by Bob: done"} {
		if !strings.Contains(page, want) {
			t.Errorf("after unfreezing, the page lacks %q", want)
		}
	}
}

func TestFormLimitsAndCrossOrigin(t *testing.T) {
	f := newFake(false)
	u := newTestUI(t, f)
	rec := u.post(t, "/ui/services/auth/freeze", url.Values{"token": {testToken}, "author": {"Ada"}, "reason": {strings.Repeat("x", maxFormBytes)}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "could not be read") {
		t.Errorf("oversized form: %d", rec.Code)
	}
	rec = u.post(t, "/ui/services/auth/freeze", url.Values{"token": {testToken}, "author": {"Ada"}, "reason": {"r"}}, "Sec-Fetch-Site", "cross-site")
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", rec.Code)
	}
	rec = u.post(t, "/ui/services/auth/freeze", url.Values{"token": {testToken}, "author": {"Ada"}, "reason": {"r"}}, "Origin", "https://evil.example")
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-origin post: %d", rec.Code)
	}
	if f.calls != 0 || f.frozen("auth").Frozen {
		t.Error("a refused post changed the state")
	}
}

func TestBackendErrors(t *testing.T) {
	f := newFake(false)
	f.err = errors.New("prometheus unreachable at 10.0.0.7")
	u := newTestUI(t, f)
	for _, p := range []string{"/ui/", "/ui/slos/checkout/availability", "/ui/services", "/ui/services/checkout"} {
		rec := u.get(t, p)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s: status %d", p, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "10.0.0.7") || !strings.Contains(rec.Body.String(), "the error is in the daemon") {
			t.Errorf("%s: error page %s", p, rec.Body.String())
		}
	}
	if !strings.Contains(u.log.String(), "10.0.0.7") {
		t.Errorf("the error is not logged: %s", u.log.String())
	}

	// Without history the SLO page still shows, with a note.
	f = newFake(false)
	f.historyErr = errors.New("range query timed out")
	u = newTestUI(t, f)
	rec := u.get(t, "/ui/slos/checkout/availability")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "The chart data could not be read") || !strings.Contains(rec.Body.String(), "no data") {
		t.Errorf("SLO page without history: %d", rec.Code)
	}
}

func TestStaticFiles(t *testing.T) {
	u := newTestUI(t, newFake(false))
	page := u.get(t, "/ui/").Body.String()
	for _, f := range []struct{ name, ctype, content string }{
		{"app.css", "text/css; charset=utf-8", ":focus-visible"},
		{"app.js", "text/javascript; charset=utf-8", "data-search"},
		{"charts.css", "text/css; charset=utf-8", ".slkc"},
		{"favicon.svg", "image/svg+xml", "<svg"},
	} {
		re := regexp.MustCompile(`"(/ui/static/` + regexp.QuoteMeta(f.name) + `\?v=[0-9a-f]{12})"`)
		m := re.FindStringSubmatch(page)
		if m == nil {
			t.Errorf("the page does not link %s with a version", f.name)
			continue
		}
		rec := u.get(t, html.UnescapeString(m[1]))
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != f.ctype || !strings.Contains(rec.Body.String(), f.content) {
			t.Errorf("%s: %d %q", f.name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("%s: Cache-Control %q", f.name, rec.Header().Get("Cache-Control"))
		}
	}
}

func TestNewOptions(t *testing.T) {
	f := newFake(false)
	for _, o := range []Options{
		{BasePath: "ui"},
		{BasePath: "/ui/../x"},
		{BasePath: "/ui/{x}"},
		{GrafanaURL: "grafana.example.com"},
		{GrafanaURL: "ftp://grafana.example.com"},
	} {
		if _, err := New(f, o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil): no error")
	}
	h, err := New(f, Options{BasePath: "/slo-ui/"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slo-ui/services/checkout", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `href="/slo-ui/services"`) {
		t.Errorf("base path /slo-ui: %d", rec.Code)
	}
	// Without a Grafana URL, relative dashboard links are left out.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/slo-ui/slos/checkout/availability", nil))
	if !strings.Contains(rec.Body.String(), "No Grafana link configured.") {
		t.Error("relative dashboard links shown without a Grafana URL")
	}
}

func TestLinks(t *testing.T) {
	u := &ui{}
	in := []Link{
		{Title: "rel", URL: "/d/abc/slo?orgId=1"},
		{Title: "abs", URL: "https://other.example/d/x"},
		{Title: "js", URL: "javascript:alert(1)"},
		{Title: "data", URL: "data:text/html,<script>alert(1)</script>"},
		{Title: "scheme-relative", URL: "//evil.example/x"},
		{Title: "relative path", URL: "d/abc"},
		{URL: "https://untitled.example/"},
	}
	if got := u.links(in); !slices.Equal(got, []Link{{"abs", "https://other.example/d/x"}, {"https://untitled.example/", "https://untitled.example/"}}) {
		t.Errorf("without Grafana URL: %v", got)
	}
	g, _ := url.Parse("https://grafana.example.com/sub")
	u.grafana = g
	want := []Link{{"rel", "https://grafana.example.com/sub/d/abc/slo?orgId=1"}, {"abs", "https://other.example/d/x"}, {"https://untitled.example/", "https://untitled.example/"}}
	if got := u.links(in); !slices.Equal(got, want) {
		t.Errorf("links\n got %v\nwant %v", got, want)
	}
}

func TestFormatting(t *testing.T) {
	if got := formatBudget(ptr(0.2234)); got != "22.3%" {
		t.Errorf("formatBudget: %s", got)
	}
	if got := formatBudget(ptr(math.NaN())); got != "no data" {
		t.Errorf("formatBudget(NaN): %s", got)
	}
	for _, tt := range []struct {
		b    *float64
		want string
	}{{nil, "none"}, {ptr(-0.1), "out"}, {ptr(0.0), "out"}, {ptr(0.1), "low"}, {ptr(0.5), "ok"}} {
		if got := budgetClass(tt.b); got != tt.want {
			t.Errorf("budgetClass(%v) = %s", tt.b, got)
		}
	}
	for _, tt := range []struct {
		b    *float64
		want string
	}{{nil, "0"}, {ptr(-1.0), "0"}, {ptr(0.4567), "45.7"}, {ptr(3.0), "100"}} {
		if got := budgetWidth(tt.b); got != tt.want {
			t.Errorf("budgetWidth(%v) = %s", tt.b, got)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{30 * time.Second, "1m"}, {5 * time.Minute, "5m"}, {3*time.Hour + 5*time.Minute, "3h 5m"}, {2 * time.Hour, "2h"}, {50 * time.Hour, "2d 2h"}, {72 * time.Hour, "3d"}} {
		if got := formatSpan(tt.d); got != tt.want {
			t.Errorf("formatSpan(%v) = %s, want %s", tt.d, got, tt.want)
		}
	}
	if got := formatAgo(testNow, time.Time{}); got != "never" {
		t.Errorf("formatAgo(zero) = %s", got)
	}
	if got := formatUntil(testNow, testNow.Add(-time.Minute)); got != "expired" {
		t.Errorf("formatUntil(past) = %s", got)
	}
	for _, tt := range []struct {
		v    float64
		want string
	}{{0.5, "0.50×"}, {14.4, "14.4×"}, {250, "250×"}, {math.Inf(1), "no data"}} {
		if got := formatBurn(tt.v); got != tt.want {
			t.Errorf("formatBurn(%v) = %s", tt.v, got)
		}
	}
	ws := sortedWindows(map[string]int{"period": 0, "3d": 0, "5m": 0, "1h": 0, "30m": 0, "1d": 0, "bogus": 0})
	if want := []string{"5m", "30m", "1h", "1d", "3d", "bogus", "period"}; !slices.Equal(ws, want) {
		t.Errorf("sortedWindows = %v", ws)
	}
}
