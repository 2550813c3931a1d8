package dashboards

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// Tags of the Grafana annotations slokeeper posts (see the grafana
// sub-package) and the SLO dashboards show: every annotation carries
// AnnotationTag, a kind tag and ServiceTag(service).
const (
	AnnotationTag = "slokeeper"
	TagDeployment = "deployment"
	TagFreeze     = "freeze"
)

// ServiceTag is the tag that ties a dashboard or an annotation to a service.
func ServiceTag(service string) string { return "service:" + service }

// serviceAnnotations are the deployment and freeze annotations of a
// service's dashboards: Grafana annotations posted with the service's
// tags, and the freeze periods read from the freeze metric.
func serviceAnnotations(service string) []Annotation {
	freeze := Annotation{
		Name: "Change freeze (metric)", Datasource: Prometheus(), Enable: true, IconColor: "rgba(245, 54, 54, 0.6)",
		Expr: sel(FreezeMetric, eq(labelService, service)) + " == 1", Step: "1m",
		TitleFormat: "Change freeze", TextFormat: "Changes to " + service + " are frozen",
	}
	return []Annotation{
		tagAnnotation("Deployments", "rgba(31, 120, 193, 1)", AnnotationTag, TagDeployment, ServiceTag(service)),
		tagAnnotation("Freezes", "rgba(245, 54, 54, 1)", AnnotationTag, TagFreeze, ServiceTag(service)),
		freeze,
	}
}

// sloInfo is what the SLO dashboards need to know of one SLO.
type sloInfo struct {
	s      *slo.SLO
	tiers  []slo.Tier // enabled tiers, fastest first
	match  []string   // service and slo matchers
	groups []string   // groupBy filters on the group variables
	raw    bool       // a raw error-ratio query: no event rates recorded
}

func newSLOInfo(s *slo.SLO, base []slo.Tier) sloInfo {
	in := sloInfo{s: s, match: []string{eq(labelService, s.Service), eq(labelSLO, s.Name)}}
	for _, t := range s.Alerting.ResolveTiers(base) {
		if !t.Disabled && t.Long > 0 && t.Short > 0 && t.BurnFactor(s.Period.Nominal()) > 0 {
			in.tiers = append(in.tiers, t)
		}
	}
	sort.SliceStable(in.tiers, func(i, j int) bool { return in.tiers[i].Long < in.tiers[j].Long })
	for _, g := range s.GroupBy {
		in.groups = append(in.groups, re(g, "$"+g))
	}
	in.raw = s.SLI.Kind == slo.SLIQuery && s.SLI.Query != nil && s.SLI.Query.ErrorRatio != "" && s.SLI.Query.Total == ""
	return in
}

// sel selects one of the SLO's series, filtered by the group variables.
func (in *sloInfo) sel(metric string, extra ...string) string {
	m := make([]string, 0, len(in.match)+len(in.groups)+len(extra))
	m = append(append(append(m, in.match...), in.groups...), extra...)
	return sel(metric, m...)
}

// meta selects one of the SLO's metadata series (no group labels).
func (in *sloInfo) meta(metric string) string { return sel(metric, in.match...) }

// windows lists the recorded alert windows, shortest first.
func (in *sloInfo) windows() []time.Duration {
	seen := map[string]bool{}
	var out []time.Duration
	for _, t := range in.tiers {
		for _, w := range []time.Duration{t.Short, t.Long} {
			if l := windowLabel(w); !seen[l] {
				seen[l] = true
				out = append(out, w)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// objectiveDecimals is the number of decimals that show the objectives in
// percent exactly (99.95 -> 2), at least 1.
func objectiveDecimals(slos []slo.SLO) int {
	d := 1
	for _, s := range slos {
		str := strconv.FormatFloat(s.Objective, 'f', -1, 64)
		if i := strings.IndexByte(str, '.'); i >= 0 && len(str)-i-1 > d {
			d = len(str) - i - 1
		}
	}
	return min(d, 5)
}

// fmtFactor renders a burn factor like the rules do (14.4, 13.44, 0.93).
func fmtFactor(f float64) string {
	r := math.Round(f*100) / 100
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func fmtNum(f float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 12, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// budgetSteps colour the budget remaining: red when spent, orange below
// 25%, yellow below 50%.
func budgetSteps() *Thresholds { return Steps(Red, 0.0, Orange, 0.25, Yellow, 0.5, Green) }

// SLODetail builds the SLO dashboard of a service: the service's freeze
// state, a table of its SLOs and their alerts (all filtered by the SLO
// picker), then one row per SLO with its objective, SLI, budget remaining,
// budget burn-down over the period with the ideal burn line, burn rate per
// alert window with the tier thresholds, SLI over time, events and errors
// rate. Deployment and freeze annotations are shown on every graph. slos
// are the service's SLOs (others are ignored).
func SLODetail(service string, slos []slo.SLO, opts Options) Dashboard {
	opts = opts.withDefaults()
	mine := make([]slo.SLO, 0, len(slos))
	for _, s := range slos {
		if s.Service == service {
			mine = append(mine, s)
		}
	}
	sort.SliceStable(mine, func(i, j int) bool { return mine[i].Name < mine[j].Name })
	team := ""
	for _, s := range mine {
		if s.Team != "" {
			team = s.Team
			break
		}
	}
	tags := []string{"slo", ServiceTag(service)}
	if team != "" {
		tags = append(tags, "team:"+team)
	}
	d := newDashboard(KindSLO, service, service+": SLOs",
		"Service level objectives of "+service+": error budget, burn rates, alerts and change freezes. Generated by slokeeper from the SLO specs.",
		opts, tags...)
	d.Time = TimeRange{From: "now-7d", To: "now"}
	d.Links = append(d.Links,
		linkTo(service+": RED", UID(KindRED, service), "Request rate, errors and duration of "+service),
		linkTo("All SLOs", UID(KindOverview, ""), "Every SLO, worst first"))
	runbooks := map[string]bool{}
	for _, s := range mine {
		if u := s.Alerting.Runbook; u != "" && !runbooks[u] {
			runbooks[u] = true
			d.Links = append(d.Links, Link{Title: "Runbook", Type: "link", Icon: "doc", Tooltip: "Runbook of " + s.ID(),
				URL: u, Tags: []string{}, TargetBlank: true})
		}
	}
	d.Annotations.List = append(d.Annotations.List, serviceAnnotations(service)...)

	svcMatch := eq(labelService, "$service")
	d.Templating.List = append(d.Templating.List,
		constVar("service", service),
		queryVar("slo", "SLO", "label_values("+sel(seriesInfo, svcMatch)+", "+labelSLO+")", true))
	groupVars := map[string]bool{}
	for _, s := range mine {
		for _, g := range s.GroupBy {
			if groupVars[g] {
				continue
			}
			groupVars[g] = true
			d.Templating.List = append(d.Templating.List, queryVar(g, g,
				"label_values("+sel(seriesErrorRatio, svcMatch, re(labelSLO, "$slo"), eq(labelWindow, windowPeriod))+", "+g+")", true))
		}
	}

	dec := objectiveDecimals(mine)
	l := newLayout()
	l.row("Service " + service)
	freezeMap := []ValueMapping{ValueMap("0", "not frozen", Green, "1", "FROZEN", Red)}
	frozen := Stat("Change freeze", UnitNone, Steps(Green, 1, Red), Instant("max("+sel(FreezeMetric, svcMatch)+")", ""))
	frozen.Description = "From " + FreezeMetric + ", exported by the slokeeper daemon: 1 while non-critical changes to the service are frozen by its error-budget policy."
	frozen.FieldConfig.Defaults.Mappings = freezeMap
	frozen.FieldConfig.Defaults.NoValue = "no data"
	l.add(4, 8, frozen)
	tbl := sloTable("SLOs", []string{svcMatch, re(labelSLO, "$slo")}, dec, opts, false)
	l.add(20, 8, tbl)
	ft := StateTimeline("Change freeze", freezeMap, Steps(Green, 1, Red),
		Query("max("+sel(FreezeMetric, svcMatch)+")", "freeze"))
	l.add(24, 4, ft)
	alerts := alertTimeline("Alerts", []string{svcMatch, re(labelSLO, "$slo")}, true)
	l.add(24, 7, alerts)

	for i := range mine {
		in := newSLOInfo(&mine[i], opts.Tiers)
		sloRow(l, &in, dec)
	}
	d.Panels = l.panels
	return d
}

// alertTimeline is a state timeline of the alerts matching matchers:
// pending (1) and firing (2), by alert and tier.
func alertTimeline(title string, matchers []string, bySLO bool) Panel {
	by := "alertname, " + labelTier + ", " + labelSeverity
	legend := "{{alertname}} {{" + labelTier + "}}"
	if bySLO {
		by = labelSLO + ", " + by
		legend = "{{" + labelSLO + "}}: " + legend
	}
	firing := sel(seriesAlerts, append(append([]string{}, matchers...), eq(labelAlertState, "firing"))...)
	pending := sel(seriesAlerts, append(append([]string{}, matchers...), eq(labelAlertState, "pending"))...)
	p := StateTimeline(title,
		[]ValueMapping{ValueMap("1", "pending", Yellow, "2", "firing", Red)}, Steps(Yellow, 2, Red),
		Query("max by ("+by+") ("+firing+" * 2 or "+pending+")", legend))
	p.Description = "Prometheus' ALERTS series of the SLO alerts: burn-rate alerts per tier, budget exhausted, SLI data absent."
	return p
}

// sloRow adds the row of one SLO.
func sloRow(l *layout, in *sloInfo, dec int) {
	s := in.s
	title := s.Name + ": " + fmtNum(s.Objective) + "% over " + s.Period.String()
	if len(s.GroupBy) > 0 {
		title += ", per " + strings.Join(s.GroupBy, ", ")
	}
	l.row(title)
	pctDec := func(p *Panel, d int) { p.FieldConfig.Defaults.Decimals = ptr(d) }

	obj := Stat("Objective", UnitPercentUnit, nil, Instant("max("+in.meta(seriesObjective)+")", ""))
	obj.Description = describeSLO(s)
	pctDec(&obj, dec)
	l.add(4, 5, obj)

	sli := Stat("SLI over the period", UnitPercentUnit, Steps(Red, s.Target(), Green),
		Instant("1 - max("+in.sel(seriesErrorRatio, eq(labelWindow, windowPeriod))+")", ""))
	sli.Description = "Share of good events over the " + s.Period.String() + " period (the worst group when grouped). Red below the objective."
	pctDec(&sli, dec+1)
	l.add(5, 5, sli)

	budget := Stat("Error budget remaining", UnitPercentUnit, budgetSteps(), Instant("min("+in.sel(seriesBudget)+")", ""))
	budget.Description = "Share of the period's error budget (" + fmtNum(100-s.Objective) + "% of events) not yet spent; negative when overspent."
	budget.Options.(*StatOptions).GraphMode = "area"
	pctDec(&budget, 1)
	l.add(5, 5, budget)

	if len(in.tiers) > 0 {
		w := in.tiers[0].Long
		burn := Stat("Burn rate over "+windowLabel(w), UnitBurnRate, burnSteps(in),
			Instant("max("+in.sel(seriesBurnRate, eq(labelWindow, windowLabel(w)))+")", ""))
		burn.Description = "How many times faster than allowed the error budget burns (1x spends it exactly over the period)."
		pctDec(&burn, 2)
		l.add(5, 5, burn)
	} else {
		burn := Stat("Burn rate over the period", UnitBurnRate, Steps(Green, 1, Red),
			Instant("max("+in.sel(seriesErrorRatio, eq(labelWindow, windowPeriod))+") / "+fmtNum(s.ErrorBudget()), ""))
		pctDec(&burn, 2)
		l.add(5, 5, burn)
	}
	firing := Stat("Alerts firing", UnitNone, Steps(Green, 1, Red),
		Instant("count("+sel(seriesAlerts, append(append([]string{}, in.match...), eq(labelAlertState, "firing"))...)+") or vector(0)", ""))
	l.add(5, 5, firing)

	l.add(12, 9, burnDown(in))
	l.add(12, 9, burnRates(in))
	l.add(12, 8, sliOverTime(in))
	l.add(12, 8, eventsPanel(in))
}

// burnSteps colour a burn rate by the tiers it would fire: yellow at the
// slowest ticket factor, red at the slowest page factor.
func burnSteps(in *sloInfo) *Thresholds {
	p := in.s.Period.Nominal()
	ticket, page := math.Inf(1), math.Inf(1)
	for _, t := range in.tiers {
		f := t.BurnFactor(p)
		if t.Class == "page" {
			page = math.Min(page, f)
		} else {
			ticket = math.Min(ticket, f)
		}
	}
	steps := []any{}
	if !math.IsInf(ticket, 1) && (math.IsInf(page, 1) || ticket < page) {
		steps = append(steps, round2(ticket), Orange)
	}
	if !math.IsInf(page, 1) {
		steps = append(steps, round2(page), Red)
	}
	return Steps(Green, steps...)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// burnDown is the budget remaining over the period with the ideal line.
func burnDown(in *sloInfo) Panel {
	s := in.s
	remaining := Query("min("+in.sel(seriesBudget)+")", "budget remaining")
	var ideal Target
	p := Timeseries("Error budget burn-down over the period", UnitPercentUnit, remaining)
	if s.Period.Kind == slo.CalendarMonth {
		tz := s.Period.TimeZone
		if tz == "" || tz == "Etc/UTC" {
			tz = "UTC"
		}
		ms := "max(" + sel(seriesMonthStart, eq(labelService, s.Service), eq(labelTimeZone, tz)) + ")"
		// days_in_month of the month start plus 12h: the month in the
		// zone, whatever its UTC offset.
		ideal = Query("clamp_min(1 - (time() - "+ms+") / (86400 * days_in_month("+ms+" + 43200)), 0)", "ideal")
		p.TimeFrom = "now/M"
		p.Description = "Error budget remaining in the calendar month (" + tz + "). Ideal: the budget spent evenly, from 100% at the start of the month to 0% at its end; below the line the month's budget runs out before the month does."
	} else {
		ideal = Query("clamp_min(vector(1 - (time() - ${__from:date:seconds}) / $__range_s), 0)", "ideal")
		p.TimeFrom = windowLabel(s.Period.Rolling)
		p.Description = "Error budget remaining over the rolling " + s.Period.String() + " period, shown over the last " + s.Period.String() +
			". Ideal: the budget spent evenly over the period shown, from 100% to 0%; below the line the budget is burning faster than 1x."
	}
	p.Targets = append(p.Targets, ideal)
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides,
		OverrideByNames([]string{"ideal"}, Dashed(), FixedColor(Text)))
	g := p.FieldConfig.Defaults.Custom.(*GraphFieldConfig)
	g.AxisSoftMin, g.AxisSoftMax = ptr(0.0), ptr(1.0)
	drawThresholds(&p, Steps("transparent", 0.0, Red))
	return p
}

// burnRates is the burn rate per alert window, with each tier's threshold
// drawn as a dashed line.
func burnRates(in *sloInfo) Panel {
	s := in.s
	if len(in.tiers) == 0 {
		p := Timeseries("Burn rate over the period", UnitBurnRate,
			Query("max("+in.sel(seriesErrorRatio, eq(labelWindow, windowPeriod))+") / "+fmtNum(s.ErrorBudget()), "period"))
		p.Description = "No alert tier is enabled, so no alert window is recorded: the burn rate over the whole period."
		return p
	}
	p := Timeseries("Burn rate per alert window", UnitBurnRate,
		Query("max by ("+labelWindow+") ("+in.sel(seriesBurnRate)+")", "{{"+labelWindow+"}}"))
	var desc strings.Builder
	desc.WriteString("Burn rate over each alert window (the worst group when grouped). Dashed: the tiers' thresholds; a tier fires when both its long and short windows are above its threshold.")
	var page, ticket []string
	for _, t := range in.tiers {
		f := t.BurnFactor(s.Period.Nominal())
		name := t.Name + " " + fmtFactor(f) + "x (" + windowLabel(t.Long) + " & " + windowLabel(t.Short) + ")"
		p.Targets = append(p.Targets, Query("vector("+fmtNum(f)+")", name))
		if t.Class == "page" {
			page = append(page, name)
		} else {
			ticket = append(ticket, name)
		}
	}
	if len(page) > 0 {
		p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, OverrideByNames(page, Dashed(), FixedColor(Red)))
	}
	if len(ticket) > 0 {
		p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, OverrideByNames(ticket, Dashed(), FixedColor(Orange)))
	}
	p.Description = desc.String()
	p.Options.(*TimeseriesOptions).Legend = legendTable("lastNotNull", "max")
	return p
}

// sliOverTime is the SLI over the shortest window and the period, with the
// objective.
func sliOverTime(in *sloInfo) Panel {
	s := in.s
	p := Timeseries("SLI", UnitPercentUnit)
	if ws := in.windows(); len(ws) > 0 {
		w := windowLabel(ws[0])
		p.Targets = append(p.Targets, Query("1 - max("+in.sel(seriesErrorRatio, eq(labelWindow, w))+")", "SLI ("+w+")"))
	}
	p.Targets = append(p.Targets,
		Query("1 - max("+in.sel(seriesErrorRatio, eq(labelWindow, windowPeriod))+")", "SLI ("+s.Period.String()+")"),
		Query("max("+in.meta(seriesObjective)+")", "objective"))
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, OverrideByNames([]string{"objective"}, Dashed(), FixedColor(Red)))
	p.FieldConfig.Defaults.Decimals = ptr(3)
	p.Description = "Share of good events (the worst group when grouped), with the objective dashed."
	return p
}

// eventsPanel is the events and errors rate of the SLI.
func eventsPanel(in *sloInfo) Panel {
	if in.raw {
		p := Timeseries("Error ratio", UnitPercentUnit)
		if ws := in.windows(); len(ws) > 0 {
			w := windowLabel(ws[0])
			p.Targets = append(p.Targets, Query("max("+in.sel(seriesErrorRatio, eq(labelWindow, w))+")", "error ratio ("+w+")"))
		} else {
			p.Targets = append(p.Targets, Query("max("+in.sel(seriesErrorRatio, eq(labelWindow, windowPeriod))+")", "error ratio (period)"))
		}
		p.Description = "The SLI is a raw error-ratio query, so no event rates are recorded: its error ratio instead."
		return p
	}
	p := Timeseries("Events and errors", UnitOpsPerSec,
		Query("sum("+in.sel(seriesTotalRate)+")", "events"),
		Query("sum("+in.sel(seriesErrorsRate)+")", "errors"))
	p.FieldConfig.Overrides = append(p.FieldConfig.Overrides, OverrideByNames([]string{"errors"}, FixedColor(Red)))
	p.Description = "Events and bad events per second of the SLI over " + baseWindow.String() + "."
	return p
}

// describeSLO says what the SLO measures, for panel descriptions.
func describeSLO(s *slo.SLO) string {
	var b strings.Builder
	if s.Description != "" {
		b.WriteString(s.Description)
		b.WriteString("\n\n")
	}
	b.WriteString("Objective " + fmtNum(s.Objective) + "% over " + s.Period.String() + ". SLI (" + s.SLI.Kind.String() + "): ")
	switch s.SLI.Kind {
	case slo.SLIRatio:
		if r := s.SLI.Ratio; r != nil {
			if r.Errors != "" {
				b.WriteString("errors " + r.Errors + " over total " + r.Total)
			} else {
				b.WriteString("good " + r.Good + " over total " + r.Total)
			}
		}
	case slo.SLILatency:
		if l := s.SLI.Latency; l != nil {
			b.WriteString(l.Histogram + " within " + slo.FormatDuration(l.Threshold))
		}
	case slo.SLIAvailability:
		if a := s.SLI.Availability; a != nil {
			b.WriteString("samples of " + a.Gauge + " that are 1")
		}
	case slo.SLIQuery:
		if q := s.SLI.Query; q != nil {
			if q.ErrorRatio != "" {
				b.WriteString(q.ErrorRatio)
			} else {
				b.WriteString("raw query")
			}
		}
	}
	b.WriteString(".")
	return b.String()
}
