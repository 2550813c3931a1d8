package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/charts"
)

// maxSteps is the number of steps of the budget and burn-rate range
// queries (the charts' resolution and the precision of "worst burn at").
const maxSteps = 336

// maxPointsPerQuery stays under Prometheus's 11,000 points per series.
const maxPointsPerQuery = 10000

// labels that are not part of an SLO instance's identity.
var nonKeyLabels = map[model.LabelName]bool{
	model.MetricNameLabel: true, "slo_window": true, "team": true,
}

// Build reads the week [opts.From, opts.To] from Prometheus (and the freeze
// history) and computes the review.
func Build(ctx context.Context, api API, opts Options) (*Review, error) {
	if api == nil {
		return nil, errors.New("building the report: no Prometheus API")
	}
	if opts.From.IsZero() || opts.To.IsZero() || !opts.To.After(opts.From) {
		return nil, fmt.Errorf("building the report: the range [%s, %s] is empty", opts.From.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	week := opts.To.Sub(opts.From)
	if week < 5*time.Minute {
		return nil, fmt.Errorf("building the report: the range %s is shorter than 5m", week)
	}
	if opts.AlertInterval <= 0 {
		opts.AlertInterval = time.Minute
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &builder{api: api, opts: opts, week: week, inst: map[string]*SLOReview{}}
	if err := b.read(ctx); err != nil {
		return nil, err
	}
	var freezes []FreezePeriod
	if opts.Freezes != nil {
		var err error
		freezes, err = opts.Freezes.FreezePeriods(ctx, opts.Service, opts.From, opts.To)
		if err != nil {
			return nil, fmt.Errorf("building the report: %w", err)
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = opts.To
	}
	r := &Review{
		GeneratedAt:  now,
		From:         opts.From,
		To:           opts.To,
		PreviousFrom: opts.From.Add(-week),
		TimeZone:     opts.Location.String(),
		Service:      opts.Service,
		Warnings:     b.warnings,
		loc:          opts.Location,
	}
	r.Services = b.services(freezes)
	return r, nil
}

type builder struct {
	api      API
	opts     Options
	week     time.Duration
	inst     map[string]*SLOReview // by instance key
	keys     map[string]model.Metric
	meta     map[string]meta // by service/slo
	warnings []string
}

type meta struct {
	team, kind, period string
	objective          float64
	periodSeconds      float64
}

func pairKey(service, slo string) string { return service + "\x00" + slo }

func instanceKey(m model.Metric) (string, model.Metric) {
	k := model.Metric{}
	for n, v := range m {
		if !nonKeyLabels[n] {
			k[n] = v
		}
	}
	return k.String(), k
}

// sel renders a selector of the recorded series with the service filter.
func (b *builder) sel(metric string, extra ...string) string {
	ms := slices.Clone(extra)
	if b.opts.Service != "" {
		ms = append(ms, "service="+strconv.Quote(b.opts.Service))
	}
	if len(ms) == 0 {
		return metric
	}
	return metric + "{" + strings.Join(ms, ",") + "}"
}

func dur(d time.Duration) string { return model.Duration(d).String() }

func (b *builder) warn(query string, ws v1.Warnings) {
	for _, w := range ws {
		msg := fmt.Sprintf("Prometheus warning for %s: %s", query, w)
		b.opts.Logger.Warn("report query warning", "query", query, "warning", w)
		if !slices.Contains(b.warnings, msg) {
			b.warnings = append(b.warnings, msg)
		}
	}
}

func (b *builder) instant(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	v, ws, _, err := b.api.Query(ctx, q, ts)
	b.warn(q, ws)
	if err != nil {
		return nil, fmt.Errorf("querying Prometheus for %s at %s: %w", q, ts.UTC().Format(time.RFC3339), err)
	}
	vec, ok := v.(model.Vector)
	if !ok && v != nil {
		return nil, fmt.Errorf("querying Prometheus for %s: got a %s, want a vector", q, v.Type())
	}
	return vec, nil
}

func (b *builder) rangeQuery(ctx context.Context, q string, from, to time.Time, step time.Duration) (model.Matrix, error) {
	var out model.Matrix
	byKey := map[model.Fingerprint]*model.SampleStream{}
	chunk := time.Duration(maxPointsPerQuery-1) * step
	for start := from; !start.After(to); start = start.Add(chunk + step) {
		end := start.Add(chunk)
		if end.After(to) {
			end = to
		}
		v, ws, _, err := b.api.QueryRange(ctx, q, v1.Range{Start: start, End: end, Step: step})
		b.warn(q, ws)
		if err != nil {
			return nil, fmt.Errorf("querying Prometheus for %s over [%s, %s]: %w", q, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), err)
		}
		m, ok := v.(model.Matrix)
		if !ok && v != nil {
			return nil, fmt.Errorf("querying Prometheus for %s: got a %s, want a matrix", q, v.Type())
		}
		for _, s := range m {
			fp := s.Metric.Fingerprint()
			if old, ok := byKey[fp]; ok {
				old.Values = append(old.Values, s.Values...)
				continue
			}
			byKey[fp] = s
			out = append(out, s)
		}
	}
	return out, nil
}

// instance returns the review of the SLO instance of m, creating it.
func (b *builder) instance(m model.Metric) *SLOReview {
	key, km := instanceKey(m)
	if r, ok := b.inst[key]; ok {
		if r.Team == "" {
			r.Team = string(m["team"])
		}
		return r
	}
	r := &SLOReview{
		Service: string(m["service"]),
		SLO:     string(m["slo"]),
		Team:    string(m["team"]),
		burn:    map[string][]charts.Point{},
	}
	for n, v := range km {
		if n != "service" && n != "slo" {
			if r.Group == nil {
				r.Group = map[string]string{}
			}
			r.Group[string(n)] = string(v)
		}
	}
	b.inst[key] = r
	b.keys[key] = km
	return r
}

func (b *builder) read(ctx context.Context) error {
	o := b.opts
	b.keys = map[string]model.Metric{}
	b.meta = map[string]meta{}
	lookback := "[" + dur(b.week) + "]"

	// Metadata, as of the end of the week (last value seen in it).
	info, err := b.instant(ctx, "last_over_time("+b.sel("slo:info")+lookback+")", o.To)
	if err != nil {
		return err
	}
	for _, s := range info {
		k := pairKey(string(s.Metric["service"]), string(s.Metric["slo"]))
		md := b.meta[k]
		md.team = string(s.Metric["team"])
		md.kind = string(s.Metric["slo_sli_kind"])
		md.period = string(s.Metric["slo_period"])
		if p, err := strconv.ParseFloat(string(s.Metric["slo_objective"]), 64); err == nil && md.objective == 0 {
			md.objective = p / 100
		}
		b.meta[k] = md
	}
	obj, err := b.instant(ctx, "last_over_time("+b.sel("slo:objective:ratio")+lookback+")", o.To)
	if err != nil {
		return err
	}
	for _, s := range obj {
		k := pairKey(string(s.Metric["service"]), string(s.Metric["slo"]))
		md := b.meta[k]
		md.objective = float64(s.Value)
		b.meta[k] = md
	}
	per, err := b.instant(ctx, "last_over_time("+b.sel("slo:period:seconds")+lookback+")", o.To)
	if err != nil {
		return err
	}
	for _, s := range per {
		k := pairKey(string(s.Metric["service"]), string(s.Metric["slo"]))
		md := b.meta[k]
		md.periodSeconds = float64(s.Value)
		b.meta[k] = md
	}

	// Budget at both ends, and over the week.
	for _, at := range []struct {
		t   time.Time
		set func(*SLOReview, float64)
	}{
		{o.From, func(r *SLOReview, v float64) { r.BudgetStart = &v }},
		{o.To, func(r *SLOReview, v float64) { r.BudgetEnd = &v }},
	} {
		vec, err := b.instant(ctx, b.sel("slo:error_budget:remaining"), at.t)
		if err != nil {
			return err
		}
		for _, s := range vec {
			if v := float64(s.Value); finite(v) {
				at.set(b.instance(s.Metric), v)
			}
		}
	}
	steps := min(maxSteps, int(b.week/time.Minute))
	step := (b.week / time.Duration(steps)).Truncate(time.Millisecond)
	first := o.To.Add(-time.Duration(steps-1) * step)
	budget, err := b.rangeQuery(ctx, b.sel("slo:error_budget:remaining"), o.To.Add(-time.Duration(steps)*step), o.To, step)
	if err != nil {
		return err
	}
	for _, s := range budget {
		r := b.instance(s.Metric)
		r.budget = points(s.Values)
	}

	// Events of this week and the previous one, from the hourly tiles.
	events := map[string]*[2]weekEvents{} // [0] this week, [1] previous week
	for i, at := range []time.Time{o.To, o.From} {
		for j, name := range []string{"slo:sli_errors", "slo:sli_total"} {
			vec, err := b.instant(ctx, b.windowEvents(name), at)
			if err != nil {
				return err
			}
			for _, s := range vec {
				v := float64(s.Value)
				if !finite(v) {
					continue
				}
				b.instance(s.Metric)
				key, _ := instanceKey(s.Metric)
				e := events[key]
				if e == nil {
					e = &[2]weekEvents{}
					events[key] = e
				}
				if j == 0 {
					e[i].errors = &v
				} else {
					e[i].total = &v
				}
			}
		}
	}

	// SLI over the period at the end.
	period, err := b.instant(ctx, b.sel("slo:sli_error:ratio", `slo_window="period"`), o.To)
	if err != nil {
		return err
	}
	for _, s := range period {
		if v := float64(s.Value); finite(v) {
			sli := 1 - clamp01(v)
			b.instance(s.Metric).SLIPeriod = &sli
		}
	}

	// Burn rates: the maximum of each step.
	burn, err := b.rangeQuery(ctx, "max_over_time("+b.sel("slo:burn_rate:ratio")+"["+dur(step)+"])", first, o.To, step)
	if err != nil {
		return err
	}
	for _, s := range burn {
		w := string(s.Metric["slo_window"])
		if w == "" {
			continue
		}
		r := b.instance(s.Metric)
		r.burn[w] = points(s.Values)
	}

	// Alerts, at the alert group's resolution.
	alerts, err := b.rangeQuery(ctx, b.sel("ALERTS", `alertstate="firing"`, `slo!=""`), o.From, o.To, o.AlertInterval)
	if err != nil {
		return err
	}
	for _, s := range alerts {
		b.addAlert(s)
	}

	// SLOs known only from their metadata.
	have := map[string]bool{}
	for _, r := range b.inst {
		have[pairKey(r.Service, r.SLO)] = true
	}
	for k := range b.meta {
		if !have[k] {
			svc, name, _ := strings.Cut(k, "\x00")
			b.instance(model.Metric{"service": model.LabelValue(svc), "slo": model.LabelValue(name)})
		}
	}

	for key, r := range b.inst {
		b.finish(r, events[key])
	}
	return nil
}

// windowEvents is the events of the week ending at the evaluation time, in
// the tiles' units (docs/rules.md, "Every window from two series"): exact
// for whole-hour weeks.
func (b *builder) windowEvents(name string) string {
	tile := b.sel(name + ":rate5m_sum1h")
	tail := b.sel(name + ":rate5m_sum_tail")
	return fmt.Sprintf("(sum_over_time(%s[%s]) or 0 * %s) + %s - (%s offset %s or 0 * %s)",
		tile, dur(b.week-150*time.Second), tail, tail, tail, dur(b.week), tail)
}

func (b *builder) addAlert(s *model.SampleStream) {
	// The instance: the one whose identity labels the alert carries.
	var target *SLOReview
	for key, km := range b.keys {
		match := true
		for n, v := range km {
			if s.Metric[n] != v {
				match = false
				break
			}
		}
		if match && (target == nil || len(km) > len(b.keys[instanceKeyOf(target)])) {
			target = b.inst[key]
		}
	}
	if target == nil {
		target = b.instance(model.Metric{"service": s.Metric["service"], "slo": s.Metric["slo"]})
	}
	alert, tier, sev := string(s.Metric["alertname"]), string(s.Metric["slo_tier"]), string(s.Metric["severity"])
	step := b.opts.AlertInterval
	var cur *firing
	for _, p := range s.Values {
		t := p.Timestamp.Time()
		if cur != nil && t.Sub(cur.to) <= step+step/2 {
			cur.to = t
			continue
		}
		if cur != nil {
			target.firings = append(target.firings, *cur)
		}
		cur = &firing{alert: alert, tier: tier, severity: sev, from: t, to: t}
	}
	if cur != nil {
		target.firings = append(target.firings, *cur)
	}
}

func instanceKeyOf(r *SLOReview) string {
	m := model.Metric{"service": model.LabelValue(r.Service), "slo": model.LabelValue(r.SLO)}
	for n, v := range r.Group {
		m[model.LabelName(n)] = model.LabelValue(v)
	}
	return m.String()
}

// weekEvents holds the errors and events of a week (tile units).
type weekEvents struct{ errors, total *float64 }

func (b *builder) finish(r *SLOReview, ev *[2]weekEvents) {
	md := b.meta[pairKey(r.Service, r.SLO)]
	if r.Team == "" {
		r.Team = md.team
	}
	r.Objective, r.Period, r.SLIKind, r.PeriodSeconds = md.objective, md.period, md.kind, md.periodSeconds
	if r.PeriodSeconds == 0 {
		r.PeriodSeconds = periodFromLabel(md.period).Seconds()
	}
	if r.BudgetStart != nil && r.BudgetEnd != nil {
		d := *r.BudgetEnd - *r.BudgetStart
		r.BudgetChange = &d
	}
	allowed := 1 - r.Objective
	if r.PeriodSeconds > 0 {
		r.IdealConsumed = b.week.Seconds() / r.PeriodSeconds
	}
	if ev != nil {
		for i := range 2 {
			e := ev[i]
			if e.errors == nil || e.total == nil || *e.total <= 0 {
				continue
			}
			ratio := clamp01(*e.errors / *e.total)
			var consumed *float64
			if allowed > 0 && r.PeriodSeconds > 0 {
				burn := ratio / allowed
				c := burn * r.IdealConsumed
				consumed = &c
				if i == 0 {
					r.BurnWeek = &burn
				}
			}
			if i == 0 {
				sli := 1 - ratio
				r.SLIWeek = &sli
				r.Consumed = consumed
			} else {
				r.ConsumedPrevious = consumed
			}
		}
	}
	r.Trend = trend(r.Consumed, r.ConsumedPrevious)

	// Worst burn per window, shortest first.
	windows := make([]string, 0, len(r.burn))
	for w := range r.burn {
		windows = append(windows, w)
	}
	sort.Slice(windows, func(i, j int) bool { return windowLess(windows[i], windows[j]) })
	for _, w := range windows {
		best := WorstBurn{Window: w, Rate: math.NaN()}
		for _, p := range r.burn[w] {
			if finite(p.V) && (math.IsNaN(best.Rate) || p.V > best.Rate) {
				best.Rate, best.At = p.V, p.T
			}
		}
		if !math.IsNaN(best.Rate) {
			r.WorstBurn = append(r.WorstBurn, best)
		}
	}

	// Alerts: clip to the week, sum per alert and tier.
	step := b.opts.AlertInterval
	byTier := map[[3]string]*AlertSummary{}
	for i := range r.firings {
		f := &r.firings[i]
		f.to = f.to.Add(step) // a sample stands for the interval after it
		if f.to.After(b.opts.To) {
			f.to = b.opts.To
		}
		k := [3]string{f.alert, f.tier, f.severity}
		a := byTier[k]
		if a == nil {
			a = &AlertSummary{Alert: f.alert, Tier: f.tier, Severity: f.severity}
			byTier[k] = a
		}
		d := f.to.Sub(f.from)
		a.Fired++
		a.FiringFor += Duration(d)
		if Duration(d) > a.Longest {
			a.Longest = Duration(d)
		}
	}
	r.Alerts = []AlertSummary{}
	for _, a := range byTier {
		r.Alerts = append(r.Alerts, *a)
		r.AlertsFired += a.Fired
		r.FiringFor += a.FiringFor
	}
	sort.Slice(r.Alerts, func(i, j int) bool {
		a, c := r.Alerts[i], r.Alerts[j]
		if ta, tc := tierRank(a.Tier), tierRank(c.Tier); ta != tc {
			return ta < tc
		}
		if a.Tier != c.Tier {
			return a.Tier < c.Tier
		}
		return a.Alert < c.Alert
	})
	if r.WorstBurn == nil {
		r.WorstBurn = []WorstBurn{}
	}
	r.Risk = sloRisk(r)
}

func tierRank(t string) int {
	switch t {
	case "page-fast":
		return 0
	case "page-slow":
		return 1
	case "ticket-fast":
		return 2
	case "ticket-slow":
		return 3
	case "":
		return 5
	}
	return 4
}

func trend(cur, prev *float64) Trend {
	if cur == nil || prev == nil {
		return TrendNoData
	}
	d := *cur - *prev
	if math.Abs(d) < 0.01 || math.Abs(d) <= 0.1*math.Max(*cur, *prev) {
		return TrendFlat
	}
	if d > 0 {
		return TrendUp
	}
	return TrendDown
}

func isPage(a AlertSummary) bool {
	return strings.HasPrefix(a.Tier, "page") || a.Severity == "critical" || a.Severity == "page"
}

func sloRisk(r *SLOReview) Risk {
	if r.BudgetEnd == nil && r.Consumed == nil && r.AlertsFired == 0 {
		return Risk{Level: RiskUnknown, Why: []string{"no data in Prometheus for the week"}}
	}
	var rk Risk
	var pages, tickets int
	for _, a := range r.Alerts {
		if isPage(a) {
			pages += a.Fired
		} else {
			tickets += a.Fired
		}
	}
	level := RiskOK
	raise := func(l, why string) {
		if riskRank(l) > riskRank(level) {
			level = l
		}
		rk.Why = append(rk.Why, why)
	}
	if r.BudgetEnd != nil {
		rk.Score += math.Max(0, math.Min(2, 1-*r.BudgetEnd))
		if *r.BudgetEnd <= 0 {
			raise(RiskCritical, "error budget exhausted")
		}
	}
	if pages > 0 {
		raise(RiskCritical, fmt.Sprintf("%d page(s) fired", pages))
	}
	if r.Consumed != nil && r.IdealConsumed > 0 {
		pace := *r.Consumed / r.IdealConsumed
		rk.Score += math.Max(0, math.Min(4, pace)) / 4
		switch {
		case pace > 2:
			raise(RiskHigh, fmt.Sprintf("burned %.1fx the sustainable pace", pace))
		case pace > 1:
			raise(RiskElevated, fmt.Sprintf("burned %.1fx the sustainable pace", pace))
		}
		if r.BudgetEnd != nil && *r.BudgetEnd > 0 && *r.Consumed > 0 && *r.BudgetEnd < *r.Consumed {
			raise(RiskHigh, "the budget left lasts less than a week at this pace")
		}
	}
	if tickets > 0 {
		raise(RiskElevated, fmt.Sprintf("%d ticket(s) fired", tickets))
	}
	rk.Score += 0.5*float64(min(pages, 4)) + 0.1*float64(min(tickets, 4))
	rk.Score = math.Round(rk.Score*1000) / 1000
	rk.Level = level
	return rk
}

func (b *builder) services(freezes []FreezePeriod) []ServiceReview {
	by := map[string]*ServiceReview{}
	for _, r := range b.inst {
		s := by[r.Service]
		if s == nil {
			s = &ServiceReview{Service: r.Service}
			by[r.Service] = s
		}
		if s.Team == "" {
			s.Team = r.Team
		}
		s.SLOs = append(s.SLOs, *r)
	}
	// Services with freezes but no SLO data still appear.
	for _, f := range freezes {
		if f.Service != "" && by[f.Service] == nil && (b.opts.Service == "" || b.opts.Service == f.Service) {
			by[f.Service] = &ServiceReview{Service: f.Service}
		}
	}
	out := make([]ServiceReview, 0, len(by))
	for _, s := range by {
		sort.Slice(s.SLOs, func(i, j int) bool { return sloLess(s.SLOs[i], s.SLOs[j]) })
		if s.SLOs == nil {
			s.SLOs = []SLOReview{}
		}
		var total time.Duration
		s.Freezes, total = clipFreezes(freezes, s.Service, b.opts.From, b.opts.To)
		if s.Freezes == nil {
			s.Freezes = []FreezeSpan{}
		}
		s.FrozenFor = Duration(total)
		s.Risk = Risk{Level: RiskUnknown}
		for i, r := range s.SLOs {
			if i == 0 || r.Risk.Score > s.Risk.Score {
				s.Risk.Score = r.Risk.Score
			}
			if riskRank(r.Risk.Level) > riskRank(s.Risk.Level) {
				s.Risk.Level = r.Risk.Level
			}
			for _, w := range r.Risk.Why {
				s.Risk.Why = append(s.Risk.Why, r.SLO+": "+w)
			}
		}
		if total > 0 {
			s.Risk.Why = append(s.Risk.Why, "frozen for "+FormatDuration(total))
		}
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i], out[j]
		if ra, rc := riskRank(a.Risk.Level), riskRank(c.Risk.Level); ra != rc {
			return ra > rc
		}
		if a.Risk.Score != c.Risk.Score {
			return a.Risk.Score > c.Risk.Score
		}
		return a.Service < c.Service
	})
	return out
}

func sloLess(a, c SLOReview) bool {
	if ra, rc := riskRank(a.Risk.Level), riskRank(c.Risk.Level); ra != rc {
		return ra > rc
	}
	if a.Risk.Score != c.Risk.Score {
		return a.Risk.Score > c.Risk.Score
	}
	if a.SLO != c.SLO {
		return a.SLO < c.SLO
	}
	return groupString(a.Group) < groupString(c.Group)
}

func groupString(g map[string]string) string {
	if len(g) == 0 {
		return ""
	}
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + g[k]
	}
	return strings.Join(parts, ", ")
}

// windowLess orders window names by duration ("period" last).
func windowLess(a, c string) bool {
	da, ea := model.ParseDuration(a)
	dc, ec := model.ParseDuration(c)
	switch {
	case ea == nil && ec == nil:
		return da < dc
	case ea == nil:
		return true
	case ec == nil:
		return false
	}
	return a < c
}

// periodFromLabel reads slo_period: "28d", or "calendar-month..." (30d).
func periodFromLabel(p string) time.Duration {
	if strings.HasPrefix(p, "calendar-month") {
		return 30 * 24 * time.Hour
	}
	d, err := model.ParseDuration(p)
	if err != nil {
		return 0
	}
	return time.Duration(d)
}

func points(ps []model.SamplePair) []charts.Point {
	out := make([]charts.Point, len(ps))
	for i, p := range ps {
		out[i] = charts.Point{T: p.Timestamp.Time(), V: float64(p.Value)}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// FormatDuration writes a duration the way people say it: "3d 4h", "2h 5m",
// "45m", "30s".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0m"
	}
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	s := (d - m*time.Minute) / time.Second
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%dh", h))
	}
	if m > 0 && days == 0 {
		parts = append(parts, fmt.Sprintf("%dm", m))
	}
	if s > 0 && days == 0 && h == 0 {
		parts = append(parts, fmt.Sprintf("%ds", s))
	}
	if len(parts) == 0 {
		return "0m"
	}
	return strings.Join(parts, " ")
}
