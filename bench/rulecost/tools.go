package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
)

// tool is one rule generator under comparison, with its rule files.
type tool struct {
	Name   string
	Files  []string
	Groups []ruleGroup
	// PeriodRatio names the series holding the tool's error ratio over the
	// whole period, how to tell its SLO, and how to read it.
	PeriodRatio periodRatio
	// Own holds label matchers that tell the tool's recorded series from
	// another tool's series of the same name (Sloth and slokeeper both
	// record slo:objective:ratio).
	Own string
}

// seriesSelector selects every series the tool's recording rules write.
func (t *tool) seriesSelector() string {
	sel := fmt.Sprintf(`__name__=~"%s"`, nameRegex(t.recordedNames()))
	if t.Own != "" {
		sel += "," + t.Own
	}
	return "{" + sel + "}"
}

// periodRatio describes where a tool records the error ratio of the period.
type periodRatio struct {
	// Selector selects the recorded series.
	Selector string
	// SLOLabel holds a value naming the SLO; its shard is the sNN in it.
	SLOLabel string
	// ByCode: the series are per-code event counts (Pyrra's increase), the
	// ratio is the 5xx sum over the total at the same timestamp.
	ByCode bool
}

// ruleFile is a Prometheus rule file (the fields the benchmark uses).
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []rule `yaml:"rules"`
	file     string
}

type rule struct {
	Record string            `yaml:"record,omitempty"`
	Alert  string            `yaml:"alert,omitempty"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels,omitempty"`
}

// specs holds what the benchmark needs to know of the SLOs.
type specs struct {
	SLOs      int
	Period    time.Duration
	Objective float64 // ratio, e.g. 0.999
}

// budget is the allowed error ratio.
func (s specs) budget() float64 { return 1 - s.Objective }

// loadTools imports the Sloth and the Pyrra specs with our loader, checks
// they hold the same SLOs, generates our rules (default options) into dir,
// and collects the rule files Sloth and Pyrra generated, unchanged.
func loadTools(ctx context.Context, peers, dir string) ([]*tool, specs, error) {
	// Prometheus resolves relative rule file paths against its config file.
	peers, err := filepath.Abs(peers)
	if err != nil {
		return nil, specs{}, err
	}
	// The same SLOs, written as a Sloth spec and as Pyrra specs: both
	// imported with our loader; our rules are generated from the Sloth import.
	var imported [2][]slo.SLO
	for i, kind := range []string{"sloth", "pyrra"} {
		dir := filepath.Join(peers, "specs", kind)
		slos, err := importSpecs(ctx, dir)
		if err != nil {
			return nil, specs{}, err
		}
		imported[i] = slos
	}
	sp, err := specsOf(imported[0])
	if err != nil {
		return nil, specs{}, err
	}
	if psp, err := specsOf(imported[1]); err != nil {
		return nil, specs{}, fmt.Errorf("the Pyrra specs: %w", err)
	} else if psp != sp {
		return nil, specs{}, fmt.Errorf("the Sloth specs hold %+v, the Pyrra specs %+v: not the same SLOs", sp, psp)
	}
	out, err := rules.Generate(imported[0], rules.Options{})
	if err != nil {
		return nil, specs{}, fmt.Errorf("generating our rules: %w", err)
	}
	ours := &tool{Name: "slokeeper", Own: `sloth_id=""`,
		PeriodRatio: periodRatio{Selector: `slo:sli_error:ratio{slo_window="period"}`, SLOLabel: "slo"}}
	for _, svc := range out.ServiceNames() {
		b, err := out.MarshalRuleFile(svc)
		if err != nil {
			return nil, specs{}, fmt.Errorf("rendering our rules: %w", err)
		}
		f := filepath.Join(dir, rules.RuleFileName(svc))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return nil, specs{}, err
		}
		ours.Files = append(ours.Files, f)
	}
	sloth := &tool{Name: "Sloth", Own: `sloth_id!=""`, PeriodRatio: periodRatio{
		Selector: fmt.Sprintf(`{__name__="slo:sli_error:ratio_rate%s"}`, formatDays(sp.Period)), SLOLabel: "sloth_slo"}}
	pyrra := &tool{Name: "Pyrra", PeriodRatio: periodRatio{
		Selector: fmt.Sprintf(`{__name__=~".+:increase%s"}`, formatDays(sp.Period)), SLOLabel: "slo", ByCode: true}}
	for _, t := range []struct {
		tool *tool
		glob string
	}{
		{sloth, filepath.Join(peers, "generated", "sloth", "*.yml")},
		{pyrra, filepath.Join(peers, "generated", "pyrra", "*.yaml")},
	} {
		files, err := filepath.Glob(t.glob)
		if err != nil {
			return nil, specs{}, err
		}
		if len(files) == 0 {
			return nil, specs{}, fmt.Errorf("no rule file matches %s", t.glob)
		}
		t.tool.Files = files
	}
	tools := []*tool{ours, sloth, pyrra}
	for _, t := range tools {
		for _, f := range t.Files {
			gs, err := readRuleFile(f)
			if err != nil {
				return nil, specs{}, err
			}
			t.Groups = append(t.Groups, gs...)
		}
	}
	return tools, sp, nil
}

// importSpecs loads every spec under dir with our loader.
func importSpecs(ctx context.Context, dir string) ([]slo.SLO, error) {
	res, err := loader.Load(ctx, []string{dir}, loader.Options{})
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	for _, p := range res.Problems {
		if p.Severity == slo.Error {
			return nil, fmt.Errorf("loading %s: %s", dir, p)
		}
	}
	if len(res.SLOs) == 0 {
		return nil, fmt.Errorf("no SLO in %s", dir)
	}
	return res.SLOs, nil
}

// specsOf checks that every SLO has the same rolling period and objective,
// and returns them.
func specsOf(slos []slo.SLO) (specs, error) {
	sp := specs{SLOs: len(slos), Period: slos[0].Period.Rolling, Objective: slos[0].Target()}
	for i := range slos {
		s := &slos[i]
		if s.Period.Kind != slo.Rolling || s.Period.Rolling != sp.Period || s.Target() != sp.Objective {
			return specs{}, fmt.Errorf("SLO %s: the benchmark expects every SLO to have the same rolling period and objective", s.ID())
		}
	}
	return sp, nil
}

func formatDays(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func readRuleFile(path string) ([]ruleGroup, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rf.Groups) == 0 {
		return nil, fmt.Errorf("%s: no rule group", path)
	}
	for i := range rf.Groups {
		rf.Groups[i].file = path
	}
	return rf.Groups, nil
}

// counts returns the number of recording and alerting rules.
func (t *tool) counts() (record, alert int) {
	for _, g := range t.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				record++
			} else {
				alert++
			}
		}
	}
	return record, alert
}

// recordedNames lists the metric names the tool's recording rules write.
func (t *tool) recordedNames() []string {
	seen := map[string]bool{}
	for _, g := range t.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				seen[r.Record] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// backfillPlan lists, level by level, the recording rules whose history must
// be backfilled so that the tool is measured at steady state: every recorded
// series another rule reads over a range (a range selector, a subquery, an
// offset or @), and the recorded series those rules read in turn. Level 1
// reads only raw series, level n reads series of lower levels.
type backfillPlan struct {
	Levels [][]ruleGroup
	// History lists the recorded series read over a range.
	History []string
}

// selectorUse is one metric selector of an expression.
type selectorUse struct {
	name      string
	matchers  []*labels.Matcher
	overRange bool
}

func selectors(p parser.Parser, expr string) ([]selectorUse, error) {
	e, err := p.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []selectorUse
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		u := selectorUse{name: vs.Name, matchers: vs.LabelMatchers}
		if u.name == "" {
			for _, m := range vs.LabelMatchers {
				if m.Name == pmodel.MetricNameLabel && m.Type == labels.MatchEqual {
					u.name = m.Value
				}
			}
		}
		u.overRange = vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil || vs.StartOrEnd != 0
		for _, a := range path {
			switch a.(type) {
			case *parser.MatrixSelector, *parser.SubqueryExpr:
				u.overRange = true
			}
		}
		out = append(out, u)
		return nil
	})
	return out, nil
}

// plan works out the tool's backfill plan and checks that its rules read no
// raw series but metricName, collecting the shard label values they select.
func (t *tool) plan(p parser.Parser, shards map[string]bool) (backfillPlan, error) {
	type recRule struct {
		group *ruleGroup
		rule  rule
		reads []string // recorded names read
	}
	recorded := map[string]bool{}
	for _, n := range t.recordedNames() {
		recorded[n] = true
	}
	history := map[string]bool{}
	var recs []*recRule
	byName := map[string][]*recRule{}
	for gi := range t.Groups {
		g := &t.Groups[gi]
		for _, r := range g.Rules {
			uses, err := selectors(p, r.Expr)
			if err != nil {
				return backfillPlan{}, fmt.Errorf("%s: group %s: %w", g.file, g.Name, err)
			}
			rr := &recRule{group: g, rule: r}
			for _, u := range uses {
				switch {
				case recorded[u.name]:
					rr.reads = append(rr.reads, u.name)
					if u.overRange {
						history[u.name] = true
					}
				case u.name == metricName:
					shard := ""
					for _, m := range u.matchers {
						if m.Name == "shard" && m.Type == labels.MatchEqual {
							shard = m.Value
						}
					}
					if shard == "" {
						return backfillPlan{}, fmt.Errorf("%s: group %s: %s selects no single shard", g.file, g.Name, metricName)
					}
					shards[shard] = true
				case u.name == "ALERTS" || u.name == "ALERTS_FOR_STATE":
				default:
					return backfillPlan{}, fmt.Errorf("%s: group %s reads %q, which the benchmark does not synthesise", g.file, g.Name, u.name)
				}
			}
			if r.Record != "" {
				recs = append(recs, rr)
				byName[r.Record] = append(byName[r.Record], rr)
			}
		}
	}
	// The rules to backfill: those writing history, and their inputs.
	need := map[*recRule]bool{}
	var queue []*recRule
	for n := range history {
		queue = append(queue, byName[n]...)
	}
	for len(queue) > 0 {
		rr := queue[0]
		queue = queue[1:]
		if need[rr] {
			continue
		}
		need[rr] = true
		for _, n := range rr.reads {
			queue = append(queue, byName[n]...)
		}
	}
	// Levels: 1 + the highest level among the recorded names read.
	level := map[*recRule]int{}
	var levelOf func(rr *recRule, depth int) (int, error)
	levelOf = func(rr *recRule, depth int) (int, error) {
		if l, ok := level[rr]; ok {
			return l, nil
		}
		if depth > len(recs) {
			return 0, errors.New("recording rules depend on each other in a cycle")
		}
		l := 1
		for _, n := range rr.reads {
			for _, dep := range byName[n] {
				dl, err := levelOf(dep, depth+1)
				if err != nil {
					return 0, err
				}
				l = max(l, dl+1)
			}
		}
		level[rr] = l
		return l, nil
	}
	var plan backfillPlan
	for _, rr := range recs { // in file order, so that output is stable
		if !need[rr] {
			continue
		}
		l, err := levelOf(rr, 0)
		if err != nil {
			return backfillPlan{}, fmt.Errorf("%s: %w", t.Name, err)
		}
		for len(plan.Levels) < l {
			plan.Levels = append(plan.Levels, nil)
		}
		gs := plan.Levels[l-1]
		if len(gs) == 0 || gs[len(gs)-1].Name != rr.group.Name || gs[len(gs)-1].file != rr.group.file {
			gs = append(gs, ruleGroup{Name: rr.group.Name, Interval: rr.group.Interval, file: rr.group.file})
		}
		gs[len(gs)-1].Rules = append(gs[len(gs)-1].Rules, rule{Record: rr.rule.Record, Expr: rr.rule.Expr, Labels: rr.rule.Labels})
		plan.Levels[l-1] = gs
	}
	plan.History = slices.Sorted(maps.Keys(history))
	return plan, nil
}

// writeRuleFile writes groups as a Prometheus rule file.
func writeRuleFile(path string, groups []ruleGroup) error {
	b, err := yaml.Marshal(ruleFile{Groups: groups})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

var shardRe = regexp.MustCompile(`s\d+`)

// shardOf finds the shard (sNN) in an SLO name.
func shardOf(s string) string { return shardRe.FindString(s) }

// nameRegex matches any of names (metric names need no escaping but ':').
func nameRegex(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(q, "|")
}
