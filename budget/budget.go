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
	"math"
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
	out := map[string]*Status{}
	get := func(m model.Metric) *Status {
		svc, name := string(m[rules.LabelService]), string(m[rules.LabelSLO])
		if svc == "" || name == "" {
			return nil
		}
		id := ID(svc, name)
		s := out[id]
		if s == nil {
			s = &Status{Service: svc, SLO: name}
			out[id] = s
		}
		return s
	}
	for _, kind := range []string{QueryBudget, QueryErrorRatio, QueryBurnRate, QueryAlerts} {
		v, ok := res[kind]
		if !ok || v == nil {
			continue
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("query %s: got a %s, want a vector", kind, v.Type())
		}
		for _, smp := range vec {
			f := float64(smp.Value)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			s := get(smp.Metric)
			if s == nil {
				continue
			}
			switch kind {
			case QueryBudget:
				if s.BudgetRemaining == nil || f < *s.BudgetRemaining {
					s.BudgetRemaining = &f
				}
			case QueryErrorRatio, QueryBurnRate:
				w := string(smp.Metric[rules.LabelWindow])
				if w == "" {
					continue
				}
				m := &s.ErrorRatio
				if kind == QueryBurnRate {
					m = &s.BurnRate
				}
				if *m == nil {
					*m = map[string]float64{}
				}
				if old, ok := (*m)[w]; !ok || f > old {
					(*m)[w] = f
				}
			case QueryAlerts:
				a := Alert{
					Name:     string(smp.Metric[model.AlertNameLabel]),
					Severity: string(smp.Metric[rules.LabelSeverity]),
					Tier:     string(smp.Metric[rules.LabelTier]),
					Labels:   map[string]string{},
				}
				for k, v := range smp.Metric {
					if k == model.MetricNameLabel || k == "alertstate" {
						continue
					}
					a.Labels[string(k)] = string(v)
				}
				s.Alerts = append(s.Alerts, a)
			}
		}
	}
	for _, s := range out {
		sort.Slice(s.Alerts, func(i, j int) bool {
			a, b := s.Alerts[i], s.Alerts[j]
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return labelString(a.Labels) < labelString(b.Labels)
		})
	}
	return out, nil
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
	res, warnings, err := r.query(ctx, start)
	var statuses map[string]*Status
	if err == nil {
		statuses, err = Parse(res)
		span.SetAttributes(attribute.Int("slokeeper.statuses", len(statuses)))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap.LastAttempt = start
	if err != nil {
		r.snap.LastError = err.Error()
		return err
	}
	r.snap = Snapshot{Statuses: statuses, ReadAt: start, LastAttempt: start, Warnings: warnings}
	r.lastSuccess.Set(float64(start.UnixNano()) / 1e9)
	return nil
}

// query runs the queries concurrently, all at the same evaluation time.
func (r *Reader) query(ctx context.Context, ts time.Time) (Results, []string, error) {
	qs := Queries()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		res      = Results{}
		warnings []string
		errs     []error
	)
	for kind, q := range qs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qctx, span := r.opts.Tracer.Start(ctx, "budget.query", trace.WithAttributes(
				attribute.String("slokeeper.query", kind), attribute.String("db.query.text", q)))
			t0 := time.Now()
			v, w, _, err := r.q.Query(qctx, q, ts)
			r.queryDuration.WithLabelValues(kind).Observe(time.Since(t0).Seconds())
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, "query failed")
			} else if vec, ok := v.(model.Vector); ok {
				span.SetAttributes(attribute.Int("slokeeper.series", len(vec)))
			}
			span.End()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.queryErrors.WithLabelValues(kind).Inc()
				errs = append(errs, fmt.Errorf("query %s (%s): %w", kind, q, err))
				return
			}
			res[kind] = v
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
	return res, warnings, nil
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
