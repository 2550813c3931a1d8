package dashboards

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// TestQueriesReadRecordedSeries evaluates the rules package's rules for
// the example checkout and catalog SLOs with the Prometheus engine over
// synthetic traffic (half of checkout's requests failing, so that alerts
// fire), the way Prometheus would, then runs every query of their SLO
// detail, RED and overview dashboards: each must return data. This shows
// the dashboards read exactly the series and labels the rules record.
func TestQueriesReadRecordedSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("engine test skipped in -short mode")
	}
	var slos []slo.SLO
	for _, s := range exampleSLOs(t) {
		if s.Service == "checkout" || s.Service == "catalog" {
			s.Labels = nil // spec labels play no part in the queries
			slos = append(slos, s)
		}
	}
	out, err := rules.Generate(slos, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := teststorage.New(t, func(o *tsdb.Options) {
		o.WALSegmentSize = -1
		o.MinBlockDuration = int64(60 * 24 * time.Hour / time.Millisecond)
		o.MaxBlockDuration = o.MinBlockDuration
	})
	eng := promql.NewEngine(promql.EngineOpts{
		MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute,
		EnableAtModifier: true, Parser: parser.NewParser(parser.Options{}),
	})
	ctx := context.Background()

	type group struct {
		interval time.Duration
		rules    []rules.Rule
	}
	var groups []group
	for _, svc := range out.Services {
		for _, g := range svc.Groups {
			iv, err := model.ParseDuration(g.Interval)
			if err != nil {
				iv = model.Duration(time.Minute)
			}
			groups = append(groups, group{interval: time.Duration(iv), rules: g.Rules})
		}
	}

	// Synthetic counters: checkout (OpenTelemetry) fails half its requests
	// on /pay; catalog (classic client) is healthy.
	counters := map[string]float64{}
	type series struct {
		lset labels.Labels
		inc  float64 // per second
	}
	var raw []series
	add := func(inc float64, kv ...string) { raw = append(raw, series{labels.FromStrings(kv...), inc}) }
	for _, route := range []string{"/pay", "/cart"} {
		bad := 0.0
		if route == "/pay" {
			bad = 10
		}
		base := []string{"job", "checkout", "http_route", route}
		for code, rate := range map[string]float64{"200": 10, "500": bad} {
			l := append([]string{"__name__", "http_server_request_duration_seconds_count", "http_response_status_code", code}, base...)
			add(rate, l...)
			for _, le := range []string{"0.1", "0.25", "0.5", "+Inf"} {
				f := map[string]float64{"0.1": 0.5, "0.25": 0.9, "0.5": 0.99, "+Inf": 1}[le]
				add(rate*f, append([]string{"__name__", "http_server_request_duration_seconds_bucket", "le", le, "http_response_status_code", code}, base...)...)
			}
		}
	}
	for code, rate := range map[string]float64{"200": 20, "500": 0.01} {
		add(rate, "__name__", "http_requests_total", "job", "catalog", "code", code, "handler", "/items")
	}
	for _, le := range []string{"0.1", "0.5", "1", "+Inf"} {
		f := map[string]float64{"0.1": 0.7, "0.5": 0.995, "1": 0.999, "+Inf": 1}[le]
		add(20*f, "__name__", "http_request_duration_seconds_bucket", "job", "catalog", "handler", "/items", "le", le)
	}
	add(20, "__name__", "http_request_duration_seconds_count", "job", "catalog", "handler", "/items")

	start := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	end := start.Add(3 * time.Hour)
	eval := func(r rules.Rule, ts time.Time) {
		q, err := eng.NewInstantQuery(ctx, st, nil, r.Expr, ts)
		if err != nil {
			t.Fatalf("%s: %v", r.Expr, err)
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			t.Fatalf("%s: %v", r.Expr, res.Err)
		}
		vec, _ := res.Vector()
		app := st.Appender(ctx)
		for _, smp := range vec {
			b := labels.NewBuilder(smp.Metric)
			if r.Alert != "" {
				// What the rule manager writes for a firing alert.
				b.Set(model.MetricNameLabel, "ALERTS")
				b.Set("alertname", r.Alert)
				b.Set("alertstate", "firing")
				smp.F = 1
			} else {
				b.Set(model.MetricNameLabel, r.Record)
			}
			for k, v := range r.Labels {
				b.Set(k, v)
			}
			if _, err := app.Append(0, b.Labels(), ts.UnixMilli(), smp.F); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for ts := start; !ts.After(end); ts = ts.Add(30 * time.Second) {
		app := st.Appender(ctx)
		for _, s := range raw {
			key := s.lset.String()
			counters[key] += s.inc * 30
			if _, err := app.Append(0, s.lset, ts.UnixMilli(), counters[key]); err != nil {
				t.Fatal(err)
			}
		}
		// The daemon's freeze metric: checkout frozen.
		for svc, v := range map[string]float64{"checkout": 1, "catalog": 0} {
			if _, err := app.Append(0, labels.FromStrings("__name__", FreezeMetric, "service", svc), ts.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if ts.Second() != 0 {
			continue
		}
		for _, g := range groups {
			if ts.Sub(start)%g.interval == 0 {
				for _, r := range g.rules {
					eval(r, ts)
				}
			}
		}
	}

	vars := strings.NewReplacer(
		"${__from:date:seconds}", strconv.FormatInt(end.Add(-3*time.Hour).Unix(), 10),
		"$__range_s", "10800", "$__rate_interval", "2m", "$__range", "3h",
	)
	plain := regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)
	// catalog is healthy and not frozen: its alert timeline and freeze
	// periods are rightly empty.
	quiet := func(service, q string) bool {
		return service == "catalog" && (strings.Contains(q, "ALERTS{") || strings.Contains(q, FreezeMetric+`{service="catalog"} == 1`))
	}
	run := func(d *Dashboard, service string) {
		for _, e := range exprs(d) {
			if strings.HasPrefix(e[0], "variable") || quiet(service, e[1]) {
				continue
			}
			q := vars.Replace(e[1])
			q = plain.ReplaceAllStringFunc(q, func(v string) string {
				if v == "$service" && service != "" {
					return service
				}
				return ".*"
			})
			qq, err := eng.NewInstantQuery(ctx, st, nil, q, end)
			if err != nil {
				t.Errorf("%s: %s: %v", d.UID, e[0], err)
				continue
			}
			res := qq.Exec(ctx)
			if res.Err != nil {
				t.Errorf("%s: %s: %v", d.UID, e[0], res.Err)
			} else if v, err := res.Vector(); err != nil || len(v) == 0 {
				t.Errorf("%s: %s: no data for %s", d.UID, e[0], q)
			} else {
				for _, s := range v {
					if math.IsNaN(s.F) {
						t.Errorf("%s: %s: NaN for %s", d.UID, e[0], q)
					}
				}
			}
			qq.Close()
		}
	}
	byService := groupByService(slos)
	for _, svc := range []string{"checkout", "catalog"} {
		d := SLODetail(svc, byService[svc], Options{})
		run(&d, svc)
		r := RED(svc, byService[svc], Options{})
		run(&r, svc)
	}
	ov := Overview(slos, Options{})
	run(&ov, "")

	// And the values make sense: checkout/availability burns (half of /pay
	// fails), pages fire, checkout is frozen.
	value := func(q string) float64 {
		qq, err := eng.NewInstantQuery(ctx, st, nil, q, end)
		if err != nil {
			t.Fatal(err)
		}
		defer qq.Close()
		v, err := qq.Exec(ctx).Vector()
		if err != nil || len(v) == 0 {
			t.Fatalf("%s: %v, %d samples", q, err, len(v))
		}
		return v[0].F
	}
	if v := value(`count(count by (service, slo) (ALERTS{alertstate="firing",` + labelTier + `!=""})) or vector(0)`); v < 1 {
		t.Errorf("SLOs burning: %v", v)
	}
	if v := value(`max(slo:burn_rate:ratio{service="checkout",slo="availability",` + labelWindow + `="1h"})`); v < 14.4 {
		t.Errorf("checkout burn rate 1h: %v", v)
	}
	if v := value(`min(slo:error_budget:remaining{service="catalog",slo="availability"})`); v <= 0 || v > 1 {
		t.Errorf("catalog budget: %v", v)
	}
}
