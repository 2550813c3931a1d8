package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/rules"
)

func spec(service string, objective string) string {
	return fmt.Sprintf(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: %s, team: t-%s, labels: {tier: "1"}}
spec:
  window: 7d
  slos:
  - name: availability
    objective: %s
    sli:
      ratio:
        errors: requests_total{job="%s",code=~"5.."}
        total: requests_total{job="%s"}
`, service, service, objective, service, service)
}

type fakeProm struct {
	mu   sync.Mutex
	down bool
}

func (f *fakeProm) Query(_ context.Context, q string, _ time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, nil, nil, fmt.Errorf("connection refused")
	}
	m := model.Metric{rules.LabelService: "a", rules.LabelSLO: "availability"}
	switch q {
	case rules.MetricBudgetRemaining:
		return model.Vector{{Metric: m, Value: 0.25}}, nil, nil, nil
	case rules.MetricBurnRate:
		m2 := m.Clone()
		m2[rules.LabelWindow] = "1h"
		return model.Vector{{Metric: m2, Value: 2}}, nil, nil, nil
	}
	return model.Vector{}, nil, nil, nil
}

type fixture struct {
	t       *testing.T
	specs   string
	rules   string
	reloads atomic.Int32
	fail    atomic.Bool
	prom    *fakeProm
	d       *Daemon
	api     *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, specs: t.TempDir(), rules: t.TempDir(), prom: &fakeProm{}}
	reload := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/-/reload" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if f.fail.Load() {
			http.Error(w, "failed to reload config", http.StatusInternalServerError)
			return
		}
		f.reloads.Add(1)
	}))
	t.Cleanup(reload.Close)
	cfg, err := config.Parse(filepath.Join(f.specs, "c.yml"), []byte(fmt.Sprintf(
		"specs: [%q]\nprometheus: {url: 'http://127.0.0.1:1'}\nrules: {mode: files, directory: %q, reload_url: %q}\nintervals: {budget_read: 1h}\n",
		f.specs+"/*.yaml", f.rules, reload.URL+"/-/reload")))
	if err != nil {
		t.Fatal(err)
	}
	f.d, err = New(cfg, Options{Querier: f.prom})
	if err != nil {
		t.Fatal(err)
	}
	f.api = httptest.NewServer(f.d.Handler())
	t.Cleanup(f.api.Close)
	return f
}

func (f *fixture) write(name, data string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.specs, name), []byte(data), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) ruleFiles() []string {
	f.t.Helper()
	es, err := os.ReadDir(f.rules)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func (f *fixture) get(path string, v any) int {
	f.t.Helper()
	resp, err := http.Get(f.api.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			f.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func TestReconcileFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write("a.yaml", spec("a", "99.9"))
	f.write("b.yaml", spec("b", "99"))
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.ruleFiles(), " "); got != rules.RuleFileName("a")+" "+rules.RuleFileName("b") {
		t.Fatalf("rule files = %s", got)
	}
	if f.reloads.Load() != 1 {
		t.Fatalf("%d reloads after the first delivery, want 1", f.reloads.Load())
	}
	// Nothing changed: no reload.
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if f.reloads.Load() != 1 {
		t.Errorf("reloaded without a change")
	}
	// A broken spec keeps its last good rules; the other file is unaffected.
	before, _ := os.ReadFile(filepath.Join(f.rules, rules.RuleFileName("a")))
	f.write("a.yaml", spec("a", "120"))
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(f.rules, rules.RuleFileName("a")))
	if string(before) != string(after) || f.reloads.Load() != 1 {
		t.Errorf("the broken spec changed the rules (reloads %d)", f.reloads.Load())
	}
	var st Status
	f.get("/api/v1/status", &st)
	if len(st.InvalidFiles) != 1 || len(st.KeptSLOs) != 1 || st.KeptSLOs[0] != "a/availability" || len(st.Problems) == 0 {
		t.Errorf("status = %+v", st)
	}
	// A removed service's file goes; a failed reload is retried next time.
	if err := os.Remove(filepath.Join(f.specs, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	f.fail.Store(true)
	if err := f.d.Reconcile(ctx); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("failed reload not reported: %v", err)
	}
	if got := f.ruleFiles(); len(got) != 1 || got[0] != rules.RuleFileName("a") {
		t.Errorf("rule files = %v", got)
	}
	f.fail.Store(false)
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if f.reloads.Load() != 2 {
		t.Errorf("failed reload not retried: %d reloads", f.reloads.Load())
	}
	// Files slokeeper does not own are left alone.
	if err := os.WriteFile(filepath.Join(f.rules, "other.yml"), []byte("groups: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.rules, "other.yml")); err != nil {
		t.Errorf("a foreign file was removed: %v", err)
	}
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write("a.yaml", spec("a", "99.9"))
	f.write("b.yaml", spec("b", "99"))
	if code := f.get("/-/ready", nil); code != http.StatusServiceUnavailable {
		t.Errorf("ready before anything: %d", code)
	}
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if code := f.get("/-/ready", nil); code != http.StatusServiceUnavailable {
		t.Errorf("ready before a budget read: %d", code)
	}
	if err := f.d.Reader().Read(ctx); err != nil {
		t.Fatal(err)
	}
	if code := f.get("/-/ready", nil); code != http.StatusOK {
		t.Errorf("not ready after a good read: %d", code)
	}
	var list struct {
		SLOs      []SLOSummary `json:"slos"`
		Freshness Freshness    `json:"freshness"`
	}
	f.get("/api/v1/slos?sort=budget", &list)
	if len(list.SLOs) != 2 || list.SLOs[0].ID != "a/availability" || list.SLOs[0].Status == nil || *list.SLOs[0].Status.BudgetRemaining != 0.25 {
		t.Fatalf("list = %+v", list)
	}
	if list.Freshness.Stale {
		t.Errorf("fresh data marked stale")
	}
	f.get("/api/v1/slos?team=t-b", &list)
	if len(list.SLOs) != 1 || list.SLOs[0].Service != "b" {
		t.Errorf("team filter: %+v", list.SLOs)
	}
	f.get("/api/v1/slos?label=tier=1&service=a", &list)
	if len(list.SLOs) != 1 || list.SLOs[0].Service != "a" {
		t.Errorf("label+service filter: %+v", list.SLOs)
	}
	if code := f.get("/api/v1/slos?sort=nope", nil); code != http.StatusBadRequest {
		t.Errorf("bad sort: %d", code)
	}
	var page struct {
		SLOs       []SLOSummary `json:"slos"`
		Total      int          `json:"total"`
		Offset     int          `json:"offset"`
		NextOffset *int         `json:"next_offset"`
	}
	for _, tc := range []struct {
		query    string
		ids      []string
		next     int // -1: none
		badInput bool
	}{
		{query: "limit=1", ids: []string{"a/availability"}, next: 1},
		{query: "limit=1&offset=1", ids: []string{"b/availability"}, next: -1},
		{query: "limit=1&offset=1&sort=budget", ids: []string{"b/availability"}, next: -1},
		{query: "offset=5", ids: nil, next: -1},
		{query: "limit=0", badInput: true},
		{query: "limit=10001", badInput: true},
		{query: "offset=-1", badInput: true},
		{query: "limit=x", badInput: true},
	} {
		page.SLOs, page.NextOffset = nil, nil
		code := f.get("/api/v1/slos?"+tc.query, &page)
		if tc.badInput {
			if code != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tc.query, code)
			}
			continue
		}
		var ids []string
		for _, s := range page.SLOs {
			ids = append(ids, s.ID)
		}
		if !slices.Equal(ids, tc.ids) || page.Total != 2 || (tc.next < 0) != (page.NextOffset == nil) || (tc.next >= 0 && *page.NextOffset != tc.next) {
			t.Errorf("%s: ids %v total %d next %v", tc.query, ids, page.Total, page.NextOffset)
		}
	}
	var det SLODetail
	if code := f.get("/api/v1/slos/a/availability", &det); code != http.StatusOK {
		t.Fatalf("detail: %d", code)
	}
	if det.Status == nil || det.Status.BurnRate["1h"] != 2 || len(det.Rules) == 0 || det.Objective != 99.9 {
		t.Errorf("detail = %+v", det)
	}
	for _, r := range det.Rules {
		if r.Labels[rules.LabelSLO] != "availability" {
			t.Errorf("rule of another SLO: %+v", r)
		}
	}
	if code := f.get("/api/v1/slos/a/nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown SLO: %d", code)
	}
	var svcs struct {
		Services []ServiceSummary `json:"services"`
	}
	f.get("/api/v1/services", &svcs)
	if len(svcs.Services) != 2 || svcs.Services[0].MinBudgetRemaining == nil || svcs.Services[1].Teams[0] != "t-b" {
		t.Errorf("services = %+v", svcs)
	}
	// Prometheus down: values kept, stale, not ready.
	f.prom.mu.Lock()
	f.prom.down = true
	f.prom.mu.Unlock()
	if err := f.d.Reader().Read(ctx); err == nil {
		t.Fatal("no error")
	}
	if code := f.get("/-/ready", nil); code != http.StatusServiceUnavailable {
		t.Errorf("ready with stale data: %d", code)
	}
	f.get("/api/v1/slos/a/availability", &det)
	if !det.Freshness.Stale || det.Freshness.LastError == "" || det.Status == nil || *det.Status.BudgetRemaining != 0.25 {
		t.Errorf("stale detail = %+v", det.Freshness)
	}
	// The list (prebuilt after each read) says the same: last values, stale.
	var stale struct {
		SLOs      []SLOSummary `json:"slos"`
		Freshness Freshness    `json:"freshness"`
	}
	f.get("/api/v1/slos?service=a", &stale)
	if !stale.Freshness.Stale || stale.Freshness.LastError == "" || len(stale.SLOs) == 0 || stale.SLOs[0].Status == nil {
		t.Errorf("stale list = %+v", stale)
	}
	if code := f.get("/metrics", nil); code != http.StatusOK {
		t.Errorf("/metrics: %d", code)
	}
	if code := f.get("/-/healthy", nil); code != http.StatusOK {
		t.Errorf("/-/healthy: %d", code)
	}
}

func TestRunReloadEndpointAndWatch(t *testing.T) {
	f := newFixture(t)
	f.d.opts.Debounce = 50 * time.Millisecond
	f.write("a.yaml", spec("a", "99.9"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// POST /-/reload waits for a reconcile, so the file is there after it.
	resp, err := http.Post(f.api.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /-/reload: %s", resp.Status)
	}
	if got := f.ruleFiles(); len(got) != 1 {
		t.Fatalf("rule files = %v", got)
	}
	// A new spec is picked up by the watch, without a request.
	f.write("b.yaml", spec("b", "99"))
	deadline := time.Now().Add(10 * time.Second)
	for len(f.ruleFiles()) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("new spec not picked up: %v", f.ruleFiles())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := f.get("/-/reload", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /-/reload: %d", code)
	}
}
