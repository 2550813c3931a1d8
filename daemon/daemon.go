// Package daemon is `slokeeper serve`: a level-triggered reconcile loop
// (load specs, keep the last good version of broken files, generate, deliver
// the rules, reload Prometheus when something changed), the periodic budget
// reads, and the HTTP API.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	commoncfg "github.com/prometheus/common/config"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/dashboards/grafana"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
)

// Options tune a Daemon.
type Options struct {
	Logger *slog.Logger
	// Registry receives the daemon's metrics and is served on /metrics
	// (default: a new registry).
	Registry *prometheus.Registry
	// Debounce is how long spec changes settle before a reconcile (default 1s).
	Debounce time.Duration
	// Querier overrides the Prometheus client (tests).
	Querier budget.Querier
	// GrafanaHTTP overrides the HTTP client of the Grafana pushes (tests).
	GrafanaHTTP *http.Client
	// TracerProvider receives the spans of reconciles and budget reads
	// (default: the global one, see SetupTracing).
	TracerProvider trace.TracerProvider
	// RuleSink, when set, receives the rules instead of the configured
	// delivery mode (the embedded engine).
	RuleSink RuleSink
	// OnReconcile, when set, is called after every reconcile (the
	// enforcer re-evaluates: services or policies may have changed).
	OnReconcile func()
}

// Daemon is the long-running service. Create it with New, start it with Run.
type Daemon struct {
	cfg    *config.Config
	log    *slog.Logger
	reg    *prometheus.Registry
	reader *budget.Reader
	tracer trace.Tracer
	httpc  *http.Client // reload requests
	mimir  *mimirRuler  // mimir mode
	opts   Options

	grafanaMu    sync.Mutex
	grafana      *grafana.Client // nil until the first push
	grafanaToken grafana.Token   // the token grafana was made with

	trigger chan chan error

	mu        sync.RWMutex
	state     state
	lastGood  map[string][]slo.SLO     // file -> SLOs of its last valid version
	reloadDue bool                     // a reload failed: retry even without change
	listBuild sync.Mutex               // serializes refreshList
	list      atomic.Pointer[listView] // GET /api/v1/slos's prebuilt data

	m metrics
}

// state is what the API serves, replaced as a whole by each reconcile.
type state struct {
	slos         []slo.SLO
	byID         map[string]*slo.SLO
	gen          uint64 // incremented by each reconcile that changes the SLOs
	problems     slo.Problems
	invalidFiles []string
	keptSLOs     []string // IDs running from the last good version of a broken file
	reconciledAt time.Time
	lastError    string
}

type metrics struct {
	slosLoaded, slosKept, invalidFiles prometheus.Gauge
	reconcileDuration                  prometheus.Histogram
	reconcileErrors, reconciles        prometheus.Counter
	deliveries                         *prometheus.CounterVec
	reloads                            *prometheus.CounterVec
	lastReconcileSuccess               prometheus.Gauge
	dashboardsWritten, dashboardErrors prometheus.Counter
	dashboardsDeleted                  prometheus.Counter
}

// New builds a daemon from a checked configuration.
func New(cfg *config.Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = time.Second
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	d := &Daemon{cfg: cfg, log: opts.Logger, reg: opts.Registry, opts: opts, trigger: make(chan chan error, 16), lastGood: map[string][]slo.SLO{}}
	d.state.byID = map[string]*slo.SLO{}
	d.tracer = opts.TracerProvider.Tracer(TracerName)
	q := opts.Querier
	if q == nil {
		hq, err := NewPrometheusQuerier(cfg.Prometheus)
		if err != nil {
			return nil, err
		}
		q = hq
	}
	d.reader = budget.NewReader(q, budget.Options{
		Interval:   cfg.Intervals.BudgetRead,
		Timeout:    cfg.Prometheus.Timeout,
		MaxBackoff: max(5*time.Minute, cfg.Intervals.BudgetRead),
		Logger:     d.log.With("component", "budget"),
		Registerer: d.reg,
		Tracer:     opts.TracerProvider.Tracer(budget.TracerName),
		OnRead:     func() { d.refreshList() },
	})
	// Reloads go to the Prometheus being fed, with its credentials.
	hc, err := cfg.Prometheus.HTTP.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(hc, "prometheus-reload")
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	d.httpc = &http.Client{Transport: tracePropagation(rt), Timeout: cfg.Rules.ReloadTimeout}
	if cfg.Rules.Mode == config.ModeMimir {
		d.mimir, err = newMimirRuler(cfg.Rules.Mimir, cfg.Rules.ReloadTimeout, d.log.With("component", "mimir"))
		if err != nil {
			return nil, err
		}
	}
	d.initMetrics()
	return d, nil
}

func (d *Daemon) initMetrics() {
	d.m = metrics{
		slosLoaded:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_slos", Help: "SLOs applied (including those kept from the last good version of a broken file)."}),
		slosKept:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_slos_kept_from_last_good", Help: "SLOs running from the last good version of a spec file that now has errors."}),
		invalidFiles: prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_spec_files_invalid", Help: "Spec files with errors."}),
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "slokeeper_reconcile_duration_seconds", Help: "Duration of a reconcile (load, generate, deliver).",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		reconciles:      prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_reconciles_total", Help: "Reconciles run."}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_reconcile_errors_total", Help: "Reconciles that failed."}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slokeeper_rule_deliveries_total", Help: "Rule files written or removed, by mode and operation.",
		}, []string{"mode", "op"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "slokeeper_prometheus_reloads_total", Help: "Prometheus reloads requested, by result.",
		}, []string{"result"}),
		lastReconcileSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_reconcile_last_success_timestamp_seconds", Help: "Unix time of the last good reconcile."}),
		dashboardsWritten:    prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_grafana_dashboards_written_total", Help: "Dashboards saved to Grafana (new or changed)."}),
		dashboardErrors:      prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_grafana_push_errors_total", Help: "Dashboard pushes to Grafana that failed."}),
		dashboardsDeleted:    prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_grafana_dashboards_deleted_total", Help: "Dashboards of removed services and SLOs deleted from Grafana."}),
	}
	d.reg.MustRegister(d.m.slosLoaded, d.m.slosKept, d.m.invalidFiles, d.m.reconcileDuration, d.m.reconciles,
		d.m.reconcileErrors, d.m.deliveries, d.m.reloads, d.m.lastReconcileSuccess, d.m.dashboardsWritten, d.m.dashboardErrors,
		d.m.dashboardsDeleted)
	for _, op := range []string{"write", "remove"} {
		d.m.deliveries.WithLabelValues(d.cfg.Rules.Mode, op)
	}
	for _, r := range []string{"success", "failure"} {
		d.m.reloads.WithLabelValues(r)
	}
}

// NewPrometheusAPI is a client of the configured Prometheus query API,
// with its authentication, TLS and headers, propagating trace context.
func NewPrometheusAPI(p config.Prometheus) (v1.API, error) {
	q, err := NewPrometheusQuerier(p)
	if err != nil {
		return nil, err
	}
	return q.API, nil
}

// NewPrometheusQuerier is NewPrometheusAPI's client that can also stream
// an instant query's answer (budget.SampleStreamer), through the same
// transport.
func NewPrometheusQuerier(p config.Prometheus) (*budget.HTTPQuerier, error) {
	hc, err := p.HTTP.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	rt, err := commoncfg.NewRoundTripperFromConfig(hc, "prometheus")
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	rt = tracePropagation(rt)
	c, err := api.NewClient(api.Config{Address: p.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	q, err := budget.NewHTTPQuerier(p.URL, rt, v1.NewAPI(c))
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	return q, nil
}

// Reader is the budget reader.
func (d *Daemon) Reader() *budget.Reader { return d.reader }

// Snapshot is the last budget read.
func (d *Daemon) Snapshot() budget.Snapshot { return d.reader.Snapshot() }

// StaleAfter is how old a budget read may be before it is stale.
func (d *Daemon) StaleAfter() time.Duration { return d.staleAfter() }

// SLOs returns the SLOs applied (sorted by ID). A reconcile replaces the
// slice as a whole, so callers may keep it but must not modify it.
func (d *Daemon) SLOs() []slo.SLO {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.state.slos
}

// Loaded says whether a reconcile has loaded the specs once.
func (d *Daemon) Loaded() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return !d.state.reconciledAt.IsZero()
}

// Kept says whether the SLO runs from the last good version of a file that
// now has errors.
func (d *Daemon) Kept(id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.Contains(d.state.keptSLOs, id)
}

// RuleOptions are the generator options of the configuration.
func (d *Daemon) RuleOptions() rules.Options { return d.ruleOptions() }

// Trigger asks for a reconcile and returns a channel that receives its
// result. It never blocks; when requests pile up they share one reconcile.
func (d *Daemon) Trigger() <-chan error {
	ch := make(chan error, 1)
	select {
	case d.trigger <- ch:
	default:
		ch <- errors.New("too many reconcile requests queued")
	}
	return ch
}

// Run reconciles on start, on every Trigger, on spec changes (debounced)
// and every resync interval, and reads budgets, until ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); d.reader.Run(ctx) }()

	changed := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.log.Warn("watching spec files is off; relying on the periodic resync", "err", err)
	} else {
		defer w.Close()
		wg.Add(1)
		go func() { defer wg.Done(); d.watch(ctx, w, changed) }()
	}
	resync := time.NewTicker(d.cfg.Intervals.Resync)
	defer resync.Stop()
	reconcile := func(reason string, waiters []chan error) {
		err := d.Reconcile(ctx)
		if d.opts.OnReconcile != nil {
			d.opts.OnReconcile()
		}
		for _, w := range waiters {
			w <- err
		}
		if err != nil {
			d.log.Error("reconcile failed", "reason", reason, "err", err)
		}
		if w != nil {
			d.addWatches(w)
		}
	}
	reconcile("start", nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-d.trigger:
			waiters := []chan error{ch}
			for len(d.trigger) > 0 {
				waiters = append(waiters, <-d.trigger)
			}
			reconcile("request", waiters)
		case <-changed:
			reconcile("spec change", nil)
		case <-resync.C:
			if d.mimir != nil {
				d.mimir.checkDrift() // groups changed behind our back are repaired
			}
			reconcile("resync", nil)
		}
	}
}

// watch turns file events into one signal per quiet period.
func (d *Daemon) watch(ctx context.Context, w *fsnotify.Watcher, changed chan<- struct{}) {
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(d.opts.Debounce)
			} else {
				timer.Reset(d.opts.Debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.log.Warn("watching spec files", "err", err)
		case <-fire:
			fire = nil
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}

// addWatches watches every directory the specs are read from.
func (d *Daemon) addWatches(w *fsnotify.Watcher) {
	for _, p := range d.cfg.Specs {
		base := p
		if hasMeta(p) {
			base = filepath.Dir(p)
		}
		st, err := os.Stat(base)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			_ = w.Add(filepath.Dir(base))
			continue
		}
		_ = filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				if p != base && strings.HasPrefix(e.Name(), ".") {
					return filepath.SkipDir
				}
				_ = w.Add(p)
			}
			return nil
		})
	}
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

// specPaths expands the configured globs; plain paths are kept as they are
// so that a missing one is reported by the loader.
func specPaths(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		if !hasMeta(p) {
			out = append(out, p)
			continue
		}
		m, _ := filepath.Glob(p) // patterns were checked with the configuration
		out = append(out, m...)
	}
	return out
}

// Reconcile loads, generates and delivers once. It is traced as a span
// "reconcile" with the children "reconcile.load", "reconcile.deliver"
// (generation and delivery, service by service) and, with Grafana,
// "reconcile.grafana".
func (d *Daemon) Reconcile(ctx context.Context) (err error) {
	ctx, span := d.tracer.Start(ctx, "reconcile", trace.WithAttributes(attribute.String("slokeeper.rules.mode", d.cfg.Rules.Mode)))
	defer func() { endSpan(span, err) }()
	start := time.Now()
	d.m.reconciles.Inc()
	defer func() {
		d.m.reconcileDuration.Observe(time.Since(start).Seconds())
		d.mu.Lock()
		d.state.reconciledAt = start
		d.state.lastError = ""
		if err != nil {
			d.state.lastError = err.Error()
		}
		d.mu.Unlock()
		if err != nil {
			d.m.reconcileErrors.Inc()
		} else {
			d.m.lastReconcileSuccess.SetToCurrentTime()
		}
	}()
	lctx, lspan := d.tracer.Start(ctx, "reconcile.load")
	res, err := loader.Load(lctx, specPaths(d.cfg.Specs), loader.Options{})
	if err != nil {
		err = fmt.Errorf("loading specs: %w", err)
		endSpan(lspan, err)
		return err
	}
	slos, kept, invalid := d.merge(res)
	for _, p := range res.Problems {
		if p.Severity == slo.Error {
			d.log.Warn("spec problem", "problem", p.String())
		}
	}
	lspan.SetAttributes(attribute.Int("slokeeper.slos", len(slos)), attribute.Int("slokeeper.slos_kept", len(kept)),
		attribute.Int("slokeeper.files", len(res.Files)), attribute.Int("slokeeper.files_invalid", len(invalid)))
	endSpan(lspan, nil)
	span.SetAttributes(attribute.Int("slokeeper.slos", len(slos)), attribute.Int("slokeeper.files_invalid", len(invalid)))
	d.m.slosLoaded.Set(float64(len(slos)))
	d.m.slosKept.Set(float64(len(kept)))
	d.m.invalidFiles.Set(float64(len(invalid)))
	byID := make(map[string]*slo.SLO, len(slos))
	for i := range slos {
		byID[slos[i].ID()] = &slos[i]
	}
	d.mu.Lock()
	d.state.slos, d.state.byID = slos, byID
	d.state.problems, d.state.invalidFiles, d.state.keptSLOs = res.Problems, invalid, kept
	d.state.gen++
	d.mu.Unlock()
	d.refreshList()
	// Rules are generated and delivered service by service, so memory stays
	// bounded by one service and a service whose rules cannot be generated
	// keeps its delivered ones while the others go ahead.
	dctx, dspan := d.tracer.Start(ctx, "reconcile.deliver", trace.WithAttributes(attribute.String("slokeeper.rules.mode", d.cfg.Rules.Mode)))
	err = d.deliver(dctx, slos)
	endSpan(dspan, err)
	if d.cfg.Grafana != nil {
		// Dashboards go even when the rules could not be delivered.
		gctx, gspan := d.tracer.Start(ctx, "reconcile.grafana")
		gerr := d.pushDashboards(gctx, slos)
		endSpan(gspan, gerr)
		err = errors.Join(err, gerr)
	}
	return err
}

// pushDashboards writes the dashboards Grafana does not already have with
// the same content. The token is read again on every push, so it can be
// rotated.
func (d *Daemon) pushDashboards(ctx context.Context, slos []slo.SLO) error {
	g := d.cfg.Grafana
	d.grafanaMu.Lock()
	defer d.grafanaMu.Unlock()
	token, err := grafana.LoadToken(g.TokenFile, g.TokenEnv)
	if err != nil {
		d.m.dashboardErrors.Inc()
		return err
	}
	if d.grafana == nil || token != d.grafanaToken {
		c, err := grafana.New(grafana.Config{
			URL: g.URL, Token: token, OrgID: g.OrgID, HTTPClient: d.grafanaHTTP(),
			Logger: d.log.With("component", "grafana"),
		})
		if err != nil {
			d.m.dashboardErrors.Inc()
			return err
		}
		d.grafana, d.grafanaToken = c, token
	}
	ds := dashboards.All(slos, dashboards.Options{Tiers: d.cfg.Tiers})
	res, err := d.grafana.Push(ctx, ds, grafana.PushOptions{FolderUID: g.FolderUID, FolderTitle: g.Folder, Message: "applied by slokeeper serve"})
	d.m.dashboardsWritten.Add(float64(len(res.Written)))
	if len(res.Written) > 0 {
		d.log.Info("dashboards pushed to Grafana", "written", len(res.Written), "unchanged", len(res.Unchanged))
	}
	if err != nil {
		d.m.dashboardErrors.Inc()
		return fmt.Errorf("pushing dashboards to Grafana: %w", err)
	}
	// The dashboards of removed services (and SLOs) go too; only those
	// slokeeper generated, in its folder: people's dashboards stay.
	keep := res.Keep()
	if len(keep) == 0 {
		return nil
	}
	pr, err := d.grafana.Prune(ctx, grafana.PruneOptions{FolderUID: g.FolderUID, Keep: keep})
	d.m.dashboardsDeleted.Add(float64(len(pr.Deleted)))
	if len(pr.Deleted) > 0 {
		d.log.Info("stale dashboards deleted from Grafana", "deleted", len(pr.Deleted))
	}
	if err != nil {
		d.m.dashboardErrors.Inc()
		return fmt.Errorf("deleting stale dashboards from Grafana: %w", err)
	}
	return nil
}

// grafanaHTTP is the client of the Grafana pushes: the test override, or
// one that propagates the trace context.
func (d *Daemon) grafanaHTTP() *http.Client {
	if d.opts.GrafanaHTTP != nil {
		return d.opts.GrafanaHTTP
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: tracePropagation(nil)}
}

// ruleOptions are the generator options from the configuration.
func (d *Daemon) ruleOptions() rules.Options {
	r := d.cfg.Rules
	return rules.Options{
		Tiers:         d.cfg.Tiers,
		ShortInterval: r.ShortInterval,
		LongInterval:  r.LongInterval,
		AlertInterval: r.AlertInterval,
		DashboardURL:  r.DashboardURL,
	}
}

// merge updates the last good SLOs per file from a load and returns the SLOs
// to apply: those of valid files, plus the last good ones of broken files
// (unless a valid file now defines the same SLO).
func (d *Daemon) merge(res loader.Result) (slos []slo.SLO, kept, invalid []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	byFile := map[string][]slo.SLO{}
	for _, s := range res.SLOs {
		byFile[s.Source.File] = append(byFile[s.Source.File], s)
	}
	present := map[string]bool{}
	for _, f := range res.Files {
		present[f] = true
	}
	for f := range res.InvalidFiles {
		present[f] = true
		invalid = append(invalid, f)
	}
	sort.Strings(invalid)
	for f := range d.lastGood {
		if !present[f] {
			delete(d.lastGood, f) // removed file: its SLOs go
		}
	}
	for _, f := range res.Files {
		if !res.InvalidFiles[f] {
			d.lastGood[f] = byFile[f]
		}
	}
	seen := map[string]bool{}
	for _, s := range res.SLOs {
		seen[s.ID()] = true
	}
	slos = append(slos, res.SLOs...)
	for _, f := range invalid {
		for _, s := range d.lastGood[f] {
			if !seen[s.ID()] {
				seen[s.ID()] = true
				slos = append(slos, s)
				kept = append(kept, s.ID())
			}
		}
	}
	sort.SliceStable(slos, func(i, j int) bool { return slos[i].ID() < slos[j].ID() })
	return slos, kept, invalid
}

// reload POSTs the reload URL and checks the answer.
func (d *Daemon) reload(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.cfg.Rules.ReloadURL, nil)
	if err != nil {
		return err
	}
	resp, err := d.httpc.Do(req)
	if err != nil {
		d.m.reloads.WithLabelValues("failure").Inc()
		return fmt.Errorf("reloading Prometheus: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		d.m.reloads.WithLabelValues("failure").Inc()
		return fmt.Errorf("reloading Prometheus: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	d.m.reloads.WithLabelValues("success").Inc()
	d.log.Info("Prometheus reloaded")
	return nil
}
