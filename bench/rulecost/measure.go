package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// evalSample is one observed evaluation of a rule group.
type evalSample struct {
	At  float64 // evaluation timestamp, Unix seconds
	Dur float64 // seconds
}

// evalSeries is the evaluations of a group seen through one source, in
// order. The first one is the warm-up: the group's first evaluation creates
// its series and reads its data for the first time.
type evalSeries []evalSample

func (s *evalSeries) add(at, dur float64) bool {
	if at <= 0 || (len(*s) > 0 && (*s)[len(*s)-1].At >= at) {
		return false
	}
	*s = append(*s, evalSample{at, dur})
	return true
}

// measured returns the evaluations after the warm-up one.
func (s evalSeries) measured() []float64 {
	if len(s) < 2 {
		return nil
	}
	out := make([]float64, 0, len(s)-1)
	for _, e := range s[1:] {
		out = append(out, e.Dur)
	}
	return out
}

// groupResult holds the evaluations observed of one rule group.
type groupResult struct {
	Tool       string
	File, Name string
	Interval   time.Duration
	Rules      []ruleResult
	// Metric: prometheus_rule_group_last_duration_seconds at each
	// prometheus_rule_group_last_evaluation_timestamp_seconds.
	Metric evalSeries
	// API: the group's evaluationTime at each lastEvaluation of /api/v1/rules.
	API evalSeries
}

// ruleResult holds the evaluation times of one rule, read from
// /api/v1/rules with each new evaluation of its group.
type ruleResult struct {
	Name   string
	Kind   string // name and window: the same rule of every SLO
	Query  string
	Record bool
	times  []float64 // the warm-up evaluation first
}

func (g *groupResult) metricMean() float64 { return mean(g.Metric.measured()) }
func (g *groupResult) apiMean() float64    { return mean(g.API.measured()) }

func (r ruleResult) mean() float64 {
	if len(r.times) < 2 {
		return math.NaN()
	}
	return mean(r.times[1:])
}

func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	vs = slices.Clone(vs)
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2]
	}
	return (vs[n/2-1] + vs[n/2]) / 2
}

// toolResult is what was measured of one tool.
type toolResult struct {
	Tool   *tool
	Groups []*groupResult
	// PerRound is the sum over groups of the mean measured
	// prometheus_rule_group_last_duration_seconds (seconds): one evaluation
	// of every group.
	PerRound float64
	// APIPerRound is the same from /api/v1/rules evaluationTime.
	APIPerRound float64
	// CPUShare is the sum over groups of mean duration / interval: the share
	// of one core the tool's rules keep busy.
	CPUShare           float64
	MinEvals, MaxEvals int // measured evaluations per group (warm-up excluded)
	Series             int // distinct series the tool's recording rules wrote
	RecordedRules      int
	AlertingRules      int
	Accuracy           []accuracy
}

// kindCost is the cost of one kind of rule summed over the SLOs.
type kindCost struct {
	Kind  string
	Rules int
	Sum   float64 // seconds per evaluation, summed over the rules of the kind
}

// kinds sums the mean rule evaluation times per rule kind, costliest first.
func (r *toolResult) kinds() []kindCost {
	m := map[string]*kindCost{}
	for _, g := range r.Groups {
		for _, ru := range g.Rules {
			v := ru.mean()
			if math.IsNaN(v) {
				continue
			}
			k := m[ru.Kind]
			if k == nil {
				k = &kindCost{Kind: ru.Kind}
				m[ru.Kind] = k
			}
			k.Rules++
			k.Sum += v
		}
	}
	out := make([]kindCost, 0, len(m))
	for _, k := range m {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b kindCost) int {
		return cmp.Or(cmp.Compare(b.Sum, a.Sum), strings.Compare(a.Kind, b.Kind))
	})
	return out
}

// accuracy compares the error ratio a tool records over the period with the
// exact ratio from the raw counters, for one SLO.
type accuracy struct {
	Shard           string
	At              time.Time
	Recorded, Exact float64
}

// measurement is the outcome of one measured run of every tool.
type measurement struct {
	Tools      []*toolResult
	Measured   time.Duration // wall time with the rules loaded
	ProcessCPU float64       // CPU time of the whole Prometheus process / wall time
	Gap        time.Duration // from the end of the history to the rules' start
}

// ruleKind names a rule the same way for every SLO: its name, and the
// labels that tell windows and tiers apart.
func ruleKind(name string, lbls map[string]string) string {
	var parts []string
	for _, l := range []string{"slo_window", "slo_tier", "long", "severity"} {
		if v, ok := lbls[l]; ok {
			parts = append(parts, l+"="+v)
		}
	}
	if len(parts) == 0 {
		return name
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// measureAll starts one Prometheus on the backfilled TSDB, scraping the live
// exporter; once fresh samples are in, it loads the rule files of every tool
// at once, and reads every group's evaluations from /metrics
// (prometheus_rule_group_last_duration_seconds) and /api/v1/rules until
// cfg.window has passed and every group has been evaluated at least twice
// (the first evaluation is the warm-up, left out).
func measureAll(ctx context.Context, cfg config, tools []*tool, h history, sp specs, dataDir, work, exporter string, logf func(string, ...any)) (*measurement, error) {
	runDir := filepath.Join(work, "run")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	promCfg := filepath.Join(runDir, "prometheus.yml")
	if err := writePromConfig(promCfg, cfg, exporter, nil); err != nil {
		return nil, err
	}
	prom, err := startPrometheus(ctx, cfg.prometheus, promCfg, dataDir,
		"--storage.tsdb.retention.time="+retention(cfg), "--storage.tsdb.max-block-duration="+minBlock, "--web.enable-lifecycle")
	if err != nil {
		return nil, err
	}
	defer prom.stop()

	// Rules start once the raw series have fresh samples, so that no
	// evaluation finds them stale.
	if err := waitScrapes(ctx, prom.api, 2, 2*time.Minute); err != nil {
		return nil, err
	}
	fileTool := map[string]*tool{}
	var files []string
	for _, t := range tools {
		for _, f := range t.Files {
			fileTool[f] = t
			files = append(files, f)
		}
	}
	if err := writePromConfig(promCfg, cfg, exporter, files); err != nil {
		return nil, err
	}
	if err := reload(ctx, prom.addr); err != nil {
		return nil, err
	}
	loaded := time.Now()
	logf("rules of %d tools loaded into Prometheus at %s (pid %d); measuring for %s", len(tools), prom.addr, prom.cmd.Process.Pid, short(cfg.window))
	cpu0, err := prom.cpuSeconds()
	if err != nil {
		return nil, err
	}
	wantGroups := 0
	for _, t := range tools {
		wantGroups += len(t.Groups)
	}
	groups := map[string]*groupResult{}
	var maxInterval time.Duration
	lastLog := loaded
	for {
		gs, err := prom.api.rules(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			t := fileTool[g.File]
			if t == nil {
				return nil, fmt.Errorf("rule group %s from an unknown file %s", g.Name, g.File)
			}
			key := g.File + ";" + g.Name
			gr := groups[key]
			if gr == nil {
				gr = &groupResult{Tool: t.Name, File: g.File, Name: g.Name, Interval: time.Duration(g.Interval * float64(time.Second))}
				for _, r := range g.Rules {
					gr.Rules = append(gr.Rules, ruleResult{Name: r.Name, Kind: ruleKind(r.Name, r.Labels), Query: r.Query, Record: r.Type == "recording"})
				}
				groups[key] = gr
				maxInterval = max(maxInterval, gr.Interval)
				if gr.Interval <= cfg.poll {
					return nil, fmt.Errorf("group %s: interval %s: -poll (%s) must be shorter than every group's interval", g.Name, gr.Interval, cfg.poll)
				}
			}
			for _, r := range g.Rules {
				if r.Health == "err" {
					return nil, fmt.Errorf("%s: group %s: rule %s fails: %s", t.Name, g.Name, r.Name, r.LastError)
				}
			}
			// The zero time of a group not yet evaluated is left out by add.
			if g.LastEvaluation.After(loaded) && gr.API.add(float64(g.LastEvaluation.UnixNano())/1e9, g.EvaluationTime) && len(g.Rules) == len(gr.Rules) {
				for i, r := range g.Rules {
					gr.Rules[i].times = append(gr.Rules[i].times, r.EvaluationTime)
				}
			}
		}
		if len(groups) != wantGroups {
			return nil, fmt.Errorf("prometheus has %d rule groups, the files %d", len(groups), wantGroups)
		}
		ms, err := prom.api.ruleGroupMetrics(ctx)
		if err != nil {
			return nil, err
		}
		for key, m := range ms {
			if gr := groups[key]; gr != nil && m.LastEvaluation >= float64(loaded.Unix()) {
				gr.Metric.add(m.LastEvaluation, m.LastDuration)
			}
		}
		pending := 0
		for _, g := range groups {
			if len(g.Metric) < 2 || len(g.API) < 2 {
				pending++
			}
		}
		elapsed := time.Since(loaded)
		if pending == 0 && elapsed >= cfg.window {
			break
		}
		if elapsed > cfg.window+2*maxInterval+time.Minute {
			return nil, fmt.Errorf("%d rule groups were not evaluated twice within %s", pending, elapsed.Round(time.Second))
		}
		if time.Since(lastLog) >= time.Minute {
			lastLog = time.Now()
			logf("measuring: %s of %s, %d groups not yet evaluated after their warm-up", elapsed.Round(time.Second), short(cfg.window), pending)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(cfg.poll):
		}
	}
	cpu1, err := prom.cpuSeconds()
	if err != nil {
		return nil, err
	}
	res := &measurement{Measured: time.Since(loaded), Gap: loaded.Sub(h.End).Round(time.Second)}
	res.ProcessCPU = (cpu1 - cpu0) / res.Measured.Seconds()

	for _, t := range tools {
		tr := &toolResult{Tool: t, MinEvals: math.MaxInt}
		tr.RecordedRules, tr.AlertingRules = t.counts()
		for _, k := range sortedKeys(groups) {
			g := groups[k]
			if g.Tool != t.Name {
				continue
			}
			tr.Groups = append(tr.Groups, g)
			tr.PerRound += g.metricMean()
			tr.APIPerRound += g.apiMean()
			tr.CPUShare += g.metricMean() / g.Interval.Seconds()
			n := len(g.Metric.measured())
			tr.MinEvals, tr.MaxEvals = min(tr.MinEvals, n), max(tr.MaxEvals, n)
		}
		res.Tools = append(res.Tools, tr)
	}

	// The series the rules write: since the start of the history, so that
	// series written less often than the measurement lasted (our hourly
	// tiles) count too; backfilled series have the labels the rules write,
	// so they are the same series.
	var all []string
	for _, t := range tools {
		all = append(all, t.recordedNames()...)
	}
	union, err := prom.api.series(ctx, fmt.Sprintf(`{__name__=~"%s"}`, nameRegex(all)), h.Start, time.Now())
	if err != nil {
		return nil, err
	}
	sum := 0
	for _, tr := range res.Tools {
		ss, err := prom.api.series(ctx, tr.Tool.seriesSelector(), h.Start, time.Now())
		if err != nil {
			return nil, err
		}
		tr.Series = len(ss)
		sum += len(ss)
	}
	if sum != len(union) {
		return nil, fmt.Errorf("the tools' recorded series overlap: %d in all, %d counted per tool", len(union), sum)
	}
	for _, tr := range res.Tools {
		if tr.Accuracy, err = periodAccuracy(ctx, prom.api, tr.Tool.PeriodRatio, sp, h, maxInterval+time.Minute); err != nil {
			return nil, fmt.Errorf("%s: reading the period's error ratio: %w", tr.Tool.Name, err)
		}
	}
	return res, nil
}

func writePromConfig(path string, cfg config, exporter string, ruleFiles []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n", cfg.scrapeInterval, cfg.evalInterval)
	b.WriteString("rule_files:\n")
	for _, f := range ruleFiles {
		fmt.Fprintf(&b, "  - %s\n", strconv.Quote(f))
	}
	if len(ruleFiles) == 0 {
		b.WriteString("  []\n")
	}
	// honor_labels: the exporter's job and instance labels are the series'.
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: bench\n    honor_labels: true\n    static_configs:\n      - targets: [%q]\n", exporter)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// waitScrapes waits until the exporter has been scraped n times.
func waitScrapes(ctx context.Context, api *promAPI, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		r, err := api.query(ctx, `count_over_time(up{job="bench"}[10m])`, time.Now())
		if err != nil {
			return err
		}
		if len(r) == 1 && r[0].Value.V >= float64(n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the exporter was not scraped %d times in %s", n, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func reload(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reloading Prometheus: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4000))
		return fmt.Errorf("reloading Prometheus: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// periodAccuracy reads each SLO's latest recorded period error ratio and
// the exact ratio from the raw counters at the same time: the increase of
// the 5xx counters over the period divided by that of all counters (the
// counters never reset).
func periodAccuracy(ctx context.Context, api *promAPI, pr periodRatio, sp specs, h history, lookback time.Duration) ([]accuracy, error) {
	now := time.Now()
	r, err := api.query(ctx, fmt.Sprintf("%s[%ds]", pr.Selector, int(lookback.Seconds())), now)
	if err != nil {
		return nil, err
	}
	latest := map[string]time.Time{}
	for _, s := range r {
		if len(s.Values) == 0 {
			continue
		}
		sh := shardOf(s.Metric[pr.SLOLabel])
		if t := s.Values[len(s.Values)-1].T; t.After(latest[sh]) {
			latest[sh] = t
		}
	}
	errs, total := map[string]float64{}, map[string]float64{}
	for _, s := range r {
		sh := shardOf(s.Metric[pr.SLOLabel])
		for _, v := range s.Values {
			if !v.T.Equal(latest[sh]) {
				continue
			}
			if !pr.ByCode {
				errs[sh], total[sh] = v.V, 1
			} else {
				total[sh] += v.V
				if strings.HasPrefix(s.Metric["code"], "5") {
					errs[sh] += v.V
				}
			}
		}
	}
	if len(latest) != sp.SLOs {
		return nil, fmt.Errorf("%s: found %d SLOs, want %d", pr.Selector, len(latest), sp.SLOs)
	}
	// Exact ratios per timestamp (the SLOs' latest samples share a few).
	exact := map[int64]map[string]float64{}
	var out []accuracy
	for _, sh := range sortedKeys(latest) {
		at := latest[sh]
		byShard, ok := exact[at.UnixMilli()]
		if !ok {
			if byShard, err = exactRatios(ctx, api, at, sp.Period, h.Start); err != nil {
				return nil, err
			}
			exact[at.UnixMilli()] = byShard
		}
		ex, ok := byShard[sh]
		if !ok {
			return nil, fmt.Errorf("no raw counters of shard %s at %s", sh, at.Format(time.RFC3339))
		}
		out = append(out, accuracy{Shard: sh, At: at, Recorded: errs[sh] / total[sh], Exact: ex})
	}
	return out, nil
}

// exactRatios evaluates, at t, every shard's error ratio over the period
// from the raw counters. With less history than the period, the increase
// is since the start of the history, where every counter is 0.
func exactRatios(ctx context.Context, api *promAPI, t time.Time, period time.Duration, start time.Time) (map[string]float64, error) {
	inc := func(sel string) string {
		if t.Add(-period).Before(start) {
			return fmt.Sprintf("sum by (shard) (%s)", sel)
		}
		return fmt.Sprintf("(sum by (shard) (%s) - sum by (shard) (%s offset %ds))", sel, sel, int(period.Seconds()))
	}
	q := inc(metricName+`{code=~"5.."}`) + " / " + inc(metricName)
	r, err := api.query(ctx, q, t)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range r {
		out[s.Metric["shard"]] = s.Value.V
	}
	return out, nil
}
