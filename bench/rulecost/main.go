// Command rulecost measures the rule evaluation cost of the rules slokeeper
// generates against the rules Sloth and Pyrra generated for the same ten
// SLOs (../shared/peers/bench), side by side in one real Prometheus 2.42
// holding synthetic history, and prints a Markdown report.
//
// Steps:
//  1. Rules: the Sloth and Pyrra specs imported with our loader (they must
//     hold the same SLOs), our rules generated from the Sloth import with
//     package rules; Sloth's and Pyrra's generated files used unchanged.
//  2. History: bench_requests_total{job, shard, instance, route, code}, one
//     shard per SLO, at -step up to now, written as OpenMetrics and
//     backfilled with `promtool tsdb create-blocks-from openmetrics`.
//  3. Recorded history: every recorded series that a rule reads over a range
//     (Sloth's 5m ratios for its 30d average, our 5m rates and hourly tiles),
//     and what those series are computed from, backfilled level by level with
//     `promtool tsdb create-blocks-from rules` against a Prometheus serving
//     the history; Prometheus then merges the overlapping blocks.
//  4. One Prometheus on 127.0.0.1 (free port) on that TSDB, scraping a live
//     exporter that continues the counters; once the counters are fresh,
//     the rule files of every tool are loaded at once, and every group's
//     evaluations are read from /metrics
//     (prometheus_rule_group_last_duration_seconds) and /api/v1/rules; each
//     group's first evaluation is the warm-up and is left out. The process
//     is stopped by its PID.
//
// It runs in `make bench` (scripts/bench.sh), never in `go test`.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

type config struct {
	peers          string
	prometheus     string
	promtool       string
	days           int
	step           time.Duration
	instances      int
	routes         int
	window         time.Duration
	scrapeInterval time.Duration
	evalInterval   time.Duration
	poll           time.Duration
	workers        int
	only           string
	keep           bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.peers, "peers", "../shared/peers/bench", "the benchmark set: specs/ and generated/ of Sloth and Pyrra")
	flag.StringVar(&cfg.prometheus, "prometheus", "/usr/bin/prometheus", "Prometheus 2.42 server binary")
	flag.StringVar(&cfg.promtool, "promtool", "/usr/bin/promtool", "promtool binary of the same version")
	flag.IntVar(&cfg.days, "days", 7, "days of history (the SLOs' period is 30d: longer windows read all there is)")
	flag.DurationVar(&cfg.step, "step", 15*time.Second, "step of the raw history")
	flag.IntVar(&cfg.instances, "instances", 6, "instances per SLO")
	flag.IntVar(&cfg.routes, "routes", 14, "routes per SLO (raw series per SLO: instances x routes x 6 codes)")
	flag.DurationVar(&cfg.window, "window", 8*time.Minute, "how long the rules are measured (longer until every group has been evaluated after its warm-up evaluation)")
	flag.DurationVar(&cfg.scrapeInterval, "scrape-interval", 15*time.Second, "scrape interval of the live exporter")
	flag.DurationVar(&cfg.evalInterval, "eval-interval", time.Minute, "global evaluation_interval (groups without an interval: Sloth's)")
	flag.DurationVar(&cfg.poll, "poll", 5*time.Second, "how often /api/v1/rules is read")
	flag.IntVar(&cfg.workers, "workers", min(runtime.NumCPU(), 4), "promtool processes converting the history in parallel")
	flag.StringVar(&cfg.only, "only", "", "comma-separated tools to load (slokeeper, Sloth, Pyrra); default all")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the work directory (TSDB, rule files, logs)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rulecost:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	began := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "rulecost [%5s] %s\n", time.Since(began).Round(time.Second), fmt.Sprintf(format, args...))
	}
	for _, bin := range []string{cfg.prometheus, cfg.promtool} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (Debian: apt-get install prometheus)", err)
		}
	}
	if cfg.days < 1 || cfg.step <= 0 || cfg.instances < 1 || cfg.routes < 1 || cfg.workers < 1 {
		return fmt.Errorf("-days, -step, -instances, -routes and -workers must be positive")
	}
	work, err := os.MkdirTemp("", "rulecost-")
	if err != nil {
		return err
	}
	if cfg.keep {
		logf("work directory (kept): %s", work)
	} else {
		defer func() {
			if rerr := os.RemoveAll(work); err == nil && rerr != nil {
				err = rerr
			}
		}()
	}

	// 1. Rules.
	rulesDir := filepath.Join(work, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		return err
	}
	tools, sp, err := loadTools(ctx, cfg.peers, rulesDir)
	if err != nil {
		return err
	}
	if time.Duration(cfg.days)*24*time.Hour < sp.Period+time.Hour {
		logf("warning: %d days of history are less than the period (%s): long windows are measured below steady state", cfg.days, formatDays(sp.Period))
	}
	p := parser.NewParser(parser.Options{})
	shardSet := map[string]bool{}
	plans := map[string]backfillPlan{}
	for _, t := range tools {
		pl, err := t.plan(p, shardSet)
		if err != nil {
			return err
		}
		plans[t.Name] = pl
		rec, alert := t.counts()
		logf("%s: %d files, %d groups, %d recording and %d alerting rules; history backfilled for %s",
			t.Name, len(t.Files), len(t.Groups), rec, alert, orNone(pl.History))
	}
	if cfg.only != "" {
		keep := strings.Split(cfg.only, ",")
		tools = slices.DeleteFunc(tools, func(t *tool) bool {
			return !slices.ContainsFunc(keep, func(k string) bool { return strings.EqualFold(strings.TrimSpace(k), t.Name) })
		})
		if len(tools) == 0 {
			return fmt.Errorf("-only %q names no tool", cfg.only)
		}
	}
	shards := sortedKeys(shardSet)

	// 2. Raw history.
	end := time.Now().Truncate(cfg.step)
	h := history{Start: end.Add(-time.Duration(cfg.days) * 24 * time.Hour), End: end, Step: cfg.step}
	m := defaultModel(shards, cfg.instances, cfg.routes)
	tr := newTraffic(m, h.Start)
	dataDir := filepath.Join(work, "tsdb")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		return err
	}
	logf("writing %d days of history at %s: %d shards x %d raw series", cfg.days, cfg.step, len(shards), m.seriesPerShard())
	if err := backfillRaw(ctx, cfg.promtool, tr, h, work, dataDir, cfg.workers, logf); err != nil {
		return fmt.Errorf("backfilling the raw history: %w", err)
	}
	bs, err := blocks(dataDir)
	if err != nil {
		return err
	}
	var samples uint64
	for _, b := range bs {
		samples += b.Stats.NumSamples
	}
	logf("raw history: %d blocks, %d samples", len(bs), samples)

	// 3. Recorded history.
	if err := backfillRules(ctx, cfg, plans, h, work, dataDir, logf); err != nil {
		return fmt.Errorf("backfilling recorded series: %w", err)
	}

	// 4. The live exporter, continuing the counters, and the runs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_ = tr.exposition(w, time.Now())
	})}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logf("measuring %d tools side by side", len(tools))
	ms, err := measureAll(ctx, cfg, tools, h, sp, dataDir, work, ln.Addr().String(), logf)
	if err != nil {
		return err
	}
	for _, r := range ms.Tools {
		logf("%s: %.1f ms per round (API %.1f ms), CPU share %.3f%%, %d-%d measured evaluations per group, %d series; costliest groups: %s",
			r.Tool.Name, r.PerRound*1000, r.APIPerRound*1000, r.CPUShare*100, r.MinEvals, r.MaxEvals, r.Series, costliest(r.Groups, 3))
		for _, k := range r.kinds()[:min(5, len(r.kinds()))] {
			logf("%s: costly rule kind: %.1f ms over %d rules: %s", r.Tool.Name, k.Sum*1000, k.Rules, k.Kind)
		}
	}
	logf("done")
	return writeReport(stdout, report{cfg: cfg, specs: sp, hist: h, shards: len(shards), seriesPerShard: m.seriesPerShard(),
		model: m, samples: samples, plans: plans, m: ms, took: time.Since(began)})
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// costliest describes the n groups with the longest mean evaluation.
func costliest(gs []*groupResult, n int) string {
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b *groupResult) int { return cmp.Compare(b.metricMean(), a.metricMean()) })
	var parts []string
	for _, g := range gs[:min(n, len(gs))] {
		d := g.Metric.measured()
		parts = append(parts, fmt.Sprintf("%s (every %s, %d rules, %.1f ms mean, %.1f ms median of %d; warm-up %.1f ms)",
			g.Name, short(g.Interval), len(g.Rules), mean(d)*1000, median(d)*1000, len(d), g.Metric[0].Dur*1000))
	}
	return strings.Join(parts, ", ")
}
