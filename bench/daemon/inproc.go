package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/daemon"
)

// countingTransport counts the requests to the query API.
type countingTransport struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/") {
		t.n.Add(1)
	}
	return t.rt.RoundTrip(r)
}

// readResult is the in-process budget reads.
type readResult struct {
	reads          int
	durations      []time.Duration // sorted
	queriesPerRead float64
	statuses       int
}

// timeReads runs budget.Reader.Read n times against the Prometheus at url,
// as the daemon's reader does (the same code, client and queries), and
// counts the HTTP requests each read makes. One read first warms up.
func timeReads(ctx context.Context, url string, n int) (readResult, error) {
	ct := &countingTransport{rt: http.DefaultTransport}
	c, err := api.NewClient(api.Config{Address: url, RoundTripper: ct})
	if err != nil {
		return readResult{}, err
	}
	// The daemon's querier: answers streamed, not decoded whole.
	q, err := budget.NewHTTPQuerier(url, ct, v1.NewAPI(c))
	if err != nil {
		return readResult{}, err
	}
	r := budget.NewReader(q, budget.Options{Timeout: 30 * time.Second})
	if err := r.Read(ctx); err != nil {
		return readResult{}, fmt.Errorf("warm-up read: %w", err)
	}
	ct.n.Store(0)
	var res readResult
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if err := r.Read(ctx); err != nil {
			return res, err
		}
		res.durations = append(res.durations, time.Since(t0))
		res.reads++
	}
	slices.Sort(res.durations)
	res.queriesPerRead = float64(ct.n.Load()) / float64(n)
	res.statuses = len(r.Snapshot().Statuses)
	return res, nil
}

// daemonQueries is what the daemon's /metrics says of its budget reads.
type daemonQueries struct {
	count  map[string]float64 // queries by kind
	sum    map[string]float64 // seconds by kind
	errors float64
	reads  float64 // the budget query runs once per read

	reconciles, reconcileSeconds float64
}

// minCount is the number of reads whose every query is done.
func (q daemonQueries) minCount() float64 {
	if len(q.count) == 0 {
		return 0
	}
	m := -1.0
	for _, c := range q.count {
		if m < 0 || c < m {
			m = c
		}
	}
	return m
}

func (q daemonQueries) perRead() float64 {
	if q.reads == 0 {
		return 0
	}
	var n float64
	for _, c := range q.count {
		n += c
	}
	return n / q.reads
}

// maxMean is the slowest kind's mean duration: a read runs its queries
// concurrently, so this is about the mean wall time of the query phase.
func (q daemonQueries) maxMean() time.Duration {
	var m float64
	for k, c := range q.count {
		if c > 0 {
			m = max(m, q.sum[k]/c)
		}
	}
	return time.Duration(m * float64(time.Second))
}

// scrapeDaemon reads the budget query metrics from the daemon's /metrics.
func scrapeDaemon(ctx context.Context, base string) (daemonQueries, error) {
	q := daemonQueries{count: map[string]float64{}, sum: map[string]float64{}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return q, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if name, val, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(name, "#") {
			v, _ := strconv.ParseFloat(val, 64)
			switch name {
			case "slokeeper_reconcile_duration_seconds_count":
				q.reconciles = v
			case "slokeeper_reconcile_duration_seconds_sum":
				q.reconcileSeconds = v
			}
		}
		name, rest, ok := strings.Cut(line, "{")
		if !ok {
			continue
		}
		labels, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		kind := strings.TrimSuffix(strings.TrimPrefix(labels, `query="`), `"`)
		switch name {
		case "slokeeper_prometheus_query_duration_seconds_count":
			q.count[kind] = v
		case "slokeeper_prometheus_query_duration_seconds_sum":
			q.sum[kind] = v
		case "slokeeper_prometheus_query_errors_total":
			q.errors += v
		}
	}
	q.reads = q.count[budget.QueryBudget]
	return q, sc.Err()
}

// listCost is where the time of GET /api/v1/slos goes, measured in process
// on the daemon's own handler.
type listCost struct {
	handler       time.Duration // whole handler, per request
	encodeIndent  time.Duration // json.Encoder with SetIndent, as the handler does
	encodeCompact time.Duration // json.Marshal of the same value
	sizeIndent    int
	sizeCompact   int
	allocsPerReq  uint64
	bytesPerReq   uint64
	profileTop    string
	// With verbose: the daemon's functions by memory allocated during the
	// reconcile, and by memory still held after it.
	reconcileAllocTop, reconcileInuseTop string

	// Go heap live after a GC: before the daemon, after its reconcile,
	// after its first budget read.
	heapBase, heapReconciled, heapRead uint64
	// Allocated by, and highest heap (objects, live or not yet swept)
	// during, one reconcile and one budget read.
	reconcileAlloc, reconcilePeak, readAlloc, readPeak uint64
	reconcileTime, readTime                            time.Duration
}

// heapAfterGC is the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// watchHeap runs f and returns the bytes it allocated and the highest heap
// seen while it ran (sampled every 2ms through runtime/metrics, which does
// not stop the world).
func watchHeap(f func() error) (alloc, peak uint64, d time.Duration, err error) {
	ss := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(ss)
	alloc0 := ss[1].Value.Uint64()
	peak = ss[0].Value.Uint64()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				metrics.Read(s)
				peak = max(peak, s[0].Value.Uint64())
			}
		}
	}()
	t0 := time.Now()
	err = f()
	d = time.Since(t0)
	close(stop)
	<-done
	metrics.Read(ss)
	return ss[1].Value.Uint64() - alloc0, max(peak, ss[0].Value.Uint64()), d, err
}

// discard is a ResponseWriter that drops the body.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// profileList runs the daemon in process (daemon.New on the same
// configuration, one reconcile, one budget read from the same Prometheus)
// and measures its handler of GET /api/v1/slos: the whole handler, then
// JSON encoding alone of an equal value, indented and compact; a CPU
// profile of the handler is summarised with `go tool pprof -top`.
func profileList(ctx context.Context, cfgFile, tmp string, n int, verbose bool) (listCost, error) {
	var lc listCost
	cfg, err := config.Load(cfgFile)
	if err != nil {
		return lc, err
	}
	heap0, heap1 := filepath.Join(tmp, "heap0.pprof"), filepath.Join(tmp, "heap1.pprof")
	lc.heapBase = heapAfterGC()
	if verbose {
		if err := writeHeapProfile(heap0); err != nil {
			return lc, err
		}
	}
	d, err := daemon.New(cfg, daemon.Options{})
	if err != nil {
		return lc, err
	}
	lc.reconcileAlloc, lc.reconcilePeak, lc.reconcileTime, err = watchHeap(func() error { return d.Reconcile(ctx) })
	if err != nil {
		return lc, fmt.Errorf("in-process reconcile: %w", err)
	}
	lc.heapReconciled = heapAfterGC()
	if verbose {
		if err := writeHeapProfile(heap1); err != nil {
			return lc, err
		}
		lc.reconcileAllocTop = ownFunctions(goPprof(ctx, "-sample_index=alloc_space", "-top", "-cum", "-nodecount=60", "-base", heap0, heap1))
		lc.reconcileInuseTop = ownFunctions(goPprof(ctx, "-sample_index=inuse_space", "-top", "-cum", "-nodecount=60", "-base", heap0, heap1))
	}
	lc.readAlloc, lc.readPeak, lc.readTime, err = watchHeap(func() error { return d.Reader().Read(ctx) })
	if err != nil {
		return lc, fmt.Errorf("in-process budget read: %w", err)
	}
	lc.heapRead = heapAfterGC()
	h := d.Handler()
	serve := func() int {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/slos?limit=10000", nil))
		return w.n
	}
	serve() // warm-up
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		lc.sizeIndent = serve()
	}
	lc.handler = time.Since(t0) / time.Duration(n)
	runtime.ReadMemStats(&ms1)
	lc.allocsPerReq = (ms1.Mallocs - ms0.Mallocs) / uint64(n)
	lc.bytesPerReq = (ms1.TotalAlloc - ms0.TotalAlloc) / uint64(n)

	// The same value, decoded from a response, encoded as the handler does
	// (indented) and compact.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/slos?limit=10000", nil))
	body := rec.Body.Bytes()
	var v struct {
		SLOs      []daemon.SLOSummary `json:"slos"`
		Freshness daemon.Freshness    `json:"freshness"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return lc, err
	}
	var buf bytes.Buffer
	t0 = time.Now()
	for i := 0; i < n; i++ {
		buf.Reset()
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"slos": v.SLOs, "freshness": v.Freshness}); err != nil {
			return lc, err
		}
	}
	lc.encodeIndent = time.Since(t0) / time.Duration(n)
	t0 = time.Now()
	for i := 0; i < n; i++ {
		b, err := json.Marshal(map[string]any{"slos": v.SLOs, "freshness": v.Freshness})
		if err != nil {
			return lc, err
		}
		lc.sizeCompact = len(b)
	}
	lc.encodeCompact = time.Since(t0) / time.Duration(n)

	if !verbose {
		return lc, nil
	}
	// CPU profile of the handler alone.
	pf := filepath.Join(tmp, "list.pprof")
	f, err := os.Create(pf)
	if err != nil {
		return lc, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return lc, err
	}
	for i := 0; i < 2*n; i++ {
		serve()
	}
	pprof.StopCPUProfile()
	f.Close()
	lc.profileTop = summarizeTop(goPprof(ctx, "-top", "-cum", "-nodecount=25", pf))
	return lc, nil
}

func writeHeapProfile(file string) error {
	runtime.GC()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// goPprof runs `go tool pprof` and returns its output (or the error).
func goPprof(ctx context.Context, args ...string) string {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, "go", append([]string{"tool", "pprof"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("go tool pprof: %v: %s", err, out)
	}
	return string(out)
}

// ownFunctions keeps the table header and the rows of this module's
// functions (not the benchmark's) from `pprof -top` output.
func ownFunctions(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "flat%") || strings.HasPrefix(l, "go tool pprof") ||
			(strings.Contains(l, "github.com/slokeeper/slokeeper/") && !strings.Contains(l, "slokeeper/bench/")) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// summarizeTop keeps the header and table of `pprof -top` output.
func summarizeTop(s string) string {
	var b strings.Builder
	keep := false
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "flat%") {
			keep = true
		}
		if keep || strings.HasPrefix(l, "Showing") || strings.HasPrefix(l, "Duration") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
