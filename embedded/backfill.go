package embedded

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// BackfillOptions tune BackfillRules.
type BackfillOptions struct {
	// MinStep evaluates groups whose interval is shorter at MinStep instead
	// (0: every group at its own interval). A group evaluated at its own
	// interval is evaluated at the times the rules manager evaluates it
	// live (the group's phase, Group.EvalTimestamp), so that a history
	// and the live evaluations after it are one series: slokeeper's long
	// group writes its hourly tile once an hour, backfilled or live. A
	// group evaluated at MinStep is evaluated at the multiples of MinStep
	// since the Unix epoch: with MinStep 5m slokeeper's short group (1m)
	// is recorded on the 5-minute lattice its long group reads, so every
	// long window and the period come out as they would live, and the
	// short windows (5m, 30m, 1h) of the history have one sample every 5
	// minutes instead of every minute, for a fifth of the work.
	MinStep time.Duration
	// Chunk is the length of one range query (default 1d): it bounds the
	// memory of one evaluation.
	Chunk time.Duration
	// CommitEvery commits the appender every that many samples (default 100000).
	CommitEvery int
	// CompactAfter, when > 0, bounds the memory of a long backfill: the
	// range is walked a Chunk at a time (every rule over a chunk, oldest
	// first, then the next chunk), and the engine compacts (Compact)
	// whenever that many recorded samples are not compacted yet, and at
	// the end, so the out-of-order head never holds much more than that.
	// A rule reading a long range (the period) reads the earlier chunks
	// from the blocks. Without it, every rule goes over the whole range
	// in turn (fewest compactions, so fastest for small histories); call
	// Compact afterwards.
	CompactAfter int
}

// backfillGCPercent is the Go GC target while BackfillRules runs: a
// backfill allocates fast (tens of thousands of range queries) while its
// live heap stays small, so the default target (100: the heap grows to
// twice the live heap between collections) costs more memory than the
// collections it saves cost CPU (docs/benchmarks.md).
const backfillGCPercent = 25

// gcTarget counts the backfills running in the process: the GC target is
// the process's, so whoever lowers it first restores it last, whatever
// engine they belong to. (Package state because the runtime's is.)
var gcTarget struct {
	sync.Mutex
	depth, prev int
}

// lowerGCTarget sets the GC target to backfillGCPercent, unless the
// GOGC environment variable chose one, and returns the function that
// restores it once the last backfill running is done.
func lowerGCTarget() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gcTarget.Lock()
	if gcTarget.depth == 0 {
		gcTarget.prev = debug.SetGCPercent(backfillGCPercent)
	}
	gcTarget.depth++
	gcTarget.Unlock()
	return func() {
		gcTarget.Lock()
		defer gcTarget.Unlock()
		gcTarget.depth--
		if gcTarget.depth == 0 {
			debug.SetGCPercent(gcTarget.prev)
		}
	}
}

// setGCTarget sets the process's GC target outside backfills to percent,
// unless the GOGC environment variable chose one: at once when no
// backfill runs, else when the last one running ends.
func setGCTarget(percent int) {
	if os.Getenv("GOGC") != "" {
		return
	}
	gcTarget.Lock()
	defer gcTarget.Unlock()
	if gcTarget.depth == 0 {
		debug.SetGCPercent(percent)
	} else {
		gcTarget.prev = percent
	}
}

// CompactAfterSamples is a BackfillOptions.CompactAfter for long
// histories: a few compactions, each of a few days of a few hundred SLOs'
// recorded samples (see docs/benchmarks.md for the memory it keeps).
const CompactAfterSamples = 2_000_000

// BackfillStats say what BackfillRules did.
type BackfillStats struct {
	Rules   int
	Queries int
	Samples int
	Took    time.Duration
}

// backfillRule is one recording rule to backfill.
type backfillRule struct {
	record string
	expr   parser.Expr
	query  string
	labels labels.Labels
	step   time.Duration
	// stepwise is set for expressions with @ start() or @ end(): a range
	// query would pin them to its own start or end, so they are evaluated
	// as one instant query per step, as the rules manager does.
	stepwise bool
	reads    map[string]bool
	index    int
	// phase is the offset of the evaluation times from the multiples of
	// step since the Unix epoch.
	phase time.Duration
}

// BackfillRules evaluates the loaded recording rules over [from, to] and
// writes their samples, so that recorded series exist for history written
// before (raw samples backfilled with Appendable). Rules are evaluated one
// after the other over the whole range, in dependency order (a rule after
// every rule recording a series it reads; otherwise in file, group and rule
// order), each as range queries of opts.Chunk, so a rule sees what the
// rules it reads recorded. Alerting rules are not backfilled. Samples older
// than the out-of-order window are rejected by the TSDB. Call Compact
// afterwards to move the backfilled samples into blocks.
func (e *Engine) BackfillRules(ctx context.Context, from, to time.Time, opts BackfillOptions) (st BackfillStats, err error) {
	start := time.Now()
	if !from.Before(to) {
		return st, fmt.Errorf("embedded engine: backfill range %s..%s is empty", from, to)
	}
	if opts.Chunk <= 0 {
		opts.Chunk = 24 * time.Hour
	}
	if opts.CommitEvery <= 0 {
		opts.CommitEvery = 100_000
	}
	list, err := e.backfillList(opts.MinStep)
	if err != nil {
		return st, err
	}
	st.Rules = len(list)
	defer lowerGCTarget()()
	defer func() {
		if err == nil {
			e.mu.Lock()
			if to.After(e.backfilledTo) {
				e.backfilledTo = to
			}
			e.mu.Unlock()
		}
	}()
	defer func() { st.Took = time.Since(start) }()
	windows := [][2]time.Time{{from, to}}
	if opts.CompactAfter > 0 {
		windows = split(from, to, opts.Chunk)
	}
	pending := 0
	for _, w := range windows {
		for _, r := range list {
			n, q, err := e.backfillRule(ctx, r, w[0], w[1], opts)
			st.Samples += n
			st.Queries += q
			pending += n
			if err != nil {
				return st, fmt.Errorf("embedded engine: backfilling %s {%s}: %w", r.record, r.labels, err)
			}
		}
		if opts.CompactAfter > 0 && (pending >= opts.CompactAfter || w[1].Equal(to)) {
			if err := e.Compact(ctx); err != nil {
				return st, fmt.Errorf("embedded engine: compacting the backfill up to %s: %w", w[1].UTC().Format(time.RFC3339), err)
			}
			pending = 0
		}
	}
	return st, nil
}

// split splits [from, to] into consecutive closed windows of length
// every; a window starts a millisecond after the previous one ends, so no
// evaluation time is in two.
func split(from, to time.Time, every time.Duration) [][2]time.Time {
	var out [][2]time.Time
	for ws := from; !ws.After(to); {
		we := ws.Add(every)
		if we.After(to) {
			we = to
		}
		out = append(out, [2]time.Time{ws, we})
		ws = we.Add(time.Millisecond)
	}
	return out
}

// backfillList parses the loaded rule files into the recording rules to
// evaluate, in dependency order.
func (e *Engine) backfillList(minStep time.Duration) ([]*backfillRule, error) {
	files := e.Rules()
	// A group backfilled at its own interval is evaluated at the times the
	// rules manager evaluates it live (Prometheus's per-group phase).
	phases := map[[2]string]time.Duration{}
	for _, g := range e.rules.RuleGroups() {
		if iv := g.Interval(); iv > 0 {
			phases[[2]string{filepath.Base(g.File()), g.Name()}] = time.Duration(g.EvalTimestamp(0).UnixNano() % int64(iv))
		}
	}
	var list []*backfillRule
	for _, name := range slices.Sorted(maps.Keys(files)) {
		rgs, err := e.parseRuleFile(name, files[name])
		if err != nil {
			return nil, fmt.Errorf("embedded engine: %w", err)
		}
		for _, g := range rgs.Groups {
			step := time.Duration(g.Interval)
			if step <= 0 {
				step = e.opts.EvaluationInterval
			}
			phase := phases[[2]string{name, g.Name}]
			if minStep > step {
				step, phase = minStep, 0
			}
			for _, r := range g.Rules {
				if r.Record == "" {
					continue
				}
				expr, err := e.parser.ParseExpr(r.Expr)
				if err != nil {
					return nil, fmt.Errorf("embedded engine: rule %s in %s: %w", r.Record, name, err)
				}
				lb := labels.NewBuilder(labels.FromMap(g.Labels))
				for k, v := range r.Labels {
					lb.Set(k, v)
				}
				br := &backfillRule{
					record: r.Record, expr: expr, query: r.Expr, labels: lb.Labels(),
					step: step, reads: map[string]bool{}, index: len(list),
					phase: phase,
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					switch n := n.(type) {
					case *parser.VectorSelector:
						if n.StartOrEnd != 0 {
							br.stepwise = true
						}
						for _, m := range n.LabelMatchers {
							if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
								br.reads[m.Value] = true
							}
						}
					case *parser.SubqueryExpr:
						if n.StartOrEnd != 0 {
							br.stepwise = true
						}
					}
					return nil
				})
				list = append(list, br)
			}
		}
	}
	return dependencyOrder(list), nil
}

// dependencyOrder sorts rules so that a rule comes after every other rule
// recording a metric it reads, keeping the given order otherwise. Rules in
// a cycle keep their given order.
func dependencyOrder(list []*backfillRule) []*backfillRule {
	writers := map[string][]int{}
	for i, r := range list {
		writers[r.record] = append(writers[r.record], i)
	}
	indeg := make([]int, len(list))
	next := make([][]int, len(list))
	for i, r := range list {
		for name := range r.reads {
			for _, w := range writers[name] {
				if w == i {
					continue
				}
				indeg[i]++
				next[w] = append(next[w], i)
			}
		}
	}
	done := make([]bool, len(list))
	out := make([]*backfillRule, 0, len(list))
	// Kahn's algorithm, always taking the first ready rule in file order.
	ready := []int{}
	for i := range list {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(out) < len(list) {
		if len(ready) == 0 { // a cycle: take the first remaining rule
			for i := range list {
				if !done[i] {
					ready = append(ready, i)
					break
				}
			}
		}
		slices.Sort(ready)
		i := ready[0]
		ready = ready[1:]
		if done[i] {
			continue
		}
		done[i] = true
		out = append(out, list[i])
		for _, j := range next[i] {
			indeg[j]--
			if indeg[j] == 0 && !done[j] {
				ready = append(ready, j)
			}
		}
	}
	return out
}

// alignUp returns the first multiple of step (since the Unix epoch) at or
// after t.
func alignUp(t time.Time, step time.Duration) time.Time {
	d := alignDown(t, step)
	if d.Before(t) {
		d = d.Add(step)
	}
	return d
}

// alignDown returns the last multiple of step at or before t.
func alignDown(t time.Time, step time.Duration) time.Time {
	ns := t.UnixNano()
	return time.Unix(0, ns-((ns%int64(step))+int64(step))%int64(step))
}

func (e *Engine) backfillRule(ctx context.Context, r *backfillRule, from, to time.Time, opts BackfillOptions) (samples, queries int, err error) {
	first := alignUp(from.Add(-r.phase), r.step).Add(r.phase)
	end := alignDown(to.Add(-r.phase), r.step).Add(r.phase)
	if first.After(to) {
		return 0, 0, nil
	}
	app := e.db.Appender(ctx)
	pending := 0
	commit := func() error {
		if pending == 0 {
			return nil
		}
		err := app.Commit()
		app = e.db.Appender(ctx)
		pending = 0
		return err
	}
	defer func() {
		if err != nil {
			_ = app.Rollback()
			return
		}
		err = app.Commit()
	}()
	chunk := max(opts.Chunk, r.step)
	// Align chunk ends on the step grid.
	chunk = chunk / r.step * r.step
	var ranges [][2]time.Time
	for cs := first; !cs.After(to); cs = cs.Add(chunk) {
		ce := cs.Add(chunk - r.step)
		if ce.After(end) {
			ce = end
		}
		ranges = append(ranges, [2]time.Time{cs, ce})
	}
	for _, rg := range ranges {
		if err := ctx.Err(); err != nil {
			return samples, queries, err
		}
		mat, q, err := e.evalRange(ctx, r, rg[0], rg[1])
		queries += q
		if err != nil {
			return samples, queries, err
		}
		seen := map[uint64]bool{}
		for _, s := range mat {
			n, err := r.appendSeries(app, s, seen)
			samples += n
			pending += n
			if err != nil {
				return samples, queries, err
			}
			if pending >= opts.CommitEvery {
				if err := commit(); err != nil {
					return samples, queries, err
				}
			}
		}
		// Later chunks and later rules read what this chunk recorded.
		if err := commit(); err != nil {
			return samples, queries, err
		}
	}
	return samples, queries, nil
}

// appendSeries appends one series of a rule's result under the rule's
// record name and labels; seen holds the label sets already appended from
// the same result.
func (r *backfillRule) appendSeries(app storage.Appender, s promql.Series, seen map[uint64]bool) (samples int, err error) {
	lb := labels.NewBuilder(s.Metric)
	lb.Set(model.MetricNameLabel, r.record)
	r.labels.Range(func(l labels.Label) { lb.Set(l.Name, l.Value) })
	ls := lb.Labels()
	h := ls.Hash()
	if seen[h] {
		return 0, fmt.Errorf("vector contains metrics with the same labelset after applying rule labels")
	}
	seen[h] = true
	for _, p := range s.Floats {
		if _, err := app.Append(0, ls, p.T, p.F); err != nil {
			return samples, fmt.Errorf("appending %s at %d: %w", ls, p.T, err)
		}
		samples++
	}
	for _, p := range s.Histograms {
		if _, err := app.AppendHistogram(0, ls, p.T, nil, p.H); err != nil {
			return samples, fmt.Errorf("appending %s at %d: %w", ls, p.T, err)
		}
		samples++
	}
	return samples, nil
}

// evalRange evaluates a rule at every step of [start, end], as a range
// query or, for @ start()/end(), one instant query per step.
func (e *Engine) evalRange(ctx context.Context, r *backfillRule, start, end time.Time) (promql.Matrix, int, error) {
	if !r.stepwise {
		q, err := e.engine.NewRangeQuery(ctx, e.db, nil, r.query, start, end, r.step)
		if err != nil {
			return nil, 1, err
		}
		defer q.Close()
		res := q.Exec(ctx)
		if res.Err != nil {
			return nil, 1, res.Err
		}
		m, err := res.Matrix()
		return m, 1, err
	}
	byLabels := map[uint64]*promql.Series{}
	var order []uint64
	n := 0
	for t := start; !t.After(end); t = t.Add(r.step) {
		n++
		q, err := e.engine.NewInstantQuery(ctx, e.db, nil, r.query, t)
		if err != nil {
			return nil, n, err
		}
		res := q.Exec(ctx)
		if res.Err != nil {
			q.Close()
			return nil, n, res.Err
		}
		var vec promql.Vector
		switch v := res.Value.(type) {
		case promql.Vector:
			vec = v
		case promql.Scalar:
			vec = promql.Vector{{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}
		default:
			q.Close()
			return nil, n, errors.New("rule result is not a vector or scalar")
		}
		for _, s := range vec {
			h := s.Metric.Hash()
			ser := byLabels[h]
			if ser == nil {
				ser = &promql.Series{Metric: s.Metric.Copy()}
				byLabels[h] = ser
				order = append(order, h)
			}
			if s.H != nil {
				ser.Histograms = append(ser.Histograms, promql.HPoint{T: t.UnixMilli(), H: s.H.Copy()})
			} else {
				ser.Floats = append(ser.Floats, promql.FPoint{T: t.UnixMilli(), F: s.F})
			}
		}
		q.Close()
	}
	out := make(promql.Matrix, 0, len(order))
	for _, h := range order {
		out = append(out, *byLabels[h])
	}
	return out, n, nil
}
