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
	// Both runs use the same directory, one after the other: the rules
	// manager's evaluation grid depends on the rule file's path.
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

// TestBackfillRulesLiveGrid: the backfilled samples are on the grid the
// rules manager evaluates each group on (a phase Prometheus derives from
// the group's name and file), the short group stepped by MinStep at the
// points its long group reads; so the last backfilled sample of every
// group is less than an interval before its first live evaluation, and
// the history joins the live samples without a seam.
func TestBackfillRulesLiveGrid(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := ratioSLO()
	s.Period = slo.Period{Kind: slo.Rolling, Rolling: 24 * time.Hour}
	start := time.Now().Truncate(time.Minute)
	gen, err := demo.New(demo.Options{SLOs: []slo.SLO{s}, Start: start, History: 26 * time.Hour, Seed: 1, Timeline: demo.Timeline{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rules.Generate([]slo.SLO{s}, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	file, err := out.MarshalRuleFile(s.Service)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 3 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if err := gen.Backfill(ctx, eng.Appendable(), gen.HistoryStart(), start, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SetRules(ctx, map[string][]byte{rules.RuleFileName(s.Service): file}); err != nil {
		t.Fatal(err)
	}
	end := start.Add(-90 * time.Second)
	if _, err := eng.BackfillRules(ctx, gen.HistoryStart(), end, embedded.BackfillOptions{MinStep: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	// The live grid of each group: its last evaluation time at or before end.
	last := map[string]time.Time{}
	for _, g := range eng.RuleGroups() {
		last[g.Name()] = g.EvalTimestamp(end.UnixNano())
	}
	short, long := last["slo:"+s.Service+":short"], last["slo:"+s.Service+":long"]
	if short.IsZero() || long.IsZero() {
		t.Fatalf("groups %v", last)
	}
	// The short group at the 5m step: the newest point of its 1m grid at
	// or before the long group's last evaluation.
	lag := (long.Sub(short)%time.Minute + time.Minute) % time.Minute
	wantShort := long.Add(-lag)
	if d := long.Sub(wantShort); d < 0 || d >= time.Minute {
		t.Fatalf("bad expectation: long %s, short %s", long, wantShort)
	}
	stamp := func(q string) time.Time {
		t.Helper()
		v, _, _, err := eng.Query(ctx, "max(timestamp("+q+"))", end)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := vectorValue(t, v)
		if !ok {
			t.Fatalf("no %s at %s", q, end)
		}
		return time.UnixMilli(int64(f*1000 + 0.5))
	}
	if got := stamp(rules.MetricBudgetRemaining); !got.Equal(long.Truncate(time.Millisecond)) {
		t.Errorf("last budget sample at %s, want the long group's live evaluation time %s", got, long)
	}
	if got := stamp(rules.MetricErrorRatio + `{` + rules.LabelWindow + `="5m"}`); !got.Equal(wantShort.Truncate(time.Millisecond)) {
		t.Errorf("last 5m ratio sample at %s, want %s (short group's grid, read by the long group at %s)", got, wantShort, long)
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
