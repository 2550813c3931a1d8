package rules

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/slo"
)

type gen struct {
	opts  Options
	zones map[string]*zoneInfo
	p     parser.Parser
}

// sloGen holds what the rules of one SLO share.
type sloGen struct {
	s      *slo.SLO
	match  string            // `service="x", slo="y"`: selects the SLO's series
	labels map[string]string // slo, service (, team)
	budget float64
	tiers  []slo.Tier // enabled tiers
	// windows are the distinct alert windows, ascending.
	windows []time.Duration
	// longWindows are the tiers' long windows (for event counts).
	longWindows map[time.Duration]bool
	rawRatio    bool // Query SLI with only ErrorRatio
	shared      map[string]map[string]string
	rawTotal    string
}

func (g *gen) zone(name string) (*zoneInfo, error) {
	if z, ok := g.zones[name]; ok {
		return z, nil
	}
	z, err := loadZone(name)
	if err != nil {
		return nil, err
	}
	g.zones[name] = z
	return z, nil
}

func (g *gen) service(svc string, slos []slo.SLO, idx []int) (ServiceRules, error) {
	if g.p == nil {
		g.p = parser.NewParser(parser.Options{})
	}
	o := g.opts
	short := RuleGroup{Name: GroupName(svc, "short"), Interval: fmtDur(o.ShortInterval)}
	long := RuleGroup{Name: GroupName(svc, "long"), Interval: fmtDur(o.LongInterval)}
	alerts := RuleGroup{Name: GroupName(svc, "alerts"), Interval: fmtDur(o.AlertInterval)}

	// Per-service helper series first: month starts.
	zones := map[string]bool{}
	for _, i := range idx {
		s := &slos[i]
		if !isRawRatio(s) && s.Period.Kind == slo.CalendarMonth {
			zones[zoneName(s.Period.TimeZone)] = true
		}
	}
	for _, zn := range slo.SortedKeys(zones) {
		z, err := g.zone(zn)
		if err != nil {
			return ServiceRules{}, err
		}
		long.Rules = append(long.Rules, monthStartRules(svc, z)...)
	}

	for _, i := range idx {
		s := &slos[i]
		sg, err := g.prepare(s)
		if err != nil {
			return ServiceRules{}, err
		}
		sr, lr, err := g.recording(sg)
		if err != nil {
			return ServiceRules{}, fmt.Errorf("SLO %s: %w", s.ID(), err)
		}
		short.Rules = append(short.Rules, sr...)
		long.Rules = append(long.Rules, lr...)
		alerts.Rules = append(alerts.Rules, g.alerting(sg)...)
	}
	// Exact capacities: the groups live as long as the Output.
	short.Rules, long.Rules = slices.Clip(slices.Clone(short.Rules)), slices.Clip(slices.Clone(long.Rules))
	groups := []RuleGroup{short, long}
	if len(alerts.Rules) > 0 {
		alerts.Rules = slices.Clip(slices.Clone(alerts.Rules))
		groups = append(groups, alerts)
	}
	return ServiceRules{Service: svc, Groups: groups}, nil
}

func zoneName(tz string) string {
	if tz == "" || tz == "Etc/UTC" {
		return "UTC"
	}
	return tz
}

func isRawRatio(s *slo.SLO) bool {
	return s.SLI.Kind == slo.SLIQuery && s.SLI.Query != nil && s.SLI.Query.ErrorRatio != "" &&
		s.SLI.Query.Total == ""
}

func (g *gen) prepare(s *slo.SLO) (*sloGen, error) {
	if !(s.Objective > 0 && s.Objective < 100) {
		return nil, fmt.Errorf("SLO %s: objective %v must be between 0 and 100 (exclusive)", s.ID(), s.Objective)
	}
	if s.Period.Kind == slo.Rolling && s.Period.Rolling < time.Hour {
		return nil, fmt.Errorf("SLO %s: period %s is too short", s.ID(), s.Period)
	}
	all := s.Alerting.ResolveTiers(g.opts.Tiers)
	if err := checkLabels(s, all); err != nil {
		return nil, err
	}
	sg := &sloGen{
		s:           s,
		match:       LabelService + `="` + escapeLabelValue(s.Service) + `",` + LabelSLO + `="` + escapeLabelValue(s.Name) + `"`,
		labels:      map[string]string{LabelSLO: s.Name, LabelService: s.Service},
		budget:      s.ErrorBudget(),
		longWindows: map[time.Duration]bool{},
		rawRatio:    isRawRatio(s),
	}
	if s.Team != "" {
		sg.labels[LabelTeam] = s.Team
	}
	ws := map[time.Duration]bool{}
	for _, t := range all {
		if t.Disabled {
			continue
		}
		if t.Long <= 0 || t.Short <= 0 {
			return nil, fmt.Errorf("SLO %s: tier %s has no windows", s.ID(), t.Name)
		}
		if t.BurnFactor(s.Period.Nominal()) <= 0 {
			return nil, fmt.Errorf("SLO %s: tier %s has no burn-rate factor", s.ID(), t.Name)
		}
		t.Long, t.Short = roundWindow(t.Long), roundWindow(t.Short)
		sg.tiers = append(sg.tiers, t)
		ws[t.Long], ws[t.Short] = true, true
		sg.longWindows[t.Long] = true
	}
	for w := range ws {
		sg.windows = append(sg.windows, w)
	}
	sort.Slice(sg.windows, func(a, b int) bool { return sg.windows[a] < sg.windows[b] })
	return sg, nil
}

// roundWindow: windows are at least the base window and whole seconds.
func roundWindow(w time.Duration) time.Duration {
	if w < BaseWindow {
		return BaseWindow
	}
	return w.Truncate(time.Second)
}

// sel renders a selector of one of the SLO's recorded series.
func (sg *sloGen) sel(metric string, extra ...string) string {
	m := sg.match
	for _, e := range extra {
		m += "," + e
	}
	return metric + "{" + m + "}"
}

// rule makes a recording rule with the SLO's labels plus extra label
// pairs. Rules with the same extra labels share one (read-only) map.
func (sg *sloGen) rule(metric, expr string, extra ...string) Rule {
	if len(extra) == 0 {
		return Rule{Record: metric, Expr: expr, Labels: sg.labels}
	}
	key := strings.Join(extra, "\x00")
	if l, ok := sg.shared[key]; ok {
		return Rule{Record: metric, Expr: expr, Labels: l}
	}
	l := make(map[string]string, len(sg.labels)+len(extra)/2)
	for k, v := range sg.labels {
		l[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	if sg.shared == nil {
		sg.shared = map[string]map[string]string{}
	}
	sg.shared[key] = l
	return Rule{Record: metric, Expr: expr, Labels: l}
}

// baseExprs returns the expressions of the errors and total rates over the
// base window, aggregated by the SLO's groupBy labels, and the raw
// selector the absent-data alert watches.
func (g *gen) baseExprs(s *slo.SLO) (errs, total, absent string, err error) {
	by := s.GroupBy
	w := "[" + fmtDur(BaseWindow) + "]"
	check := func(sel string) error {
		if _, e := g.p.ParseMetricSelector(sel); e != nil {
			return fmt.Errorf("selector %q: %w", sel, e)
		}
		return nil
	}
	// goodToErrors turns good and total into errors = total - good, where a
	// missing good series counts as 0 good events.
	goodToErrors := func(good, tot string) string {
		return "clamp_min(" + tot + " - (" + good + " or 0 * " + tot + "), 0)"
	}
	switch s.SLI.Kind {
	case slo.SLIRatio:
		r := s.SLI.Ratio
		if r == nil || r.Total == "" || (r.Errors == "") == (r.Good == "") {
			return "", "", "", fmt.Errorf("ratio SLI needs total and exactly one of errors or good")
		}
		for _, x := range []string{r.Total, r.Errors, r.Good} {
			if x != "" {
				if err := check(x); err != nil {
					return "", "", "", err
				}
			}
		}
		total = sumBy(by, "rate("+r.Total+w+")")
		if r.Errors != "" {
			e := sumBy(by, "rate("+r.Errors+w+")")
			errs = e + " or 0 * " + total
		} else {
			errs = goodToErrors(sumBy(by, "rate("+r.Good+w+")"), total)
		}
		return errs, total, r.Total, nil
	case slo.SLILatency:
		l := s.SLI.Latency
		if l == nil || l.Histogram == "" || l.Threshold <= 0 {
			return "", "", "", fmt.Errorf("latency SLI needs a histogram and a positive threshold")
		}
		h, e := parseSelector(g.p, l.Histogram)
		if e != nil {
			return "", "", "", e
		}
		if h.name == "" {
			return "", "", "", fmt.Errorf("histogram selector %q: needs a metric name", l.Histogram)
		}
		thr := l.Threshold.Seconds()
		if l.Native {
			hist := sumBy(by, "rate("+h.render("")+w+")")
			total = "histogram_count(" + hist + ")"
			absent = h.render("")
			// histogram_fraction is NaN for an empty histogram: the
			// comparison drops it and 0 * total stands in.
			errs = "(histogram_count(" + hist + ") * (1 - histogram_fraction(0, " + fmtFloat(thr) + ", " + hist + ")) >= 0) or 0 * " + total
			if l.Total != "" {
				if err := check(l.Total); err != nil {
					return "", "", "", err
				}
				total = sumBy(by, "rate("+l.Total+w+")")
				absent = l.Total
				good := "histogram_count(" + hist + ") * histogram_fraction(0, " + fmtFloat(thr) + ", " + hist + ") >= 0"
				errs = goodToErrors(good, total)
			}
			return errs, total, absent, nil
		}
		le := labels.MustNewMatcher(labels.MatchRegexp, "le", leRegex(thr))
		good := sumBy(by, "rate("+h.render("_bucket", le)+w+")")
		total = sumBy(by, "rate("+h.render("_count")+w+")")
		absent = h.render("_count")
		if l.Total != "" {
			if err := check(l.Total); err != nil {
				return "", "", "", err
			}
			total = sumBy(by, "rate("+l.Total+w+")")
			absent = l.Total
		}
		return goodToErrors(good, total), total, absent, nil
	case slo.SLIAvailability:
		a := s.SLI.Availability
		if a == nil || a.Gauge == "" {
			return "", "", "", fmt.Errorf("availability SLI needs a gauge")
		}
		if err := check(a.Gauge); err != nil {
			return "", "", "", err
		}
		secs := strconv.Itoa(int(BaseWindow.Seconds()))
		total = sumBy(by, "count_over_time("+a.Gauge+w+")") + " / " + secs
		errs = "clamp_min(" + sumBy(by, "count_over_time("+a.Gauge+w+") - sum_over_time("+a.Gauge+w+")") + ", 0) / " + secs
		return errs, total, a.Gauge, nil
	case slo.SLIQuery:
		q := s.SLI.Query
		if q == nil || q.Total == "" || (q.Errors == "") == (q.Good == "") {
			return "", "", "", fmt.Errorf("query SLI needs errorRatio, or total with exactly one of errors or good")
		}
		sub := func(x string) (string, error) {
			out := strings.ReplaceAll(x, slo.WindowVar, fmtDur(BaseWindow))
			if _, e := g.p.ParseExpr(out); e != nil {
				return "", fmt.Errorf("query %q: %w", x, e)
			}
			return out, nil
		}
		t, e := sub(q.Total)
		if e != nil {
			return "", "", "", e
		}
		total = sumBy(by, t)
		if q.Errors != "" {
			x, e := sub(q.Errors)
			if e != nil {
				return "", "", "", e
			}
			errs = sumBy(by, x) + " or 0 * " + total
		} else {
			x, e := sub(q.Good)
			if e != nil {
				return "", "", "", e
			}
			errs = goodToErrors(sumBy(by, x), total)
		}
		return errs, total, "", nil
	}
	return "", "", "", fmt.Errorf("unknown SLI kind %v", s.SLI.Kind)
}

// sums are expressions for the errors and total over one window, in units
// that cancel in errors/total.
type sums struct{ errs, total, events string }

// windowForm is how a window is summed (docs/rules.md, "Every window from
// two series").
type windowForm int

const (
	formBase    windowForm = iota // 5m: the rate5m series themselves
	formLattice                   // rate30m and rate5m samples 30m / 5m apart: exact
	formTiled                     // hourly tiles and tail: exact on the lattice, else ramp
	formAvg                       // avg_over_time of rate5m: ramp at both edges
)

// form decides how window w is summed; long tells whether it is recorded in
// the long group (a tiled sum moves once per long evaluation, so the short
// group never uses it). A lattice sum (n30 rate30m and n5 rate5m samples)
// is possible when the window is a multiple of 5m, the short group's
// samples lie 5m apart (its interval divides 5m) and the sum needs at most
// maxLatticeTerms lookups. Whole-hour windows of the long group are tiled,
// the cheapest form, unless the tiles are not on the lattice and a lattice
// sum is possible (exact beats cheap).
func (g *gen) form(w time.Duration, long bool) (f windowForm, n30, n5 int) {
	if w <= BaseWindow {
		return formBase, 0, 0
	}
	lattice := false
	if w%BaseWindow == 0 && BaseWindow%g.opts.ShortInterval == 0 {
		n30, n5 = int(w/latticeStep), int(w%latticeStep/BaseWindow)
		lattice = n30+n5 <= maxLatticeTerms
	}
	switch {
	case long && w >= g.opts.TiledWindowMin && w%tileLength == 0 && (g.latticeTiles() || !lattice):
		return formTiled, 0, 0
	case lattice:
		return formLattice, n30, n5
	}
	return formAvg, 0, 0
}

// inLong: alert windows longer than FastWindowMax are recorded in the long
// group; the period always is.
func (g *gen) inLong(w time.Duration) bool { return w > g.opts.FastWindowMax }

// windowSums derives a window from the recorded series only.
func (g *gen) windowSums(sg *sloGen, w time.Duration, long bool) sums {
	re, rt := sg.sel(MetricErrorsRate5m), sg.sel(MetricTotalRate5m)
	f, n30, n5 := g.form(w, long)
	switch f {
	case formBase:
		return sums{re, rt, rt + " * " + strconv.Itoa(int(BaseWindow.Seconds()))}
	case formTiled:
		e, t := g.tiledSum(sg, MetricErrorsTile, MetricErrorsTail, w), g.tiledSum(sg, MetricTotalTile, MetricTotalTail, w)
		return sums{e, t, "(" + t + ") * " + fmtFloat(g.opts.ShortInterval.Seconds())}
	case formLattice:
		e, _ := latticeSum(sg, MetricErrorsRate5m, MetricErrorsRate30m, n30, n5)
		t, secs := latticeSum(sg, MetricTotalRate5m, MetricTotalRate30m, n30, n5)
		ev := t
		if strings.Contains(t, " ") {
			ev = "(" + t + ")"
		}
		return sums{e, t, ev + " * " + strconv.Itoa(secs)}
	}
	d := "[" + fmtDur(w) + "]"
	t := "avg_over_time(" + rt + d + ")"
	return sums{"avg_over_time(" + re + d + ")", t, t + " * " + strconv.Itoa(int(w.Seconds()))}
}

// latticeSum renders the sum of n30 rate30m samples at t, t-30m, ... and
// n5 rate5m samples at the 5m steps before them: the events in exactly the
// last n30*30m + n5*5m divided by secs (events = sum * secs). The sample at
// t decides whether the series exists; an older sample that does not exist
// (the first minutes of a series, or after a gap) counts as 0, so a new
// series is exact at once.
func latticeSum(sg *sloGen, m5, m30 string, n30, n5 int) (sum string, secs int) {
	r5, r30 := sg.sel(m5), sg.sel(m30)
	var b strings.Builder
	term := func(sel string, off time.Duration, anchor string) {
		if b.Len() > 0 {
			b.WriteString(" + ")
		}
		if off == 0 {
			b.WriteString(sel)
			return
		}
		b.WriteString("(" + sel + " offset " + fmtDur(off) + " or 0 * " + anchor + ")")
	}
	for i := 0; i < n30; i++ {
		term(r30, time.Duration(i)*latticeStep, r30)
	}
	secs = int(latticeStep.Seconds())
	if n5 == 0 {
		return b.String(), secs
	}
	if n30 > 0 {
		// rate30m is the mean of six rate5m samples.
		per := strconv.Itoa(int(latticeStep / BaseWindow))
		if n30 == 1 {
			sum = per + " * " + b.String()
		} else {
			sum = per + " * (" + b.String() + ")"
		}
		b.Reset()
		b.WriteString(sum)
	}
	for j := 0; j < n5; j++ {
		term(r5, time.Duration(n30)*latticeStep+time.Duration(j)*BaseWindow, r5)
	}
	return b.String(), int(BaseWindow.Seconds())
}

// latticeTiles: the hourly tiles and tails are summed on the 5m lattice
// too, which needs every tail (a multiple of the long interval) to be a
// multiple of 5m.
func (g *gen) latticeTiles() bool {
	return BaseWindow%g.opts.ShortInterval == 0 && g.opts.LongInterval%BaseWindow == 0
}

// tileExprs renders the hourly tile and the tail of one series, in units of
// "sum of the rate5m samples" (one sample per short interval), so that
// events = sum * short interval whichever form is used.
//
// On the lattice the tile is the two rate30m samples of the hour ending at
// the newest rate5m sample, and the tail k long evaluations after the tile
// the rate5m samples at t, t-5m, ... of the last k*L: the first j terms are
// kept by minute() masks. Otherwise both are sum_over_time of every rate5m
// sample, which averages five windows shifted by 0..4 short intervals
// (a ramp of (5m - short interval) / 2 at each edge).
func (g *gen) tileExprs(sg *sloGen, m5, m30 string) (tile, tail string) {
	o := g.opts
	r := sg.sel(m5)
	last := strconv.Itoa(int((tileLength - o.LongInterval) / time.Minute))
	if !g.latticeTiles() {
		tile = "sum_over_time(" + r + "[" + fmtDur(tileLength-time.Millisecond) + "]) and on() " + g.phaseCond(0)
		var b strings.Builder
		for k := 1; k < int(tileLength/o.LongInterval); k++ {
			fmt.Fprintf(&b, "(sum_over_time(%s[%s]) and on() %s) or ", r, fmtDur(time.Duration(k)*o.LongInterval-time.Millisecond), g.phaseCond(k))
		}
		b.WriteString("0 * " + r)
		return tile, b.String()
	}
	hour, _ := latticeSum(sg, m5, m30, int(tileLength/latticeStep), 0)
	tile = "(" + hour + ") * " + strconv.Itoa(int(latticeStep/o.ShortInterval)) + " and on() " + g.phaseCond(0)
	var b strings.Builder
	b.WriteString("(")
	for j := 0; j < int((tileLength-o.LongInterval)/BaseWindow); j++ {
		if j > 0 {
			b.WriteString(" + ")
		}
		// Sample j (5j minutes back) belongs to the tail from the first
		// evaluation whose tail is longer than 5j minutes.
		from := o.LongInterval * (time.Duration(j) * BaseWindow / o.LongInterval)
		sel := r
		if j > 0 {
			sel += " offset " + fmtDur(time.Duration(j)*BaseWindow)
		}
		cond := "minute() < " + last
		if from > 0 {
			cond = "minute() >= " + strconv.Itoa(int(from/time.Minute)) + " < " + last
		}
		b.WriteString("(" + sel + " and on() " + cond + " or 0 * " + r + ")")
	}
	b.WriteString(") * " + strconv.Itoa(int(BaseWindow/o.ShortInterval)))
	return tile, b.String()
}

// needsRate30m: the tiles or some window of the SLO are summed from
// rate30m samples.
func (g *gen) needsRate30m(sg *sloGen) bool {
	if g.latticeTiles() {
		return true
	}
	if sg.s.Period.Kind == slo.Rolling {
		if f, n30, _ := g.form(sg.s.Period.Rolling, true); f == formLattice && n30 > 0 {
			return true
		}
	}
	for _, w := range sg.windows {
		if f, n30, _ := g.form(w, g.inLong(w)); f == formLattice && n30 > 0 {
			return true
		}
	}
	return false
}

// phaseCond is true at the long-group evaluation that is k evaluations
// after the one that writes the hourly tile. The tile is written by the one
// evaluation per hour whose minute is in [60-L, 60) (L: the long interval,
// so exactly one per hour whatever the group's offset); k evaluations later
// the minute is in [L(k-1), Lk).
func (g *gen) phaseCond(k int) string {
	l := int(g.opts.LongInterval / time.Minute)
	switch {
	case k == 0:
		return "minute() >= " + strconv.Itoa(60-l)
	case k == 1:
		return "minute() < " + strconv.Itoa(l)
	default:
		return "minute() >= " + strconv.Itoa(l*(k-1)) + " < " + strconv.Itoa(l*k)
	}
}

// tiledSum is the events in exactly (t-w, t] (in tile units): the hourly
// tiles of the last w, plus the tail since the last tile, minus the tail
// that was current w ago (the part of the oldest tile before t-w).
func (g *gen) tiledSum(sg *sloGen, tile, tail string, w time.Duration) string {
	tl := sg.sel(tail)
	tiles := "sum_over_time(" + sg.sel(tile) + "[" + fmtDur(w-g.opts.LongInterval/2) + "])"
	return "(" + tiles + " or 0 * " + tl + ") + " + tl + " - (" + tl + " offset " + fmtDur(w) + " or 0 * " + tl + ")"
}

// calendarSum is the events (in tile units) since the start of the
// month: hourly tiles whose hour starts at or after the month start (picked
// by a subquery at whole hours, masked with the month start at end()), the
// tile written at this very evaluation (the subquery cannot see it), and
// the tail.
func (g *gen) calendarSum(sg *sloGen, tile, tail, zone string) string {
	tl := sg.sel(tail)
	ms := MetricMonthStart + `{` + LabelService + `="` + escapeLabelValue(sg.s.Service) + `",` + LabelTimeZone + `="` + escapeLabelValue(zone) + `"}`
	// A tile written in the last LongInterval of hour H-1..H covers about
	// hour H-1; it counts when that hour starts at or after the month start.
	margin := strconv.Itoa(int((tileLength - g.opts.LongInterval*2).Seconds()))
	past := "sum_over_time((last_over_time(" + sg.sel(tile) + "[1h]) and on() (vector(time()) > on() " + ms + " @ end() + " + margin + "))[31d:1h])"
	now := sg.sel(tile) + " and on() " + g.phaseCond(0) + " and on() (vector(time()) > on() " + ms + " + " + margin + ")"
	return "(" + past + " or 0 * " + tl + ") + (" + now + " or 0 * " + tl + ") + " + tl
}

func (g *gen) recording(sg *sloGen) (short, long []Rule, err error) {
	s := sg.s
	groupOf := func(w time.Duration) *[]Rule {
		if g.inLong(w) {
			return &long
		}
		return &short
	}
	budget := fmtFloat(sg.budget)
	winLabel := func(w time.Duration) string { return fmtDur(w) }

	if sg.rawRatio {
		q := s.SLI.Query.ErrorRatio
		raw := func(w time.Duration) (string, error) {
			x := strings.ReplaceAll(q, slo.WindowVar, fmtDur(w))
			if _, e := g.p.ParseExpr(x); e != nil {
				return "", fmt.Errorf("query %q: %w", q, e)
			}
			// NaN (0/0 in the user's query) becomes 0: NaN != NaN is true.
			return "(clamp(" + x + ", 0, 1) >= 0) or ((" + x + ") != bool (" + x + ")) - 1", nil
		}
		for _, w := range sg.windows {
			x, e := raw(w)
			if e != nil {
				return nil, nil, e
			}
			dst := groupOf(w)
			*dst = append(*dst,
				sg.rule(MetricErrorRatio, x, LabelWindow, winLabel(w)),
				sg.rule(MetricBurnRate, sg.sel(MetricErrorRatio, LabelWindow+`="`+winLabel(w)+`"`)+" / "+budget, LabelWindow, winLabel(w)))
		}
		x, e := raw(s.Period.Nominal())
		if e != nil {
			return nil, nil, e
		}
		long = append(long, sg.rule(MetricErrorRatio, x, LabelWindow, WindowPeriod))
	} else {
		errs, total, raw, e := g.baseExprs(s)
		if e != nil {
			return nil, nil, e
		}
		sg.rawTotal = raw
		short = append(short, sg.rule(MetricErrorsRate5m, errs), sg.rule(MetricTotalRate5m, total))
		if g.needsRate30m(sg) {
			n5 := int(latticeStep / BaseWindow)
			for _, p := range [][2]string{{MetricErrorsRate5m, MetricErrorsRate30m}, {MetricTotalRate5m, MetricTotalRate30m}} {
				sum, _ := latticeSum(sg, p[0], "", 0, n5)
				short = append(short, sg.rule(p[1], "("+sum+") / "+strconv.Itoa(n5)))
			}
		}
		// Hourly tiles and tails, in the long group.
		for _, p := range [][4]string{
			{MetricErrorsRate5m, MetricErrorsRate30m, MetricErrorsTile, MetricErrorsTail},
			{MetricTotalRate5m, MetricTotalRate30m, MetricTotalTile, MetricTotalTail},
		} {
			tile, tail := g.tileExprs(sg, p[0], p[1])
			long = append(long, sg.rule(p[2], tile), sg.rule(p[3], tail))
		}
		for _, w := range sg.windows {
			sm := g.windowSums(sg, w, g.inLong(w))
			dst := groupOf(w)
			*dst = append(*dst,
				sg.rule(MetricErrorRatio, ratioExpr(sm.errs, sm.total), LabelWindow, winLabel(w)),
				sg.rule(MetricBurnRate, sg.sel(MetricErrorRatio, LabelWindow+`="`+winLabel(w)+`"`)+" / "+budget, LabelWindow, winLabel(w)))
			if s.Alerting.MinEvents > 0 && sg.longWindows[w] {
				*dst = append(*dst, sg.rule(MetricEvents, sm.events, LabelWindow, winLabel(w)))
			}
		}
		var pe, pt string
		if s.Period.Kind == slo.CalendarMonth {
			z := zoneName(s.Period.TimeZone)
			pe = g.calendarSum(sg, MetricErrorsTile, MetricErrorsTail, z)
			pt = g.calendarSum(sg, MetricTotalTile, MetricTotalTail, z)
		} else {
			sm := g.windowSums(sg, s.Period.Rolling, true)
			pe, pt = sm.errs, sm.total
		}
		long = append(long, sg.rule(MetricErrorRatio, ratioExpr(pe, pt), LabelWindow, WindowPeriod))
	}
	long = append(long,
		sg.rule(MetricBudgetRemaining, "1 - max without ("+LabelWindow+") ("+sg.sel(MetricErrorRatio, LabelWindow+`="`+WindowPeriod+`"`)+") / "+budget),
		sg.rule(MetricObjective, "vector("+fmtFloat(s.Target())+")"),
		sg.rule(MetricPeriod, "vector("+strconv.FormatInt(int64(s.Period.Nominal().Seconds()), 10)+")"),
	)
	info := sg.rule(MetricInfo, "vector(1)",
		LabelSLIKind, s.SLI.Kind.String(),
		LabelPeriod, s.Period.String(),
		LabelObjective, fmtFloat(s.Objective))
	for k, v := range s.Labels {
		info.Labels[k] = v
	}
	long = append(long, info)
	return short, long, nil
}

func (g *gen) alerting(sg *sloGen) []Rule {
	s := sg.s
	a := s.Alerting
	if a.Disabled {
		return nil
	}
	o := g.opts
	prefix := o.AlertPrefix
	if a.Name != "" {
		prefix = a.Name
	}
	ident := escapeTemplate(s.Service + "/" + s.Name)
	if len(s.GroupBy) > 0 {
		var parts []string
		for _, l := range s.GroupBy {
			parts = append(parts, l+"={{ $labels."+l+" }}")
		}
		ident += " (" + strings.Join(parts, ", ") + ")"
	}
	dashboard := a.Dashboard
	if dashboard == "" && o.DashboardURL != "" {
		dashboard = strings.NewReplacer("{service}", url.PathEscape(s.Service), "{slo}", url.PathEscape(s.Name), "{team}", url.PathEscape(s.Team)).Replace(o.DashboardURL)
	}
	baseAnn := func() map[string]string {
		m := map[string]string{}
		for k, v := range s.Annotations {
			m[k] = v
		}
		for k, v := range a.Annotations {
			m[k] = v
		}
		if a.Runbook != "" {
			m["runbook_url"] = a.Runbook
		}
		if dashboard != "" {
			m["dashboard_url"] = escapeTemplate(dashboard)
		}
		return m
	}
	baseLabels := func() map[string]string {
		m := map[string]string{}
		for k, v := range s.Labels {
			m[k] = v
		}
		for k, v := range a.Labels {
			m[k] = v
		}
		for k, v := range sg.labels {
			m[k] = v
		}
		return m
	}
	objective := fmtFloat(s.Objective) + "% over " + s.Period.String()
	var out []Rule
	for _, t := range sg.tiers {
		f := t.BurnFactor(s.Period.Nominal())
		fs := fmtFloat(f)
		lw, sw := fmtDur(t.Long), fmtDur(t.Short)
		expr := sg.sel(MetricBurnRate, LabelWindow+`="`+lw+`"`) + " > " + fs +
			" and ignoring(" + LabelWindow + ") " + sg.sel(MetricBurnRate, LabelWindow+`="`+sw+`"`) + " > " + fs
		if a.MinEvents > 0 && !sg.rawRatio {
			expr += " and ignoring(" + LabelWindow + ") " + sg.sel(MetricEvents, LabelWindow+`="`+lw+`"`) + " >= " + fmtFloat(a.MinEvents)
		}
		l := baseLabels()
		for k, v := range t.Labels {
			l[k] = v
		}
		sev := t.Severity
		if sev == "" {
			sev = "warning"
			if t.Class == "page" {
				sev = "critical"
			}
		}
		class := t.Class
		if class == "" {
			class = "ticket"
		}
		l[LabelSeverity], l[LabelTier], l[LabelClass] = sev, t.Name, class
		l[LabelLongWindow], l[LabelShortWindow], l[LabelBurnFactor] = lw, sw, fs
		ann := baseAnn()
		why := ""
		if t.Factor <= 0 && t.BudgetFraction > 0 {
			why = ": " + fmtFloat(t.BudgetFraction*100) + "% of the budget in " + lw
		}
		ann["summary"] = ident + ": error budget burn {{ $value | humanize }}x over " + lw + " (" + t.Name + ")"
		ann["description"] = "Burn rate {{ $value | humanize }}x over " + lw + " and above " + fs + "x over " + sw +
			" (threshold " + fs + "x" + why + "). Objective " + objective + "."
		for k, v := range t.Annotations {
			ann[k] = v
		}
		r := Rule{Alert: alertName(prefix, "ErrorBudgetBurn"), Expr: expr, Labels: l, Annotations: ann}
		if t.For > 0 {
			r.For = fmtDur(t.For)
		}
		out = append(out, r)
	}
	if !a.BudgetExhausted.Disabled {
		l := baseLabels()
		sev := a.BudgetExhausted.Severity
		if sev == "" {
			sev = o.BudgetSeverity
		}
		l[LabelSeverity] = sev
		ann := baseAnn()
		ann["summary"] = ident + ": error budget exhausted"
		ann["description"] = "{{ $value | humanizePercentage }} of the error budget left. Objective " + objective + "."
		out = append(out, Rule{Alert: alertName(prefix, "ErrorBudgetExhausted"), Expr: sg.sel(MetricBudgetRemaining) + " <= 0", Labels: l, Annotations: ann})
	}
	if !a.Absent.Disabled {
		l := baseLabels()
		sev := a.Absent.Severity
		if sev == "" {
			sev = o.AbsentSeverity
		}
		l[LabelSeverity] = sev
		expr := "absent(" + sg.rawTotal + ")"
		if sg.rawTotal == "" {
			if sg.rawRatio {
				expr = "absent(" + sg.sel(MetricErrorRatio, LabelWindow+`="`+WindowPeriod+`"`) + ")"
			} else {
				expr = "absent(" + sg.sel(MetricTotalRate5m) + ")"
			}
		}
		forDur := a.Absent.For
		if forDur == 0 {
			forDur = o.AbsentFor
		}
		ann := baseAnn()
		ann["summary"] = ident + ": no SLI data"
		ann["description"] = "No series match the SLI for " + fmtDur(forDur) + ": budget and burn rates are not computed. Objective " + objective + "."
		out = append(out, Rule{Alert: alertName(prefix, "SLIDataAbsent"), Expr: expr, For: fmtDur(forDur), Labels: l, Annotations: ann})
	}
	return out
}
