package budget

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/rules"
)

func sample(v float64, kv ...string) *model.Sample {
	m := model.Metric{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return &model.Sample{Metric: m, Value: model.SampleValue(v)}
}

func ptr(f float64) *float64 { return &f }

func TestParse(t *testing.T) {
	svc, name, win := rules.LabelService, rules.LabelSLO, rules.LabelWindow
	for _, tc := range []struct {
		name string
		in   Results
		want map[string]*Status
	}{
		{"empty", Results{}, map[string]*Status{}},
		{"budget only", Results{QueryBudget: model.Vector{sample(0.75, svc, "a", name, "x")}},
			map[string]*Status{"a/x": {Service: "a", SLO: "x", BudgetRemaining: ptr(0.75)}}},
		{"negative budget kept", Results{QueryBudget: model.Vector{sample(-1.5, svc, "a", name, "x")}},
			map[string]*Status{"a/x": {Service: "a", SLO: "x", BudgetRemaining: ptr(-1.5)}}},
		{"groupBy: worst group", Results{
			QueryBudget: model.Vector{sample(0.9, svc, "a", name, "x", "route", "/1"), sample(0.2, svc, "a", name, "x", "route", "/2")},
			QueryBurnRate: model.Vector{
				sample(1, svc, "a", name, "x", win, "1h", "route", "/1"),
				sample(3, svc, "a", name, "x", win, "1h", "route", "/2"),
			},
		}, map[string]*Status{"a/x": {Service: "a", SLO: "x", BudgetRemaining: ptr(0.2), BurnRate: map[string]float64{"1h": 3}}}},
		{"windows", Results{
			QueryErrorRatio: model.Vector{sample(0.01, svc, "a", name, "x", win, "5m"), sample(0.001, svc, "a", name, "x", win, rules.WindowPeriod)},
			QueryBurnRate:   model.Vector{sample(10, svc, "a", name, "x", win, "5m")},
		}, map[string]*Status{"a/x": {Service: "a", SLO: "x",
			ErrorRatio: map[string]float64{"5m": 0.01, rules.WindowPeriod: 0.001},
			BurnRate:   map[string]float64{"5m": 10}}}},
		{"skipped: no labels, NaN, Inf, no window", Results{
			QueryBudget:     model.Vector{sample(0.5, svc, "a"), sample(math.NaN(), svc, "a", name, "x"), sample(math.Inf(1), svc, "b", name, "y")},
			QueryErrorRatio: model.Vector{sample(0.5, svc, "c", name, "z")},
		}, map[string]*Status{"c/z": {Service: "c", SLO: "z"}}},
		{"alerts sorted", Results{QueryAlerts: model.Vector{
			sample(1, "__name__", "ALERTS", "alertname", "SLOPageSlow", "alertstate", "firing", svc, "a", name, "x", rules.LabelSeverity, "critical", rules.LabelTier, "page-slow"),
			sample(1, "__name__", "ALERTS", "alertname", "SLOPageFast", "alertstate", "firing", svc, "a", name, "x", rules.LabelSeverity, "critical", rules.LabelTier, "page-fast"),
		}}, map[string]*Status{"a/x": {Service: "a", SLO: "x", Alerts: []Alert{
			{Name: "SLOPageFast", Severity: "critical", Tier: "page-fast", Labels: map[string]string{"alertname": "SLOPageFast", svc: "a", name: "x", rules.LabelSeverity: "critical", rules.LabelTier: "page-fast"}},
			{Name: "SLOPageSlow", Severity: "critical", Tier: "page-slow", Labels: map[string]string{"alertname": "SLOPageSlow", svc: "a", name: "x", rules.LabelSeverity: "critical", rules.LabelTier: "page-slow"}},
		}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %s\nwant %s", dump(got), dump(tc.want))
			}
		})
	}
	if _, err := Parse(Results{QueryBudget: &model.Scalar{Value: 1}}); err == nil {
		t.Error("a scalar result was accepted")
	}
}

func dump(m map[string]*Status) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestQueriesAreFewAndUseConstants(t *testing.T) {
	qs := Queries()
	if len(qs) > 10 {
		t.Errorf("%d queries per read", len(qs))
	}
	if qs[QueryBudget] != rules.MetricBudgetRemaining || qs[QueryBurnRate] != rules.MetricBurnRate || qs[QueryErrorRatio] != rules.MetricErrorRatio {
		t.Errorf("queries = %v", qs)
	}
	if !strings.Contains(qs[QueryAlerts], rules.LabelSLO+`!=""`) {
		t.Errorf("alerts query = %s", qs[QueryAlerts])
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		interval, maxB time.Duration
		n              int
		want           time.Duration
	}{
		{30 * time.Second, 5 * time.Minute, 1, 7500 * time.Millisecond},
		{30 * time.Second, 5 * time.Minute, 2, 15 * time.Second},
		{30 * time.Second, 5 * time.Minute, 4, time.Minute},
		{30 * time.Second, 5 * time.Minute, 100, 5 * time.Minute},
		{100 * time.Millisecond, time.Second, 1, 100 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 5, time.Second},
	} {
		if got := Backoff(tc.interval, tc.maxB, tc.n); got != tc.want {
			t.Errorf("Backoff(%s, %s, %d) = %s, want %s", tc.interval, tc.maxB, tc.n, got, tc.want)
		}
	}
}

// fakeQuerier answers from a table, or fails while down is set.
type fakeQuerier struct {
	mu    sync.Mutex
	down  bool
	calls int
	vals  map[string]model.Value
}

func (f *fakeQuerier) Query(_ context.Context, q string, _ time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return nil, nil, nil, errors.New("connection refused")
	}
	if v, ok := f.vals[q]; ok {
		return v, nil, nil, nil
	}
	return model.Vector{}, nil, nil, nil
}

func TestReaderStale(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	fq := &fakeQuerier{vals: map[string]model.Value{
		rules.MetricBudgetRemaining: model.Vector{sample(0.5, rules.LabelService, "a", rules.LabelSLO, "x")},
	}}
	reg := prometheus.NewRegistry()
	r := NewReader(fq, Options{Interval: 10 * time.Second, Now: clock, Registerer: reg})
	if s := r.Snapshot(); !s.Stale(now, time.Minute) {
		t.Error("fresh before the first read")
	}
	if err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fq.calls != len(Queries()) {
		t.Errorf("%d queries for one read, want %d", fq.calls, len(Queries()))
	}
	s := r.Snapshot()
	if s.Stale(now, time.Minute) || *s.Statuses["a/x"].BudgetRemaining != 0.5 {
		t.Fatalf("snapshot = %+v", s)
	}
	fq.down = true
	now = now.Add(25 * time.Second)
	if err := r.Read(context.Background()); err == nil {
		t.Fatal("no error while down")
	}
	s = r.Snapshot()
	if !s.Stale(now, time.Minute) || s.Age(now) != 25*time.Second || *s.Statuses["a/x"].BudgetRemaining != 0.5 {
		t.Errorf("after a failure: stale=%v age=%s statuses=%v", s.Stale(now, time.Minute), s.Age(now), s.Statuses)
	}
	if !strings.Contains(s.LastError, "connection refused") {
		t.Errorf("last error = %q", s.LastError)
	}
	fq.down = false
	if err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := r.Snapshot(); s.Stale(now, time.Minute) || s.LastError != "" {
		t.Errorf("not recovered: %+v", s)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, n := range []string{"slokeeper_prometheus_query_duration_seconds", "slokeeper_prometheus_query_errors_total", "slokeeper_budget_read_age_seconds"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}
}
