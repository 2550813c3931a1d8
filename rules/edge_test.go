package rules

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/slokeeper/slokeeper/slo"
)

// TestWindowLeadingEdge: errors start at t0 at a constant ratio after 3 days
// without errors; at every evaluation the recorded ratio of each window is
// turned into "time with errors in the window" and compared with the exact
// count from the raw counters. The shortfall is the window's detection lag.
// Windows summed on the 5m lattice must be exact to within one scrape
// interval (how rate() extrapolates a 5m window): with the default
// intervals every window that is a multiple of 5m (the default 30m, 1h, 2h,
// 6h, 1d, 3d and the custom 10m, 45m, 2h35m). The other forms (a window
// that is no multiple of 5m, tiles when the long interval is no multiple of
// 5m, anything when the short interval does not divide 5m) average
// overlapping 5m rates and lag by the ramp, (5m - short interval) / 2.
func TestWindowLeadingEdge(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"long 15m", Options{LongInterval: 15 * time.Minute}},
		{"short 30s, long 4m", Options{ShortInterval: 30 * time.Second, LongInterval: 4 * time.Minute}},
		{"short 45s", Options{ShortInterval: 45 * time.Second}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testLeadingEdge(t, c.opts)
		})
	}
}

// exactEdge: the generator sums window w on the 5m lattice.
func (g *gen) exactEdge(w time.Duration) bool {
	f, _, _ := g.form(w, g.inLong(w))
	return f == formBase || f == formLattice || (f == formTiled && g.latticeTiles())
}

func testLeadingEdge(t *testing.T, o Options) {
	day := 24 * time.Hour
	const errRatio = 0.01
	custom := []slo.Tier{
		{Name: "custom-a", Class: "ticket", Long: 45 * time.Minute, Short: 10 * time.Minute, Factor: 1000},
		{Name: "custom-b", Class: "ticket", Long: 2*time.Hour + 35*time.Minute, Short: 7 * time.Minute, Factor: 1000},
	}
	o.Tiers = append(slo.DefaultTiers(), custom...)
	opts := o.withDefaults()
	sl := simSLO(slo.Period{Kind: slo.Rolling, Rolling: 30 * day}, 99.9)
	out, err := Generate([]slo.SLO{sl}, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := &gen{opts: opts}
	windows := map[string][]time.Duration{}
	sr, _ := out.Service("sim")
	for _, grp := range sr.Groups {
		for _, r := range grp.Rules {
			if r.Record == MetricErrorRatio && r.Labels[LabelWindow] != WindowPeriod {
				windows[grp.Name] = append(windows[grp.Name], groupInterval(r.Labels[LabelWindow]))
			}
		}
	}
	s := newSim(t, out, "sim")
	t0 := simStart
	from := t0.Add(-3*day - time.Hour)
	tr := &ratioTraffic{rate: func(ts time.Time) (float64, float64) {
		if ts.After(t0) {
			return 10, errRatio
		}
		return 10, 0
	}}
	s.raw = func(app storage.Appender, ts time.Time) { tr.append(app, ts) }
	s.history(from, t0.Add(-10*time.Minute))
	s.backfill(&sl, from, t0.Add(-10*time.Minute), 0, 10, opts)
	type stat struct {
		min, max time.Duration
		n        int
	}
	lags := map[time.Duration]*stat{}
	s.onEval = func(grp string, ts time.Time) {
		for _, w := range windows[grp] {
			// From the first full 5m rate with errors until the window
			// is full of errors.
			if ts.Sub(t0) < BaseWindow || ts.Sub(t0) > w-30*time.Second {
				continue
			}
			v, ok := s.query(`slo:sli_error:ratio{slo_window="`+fmtDur(w)+`"}`, ts)
			if !ok {
				t.Fatalf("no %s ratio at %s", fmtDur(w), ts)
			}
			lag := time.Duration((tr.exact(ts, w) - v) / errRatio * float64(w))
			st := lags[w]
			if st == nil {
				st = &stat{min: lag, max: lag}
				lags[w] = st
			}
			st.min, st.max, st.n = min(st.min, lag), max(st.max, lag), st.n+1
		}
	}
	s.run(t0.Add(-10*time.Minute), t0.Add(3*time.Hour))
	var ws []time.Duration
	for w := range lags {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(a, b int) bool { return ws[a] < ws[b] })
	var b strings.Builder
	ramp := (BaseWindow - opts.ShortInterval) / 2
	for _, w := range ws {
		st := lags[w]
		exact := g.exactEdge(w)
		form := "ramp"
		if exact {
			form = "lattice"
		}
		fmt.Fprintf(&b, "\n%6s %-7s lag %6v .. %6v (%d evaluations)", fmtDur(w), form, st.min.Round(time.Second), st.max.Round(time.Second), st.n)
		lo, hi := -s.scrape, s.scrape
		if !exact {
			lo, hi = ramp-s.scrape, ramp+s.scrape
		}
		if st.min < lo || st.max > hi {
			t.Errorf("window %s (%s): lag %v .. %v, want within [%v, %v]", fmtDur(w), form, st.min, st.max, lo, hi)
		}
	}
	t.Logf("leading-edge lag per window (exact minus recorded time with errors):%s", b.String())
	if len(ws) != 10 {
		t.Errorf("checked %d windows, want 10", len(ws))
	}
}

// TestWindowForms: how each window is summed under default and fallback
// intervals, whether rate30m is recorded, and that every generated rule
// file parses (rulefmt, and promtool 2.42 when available).
func TestWindowForms(t *testing.T) {
	const (
		m = time.Minute
		h = time.Hour
	)
	type want map[time.Duration]windowForm
	for _, c := range []struct {
		name   string
		opts   Options
		rate30 bool
		forms  want
	}{
		{"default", Options{}, true, want{
			5 * m: formBase, 7 * m: formAvg, 10 * m: formLattice, 30 * m: formLattice, 45 * m: formLattice, h: formLattice,
			2 * h: formTiled, 2*h + 35*m: formLattice, 6 * h: formTiled, 24 * h: formTiled, 12*h + 30*m: formAvg,
		}},
		{"fast window 2h", Options{FastWindowMax: 2 * h}, true, want{2 * h: formLattice, 6 * h: formTiled}},
		{"long 4m", Options{LongInterval: 4 * m}, true, want{
			h: formLattice, 2 * h: formLattice, 6 * h: formLattice, 12 * h: formLattice, 13 * h: formTiled, 24 * h: formTiled,
		}},
		{"short 45s", Options{ShortInterval: 45 * time.Second}, false, want{
			30 * m: formAvg, h: formAvg, 2 * h: formTiled, 2*h + 35*m: formAvg, 24 * h: formTiled,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Tiers = append(slo.DefaultTiers(),
				slo.Tier{Name: "custom-a", Class: "ticket", Long: 45 * m, Short: 10 * m, Factor: 1000},
				slo.Tier{Name: "custom-b", Class: "ticket", Long: 2*h + 35*m, Short: 7 * m, Factor: 1000},
				slo.Tier{Name: "custom-c", Class: "ticket", Long: 12*h + 30*m, Short: 11*h + 30*m, Factor: 1000})
			opts := o.withDefaults()
			g := &gen{opts: opts}
			for w, f := range c.forms {
				if got, _, _ := g.form(w, g.inLong(w)); got != f {
					t.Errorf("window %s: form %d, want %d", fmtDur(w), got, f)
				}
			}
			out, err := Generate(testSLOs(), o)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var files []string
			for _, svc := range out.ServiceNames() {
				b, err := out.MarshalRuleFile(svc)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), MetricTotalRate30m) != c.rate30 {
					t.Errorf("%s: rate30m recorded: %v, want %v", svc, !c.rate30, c.rate30)
				}
				_, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
				for _, e := range errs {
					t.Errorf("%s: %v", svc, e)
				}
				f := filepath.Join(dir, RuleFileName(svc))
				if err := os.WriteFile(f, b, 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, f)
			}
			if p, err := exec.LookPath("promtool"); err == nil {
				if b, err := exec.Command(p, append([]string{"check", "rules"}, files...)...).CombinedOutput(); err != nil {
					t.Errorf("promtool check rules: %v\n%s", err, b)
				}
			}
		})
	}
}
