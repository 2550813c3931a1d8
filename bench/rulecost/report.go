package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

type report struct {
	cfg            config
	specs          specs
	hist           history
	model          model
	shards         int
	seriesPerShard int
	samples        uint64
	plans          map[string]backfillPlan
	m              *measurement
	took           time.Duration
}

// writeReport prints the results as Markdown.
func writeReport(w io.Writer, r report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %s. Command: `go run ./bench/rulecost%s` (in `make bench`), %s in all.\n\n",
		machine(), flagsUsed(), r.took.Round(time.Second))
	fmt.Fprintf(&b, "The same %d SLOs (%.4g%%, %s) from ../shared/peers/bench: the Sloth spec and the Pyrra specs imported with our loader "+
		"(same SLOs), our rules generated from the Sloth import with default options, Sloth's and Pyrra's generated files unchanged. "+
		"History: %d days at %s of `%s`, %d SLOs x %d raw series (%d series, %s samples), diurnal traffic %g:1, "+
		"5xx ratio %gx higher at the trough than at the peak. Recorded series that rules read over ranges backfilled with promtool "+
		"(%s), so each tool runs at steady state. One Prometheus 2.42 on that TSDB with every tool's rules loaded at once, "+
		"scraping a live exporter every %s, global evaluation_interval %s (Sloth's groups), measured for %s; per group the mean of "+
		"the evaluations after its first (warm-up) one.\n\n",
		r.specs.SLOs, r.specs.Objective*100, formatDays(r.specs.Period), r.cfg.days, short(r.cfg.step), metricName, r.shards, r.seriesPerShard,
		r.shards*r.seriesPerShard, count(r.samples), r.model.PeakToTrough, r.model.TroughErrFactor, backfilled(r), short(r.cfg.scrapeInterval),
		short(r.cfg.evalInterval), short(r.m.Measured.Round(time.Second)))

	b.WriteString("| tool | groups | recording / alerting rules | series per SLO | Σ `prometheus_rule_group_last_duration_seconds` per round | Σ /api/v1/rules `evaluationTime` per round | CPU share (Σ duration / interval) | measured evaluations per group |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.m.Tools {
		fmt.Fprintf(&b, "| %s | %d | %d / %d | %.1f | %s | %s | %.3f%% | %s |\n",
			res.Tool.Name, len(res.Groups), res.RecordedRules, res.AlertingRules,
			float64(res.Series)/float64(r.specs.SLOs), ms(res.PerRound), ms(res.APIPerRound), res.CPUShare*100,
			rangeOf(res.MinEvals, res.MaxEvals))
	}
	ours := find(r.m.Tools, "slokeeper")
	if ours != nil {
		var rows []string
		for _, other := range r.m.Tools {
			if other == ours {
				continue
			}
			rows = append(rows, fmt.Sprintf("| slokeeper / %s | %s | %s |", other.Tool.Name,
				ratio(ours.PerRound, other.PerRound), ratio(ours.CPUShare, other.CPUShare)))
		}
		if len(rows) > 0 {
			b.WriteString("\n| ratio (target <= 1/10) | Σ last duration per round | CPU share |\n|---|---:|---:|\n")
			b.WriteString(strings.Join(rows, "\n") + "\n")
		}
		b.WriteString("\nOur groups:\n\n| group | interval | rules | mean | median | measured evaluations | warm-up evaluation | share of our round |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, g := range ours.Groups {
			d := g.Metric.measured()
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d | %s | %.0f%% |\n", g.Name, short(g.Interval), len(g.Rules),
				ms(mean(d)), ms(median(d)), len(d), ms(g.Metric[0].Dur), mean(d)/ours.PerRound*100)
		}
	}
	b.WriteString("\nCostliest kinds of rule (per evaluation, summed over the SLOs; rule times from /api/v1/rules):\n\n| tool | rule | rules | time |\n|---|---|---:|---:|\n")
	for _, res := range r.m.Tools {
		n := 3
		if res == ours {
			n = 6
		}
		ks := res.kinds()
		for _, k := range ks[:min(n, len(ks))] {
			fmt.Fprintf(&b, "| %s | `%s` | %d | %s |\n", res.Tool.Name, k.Kind, k.Rules, ms(k.Sum))
		}
	}

	fmt.Fprintf(&b, "\nError ratio over the %s period as each tool records it, against the exact ratio from the raw counters "+
		"(increase of the 5xx counters / increase of all counters, at the same timestamp, over the history there is); budget %.4g:\n\n", formatDays(r.specs.Period), r.specs.budget())
	b.WriteString("| tool | recorded (mean of the SLOs) | exact (mean) | deviation in % of the budget (mean / worst SLO) |\n|---|---:|---:|---:|\n")
	for _, res := range r.m.Tools {
		var rec, ex, dev, worst float64
		for _, a := range res.Accuracy {
			rec += a.Recorded
			ex += a.Exact
			d := (a.Recorded - a.Exact) / r.specs.budget() * 100
			dev += d
			if math.Abs(d) > math.Abs(worst) {
				worst = d
			}
		}
		n := float64(len(res.Accuracy))
		fmt.Fprintf(&b, "| %s | %.6f | %.6f | %+.3f%% / %+.3f%% |\n", res.Tool.Name, rec/n, ex/n, dev/n, worst)
	}
	fmt.Fprintf(&b, "\nPer round: the sum over groups of one evaluation each (groups have different intervals: ours 1m and 5m, "+
		"Sloth's 1m, Pyrra's 30s and 2m30s); the CPU share weighs each group by how often it runs. "+
		"Prometheus process CPU while measured (every tool's rules, scrapes, API reads): %.1f%% of one core. "+
		"Raw samples missing between the end of the backfill and the rules' start: %s.\n", r.m.ProcessCPU*100, short(r.m.Gap))
	_, err := io.WriteString(w, b.String())
	return err
}

func backfilled(r report) string {
	var parts []string
	for _, name := range sortedKeys(r.plans) {
		p := r.plans[name]
		if len(p.History) == 0 {
			continue
		}
		var levels []string
		for _, l := range p.Levels {
			var names []string
			seen := map[string]bool{}
			for _, g := range l {
				for _, ru := range g.Rules {
					if !seen[ru.Record] {
						seen[ru.Record] = true
						names = append(names, "`"+ru.Record+"`")
					}
				}
			}
			levels = append(levels, strings.Join(names, ", "))
		}
		parts = append(parts, name+": "+strings.Join(levels, ", then "))
	}
	return strings.Join(parts, "; ")
}

func find(rs []*toolResult, name string) *toolResult {
	for _, r := range rs {
		if r.Tool.Name == name {
			return r
		}
	}
	return nil
}

func ms(s float64) string {
	return fmt.Sprintf("%.1f ms", s*1000)
}

// ratio renders a/b and whether it meets the target of 1/10.
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	verdict := "met"
	if a/b > 0.1 {
		verdict = "**not met**"
	}
	return fmt.Sprintf("%.3f (1/%.1f): %s", a/b, b/a, verdict)
}

// short renders a duration without zero units: 1m, 15s, 2m30s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// count renders a large number with a unit: 93.7M.
func count(n uint64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func rangeOf(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// flagsUsed renders the command line's arguments.
func flagsUsed() string {
	if len(os.Args) < 2 {
		return ""
	}
	return " " + strings.Join(os.Args[1:], " ")
}

// machine describes the machine: cores, memory, CPU model, date.
func machine() string {
	mem, cpu := "? GiB", "unknown CPU"
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			var kb int64
			if n, _ := fmt.Sscanf(s.Text(), "MemTotal: %d kB", &kb); n == 1 {
				mem = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%d cores, %s, %s, %s", runtime.NumCPU(), mem, cpu, time.Now().UTC().Format("2006-01-02"))
}
