// Package slo holds slokeeper's one internal model of a service level
// objective, whatever spec format it was written in, together with the
// error-budget maths and the semantic validation shared by every loader.
package slo

import (
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"
)

// SLO is one service level objective after loading. Every loader (native,
// Sloth, Pyrra, OpenSLO) produces this shape; generators read only this.
type SLO struct {
	Service     string
	Team        string
	Name        string
	Description string
	// Labels are spec labels: they go on the info series and on alerts.
	Labels map[string]string
	// Annotations are free-form metadata (links, owners); they go on alerts.
	Annotations map[string]string
	// Objective is the target in percent, 0 < Objective < 100.
	Objective float64
	Period    Period
	SLI       SLI
	// GroupBy asks for one budget per value of these labels.
	GroupBy  []string
	Alerting Alerting
	// Policy names the error-budget policy of the daemon config.
	Policy string
	// Source says where the SLO was read from, and in which format.
	Source Source
	// Positions maps model fields to where they were written, so that
	// semantic validation can point at the right line and column.
	Positions map[Field]Pos
}

// ID is the SLO's identity across files: service/name.
func (s *SLO) ID() string { return s.Service + "/" + s.Name }

// Target is the objective as a ratio (99.9 -> 0.999).
func (s *SLO) Target() float64 { return s.Objective / 100 }

// ErrorBudget is the allowed error ratio (99.9 -> 0.001).
func (s *SLO) ErrorBudget() float64 { return 1 - s.Objective/100 }

// At returns where field f was written, falling back to the SLO itself.
func (s *SLO) At(f Field) Pos {
	if p, ok := s.Positions[f]; ok {
		return p
	}
	if p, ok := s.Positions[FieldSLO]; ok {
		return p
	}
	return Pos{File: s.Source.File, Line: s.Source.Line, Col: s.Source.Col}
}

// SetPos records where field f was written.
func (s *SLO) SetPos(f Field, p Pos) {
	if s.Positions == nil {
		s.Positions = map[Field]Pos{}
	}
	s.Positions[f] = p
}

// Field names a model field for position lookups.
type Field string

// Model fields whose positions loaders record.
const (
	FieldSLO           Field = "slo"
	FieldService       Field = "service"
	FieldName          Field = "name"
	FieldObjective     Field = "objective"
	FieldPeriod        Field = "period"
	FieldTimeZone      Field = "timeZone"
	FieldSLI           Field = "sli"
	FieldErrors        Field = "sli.errors"
	FieldGood          Field = "sli.good"
	FieldTotal         Field = "sli.total"
	FieldHistogram     Field = "sli.histogram"
	FieldThreshold     Field = "sli.threshold"
	FieldGauge         Field = "sli.gauge"
	FieldErrorRatio    Field = "sli.errorRatio"
	FieldGroupBy       Field = "groupBy"
	FieldLabels        Field = "labels"
	FieldAlerting      Field = "alerting"
	FieldTiers         Field = "alerting.tiers"
	FieldMinEvents     Field = "alerting.minEvents"
	FieldRunbook       Field = "alerting.runbook"
	FieldAlertLabels   Field = "alerting.labels"
	FieldPolicy        Field = "policy"
	FieldAlertingTierX Field = "alerting.tier" // prefix; the tier name follows
)

// Format is the spec format an SLO was read from.
type Format string

// Supported formats.
const (
	FormatNative  Format = "native"
	FormatSloth   Format = "sloth"
	FormatPyrra   Format = "pyrra"
	FormatOpenSLO Format = "openslo"
)

// Source records where an SLO came from.
type Source struct {
	File   string
	Line   int
	Col    int
	Format Format
	// Path is the field path of the SLO inside its document, e.g. "spec.slos[1]".
	Path string
}

// Pos is a position in a spec file together with the field path written there.
type Pos struct {
	File string
	Line int
	Col  int
	Path string
}

// PeriodKind tells rolling windows from calendar ones.
type PeriodKind int

// Period kinds.
const (
	Rolling PeriodKind = iota
	CalendarMonth
)

// Period is the SLO's compliance period.
type Period struct {
	Kind PeriodKind
	// Rolling is the window length for Rolling periods (7d..90d).
	Rolling time.Duration
	// TimeZone is the IANA zone calendar months start in ("" means UTC).
	TimeZone string
}

// Limits of a rolling period.
const (
	MinPeriod = 7 * 24 * time.Hour
	MaxPeriod = 90 * 24 * time.Hour
)

// Nominal is the period's length used for burn-rate factors: the rolling
// window, or 30 days for a calendar month (the SRE Workbook's convention).
func (p Period) Nominal() time.Duration {
	if p.Kind == CalendarMonth {
		return 30 * 24 * time.Hour
	}
	return p.Rolling
}

// String renders the period the way specs write it: "28d" or "calendar-month".
func (p Period) String() string {
	if p.Kind == CalendarMonth {
		if p.TimeZone != "" && p.TimeZone != "UTC" {
			return "calendar-month(" + p.TimeZone + ")"
		}
		return "calendar-month"
	}
	return FormatDuration(p.Rolling)
}

// Bounds returns the start and end of the calendar period containing t; for
// rolling periods the window ending at t.
func (p Period) Bounds(t time.Time) (start, end time.Time, err error) {
	if p.Kind != CalendarMonth {
		return t.Add(-p.Rolling), t, nil
	}
	loc := time.UTC
	if p.TimeZone != "" {
		loc, err = time.LoadLocation(p.TimeZone)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("loading time zone %q: %w", p.TimeZone, err)
		}
	}
	lt := t.In(loc)
	start = time.Date(lt.Year(), lt.Month(), 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0), nil
}

// SLIKind is the kind of service level indicator.
type SLIKind int

// SLI kinds.
const (
	SLIRatio SLIKind = iota + 1
	SLILatency
	SLIAvailability
	SLIQuery
)

func (k SLIKind) String() string {
	switch k {
	case SLIRatio:
		return "ratio"
	case SLILatency:
		return "latency"
	case SLIAvailability:
		return "availability"
	case SLIQuery:
		return "query"
	}
	return "unknown"
}

// SLI is the indicator. Exactly one of its parts is set, as Kind says.
type SLI struct {
	Kind         SLIKind
	Ratio        *RatioSLI
	Latency      *LatencySLI
	Availability *AvailabilitySLI
	Query        *QuerySLI
}

// RatioSLI is a ratio of counters given as series selectors: errors/total or
// good/total. The generator writes rate() and sum() itself.
type RatioSLI struct {
	Errors string
	Good   string
	Total  string
}

// LatencySLI counts requests slower than Threshold as errors.
type LatencySLI struct {
	// Histogram is the histogram's selector without the _bucket/_count
	// suffix, e.g. http_server_request_duration_seconds{job="checkout"}.
	Histogram string
	// Threshold is the latency a good request stays within.
	Threshold time.Duration
	// Native is true for a native (sparse) histogram.
	Native bool
	// Total optionally counts requests differently from the histogram's own
	// count (a selector), as Pyrra allows; empty means Histogram's _count.
	Total string
}

// AvailabilitySLI reads a 0/1 gauge such as up or probe_success: the error
// ratio is the share of samples that were 0.
type AvailabilitySLI struct {
	Gauge string
}

// QuerySLI is the escape hatch: raw PromQL with {{.window}} where a range
// goes. Either ErrorRatio, or Errors (or Good) with Total, each a query
// returning a rate or a count over {{.window}}.
type QuerySLI struct {
	ErrorRatio string
	Errors     string
	Good       string
	Total      string
}

// WindowVar is the template placeholder raw queries use for their range.
const WindowVar = "{{.window}}"

// Alerting holds the alerting options of one SLO.
type Alerting struct {
	// Disabled turns every alert of the SLO off (recording rules stay).
	Disabled bool
	// Name is an alert name prefix; empty means the generator's default.
	Name string
	// Tiers overrides the default burn-rate tiers by tier name.
	Tiers map[string]TierOverride
	// TierSet, when not nil, replaces the default tier list entirely (used by
	// importers whose tool had other windows, e.g. OpenSLO burn-rate conditions).
	TierSet []Tier
	// MinEvents is the minimum number of events in a tier's long window
	// before the tier may fire (0: no guard).
	MinEvents float64
	// Runbook is the runbook URL put on every alert.
	Runbook string
	// Dashboard is a dashboard URL put on every alert.
	Dashboard string
	// Labels and Annotations go on every alert of the SLO.
	Labels      map[string]string
	Annotations map[string]string
	// Absent configures the absent-data alert.
	Absent AbsentAlert
	// BudgetExhausted configures the budget-exhausted alert.
	BudgetExhausted SimpleAlert
}

// AbsentAlert is the alert on missing SLI data.
type AbsentAlert struct {
	Disabled bool
	For      time.Duration
	Severity string
}

// SimpleAlert is an on/off alert with a severity.
type SimpleAlert struct {
	Disabled bool
	Severity string
}

// TierOverride changes one tier of the defaults; nil fields keep the default.
type TierOverride struct {
	Disabled       *bool
	Severity       *string
	For            *time.Duration
	Labels         map[string]string
	Annotations    map[string]string
	BudgetFraction *float64
	Long, Short    *time.Duration
}

// Tier is one multi-window multi-burn-rate alert.
type Tier struct {
	Name string
	// Class is "page" or "ticket".
	Class string
	Long  time.Duration
	Short time.Duration
	// BudgetFraction is the share of the period's budget spent in Long that
	// fires the tier (0.02 for the fast page tier).
	BudgetFraction float64
	// Factor, when > 0, is a fixed burn-rate threshold that replaces
	// BudgetFraction x period / Long (OpenSLO burn-rate conditions).
	Factor      float64
	Severity    string
	For         time.Duration
	Disabled    bool
	Labels      map[string]string
	Annotations map[string]string
}

// BurnFactor is the burn-rate threshold of the tier for a period.
func (t Tier) BurnFactor(period time.Duration) float64 {
	if t.Factor > 0 {
		return t.Factor
	}
	if t.Long <= 0 {
		return 0
	}
	return t.BudgetFraction * float64(period) / float64(t.Long)
}

// Tier names of the SRE Workbook tiers.
const (
	TierPageFast   = "page-fast"
	TierPageSlow   = "page-slow"
	TierTicketFast = "ticket-fast"
	TierTicketSlow = "ticket-slow"
)

// DefaultTiers are the SRE Workbook's multi-window multi-burn-rate tiers:
// page 2% of budget in 1h (5m), page 5% in 6h (30m), ticket 10% in 1d (2h),
// ticket 10% in 3d (6h).
func DefaultTiers() []Tier {
	h := time.Hour
	return []Tier{
		{Name: TierPageFast, Class: "page", Long: h, Short: 5 * time.Minute, BudgetFraction: 0.02, Severity: "critical"},
		{Name: TierPageSlow, Class: "page", Long: 6 * h, Short: 30 * time.Minute, BudgetFraction: 0.05, Severity: "critical"},
		{Name: TierTicketFast, Class: "ticket", Long: 24 * h, Short: 2 * h, BudgetFraction: 0.10, Severity: "warning"},
		{Name: TierTicketSlow, Class: "ticket", Long: 72 * h, Short: 6 * h, BudgetFraction: 0.10, Severity: "warning"},
	}
}

// TierNames lists the default tier names in order.
func TierNames() []string {
	return []string{TierPageFast, TierPageSlow, TierTicketFast, TierTicketSlow}
}

// ResolveTiers applies the SLO's overrides to base (the global defaults,
// usually DefaultTiers) and returns the tiers the SLO alerts with, in order.
func (a Alerting) ResolveTiers(base []Tier) []Tier {
	src := base
	if a.TierSet != nil {
		src = a.TierSet
	}
	out := make([]Tier, 0, len(src))
	for _, t := range src {
		t.Labels = maps.Clone(t.Labels)
		t.Annotations = maps.Clone(t.Annotations)
		if o, ok := a.Tiers[t.Name]; ok {
			t = o.apply(t)
		}
		out = append(out, t)
	}
	return out
}

func (o TierOverride) apply(t Tier) Tier {
	if o.Disabled != nil {
		t.Disabled = *o.Disabled
	}
	if o.Severity != nil {
		t.Severity = *o.Severity
	}
	if o.For != nil {
		t.For = *o.For
	}
	if o.BudgetFraction != nil {
		t.BudgetFraction = *o.BudgetFraction
		t.Factor = 0
	}
	if o.Long != nil {
		t.Long = *o.Long
	}
	if o.Short != nil {
		t.Short = *o.Short
	}
	for k, v := range o.Labels {
		if t.Labels == nil {
			t.Labels = map[string]string{}
		}
		t.Labels[k] = v
	}
	for k, v := range o.Annotations {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[k] = v
	}
	return t
}

// SortedKeys returns the keys of m in order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Reserved labels: the ones slokeeper's generated series and alerts carry.
// A user's groupBy or spec label may not use them: Prometheus would silently
// overwrite one with the other (the Pyrra `slo` label bug). Besides the
// names below, every label starting with "slo_" is reserved, so that new
// generated labels never break existing specs.
var reservedLabels = map[string]bool{
	"slo": true, "service": true, "team": true, "severity": true,
	"alertname": true, "le": true, "__name__": true,
}

// ReservedPrefix starts every other label slokeeper generates (slo_tier,
// slo_window, ...).
const ReservedPrefix = "slo_"

// IsReservedLabel says whether slokeeper's generated series use the label name.
func IsReservedLabel(name string) bool {
	return reservedLabels[name] || strings.HasPrefix(name, ReservedPrefix)
}

// ReservedLabelNames lists the reserved label names in order.
func ReservedLabelNames() []string { return append(SortedKeys(reservedLabels), ReservedPrefix+"*") }

// FormatDuration renders d in Prometheus' duration syntax with the largest
// whole units (90d, 1h30m, 5m), as model.Duration does.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		n string
		d time.Duration
	}{{"w", 0}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if u.d == 0 {
			continue
		}
		if d >= u.d {
			fmt.Fprintf(&b, "%d%s", d/u.d, u.n)
			d %= u.d
		}
	}
	return b.String()
}
