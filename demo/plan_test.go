package demo_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
)

func loadTestdata(t testing.TB) []slo.SLO {
	t.Helper()
	res, err := loader.Load(context.Background(), []string{"../testdata/slos"}, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.SLOs) == 0 || res.Problems.HasErrors() {
		t.Fatalf("loading testdata: %d SLOs, problems %v", len(res.SLOs), res.Problems)
	}
	return res.SLOs
}

func ruleFiles(t testing.TB, slos []slo.SLO) map[string][]byte {
	t.Helper()
	out, err := rules.Generate(slos, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, svc := range out.ServiceNames() {
		b, err := out.MarshalRuleFile(svc)
		if err != nil {
			t.Fatal(err)
		}
		files[rules.RuleFileName(svc)] = b
	}
	return files
}

func budgetAt(t *testing.T, eng *embedded.Engine, service, name string, at time.Time) float64 {
	t.Helper()
	v, _, _, err := eng.Query(context.Background(), `slo:error_budget:remaining{service="`+service+`",slo="`+name+`"}`, at)
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		t.Fatalf("budget of %s/%s at %s: got %v", service, name, at, v)
	}
	return float64(vec[0].Value)
}

// TestPlanFreezesAndLifts proves the freeze plan through the embedded
// engine and the generated rules: history backfilled, the "live" minutes
// simulated as more backfill, the rules backfilled over all of it at the
// lattice step, and the planned SLO's recorded budget read at the planned
// instants.
func TestPlanFreezesAndLifts(t *testing.T) {
	ctx := context.Background()
	all := loadTestdata(t)
	var checkout []slo.SLO
	for _, s := range all {
		if s.Service == "checkout" {
			checkout = append(checkout, s)
		}
	}
	start := time.Date(2026, 3, 10, 9, 17, 0, 0, time.UTC)
	tl := demo.Timeline{FreezeAfter: 10 * time.Minute, LiftAfter: 30 * time.Minute}
	gen, err := demo.New(demo.Options{SLOs: checkout, Start: start, Timeline: tl, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	plan := gen.Plan()
	if plan == nil {
		t.Fatal("no plan for checkout/availability")
	}
	if got := gen.HistoryStart(); start.Sub(got) < 28*24*time.Hour {
		t.Fatalf("history starts %s, less than the 28d period before %s", got, start)
	}
	eng, err := embedded.Open(ctx, embedded.Options{Dir: t.TempDir(), Retention: 40 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	end := start.Add(tl.LiftAfter + 20*time.Minute)
	t0 := time.Now()
	if err := gen.Backfill(ctx, eng.Appendable(), gen.HistoryStart(), end, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("raw backfill of %d series over %s: %s", gen.SeriesCount(), end.Sub(gen.HistoryStart()), time.Since(t0))
	if _, err := eng.SetRules(ctx, ruleFiles(t, checkout)); err != nil {
		t.Fatal(err)
	}
	st, err := eng.BackfillRules(ctx, gen.HistoryStart(), end, embedded.BackfillOptions{MinStep: 5 * time.Minute, CompactAfter: embedded.CompactAfterSamples})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rule backfill: %d rules, %d queries, %d samples in %s", st.Rules, st.Queries, st.Samples, st.Took)

	// The latency SLO reads the histogram the availability SLO counts on:
	// every group of it has buckets, none is all "slow" for lack of them.
	lv, _, _, err := eng.Query(ctx, `slo:error_budget:remaining{service="checkout",slo="latency"}`, start.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	lvec, _ := lv.(model.Vector)
	if len(lvec) == 0 {
		t.Fatal("no latency budget")
	}
	for _, smp := range lvec {
		if smp.Value < 0 {
			t.Errorf("latency budget %s = %v: a group without buckets", smp.Metric, smp.Value)
		}
	}
	before := budgetAt(t, eng, "checkout", "availability", start.Add(-time.Minute))
	frozen := budgetAt(t, eng, "checkout", "availability", start.Add(tl.FreezeAfter))
	lifted := budgetAt(t, eng, "checkout", "availability", start.Add(tl.LiftAfter+5*time.Minute))
	t.Logf("budget remaining: before start %.3f (plan %.2f), at freeze %.3f (plan %.2f), after lift %.3f (plan %.2f)",
		before, plan.RemainingAtStart, frozen, plan.RemainingFrozen, lifted, plan.RemainingLifted)
	if math.Abs(before-plan.RemainingAtStart) > 0.05 {
		t.Errorf("budget before start %.3f, plan %.2f", before, plan.RemainingAtStart)
	}
	if frozen > 0 {
		t.Errorf("budget at Start+FreezeAfter %.3f, want <= 0", frozen)
	}
	if lifted < demo.LiftThreshold {
		t.Errorf("budget at Start+LiftAfter+5m %.3f, want >= %.2f", lifted, demo.LiftThreshold)
	}
	// The freeze must not come before Start, nor the lift long before LiftAfter.
	if b := budgetAt(t, eng, "checkout", "availability", start.Add(tl.LiftAfter-10*time.Minute)); b > 0 {
		t.Errorf("budget at Start+LiftAfter-10m %.3f, want still <= 0", b)
	}
}
