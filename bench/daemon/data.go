package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/internal/benchspecs"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo/loader"
)

// writeSpecs writes the synthetic specs (benchspecs.Files) into dir.
func writeSpecs(dir string, slos, files int) error {
	names, contents := benchspecs.Files(slos, files)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), contents[i], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig writes the daemon configuration: the specs, the Prometheus
// under test, rules as files into rulesDir without reload URL.
func writeConfig(file, specsDir, promURL, rulesDir string, budgetRead time.Duration) error {
	cfg := fmt.Sprintf(`specs:
  - %s
prometheus:
  url: %s
  timeout: 30s
rules:
  mode: files
  directory: %s
intervals:
  resync: 5m
  budget_read: %s
`, specsDir, promURL, rulesDir, budgetRead)
	return os.WriteFile(file, []byte(cfg), 0o644)
}

// series is one recorded series the budget reader queries.
type series struct {
	labels string // rendered label set, without braces
	step   time.Duration
	base   float64 // value scale (see value)
	budget float64 // the SLO's error budget, for burn rates
	seed   int
}

// families are the series to backfill, by metric name, in output order.
type families struct {
	names  []string
	series map[string][]series
	slos   int
	// windows are the slo_window values of the error ratio series of one
	// SLO, as the rules record them (for the check of the statuses).
	ratioWindows, burnWindows []string
}

// routes are the values of the groupBy labels of the SLOs that have some:
// with groupBy an SLO has one series per group (the reader keeps the worst).
func routes(n int) []string {
	out := make([]string, max(n, 1))
	for i := range out {
		out[i] = fmt.Sprintf("/api/r%d", i)
	}
	return out
}

// alertEvery: one SLO in alertEvery has a firing alert (ALERTS series).
const alertEvery = 100

// deriveSeries loads the specs as the daemon does and generates their rules
// with the daemon's options; every recording rule of a series the budget
// reader queries (budget remaining, error ratio, burn rate) becomes one
// series per group, with the rule's labels and the groupBy labels, stepped
// at its group's evaluation interval. One SLO in alertEvery also gets the
// ALERTS series of its first alerting rule, firing. SLOs with groupBy have
// groups series (one per value of their groupBy labels).
func deriveSeries(ctx context.Context, cfg *config.Config, groups int) (*families, error) {
	res, err := loader.Load(ctx, cfg.Specs, loader.Options{})
	if err != nil {
		return nil, err
	}
	if len(res.InvalidFiles) > 0 {
		return nil, fmt.Errorf("%d invalid spec files: %v", len(res.InvalidFiles), res.Problems)
	}
	byID := map[string]int{}
	for i := range res.SLOs {
		byID[res.SLOs[i].ID()] = i
	}
	opts := rules.Options{
		Tiers:         cfg.Tiers,
		ShortInterval: cfg.Rules.ShortInterval,
		LongInterval:  cfg.Rules.LongInterval,
		AlertInterval: cfg.Rules.AlertInterval,
		DashboardURL:  cfg.Rules.DashboardURL,
	}
	const alerts = "ALERTS"
	f := &families{
		names:  []string{rules.MetricBudgetRemaining, rules.MetricErrorRatio, rules.MetricBurnRate, alerts},
		series: map[string][]series{},
		slos:   len(res.SLOs),
	}
	ratioW, burnW := map[string]bool{}, map[string]bool{}
	alerted := map[string]bool{}
	n := 0
	err = rules.GenerateEach(res.SLOs, opts, func(o *rules.Output) error {
		for _, sr := range o.Services {
			for _, g := range sr.Groups {
				step, err := time.ParseDuration(g.Interval)
				if err != nil || step <= 0 {
					return fmt.Errorf("group %s: interval %q", g.Name, g.Interval)
				}
				for _, r := range g.Rules {
					id := budget.ID(r.Labels[rules.LabelService], r.Labels[rules.LabelSLO])
					i, ok := byID[id]
					if !ok {
						return fmt.Errorf("rule %s%s: unknown SLO %s", r.Record, r.Alert, id)
					}
					s := &res.SLOs[i]
					name := r.Record
					if r.Alert != "" {
						if i%alertEvery != 0 || alerted[id] {
							continue
						}
						alerted[id] = true
						name = alerts
					}
					switch name {
					case rules.MetricBudgetRemaining, alerts:
					case rules.MetricErrorRatio:
						ratioW[r.Labels[rules.LabelWindow]] = true
					case rules.MetricBurnRate:
						burnW[r.Labels[rules.LabelWindow]] = true
					default:
						continue
					}
					ls := map[string]string{}
					for k, v := range r.Labels {
						ls[k] = v
					}
					if name == alerts {
						ls["alertname"], ls["alertstate"] = r.Alert, "firing"
					}
					sets := []map[string]string{ls}
					if len(s.GroupBy) > 0 {
						sets = nil
						for _, rt := range routes(groups) {
							gl := map[string]string{}
							for k, v := range ls {
								gl[k] = v
							}
							for _, l := range s.GroupBy {
								gl[l] = rt
							}
							sets = append(sets, gl)
						}
					}
					for _, gl := range sets {
						n++
						f.series[name] = append(f.series[name], series{
							labels: renderLabels(gl), step: step, base: 0.2 + float64(i%50)/100,
							budget: s.ErrorBudget(), seed: n,
						})
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.ratioWindows, f.burnWindows = sortedKeys(ratioW), sortedKeys(burnW)
	return f, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func renderLabels(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		v := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(ls[k])
		b.WriteString(v)
		b.WriteByte('"')
	}
	return b.String()
}

// value is a plausible, slowly varying sample of a series at step k.
func (s series) value(metric string, k int) float64 {
	wave := 0.5 + 0.5*math.Sin(float64(s.seed%97)+float64(k)/7)
	ratio := s.budget * s.base * wave // error ratio below the budget
	switch metric {
	case rules.MetricBudgetRemaining:
		return 1 - s.base*(0.9+0.1*wave)
	case rules.MetricErrorRatio:
		return ratio
	case rules.MetricBurnRate:
		return ratio / s.budget
	default: // ALERTS
		return 1
	}
}

// writeOpenMetrics writes every series of f with samples at its step over
// (end-span, end], the last at end (whole seconds, as written),
// each series in time order and each family contiguous,
// and returns the number of samples and series.
func writeOpenMetrics(file string, f *families, end time.Time, span time.Duration) (samples, nseries int, err error) {
	out, err := os.Create(file)
	if err != nil {
		return 0, 0, err
	}
	w := bufio.NewWriterSize(out, 1<<20)
	var num []byte
	for _, name := range f.names {
		ss := f.series[name]
		if len(ss) == 0 {
			continue
		}
		fmt.Fprintf(w, "# TYPE %s gauge\n", name)
		for _, s := range ss {
			nseries++
			n := int(span / s.step)
			// Every series' last sample is at end, so that all of them stay
			// within the lookback delta equally long.
			for k := n - 1; k >= 0; k-- {
				ts := end.Add(-time.Duration(k) * s.step)
				w.WriteString(name)
				w.WriteByte('{')
				w.WriteString(s.labels)
				w.WriteString("} ")
				v := math.Round(s.value(name, n-k)*1e6) / 1e6
				num = strconv.AppendFloat(num[:0], v, 'g', -1, 64)
				w.Write(num)
				w.WriteByte(' ')
				num = strconv.AppendInt(num[:0], ts.Unix(), 10)
				w.Write(num)
				w.WriteByte('\n')
				samples++
			}
		}
	}
	w.WriteString("# EOF\n")
	if err := w.Flush(); err != nil {
		out.Close()
		return 0, 0, err
	}
	return samples, nseries, out.Close()
}

// backfill runs promtool tsdb create-blocks-from openmetrics.
func backfill(ctx context.Context, promtool, file, tsdbDir, logFile string) error {
	lf, err := os.Create(logFile)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, tsdbDir)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (log: %s)", strings.Join(cmd.Args, " "), err, tail(logFile, 20))
	}
	return nil
}

// tail is the end of a log file, for error messages.
func tail(file string, lines int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return "\n" + strings.Join(ls, "\n")
}
