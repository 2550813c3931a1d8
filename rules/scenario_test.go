package rules

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/slokeeper/slokeeper/slo"
)

// TestWorkbookScenarios replays the SRE Workbook's burn-rate scenarios for a
// 30d period at 99.9%: each must fire its tier within the theoretical
// detection time (long window x factor / burn) plus one evaluation interval
// of the group that records the deciding (long) window plus one scrape
// interval of the simulation (the raw increments reach rate() one scrape
// late); and stop within its short window (plus the same lag) after the
// errors stop. Faster tiers must not fire. Burns are 2% above the factor:
// at exactly the factor the comparison is a numerical tie. The raw
// counters and the recorded series have 3 days of error-free history.
func TestWorkbookScenarios(t *testing.T) {
	const budget = 0.001
	day := 24 * time.Hour
	cases := []struct {
		name  string
		burn  float64
		tier  string
		quiet []string
		short bool
	}{
		{"100% errors", 1 / budget, slo.TierPageFast, nil, true},
		{"14.4x", 14.4 * 1.02, slo.TierPageFast, nil, true},
		{"6x", 6 * 1.02, slo.TierPageSlow, []string{slo.TierPageFast}, true},
		{"3x", 3 * 1.02, slo.TierTicketFast, []string{slo.TierPageFast, slo.TierPageSlow}, false},
		{"1x", 1.02, slo.TierTicketSlow, []string{slo.TierPageFast, slo.TierPageSlow, slo.TierTicketFast}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && !c.short {
				t.Skip("long scenario")
			}
			t.Parallel()
			opts := Options{}.withDefaults()
			sl := simSLO(slo.Period{Kind: slo.Rolling, Rolling: 30 * day}, 99.9)
			out, err := Generate([]slo.SLO{sl}, opts)
			if err != nil {
				t.Fatal(err)
			}
			var tier slo.Tier
			for _, tr := range slo.DefaultTiers() {
				if tr.Name == c.tier {
					tier = tr
				}
			}
			f := tier.BurnFactor(30 * day)
			theory := time.Duration(float64(tier.Long) * f / c.burn)
			groupIv := opts.ShortInterval
			if tier.Long > opts.FastWindowMax {
				groupIv = opts.LongInterval
			}
			s := newSim(t, out, "sim")
			lag := groupIv + s.scrape
			t0 := simStart
			var recoverAt time.Time
			tr := &ratioTraffic{rate: func(ts time.Time) (float64, float64) {
				if ts.After(t0) && (recoverAt.IsZero() || ts.Before(recoverAt)) {
					return 10, c.burn * budget
				}
				return 10, 0
			}}
			s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
			s.history(t0.Add(-3*day-time.Hour), t0.Add(-10*time.Minute))
			s.backfill(&sl, t0.Add(-3*day-time.Hour), t0.Add(-10*time.Minute), 0, 10, opts)
			s.onEval = func(g string, ts time.Time) {
				if recoverAt.IsZero() && s.firing[c.tier] {
					recoverAt = ts
				}
			}
			deadline := t0.Add(theory + lag)
			s.run(t0.Add(-10*time.Minute), deadline)
			if recoverAt.IsZero() {
				t.Fatalf("%s did not fire within %s (theory %s + lag %s); fired: %v", c.tier, theory+lag, theory, lag, s.firstFire)
			}
			t.Logf("%s fired after %s (theory %s, +%s; allowed +%s)", c.tier, recoverAt.Sub(t0), theory.Round(time.Second),
				(recoverAt.Sub(t0) - theory).Round(time.Second), lag)
			for _, q := range c.quiet {
				if at, ok := s.firstFire[q]; ok {
					t.Errorf("%s fired at +%s at burn %.3g", q, at.Sub(t0), c.burn)
				}
			}
			stopBy := recoverAt.Add(tier.Short + lag)
			s.run(deadline, stopBy.Add(5*time.Minute))
			if last := s.lastFire[c.tier]; last.After(stopBy) {
				t.Errorf("%s still firing %s after recovery (short window %s)", c.tier, last.Sub(recoverAt), tier.Short)
			} else {
				t.Logf("%s stopped %s after recovery", c.tier, last.Sub(recoverAt))
			}
		})
	}
}
