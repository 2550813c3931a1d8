package rules

import (
	"context"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/slokeeper/slokeeper/slo"
)

// The simulator evaluates the generated rules in order with the Prometheus
// 3.x engine over a TSDB, the way the rule manager does: every group at its
// own interval and offset, recording rules writing their results back.

type simRule struct {
	record, alert string
	expr          string
	labels        map[string]string
}

type simGroup struct {
	name     string
	interval time.Duration
	offset   time.Duration
	rules    []simRule
}

type sim struct {
	t      testing.TB
	st     *teststorage.TestStorage
	eng    *promql.Engine
	groups []simGroup
	scrape time.Duration
	// raw appends the raw series for a scrape at ts.
	raw func(app storage.Appender, ts time.Time)
	// firstFire / lastFire per alert key.
	firstFire map[string]time.Time
	lastFire  map[string]time.Time
	firing    map[string]bool
	// onEval is called after each group evaluation.
	onEval  func(g string, ts time.Time)
	nanSeen int
}

func groupInterval(s string) time.Duration {
	d, err := parseDur(s)
	if err != nil {
		panic(err)
	}
	return d
}

func parseDur(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

// onlyPeriod drops the alert windows' ratio, burn rate and event count
// rules: for tests that only look at the period and the budget.
func (s *sim) onlyPeriod() {
	for i := range s.groups {
		g := &s.groups[i]
		var keep []simRule
		for _, r := range g.rules {
			if w := r.labels[LabelWindow]; w != "" && w != WindowPeriod {
				continue
			}
			keep = append(keep, r)
		}
		g.rules = keep
	}
}

// offsets mimic the rule manager's hash-based offsets: not multiples of
// the interval and different per group.
var simOffsets = map[string]time.Duration{"short": 17 * time.Second, "long": 153 * time.Second, "alerts": 41 * time.Second}

func newSim(t testing.TB, out *Output, service string) *sim {
	t.Helper()
	sr, ok := out.Service(service)
	if !ok {
		t.Fatalf("no service %s", service)
	}
	s := &sim{
		t: t,
		// No WAL and no compaction inside the simulated span: the
		// simulator must not wait for the disk.
		st: teststorage.New(t, func(o *tsdb.Options) {
			o.WALSegmentSize = -1
			o.MinBlockDuration = int64(60 * 24 * time.Hour / time.Millisecond)
			o.MaxBlockDuration = o.MinBlockDuration
		}),
		eng: promql.NewEngine(promql.EngineOpts{
			MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute,
			EnableAtModifier: true, Parser: parser.NewParser(parser.Options{}),
		}),
		scrape:    time.Minute,
		firstFire: map[string]time.Time{},
		lastFire:  map[string]time.Time{},
		firing:    map[string]bool{},
	}
	for _, g := range sr.Groups {
		kind := g.Name[len(g.Name)-len("short"):]
		for _, k := range []string{"short", "long", "alerts"} {
			if len(g.Name) > len(k) && g.Name[len(g.Name)-len(k):] == k {
				kind = k
			}
		}
		sg := simGroup{name: g.Name, interval: groupInterval(g.Interval), offset: simOffsets[kind]}
		for _, r := range g.Rules {
			sg.rules = append(sg.rules, simRule{record: r.Record, alert: r.Alert, expr: r.Expr, labels: r.Labels})
		}
		s.groups = append(s.groups, sg)
	}
	return s
}

func alertKey(l labels.Labels, name string) string {
	if tier := l.Get(LabelTier); tier != "" {
		return tier
	}
	return name
}

func (s *sim) evalGroup(g *simGroup, ts time.Time) {
	ctx := context.Background()
	fired := map[string]bool{}
	for _, r := range g.rules {
		q, err := s.eng.NewInstantQuery(ctx, s.st, nil, r.expr, ts)
		if err != nil {
			s.t.Fatalf("%s: %s: %v", g.name, r.expr, err)
		}
		res := q.Exec(ctx)
		if res.Err != nil {
			s.t.Fatalf("%s at %s: %s: %v", g.name, ts, r.expr, res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			s.t.Fatalf("%s: %v", r.expr, err)
		}
		if r.alert != "" {
			for _, smp := range vec {
				b := labels.NewBuilder(smp.Metric)
				for k, v := range r.labels {
					b.Set(k, v)
				}
				fired[alertKey(b.Labels(), r.alert)] = true
			}
			q.Close()
			continue
		}
		app := s.st.Appender(ctx)
		for _, smp := range vec {
			if smp.H != nil {
				continue
			}
			if math.IsNaN(smp.F) || math.IsInf(smp.F, 0) {
				s.nanSeen++
				s.t.Errorf("%s at %s recorded %v for %s", r.record, ts.UTC(), smp.F, smp.Metric)
			}
			b := labels.NewBuilder(smp.Metric)
			b.Set(model.MetricNameLabel, r.record)
			for k, v := range r.labels {
				b.Set(k, v)
			}
			if _, err := app.Append(0, b.Labels(), ts.UnixMilli(), smp.F); err != nil {
				s.t.Fatalf("append %s: %v", b.Labels(), err)
			}
		}
		q.Close()
		if err := app.Commit(); err != nil {
			s.t.Fatal(err)
		}
	}
	if hasAlerts(g) {
		for k := range fired {
			if !s.firing[k] {
				if _, ok := s.firstFire[k]; !ok {
					s.firstFire[k] = ts
				}
			}
			s.lastFire[k] = ts
		}
		s.firing = fired
	}
}

func hasAlerts(g *simGroup) bool {
	for _, r := range g.rules {
		if r.alert != "" {
			return true
		}
	}
	return false
}

// run simulates (from, to]: scrapes at :07 of each scrape step, then group
// evaluations at their offsets.
func (s *sim) run(from, to time.Time) {
	ctx := context.Background()
	for ts := from.Truncate(time.Second).Add(time.Second); !ts.After(to); ts = ts.Add(time.Second) {
		if (ts.Unix()-7)%int64(s.scrape/time.Second) == 0 && s.raw != nil {
			app := s.st.Appender(ctx)
			s.raw(app, ts)
			if err := app.Commit(); err != nil {
				s.t.Fatal(err)
			}
		}
		for i := range s.groups {
			g := &s.groups[i]
			if (ts.Unix()-int64(g.offset/time.Second))%int64(g.interval/time.Second) == 0 {
				s.evalGroup(g, ts)
				if s.onEval != nil {
					s.onEval(g.name, ts)
				}
			}
		}
	}
}

// history appends the raw scrapes of (from, to] without evaluating rules,
// so that the raw series have a past like the backfilled recorded series
// (rate5m over the first minutes of a sim would otherwise see a partial
// window).
func (s *sim) history(from, to time.Time) {
	ctx := context.Background()
	step := int64(s.scrape / time.Second)
	first := from.Unix() + 1
	if m := (first - 7) % step; m != 0 {
		first += (step - m) % step
	}
	app := s.st.Appender(ctx)
	for ts := first; ts <= to.Unix(); ts += step {
		s.raw(app, time.Unix(ts, 0))
	}
	if err := app.Commit(); err != nil {
		s.t.Fatal(err)
	}
}

// query evaluates an instant query and returns the value of its only sample.
func (s *sim) query(expr string, ts time.Time) (float64, bool) {
	ctx := context.Background()
	q, err := s.eng.NewInstantQuery(ctx, s.st, nil, expr, ts)
	if err != nil {
		s.t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		s.t.Fatal(res.Err)
	}
	vec, _ := res.Vector()
	if len(vec) == 0 {
		return 0, false
	}
	if len(vec) > 1 {
		s.t.Fatalf("%s: %d samples", expr, len(vec))
	}
	return vec[0].F, true
}

// backfill writes the history of the base, rate30m, tile and tail series of
// one SLO from constant rates, as the rules would have recorded them, for
// (from, to].
func (s *sim) backfill(sl *slo.SLO, from, to time.Time, errRate, totalRate float64, opts Options) {
	ctx := context.Background()
	short, long := opts.ShortInterval, opts.LongInterval
	base := labels.FromMap(map[string]string{LabelSLO: sl.Name, LabelService: sl.Service})
	with := func(name string) labels.Labels {
		b := labels.NewBuilder(base)
		b.Set(model.MetricNameLabel, name)
		if sl.Team != "" {
			b.Set(LabelTeam, sl.Team)
		}
		return b.Labels()
	}
	// number of short-group evaluations in (a, b]
	evals := func(a, b time.Time) float64 {
		off := int64(simOffsets["short"] / time.Second)
		iv := int64(short / time.Second)
		f := func(x int64) int64 { return int64(math.Floor(float64(x-off) / float64(iv))) }
		return float64(f(b.Unix()) - f(a.Unix()))
	}
	type pt struct {
		ts   time.Time
		name string
		v    float64
	}
	var pts []pt
	for ts := from.Truncate(time.Second).Add(time.Second); !ts.After(to); ts = ts.Add(time.Second) {
		if (ts.Unix()-int64(simOffsets["short"]/time.Second))%int64(short/time.Second) == 0 {
			pts = append(pts, pt{ts, MetricErrorsRate5m, errRate}, pt{ts, MetricTotalRate5m, totalRate},
				pt{ts, MetricErrorsRate30m, errRate}, pt{ts, MetricTotalRate30m, totalRate})
		}
		if (ts.Unix()-int64(simOffsets["long"]/time.Second))%int64(long/time.Second) == 0 {
			step := int(long / time.Minute)
			phase := ((ts.UTC().Minute() + step) % 60) / step
			if phase == 0 {
				n := evals(ts.Add(-time.Hour), ts)
				pts = append(pts, pt{ts, MetricErrorsTile, n * errRate}, pt{ts, MetricTotalTile, n * totalRate})
			}
			n := evals(ts.Add(-time.Duration(phase)*long), ts)
			pts = append(pts, pt{ts, MetricErrorsTail, n * errRate}, pt{ts, MetricTotalTail, n * totalRate})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].ts.Before(pts[j].ts) })
	app := s.st.Appender(ctx)
	for _, p := range pts {
		if _, err := app.Append(0, with(p.name), p.ts.UnixMilli(), p.v); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := app.Commit(); err != nil {
		s.t.Fatal(err)
	}
}

// ratioTraffic appends http_requests_total{code="200"|"500"} counters.
type ratioTraffic struct {
	ok, bad float64 // cumulative
	// rate returns requests/s and the error ratio at ts.
	rate func(ts time.Time) (float64, float64)
	last time.Time
	// history of cumulative counts for exact answers.
	hist []countPoint
}

type countPoint struct {
	ts       time.Time
	bad, all float64
}

func (r *ratioTraffic) append(app storage.Appender, ts time.Time) {
	if !r.last.IsZero() {
		dt := ts.Sub(r.last).Seconds()
		req, er := r.rate(ts.Add(-ts.Sub(r.last) / 2))
		r.bad += req * dt * er
		r.ok += req * dt * (1 - er)
	}
	r.last = ts
	for _, c := range []struct {
		code string
		v    float64
	}{{"200", r.ok}, {"500", r.bad}} {
		l := labels.FromStrings(model.MetricNameLabel, "http_requests_total", "job", "sim", "code", c.code)
		if _, err := app.Append(0, l, ts.UnixMilli(), c.v); err != nil {
			panic(err)
		}
	}
	r.hist = append(r.hist, countPoint{ts, r.bad, r.ok + r.bad})
}

// exact returns the error ratio over (ts-w, ts] from the cumulative counts.
func (r *ratioTraffic) exact(ts time.Time, w time.Duration) float64 {
	at := func(x time.Time) countPoint {
		i := sort.Search(len(r.hist), func(i int) bool { return r.hist[i].ts.After(x) })
		if i == 0 {
			return countPoint{}
		}
		return r.hist[i-1]
	}
	a, b := at(ts.Add(-w)), at(ts)
	if b.all-a.all <= 0 {
		return 0
	}
	return (b.bad - a.bad) / (b.all - a.all)
}

func simSLO(period slo.Period, objective float64) slo.SLO {
	return slo.SLO{
		Service: "sim", Name: "avail", Objective: objective, Period: period,
		SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
			Errors: `http_requests_total{job="sim",code=~"5.."}`,
			Total:  `http_requests_total{job="sim"}`,
		}},
		Alerting: slo.Alerting{Absent: slo.AbsentAlert{Disabled: true}},
	}
}

var simStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
