package embedded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// TestBackfillRulesWindowed: backfilling the generated rules of an SLO in
// windows compacted one after the other (CompactEvery) records exactly
// the samples one pass over the whole range records, including the
// period window that reads the earlier windows from the blocks.
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
	backfill := func(o embedded.BackfillOptions) (*embedded.Engine, embedded.BackfillStats) {
		eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 5 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Close() })
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
		if o.CompactEvery == 0 {
			if err := eng.Compact(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return eng, st
	}
	whole, wst := backfill(embedded.BackfillOptions{MinStep: 5 * time.Minute})
	win, sst := backfill(embedded.BackfillOptions{MinStep: 5 * time.Minute, CompactEvery: 17 * time.Hour})
	if wst.Samples == 0 || wst.Samples != sst.Samples {
		t.Fatalf("recorded samples: %d in one pass, %d in windows", wst.Samples, sst.Samples)
	}
	r := v1.Range{Start: from, End: to, Step: 5 * time.Minute}
	for _, q := range []string{
		rules.MetricBudgetRemaining,
		rules.MetricErrorRatio,
		rules.MetricBurnRate,
		`{__name__=~"slo:.+"}`, // every recorded series
	} {
		a, _, _, err := whole.QueryRange(ctx, q, r)
		if err != nil {
			t.Fatal(err)
		}
		b, _, _, err := win.QueryRange(ctx, q, r)
		if err != nil {
			t.Fatal(err)
		}
		am, bm := a.(model.Matrix), b.(model.Matrix)
		if len(am) == 0 {
			t.Fatalf("%s: no series", q)
		}
		if fmt.Sprint(am) != fmt.Sprint(bm) {
			t.Errorf("%s differs: %d series in one pass, %d in windows", q, len(am), len(bm))
		}
	}
}

// TestBackfillRulesIncludeEnd: with IncludeEnd every recorded series has
// a sample at the end of the range even off its step lattice, so that
// the series are seen at once when the rules start running live.
func TestBackfillRulesIncludeEnd(t *testing.T) {
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
	end := start.Add(-90 * time.Second) // on no rule's lattice
	stamp := func() float64 {
		v, _, _, err := eng.Query(ctx, "max(timestamp("+rules.MetricBudgetRemaining+"))", end)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := vectorValue(t, v)
		if !ok {
			t.Fatalf("no budget series at %s", end)
		}
		return f
	}
	if _, err := eng.BackfillRules(ctx, gen.HistoryStart(), end, embedded.BackfillOptions{MinStep: 5 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := stamp(); got >= float64(end.Unix()) {
		t.Fatalf("without IncludeEnd the last budget sample is at %v, want before %v", got, end.Unix())
	}
	if _, err := eng.BackfillRules(ctx, end, end, embedded.BackfillOptions{MinStep: 5 * time.Minute, IncludeEnd: true}); err == nil {
		t.Fatal("an empty range was accepted")
	}
	if _, err := eng.BackfillRules(ctx, end.Add(-time.Second), end, embedded.BackfillOptions{MinStep: 5 * time.Minute, IncludeEnd: true}); err != nil {
		t.Fatal(err)
	}
	if got := stamp(); got != float64(end.Unix()) {
		t.Fatalf("with IncludeEnd the last budget sample is at %v, want %v", got, end.Unix())
	}
}
