// Command daemon benchmarks `slokeeper serve` against a real Prometheus,
// for the performance targets of issue 5: with 10,000 SLOs and their
// recorded series in Prometheus, one budget read is at most 10 queries and
// 2 s, the daemon's RSS at most 200 MiB, and GET /api/v1/slos has a p99 of
// at most 20 ms at 200 requests/s from a loopback load generator.
//
// It generates the synthetic specs (internal/benchspecs), derives from
// their generated rules every series the budget reader queries, writes
// them as OpenMetrics and backfills them with `promtool tsdb
// create-blocks-from openmetrics`, starts Prometheus on that TSDB and the
// daemon on the specs (both on 127.0.0.1, free ports), measures, stops
// both by PID, removes its temporary directory and prints a Markdown
// table. Run it from the repository root:
//
//	go run ./bench/daemon
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/config"
)

type options struct {
	slos, files, groups int
	span, end           time.Duration
	budgetRead          time.Duration
	reads               int
	rate                int
	duration            time.Duration
	fullDuration        time.Duration
	timeout             time.Duration
	maxConns            int
	profileN            int
	prometheus          string
	promtool            string
	keep, verbose       bool
	deadline            time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.slos, "slos", 10000, "number of SLOs")
	flag.IntVar(&o.files, "files", 1000, "number of spec files (one service each)")
	flag.IntVar(&o.groups, "groups", 1, "series per SLO with groupBy (values of its groupBy labels)")
	flag.DurationVar(&o.span, "span", time.Hour, "time range of the backfilled samples")
	flag.DurationVar(&o.end, "end", -time.Minute, "time of the last backfilled sample relative to the time they are written; instant queries see them until end+5m (the lookback delta), which must cover the run (checked at its start and end)")
	flag.DurationVar(&o.budgetRead, "budget-read", 30*time.Second, "the daemon's intervals.budget_read")
	flag.IntVar(&o.reads, "reads", 3, "in-process budget reads to time (after one warm-up read)")
	flag.IntVar(&o.rate, "rate", 200, "requests per second of the open-loop loads")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "duration of the open-loop load on the filtered list (covers a budget read of the daemon)")
	flag.DurationVar(&o.fullDuration, "full-duration", 5*time.Second, "duration of the open-loop load on the unfiltered list (0: skip it)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "a request not done this long after its scheduled time is an error")
	flag.IntVar(&o.maxConns, "max-conns", 64, "connections of the load generator to the daemon")
	flag.IntVar(&o.profileN, "profile-n", 5, "requests per in-process measurement of the list handler (0: skip it)")
	flag.StringVar(&o.prometheus, "prometheus", "/usr/bin/prometheus", "Prometheus binary")
	flag.StringVar(&o.promtool, "promtool", "/usr/bin/promtool", "promtool binary")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (logs, TSDB)")
	flag.BoolVar(&o.verbose, "v", false, "also print the CPU profile of the list handler")
	flag.DurationVar(&o.deadline, "deadline", 5*time.Minute, "time limit of the whole run")
	flag.Parse()
	os.Exit(run(o))
}

// bench holds the run's state and results.
type bench struct {
	o        options
	tmp      string
	t0       time.Time
	prom     *proc
	slokeep  *proc
	proxy    *queryProxy
	promURL  string
	daemon   string
	fams     *families
	expected map[string]int // series per family

	loadStart        string
	samples, nseries int
	backfillTime     time.Duration
	dataEnd          time.Time
	readyTime        time.Duration
	promCheck        []string

	reads              readResult
	dq                 daemonQueries
	daemonReads        []proxyRead
	rssStart, hwmStart int64
	rssReady, hwmReady int64
	rssEnd, hwmEnd     int64
	loadReload         loadResult
	reload             [2]time.Time
	reloadErr          string
	seqFull, seqSvc    loadResult
	loadSvc, loadFull  loadResult
	loadPage           loadResult // the default page (500 SLOs)
	capFull            loadResult
	busySvc, otherSvc  float64
	busyFull, othFull  float64
	cost               *listCost
	costErr            string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(b.t0).Seconds(), fmt.Sprintf(format, args...))
}

func run(o options) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.deadline)
	defer cancel()
	b := &bench{o: o, t0: time.Now(), loadStart: loadavg()}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(os.Stderr, "bench/daemon: run it from the repository root (go run ./bench/daemon)")
		return 2
	}
	tmp, err := os.MkdirTemp("", "slokeeper-bench-daemon-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b.tmp = tmp
	defer func() {
		b.slokeep.stop()
		if b.proxy != nil {
			b.proxy.close()
		}
		b.prom.stop()
		if o.keep {
			b.logf("kept %s", tmp)
		} else if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}()
	if err := b.run(ctx); err != nil {
		b.logf("FAILED: %v", err)
		return 1
	}
	b.print(os.Stdout)
	return 0
}

func (b *bench) run(ctx context.Context) error {
	o := b.o
	specs, tsdb := filepath.Join(b.tmp, "specs"), filepath.Join(b.tmp, "tsdb")
	rulesDir, inprocRules := filepath.Join(b.tmp, "rules"), filepath.Join(b.tmp, "rules-inproc")
	for _, d := range []string{rulesDir, inprocRules, tsdb} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := writeSpecs(specs, o.slos, o.files); err != nil {
		return err
	}
	// The in-process configuration reads Prometheus directly (its URL is
	// set once its port is chosen); the daemon's reads it through the proxy.
	cfgFile, inprocCfg := filepath.Join(b.tmp, "slokeeper.yml"), filepath.Join(b.tmp, "slokeeper-inproc.yml")
	if err := writeConfig(inprocCfg, specs, "http://127.0.0.1:9090", inprocRules, o.budgetRead); err != nil {
		return err
	}

	// The daemon binary builds while the data is generated.
	bin := filepath.Join(b.tmp, "slokeeper")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/slokeeper")
	buildOut := &strings.Builder{}
	build.Stdout, build.Stderr = buildOut, buildOut
	if err := build.Start(); err != nil {
		return err
	}
	buildDone := make(chan error, 1)
	go func() { buildDone <- build.Wait() }()
	built := false
	waitBuild := func() error {
		if built {
			return nil
		}
		built = true
		if err := <-buildDone; err != nil {
			return fmt.Errorf("go build ./cmd/slokeeper: %w: %s", err, buildOut)
		}
		return nil
	}
	defer func() { _ = waitBuild() }()

	// 1. The series the reader queries, backfilled.
	cfg, err := config.Load(inprocCfg)
	if err != nil {
		return err
	}
	if b.fams, err = deriveSeries(ctx, cfg, o.groups); err != nil {
		return err
	}
	if b.fams.slos != o.slos {
		return fmt.Errorf("loaded %d SLOs, want %d", b.fams.slos, o.slos)
	}
	b.expected = map[string]int{}
	for _, name := range b.fams.names {
		b.expected[name] = len(b.fams.series[name])
	}
	om := filepath.Join(b.tmp, "series.om.txt")
	b.dataEnd = time.Now().Add(o.end).Truncate(time.Second)
	if b.samples, b.nseries, err = writeOpenMetrics(om, b.fams, b.dataEnd, o.span); err != nil {
		return err
	}
	st, _ := os.Stat(om)
	b.logf("wrote %d series, %d samples (%.0f MiB of OpenMetrics); backfilling", b.nseries, b.samples, float64(st.Size())/(1<<20))
	t := time.Now()
	if err := backfill(ctx, o.promtool, om, tsdb, filepath.Join(b.tmp, "promtool.log")); err != nil {
		return err
	}
	b.backfillTime = time.Since(t)
	_ = os.Remove(om)
	b.logf("backfilled in %s", b.backfillTime.Round(time.Millisecond))

	// 2. Prometheus on that TSDB: no rules, no scraping.
	promCfg := filepath.Join(b.tmp, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte("global: {}\n"), 0o644); err != nil {
		return err
	}
	promPort, err := freePort()
	if err != nil {
		return err
	}
	b.promURL = fmt.Sprintf("http://127.0.0.1:%d", promPort)
	if err := writeConfig(inprocCfg, specs, b.promURL, inprocRules, o.budgetRead); err != nil {
		return err
	}
	b.prom, err = start("prometheus", filepath.Join(b.tmp, "prometheus.log"), o.prometheus,
		"--config.file="+promCfg, "--storage.tsdb.path="+tsdb,
		"--web.listen-address="+strings.TrimPrefix(b.promURL, "http://"), "--storage.tsdb.retention.time=30d")
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, b.prom, b.promURL+"/-/ready", nil); err != nil {
		return err
	}
	if err := b.checkProm(ctx, "start"); err != nil {
		return err
	}
	b.logf("Prometheus (pid %d) is ready and answers every series at now", b.prom.pid())

	// 3. Budget reads in process, with nothing else of ours running: the
	// reader's own code and client, straight to Prometheus.
	if err := waitBuild(); err != nil {
		return err
	}
	if b.reads, err = timeReads(ctx, b.promURL, o.reads); err != nil {
		return fmt.Errorf("in-process reads: %w", err)
	}
	if b.reads.statuses != o.slos {
		return fmt.Errorf("in-process read: %d statuses, want %d", b.reads.statuses, o.slos)
	}
	b.logf("in-process budget reads: median %s, %.1f queries/read", b.reads.durations[len(b.reads.durations)/2].Round(time.Millisecond), b.reads.queriesPerRead)

	// 4. The daemon, reading Prometheus through the logging proxy.
	if b.proxy, err = newQueryProxy(b.promURL); err != nil {
		return err
	}
	if err := writeConfig(cfgFile, specs, b.proxy.url, rulesDir, o.budgetRead); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	b.daemon = fmt.Sprintf("http://127.0.0.1:%d", port)
	t = time.Now()
	b.slokeep, err = start("slokeeper", filepath.Join(b.tmp, "slokeeper.log"), bin, "serve",
		"--config.file", cfgFile, "--web.listen-address", strings.TrimPrefix(b.daemon, "http://"), "--log.level", "warn")
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, b.slokeep, b.daemon+"/-/ready", nil); err != nil {
		return err
	}
	if err := waitHTTP(ctx, b.slokeep, b.daemon+"/api/v1/slos?limit=10000", b.checkList); err != nil {
		return err
	}
	b.readyTime = time.Since(t)
	b.logf("slokeeper (pid %d) is ready with %d SLOs, each with its budget, error ratios and burn rates, after %s", b.slokeep.pid(), o.slos, b.readyTime.Round(time.Millisecond))
	if b.rssStart, b.hwmStart, err = procMem(b.slokeep.pid()); err != nil {
		return err
	}

	// 5. The API: service times, then the open-loop load on the filtered
	// list, long enough to cover one of the daemon's periodic reads.
	c := newClient(o.maxConns)
	defer c.CloseIdleConnections()
	full, svc := b.daemon+"/api/v1/slos?limit=10000", b.daemon+"/api/v1/slos?service=svc-0001"
	if b.seqSvc, err = sequential(ctx, c, svc, 50); err != nil {
		return err
	}
	if b.seqFull, err = sequential(ctx, c, full, 5); err != nil {
		return err
	}
	b.logf("one at a time: filtered p50 %s, unfiltered p50 %s (%d bytes)", b.seqSvc.pct(50), b.seqFull.pct(50), b.seqFull.bytes)
	pids := []int{b.prom.pid(), b.slokeep.pid()}
	c0 := readCPU(pids...)
	b.loadSvc = openLoop(ctx, c, svc, o.rate, o.duration, o.timeout)
	b.busySvc, b.otherSvc = cpuUse(c0, readCPU(pids...))
	b.logf("open loop on %s: p99 %s, %d errors", svc, b.loadSvc.pct(99), b.loadSvc.errors)
	b.loadPage = openLoop(ctx, c, b.daemon+"/api/v1/slos", o.rate, o.duration, o.timeout)
	b.logf("open loop on the default page: p99 %s, %d errors", b.loadPage.pct(99), b.loadPage.errors)

	// 6. RSS once the daemon has finished at least two reads.
	wctx, wcancel := context.WithTimeout(ctx, 2*o.budgetRead+30*time.Second)
	defer wcancel()
	for {
		if b.dq, err = scrapeDaemon(ctx, b.daemon); err != nil {
			return err
		}
		if b.dq.minCount() >= 2 {
			break
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("the daemon finished %v budget reads in %s", b.dq.minCount(), time.Since(t))
		case <-time.After(250 * time.Millisecond):
		}
	}
	if b.rssReady, b.hwmReady, err = procMem(b.slokeep.pid()); err != nil {
		return err
	}
	b.daemonReads = b.proxy.reads(max(time.Second, o.budgetRead/4))
	b.logf("daemon: %v budget reads done, VmRSS %d MiB, VmHWM %d MiB", b.dq.minCount(), b.rssReady>>20, b.hwmReady>>20)

	// The filtered list again, while the daemon reconciles (POST /-/reload,
	// as the periodic resync does every intervals.resync).
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		b.reload[0] = time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.daemon+"/-/reload", nil)
		resp, err := http.DefaultClient.Do(req)
		b.reload[1] = time.Now()
		if err != nil {
			b.reloadErr = err.Error()
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.reloadErr = resp.Status
		}
	}()
	b.loadReload = openLoop(ctx, c, svc, o.rate, 10*time.Second, o.timeout)
	<-reloaded
	b.logf("open loop during a reconcile of %s: p99 %s, %d errors", b.reload[1].Sub(b.reload[0]).Round(time.Millisecond), b.loadReload.pct(99), b.loadReload.errors)

	// 7. The unfiltered list: its capacity, then the open-loop load.
	if o.fullDuration > 0 {
		if b.capFull, err = closedLoop(ctx, c, full, runtime.NumCPU(), 5*time.Second); err != nil {
			return err
		}
		b.logf("unfiltered list, %d at a time: %.1f responses/s", runtime.NumCPU(), float64(b.capFull.ok)/b.capFull.wall.Seconds())
		c0 = readCPU(pids...)
		b.loadFull = openLoop(ctx, c, full, o.rate, o.fullDuration, o.timeout)
		b.busyFull, b.othFull = cpuUse(c0, readCPU(pids...))
		b.logf("open loop on %s: %d ok, %d errors", full, b.loadFull.ok, b.loadFull.errors)
		c.CloseIdleConnections()
	}
	if b.rssEnd, b.hwmEnd, err = procMem(b.slokeep.pid()); err != nil {
		return err
	}
	if err := b.checkProm(ctx, "end"); err != nil {
		// Not fatal: the figures are taken; the table says so.
		b.promCheck = append(b.promCheck, "**end: "+err.Error()+"**")
		b.logf("%v", err)
	}
	b.slokeep.stop()
	b.proxy.close()
	b.logf("slokeeper stopped")

	// 8. Where the list's time and the daemon's memory go, in process.
	if o.profileN > 0 {
		lc, err := profileList(ctx, inprocCfg, b.tmp, o.profileN, o.verbose)
		if err != nil {
			b.costErr = err.Error()
		} else {
			b.cost = &lc
		}
		b.logf("in-process list handler measured")
	}
	b.prom.stop()
	b.logf("Prometheus stopped")
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// checkProm asserts that an instant query at now sees every backfilled
// series (within the lookback delta).
func (b *bench) checkProm(ctx context.Context, when string) error {
	c, err := api.NewClient(api.Config{Address: b.promURL})
	if err != nil {
		return err
	}
	now := time.Now()
	names := strings.Join(b.fams.names, "|")
	v, _, _, err := v1.NewAPI(c).Query(ctx, `count by (__name__) ({__name__=~"`+names+`"})`, now)
	if err != nil {
		return err
	}
	got := map[string]int{}
	if vec, ok := v.(model.Vector); ok {
		for _, s := range vec {
			got[string(s.Metric[model.MetricNameLabel])] = int(s.Value)
		}
	}
	for _, name := range b.fams.names {
		if got[name] != b.expected[name] {
			return fmt.Errorf("instant query at %s (%s): %s has %d series, want %d (last sample at %s)", now.Format(time.RFC3339), when, name, got[name], b.expected[name], b.dataEnd.Format(time.RFC3339))
		}
	}
	b.promCheck = append(b.promCheck, fmt.Sprintf("at %s (%s, last sample %.0f s before)", when, now.UTC().Format("15:04:05"), now.Sub(b.dataEnd).Seconds()))
	return nil
}

// checkList accepts the list when it has every SLO, each with a budget and
// the error ratios and burn rates of every window the rules record.
func (b *bench) checkList(body []byte) error {
	var v struct {
		SLOs []struct {
			ID     string `json:"id"`
			Status *struct {
				BudgetRemaining *float64           `json:"budget_remaining"`
				ErrorRatio      map[string]float64 `json:"error_ratio"`
				BurnRate        map[string]float64 `json:"burn_rate"`
			} `json:"status"`
		} `json:"slos"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if len(v.SLOs) != b.o.slos {
		return fmt.Errorf("%d SLOs, want %d", len(v.SLOs), b.o.slos)
	}
	for _, s := range v.SLOs {
		st := s.Status
		if st == nil || st.BudgetRemaining == nil || len(st.ErrorRatio) != len(b.fams.ratioWindows) || len(st.BurnRate) != len(b.fams.burnWindows) {
			return fmt.Errorf("SLO %s has no complete status yet", s.ID)
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

func verdict(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func machine() (cpu, mem string) {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			var kb int64
			if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
				mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return cpu, mem
}

func promVersion(bin string) string {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[2]
	}
	return "?"
}

func latencyRow(r loadResult) string {
	if len(r.lat) == 0 {
		return "none"
	}
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", ms(r.pct(50)), ms(r.pct(90)), ms(r.pct(99)), ms(r.pct(100)))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func (b *bench) print(w io.Writer) {
	o := b.o
	cpu, mem := machine()
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("## slokeeper serve, %d SLOs, against Prometheus %s", o.slos, promVersion(o.prometheus))
	p("")
	p("| Machine | |")
	p("|---|---|")
	p("| CPUs (nproc) | %d |", runtime.NumCPU())
	p("| CPU model | %s |", cpu)
	p("| Memory | %s |", mem)
	p("| OS, Go | %s, %s |", kernel(), runtime.Version())
	p("| Date | %s |", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	p("| Load average at start (1, 5, 15 min) | %s |", b.loadStart)
	p("")
	p("Data: %d SLOs in %d spec files; the %d series the budget reader queries (%s), derived from the rules the daemon generates (%d series per SLO with groupBy), %d samples over %s at each rule group's evaluation interval, backfilled with promtool in %s. Instant queries at now return every series: %s.",
		o.slos, o.files, b.nseries, b.familyCounts(), o.groups, b.samples, o.span, b.backfillTime.Round(100*time.Millisecond), strings.Join(b.promCheck, "; "))
	p("")
	rd := b.reads.durations
	var wire []time.Duration
	var qs []string
	for _, r := range b.daemonReads {
		wire = append(wire, r.end.Sub(r.start))
		qs = append(qs, fmt.Sprint(r.queries))
	}
	ivs := make([][2]time.Time, 0, len(b.daemonReads))
	for _, r := range b.daemonReads {
		ivs = append(ivs, [2]time.Time{r.start, r.end.Add(time.Second)})
	}
	during, outside := b.loadSvc.split(ivs)
	p("| Measure | Target | Result | Meets |")
	p("|---|---|---|---|")
	p("| Budget read: queries (in process, budget.Reader, HTTP requests counted) | <= 10 | %.1f per read | %s |", b.reads.queriesPerRead, verdict(b.reads.queriesPerRead <= 10))
	p("| Budget read: duration (in process, %d reads of %d statuses, nothing else running of ours) | <= 2 s | median %s, min %s, max %s | %s |", b.reads.reads, b.reads.statuses, ms(median(rd)), ms(rd[0]), ms(rd[len(rd)-1]), verdict(rd[len(rd)-1] <= 2*time.Second))
	if len(wire) > 0 {
		p("| Daemon's reads (proxy log: queries per read; first query sent to last answer received) | <= 10, <= 2 s | %d reads; queries %s; median %s, max %s | %s |", len(wire), strings.Join(qs, ", "), ms(median(wire)), ms(slices.Max(wire)), verdict(slices.Max(wire) <= 2*time.Second))
	}
	p("| Daemon's reads (its /metrics: mean Query() duration of the slowest kind, decoding included) | | %.0f reads, %.1f queries per read, %.0f errors, %s | |", b.dq.reads, b.dq.perRead(), b.dq.errors, ms(b.dq.maxMean()))
	if b.dq.reconciles > 0 {
		p("| Daemon start to ready with every status / reconcile (its /metrics) | | %s / %s | |", b.readyTime.Round(100*time.Millisecond), ms(time.Duration(b.dq.reconcileSeconds/b.dq.reconciles*float64(time.Second))))
	}
	p("| Daemon RSS when ready: one reconcile, one read (VmRSS / VmHWM) | <= 200 MiB | %s / %s | %s |", mib(b.rssStart), mib(b.hwmStart), verdict(b.hwmStart <= 200<<20))
	p("| Daemon RSS after %.0f reads and the filtered load (VmRSS / VmHWM) | <= 200 MiB | %s / %s | %s |", b.dq.minCount(), mib(b.rssReady), mib(b.hwmReady), verdict(b.hwmReady <= 200<<20))
	p("| GET /api/v1/slos?service=svc-0001 (10 SLOs, %d bytes), one at a time | | p50 %s, p99 %s | |", b.seqSvc.bytes, ms(b.seqSvc.pct(50)), ms(b.seqSvc.pct(99)))
	ls := b.loadSvc
	p("| GET /api/v1/slos?service=svc-0001 at %d/s for %s, open loop | p99 <= 20 ms | %s; %d sent, %d errors | %s |", ls.rate, o.duration, latencyRow(ls), ls.sent, ls.errors, verdict(ls.errors == 0 && ls.pct(99) <= 20*time.Millisecond))
	p("| … of which %d overlapped a daemon budget read (+1 s) | | %s | |", len(during.lat), latencyRow(during))
	p("| … and %d did not | | %s | |", len(outside.lat), latencyRow(outside))
	if b.reloadErr != "" {
		p("| GET /api/v1/slos?service=svc-0001 at %d/s during a reconcile | | reload failed: %s | |", o.rate, b.reloadErr)
	} else {
		lr := b.loadReload
		inRec, _ := lr.split([][2]time.Time{b.reload})
		p("| GET /api/v1/slos?service=svc-0001 at %d/s for 10 s with a reconcile (POST /-/reload, %s) | | all: %s; %d errors; the %d during the reconcile: %s | |", lr.rate, ms(b.reload[1].Sub(b.reload[0])), latencyRow(lr), lr.errors, len(inRec.lat), latencyRow(inRec))
	}
	lp := b.loadPage
	p("| GET /api/v1/slos (default page: the first 500 of %d) at %d/s for %s, open loop | p99 <= 20 ms | %s; %d sent, %d errors | %s |", o.slos, lp.rate, o.duration, latencyRow(lp), lp.sent, lp.errors, verdict(lp.errors == 0 && lp.pct(99) <= 20*time.Millisecond))
	p("| GET /api/v1/slos?limit=10000 (all %d, %.1f MiB), one at a time | | p50 %s, max %s | |", o.slos, float64(b.seqFull.bytes)/(1<<20), ms(b.seqFull.pct(50)), ms(b.seqFull.pct(100)))
	if o.fullDuration > 0 {
		cf, lf := b.capFull, b.loadFull
		p("| GET /api/v1/slos?limit=10000 (all), %d at a time for 5 s (capacity) | | %.1f responses/s; %s | |", runtime.NumCPU(), float64(cf.ok)/cf.wall.Seconds(), latencyRow(cf))
		p("| GET /api/v1/slos?limit=10000 (all) at %d/s for %s, open loop | | %d sent, %d done in time (%s), %d errors (%s) | %s |", lf.rate, o.fullDuration, lf.sent, lf.ok, latencyRow(lf), lf.errors, lf.errSample, verdict(lf.errors == 0 && lf.pct(99) <= 20*time.Millisecond))
	}
	p("| Daemon RSS after the unfiltered load (VmRSS / VmHWM) | | %s / %s | |", mib(b.rssEnd), mib(b.hwmEnd))
	p("| Machine CPU busy during the filtered / unfiltered load (of it, other processes than ours) | | %.0f%% (%.0f%%) / %.0f%% (%.0f%%) | |", b.busySvc, b.otherSvc, b.busyFull, b.othFull)
	p("")
	p("Load generator: open loop in this process, at most %d connections, latency from each request's scheduled send time to the end of its body (so queueing counts); a request not done %s after its scheduled time is an error. The daemon (budget_read %s) reads Prometheus through a logging proxy in this process.", o.maxConns, o.timeout, o.budgetRead)
	if c := b.cost; c != nil {
		p("")
		p("In process, the daemon's own code on the same data (daemon.New, one reconcile, one budget read, its HTTP handler).")
		over := func(v uint64) string { return mib(int64(v - min(v, c.heapBase))) }
		p("")
		p("Heaps are the daemon's: the Go heap of this process over what it held before daemon.New.")
		p("")
		p("| Measure | Result |")
		p("|---|---|")
		p("| Reconcile: duration, allocated, highest heap during it | %s, %s, %s |", ms(c.reconcileTime), mib(int64(c.reconcileAlloc)), over(c.reconcilePeak))
		p("| Go heap live after the reconcile (SLOs, generated rules) | %s |", over(c.heapReconciled))
		p("| Budget read: duration, allocated, highest heap during it | %s, %s, %s |", ms(c.readTime), mib(int64(c.readAlloc)), over(c.readPeak))
		p("| Go heap live added by the budget snapshot | %s |", mib(int64(c.heapRead-min(c.heapReconciled, c.heapRead))))
		p("| GET /api/v1/slos handler, per request | %s, %d allocations, %s allocated, %.1f MiB written |", ms(c.handler), c.allocsPerReq, mib(int64(c.bytesPerReq)), float64(c.sizeIndent)/(1<<20))
		p("| JSON of the same value as the handler writes it (json.Encoder, SetIndent) | %s |", ms(c.encodeIndent))
		p("| JSON of the same value, compact (json.Marshal) | %s, %.1f MiB |", ms(c.encodeCompact), float64(c.sizeCompact)/(1<<20))
		if o.verbose && c.profileTop != "" {
			p("")
			p("CPU profile of the handler (`go tool pprof -top -cum`):")
			p("")
			p("```")
			fmt.Fprint(w, c.profileTop)
			p("```")
		}
		if o.verbose && c.reconcileAllocTop != "" {
			p("")
			p("Memory allocated by the reconcile, the daemon's functions (`go tool pprof -sample_index=alloc_space -top -cum`):")
			p("")
			p("```")
			fmt.Fprint(w, c.reconcileAllocTop)
			p("```")
			p("")
			p("Memory held after the reconcile (`-sample_index=inuse_space`):")
			p("")
			p("```")
			fmt.Fprint(w, c.reconcileInuseTop)
			p("```")
		}
	} else if b.costErr != "" {
		p("")
		p("The in-process measurement failed: %s", b.costErr)
	}
}

func (b *bench) familyCounts() string {
	var parts []string
	for _, name := range b.fams.names {
		parts = append(parts, fmt.Sprintf("%s %d", name, b.expected[name]))
	}
	return strings.Join(parts, ", ")
}

func kernel() string {
	v, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "linux"
	}
	return "Linux " + strings.TrimSpace(string(v))
}
