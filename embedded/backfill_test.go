package embedded_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// TestBackfillRulesWindowed: backfilling the generated rules of an SLO a
// chunk at a time, compacting after each (CompactAfter), records exactly
// the samples one pass over the whole range records, including the
// period window that reads the earlier chunks from the blocks.
func TestBackfillRulesWindowed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := ratioSLO()
	s.Period = slo.Period{Kind: slo.Rolling, Rolling: 2 * 24 * time.Hour}
	start := time.Now().Truncate(time.Minute)
	newGen := func() *demo.Generator {
		gen, err := demo.New(demo.Options{SLOs: []slo.SLO{s}, Start: start, History: 3 * 24 * time.Hour, Seed: 1, Timeline: demo.Timeline{Disabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		return gen
	}
	gen := newGen()
	out, err := rules.Generate([]slo.SLO{s}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	file, err := out.MarshalRuleFile(s.Service)
	if err != nil {
		t.Fatal(err)
	}
	from, to := gen.HistoryStart(), gen.Start()
	queries := []string{
		rules.MetricBudgetRemaining,
		rules.MetricErrorRatio,
		rules.MetricBurnRate,
		`{__name__=~"slo:.+"}`, // every recorded series
	}
	// Both runs use the same directory, one after the other.
	dir := filepath.Join(t.TempDir(), "engine")
	backfill := func(o embedded.BackfillOptions) (embedded.BackfillStats, map[string]string) {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		eng, err := embedded.Open(ctx, embedded.Options{Dir: dir, Retention: 5 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		// A generator simulates forward only: one per engine.
		if err := newGen().Backfill(ctx, eng.Appendable(), from, to, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := eng.Compact(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.SetRules(ctx, map[string][]byte{rules.RuleFileName(s.Service): file}); err != nil {
			t.Fatal(err)
		}
		st, err := eng.BackfillRules(ctx, from, to, o)
		if err != nil {
			t.Fatal(err)
		}
		if o.CompactAfter == 0 {
			if err := eng.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
		res := map[string]string{}
		for _, q := range queries {
			v, _, _, err := eng.QueryRange(ctx, q, v1.Range{Start: from, End: to, Step: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if m := v.(model.Matrix); len(m) == 0 {
				t.Fatalf("%s: no series", q)
			}
			res[q] = v.String()
		}
		return st, res
	}
	wst, whole := backfill(embedded.BackfillOptions{MinStep: 5 * time.Minute})
	// A compaction after every 17-hour chunk.
	sst, win := backfill(embedded.BackfillOptions{MinStep: 5 * time.Minute, Chunk: 17 * time.Hour, CompactAfter: 1})
	if wst.Samples == 0 || wst.Samples != sst.Samples {
		t.Fatalf("recorded samples: %d in one pass, %d in chunks", wst.Samples, sst.Samples)
	}
	for _, q := range queries {
		if whole[q] != win[q] {
			t.Errorf("%s differs between one pass and chunks compacted one after the other", q)
		}
	}
}

// hourOfHistory opens an engine (closed at the end of the test) holding an
// hour of one SLO's raw history up to now and the rule file ruleFile; it
// returns the engine and the start of the history.
func hourOfHistory(ctx context.Context, t *testing.T, ruleFile string) (*embedded.Engine, time.Time) {
	t.Helper()
	start := time.Now().Truncate(time.Second)
	gen, err := demo.New(demo.Options{SLOs: []slo.SLO{ratioSLO()}, Start: start, History: time.Hour, Seed: 1, Timeline: demo.Timeline{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	if err := gen.Backfill(ctx, eng.Appendable(), gen.HistoryStart(), start, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{"demo.rules.yml": []byte(ruleFile)}); err != nil {
		t.Fatal(err)
	}
	return eng, gen.HistoryStart()
}

// TestRunCatchesUpAfterBackfill: Run first evaluates the rules over the
// time since the end of the latest backfill (the minutes a backfill takes
// would otherwise be a hole in every recorded series), then starts the
// rules manager.
func TestRunCatchesUpAfterBackfill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, histStart := hourOfHistory(ctx, t, smallRules)
	// The backfill ends 20 seconds ago: as if it had taken that long.
	end := time.Now().Add(-20 * time.Second)
	if _, err := eng.BackfillRules(ctx, histStart, end, embedded.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	time.Sleep(3 * time.Second)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// One sample a second (the group's interval) over the 20 seconds
	// before Run: none missing.
	v, _, _, err := eng.Query(ctx, `count_over_time(job:http_requests:rate1m{job="shop"}[20s])`, end.Add(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := vectorValue(t, v); !ok || n < 19 {
		t.Fatalf("%v samples of the recorded series in the 20 s after the backfill, want about 20", v)
	}
}

// TestRunEvaluatesAtTheLivePhase: after a backfill up to now, the latest
// recorded sample is at the group's latest live evaluation time or later,
// so the rules manager's first evaluation (one interval after it) follows
// it by at most one interval.
func TestRunEvaluatesAtTheLivePhase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, histStart := hourOfHistory(ctx, t, strings.Replace(smallRules, "interval: 1s", "interval: 1m", 1))
	if _, err := eng.BackfillRules(ctx, histStart, time.Now(), embedded.BackfillOptions{}); err != nil {
		t.Fatal(err)
	}
	groups := eng.RuleGroups()
	if len(groups) != 1 {
		t.Fatalf("%d rule groups, want 1", len(groups))
	}
	phase := groups[0].EvalTimestamp(time.Now().UnixNano())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	time.Sleep(time.Second)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The manager evaluates the group first at phase + 1m: the latest
	// sample before it must be at phase or later, or the series would go
	// more than one interval without a sample.
	v, _, _, err := eng.Query(ctx, `timestamp(job:http_requests:rate1m{job="shop"})`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	latest, ok := vectorValue(t, v)
	if !ok {
		t.Fatalf("no recorded sample: %v", v)
	}
	if got, want := int64(math.Round(latest*1000)), phase.UnixMilli(); got < want {
		t.Fatalf("latest recorded sample at %s, before the group's live phase %s", time.UnixMilli(got).UTC(), phase)
	}
}

// TestBackfillEvaluatesAtTheLivePhase: a group backfilled at its own
// interval is evaluated when the rules manager would evaluate it live (so
// an hourly tile, written at the evaluation with minute() >= 55, is written
// once an hour across the end of a backfill); a group evaluated at MinStep
// on the multiples of MinStep.
func TestBackfillEvaluatesAtTheLivePhase(t *testing.T) {
	const timeRules = `groups:
  - name: short
    interval: 1m
    rules:
      - record: short_eval_time
        expr: time()
  - name: long
    interval: 5m
    rules:
      - record: long_eval_time
        expr: time()
`
	for _, tc := range []struct {
		name    string
		minStep time.Duration
		// live is set for the groups evaluated on their live phase.
		live map[string]bool
	}{
		{name: "own intervals", live: map[string]bool{"short": true, "long": true}},
		{name: "min step 5m", minStep: 5 * time.Minute, live: map[string]bool{"long": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			if _, err := eng.SetRules(ctx, map[string][]byte{"time.rules.yml": []byte(timeRules)}); err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			if _, err := eng.BackfillRules(ctx, end.Add(-2*time.Hour), end, embedded.BackfillOptions{MinStep: tc.minStep}); err != nil {
				t.Fatal(err)
			}
			for _, g := range eng.RuleGroups() {
				step := max(g.Interval(), tc.minStep)
				var phase time.Duration
				if tc.live[g.Name()] {
					phase = time.Duration(g.EvalTimestamp(end.UnixNano()).UnixNano() % int64(step))
				}
				v, _, _, err := eng.Query(ctx, g.Name()+`_eval_time[3h]`, end)
				if err != nil {
					t.Fatal(err)
				}
				m, ok := v.(model.Matrix)
				if !ok || len(m) != 1 {
					t.Fatalf("group %s: %v, want one series", g.Name(), v)
				}
				pts := m[0].Values
				if want := int(2 * time.Hour / step); len(pts) < want-1 || len(pts) > want+1 {
					t.Fatalf("group %s: %d samples, want about %d", g.Name(), len(pts), want)
				}
				for _, p := range pts {
					ts := p.Timestamp.Time()
					if off := time.Duration(ts.UnixNano() % int64(step)); off != phase.Truncate(time.Millisecond) {
						t.Fatalf("group %s: sample at %s, %s past a multiple of %s, want %s", g.Name(), ts.UTC(), off, step, phase)
					}
					if float64(p.Value) != float64(p.Timestamp)/1000 {
						t.Fatalf("group %s: time() = %v at %s", g.Name(), p.Value, ts.UTC())
					}
				}
			}
		})
	}
}
