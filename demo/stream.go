package demo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/slo"
)

type streamKind int

const (
	kindRatioSame    streamKind = iota // errors and total on one counter: good and bad label values
	kindRatioDiff                      // errors and total on two counters
	kindGoodSame                       // good and total on one counter
	kindGoodDiff                       // good and total on two counters
	kindLatency                        // classic histogram
	kindAvailability                   // 0/1 gauge
)

type shareKind int

const (
	shareNone   shareKind = iota // not an event count (a histogram's _sum)
	shareTotal                   // every event
	shareGood                    // good events
	shareBad                     // bad events
	shareBucket                  // events up to a bucket bound
)

// share is the part of a stream's events a counter counts.
type share struct {
	kind    shareKind
	good    float64 // shareBucket: fraction of good events up to the bound
	bad     float64 // shareBucket: fraction of bad events up to the bound
	latency float64 // shareNone on _sum: mean latency of good requests (bad: x8)
	idx     int     // shareBucket: the bucket's index
}

func (s share) at(f float64) float64 {
	switch s.kind {
	case shareTotal:
		return 1
	case shareGood:
		return 1 - f
	case shareBad:
		return f
	case shareBucket:
		return (1-f)*s.good + f*s.bad
	}
	return 0
}

type series struct {
	labels labels.Labels
	count  float64
	// gauge is set for availability gauges: the group whose error ratio
	// decides the value.
	gauge *gaugeSource
}

type gaugeSource struct {
	st   *stream
	hash uint64
}

func (s *series) value(t time.Time, seed int64) float64 {
	if s.gauge == nil {
		return s.count
	}
	f := s.gauge.st.errRatio(t)
	if f <= 0 {
		return 1
	}
	u := float64(hash64(strconv.FormatUint(s.gauge.hash, 16), strconv.FormatInt(t.UnixMilli()/1000, 10), strconv.FormatInt(seed, 10))>>11) / (1 << 53)
	if u < f {
		return 0
	}
	return 1
}

type counter struct {
	s     *series
	share share
}

type group struct {
	weight   float64
	counters []counter
	gauge    *series
}

type stream struct {
	slo       *slo.SLO
	kind      streamKind
	rate      float64 // mean events per second
	baseErr   float64 // baseline error ratio
	groups    []*group
	totalSel  selector
	incidents []Incident
	rng       *rand.Rand
	// mirror: the ratio stream counts on X_count where a latency SLO of the
	// same service reads the histogram X. Its series then get X_bucket
	// companions at the latency thresholds (all requests fast), as a real
	// histogram has, so that the latency SLO sees no total without buckets.
	mirror   string
	mirrorLE []string
}

// Latency buckets relative to the threshold, and where good and bad
// requests fall: good ones at or below the threshold, bad ones above.
var (
	bucketFactors = []float64{0.1, 0.25, 0.5, 1, 2, 5}
	goodCum       = []float64{0.3, 0.6, 0.85, 1, 1, 1, 1}
	badCum        = []float64{0, 0, 0, 0, 0.7, 0.95, 1}
)

func (g *Generator) newStream(p parser.Parser, s *slo.SLO) (*stream, error) {
	h := hash64(s.ID(), strconv.FormatInt(g.opts.Seed, 10))
	st := &stream{
		slo:  s,
		rate: 5 + float64(h%4500)/100, // 5..50 events/s
		// Baseline: a tenth to a quarter of the budget.
		baseErr: s.ErrorBudget() * (0.1 + float64(h>>20%150)/1000),
		rng:     rand.New(rand.NewPCG(h, uint64(g.opts.Seed))),
	}
	var sels []string
	switch s.SLI.Kind {
	case slo.SLIRatio:
		r := s.SLI.Ratio
		sels = []string{r.Total, r.Errors, r.Good}
	case slo.SLILatency:
		if s.SLI.Latency.Native {
			return nil, errors.New("native histograms cannot be exposed in the text format")
		}
		sels = []string{s.SLI.Latency.Histogram, s.SLI.Latency.Total}
	case slo.SLIAvailability:
		sels = []string{s.SLI.Availability.Gauge}
	default:
		return nil, fmt.Errorf("a %s SLI gives no selectors to derive series from", s.SLI.Kind)
	}
	parsed := make([]selector, len(sels))
	for i, x := range sels {
		if x == "" {
			continue
		}
		sel, err := parseSelector(p, x)
		if err != nil {
			return nil, err
		}
		parsed[i] = sel
	}
	base := parsed[0]
	st.totalSel = base
	if s.SLI.Kind == slo.SLIRatio && strings.HasSuffix(base.name, "_count") {
		fam := strings.TrimSuffix(base.name, "_count")
		for i := range g.opts.SLOs {
			o := &g.opts.SLOs[i]
			if o.Service != s.Service || o.SLI.Kind != slo.SLILatency || o.SLI.Latency.Native {
				continue
			}
			hs, err := parseSelector(p, o.SLI.Latency.Histogram)
			if err != nil || hs.name != fam {
				continue
			}
			st.mirror = base.name
			st.mirrorLE = append(st.mirrorLE, labels.FormatOpenMetricsFloat(o.SLI.Latency.Threshold.Seconds()))
		}
		if st.mirror != "" {
			st.mirrorLE = append(st.mirrorLE, "+Inf")
		}
	}
	// Fixed labels: job (the service, unless the selector constrains it)
	// and instance.
	fixed := map[string]string{}
	constrained := map[string]bool{}
	for _, m := range base.matchers {
		constrained[m.Name] = true
	}
	if !constrained["job"] {
		fixed["job"] = s.Service
	}
	if !constrained["instance"] {
		fixed["instance"] = g.opts.Instance
	}
	combos, err := groupCombos(s.GroupBy, base.matchers)
	if err != nil {
		return nil, err
	}
	for _, c := range combos {
		gr := &group{weight: c.weight}
		fx := map[string]string{}
		for k, v := range fixed {
			fx[k] = v
		}
		for k, v := range c.labels {
			fx[k] = v
		}
		if err := st.build(gr, parsed, fx); err != nil {
			return nil, err
		}
		st.groups = append(st.groups, gr)
	}
	if st.kind == kindLatency || st.kind == kindAvailability {
		st.totalSel = selector{}
		if st.kind == kindLatency {
			st.totalSel = selector{name: base.name + "_count", matchers: base.matchers}
			if parsed[1].name != "" {
				st.totalSel = parsed[1]
			}
		}
	}
	return st, nil
}

type combo struct {
	labels map[string]string
	weight float64
}

// groupCombos picks two or three values per groupBy label (fitting the
// selector's matchers) and returns their combinations, at most 9.
func groupCombos(groupBy []string, ms []*labels.Matcher) ([]combo, error) {
	out := []combo{{labels: map[string]string{}, weight: 1}}
	weights := []float64{0.5, 0.3, 0.2}
	for _, name := range groupBy {
		var conds []cond
		for _, m := range ms {
			if m.Name == name {
				conds = append(conds, cond{m: m})
			}
		}
		var vals []string
		for _, v := range candidateValues(name) {
			ok := v != ""
			for _, c := range conds {
				ok = ok && c.ok(v)
			}
			if ok && !contains(vals, v) {
				vals = append(vals, v)
			}
			if len(vals) == 3 || (len(out) > 1 && len(vals) == 2) {
				break
			}
		}
		if len(vals) == 0 {
			if v, ok := pickValue(name, conds); ok {
				vals = []string{v}
			} else {
				return nil, fmt.Errorf("no value of groupBy label %s fits the selector", name)
			}
		}
		ws := weights[:len(vals)]
		if len(vals) == 1 {
			ws = []float64{1}
		}
		sum := 0.0
		for _, w := range ws {
			sum += w
		}
		var next []combo
		for _, c := range out {
			for i, v := range vals {
				l := map[string]string{}
				for k, x := range c.labels {
					l[k] = x
				}
				l[name] = v
				next = append(next, combo{labels: l, weight: c.weight * ws[i] / sum})
			}
		}
		out = next
	}
	return out, nil
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// build creates the series of one group.
func (st *stream) build(gr *group, sels []selector, fixed map[string]string) error {
	s := st.slo
	add := func(sel selector, conds []cond, sh share) error {
		l, err := labelSet(sel.name, conds, fixed)
		if err != nil {
			return fmt.Errorf("%s: %w", sel.name, err)
		}
		gr.counters = append(gr.counters, counter{s: &series{labels: l}, share: sh})
		if st.mirror != "" && sel.name == st.mirror {
			fam := strings.TrimSuffix(sel.name, "_count") + "_bucket"
			for _, le := range st.mirrorLE {
				c := append(conds[:len(conds):len(conds)], cond{m: labels.MustNewMatcher(labels.MatchEqual, "le", le)})
				bl, err := labelSet(fam, c, fixed)
				if err != nil {
					return fmt.Errorf("%s: %w", fam, err)
				}
				gr.counters = append(gr.counters, counter{s: &series{labels: bl}, share: sh})
			}
		}
		return nil
	}
	// goodBad adds the two series of a counter split by extra matchers:
	// the "in" series meets them all, the "out" one fails the first.
	split := func(total selector, extra []*labels.Matcher, in, out share) error {
		if len(extra) == 0 {
			return errors.New("the errors (or good) selector selects the same series as the total")
		}
		inConds := append(positive(total.matchers), positive(extra)...)
		outConds := append(positive(total.matchers), cond{m: extra[0], negate: true})
		outConds = append(outConds, positive(extra[1:])...)
		if err := add(total, inConds, in); err != nil {
			return err
		}
		return add(total, outConds, out)
	}
	switch s.SLI.Kind {
	case slo.SLIRatio:
		total := sels[0]
		if sels[1].name != "" { // errors/total
			if sels[1].name == total.name {
				st.kind = kindRatioSame
				return split(total, sels[1].extra(total), share{kind: shareBad}, share{kind: shareGood})
			}
			st.kind = kindRatioDiff
			if err := add(total, positive(total.matchers), share{kind: shareTotal}); err != nil {
				return err
			}
			return add(sels[1], positive(sels[1].matchers), share{kind: shareBad})
		}
		if sels[2].name == total.name {
			st.kind = kindGoodSame
			return split(total, sels[2].extra(total), share{kind: shareGood}, share{kind: shareBad})
		}
		st.kind = kindGoodDiff
		if err := add(total, positive(total.matchers), share{kind: shareTotal}); err != nil {
			return err
		}
		return add(sels[2], positive(sels[2].matchers), share{kind: shareGood})
	case slo.SLILatency:
		st.kind = kindLatency
		h := sels[0]
		thr := s.SLI.Latency.Threshold.Seconds()
		conds := positive(h.matchers)
		for i, f := range bucketFactors {
			le := labels.FormatOpenMetricsFloat(thr * f)
			c := append(conds[:len(conds):len(conds)], cond{m: labels.MustNewMatcher(labels.MatchEqual, "le", le)})
			if err := add(selector{name: h.name + "_bucket"}, c, share{kind: shareBucket, good: goodCum[i], bad: badCum[i], idx: i}); err != nil {
				return err
			}
		}
		c := append(conds[:len(conds):len(conds)], cond{m: labels.MustNewMatcher(labels.MatchEqual, "le", "+Inf")})
		if err := add(selector{name: h.name + "_bucket"}, c, share{kind: shareBucket, good: 1, bad: 1, idx: len(bucketFactors)}); err != nil {
			return err
		}
		if err := add(selector{name: h.name + "_count"}, conds, share{kind: shareTotal}); err != nil {
			return err
		}
		if err := add(selector{name: h.name + "_sum"}, conds, share{kind: shareNone, latency: thr * 0.3}); err != nil {
			return err
		}
		if sels[1].name != "" {
			return add(sels[1], positive(sels[1].matchers), share{kind: shareTotal})
		}
		return nil
	case slo.SLIAvailability:
		st.kind = kindAvailability
		l, err := labelSet(sels[0].name, positive(sels[0].matchers), fixed)
		if err != nil {
			return err
		}
		gr.gauge = &series{labels: l, gauge: &gaugeSource{st: st, hash: l.Hash()}}
		return nil
	}
	return fmt.Errorf("unsupported SLI kind %s", s.SLI.Kind)
}

// errRatio is the stream's error ratio at t: the baseline plus the burn
// of the incidents under way.
func (st *stream) errRatio(t time.Time) float64 {
	f := st.baseErr
	for _, in := range st.incidents {
		if in.BurnRate > 0 && !t.Before(in.Start) && t.Before(in.End) {
			f += in.BurnRate * st.slo.ErrorBudget()
		}
	}
	return min(f, 1)
}

// extraErrors is the rate of failing requests the planned incidents add
// at t.
func (st *stream) extraErrors(t time.Time) float64 {
	x := 0.0
	for _, in := range st.incidents {
		if in.ErrorsPerSecond > 0 && !t.Before(in.Start) && t.Before(in.End) {
			x += in.ErrorsPerSecond
		}
	}
	return x
}

// step adds the events of (from, to] to the stream's counters.
func (st *stream) step(from, to time.Time) {
	if st.kind == kindAvailability {
		return
	}
	dt := to.Sub(from).Seconds()
	mid := from.Add(to.Sub(from) / 2)
	lambda := st.rate * diurnal(mid) * dt
	f := st.errRatio(mid)
	extra := st.extraErrors(mid) * dt
	for _, gr := range st.groups {
		n := poisson(st.rng, lambda*gr.weight)
		bad := binomial(st.rng, n, f)
		good := n - bad
		// The planned incidents' failing requests come on top.
		bad += poisson(st.rng, extra*gr.weight)
		st.apply(gr, good, bad)
	}
}

func (st *stream) apply(gr *group, good, bad float64) {
	var goodParts, badParts [7]float64
	if st.kind == kindLatency {
		split(st.rng, good, goodCum, goodParts[:])
		split(st.rng, bad, badCum, badParts[:])
	}
	for _, c := range gr.counters {
		switch c.share.kind {
		case shareTotal:
			c.s.count += good + bad
		case shareGood:
			c.s.count += good
		case shareBad:
			c.s.count += bad
		case shareBucket:
			// The cumulative count up to this bucket's bound.
			c.s.count += goodParts[c.share.idx] + badParts[c.share.idx]
		case shareNone:
			c.s.count += good*c.share.latency + bad*c.share.latency*8
		}
	}
}

// split draws how n events fall into the classes given by cumulative
// fractions, and writes the cumulative counts.
func split(rng *rand.Rand, n float64, cum []float64, out []float64) {
	left := n
	prev := 0.0
	acc := 0.0
	for i, c := range cum {
		p := c - prev
		rest := 1 - prev
		var k float64
		switch {
		case p <= 0:
		case rest <= p+1e-12:
			k = left
		default:
			k = binomial(rng, left, p/rest)
		}
		left -= k
		acc += k
		out[i] = acc
		prev = c
	}
}

// poisson draws a Poisson count (normal approximation above 50).
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return math.Max(0, math.Round(lambda+rng.NormFloat64()*math.Sqrt(lambda)))
	}
	l := math.Exp(-lambda)
	k := 0.0
	p := rng.Float64()
	for p > l {
		k++
		p *= rng.Float64()
	}
	return k
}

// binomial draws a binomial count (normal approximation for large n).
func binomial(rng *rand.Rand, n, p float64) float64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if n < 40 {
		k := 0.0
		for range int(n) {
			if rng.Float64() < p {
				k++
			}
		}
		return k
	}
	mean := n * p
	if mean < 20 {
		return math.Min(n, poisson(rng, mean))
	}
	return math.Min(n, math.Max(0, math.Round(mean+rng.NormFloat64()*math.Sqrt(mean*(1-p)))))
}
