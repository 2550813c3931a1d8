package rules

import (
	"fmt"
	"github.com/prometheus/common/model"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/slokeeper/slokeeper/slo"
)

// diurnal traffic, peak/trough 10:1 (peak 10/s at 14:00 UTC, trough 1/s
// at 02:00), with errors concentrated at the trough.
func diurnal(ts time.Time) (float64, float64) {
	h := float64(ts.UTC().Hour()) + float64(ts.UTC().Minute())/60
	r := 5.5 + 4.5*math.Cos(2*math.Pi*(h-14)/24)
	er := 0.0001
	if r < 2 {
		er = 0.02
	}
	return r, er
}

// TestBudgetExactDiurnal: over a 7d period the recorded budget remaining
// matches the exact value from the raw counts within 0.5% of the budget,
// although errors happen when traffic is lowest (averaging 5m ratios, as
// Sloth does, is far off here).
func TestBudgetExactDiurnal(t *testing.T) {
	if testing.Short() {
		t.Skip("8 simulated days")
	}
	t.Parallel()
	day := 24 * time.Hour
	sl := simSLO(slo.Period{Kind: slo.Rolling, Rolling: 7 * day}, 99.9)
	sl.Alerting.Disabled = true
	out, err := Generate([]slo.SLO{sl}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, out, "sim")
	s.onlyPeriod() // the alert windows are not needed: 8 simulated days
	tr := &ratioTraffic{rate: diurnal}
	s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
	t0 := simStart
	checks, worst := 0, 0.0
	var sumRatio5m, n5m float64
	s.onEval = func(g string, ts time.Time) {
		if g == GroupName("sim", "short") {
			// The 5m ratio, as Sloth records it.
			if v, ok := s.query(`clamp(slo:sli_errors:rate5m / clamp_min(slo:sli_total:rate5m, 1e-09), 0, 1)`, ts); ok {
				sumRatio5m += v
				n5m++
			}
		}
		if g != GroupName("sim", "long") || ts.Before(t0.Add(7*day+time.Hour)) {
			return
		}
		got, ok := s.query(`slo:error_budget:remaining`, ts)
		if !ok {
			t.Fatalf("no budget at %s", ts)
		}
		want := 1 - tr.exact(ts, 7*day)/0.001
		if d := math.Abs(got - want); d > worst {
			worst = d
		}
		if math.Abs(got-want) > 0.005 {
			t.Errorf("%s: budget remaining %.5f, exact %.5f", ts.UTC().Format(time.DateTime), got, want)
		}
		checks++
	}
	s.run(t0, t0.Add(7*day+7*time.Hour))
	if checks < 60 {
		t.Fatalf("only %d checks", checks)
	}
	exact := tr.exact(t0.Add(7*day+7*time.Hour), 7*day)
	t.Logf("%d checks, worst |recorded-exact| = %.5f of the budget; exact remaining %.4f; averaging 5m ratios (Sloth) would give %.4f",
		checks, worst, 1-exact/0.001, 1-(sumRatio5m/n5m)/0.001)
}

// TestCalendarMonth: the period starts at the month start in the SLO's
// time zone (Europe/Berlin: 23:00 UTC on the last day of February), not at
// the UTC month start.
func TestCalendarMonth(t *testing.T) {
	t.Parallel()
	sl := simSLO(slo.Period{Kind: slo.CalendarMonth, TimeZone: "Europe/Berlin"}, 99.5)
	sl.Alerting.Disabled = true
	out, err := Generate([]slo.SLO{sl}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, out, "sim")
	berlin := time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)
	utc := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := &ratioTraffic{rate: func(ts time.Time) (float64, float64) {
		if ts.Before(utc) {
			return 5, 0.02 // the last hours of February (Berlin) and the first hour of March (Berlin)
		}
		return 5, 0.0005
	}}
	s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
	end := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	s.run(time.Date(2026, 2, 28, 17, 0, 0, 0, time.UTC), end)
	ms, _ := s.query(MetricMonthStart, end)
	if int64(math.Round(ms)) != berlin.Unix() {
		t.Fatalf("month start %v, want %v", time.Unix(int64(ms), 0).UTC(), berlin)
	}
	got, _ := s.query(`slo:sli_error:ratio{slo_window="period"}`, end)
	wantBerlin := tr.exact(end, end.Sub(berlin))
	wantUTC := tr.exact(end, end.Sub(utc))
	fuzz := tr.exact(end, end.Sub(berlin)+10*time.Minute) - wantBerlin
	t.Logf("period ratio %.6f; exact since Berlin month start %.6f, since UTC month start %.6f", got, wantBerlin, wantUTC)
	if math.Abs(got-wantBerlin) > fuzz+0.005*0.005 {
		t.Errorf("period ratio %.6f, want %.6f (±%.6f)", got, wantBerlin, fuzz)
	}
}

// TestMinEventsLowTraffic: 10 requests an hour with one failure is a 10%
// error ratio (burn 100 at 99.9%), but with minEvents 100 no page fires;
// without minEvents it would page.
func TestMinEventsLowTraffic(t *testing.T) {
	t.Parallel()
	for _, minEvents := range []float64{100, 0} {
		t.Run(fmt.Sprintf("minEvents=%v", minEvents), func(t *testing.T) {
			sl := simSLO(slo.Period{Kind: slo.Rolling, Rolling: 7 * 24 * time.Hour}, 99.9)
			sl.Alerting.MinEvents = minEvents
			out, err := Generate([]slo.SLO{sl}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := newSim(t, out, "sim")
			t0 := simStart
			var ok, bad float64
			n := 0
			s.raw = func(app storage.Appender, ts time.Time) {
				// one request every 6 minutes, every 10th fails
				if m := int(ts.Sub(t0).Minutes()); m > 0 && m%6 == 0 {
					n++
					if n%10 == 0 {
						bad++
					} else {
						ok++
					}
				}
				for _, c := range []struct {
					code string
					v    float64
				}{{"200", ok}, {"500", bad}} {
					l := labels.FromStrings(model.MetricNameLabel, "http_requests_total", "job", "sim", "code", c.code)
					if _, err := app.Append(0, l, ts.UnixMilli(), c.v); err != nil {
						t.Fatal(err)
					}
				}
			}
			s.run(t0, t0.Add(8*time.Hour))
			paged := false
			for _, tier := range []string{slo.TierPageFast, slo.TierPageSlow} {
				if at, ok := s.firstFire[tier]; ok {
					paged = true
					if minEvents > 0 {
						t.Errorf("%s fired at +%s with minEvents %v", tier, at.Sub(t0), minEvents)
					}
				}
			}
			if minEvents == 0 && !paged {
				t.Errorf("without minEvents the low-traffic errors should page")
			}
		})
	}
}

// TestConformingNeverFires: 3 days of history at 0.9x burn then 12 hours of
// diurnal traffic at 0.9x: no alert fires.
func TestConformingNeverFires(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	sl := simSLO(slo.Period{Kind: slo.Rolling, Rolling: 30 * day}, 99.9)
	opts := Options{}.withDefaults()
	out, err := Generate([]slo.SLO{sl}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, out, "sim")
	t0 := simStart
	s.backfill(&sl, t0.Add(-3*day-time.Hour), t0.Add(-10*time.Minute), 10*0.9*0.001, 10, opts)
	tr := &ratioTraffic{rate: func(ts time.Time) (float64, float64) {
		r, _ := diurnal(ts)
		return r, 0.9 * 0.001
	}}
	s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
	s.history(t0.Add(-time.Hour), t0.Add(-10*time.Minute))
	s.run(t0.Add(-10*time.Minute), t0.Add(12*time.Hour))
	if len(s.firstFire) > 0 {
		t.Errorf("alerts fired at 0.9x burn: %v", s.firstFire)
	}
}

// TestZeroTraffic: counters that never move give error ratios of 0 and a
// full budget, never NaN (the simulator fails on any NaN or Inf recorded).
func TestZeroTraffic(t *testing.T) {
	t.Parallel()
	sl := simSLO(slo.Period{Kind: slo.CalendarMonth}, 99.9)
	out, err := Generate([]slo.SLO{sl}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, out, "sim")
	tr := &ratioTraffic{rate: func(time.Time) (float64, float64) { return 0, 0 }}
	s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
	t0 := simStart
	s.run(t0, t0.Add(3*time.Hour))
	end := t0.Add(3 * time.Hour)
	for _, w := range []string{"5m", "1h", "6h", "1d", "3d", "period"} {
		v, ok := s.query(`slo:sli_error:ratio{slo_window="`+w+`"}`, end)
		if !ok || v != 0 {
			t.Errorf("window %s: error ratio %v (present %v), want 0", w, v, ok)
		}
	}
	if v, ok := s.query(MetricBudgetRemaining, end); !ok || v != 1 {
		t.Errorf("budget remaining %v (present %v), want 1", v, ok)
	}
	if len(s.firstFire) > 0 {
		t.Errorf("alerts fired without traffic: %v", s.firstFire)
	}
}
