package embedded_test

import (
	"context"
	"os"
	"path/filepath"
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

// TestRunCatchesUpAfterBackfill: Run first evaluates the rules over the
// time since the end of the latest backfill (the minutes a backfill takes
// would otherwise be a hole in every recorded series), then starts the
// rules manager.
func TestRunCatchesUpAfterBackfill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now().Truncate(time.Second)
	gen, err := demo.New(demo.Options{SLOs: []slo.SLO{ratioSLO()}, Start: start, History: time.Hour, Seed: 1, Timeline: demo.Timeline{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 24 * time.Hour, EvaluationInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := gen.Backfill(ctx, eng.Appendable(), gen.HistoryStart(), start, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{"demo.rules.yml": []byte(smallRules)}); err != nil {
		t.Fatal(err)
	}
	// The backfill ends 20 seconds ago: as if it had taken that long.
	end := time.Now().Add(-20 * time.Second)
	if _, err := eng.BackfillRules(ctx, gen.HistoryStart(), end, embedded.BackfillOptions{}); err != nil {
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
