// Package embedded runs a Prometheus engine inside slokeeper: the TSDB, the
// PromQL engine, the rules manager evaluating the generated rules and the
// scrape manager collecting the configured targets, all from
// github.com/prometheus/prometheus. It answers the same queries as a remote
// Prometheus (Query and QueryRange satisfy budget.Querier) and serves the
// query API Grafana needs (Handler). BackfillRules records the rules over
// history written before the engine runs, so that budgets mean something at
// once.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// Defaults of Options.
const (
	DefaultRetention          = 15 * 24 * time.Hour
	DefaultEvaluationInterval = time.Minute
	DefaultQueryTimeout       = 2 * time.Minute
	DefaultMaxSamples         = 50_000_000
	DefaultLookbackDelta      = 5 * time.Minute
)

// Options configure an Engine.
type Options struct {
	// Dir holds the TSDB (Dir/data) and the loaded rule files (Dir/rules).
	Dir string
	// Retention is how long samples are kept (default 15d).
	Retention time.Duration
	// OutOfOrderWindow is how far behind the newest sample writes are still
	// accepted: history written by Backfill and BackfillRules after newer
	// samples (default: Retention).
	OutOfOrderWindow time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
	// Registerer receives the TSDB, engine, rules and scrape metrics
	// (default: a private registry).
	Registerer prometheus.Registerer
	// EvaluationInterval is the interval of rule groups that set none
	// (default 1m).
	EvaluationInterval time.Duration
	// ScrapeConfigs are the static targets to scrape.
	ScrapeConfigs []ScrapeConfig
	// ExternalURL is the URL alerts link back to (optional).
	ExternalURL string
	// QueryTimeout bounds one query (default 2m).
	QueryTimeout time.Duration
	// MaxSamples bounds the samples one query may hold (default 50M).
	MaxSamples int
	// NotifyFunc receives firing and resolved alerts of the alerting
	// rules (optional; the daemon reads ALERTS through queries anyway).
	NotifyFunc rules.NotifyFunc
}

func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.OutOfOrderWindow <= 0 {
		o.OutOfOrderWindow = o.Retention
	}
	if o.Logger == nil {
		o.Logger = promslog.NewNopLogger()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	if o.EvaluationInterval <= 0 {
		o.EvaluationInterval = DefaultEvaluationInterval
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = DefaultMaxSamples
	}
	return o
}

// Engine is an embedded Prometheus: storage, query engine, rules and
// scraping. Open it, load rules with SetRules, optionally backfill, then
// Run; Close when Run has returned.
type Engine struct {
	opts   Options
	logger *slog.Logger
	db     *tsdb.DB
	engine *promql.Engine
	parser parser.Parser
	rules  *rules.Manager
	scrape *scrape.Manager
	extURL string

	mu        sync.Mutex // guards ruleFiles, running, closed
	ruleFiles map[string][]byte
	running   bool
	ran       bool
	closed    bool
	// backfilledTo is the end of the latest BackfillRules (Run catches
	// up from there).
	backfilledTo time.Time
}

// Open opens (or creates) the TSDB under opts.Dir and builds the query
// engine, the rules manager and the scrape manager. Nothing is evaluated or
// scraped before Run.
func Open(ctx context.Context, opts Options) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("embedded engine: a storage directory is required")
	}
	opts = opts.withDefaults()
	for _, sc := range opts.ScrapeConfigs {
		if err := sc.check(); err != nil {
			return nil, err
		}
	}
	ext := opts.ExternalURL
	if ext != "" {
		if _, err := url.Parse(ext); err != nil {
			return nil, fmt.Errorf("embedded engine: external URL %q: %w", ext, err)
		}
	}
	for _, d := range []string{dataDir(opts.Dir), rulesDir(opts.Dir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("embedded engine: creating %s: %w", d, err)
		}
	}
	tOpts := tsdb.DefaultOptions()
	tOpts.RetentionDuration = opts.Retention.Milliseconds()
	tOpts.OutOfOrderTimeWindow = opts.OutOfOrderWindow.Milliseconds()
	// As Prometheus does: blocks up to a tenth of the retention, at most 31d.
	maxBlock := min(opts.Retention/10, 31*24*time.Hour)
	tOpts.MaxBlockDuration = max(maxBlock.Milliseconds(), tOpts.MinBlockDuration)
	tOpts.WALCompression = compression.Snappy
	tsdbLog := slog.New(demoteHandler{Handler: opts.Logger.Handler(), debug: map[string]bool{overlapsExpected: true}})
	db, err := tsdb.Open(dataDir(opts.Dir), tsdbLog.With("component", "tsdb"), opts.Registerer, tOpts, nil)
	if err != nil {
		return nil, fmt.Errorf("embedded engine: opening the TSDB in %s: %w", dataDir(opts.Dir), err)
	}
	// As Prometheus does since 3.0: a GC target of 75 (less memory for a
	// little CPU), unless GOGC chose one.
	setGCTarget(prometheusGCPercent)
	// Until Run, blocks are cut only by Compact: a backfill decides when
	// (the TSDB's own loop would cut a long backfilled head into hundreds
	// of 2-hour blocks and merge them again while the backfill goes on).
	db.DisableCompactions()
	p := parser.NewParser(parser.Options{})
	e := &Engine{
		opts:   opts,
		logger: opts.Logger,
		db:     db,
		parser: p,
		extURL: ext,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:               opts.Logger.With("component", "query engine"),
			Reg:                  opts.Registerer,
			MaxSamples:           opts.MaxSamples,
			Timeout:              opts.QueryTimeout,
			LookbackDelta:        DefaultLookbackDelta,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			Parser:               p,
		}),
		ruleFiles: map[string][]byte{},
	}
	var extParsed *url.URL
	if ext != "" {
		extParsed, _ = url.Parse(ext)
	}
	notify := opts.NotifyFunc
	if notify == nil {
		notify = func(context.Context, string, ...*rules.Alert) {}
	}
	e.rules = rules.NewManager(&rules.ManagerOptions{
		ExternalURL:  extParsed,
		QueryFunc:    rules.EngineQueryFunc(e.engine, db),
		NotifyFunc:   notify,
		Context:      context.WithoutCancel(ctx),
		AppendableV2: db,
		Queryable:    db,
		Logger:       opts.Logger.With("component", "rule manager"),
		Registerer:   opts.Registerer,
		Parser:       p,
		// Alert `for` state survives restarts through ALERTS_FOR_STATE.
		OutageTolerance: time.Hour,
		ForGracePeriod:  10 * time.Minute,
		ResendDelay:     time.Minute,
	})
	sm, err := scrape.NewManager(&scrape.Options{}, opts.Logger.With("component", "scrape manager"), nil, nil, db, opts.Registerer)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded engine: creating the scrape manager: %w", err)
	}
	e.scrape = sm
	if err := e.applyScrapeConfigs(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := e.loadExistingRules(); err != nil {
		e.logger.Warn("rule files left by a previous run could not be loaded; starting without rules", "err", err)
	}
	return e, nil
}

func dataDir(dir string) string  { return filepath.Join(dir, "data") }
func rulesDir(dir string) string { return filepath.Join(dir, "rules") }

// Run scrapes the targets and evaluates the rules until ctx ends, then
// stops both. It may be called once.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return errors.New("embedded engine: closed")
	case e.ran:
		e.mu.Unlock()
		return errors.New("embedded engine: Run called twice")
	}
	e.ran, e.running = true, true
	e.mu.Unlock()
	e.db.EnableCompactions()
	defer func() {
		e.mu.Lock()
		e.running = false
		e.mu.Unlock()
	}()

	ch := make(chan map[string][]*targetgroup.Group, 1)
	ch <- e.targetGroups()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := e.scrape.Run(ch); err != nil {
			e.logger.Error("scrape manager stopped", "err", err)
		}
	})
	e.catchUp(ctx)
	wg.Go(e.rules.Run)
	<-ctx.Done()
	e.rules.Stop()
	e.scrape.Stop()
	wg.Wait()
	return nil
}

// prometheusGCPercent is Prometheus's default Go GC target (3.0 and later).
const prometheusGCPercent = 75

// maxCatchUp bounds the time Run backfills the rules over before it starts
// evaluating them live: the minutes a backfill took, not a downtime.
const maxCatchUp = 10 * time.Minute

// catchUp backfills the recording rules from the end of the latest
// BackfillRules to now, at the times the rules manager evaluates each group
// live (BackfillRules with MinStep 0), so that the evaluations the manager
// would have made while the backfill ran are not missing: the manager
// evaluates a group first one interval after its latest evaluation time
// before now, the last one caught up. It repeats while the previous round
// took long enough to miss more.
func (e *Engine) catchUp(ctx context.Context) {
	e.mu.Lock()
	from := e.backfilledTo
	e.mu.Unlock()
	if from.IsZero() {
		return
	}
	for range 5 {
		to := time.Now()
		if to.Sub(from) > maxCatchUp {
			return
		}
		if to.Sub(from) < 50*time.Millisecond {
			return
		}
		st, err := e.BackfillRules(ctx, from.Add(time.Millisecond), to, BackfillOptions{})
		if err != nil {
			e.logger.Warn("catching up the rules after the backfill", "err", err)
			return
		}
		e.logger.Debug("rules caught up after the backfill", "from", from, "to", to, "samples", st.Samples)
		from = to
	}
}

// Close closes the TSDB. Call it after Run has returned.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	ran := e.ran
	e.mu.Unlock()
	if !ran {
		// Rule groups wait for the manager to start before they can stop.
		go e.rules.Run()
		e.rules.Stop()
		e.scrape.Stop()
	}
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("embedded engine: closing the TSDB: %w", err)
	}
	return nil
}

// Appendable is where backfilled and pushed samples go (the TSDB).
func (e *Engine) Appendable() storage.Appendable { return e.db }

// Queryable reads the TSDB.
func (e *Engine) Queryable() storage.Queryable { return e.db }

// Compact persists what the head and the out-of-order head hold into
// blocks and merges blocks, freeing memory after a large backfill.
func (e *Engine) Compact(ctx context.Context) error {
	if err := e.db.CompactOOOHead(ctx); err != nil {
		return fmt.Errorf("embedded engine: compacting out-of-order samples: %w", err)
	}
	if err := e.db.Compact(ctx); err != nil {
		return fmt.Errorf("embedded engine: compacting: %w", err)
	}
	return nil
}

// Query runs an instant query; it satisfies budget.Querier. Options of
// client_golang (timeouts, limits) are accepted and ignored except that the
// context's deadline applies.
func (e *Engine) Query(ctx context.Context, q string, ts time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	if ts.IsZero() {
		ts = time.Now()
	}
	qry, err := e.engine.NewInstantQuery(ctx, e.db, nil, q, ts)
	return e.exec(ctx, q, qry, err)
}

// QueryRange runs a range query.
func (e *Engine) QueryRange(ctx context.Context, q string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	if r.Step <= 0 {
		return nil, nil, nil, errors.New("zero or negative query resolution step widths are not accepted")
	}
	qry, err := e.engine.NewRangeQuery(ctx, e.db, nil, q, r.Start, r.End, r.Step)
	return e.exec(ctx, q, qry, err)
}

// exec runs a query made by the engine and converts its result to the
// client_golang model.
func (e *Engine) exec(ctx context.Context, q string, qry promql.Query, err error) (model.Value, v1.Warnings, v1.Infos, error) {
	if err != nil {
		return nil, nil, nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, nil, nil, res.Err
	}
	w, i := res.Warnings.AsStrings(q, 0, 0)
	v, err := toModel(res.Value)
	return v, w, i, err
}

// overlapsExpected is the TSDB's warning about overlapping blocks: a
// backfill writes history behind newer samples, so its blocks overlap the
// others until the compactor merges them, as designed. Logged at debug
// level: at warning level, every block reload of a backfill repeated it
// with the list of every overlap.
const overlapsExpected = "Overlapping blocks found during reloadBlocks"

// demoteHandler logs the records whose message is in debug at debug level.
type demoteHandler struct {
	slog.Handler
	debug map[string]bool
}

func (h demoteHandler) Enabled(ctx context.Context, l slog.Level) bool {
	// A demoted record is only known in Handle; let it through here.
	return l >= slog.LevelWarn || h.Handler.Enabled(ctx, l)
}

func (h demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.debug[r.Message] && r.Level > slog.LevelDebug {
		r.Level = slog.LevelDebug
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return demoteHandler{Handler: h.Handler.WithAttrs(as), debug: h.debug}
}

func (h demoteHandler) WithGroup(name string) slog.Handler {
	return demoteHandler{Handler: h.Handler.WithGroup(name), debug: h.debug}
}
