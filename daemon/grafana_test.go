package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/dashboards/grafana/grafanatest"
)

func TestGrafanaPush(t *testing.T) {
	g := grafanatest.NewServer("editor-token", "viewer-token")
	defer g.Close()
	f := newFixture(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("editor-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := *f.d.cfg
	cfg.Grafana = &config.Grafana{URL: g.URL, TokenFile: tokenFile, Folder: "Service levels", FolderUID: "slo-test"}
	d, err := New(&cfg, Options{Querier: f.prom})
	if err != nil {
		t.Fatal(err)
	}
	f.write("a.yaml", spec("a", "99.9"))
	f.write("b.yaml", spec("b", "99"))
	ctx := context.Background()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	first := g.DashboardWrites()
	if first < 5 { // overview, detail and RED of a and b, platform dashboards
		t.Fatalf("%d dashboards written, want at least 5", first)
	}
	if g.FolderCreates() != 1 {
		t.Errorf("%d folders created", g.FolderCreates())
	}
	// The same specs again: nothing written.
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := g.DashboardWrites(); n != first {
		t.Errorf("a reconcile without change wrote %d dashboards", n-first)
	}
	// A changed spec: only its dashboards (and the overview) are written.
	f.write("a.yaml", spec("a", "99.5"))
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := g.DashboardWrites() - first; n == 0 || n > 3 {
		t.Errorf("a changed spec wrote %d dashboards, want 1..3", n)
	}
	// A removed service: its dashboards are deleted, a person's stays.
	if err := g.AddDashboard("slo-test", map[string]any{"uid": "hand-made", "title": "Hand made", "tags": []any{"slokeeper"}}); err != nil {
		t.Fatal(err)
	}
	before := g.DashboardUIDs("slo-test")
	if err := os.Remove(filepath.Join(f.specs, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	after := g.DashboardUIDs("slo-test")
	if g.DashboardDeletes() == 0 || len(after) >= len(before) || !slices.Contains(after, "hand-made") {
		t.Errorf("after removing b: %d deletes, dashboards %v (before %v)", g.DashboardDeletes(), after, before)
	}
	for _, uid := range after {
		if strings.Contains(uid, "-b") && uid != "hand-made" {
			t.Errorf("b's dashboard %s is still there", uid)
		}
	}
	f.write("b.yaml", spec("b", "99"))
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	// A read-only token: the reconcile reports the push error, the rules
	// are still delivered, and the token is re-read on the next push.
	if err := os.WriteFile(tokenFile, []byte("viewer-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.write("a.yaml", spec("a", "99.0"))
	err = d.Reconcile(ctx)
	if err == nil || !strings.Contains(err.Error(), "Grafana") {
		t.Fatalf("push error not reported: %v", err)
	}
	if got := f.ruleFiles(); len(got) != 2 {
		t.Errorf("rule files = %v", got)
	}
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.LastError, "Grafana") {
		t.Errorf("status.last_error = %q", st.LastError)
	}
}
