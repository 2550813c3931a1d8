// Command embedded benchmarks the embedded Prometheus engine against the
// bound of issue 7: 200 SLOs with 14 days of history in at most 500 MiB of
// RSS. It synthesises the SLOs (internal/benchspecs), generates their raw
// series with the demo traffic generator and backfills 14 days of them
// (one day at a time, compacting after each), loads the rules generated
// for them, backfills the recording rules over the 14 days at the 5-minute
// lattice step, compacts, then runs the engine (scraping the generator
// over loopback and evaluating the rules) for a while and reads the
// budgets back. It prints the timings and the peak RSS (VmHWM). Run it
// from the repository root:
//
//	go run ./bench/embedded
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
	"github.com/slokeeper/slokeeper/embedded"
	"github.com/slokeeper/slokeeper/internal/benchspecs"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo/loader"
)

func main() {
	var (
		nSLOs        = flag.Int("slos", 200, "number of SLOs")
		files        = flag.Int("services", 20, "number of services (one spec file each)")
		days         = flag.Int("days", 14, "days of history")
		run          = flag.Duration("run", 2*time.Minute, "how long to run scraping and rule evaluation after the backfill")
		dir          = flag.String("dir", "", "storage directory (default: a temporary one, removed at the end)")
		compactAfter = flag.Int("compact-after", embedded.CompactAfterSamples, "rule backfill: compact whenever that many recorded samples are pending (0: one pass, then one compaction)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench(ctx, *nSLOs, *files, *days, *run, *compactAfter, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(ctx context.Context, n, services, days int, runFor time.Duration, compactAfter int, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "slokeeper-bench-embedded-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	names, contents := benchspecs.Files(n, services)
	var specFiles []loader.File
	for i := range names {
		specFiles = append(specFiles, loader.File{Name: names[i], Data: contents[i]})
	}
	res := loader.Parse(specFiles, loader.Options{})
	if res.Problems.HasErrors() {
		return fmt.Errorf("specs: %v", res.Problems)
	}
	history := time.Duration(days) * 24 * time.Hour
	start := time.Now().Truncate(time.Minute)
	gen, err := demo.New(demo.Options{SLOs: res.SLOs, Start: start, History: history, Timeline: demo.Timeline{Disabled: true}, Seed: 1})
	if err != nil {
		return err
	}
	fmt.Printf("%d SLOs in %d services, %d raw series, %d days of history, %d skipped\n", len(res.SLOs), services, gen.SeriesCount(), days, len(gen.Skipped()))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: gen.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	eng, err := embedded.Open(ctx, embedded.Options{
		Dir: dir, Retention: history + 24*time.Hour,
		ScrapeConfigs: []embedded.ScrapeConfig{{JobName: "demo", Targets: []string{ln.Addr().String()}, Interval: 15 * time.Second, HonorLabels: true}},
	})
	if err != nil {
		return err
	}
	defer eng.Close()

	mem := watchMemory()
	defer close(mem.stop)
	t0 := time.Now()
	from := gen.HistoryStart()
	for d := from; d.Before(start); d = d.Add(24 * time.Hour) {
		to := d.Add(24 * time.Hour)
		if to.After(start) {
			to = start
		}
		if err := gen.Backfill(ctx, eng.Appendable(), d, to, time.Minute); err != nil {
			return err
		}
		if err := eng.Compact(ctx); err != nil {
			return err
		}
	}
	rawTook := time.Since(t0)
	fmt.Printf("raw backfill (1m step, compacting daily): %s, %s\n", rawTook.Round(time.Millisecond), mem)

	out, err := rules.Generate(res.SLOs, rules.Options{})
	if err != nil {
		return err
	}
	ruleFiles := map[string][]byte{}
	for _, svc := range out.ServiceNames() {
		b, err := out.MarshalRuleFile(svc)
		if err != nil {
			return err
		}
		ruleFiles[rules.RuleFileName(svc)] = b
	}
	if _, err := eng.SetRules(ctx, ruleFiles); err != nil {
		return err
	}
	st, err := eng.BackfillRules(ctx, from, start, embedded.BackfillOptions{MinStep: 5 * time.Minute, CompactAfter: compactAfter})
	if err != nil {
		return err
	}
	fmt.Printf("rule backfill (5m step, compacting after %d samples): %d rules, %d queries, %d samples in %s, %s\n",
		compactAfter, st.Rules, st.Queries, st.Samples, st.Took.Round(time.Millisecond), mem)
	t1 := time.Now()
	if err := eng.Compact(ctx); err != nil {
		return err
	}
	fmt.Printf("compaction: %s, %s\n", time.Since(t1).Round(time.Millisecond), mem)

	// Close the gap the backfill took: history up to now, then run live.
	now := time.Now()
	if err := gen.Backfill(ctx, eng.Appendable(), start, now, time.Minute); err != nil {
		return err
	}
	if _, err := eng.BackfillRules(ctx, start.Add(time.Millisecond), now, embedded.BackfillOptions{MinStep: 5 * time.Minute}); err != nil {
		return err
	}

	runCtx, cancel := context.WithTimeout(ctx, runFor)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	t2 := time.Now()
	var reads int
	minBudgets, maxBudgets := -1, 0
	var worst time.Duration
	all := map[string]bool{}    // every budget series seen
	var short []map[string]bool // reads with fewer series
	var shortAt []time.Duration
	for runCtx.Err() == nil {
		q0 := time.Now()
		v, _, _, err := eng.Query(ctx, rules.MetricBudgetRemaining, time.Now())
		if err != nil {
			return err
		}
		worst = max(worst, time.Since(q0))
		reads++
		budgets := 0
		seen := map[string]bool{}
		if vec, ok := v.(model.Vector); ok {
			budgets = len(vec)
			for _, smp := range vec {
				seen[smp.Metric.String()] = true
				all[smp.Metric.String()] = true
			}
		}
		short, shortAt = append(short, seen), append(shortAt, time.Since(t2))
		if minBudgets < 0 || budgets < minBudgets {
			minBudgets = budgets
		}
		maxBudgets = max(maxBudgets, budgets)
		select {
		case <-runCtx.Done():
		case <-time.After(10 * time.Second):
		}
	}
	if err := <-done; err != nil {
		return err
	}
	fmt.Printf("ran %s: %d budget reads (slowest %s), %d to %d budget series of %d SLOs\n", time.Since(t2).Round(time.Second), reads, worst.Round(time.Millisecond), minBudgets, maxBudgets, len(res.SLOs))
	for i, seen := range short {
		var missing []string
		for m := range all {
			if !seen[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			fmt.Printf("  read %s after Run: %d series missing, e.g. %s\n", shortAt[i].Round(time.Millisecond), len(missing), missing[0])
		}
	}
	fmt.Printf("total %s, %s; TSDB on disk %s\n", time.Since(t0).Round(time.Second), mem, dirSize(dir))
	return nil
}

// procStatus reads kB fields of /proc/self/status (VmHWM, VmRSS,
// RssAnon, RssFile).
func procStatus() map[string]int {
	out := map[string]int{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var kb int
		if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
			out[k] = kb
		}
	}
	return out
}

// memWatch samples the resident memory every 50ms: the peak of its
// anonymous part (heap, stacks) and of its file-backed part (the TSDB's
// memory-mapped blocks and head chunks, page cache the kernel can drop),
// which VmHWM, their peak sum, does not tell apart.
type memWatch struct {
	mu              sync.Mutex
	peakAnon, peakF int
	stop            chan struct{}
}

func watchMemory() *memWatch {
	w := &memWatch{stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			st := procStatus()
			w.mu.Lock()
			w.peakAnon = max(w.peakAnon, st["RssAnon"])
			w.peakF = max(w.peakF, st["RssFile"])
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// String is the peaks so far.
func (w *memWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("peak RSS (VmHWM) %s; peaks sampled every 50ms: anonymous %.0f MiB, file-backed %.0f MiB",
		peakRSS(), float64(w.peakAnon)/1024, float64(w.peakF)/1024)
}

// peakRSS reads VmHWM from /proc/self/status.
func peakRSS() string {
	if kb, ok := procStatus()["VmHWM"]; ok {
		return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
	}
	return "unknown"
}

// dirSize is the size of the files under dir.
func dirSize(dir string) string {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}
