package slo

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// ValidateOptions tunes semantic validation.
type ValidateOptions struct {
	// Tiers are the global default tiers (nil: DefaultTiers()).
	Tiers []Tier
}

// namePattern is what service and SLO names may hold: they end up in rule
// group names, file names, dashboard UIDs and URLs.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// MaxNameLength bounds service and SLO names.
const MaxNameLength = 128

// Validate checks loaded SLOs for everything a loader cannot see alone:
// ranges, PromQL, label names, windows against the period, duplicates across
// files. It reports every problem, each at the position of the field.
func Validate(slos []SLO, opts ValidateOptions) Problems {
	v := validator{p: parser.NewParser(parser.Options{}), tiers: opts.Tiers}
	if v.tiers == nil {
		v.tiers = DefaultTiers()
	}
	seen := map[string]Pos{}
	for i := range slos {
		s := &slos[i]
		v.slo(s)
		if s.Service == "" || s.Name == "" {
			continue
		}
		if first, dup := seen[s.ID()]; dup {
			v.ps.Add(s.At(FieldName), "duplicate SLO %q: already defined at %s:%d:%d", s.ID(), first.File, first.Line, max(first.Col, 1))
			continue
		}
		seen[s.ID()] = s.At(FieldName)
	}
	return v.ps
}

type validator struct {
	p     parser.Parser
	tiers []Tier
	ps    Problems
}

func (v *validator) slo(s *SLO) {
	v.name(s, FieldService, "service", s.Service)
	v.name(s, FieldName, "name", s.Name)
	if !(s.Objective > 0 && s.Objective < 100) || math.IsNaN(s.Objective) {
		v.ps.Add(s.At(FieldObjective), "%s is outside (0, 100): the objective is a percentage such as 99.9", fmtFloat(s.Objective))
	}
	v.period(s)
	v.sli(s)
	v.labels(s)
	v.alerting(s)
}

func (v *validator) name(s *SLO, f Field, what, val string) {
	switch {
	case val == "":
		v.ps.Add(s.At(f), "%s is required", what)
	case len(val) > MaxNameLength:
		v.ps.Add(s.At(f), "%s is %d characters long, over %d", what, len(val), MaxNameLength)
	case !namePattern.MatchString(val):
		v.ps.Add(s.At(f), "%s %q may hold only letters, digits, '.', '_' and '-', starting with a letter or digit", what, val)
	}
}

func (v *validator) period(s *SLO) {
	p := s.Period
	switch p.Kind {
	case CalendarMonth:
		if p.TimeZone != "" {
			if _, err := time.LoadLocation(p.TimeZone); err != nil {
				v.ps.Add(s.At(FieldTimeZone), "unknown time zone %q: use an IANA name such as Europe/Berlin or UTC", p.TimeZone)
			}
		}
	default:
		if p.Rolling < MinPeriod || p.Rolling > MaxPeriod {
			v.ps.Add(s.At(FieldPeriod), "period %s is outside 7d..90d", FormatDuration(p.Rolling))
		}
	}
}

func (v *validator) sli(s *SLO) {
	switch s.SLI.Kind {
	case SLIRatio:
		r := s.SLI.Ratio
		v.selector(s, FieldErrors, r.Errors)
		v.selector(s, FieldGood, r.Good)
		v.selector(s, FieldTotal, r.Total)
		if r.Errors == "" && r.Good == "" {
			v.ps.Add(s.At(FieldSLI), "a ratio SLI needs errors or good beside total")
		}
		if r.Total == "" {
			v.ps.Add(s.At(FieldTotal), "a ratio SLI needs total")
		}
	case SLILatency:
		l := s.SLI.Latency
		if m := v.selector(s, FieldHistogram, l.Histogram); m != "" && !l.Native {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if strings.HasSuffix(m, suffix) {
					v.ps.Add(s.At(FieldHistogram), "give the histogram's base name %q without %s: slokeeper reads %s_bucket and %s_count itself", strings.TrimSuffix(m, suffix), suffix, strings.TrimSuffix(m, suffix), strings.TrimSuffix(m, suffix))
				}
			}
		}
		if l.Histogram == "" {
			v.ps.Add(s.At(FieldHistogram), "a latency SLI needs histogram")
		}
		v.selector(s, FieldTotal, l.Total)
		if l.Threshold <= 0 {
			v.ps.Add(s.At(FieldThreshold), "threshold must be a positive duration such as 300ms")
		} else if !l.Native && !CommonBucket(l.Threshold) {
			v.ps.Warn(s.At(FieldThreshold), "threshold %s is not a bucket boundary of the usual histogram layouts (Prometheus, OpenTelemetry, Kubernetes): make sure the histogram has a bucket le=%q, or every request will count as slow", FormatDuration(l.Threshold), LeValue(l.Threshold))
		}
	case SLIAvailability:
		if s.SLI.Availability.Gauge == "" {
			v.ps.Add(s.At(FieldGauge), "an availability SLI needs gauge")
		}
		v.selector(s, FieldGauge, s.SLI.Availability.Gauge)
	case SLIQuery:
		q := s.SLI.Query
		v.query(s, FieldErrorRatio, q.ErrorRatio)
		v.query(s, FieldErrors, q.Errors)
		v.query(s, FieldGood, q.Good)
		v.query(s, FieldTotal, q.Total)
		if q.ErrorRatio == "" && (q.Total == "" || (q.Errors == "" && q.Good == "")) {
			v.ps.Add(s.At(FieldSLI), "a query SLI needs errorRatio, or total with errors or good")
		}
		if len(s.GroupBy) > 0 && q.ErrorRatio != "" {
			v.ps.Add(s.At(FieldGroupBy), "groupBy does not apply to an errorRatio query: the query decides its own labels; aggregate it by those labels instead")
		}
	default:
		v.ps.Add(s.At(FieldSLI), "an SLI is required: ratio, latency, availability or query")
	}
}

// selector checks that expr is a plain series selector and returns its metric
// name ("" when it has none or is invalid).
func (v *validator) selector(s *SLO, f Field, expr string) string {
	if expr == "" {
		return ""
	}
	if strings.Contains(expr, WindowVar) {
		v.ps.Add(s.At(f), "a selector takes no %s: slokeeper writes the range itself (use sli.query for raw PromQL)", WindowVar)
		return ""
	}
	e, err := v.p.ParseExpr(expr)
	if err != nil {
		v.ps.Add(s.At(f), "invalid PromQL selector %q: %s", clip(expr), oneLine(err))
		return ""
	}
	vs, ok := e.(*parser.VectorSelector)
	if !ok {
		v.ps.Add(s.At(f), "%q is a PromQL expression, not a series selector such as http_requests_total{job=\"api\"}: write a selector here (slokeeper adds rate() and sum()), or use sli.query for raw PromQL", clip(expr))
		return ""
	}
	if vs.OriginalOffset != 0 || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		v.ps.Add(s.At(f), "a selector may not use offset or @")
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel {
			return m.Value
		}
	}
	return vs.Name
}

func (v *validator) query(s *SLO, f Field, q string) {
	if q == "" {
		return
	}
	if !strings.Contains(q, WindowVar) {
		v.ps.Add(s.At(f), "query has no %s: write the range as [%s] so slokeeper can evaluate it over each window", WindowVar, WindowVar)
		return
	}
	rest := strings.ReplaceAll(q, WindowVar, "5m")
	if strings.Contains(rest, "{{") {
		v.ps.Add(s.At(f), "query holds a template other than %s", WindowVar)
		return
	}
	if _, err := v.p.ParseExpr(rest); err != nil {
		v.ps.Add(s.At(f), "invalid PromQL (with %s as 5m): %s", WindowVar, oneLine(err))
	}
}

func (v *validator) labels(s *SLO) {
	seen := map[string]bool{}
	for _, g := range s.GroupBy {
		switch {
		case !model.LegacyValidation.IsValidLabelName(g):
			v.ps.Add(s.At(FieldGroupBy), "invalid label name %q", g)
		case IsReservedLabel(g):
			v.ps.Add(s.At(FieldGroupBy), "label %q is one slokeeper's series carry (%s): aggregating by it would collide; relabel it in the query or drop it", g, strings.Join(ReservedLabelNames(), ", "))
		case seen[g]:
			v.ps.Add(s.At(FieldGroupBy), "label %q is listed twice", g)
		}
		seen[g] = true
	}
	v.labelMap(s, FieldLabels, "label", s.Labels, seen)
	v.labelMap(s, FieldAlertLabels, "alert label", s.Alerting.Labels, seen)
}

func (v *validator) labelMap(s *SLO, f Field, what string, m map[string]string, groupBy map[string]bool) {
	for _, k := range SortedKeys(m) {
		switch {
		case !model.LegacyValidation.IsValidLabelName(k) || strings.HasPrefix(k, "__"):
			v.ps.Add(s.At(f), "invalid %s name %q: use letters, digits and underscores, not starting with a digit or __", what, k)
		case IsReservedLabel(k) && !(k == "severity" && f == FieldAlertLabels):
			v.ps.Add(s.At(f), "%s %q collides with a label slokeeper sets (%s)", what, k, strings.Join(ReservedLabelNames(), ", "))
		case groupBy[k]:
			v.ps.Add(s.At(f), "%s %q collides with a groupBy label of the same name", what, k)
		}
	}
}

func (v *validator) alerting(s *SLO) {
	a := s.Alerting
	if a.MinEvents < 0 || math.IsNaN(a.MinEvents) {
		v.ps.Add(s.At(FieldMinEvents), "minEvents must be 0 or more, got %s", fmtFloat(a.MinEvents))
	}
	if a.MinEvents > 0 && s.SLI.Kind == SLIQuery && s.SLI.Query.ErrorRatio != "" {
		v.ps.Warn(s.At(FieldMinEvents), "minEvents has no effect on an errorRatio query: the number of events is unknown; use total with errors or good")
	}
	if a.Runbook != "" {
		if u, err := url.Parse(a.Runbook); err != nil || u.Scheme == "" || u.Host == "" {
			v.ps.Add(s.At(FieldRunbook), "runbook %q is not an absolute URL", clip(a.Runbook))
		}
	}
	if a.Disabled || !(s.Objective > 0 && s.Objective < 100) {
		return
	}
	period := s.Period.Nominal()
	maxBurn := 0.0
	if b := s.ErrorBudget(); b > 0 {
		maxBurn = 1 / b
	}
	for _, t := range a.ResolveTiers(v.tiers) {
		pos := s.At(FieldAlertingTierX + Field("."+t.Name))
		if _, ok := s.Positions[FieldAlertingTierX+Field("."+t.Name)]; !ok {
			pos = s.At(FieldAlerting)
		}
		if t.Disabled {
			continue
		}
		switch {
		case t.Long <= 0 || t.Short <= 0:
			v.ps.Add(pos, "tier %s: long and short windows must be positive", t.Name)
			continue
		case t.Short >= t.Long:
			v.ps.Add(pos, "tier %s: short window %s must be shorter than the long window %s", t.Name, FormatDuration(t.Short), FormatDuration(t.Long))
		case t.Long > period:
			v.ps.Add(pos, "tier %s: long window %s does not fit the %s period", t.Name, FormatDuration(t.Long), s.Period)
		case t.Short < time.Minute:
			v.ps.Add(pos, "tier %s: short window %s is under 1m: rates need at least two scrapes", t.Name, FormatDuration(t.Short))
		}
		for _, k := range SortedKeys(t.Labels) {
			if !model.LegacyValidation.IsValidLabelName(k) || (IsReservedLabel(k) && k != "severity") {
				v.ps.Add(pos, "tier %s: label %q is invalid or set by slokeeper", t.Name, k)
			}
		}
		if t.Severity == "" {
			v.ps.Add(pos, "tier %s: severity is empty", t.Name)
		}
		if t.Factor <= 0 && (t.BudgetFraction <= 0 || t.BudgetFraction > 1) {
			v.ps.Add(pos, "tier %s: budget fraction %s is outside (0, 1]", t.Name, fmtFloat(t.BudgetFraction))
		}
		if f := t.BurnFactor(period); maxBurn > 0 && f >= maxBurn {
			v.ps.Warn(pos, "tier %s can never fire: its burn-rate threshold %s needs an error ratio of %s, above 100%%, for a %s%% objective; lower the objective's precision or disable the tier", t.Name, fmtFloat(round(f, 2)), fmtFloat(round(f*s.ErrorBudget()*100, 1))+"%", fmtFloat(s.Objective))
		}
	}
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// LeValue renders a latency threshold the way Prometheus 3 writes a classic
// histogram's le label: seconds, shortest float form.
func LeValue(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// commonBuckets are bucket boundaries (seconds) of widely used histogram
// layouts: client_golang DefBuckets, OpenTelemetry's default explicit buckets
// in seconds and in milliseconds (as seconds), and Kubernetes components'.
var commonBuckets = func() map[string]bool {
	out := map[string]bool{}
	for _, b := range []float64{
		// client_golang DefBuckets
		0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
		// OpenTelemetry http.server.request.duration (seconds)
		0.075, 0.75, 7.5,
		// OpenTelemetry default explicit buckets, ms read as seconds/1000
		0.0, 0.001, 0.002, 0.003, 0.004, 0.006, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
		// Kubernetes apiserver request duration
		0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.25, 1.5, 1.75, 2, 3, 4, 6, 8, 15, 20, 30, 45, 60,
		// kube-scheduler scheduling attempt / pod scheduling duration
		0.015, 0.03, 0.12, 0.24, 0.48, 0.96, 1.92, 3.84, 7.68, 15.36,
		// nginx ingress (Prometheus defaults) and common powers
		0.02, 0.15, 0.35, 100, 120,
	} {
		out[strconv.FormatFloat(b, 'f', -1, 64)] = true
	}
	// kube-scheduler SLI histograms: ExponentialBuckets(0.01, 2, 20).
	for i, b := 0, 0.01; i < 20; i, b = i+1, b*2 {
		b = math.Round(b*100) / 100
		out[strconv.FormatFloat(b, 'f', -1, 64)] = true
	}
	return out
}()

// CommonBucket says whether d is a bucket boundary of a common layout.
func CommonBucket(d time.Duration) bool {
	return commonBuckets[LeValue(d)] || fmt.Sprint(d.Seconds()) == "0"
}
