// Package budget reads every SLO's status (error budget remaining, error
// ratio and burn rate per window, firing alerts) back from Prometheus, with
// a fixed handful of instant queries on the recorded series, never one query
// per SLO. The last good read is kept in memory with its time; when
// Prometheus is down or errors, the values are kept and marked stale with
// their age, and reads are retried with exponential backoff.
package budget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/slokeeper/slokeeper/rules"
)

// Querier is the part of the Prometheus API client the reader uses;
// v1.API satisfies it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Query kinds, one instant query each.
const (
	QueryBudget     = "budget"
	QueryErrorRatio = "error_ratio"
	QueryBurnRate   = "burn_rate"
	QueryAlerts     = "alerts"
)

// Queries are the instant queries of one read, by kind. They read only the
// recorded series, whatever the number of SLOs.
func Queries() map[string]string {
	return map[string]string{
		QueryBudget:     rules.MetricBudgetRemaining,
		QueryErrorRatio: rules.MetricErrorRatio,
		QueryBurnRate:   rules.MetricBurnRate,
		QueryAlerts:     fmt.Sprintf(`ALERTS{alertstate="firing",%s!=""}`, rules.LabelSLO),
	}
}

// ID names an SLO as service/name, as slo.SLO.ID does.
func ID(service, name string) string { return service + "/" + name }

// Status is what Prometheus says of one SLO. With groupBy, an SLO has one
// series per group: the budget is the lowest of the groups, error ratios
// and burn rates the highest, so a status shows the worst group.
type Status struct {
	Service string `json:"service"`
	SLO     string `json:"slo"`
	// BudgetRemaining is nil before the period's series exists.
	BudgetRemaining *float64 `json:"budget_remaining,omitempty"`
	// ErrorRatio and BurnRate are keyed by window ("5m", "1h", "period").
	ErrorRatio map[string]float64 `json:"error_ratio,omitempty"`
	BurnRate   map[string]float64 `json:"burn_rate,omitempty"`
	Alerts     []Alert            `json:"alerts,omitempty"`
}

// Alert is one firing alert of an SLO.
type Alert struct {
	Name     string            `json:"name"`
	Severity string            `json:"severity,omitempty"`
	Tier     string            `json:"tier,omitempty"`
	Labels   map[string]string `json:"labels"`
}

// Results are the values of one read, by query kind.
type Results map[string]model.Value

// Parse turns the results of one read into statuses keyed by ID. It is pure.
// Series without the SLO and service labels, and NaN or infinite values,
// are skipped.
func Parse(res Results) (map[string]*Status, error) {
	f := newFolder()
	for _, kind := range []string{QueryBudget, QueryErrorRatio, QueryBurnRate, QueryAlerts} {
		v, ok := res[kind]
		if !ok || v == nil {
			continue
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("query %s: got a %s, want a vector", kind, v.Type())
		}
		eachSample(vec, func(s Sample) { f.add(kind, s) })
	}
	return f.statuses(), nil
}

// folder folds samples into statuses as they come, so a read never holds
// the query answers whole. It keeps no sample's map (the decoder reuses
// them), and one string per window name.
type folder struct {
	out     map[string]*Status
	windows map[string]string
}

func newFolder() *folder {
	return &folder{out: map[string]*Status{}, windows: map[string]string{}}
}

func (f *folder) status(svc, name string) *Status {
	if svc == "" || name == "" {
		return nil
	}
	id := ID(svc, name)
	s := f.out[id]
	if s == nil {
		s = &Status{Service: svc, SLO: name}
		f.out[id] = s
	}
	return s
}

func (f *folder) window(w string) string {
	if k, ok := f.windows[w]; ok {
		return k
	}
	k := strings.Clone(w)
	f.windows[k] = k
	return k
}

// add folds one sample of a query kind.
func (f *folder) add(kind string, smp Sample) {
	v := smp.Value
	if !finite(v) {
		return
	}
	s := f.status(smp.Metric[rules.LabelService], smp.Metric[rules.LabelSLO])
	if s == nil {
		return
	}
	switch kind {
	case QueryBudget:
		if s.BudgetRemaining == nil || v < *s.BudgetRemaining {
			s.BudgetRemaining = &v
		}
	case QueryErrorRatio, QueryBurnRate:
		w := smp.Metric[rules.LabelWindow]
		if w == "" {
			return
		}
		m := &s.ErrorRatio
		if kind == QueryBurnRate {
			m = &s.BurnRate
		}
		if *m == nil {
			*m = map[string]float64{}
		}
		if old, ok := (*m)[w]; !ok || v > old {
			(*m)[f.window(w)] = v
		}
	case QueryAlerts:
		a := Alert{
			Name:     smp.Metric[model.AlertNameLabel],
			Severity: smp.Metric[rules.LabelSeverity],
			Tier:     smp.Metric[rules.LabelTier],
			Labels:   make(map[string]string, len(smp.Metric)),
		}
		for k, lv := range smp.Metric {
			if k == model.MetricNameLabel || k == "alertstate" {
				continue
			}
			a.Labels[k] = lv
		}
		s.Alerts = append(s.Alerts, a)
	}
}

// statuses are the folded statuses, each one's alerts sorted.
func (f *folder) statuses() map[string]*Status {
	for _, s := range f.out {
		sort.Slice(s.Alerts, func(i, j int) bool {
			a, b := s.Alerts[i], s.Alerts[j]
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return labelString(a.Labels) < labelString(b.Labels)
		})
	}
	return f.out
}

func labelString(m map[string]string) string {
	return model.LabelSet(toLabelSet(m)).String()
}

func toLabelSet(m map[string]string) model.LabelSet {
	ls := make(model.LabelSet, len(m))
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// Snapshot is the reader's state: the last good statuses and how old they are.
type Snapshot struct {
	// Statuses of the last good read, by ID; nil before the first one.
	Statuses map[string]*Status
	// ReadAt is the time of the last good read (zero before the first).
	ReadAt time.Time
	// LastAttempt is the time of the last read, good or not.
	LastAttempt time.Time
	// LastError is the error of the last read ("" when it succeeded).
	LastError string
	// Warnings are Prometheus's warnings of the last good read.
	Warnings []string
}

// Stale says whether the snapshot cannot be trusted at now: no good read
// yet, the last read failed, or the last good one is older than maxAge.
func (s Snapshot) Stale(now time.Time, maxAge time.Duration) bool {
	return s.ReadAt.IsZero() || s.LastError != "" || now.Sub(s.ReadAt) > maxAge
}

// Age is the time since the last good read (0 before the first one).
func (s Snapshot) Age(now time.Time) time.Duration {
	if s.ReadAt.IsZero() {
		return 0
	}
	return now.Sub(s.ReadAt)
}

// Options tune a Reader.
type Options struct {
	// Interval between reads (default 30s).
	Interval time.Duration
	// Timeout of one read (default: Interval, at most 30s).
	Timeout time.Duration
	// MaxBackoff caps the retry delay after failures (default 5m; never
	// below Interval).
	MaxBackoff time.Duration
	Logger     *slog.Logger
	// Registerer receives the reader's metrics (nil: none).
	Registerer prometheus.Registerer
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Tracer receives a span per read ("budget.read") with a child per
	// query ("budget.query"); default: the global provider's.
	Tracer trace.Tracer
	// OnRead, when set, is called after every read, good or not, once the
	// snapshot is updated (the daemon rebuilds what it serves from it).
	OnRead func()
}

// TracerName is the instrumentation scope of the reader's spans.
const TracerName = "github.com/slokeeper/slokeeper/budget"

// Reader reads statuses periodically; it is safe for concurrent use.
type Reader struct {
	q    Querier
	opts Options

	mu   sync.RWMutex
	snap Snapshot

	queryDuration *prometheus.HistogramVec
	queryErrors   *prometheus.CounterVec
	lastSuccess   prometheus.Gauge
}

// NewReader returns a reader querying q.
func NewReader(q Querier, opts Options) *Reader {
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = min(opts.Interval, 30*time.Second)
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.Interval)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tracer == nil {
		opts.Tracer = otel.Tracer(TracerName)
	}
	r := &Reader{
		q:    q,
		opts: opts,
		queryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "slokeeper_prometheus_query_duration_seconds",
			Help:    "Duration of the budget read queries to Prometheus, by query.",
			Buckets: prometheus.DefBuckets,
		}, []string{"query"}),
		queryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slokeeper_prometheus_query_errors_total",
			Help: "Budget read queries to Prometheus that failed, by query.",
		}, []string{"query"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "slokeeper_budget_read_last_success_timestamp_seconds",
			Help: "Unix time of the last good budget read (0 before the first).",
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.queryDuration, r.queryErrors, r.lastSuccess)
		opts.Registerer.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "slokeeper_budget_read_age_seconds",
			Help: "Age of the last good budget read (-1 before the first).",
		}, func() float64 {
			s := r.Snapshot()
			if s.ReadAt.IsZero() {
				return -1
			}
			return s.Age(r.opts.Now()).Seconds()
		}))
	}
	for kind := range Queries() {
		r.queryDuration.WithLabelValues(kind)
		r.queryErrors.WithLabelValues(kind)
	}
	return r
}

// Snapshot returns the current state. Its maps must not be modified.
func (r *Reader) Snapshot() Snapshot {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.snap
}

// Interval is the read interval.
func (r *Reader) Interval() time.Duration { return r.opts.Interval }

// Read runs the queries once and updates the snapshot. On error the last
// good statuses are kept and the error is recorded.
func (r *Reader) Read(ctx context.Context) (err error) {
	ctx, span := r.opts.Tracer.Start(ctx, "budget.read")
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "budget read failed")
		}
		span.End()
	}()
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	start := r.opts.Now()
	statuses, warnings, err := r.query(ctx, start)
	if err == nil {
		span.SetAttributes(attribute.Int("slokeeper.statuses", len(statuses)))
	}
	r.update(start, statuses, warnings, err)
	if r.opts.OnRead != nil {
		r.opts.OnRead()
	}
	return err
}

func (r *Reader) update(start time.Time, statuses map[string]*Status, warnings []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap.LastAttempt = start
	if err != nil {
		r.snap.LastError = err.Error()
		return
	}
	r.snap = Snapshot{Statuses: statuses, ReadAt: start, LastAttempt: start, Warnings: warnings}
	r.lastSuccess.Set(float64(start.UnixNano()) / 1e9)
}

// query runs the queries concurrently, all at the same evaluation time,
// folding their samples into statuses as they are decoded.
func (r *Reader) query(ctx context.Context, ts time.Time) (map[string]*Status, []string, error) {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		fold     = newFolder()
		warnings []string
		errs     []error
	)
	for kind, q := range Queries() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qctx, span := r.opts.Tracer.Start(ctx, "budget.query", trace.WithAttributes(
				attribute.String("slokeeper.query", kind), attribute.String("db.query.text", q)))
			t0 := time.Now()
			n := 0
			w, err := streamVector(qctx, r.q, q, ts, func(s Sample) {
				n++
				mu.Lock()
				fold.add(kind, s)
				mu.Unlock()
			})
			r.queryDuration.WithLabelValues(kind).Observe(time.Since(t0).Seconds())
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, "query failed")
			} else {
				span.SetAttributes(attribute.Int("slokeeper.series", n))
			}
			span.End()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.queryErrors.WithLabelValues(kind).Inc()
				errs = append(errs, fmt.Errorf("query %s (%s): %w", kind, q, err))
				return
			}
			for _, s := range w {
				warnings = append(warnings, kind+": "+s)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
		return nil, nil, errors.Join(errs...)
	}
	sort.Strings(warnings)
	return fold.statuses(), warnings, nil
}

// Run reads every Interval until ctx ends. After a failure it retries with
// exponential backoff (Interval/4 doubling up to MaxBackoff, at least 100ms).
func (r *Reader) Run(ctx context.Context) {
	failures := 0
	for {
		err := r.Read(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := r.opts.Interval
		if err != nil {
			failures++
			wait = Backoff(r.opts.Interval, r.opts.MaxBackoff, failures)
			r.opts.Logger.Warn("budget read failed; keeping the last values", "err", oneLine(err), "failures", failures, "retry_in", wait)
		} else {
			if failures > 0 {
				r.opts.Logger.Info("budget read recovered", "after_failures", failures)
			}
			failures = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Backoff is the delay before retry number n (1-based) after failures:
// interval/4 doubled n-1 times, between 100ms and maxBackoff.
func Backoff(interval, maxBackoff time.Duration, n int) time.Duration {
	d := max(interval/4, 100*time.Millisecond)
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
