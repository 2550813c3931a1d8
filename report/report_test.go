package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

var (
	t0   = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // Monday 09:00
	week = 7 * 24 * time.Hour
	t1   = t0.Add(week)
)

const (
	checkout = "checkout"
	search   = "search"
)

// scenario builds the synthetic week with known answers:
//
// checkout/availability, 99.9% over 28d: budget 80% -> 50%; this week 60
// errors in 100,000 events (burn 0.6, consumed 0.6 x 7/28 = 15%), the
// previous week 20 in 100,000 (5%): worse. Worst burn 1h: 20x at +50h;
// 6h: 7x at +60h. page-fast fired twice (10m at +50h, 5m at +100h),
// ticket-slow once over the end of the week (2m within it). Frozen from
// +60h to +80h (budget) and from +160h on (manual), 28h in all.
//
// search/latency {route=/q}, 99% over 30d: untouched, no errors, no alert.
func scenario() (*fakeAPI, fakeFreezes) {
	f := &fakeAPI{}
	co := metric("service", checkout, "slo", "availability", "team", "payments")
	se := metric("service", search, "slo", "latency", "route", "/q")
	f.addInstant("slo:info", time.Time{}, metric("service", checkout, "slo", "availability", "team", "payments", "slo_sli_kind", "ratio", "slo_period", "28d", "slo_objective", "99.9"), 1)
	f.addInstant("slo:info", time.Time{}, metric("service", search, "slo", "latency", "slo_sli_kind", "latency", "slo_period", "30d", "slo_objective", "99"), 1)
	f.addInstant("slo:objective:ratio", time.Time{}, co, 0.999)
	f.addInstant("slo:objective:ratio", time.Time{}, se, 0.99)
	f.addInstant("slo:period:seconds", time.Time{}, co, 28*86400)
	f.addInstant("slo:period:seconds", time.Time{}, se, 30*86400)
	f.addInstant("slo:error_budget:remaining", t0, co, 0.8)
	f.addInstant("slo:error_budget:remaining", t1, co, 0.5)
	f.addInstant("slo:error_budget:remaining", t0, se, 1)
	f.addInstant("slo:error_budget:remaining", t1, se, 1)
	f.addInstant("slo:sli_errors:rate5m_sum1h", t1, co, 60)
	f.addInstant("slo:sli_total:rate5m_sum1h", t1, co, 100000)
	f.addInstant("slo:sli_errors:rate5m_sum1h", t0, co, 20)
	f.addInstant("slo:sli_total:rate5m_sum1h", t0, co, 100000)
	f.addInstant("slo:sli_errors:rate5m_sum1h", t1, se, 0)
	f.addInstant("slo:sli_total:rate5m_sum1h", t1, se, 5000)
	f.addInstant(`slo:sli_error:ratio{slo_window="period"`, t1, co, 0.0005)
	f.addInstant(`slo:sli_error:ratio{slo_window="period"`, t1, se, 0)

	var budget, budgetS, b1h, b6h []model.SamplePair
	for i := 0; i <= 336; i++ {
		t := t0.Add(time.Duration(i) * 30 * time.Minute)
		budget = append(budget, model.SamplePair{Timestamp: ts(t), Value: model.SampleValue(0.8 - 0.3*float64(i)/336)})
		budgetS = append(budgetS, model.SamplePair{Timestamp: ts(t), Value: 1})
		v1h, v6h := 0.5, 0.5
		if t.Equal(t0.Add(50 * time.Hour)) {
			v1h = 20
		}
		if t.Equal(t0.Add(60 * time.Hour)) {
			v6h = 7
		}
		if i == 10 {
			v6h = math.NaN()
		}
		b1h = append(b1h, model.SamplePair{Timestamp: ts(t), Value: model.SampleValue(v1h)})
		b6h = append(b6h, model.SamplePair{Timestamp: ts(t), Value: model.SampleValue(v6h)})
	}
	f.addRange("slo:error_budget:remaining", co, budget)
	f.addRange("slo:error_budget:remaining", se, budgetS)
	f.addRange("slo:burn_rate:ratio", withLabel(co, "slo_window", "1h"), b1h)
	f.addRange("slo:burn_rate:ratio", withLabel(co, "slo_window", "6h"), b6h)
	f.addRange("slo:burn_rate:ratio", withLabel(se, "slo_window", "1h"), budgetS)

	alert := func(tier, sev string, start time.Time, n int) {
		var ps []model.SamplePair
		for i := range n {
			ps = append(ps, model.SamplePair{Timestamp: ts(start.Add(time.Duration(i) * time.Minute)), Value: 1})
		}
		m := withLabel(co, "alertname", "SLOErrorBudgetBurn")
		m["alertstate"], m["slo_tier"], m["severity"], m["slo_burn_factor"] = "firing", model.LabelValue(tier), model.LabelValue(sev), "13.44"
		f.addRange("ALERTS", m, ps)
	}
	// Two episodes of one series: the runs are split at the gap.
	alert("page-fast", "critical", t0.Add(50*time.Hour), 10)
	f.ranged[len(f.ranged)-1].values = append(f.ranged[len(f.ranged)-1].values, func() []model.SamplePair {
		var ps []model.SamplePair
		for i := range 5 {
			ps = append(ps, model.SamplePair{Timestamp: ts(t0.Add(100*time.Hour + time.Duration(i)*time.Minute)), Value: 1})
		}
		return ps
	}()...)
	alert("ticket-slow", "warning", t1.Add(-2*time.Minute), 5) // the last two fall after the week
	fr := fakeFreezes{periods: []FreezePeriod{
		{Service: checkout, Start: t0.Add(60 * time.Hour), End: t0.Add(80 * time.Hour), Sources: []string{"budget"}, Reasons: []string{"error budget of availability exhausted"}},
		{Service: checkout, Start: t0.Add(70 * time.Hour), End: t0.Add(75 * time.Hour), Sources: []string{"incident"}, Reasons: []string{"PD-123"}},
		{Service: checkout, Start: t0.Add(160 * time.Hour), Sources: []string{"manual"}, Reasons: []string{"release train <b>paused</b>"}},
		{Service: search, Start: t0.Add(-48 * time.Hour), End: t0.Add(-24 * time.Hour), Sources: []string{"schedule"}},
	}}
	return f, fr
}

func withLabel(m model.Metric, k, v string) model.Metric {
	c := m.Clone()
	c[model.LabelName(k)] = model.LabelValue(v)
	return c
}

func build(t *testing.T) (*Review, *fakeAPI) {
	t.Helper()
	f, fr := scenario()
	r, err := Build(context.Background(), f, Options{From: t0, To: t1, Freezes: fr})
	if err != nil {
		t.Fatal(err)
	}
	return r, f
}

func near(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil, want %g", what, want)
		return
	}
	if math.Abs(*got-want) > 1e-9 {
		t.Errorf("%s = %g, want %g", what, *got, want)
	}
}

func TestBuildKnownAnswers(t *testing.T) {
	r, _ := build(t)
	if len(r.Services) != 2 || r.Services[0].Service != checkout || r.Services[1].Service != search {
		t.Fatalf("services %v, want checkout (critical) before search (ok)", names(r))
	}
	c := r.Services[0]
	if c.Team != "payments" || len(c.SLOs) != 1 {
		t.Fatalf("checkout: team %q, %d SLOs", c.Team, len(c.SLOs))
	}
	o := c.SLOs[0]
	if o.Objective != 0.999 || o.Period != "28d" || o.PeriodSeconds != 28*86400 || o.SLIKind != "ratio" {
		t.Errorf("metadata: %v %q %v %q", o.Objective, o.Period, o.PeriodSeconds, o.SLIKind)
	}
	near(t, "SLI week", o.SLIWeek, 1-0.0006)
	near(t, "SLI period", o.SLIPeriod, 0.9995)
	near(t, "budget start", o.BudgetStart, 0.8)
	near(t, "budget end", o.BudgetEnd, 0.5)
	near(t, "budget change", o.BudgetChange, -0.3)
	near(t, "burn week", o.BurnWeek, 0.6)
	near(t, "consumed", o.Consumed, 0.15)
	near(t, "consumed previous", o.ConsumedPrevious, 0.05)
	if o.IdealConsumed != 0.25 {
		t.Errorf("ideal consumed %g, want 0.25", o.IdealConsumed)
	}
	if o.Trend != TrendUp {
		t.Errorf("trend %q, want %q", o.Trend, TrendUp)
	}
	wantWorst := []WorstBurn{{"1h", 20, t0.Add(50 * time.Hour)}, {"6h", 7, t0.Add(60 * time.Hour)}}
	if len(o.WorstBurn) != 2 {
		t.Fatalf("worst burn %v", o.WorstBurn)
	}
	for i, w := range wantWorst {
		if g := o.WorstBurn[i]; g.Window != w.Window || g.Rate != w.Rate || !g.At.Equal(w.At) {
			t.Errorf("worst burn %d = %+v, want %+v", i, g, w)
		}
	}
	if o.AlertsFired != 3 || time.Duration(o.FiringFor) != 17*time.Minute {
		t.Errorf("alerts fired %d for %v, want 3 for 17m", o.AlertsFired, time.Duration(o.FiringFor))
	}
	if len(o.Alerts) != 2 || o.Alerts[0].Tier != "page-fast" || o.Alerts[0].Fired != 2 ||
		time.Duration(o.Alerts[0].FiringFor) != 15*time.Minute || time.Duration(o.Alerts[0].Longest) != 10*time.Minute ||
		o.Alerts[1].Tier != "ticket-slow" || o.Alerts[1].Fired != 1 || time.Duration(o.Alerts[1].FiringFor) != 2*time.Minute {
		t.Errorf("alerts %+v", o.Alerts)
	}
	if o.Risk.Level != RiskCritical {
		t.Errorf("risk %+v, want critical", o.Risk)
	}
	// 0.5 spent + (0.15/0.25)/4 + 2 pages x 0.5 + 1 ticket x 0.1
	if want := 0.5 + 0.15 + 1 + 0.1; math.Abs(o.Risk.Score-want) > 1e-9 {
		t.Errorf("risk score %g, want %g", o.Risk.Score, want)
	}
	if len(c.Freezes) != 3 || !c.Freezes[2].Ongoing || c.Freezes[0].Ongoing {
		t.Errorf("freezes %+v", c.Freezes)
	}
	if time.Duration(c.FrozenFor) != 28*time.Hour {
		t.Errorf("frozen for %v, want 28h (overlaps once)", time.Duration(c.FrozenFor))
	}

	s := r.Services[1]
	if len(s.SLOs) != 1 || s.SLOs[0].Group["route"] != "/q" {
		t.Fatalf("search SLOs %+v", s.SLOs)
	}
	so := s.SLOs[0]
	near(t, "search SLI week", so.SLIWeek, 1)
	near(t, "search consumed", so.Consumed, 0)
	if so.ConsumedPrevious != nil || so.Trend != TrendNoData {
		t.Errorf("search previous week: %v %q, want no data", so.ConsumedPrevious, so.Trend)
	}
	if so.Risk.Level != RiskOK || so.AlertsFired != 0 || len(s.Freezes) != 0 {
		t.Errorf("search: risk %+v, alerts %d, freezes %v", so.Risk, so.AlertsFired, s.Freezes)
	}
	if len(r.Warnings) != 3 || !strings.Contains(r.Warnings[0], "fake warning") {
		t.Errorf("warnings %v", r.Warnings)
	}
}

func names(r *Review) []string {
	var out []string
	for _, s := range r.Services {
		out = append(out, s.Service)
	}
	return out
}

func TestBuildQueries(t *testing.T) {
	f, _ := scenario()
	_, err := Build(context.Background(), f, Options{From: t0, To: t1, Service: `check"out`})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`last_over_time(slo:info{service="check\"out"}[1w])`,
		`(sum_over_time(slo:sli_errors:rate5m_sum1h{service="check\"out"}[6d23h57m30s]) or 0 * slo:sli_errors:rate5m_sum_tail{service="check\"out"}) + slo:sli_errors:rate5m_sum_tail{service="check\"out"} - (slo:sli_errors:rate5m_sum_tail{service="check\"out"} offset 1w or 0 * slo:sli_errors:rate5m_sum_tail{service="check\"out"})`,
		`max_over_time(slo:burn_rate:ratio{service="check\"out"}[30m])`,
		`ALERTS{alertstate="firing",slo!="",service="check\"out"}`,
	}
	for _, w := range want {
		found := false
		for _, q := range f.queries {
			found = found || q == w
		}
		if !found {
			t.Errorf("query %s not sent; sent:\n%s", w, strings.Join(f.queries, "\n"))
		}
	}
	// The alert timeline at 1m over a week is split in ranges under 11,000 points.
	for _, r := range f.ranges {
		if n := r.End.Sub(r.Start)/r.Step + 1; n > maxPointsPerQuery {
			t.Errorf("range query with %d points", n)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	f, _ := scenario()
	ctx := context.Background()
	for name, o := range map[string]Options{
		"empty range": {From: t1, To: t0},
		"too short":   {From: t0, To: t0.Add(time.Minute)},
		"no from":     {To: t1},
	} {
		if _, err := Build(ctx, f, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Build(ctx, nil, Options{From: t0, To: t1}); err == nil {
		t.Error("nil API: no error")
	}
	if _, err := Build(ctx, f, Options{From: t0, To: t1, Freezes: fakeFreezes{err: errors.New("store closed")}}); err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Errorf("freeze history error not reported: %v", err)
	}
	if _, err := Build(ctx, f, Options{From: t0, To: t1, Service: "fail"}); err == nil || !strings.Contains(err.Error(), "bad query") {
		t.Errorf("query error not reported: %v", err)
	}
}

func TestRenderers(t *testing.T) {
	r, _ := build(t)
	var md, html, js bytes.Buffer
	for f, b := range map[string]*bytes.Buffer{"markdown": &md, "html": &html, "json": &js} {
		if err := r.Render(b, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if err := r.Render(&md, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
	for _, want := range []string{
		"| checkout | payments | critical | 50% | 15% | 3 (17m) | 1d 4h |",
		"| Budget left at the start of the week | 80% |",
		"| Budget consumed this week | 15% (sustainable: 25%) |",
		"| SLI this week | 99.940% |",
		"| 1h | 20x | Wed 4 Mar 11:00 |",
		"| SLOErrorBudgetBurn | page-fast | critical | 2 | 15m | 10m |",
		"release train &lt;b&gt;paused&lt;/b&gt;",
		"latency {route=/q}",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	h := html.String()
	for _, want := range []string{"<svg", "budget remaining", "page-fast 13.44x", "freeze: budget", "release train &lt;b&gt;paused&lt;/b&gt;", `class="risk risk-critical"`} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(h, "<script") || strings.Contains(h, "<b>paused") {
		t.Error("HTML contains unescaped markup")
	}
	var back Review
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	o := back.Services[0].SLOs[0]
	near(t, "JSON consumed", o.Consumed, 0.15)
	if time.Duration(o.FiringFor) != 17*time.Minute || back.Services[1].SLOs[0].ConsumedPrevious != nil {
		t.Errorf("JSON round trip: %+v", o)
	}
}

func TestEmptyReview(t *testing.T) {
	r, err := Build(context.Background(), &fakeAPI{}, Options{From: t0, To: t1})
	if err != nil {
		t.Fatal(err)
	}
	var md, html bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.HTML(&html); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "No SLO data") || !strings.Contains(html.String(), "No SLO data") {
		t.Error("empty review not said")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0m", 30 * time.Second: "30s", 90 * time.Second: "1m 30s", 2*time.Hour + 5*time.Minute: "2h 5m",
		28 * time.Hour: "1d 4h", 3 * 24 * time.Hour: "3d",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
