package grafana

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/dashboards/grafana/grafanatest"
	"github.com/slokeeper/slokeeper/slo"
)

const (
	editorToken = "glsa_editor_0123456789abcdef"
	viewerToken = "glsa_viewer_fedcba9876543210"
)

func testDashboards() []dashboards.Dashboard {
	h := time.Hour
	slos := []slo.SLO{
		{Service: "checkout", Team: "payments", Name: "availability", Objective: 99.9,
			Period: slo.Period{Kind: slo.Rolling, Rolling: 28 * 24 * h},
			SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
				Errors: `http_requests_total{job="checkout",code=~"5.."}`, Total: `http_requests_total{job="checkout"}`}}},
	}
	return dashboards.All(slos, dashboards.Options{})
}

func newClient(t *testing.T, srv *grafanatest.Server, token Token, mod func(*Config)) (*Client, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := Config{
		URL: srv.URL, Token: token, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Logger:     slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, &logs
}

func TestPushTwiceWritesOnce(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, viewerToken)
	defer srv.Close()
	c, logs := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	ds := testDashboards()

	res, err := c.Push(ctx, ds, PushOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != len(ds) || len(res.Unchanged) != 0 || srv.DashboardWrites() != len(ds) || srv.FolderCreates() != 1 {
		t.Fatalf("first push: %d written, %d unchanged; server saw %d writes, %d folders", len(res.Written), len(res.Unchanged), srv.DashboardWrites(), srv.FolderCreates())
	}
	res, err = c.Push(ctx, ds, PushOptions{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 0 || len(res.Unchanged) != len(ds) || srv.DashboardWrites() != len(ds) || srv.FolderCreates() != 1 {
		t.Fatalf("second push: %d written, %d unchanged; server saw %d writes in all", len(res.Written), len(res.Unchanged), srv.DashboardWrites())
	}
	// A new client (a restarted daemon) compares with Grafana, not with
	// its memory: still no write.
	c2, _ := newClient(t, srv, editorToken, nil)
	if res, err = c2.Push(ctx, ds, PushOptions{Overwrite: true}); err != nil || len(res.Written) != 0 {
		t.Fatalf("push from a new client: %v, %d written", err, len(res.Written))
	}
	// What was stored: in the folder, with the message and content hash.
	model, version, folder, messages, ok := srv.Dashboard(ds[0].UID)
	hash, _ := ContentHash(&ds[0])
	if !ok || version != 1 || folder != dashboards.DefaultFolderUID || model["title"] != ds[0].Title ||
		len(messages) != 1 || !strings.Contains(messages[0], hash[:12]) {
		t.Errorf("stored: ok=%v version=%d folder=%q messages=%q", ok, version, folder, messages)
	}
	if strings.Contains(logs.String(), editorToken) {
		t.Error("the token is in the logs")
	}

	// One dashboard changes: one write.
	ds[1].Title += " (changed)"
	if res, err = c.Push(ctx, ds, PushOptions{Overwrite: true}); err != nil || len(res.Written) != 1 || res.Written[0] != ds[1].UID {
		t.Fatalf("after a change: %v, written %v", err, res.Written)
	}
	// Edited in the UI: the push puts it back.
	srv.Edit(ds[2].UID, func(m map[string]any) { m["title"] = "edited by hand" })
	if res, err = c.Push(ctx, ds, PushOptions{Overwrite: true}); err != nil || len(res.Written) != 1 || res.Written[0] != ds[2].UID {
		t.Fatalf("after an edit in Grafana: %v, written %v", err, res.Written)
	}
	if m, v, _, _, _ := srv.Dashboard(ds[2].UID); m["title"] != ds[2].Title || v != 3 {
		t.Errorf("not restored: %v, version %d", m["title"], v)
	}
	// Moved to another folder: written again into ours.
	srv.AddFolder("elsewhere", "Elsewhere")
	if res, err = c.Push(ctx, ds[:1], PushOptions{Overwrite: true, FolderUID: "elsewhere", FolderTitle: "Elsewhere"}); err != nil || len(res.Written) != 1 {
		t.Fatalf("other folder: %v %v", err, res)
	}
}

func TestVerifyEverySkipsReads(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, _ := newClient(t, srv, editorToken, func(c *Config) {
		c.VerifyEvery = time.Minute
		c.Now = func() time.Time { return now }
	})
	ds := testDashboards()
	ctx := context.Background()
	if _, err := c.Push(ctx, ds, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	if _, err := c.Push(ctx, ds, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()) - before; n != 1 { // the folder check only
		t.Errorf("second push within VerifyEvery made %d requests, want 1", n)
	}
	now = now.Add(2 * time.Minute)
	before = len(srv.Requests())
	if _, err := c.Push(ctx, ds, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests()) - before; n != 1+len(ds) {
		t.Errorf("push after VerifyEvery made %d requests, want %d", n, 1+len(ds))
	}
	if srv.DashboardWrites() != len(ds) {
		t.Errorf("%d writes", srv.DashboardWrites())
	}
}

func TestAuthErrors(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, viewerToken)
	defer srv.Close()
	ctx := context.Background()
	ds := testDashboards()

	bad, logs := newClient(t, srv, "glsa_wrong_token_value", nil)
	_, err := bad.Push(ctx, ds, PushOptions{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "glsa_wrong_token_value") || strings.Contains(logs.String(), "glsa_wrong_token_value") {
		t.Error("the token is in the error or the logs")
	}
	if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "token") {
		t.Errorf("401 error not clear: %v", err)
	}
	// 401 is not retried.
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests for a 401, want 1", n)
	}

	viewer, _ := newClient(t, srv, viewerToken, nil)
	_, err = viewer.Push(ctx, ds, PushOptions{})
	if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "permission") {
		t.Fatalf("viewer: %v", err)
	}
	if strings.Contains(err.Error(), viewerToken) {
		t.Error("the token is in the error")
	}
	// Reads work for the viewer; a missing dashboard is ErrNotFound.
	if _, err := viewer.GetDashboard(ctx, "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing dashboard: %v", err)
	}
}

func TestVersionMismatch(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	c, _ := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	d := testDashboards()[0]
	if _, err := c.Push(ctx, []dashboards.Dashboard{d}, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	remote, err := c.GetDashboard(ctx, d.UID)
	if err != nil || remote.Version() != 1 {
		t.Fatalf("read back: %v, version %d", err, remote.Version())
	}
	// Someone saves in between: our save with the version we read fails.
	srv.Edit(d.UID, func(m map[string]any) { m["description"] = "changed by someone" })
	d.Description = "ours"
	_, err = c.SaveDashboard(ctx, d, dashboards.DefaultFolderUID, "test", false, remote.Version())
	if !errors.Is(err, ErrVersionMismatch) || !strings.Contains(err.Error(), "412") {
		t.Fatalf("stale version: %v", err)
	}
	// 412 is not retried.
	last := srv.Requests()[len(srv.Requests())-1]
	if last.Status != http.StatusPreconditionFailed {
		t.Errorf("last request: %+v", last)
	}
	// Without overwrite, Push reads the current version and saves on it.
	if res, err := c.Push(ctx, []dashboards.Dashboard{d}, PushOptions{}); err != nil || len(res.Written) != 1 {
		t.Fatalf("push on the current version: %v %v", err, res)
	}
	// Overwrite ignores versions.
	srv.Edit(d.UID, func(m map[string]any) { m["description"] = "again" })
	if _, err := c.SaveDashboard(ctx, d, dashboards.DefaultFolderUID, "test", true, 0); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	// Another dashboard with the same title in the folder: name-exists.
	other := d
	other.UID = "another-uid"
	_, err = c.SaveDashboard(ctx, other, dashboards.DefaultFolderUID, "test", false, 0)
	if !errors.Is(err, ErrNameExists) {
		t.Errorf("same title: %v", err)
	}
}

func TestRetries(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	ctx := context.Background()
	ds := testDashboards()[:2]

	// 503 twice and 429 once, then fine: the push goes through.
	srv.Inject(grafanatest.Fault{Path: "/api/dashboards/db", Status: http.StatusServiceUnavailable, Times: 2})
	srv.Inject(grafanatest.Fault{Path: "/api/folders/", Status: http.StatusTooManyRequests, RetryAfter: "0"})
	c, logs := newClient(t, srv, editorToken, nil)
	res, err := c.Push(ctx, ds, PushOptions{})
	if err != nil || len(res.Written) != 2 {
		t.Fatalf("push with transient errors: %v %v", err, res)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Error("retries not logged")
	}

	// Retry-After is honoured.
	srv.Inject(grafanatest.Fault{Path: "/api/folders/", Status: http.StatusTooManyRequests, RetryAfter: "1"})
	c2, _ := newClient(t, srv, editorToken, func(c *Config) { c.MaxBackoff = 5 * time.Second })
	start := time.Now()
	if _, err := c2.EnsureFolder(ctx, "slokeeper", "SLOs"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("Retry-After: 1 waited only %v", d)
	}

	// Always failing: the error says how often it tried.
	srv.Inject(grafanatest.Fault{Path: "/api/dashboards/uid/", Status: http.StatusInternalServerError, Times: 100})
	c3, _ := newClient(t, srv, editorToken, func(c *Config) { c.Retries = 3 })
	_, err = c3.GetDashboard(ctx, ds[0].UID)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Attempts != 4 || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("persistent 500: %v", err)
	}
}

func TestTimeoutRetried(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	srv.Inject(grafanatest.Fault{Path: "/api/folders/", Delay: 500 * time.Millisecond})
	c, _ := newClient(t, srv, editorToken, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	if _, err := c.EnsureFolder(context.Background(), "slokeeper", "SLOs"); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
	// The context bounds everything, backoff included.
	srv.Inject(grafanatest.Fault{Path: "/api/folders/", Status: http.StatusServiceUnavailable, Times: 100})
	c2, _ := newClient(t, srv, editorToken, func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c2.EnsureFolder(ctx, "slokeeper", "SLOs")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("cancelled: %v after %v", err, time.Since(start))
	}
}

func TestAnnotations(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	c, _ := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	id, err := c.Annotate(ctx, Deployment("checkout", "checkout v1.2.3 deployed", at))
	if err != nil || id == 0 {
		t.Fatalf("deployment: %v", err)
	}
	fid, err := c.Annotate(ctx, Freeze("checkout", "error budget exhausted", at.Add(time.Hour), time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.EndAnnotation(ctx, fid, at.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := srv.Annotations()
	if len(got) != 2 {
		t.Fatalf("%d annotations", len(got))
	}
	want := fmt.Sprint([]string{"slokeeper", "deployment", "service:checkout"})
	if fmt.Sprint(got[0].Tags) != want || got[0].Time != at.UnixMilli() || got[0].Text != "checkout v1.2.3 deployed" {
		t.Errorf("deployment stored as %+v", got[0])
	}
	if got[1].Tags[1] != "freeze" || got[1].TimeEnd != at.Add(5*time.Hour).UnixMilli() {
		t.Errorf("freeze stored as %+v", got[1])
	}
	// The dashboards show exactly these tags.
	d := dashboards.SLODetail("checkout", nil, dashboards.Options{})
	var tags []string
	for _, a := range d.Annotations.List {
		if a.Name == "Deployments" {
			tags = a.Target.Tags
		}
	}
	if fmt.Sprint(tags) != want {
		t.Errorf("dashboard annotation tags %v, want %v", tags, want)
	}
	if _, err := c.Annotate(ctx, Annotation{Time: at}); err == nil {
		t.Error("annotation without text accepted")
	}
	// A non-idempotent post is not retried on a 500 (it may have been
	// stored), but is on 429.
	srv.Inject(grafanatest.Fault{Path: "/api/annotations", Status: 500})
	if _, err := c.Annotate(ctx, Deployment("checkout", "x", at)); err == nil {
		t.Error("500 on an annotation: no error")
	}
	srv.Inject(grafanatest.Fault{Path: "/api/annotations", Status: 429})
	if _, err := c.Annotate(ctx, Deployment("checkout", "y", at)); err != nil {
		t.Errorf("429 on an annotation not retried: %v", err)
	}
	if n := len(srv.Annotations()); n != 3 {
		t.Errorf("%d annotations stored, want 3", n)
	}
}

func TestToken(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "token")
	if err := os.WriteFile(f, []byte("  glsa_from_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadToken(f, "")
	if err != nil || tok.reveal() != "glsa_from_file" {
		t.Fatalf("from file: %v", err)
	}
	t.Setenv("SLOKEEPER_TEST_GRAFANA_TOKEN", "glsa_from_env")
	if tok, err = LoadToken("", "SLOKEEPER_TEST_GRAFANA_TOKEN"); err != nil || tok.reveal() != "glsa_from_env" {
		t.Fatalf("from env: %v", err)
	}
	t.Setenv(DefaultTokenEnv, "")
	if _, err := LoadToken("", ""); err == nil || !strings.Contains(err.Error(), DefaultTokenEnv) {
		t.Errorf("no token: %v", err)
	}
	if _, err := LoadToken(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("missing file: no error")
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := LoadToken(empty, ""); err == nil {
		t.Error("empty file: no error")
	}
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q", tok, Config{Token: tok}, Config{Token: tok}, tok, tok)} {
		if strings.Contains(s, "glsa_") {
			t.Errorf("token printed: %s", s)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", tok, "cfg", Config{Token: tok})
	if strings.Contains(buf.String(), "glsa_") {
		t.Errorf("token logged: %s", buf.String())
	}
	if _, err := New(Config{URL: "ftp://x", Token: "t"}); err == nil {
		t.Error("ftp URL accepted")
	}
	if _, err := New(Config{URL: "http://user:pw@x", Token: "t"}); err == nil {
		t.Error("URL with credentials accepted")
	}
	if _, err := New(Config{URL: "http://x"}); err == nil {
		t.Error("no token accepted")
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	h.Set("Retry-After", now.Add(3*time.Second).Format(http.TimeFormat))
	if d, ok := retryAfter(h, now); !ok || d != 3*time.Second {
		t.Errorf("date: %v %v", d, ok)
	}
	h.Set("Retry-After", "7")
	if d, ok := retryAfter(h, now); !ok || d != 7*time.Second {
		t.Errorf("seconds: %v %v", d, ok)
	}
	h.Set("Retry-After", "soon")
	if _, ok := retryAfter(h, now); ok {
		t.Error("garbage accepted")
	}
}

// TestSubPath: a Grafana served under a path prefix.
func TestSubPath(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/grafana/", http.StripPrefix("/grafana", srv.Config.Handler))
	front := httptest.NewServer(mux)
	defer front.Close()
	c, _ := newClient(t, srv, editorToken, func(c *Config) { c.URL = front.URL + "/grafana/" })
	if _, err := c.Push(context.Background(), testDashboards()[:1], PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if srv.DashboardWrites() != 1 {
		t.Errorf("%d writes", srv.DashboardWrites())
	}
}
