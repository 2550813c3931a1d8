package main

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/slo"
)

func TestModelRates(t *testing.T) {
	m := defaultModel([]string{"s00"}, 1, 1)
	day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	peak := day.Add(time.Duration(m.PeakHourUTC * float64(time.Hour)))
	trough := peak.Add(12 * time.Hour)
	gp, bp := m.rates(0, peak)
	gt, bt := m.rates(0, trough)
	if r := (gp + bp) / (gt + bt); math.Abs(r-m.PeakToTrough) > 1e-9 {
		t.Errorf("peak/trough traffic = %g, want %g", r, m.PeakToTrough)
	}
	if r := (bt / (gt + bt)) / (bp / (gp + bp)); math.Abs(r-m.TroughErrFactor) > 1e-9 {
		t.Errorf("trough/peak error ratio = %g, want %g", r, m.TroughErrFactor)
	}
	// The mean rate over a day is MeanRate.
	var sum float64
	for i := range 1440 {
		g, b := m.rates(0, day.Add(time.Duration(i)*time.Minute))
		sum += g + b
	}
	if mean := sum / 1440; math.Abs(mean-m.MeanRate) > 1e-6*m.MeanRate {
		t.Errorf("mean rate = %g, want %g", mean, m.MeanRate)
	}
}

func TestPoissonMean(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lambda := range []float64{0.01, 2.5, 50} {
		var sum float64
		const n = 200000
		for range n {
			sum += poisson(r, lambda)
		}
		if mean := sum / n; math.Abs(mean-lambda) > 0.02*lambda+0.002 {
			t.Errorf("poisson(%g): mean %g", lambda, mean)
		}
	}
}

// The history parses as OpenMetrics, counters never decrease and every
// series has one sample per step.
func TestWriteOpenMetrics(t *testing.T) {
	m := defaultModel([]string{"s00", "s01"}, 2, 3)
	start := time.Unix(1_700_000_000, 0)
	tr := newTraffic(m, start)
	var buf bytes.Buffer
	if err := tr.writeOpenMetrics(&buf, start, start.Add(10*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "# HELP "+familyName+" ") || lines[1] != "# TYPE "+familyName+" counter" || lines[len(lines)-1] != "# EOF" {
		t.Fatalf("not an OpenMetrics counter family: %q ... %q", lines[:2], lines[len(lines)-1])
	}
	last := map[string]float64{}
	count := map[string]int{}
	lastTS := map[string]int64{}
	for _, line := range lines[2 : len(lines)-1] {
		i := strings.LastIndex(line, "} ")
		f := strings.Fields(line[i+2:])
		if !strings.HasPrefix(line, metricName+`{job="bench",shard="s0`) || i < 0 || len(f) != 2 {
			t.Fatalf("bad sample line %q", line)
		}
		k := line[:i+1]
		v, err1 := strconv.ParseFloat(f[0], 64)
		ts, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if v < last[k] || (count[k] > 0 && ts != lastTS[k]+60) {
			t.Fatalf("%s: %g at %d after %g at %d", k, v, ts, last[k], lastTS[k])
		}
		last[k], lastTS[k] = v, ts
		count[k]++
	}
	if len(count) != 2*m.seriesPerShard() {
		t.Fatalf("%d series, want %d", len(count), 2*m.seriesPerShard())
	}
	for k, n := range count {
		if n != 10 {
			t.Fatalf("%s: %d samples, want 10", k, n)
		}
	}
	var exp bytes.Buffer
	if err := tr.exposition(&exp, start.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(exp.String(), "\n"); got != len(count)+1 {
		t.Fatalf("exposition: %d lines, want %d", got, len(count)+1)
	}
}

func TestPlan(t *testing.T) {
	tl := &tool{Name: "t", Groups: []ruleGroup{{
		Name: "short", Interval: "1m", file: "f",
		Rules: []rule{
			{Record: "a:rate5m", Expr: `sum(rate(bench_requests_total{shard="s01"}[5m]))`},
			{Record: "a:ratio", Expr: `a:rate5m / 2`},
		},
	}, {
		Name: "long", Interval: "5m", file: "f",
		Rules: []rule{
			{Record: "a:sum1h", Expr: `sum_over_time(a:rate5m[1h])`},
			{Record: "a:tail", Expr: `a:rate5m + a:rate5m offset 5m`},
			{Record: "a:period", Expr: `sum_over_time(a:sum1h[30d]) + a:tail offset 30d + a:ratio`},
			{Alert: "A", Expr: `a:period > 1 and bench_requests_total{shard="s02"}`},
		},
	}}}
	shards := map[string]bool{}
	pl, err := tl.plan(parser.NewParser(parser.Options{}), shards)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a:rate5m", "a:sum1h", "a:tail"}; !slices.Equal(pl.History, want) {
		t.Errorf("history %v, want %v", pl.History, want)
	}
	var levels [][]string
	for _, l := range pl.Levels {
		var names []string
		for _, g := range l {
			for _, r := range g.Rules {
				names = append(names, g.Name+"/"+r.Record)
			}
		}
		levels = append(levels, names)
	}
	want := [][]string{{"short/a:rate5m"}, {"long/a:sum1h", "long/a:tail"}}
	if !slices.EqualFunc(levels, want, slices.Equal) {
		t.Errorf("levels %v, want %v", levels, want)
	}
	if !shards["s01"] || !shards["s02"] || len(shards) != 2 {
		t.Errorf("shards %v", shards)
	}

	bad := &tool{Name: "t", Groups: []ruleGroup{{Name: "g", file: "f", Rules: []rule{{Record: "x", Expr: `rate(other_total[5m])`}}}}}
	if _, err := bad.plan(parser.NewParser(parser.Options{}), map[string]bool{}); err == nil || !strings.Contains(err.Error(), "other_total") {
		t.Errorf("reading an unknown metric: err = %v", err)
	}
}

func TestOverlapping(t *testing.T) {
	bs := []blockMeta{{MinTime: 0, MaxTime: 10}, {MinTime: 10, MaxTime: 20}}
	if overlapping(bs) {
		t.Error("adjacent blocks reported overlapping")
	}
	bs = append(bs, blockMeta{MinTime: 15, MaxTime: 30})
	if !overlapping(bs) {
		t.Error("overlap not found")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %g", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %g", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestEvalSeries(t *testing.T) {
	var s evalSeries
	steps := []struct {
		at, dur float64
		added   bool
	}{
		{0, 0.5, false}, // never evaluated
		{100, 0.9, true},
		{100, 0.9, false}, // the same evaluation read again
		{160, 0.2, true},
		{150, 0.1, false}, // older than the last one
		{220, 0.4, true},
	}
	for _, st := range steps {
		if got := s.add(st.at, st.dur); got != st.added {
			t.Errorf("add(%g, %g) = %v, want %v", st.at, st.dur, got, st.added)
		}
	}
	if got := s.measured(); !slices.Equal(got, []float64{0.2, 0.4}) {
		t.Errorf("measured = %v, want the evaluations after the warm-up one", got)
	}
	if m := mean(s.measured()); math.Abs(m-0.3) > 1e-12 {
		t.Errorf("mean = %g, want 0.3", m)
	}
	if got := (evalSeries{{1, 1}}).measured(); got != nil {
		t.Errorf("warm-up only: measured = %v", got)
	}
}

func TestParseRuleGroupMetrics(t *testing.T) {
	const text = `# HELP prometheus_rule_group_last_duration_seconds The duration of the last rule group evaluation.
# TYPE prometheus_rule_group_last_duration_seconds gauge
prometheus_rule_group_last_duration_seconds{rule_group="/r/a.yml;short"} 0.0123
prometheus_rule_group_last_duration_seconds{rule_group="/r/a.yml;long"} 0.5
# HELP prometheus_rule_group_last_evaluation_timestamp_seconds The timestamp of the last rule group evaluation in seconds.
# TYPE prometheus_rule_group_last_evaluation_timestamp_seconds gauge
prometheus_rule_group_last_evaluation_timestamp_seconds{rule_group="/r/a.yml;short"} 1.7e+09
prometheus_rule_group_last_evaluation_timestamp_seconds{rule_group="/r/a.yml;long"} -6.795364578871e+09
# HELP prometheus_rule_group_rules The number of rules.
# TYPE prometheus_rule_group_rules gauge
prometheus_rule_group_rules{rule_group="/r/a.yml;short"} 100
`
	got, err := parseRuleGroupMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]groupMetric{
		"/r/a.yml;short": {LastEvaluation: 1.7e9, LastDuration: 0.0123},
		"/r/a.yml;long":  {LastEvaluation: -6.795364578871e+09, LastDuration: 0.5},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %+v, want %+v", k, got[k], w)
		}
	}
	if _, err := parseRuleGroupMetrics(strings.NewReader("not metrics {")); err == nil {
		t.Error("malformed /metrics accepted")
	}
}

func TestRuleKindsAndSums(t *testing.T) {
	tests := []struct {
		name string
		lbls map[string]string
		want string
	}{
		{"slo:sli_error:ratio", map[string]string{"slo": "s00", "slo_window": "1h"}, "slo:sli_error:ratio{slo_window=1h}"},
		{"bench_requests:increase30d", map[string]string{"slo": "bench-s00", "shard": "s00"}, "bench_requests:increase30d"},
		{"ErrorBudgetBurn", map[string]string{"long": "1h4m", "severity": "critical"}, "ErrorBudgetBurn{long=1h4m,severity=critical}"},
	}
	for _, tt := range tests {
		if got := ruleKind(tt.name, tt.lbls); got != tt.want {
			t.Errorf("ruleKind(%s, %v) = %s, want %s", tt.name, tt.lbls, got, tt.want)
		}
	}
	r := &toolResult{Groups: []*groupResult{{Rules: []ruleResult{
		{Kind: "a", times: []float64{9, 0.001, 0.003}},
		{Kind: "b", times: []float64{9, 0.010}},
		{Kind: "a", times: []float64{9, 0.004}},
		{Kind: "c", times: []float64{9}}, // warm-up only: left out
	}}}}
	got := r.kinds()
	if len(got) != 2 || got[0].Kind != "b" || got[1].Kind != "a" || got[1].Rules != 2 || math.Abs(got[1].Sum-0.006) > 1e-12 {
		t.Errorf("kinds = %+v", got)
	}
}

func TestRatioVerdict(t *testing.T) {
	tests := []struct {
		a, b float64
		want string
	}{
		{1, 20, "0.050 (1/20.0): met"},
		{1, 10, "0.100 (1/10.0): met"},
		{1, 6, "0.167 (1/6.0): **not met**"},
		{1, 0, "n/a"},
	}
	for _, tt := range tests {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%g, %g) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSeriesSelector(t *testing.T) {
	tl := &tool{Own: `sloth_id!=""`, Groups: []ruleGroup{{Rules: []rule{
		{Record: "slo:objective:ratio", Expr: "vector(0.999)"},
		{Record: "slo:sli_error:ratio_rate5m", Expr: "vector(0)"},
		{Alert: "A", Expr: "vector(1)"},
	}}}}
	want := `{__name__=~"slo:objective:ratio|slo:sli_error:ratio_rate5m",sloth_id!=""}`
	if got := tl.seriesSelector(); got != want {
		t.Errorf("seriesSelector = %s, want %s", got, want)
	}
	if _, err := parser.NewParser(parser.Options{}).ParseExpr(want); err != nil {
		t.Errorf("not a valid selector: %v", err)
	}
}

func TestSpecsOf(t *testing.T) {
	rolling := func(name string, objective float64, period time.Duration) slo.SLO {
		return slo.SLO{Service: "bench", Name: name, Objective: objective, Period: slo.Period{Kind: slo.Rolling, Rolling: period}}
	}
	month := 30 * 24 * time.Hour
	got, err := specsOf([]slo.SLO{rolling("a", 99.9, month), rolling("b", 99.9, month)})
	if err != nil {
		t.Fatal(err)
	}
	objective := 99.9
	if want := (specs{SLOs: 2, Period: month, Objective: objective / 100}); got != want {
		t.Errorf("specsOf = %+v, want %+v", got, want)
	}
	for name, slos := range map[string][]slo.SLO{
		"objectives differ": {rolling("a", 99.9, month), rolling("b", 99.5, month)},
		"periods differ":    {rolling("a", 99.9, month), rolling("b", 99.9, 28*24*time.Hour)},
		"calendar month":    {rolling("a", 99.9, month), {Service: "bench", Name: "c", Objective: 99.9, Period: slo.Period{Kind: slo.CalendarMonth}}},
	} {
		if _, err := specsOf(slos); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
