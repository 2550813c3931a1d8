package freeze

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func f(v float64) *float64 { return &v }

func budgets(svc string, vals ...float64) []SLOStatus {
	names := []string{"availability", "latency", "freshness"}
	out := make([]SLOStatus, len(vals))
	for i, v := range vals {
		out[i] = SLOStatus{Service: svc, SLO: names[i], BudgetRemaining: f(v)}
	}
	return out
}

func kinds(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

// step is one evaluation of a scenario: the inputs (Now is set from the
// step index when zero) and the expected outcome.
type step struct {
	in      Input
	frozen  bool
	warning bool
	sources []string
	events  []string
}

func runSteps(t *testing.T, policies map[string]Policy, svc string, steps []step) map[string]State {
	t.Helper()
	prev := map[string]State{}
	for i, s := range steps {
		if s.in.Now.IsZero() {
			s.in.Now = t0.Add(time.Duration(i) * time.Minute)
		}
		next, evs := Evaluate(policies, prev, s.in)
		st := next[svc]
		if st.Frozen != s.frozen || st.Warning != s.warning {
			t.Errorf("step %d: frozen=%v warning=%v, want %v %v (reasons %q)", i, st.Frozen, st.Warning, s.frozen, s.warning, st.Reasons)
		}
		if want := s.sources; want != nil && !slices.Equal(st.Sources, want) {
			t.Errorf("step %d: sources %v, want %v", i, st.Sources, want)
		}
		if got := kinds(evs); !slices.Equal(got, s.events) && !(len(got) == 0 && len(s.events) == 0) {
			t.Errorf("step %d: events %v, want %v", i, got, s.events)
		}
		// Evaluating again with the result is a no-op: no event twice.
		again, evs2 := Evaluate(policies, next, s.in)
		if len(evs2) != 0 {
			t.Errorf("step %d: re-evaluation gave events %v", i, kinds(evs2))
		}
		if again[svc].Frozen != st.Frozen || again[svc].Episode != st.Episode {
			t.Errorf("step %d: re-evaluation changed the state", i)
		}
		prev = next
	}
	return prev
}

func TestBudgetHysteresis(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	in := func(v ...float64) Input { return Input{BudgetsFresh: true, SLOs: budgets("checkout", v...)} }
	runSteps(t, pol, "checkout", []step{
		{in: in(0.5, 0.9)},
		{in: in(0.2, 0.9), warning: true, events: []string{KindBudgetWarning}},
		{in: in(0.0, 0.9), frozen: true, sources: []string{SourceBudget}, events: []string{KindFreezeStarted}},
		{in: in(0.05, 0.9), frozen: true, sources: []string{SourceBudget}},
		{in: in(0.099, 0.9), frozen: true},
		{in: in(0.10, 0.05), frozen: true},
		// Every SLO >= 10%: lifted; still under the warning threshold.
		{in: in(0.10, 0.50), warning: true, events: []string{KindFreezeLifted, KindBudgetWarning}},
		{in: in(0.05, 0.50), warning: true},
		{in: in(0.0, 0.50), frozen: true, events: []string{KindFreezeStarted}},
	})
}

func TestNoFlappingAroundThresholds(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	in := func(v float64) Input { return Input{BudgetsFresh: true, SLOs: budgets("checkout", v)} }
	var steps []step
	steps = append(steps, step{in: in(-0.001), frozen: true, events: []string{KindFreezeStarted}})
	for i := range 10 {
		v := 0.001
		if i%2 == 1 {
			v = -0.001
		}
		steps = append(steps, step{in: in(v), frozen: true})
	}
	runSteps(t, pol, "checkout", steps)

	runSteps(t, pol, "checkout", []step{
		{in: in(0.26)},
		{in: in(0.25), warning: true, events: []string{KindBudgetWarning}},
		{in: in(0.26), warning: true},
		{in: in(0.24), warning: true},
		{in: in(0.2699), warning: true},
		{in: in(0.28), events: []string{KindWarningCleared}},
		{in: in(0.26)},
	})
}

func TestStaleBudgetsNeverStartOrLift(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	fresh := func(v float64) Input { return Input{BudgetsFresh: true, SLOs: budgets("checkout", v)} }
	stale := func(v float64) Input { return Input{BudgetsFresh: false, SLOs: budgets("checkout", v)} }
	final := runSteps(t, pol, "checkout", []step{
		{in: stale(-0.5)},
		{in: fresh(0.5)},
		{in: stale(-0.5)},
		{in: fresh(-0.1), frozen: true, events: []string{KindFreezeStarted}},
		{in: stale(0.9), frozen: true, sources: []string{SourceBudget}},
		{in: stale(0.9), frozen: true},
	})
	st := final["checkout"]
	if n := countOf(st.Reasons, staleBudgetNote); n != 1 {
		t.Errorf("reasons %q: the stale note should appear once", st.Reasons)
	}
	if !slices.ContainsFunc(st.Reasons, func(r string) bool { return strings.Contains(r, "-10% remaining") }) {
		t.Errorf("reasons %q: the last fresh reason should be kept", st.Reasons)
	}
	// An SLO without data blocks the lift; an empty read does too.
	runSteps(t, pol, "checkout", []step{
		{in: fresh(0), frozen: true, events: []string{KindFreezeStarted}},
		{in: Input{BudgetsFresh: true, SLOs: []SLOStatus{{Service: "checkout", SLO: "availability"}}}, frozen: true},
		{in: Input{BudgetsFresh: true}, frozen: true},
		{in: fresh(0.5), events: []string{KindFreezeLifted}},
	})
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestPolicySLOFilter(t *testing.T) {
	p := NewPolicy("latency-only")
	p.SLOs = []string{"latency"}
	pol := map[string]Policy{"checkout": p}
	runSteps(t, pol, "checkout", []step{
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", -1, 0.5)}},
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", 0.5, -1)}, frozen: true, events: []string{KindFreezeStarted}},
	})
}

func TestOverlappingSources(t *testing.T) {
	p := NewPolicy("strict")
	p.FreezeOnPageAlert = true
	p.PagerDuty = &PagerDutyRule{ServiceIDs: []string{"PSVC1", "PSVC2"}, Urgencies: []string{"high"}}
	p.Schedules = []Schedule{{Name: "release-window", Kind: ScheduleRange, Start: t0.Add(2 * time.Minute), End: t0.Add(5 * time.Minute)}}
	pol := map[string]Policy{"checkout": p}
	ok := func(v float64) []SLOStatus { return budgets("checkout", v) }
	firing := []SLOStatus{{Service: "checkout", SLO: "availability", BudgetRemaining: f(0.5), PageAlertFiring: true}}
	noInc := map[string][]Incident{"PSVC1": nil, "PSVC2": {}}
	highInc := map[string][]Incident{"PSVC1": {{ID: "Q1", Number: 42, ServiceID: "PSVC1", Urgency: "high", Title: "checkout down"}}, "PSVC2": nil}
	lowInc := map[string][]Incident{"PSVC1": {{ID: "Q2", ServiceID: "PSVC1", Urgency: "low"}}, "PSVC2": nil}
	final := runSteps(t, pol, "checkout", []step{
		{in: Input{BudgetsFresh: true, SLOs: ok(0.5), Incidents: lowInc}},
		{in: Input{BudgetsFresh: true, SLOs: firing, Incidents: noInc}, frozen: true, sources: []string{SourceBurnAlert}, events: []string{KindFreezeStarted}},
		{in: Input{BudgetsFresh: true, SLOs: firing, Incidents: highInc}, frozen: true, sources: []string{SourceBurnAlert, SourcePagerDuty, SourceSchedule}, events: []string{KindFreezeUpdated}},
		// Incident data lost: the pagerduty source keeps its value.
		{in: Input{BudgetsFresh: true, SLOs: ok(0.5), Incidents: map[string][]Incident{"PSVC2": {}}}, frozen: true, sources: []string{SourcePagerDuty, SourceSchedule}, events: []string{KindFreezeUpdated}},
		{in: Input{BudgetsFresh: true, SLOs: ok(0.5), Incidents: noInc}, frozen: true, sources: []string{SourceSchedule}, events: []string{KindFreezeUpdated}},
		{in: Input{BudgetsFresh: true, SLOs: ok(0.5), Incidents: map[string][]Incident{}}, events: []string{KindFreezeLifted}},
		// Unknown incident data never starts a freeze.
		{in: Input{BudgetsFresh: true, SLOs: ok(0.5)}},
	})
	if st := final["checkout"]; st.Episode != "" || st.Since != (time.Time{}) {
		t.Errorf("lifted state keeps episode %q", st.Episode)
	}
}

func TestUntil(t *testing.T) {
	p := NewPolicy("sched")
	p.Schedules = []Schedule{{Name: "a", Kind: ScheduleRange, Start: t0, End: t0.Add(time.Hour)}}
	end := t0.Add(2 * time.Hour)
	in := Input{Now: t0, BudgetsFresh: true, SLOs: budgets("checkout", 0.5),
		Manual: []Manual{{ID: 1, Service: "checkout", Action: ActionFreeze, Author: "alice", Reason: "migration", Start: t0, Until: &end}}}
	next, _ := Evaluate(map[string]Policy{"checkout": p}, nil, in)
	if u := next["checkout"].Until; u == nil || !u.Equal(end) {
		t.Errorf("until = %v, want %s", u, end)
	}
	in.Manual[0].Until = nil
	next, _ = Evaluate(map[string]Policy{"checkout": p}, nil, in)
	if u := next["checkout"].Until; u != nil {
		t.Errorf("until = %v, want unknown (a manual freeze without expiry)", u)
	}
	in.SLOs = budgets("checkout", -1)
	in.Manual = nil
	next, _ = Evaluate(map[string]Policy{"checkout": p}, nil, in)
	if u := next["checkout"].Until; u != nil {
		t.Errorf("until = %v, want unknown (budget source)", u)
	}
}

func TestManualFreezeAndOverride(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	exp := t0.Add(3 * time.Minute)
	freeze := Manual{ID: 7, Service: "checkout", Action: ActionFreeze, Author: "alice", Reason: "db migration", Start: t0.Add(time.Minute), Until: &exp}
	ovEnd := t0.Add(7 * time.Minute)
	unfreeze := Manual{ID: 8, Service: "checkout", Action: ActionUnfreeze, Author: "vp", Reason: "hotfix rollout", Start: t0.Add(5 * time.Minute), Until: &ovEnd}
	ok := budgets("checkout", 0.9)
	low := budgets("checkout", -0.2)
	final := runSteps(t, pol, "checkout", []step{
		{in: Input{BudgetsFresh: true, SLOs: ok, Manual: []Manual{freeze}}},
		{in: Input{BudgetsFresh: true, SLOs: ok, Manual: []Manual{freeze}}, frozen: true, sources: []string{SourceManual}, events: []string{KindManualFreeze, KindFreezeStarted}},
		{in: Input{BudgetsFresh: true, SLOs: ok, Manual: []Manual{freeze}}, frozen: true},
		// Expired (the store still returns it until asked for active ones).
		{in: Input{BudgetsFresh: true, SLOs: ok, Manual: []Manual{freeze}}, events: []string{KindManualEnded, KindFreezeLifted}},
		{in: Input{BudgetsFresh: true, SLOs: low}, frozen: true, sources: []string{SourceBudget}, events: []string{KindFreezeStarted}},
		{in: Input{BudgetsFresh: true, SLOs: low, Manual: []Manual{unfreeze}}, events: []string{KindManualUnfreeze, KindFreezeLifted}},
		{in: Input{BudgetsFresh: true, SLOs: low, Manual: []Manual{unfreeze}}},
		{in: Input{BudgetsFresh: true, SLOs: low, Manual: []Manual{unfreeze}}, frozen: true, sources: []string{SourceBudget}, events: []string{KindManualEnded, KindFreezeStarted}},
	})
	if st := final["checkout"]; st.Override != nil || len(st.Manual) != 0 {
		t.Errorf("override still set: %+v", st)
	}
}

func TestOverrideKeepsHysteresis(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	ovEnd := t0.Add(3 * time.Minute)
	ov := Manual{ID: 1, Service: "checkout", Action: ActionUnfreeze, Author: "vp", Reason: "launch", Start: t0.Add(time.Minute), Until: &ovEnd}
	runSteps(t, pol, "checkout", []step{
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", 0)}, frozen: true, events: []string{KindFreezeStarted}},
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", 0.05), Manual: []Manual{ov}}, events: []string{KindManualUnfreeze, KindFreezeLifted}},
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", 0.05), Manual: []Manual{ov}}},
		// The override ended; 5% is between freeze_at and lift_at: the
		// budget source was still on under the override, so it freezes.
		{in: Input{BudgetsFresh: true, SLOs: budgets("checkout", 0.05)}, frozen: true, events: []string{KindManualEnded, KindFreezeStarted}},
	})
}

func TestNewerManualFreezeBeatsOverride(t *testing.T) {
	ov := Manual{ID: 1, Service: "web", Action: ActionUnfreeze, Author: "a", Reason: "r", Start: t0}
	fr := Manual{ID: 2, Service: "web", Action: ActionFreeze, Author: "b", Reason: "r", Start: t0.Add(time.Second)}
	next, _ := Evaluate(nil, nil, Input{Now: t0.Add(time.Minute), Manual: []Manual{fr, ov}})
	if st := next["web"]; !st.Frozen || st.Override != nil || st.Policy != "" {
		t.Errorf("state = %+v, want frozen by the newer manual freeze", st)
	}
}

func TestServiceWithoutPolicy(t *testing.T) {
	m := Manual{ID: 3, Service: "legacy", Action: ActionFreeze, Author: "a", Reason: "r", Start: t0}
	next, evs := Evaluate(nil, nil, Input{Now: t0, Manual: []Manual{m}})
	if !next["legacy"].Frozen || !slices.Equal(kinds(evs), []string{KindManualFreeze, KindFreezeStarted}) {
		t.Fatalf("state %+v events %v", next["legacy"], kinds(evs))
	}
	next, evs = Evaluate(nil, next, Input{Now: t0.Add(time.Minute), SLOs: budgets("legacy", -1), BudgetsFresh: true})
	if _, ok := next["legacy"]; ok || !slices.Equal(kinds(evs), []string{KindManualEnded, KindFreezeLifted}) {
		t.Errorf("state %+v events %v: want dropped after lifting", next, kinds(evs))
	}
}

func TestKeysAreDeterministicAndRestartSafe(t *testing.T) {
	p := NewPolicy("standard")
	pol := map[string]Policy{"checkout": p, "search": p}
	in := Input{Now: t0, BudgetsFresh: true, SLOs: append(budgets("checkout", -0.5), budgets("search", 0.2)...)}
	n1, e1 := Evaluate(pol, nil, in)
	n2, e2 := Evaluate(pol, nil, in)
	if len(e1) != 2 || len(e2) != 2 {
		t.Fatalf("events %v %v", kinds(e1), kinds(e2))
	}
	for i := range e1 {
		if e1[i].Key != e2[i].Key {
			t.Errorf("key %q != %q", e1[i].Key, e2[i].Key)
		}
	}
	if e1[0].Service != "checkout" || e1[0].Kind != KindFreezeStarted || !strings.HasPrefix(e1[0].Key, "checkout/f-20250602T090000") {
		t.Errorf("event 0 = %+v", e1[0])
	}
	if n1["checkout"].Episode != n2["checkout"].Episode {
		t.Error("episode not deterministic")
	}
	// A restart: the states come back from JSON (the store) and the next
	// evaluation on the same data gives nothing new.
	raw, err := json.Marshal(n1)
	if err != nil {
		t.Fatal(err)
	}
	var loaded map[string]State
	if err := json.Unmarshal(raw, &loaded); err != nil {
		t.Fatal(err)
	}
	in.Now = t0.Add(time.Minute)
	n3, e3 := Evaluate(pol, loaded, in)
	if len(e3) != 0 {
		t.Errorf("after restart: events %v", kinds(e3))
	}
	if !n3["checkout"].Since.Equal(t0) || n3["checkout"].Episode != n1["checkout"].Episode {
		t.Errorf("after restart: episode %q since %s", n3["checkout"].Episode, n3["checkout"].Since)
	}
	// Lifting produces a key of the same episode.
	in.SLOs = append(budgets("checkout", 0.9), budgets("search", 0.9)...)
	_, e4 := Evaluate(pol, n3, in)
	want := map[string]string{
		KindFreezeLifted:   "checkout/" + n1["checkout"].Episode + "/" + KindFreezeLifted,
		KindWarningCleared: "search/" + n1["search"].WarningEpisode + "/" + KindWarningCleared,
	}
	if len(e4) != 2 {
		t.Fatalf("events %v", kinds(e4))
	}
	for _, e := range e4 {
		if want[e.Kind] != e.Key {
			t.Errorf("%s key = %q, want %q", e.Kind, e.Key, want[e.Kind])
		}
	}
}

func TestEventsCarryState(t *testing.T) {
	pol := map[string]Policy{"checkout": NewPolicy("standard")}
	next, evs := Evaluate(pol, nil, Input{Now: t0, BudgetsFresh: true, SLOs: budgets("checkout", -0.25, 0.5)})
	if len(evs) != 1 {
		t.Fatalf("events %v", kinds(evs))
	}
	e := evs[0]
	if !e.State.Frozen || e.State.Budget["availability"] != -0.25 || e.State.Budget["latency"] != 0.5 {
		t.Errorf("event state = %+v", e.State)
	}
	want := "error budget of SLO availability is -25% remaining (freezes at <= 0%)"
	if !slices.Equal(e.Reasons, []string{want}) || !slices.Equal(next["checkout"].Reasons, []string{want}) {
		t.Errorf("reasons = %q", e.Reasons)
	}
}

func TestCheck(t *testing.T) {
	p := NewPolicy("standard")
	frozen := State{Service: "checkout", Frozen: true, Sources: []string{SourceBudget}, Reasons: []string{"budget"}, Episode: "f-1"}
	for _, tc := range []struct {
		name      string
		s         State
		exemption string
		allowed   bool
		exempted  bool
	}{
		{"not frozen", State{Service: "checkout"}, "", true, false},
		{"not frozen, marked", State{Service: "checkout"}, "p0", true, false},
		{"frozen", frozen, "", false, false},
		{"frozen p0", frozen, "P0", true, true},
		{"frozen security", frozen, " security ", true, true},
		{"frozen other", frozen, "feature", false, false},
	} {
		d := Check(tc.s, tc.exemption, p)
		if d.Allowed != tc.allowed || d.Exempted != tc.exempted || d.Frozen != tc.s.Frozen {
			t.Errorf("%s: %+v", tc.name, d)
		}
	}
	p.Exemptions = nil
	if d := Check(frozen, "p0", p); d.Allowed {
		t.Errorf("a policy without exemptions let p0 through")
	}
	d := Check(frozen, "security", NewPolicy("standard"))
	e := ExemptionEvent(d, "pipeline-123", "ci", t0)
	if e.Key != "checkout/f-1/exemption_used/pipeline-123" || e.Exemption != "security" {
		t.Errorf("exemption event = %+v", e)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := NewPolicy("ok").Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Policy{
		{FreezeAt: 0.2, LiftAt: 0.1, WarnAt: 0.3},
		{FreezeAt: 0, LiftAt: 0.1, WarnAt: 0},
		{FreezeAt: 0, LiftAt: 1.5, WarnAt: 0.3},
		{FreezeAt: 0, LiftAt: 0.1, WarnAt: 0.3, PagerDuty: &PagerDutyRule{}},
	}
	for i, p := range bad {
		if p.Validate() == nil {
			t.Errorf("policy %d: no error", i)
		}
	}
	nw := Policy{FreezeAt: 0, LiftAt: 0.1, NoWarning: true}
	if err := nw.Validate(); err != nil {
		t.Errorf("no-warning policy: %v", err)
	}
}

func TestResolve(t *testing.T) {
	pos := func(line int) map[slo.Field]slo.Pos {
		return map[slo.Field]slo.Pos{slo.FieldPolicy: {File: "specs.yml", Line: line, Col: 11}}
	}
	ps := PolicySet{
		Policies: map[string]Policy{"standard": NewPolicy("standard"), "strict": NewPolicy("strict"), "relaxed": NewPolicy("relaxed")},
		Default:  "standard",
		Services: map[string]string{"payments": "strict"},
	}
	slos := []*slo.SLO{
		{Service: "payments", Name: "a", Policy: "relaxed", Positions: pos(1)},
		{Service: "search", Name: "a", Policy: "relaxed", Positions: pos(2)},
		{Service: "web", Name: "a"},
		{Service: "mixed", Name: "a", Policy: "strict", Positions: pos(3)},
		{Service: "mixed", Name: "b", Policy: "relaxed", Positions: pos(4)},
		{Service: "mixed", Name: "c", Policy: "relaxed", Positions: pos(5)},
		{Service: "typo", Name: "a", Policy: "strcit", Positions: pos(6)},
	}
	got, probs := ps.Resolve(slos)
	want := map[string]string{"payments": "strict", "search": "relaxed", "web": "standard", "mixed": "relaxed", "typo": "standard"}
	for svc, name := range want {
		if got[svc].Name != name {
			t.Errorf("%s: policy %q, want %q", svc, got[svc].Name, name)
		}
	}
	if len(probs) != 2 || !strings.HasPrefix(probs[0].String(), "specs.yml:3:11: service \"mixed\"") || !strings.HasPrefix(probs[1].String(), "specs.yml:6:11: unknown error-budget policy \"strcit\"") {
		t.Errorf("problems:\n%v", probs)
	}
	ps.Default = ""
	got, _ = ps.Resolve(slos)
	if _, ok := got["web"]; ok {
		t.Error("without a default, a service naming no policy has none")
	}
}

func TestPercent(t *testing.T) {
	for v, want := range map[float64]string{0: "0%", 0.25: "25%", 0.1234: "12.34%", -0.5: "-50%", 1: "100%", -0.00001: "0%"} {
		if got := Percent(v); got != want {
			t.Errorf("Percent(%v) = %q, want %q", v, got, want)
		}
	}
}
