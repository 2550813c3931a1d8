package embedded_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"

	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/slo"
)

const smallRules = `groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:http_requests:rate1m
        expr: sum by (job) (rate(http_requests_total[1m]))
      - record: job:http_requests:count
        expr: sum by (job) (http_requests_total)
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: warning
        annotations:
          summary: always
`

func ratioSLO() slo.SLO {
	return slo.SLO{
		Service: "shop", Name: "availability", Objective: 99.9,
		Period: slo.Period{Kind: slo.Rolling, Rolling: 7 * 24 * time.Hour},
		SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
			Errors: `http_requests_total{job="shop",code=~"5.."}`,
			Total:  `http_requests_total{job="shop"}`,
		}},
	}
}

func vectorValue(t *testing.T, v model.Value) (float64, bool) {
	t.Helper()
	vec, ok := v.(model.Vector)
	if !ok || len(vec) == 0 {
		return 0, false
	}
	return float64(vec[0].Value), true
}

func TestEngineEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	gen, err := demo.New(demo.Options{SLOs: []slo.SLO{ratioSLO()}, History: 8 * 24 * time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	exporter := httptest.NewServer(gen.Handler())
	defer exporter.Close()
	u, _ := url.Parse(exporter.URL)
	dir := t.TempDir()
	opts := embedded.Options{
		Dir: dir, Retention: 10 * 24 * time.Hour, EvaluationInterval: time.Second,
		ScrapeConfigs: []embedded.ScrapeConfig{{JobName: "demo", Targets: []string{u.Host}, Interval: time.Second, Timeout: 900 * time.Millisecond, HonorLabels: true}},
	}
	eng, err := embedded.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	// An hour of history before the live samples.
	if err := gen.Backfill(ctx, eng.Appendable(), gen.Start().Add(-time.Hour), gen.Start(), 15*time.Second); err != nil {
		t.Fatal(err)
	}
	changed, err := eng.SetRules(ctx, map[string][]byte{"demo.rules.yml": []byte(smallRules)})
	if err != nil || !changed {
		t.Fatalf("SetRules: changed %v, err %v", changed, err)
	}
	if changed, err := eng.SetRules(ctx, map[string][]byte{"demo.rules.yml": []byte(smallRules)}); err != nil || changed {
		t.Fatalf("SetRules again: changed %v, err %v", changed, err)
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{"bad.yml": []byte("groups: [{name: x, rules: [{record: a, expr: 'sum(('}]}]")}); err == nil {
		t.Fatal("invalid rule file accepted")
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{"bad.yml": []byte(":\n - not yaml")}); err == nil {
		t.Fatal("invalid YAML accepted")
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{"../evil.yml": []byte(smallRules)}); err == nil {
		t.Fatal("rule file name with a path accepted")
	}
	if got := eng.Rules(); len(got) != 1 || string(got["demo.rules.yml"]) != smallRules {
		t.Fatalf("rules after invalid updates: %v", got)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()

	// The scraped series continue the backfilled ones and the rules record.
	var rate float64
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _, _, err := eng.Query(ctx, `job:http_requests:rate1m{job="shop"}`, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := vectorValue(t, v); ok && r > 0 {
			rate = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recorded rate after 30s: %v", v)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("recorded rate %.2f/s", rate)
	v, _, _, err := eng.Query(ctx, `count(http_requests_total{job="shop",instance="demo"})`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := vectorValue(t, v); n != 2 {
		t.Fatalf("scraped series with the generator's labels: %v, want 2 (good and bad)", v)
	}
	// A counter reset would show as resets() > 0 across backfill -> live.
	v, _, _, err = eng.Query(ctx, `sum(resets(http_requests_total{job="shop"}[2h]))`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := vectorValue(t, v); n != 0 {
		t.Fatalf("counter resets between backfill and scrapes: %v", v)
	}

	testAPI(t, ctx, eng)

	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen: data and rules are still there.
	eng2, err := embedded.Open(ctx, embedded.Options{Dir: dir, Retention: 10 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer eng2.Close()
	v, _, _, err = eng2.Query(ctx, `count(count_over_time(http_requests_total{job="shop"}[2h]))`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := vectorValue(t, v); n != 2 {
		t.Fatalf("after reopening: %v, want 2 series", v)
	}
	if got := eng2.Rules(); string(got["demo.rules.yml"]) != smallRules {
		t.Fatalf("rules after reopening: %v", got)
	}
}

func testAPI(t *testing.T, ctx context.Context, eng *embedded.Engine) {
	srv := httptest.NewServer(http.StripPrefix("/prometheus", eng.Handler()))
	defer srv.Close()
	client, err := api.NewClient(api.Config{Address: srv.URL + "/prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	papi := v1.NewAPI(client)
	now := time.Now()

	v, _, _, err := papi.Query(ctx, `sum(http_requests_total{job="shop"})`, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(model.Vector); !ok {
		t.Fatalf("query: %T %v", v, v)
	}
	v, _, _, err = papi.Query(ctx, `1+1`, now)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(*model.Scalar); !ok || s.Value != 2 {
		t.Fatalf("scalar query: %v", v)
	}
	v, _, _, err = papi.QueryRange(ctx, `sum by (code) (rate(http_requests_total{job="shop"}[5m]))`, v1.Range{Start: now.Add(-30 * time.Minute), End: now, Step: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(model.Matrix)
	if !ok || len(m) != 2 || len(m[0].Values) < 25 {
		t.Fatalf("range query: %v", v)
	}
	_, _, _, err = papi.Query(ctx, `sum(`, now)
	var perr *v1.Error
	if err == nil || !errorAs(err, &perr) || perr.Type != v1.ErrBadData {
		t.Fatalf("bad query: %v", err)
	}
	series, _, _, err := papi.Series(ctx, []string{`http_requests_total{job="shop"}`}, now.Add(-time.Hour), now)
	if err != nil || len(series) != 2 {
		t.Fatalf("series: %v %v", series, err)
	}
	names, _, _, err := papi.LabelNames(ctx, []string{`http_requests_total`}, now.Add(-time.Hour), now)
	if err != nil || names.String() != "__name__, code, instance, job" {
		t.Fatalf("label names: %v %v", names, err)
	}
	vals, _, _, err := papi.LabelValues(ctx, "code", nil, now.Add(-time.Hour), now)
	if err != nil || len(vals) != 2 || vals[0] != "200" || vals[1] != "500" {
		t.Fatalf("label values: %v %v", vals, err)
	}
	// Rules and alerts, once the group has run.
	deadline := time.Now().Add(10 * time.Second)
	for {
		alerts, err := papi.Alerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts.Alerts) == 1 && alerts.Alerts[0].State == v1.AlertStateFiring {
			if alerts.Alerts[0].Labels["severity"] != "warning" {
				t.Fatalf("alert labels: %v", alerts.Alerts[0].Labels)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts: %+v", alerts)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rules, err := papi.Rules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) != 1 || len(rules.Groups[0].Rules) != 3 {
		t.Fatalf("rules: %+v", rules)
	}
	if rr, ok := rules.Groups[0].Rules[0].(v1.RecordingRule); !ok || rr.Name != "job:http_requests:rate1m" || rr.Health != v1.RuleHealthGood {
		t.Fatalf("recording rule: %+v", rules.Groups[0].Rules[0])
	}
	if ar, ok := rules.Groups[0].Rules[2].(v1.AlertingRule); !ok || ar.Name != "AlwaysFiring" || ar.State != "firing" || len(ar.Alerts) != 1 {
		t.Fatalf("alerting rule: %+v", rules.Groups[0].Rules[2])
	}
	// Raw HTTP: status codes and error shape.
	resp, err := http.Get(srv.URL + "/prometheus/api/v1/query_range?query=up&start=10&end=5&step=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("end before start: status %d", resp.StatusCode)
	}
}

func errorAs(err error, target **v1.Error) bool {
	for err != nil {
		if e, ok := err.(*v1.Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
