// Package demo is slokeeper's built-in synthetic traffic generator. From
// the SLOs' own SLI selectors it derives the raw series they read (request
// counters with good and bad label values, classic histograms around the
// latency threshold, 0/1 gauges), drives them with diurnal traffic
// (peak/trough 10:1, Poisson noise from a fixed seed) and scheduled
// incidents (a fast burn and a slow burn per SLO in the history, one live
// fast burn), serves them at /metrics in Prometheus's text format and
// writes their history straight into storage, counters continuing
// monotonically from the backfilled history into the live series.
//
// One SLO (checkout/availability by default) follows a plan: its period
// budget is spent at about Start+FreezeAfter and back above 10% at about
// Start+LiftAfter, so that a change freeze starts and lifts during a demo.
package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"

	"github.com/slokeeper/slokeeper/slo"
)

// Defaults of Options and Timeline.
const (
	DefaultHistory     = 8 * 24 * time.Hour
	DefaultFreezeAfter = 10 * time.Minute
	DefaultLiftAfter   = 30 * time.Minute
	DefaultInstance    = "demo"
	DefaultService     = "checkout"
	DefaultSLO         = "availability"
	// MaxHistory bounds the backfilled history.
	MaxHistory = 31 * 24 * time.Hour
)

// LiftThreshold is the budget remaining the plan brings the planned SLO
// back above after the freeze (the default lift threshold of the freeze
// policy).
const LiftThreshold = 0.10

// Options configure a Generator.
type Options struct {
	// SLOs whose raw series are generated. SLOs with a raw-query SLI or a
	// native histogram cannot be derived and are skipped (see Skipped).
	SLOs []slo.SLO
	// Start is when the history ends and the live demo begins (default now).
	Start time.Time
	// History is how far before Start the series begin (default 8d, or the
	// planned SLO's period plus an hour when that is longer; at most 31d).
	History time.Duration
	// Timeline is the freeze plan.
	Timeline Timeline
	// Seed makes the noise and the incident schedule reproducible.
	Seed int64
	// Instance is the instance label of every series (default "demo"). The
	// series carry their own job and instance labels, so the scrape job
	// must honour labels (embedded.ScrapeConfig.HonorLabels) for the
	// scraped series to continue the backfilled ones.
	Instance string
}

// Timeline plans the freeze of one SLO.
type Timeline struct {
	// Service and SLO name the planned SLO (default checkout/availability).
	// It must be a ratio or latency SLI over a rolling period. A timeline
	// naming an SLO that is not in Options.SLOs plans nothing.
	Service, SLO string
	// FreezeAfter: the SLO's period budget is spent (remaining <= 0) at
	// about Start+FreezeAfter (default 10m; the 5-minute long rule group and
	// the 5m rates make anything much shorter imprecise).
	FreezeAfter time.Duration
	// LiftAfter: the budget is back above LiftThreshold at about
	// Start+LiftAfter (default 30m).
	LiftAfter time.Duration
	// Disabled plans nothing.
	Disabled bool
}

// Incident is a scheduled period of errors.
type Incident struct {
	Service, SLO string
	Start, End   time.Time
	// Kind is "fast-burn", "slow-burn", or for the plan "planned-burst"
	// (the historic errors that leave the period at the lift) and
	// "planned-outage" (the live errors that spend the budget).
	Kind string
	// BurnRate is the error ratio over the error budget during the
	// incident (fast and slow burns); planned incidents add ErrorsPerSecond
	// failing requests on top of the traffic instead.
	BurnRate        float64
	ErrorsPerSecond float64
}

// Plan is the freeze plan as computed.
type Plan struct {
	Service, SLO string
	// Budget is the period's error budget in events, at Start.
	Budget float64
	// RemainingAtStart is the planned budget remaining just before Start;
	// RemainingFrozen after the live outage; RemainingLifted once the
	// historic burst has left the period.
	RemainingAtStart, RemainingFrozen, RemainingLifted float64
	Burst, Outage                                      Incident
}

// Generator produces the series. It is safe for concurrent use.
type Generator struct {
	opts      Options
	histStart time.Time
	streams   []*stream
	series    []*series
	families  []family
	skipped   []string
	incidents []Incident
	plan      *Plan

	mu  sync.Mutex
	now time.Time // simulated up to here
}

// New derives the series of every SLO and schedules the incidents.
func New(opts Options) (*Generator, error) {
	if opts.Start.IsZero() {
		opts.Start = time.Now()
	}
	opts.Start = opts.Start.Truncate(time.Millisecond)
	if opts.Instance == "" {
		opts.Instance = DefaultInstance
	}
	tl := &opts.Timeline
	if tl.Service == "" && tl.SLO == "" {
		tl.Service, tl.SLO = DefaultService, DefaultSLO
	}
	if tl.FreezeAfter <= 0 {
		tl.FreezeAfter = DefaultFreezeAfter
	}
	if tl.LiftAfter <= 0 {
		tl.LiftAfter = DefaultLiftAfter
	}
	if tl.LiftAfter <= tl.FreezeAfter {
		return nil, fmt.Errorf("demo: the lift (%s) must come after the freeze (%s)", tl.LiftAfter, tl.FreezeAfter)
	}
	g := &Generator{opts: opts}
	p := parser.NewParser(parser.Options{})
	var target *stream
	for i := range opts.SLOs {
		s := &opts.SLOs[i]
		st, err := g.newStream(p, s)
		if err != nil {
			g.skipped = append(g.skipped, fmt.Sprintf("%s: %v", s.ID(), err))
			continue
		}
		g.streams = append(g.streams, st)
		if !tl.Disabled && s.Service == tl.Service && s.Name == tl.SLO {
			target = st
		}
	}
	if len(g.streams) == 0 {
		return nil, errors.New("demo: no SLO whose series can be generated")
	}
	hist := opts.History
	if hist <= 0 {
		hist = DefaultHistory
		if target != nil && target.slo.Period.Kind == slo.Rolling {
			hist = max(hist, target.slo.Period.Rolling+time.Hour)
		}
	}
	hist = min(hist, MaxHistory)
	g.opts.History = hist
	g.histStart = opts.Start.Add(-hist)
	g.now = g.histStart
	g.index()
	g.schedule(target)
	if target != nil {
		if err := g.makePlan(target); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Skipped lists the SLOs without generated series, with the reason.
func (g *Generator) Skipped() []string { return slices.Clone(g.skipped) }

// Incidents lists the scheduled incidents in time order.
func (g *Generator) Incidents() []Incident { return slices.Clone(g.incidents) }

// Plan returns the freeze plan, or nil when none was made.
func (g *Generator) Plan() *Plan {
	if g.plan == nil {
		return nil
	}
	p := *g.plan
	return &p
}

// HistoryStart is when the series begin.
func (g *Generator) HistoryStart() time.Time { return g.histStart }

// Start is when the history ends and the live demo begins.
func (g *Generator) Start() time.Time { return g.opts.Start }

// SeriesCount is the number of generated series.
func (g *Generator) SeriesCount() int { return len(g.series) }

// diurnal is the traffic shape: mean 1, peak at 14:00 UTC, trough at
// 02:00 UTC, peak/trough 10:1.
func diurnal(t time.Time) float64 {
	const a = 9.0 / 11.0
	h := float64(t.UTC().Hour()) + float64(t.UTC().Minute())/60 + float64(t.UTC().Second())/3600
	return 1 + a*math.Sin(2*math.Pi*(h-8)/24)
}

// diurnalIntegral is the integral of diurnal over [a, b] in seconds.
func diurnalIntegral(a, b time.Time) float64 {
	const a0 = 9.0 / 11.0
	hours := func(t time.Time) float64 { return float64(t.Unix())/3600 + float64(t.Nanosecond())/3.6e12 }
	ha, hb := hours(a), hours(b)
	w := 2 * math.Pi / 24
	// integral of 1 + a0*sin(w(h-8)) dh, in hours, times 3600.
	f := func(h float64) float64 { return h - a0/w*math.Cos(w*(h-8)) }
	return (f(hb) - f(ha)) * 3600
}

func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// schedule places a fast and a slow burn on every SLO but the planned one,
// in the history, and one live fast burn on an SLO of another service.
func (g *Generator) schedule(target *stream) {
	rng := rand.New(rand.NewPCG(uint64(g.opts.Seed), 0x5eed))
	span := g.opts.Start.Sub(g.histStart) - 26*time.Hour
	live := false
	for _, st := range g.streams {
		if st == target {
			continue
		}
		if span > 0 {
			at := func(d time.Duration) time.Time {
				off := time.Duration(rng.Int64N(int64(span - d)))
				return g.histStart.Add(24*time.Hour + off).Truncate(time.Minute)
			}
			fs := at(time.Hour)
			st.incidents = append(st.incidents, Incident{Start: fs, End: fs.Add(45 * time.Minute), Kind: "fast-burn", BurnRate: 20})
			ss := at(12 * time.Hour)
			st.incidents = append(st.incidents, Incident{Start: ss, End: ss.Add(10 * time.Hour), Kind: "slow-burn", BurnRate: 3})
		}
		if !live && (target == nil || st.slo.Service != target.slo.Service) {
			live = true
			ls := g.opts.Start.Add(g.opts.Timeline.LiftAfter + 10*time.Minute)
			st.incidents = append(st.incidents, Incident{Start: ls, End: ls.Add(20 * time.Minute), Kind: "fast-burn", BurnRate: 20})
		}
		for i := range st.incidents {
			st.incidents[i].Service, st.incidents[i].SLO = st.slo.Service, st.slo.Name
		}
		g.incidents = append(g.incidents, st.incidents...)
	}
	slices.SortFunc(g.incidents, byStart)
}

// makePlan sizes the planned SLO's baseline error ratio, its historic
// burst and its live outage from its objective and traffic:
// before Start 20% of the budget goes to the baseline and 55% to a burst
// that leaves the period LiftAfter after Start (2 minutes early, to allow
// for the 5-minute evaluation of the long rule group), leaving 25%; a live
// outage from Start spends 45% within FreezeAfter/2 (remaining -20%); when
// the burst has left, 35% remains.
func (g *Generator) makePlan(st *stream) error {
	s := st.slo
	if s.Period.Kind != slo.Rolling {
		return fmt.Errorf("demo: the planned SLO %s needs a rolling period", s.ID())
	}
	if st.kind == kindAvailability {
		return fmt.Errorf("demo: the planned SLO %s must be a ratio or latency SLI", s.ID())
	}
	period := s.Period.Rolling
	if g.opts.History < period {
		return fmt.Errorf("demo: the history (%s) must cover the planned SLO's period (%s)", g.opts.History, period)
	}
	tl := g.opts.Timeline
	const (
		baseShare, burstShare, outageShare = 0.20, 0.55, 0.45
		lead, burstLen                     = 2 * time.Minute, 2 * time.Minute
	)
	eb := s.ErrorBudget()
	// Events the total selector counts per unit of diurnal shape: the
	// planned SLO's own and any other generated series it matches.
	k := g.matchedRate(st.totalSel)
	shape := diurnalIntegral(g.opts.Start.Add(-period), g.opts.Start)
	n := k * shape
	// B = eb * (N + burst), burst = 0.55 B.
	budget := eb * n / (1 - burstShare*eb)
	st.baseErr = baseShare * budget / (st.rate * shape)
	burstEnd := g.opts.Start.Add(tl.LiftAfter - period - lead)
	burst := Incident{Service: s.Service, SLO: s.Name, Start: burstEnd.Add(-burstLen), End: burstEnd, Kind: "planned-burst",
		ErrorsPerSecond: burstShare * budget / burstLen.Seconds()}
	outLen := tl.FreezeAfter / 2
	outage := Incident{Service: s.Service, SLO: s.Name, Start: g.opts.Start, End: g.opts.Start.Add(outLen), Kind: "planned-outage",
		ErrorsPerSecond: outageShare * budget / outLen.Seconds()}
	st.incidents = append(st.incidents, burst, outage)
	g.incidents = append(g.incidents, burst, outage)
	slices.SortFunc(g.incidents, byStart)
	g.plan = &Plan{
		Service: s.Service, SLO: s.Name, Budget: budget,
		RemainingAtStart: 1 - baseShare - burstShare,
		RemainingFrozen:  1 - baseShare - burstShare - outageShare,
		RemainingLifted:  1 - baseShare - outageShare,
		Burst:            burst, Outage: outage,
	}
	return nil
}

// matchedRate is the mean event rate (per unit of diurnal shape) of the
// generated counter series the selector matches.
func (g *Generator) matchedRate(sel selector) float64 {
	total := 0.0
	for _, st := range g.streams {
		for _, gr := range st.groups {
			for _, c := range gr.counters {
				if c.share.kind == shareNone || !matches(c.s.labels, sel) {
					continue
				}
				total += st.rate * gr.weight * c.share.at(st.baseErr)
			}
		}
	}
	return total
}

func matches(l labels.Labels, sel selector) bool {
	if l.Get(model.MetricNameLabel) != sel.name {
		return false
	}
	for _, m := range sel.matchers {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// index lists every series once, in label order, and groups them into
// exposition families.
func (g *Generator) index() {
	seen := map[uint64]*series{}
	for _, st := range g.streams {
		for _, gr := range st.groups {
			for i, c := range gr.counters {
				if prev, ok := seen[c.s.labels.Hash()]; ok {
					// Two SLOs read the same series: one series, fed by both.
					gr.counters[i].s = prev
					continue
				}
				seen[c.s.labels.Hash()] = c.s
				g.series = append(g.series, c.s)
			}
			if gr.gauge != nil {
				if prev, ok := seen[gr.gauge.labels.Hash()]; ok {
					gr.gauge = prev
					continue
				}
				seen[gr.gauge.labels.Hash()] = gr.gauge
				g.series = append(g.series, gr.gauge)
			}
		}
	}
	slices.SortFunc(g.series, func(a, b *series) int { return labels.Compare(a.labels, b.labels) })
	g.families = families(g.series)
}

// Backfill writes the series' samples every step over [from, to) through
// app, simulating the traffic from where the generator stands (the
// history start at first). Calls must move forward in time: from must not
// be before what an earlier call or a scrape already simulated. Samples
// are committed every 100,000.
func (g *Generator) Backfill(ctx context.Context, app storage.Appendable, from, to time.Time, step time.Duration) error {
	if step <= 0 {
		return errors.New("demo: backfill step must be positive")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if from.Before(g.now) {
		return fmt.Errorf("demo: backfill from %s: the series are already simulated up to %s", from.UTC().Format(time.RFC3339), g.now.UTC().Format(time.RFC3339))
	}
	a := app.Appender(ctx)
	pending := 0
	first := from.Truncate(step)
	if first.Before(from) {
		first = first.Add(step)
	}
	for t := first; t.Before(to); t = t.Add(step) {
		if err := ctx.Err(); err != nil {
			_ = a.Rollback()
			return err
		}
		g.advance(t)
		ts := t.UnixMilli()
		for _, s := range g.series {
			if _, err := a.Append(0, s.labels, ts, s.value(t, g.opts.Seed)); err != nil {
				_ = a.Rollback()
				return fmt.Errorf("demo: appending %s at %s: %w", s.labels, t.UTC().Format(time.RFC3339), err)
			}
			pending++
		}
		if pending >= 100_000 {
			if err := a.Commit(); err != nil {
				return fmt.Errorf("demo: committing samples: %w", err)
			}
			a = app.Appender(ctx)
			pending = 0
		}
	}
	if err := a.Commit(); err != nil {
		return fmt.Errorf("demo: committing samples: %w", err)
	}
	return nil
}

// advance simulates the traffic up to t in steps of at most a minute.
// g.mu must be held.
func (g *Generator) advance(t time.Time) {
	for g.now.Before(t) {
		next := g.now.Add(time.Minute).Truncate(time.Minute)
		if next.After(t) {
			next = t
		}
		for _, st := range g.streams {
			st.step(g.now, next)
		}
		g.now = next
	}
}

// byStart sorts incidents.
func byStart(a, b Incident) int { return cmp.Compare(a.Start.UnixNano(), b.Start.UnixNano()) }
