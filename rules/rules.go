// Package rules turns SLOs into Prometheus recording and alerting rules.
//
// Generation is pure: no I/O, no clock, same input gives byte-identical
// output. The rule design (aggregate once, derive every longer window from two
// recorded series, traffic-weighted ratios, hourly tiles for long windows and
// the period, no NaN ever) is documented in docs/rules.md.
package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// Recorded series names. All carry the labels slo, service (and team when the
// SLO has one) plus the SLO's groupBy labels, unless said otherwise.
const (
	// MetricErrorsRate5m is the SLI's bad events per second over 5m.
	MetricErrorsRate5m = "slo:sli_errors:rate5m"
	// MetricTotalRate5m is the SLI's events per second over 5m.
	MetricTotalRate5m = "slo:sli_total:rate5m"
	// MetricErrorsRate30m / MetricTotalRate30m are bad events / events per
	// second over exactly the last 30m: the mean of the six rate5m samples
	// at t, t-5m, ..., t-25m, whose 5m windows tile (t-30m, t]. Recorded
	// when a window is summed from them (see docs/rules.md).
	MetricErrorsRate30m = "slo:sli_errors:rate30m"
	MetricTotalRate30m  = "slo:sli_total:rate30m"
	// MetricErrorsTile / MetricTotalTile are hourly tiles: the events of
	// the hour that ends at the newest rate5m sample, in units of "sum of
	// the rate5m samples of the hour" (events = value x short interval in
	// seconds). One sample an hour.
	MetricErrorsTile = "slo:sli_errors:rate5m_sum1h"
	MetricTotalTile  = "slo:sli_total:rate5m_sum1h"
	// MetricErrorsTail / MetricTotalTail are the same for the time since
	// the last hourly tile (0 right after a tile).
	MetricErrorsTail = "slo:sli_errors:rate5m_sum_tail"
	MetricTotalTail  = "slo:sli_total:rate5m_sum_tail"
	// MetricErrorRatio is the traffic-weighted error ratio over the window
	// given by the window label (an alert window such as "1h", or "period").
	MetricErrorRatio = "slo:sli_error:ratio"
	// MetricBurnRate is error ratio / (1 - objective) per alert window.
	MetricBurnRate = "slo:burn_rate:ratio"
	// MetricEvents is the number of events in a tier's long window (only
	// when the SLO sets minEvents).
	MetricEvents = "slo:sli_total:count"
	// MetricBudgetRemaining is 1 - ratio(period) / (1 - objective).
	MetricBudgetRemaining = "slo:error_budget:remaining"
	// MetricObjective is the objective as a ratio (0.999).
	MetricObjective = "slo:objective:ratio"
	// MetricPeriod is the period's nominal length in seconds.
	MetricPeriod = "slo:period:seconds"
	// MetricInfo is 1, with the SLO's metadata as labels.
	MetricInfo = "slo:info"
	// MetricMonthStart (labels: service, time_zone) is the Unix time of the
	// start of the current calendar month in the time zone.
	MetricMonthStart = "slo:calendar_month_start:timestamp"
	// MetricZoneOffset (labels: service, time_zone) is the zone's current
	// UTC offset in seconds (only for zones with DST changes).
	MetricZoneOffset = "slo:time_zone:offset_seconds"
)

// Label names the generator puts on series and alerts: slo, service, team,
// severity and names starting with slo_, all of which slo.IsReservedLabel
// reserves, so a user's label can never collide with them.
const (
	LabelSLO         = "slo"
	LabelService     = "service"
	LabelTeam        = "team"
	LabelWindow      = "slo_window"
	LabelSeverity    = "severity"
	LabelTier        = "slo_tier"
	LabelClass       = "slo_class"
	LabelLongWindow  = "slo_long_window"
	LabelShortWindow = "slo_short_window"
	LabelBurnFactor  = "slo_burn_factor"
	LabelSLIKind     = "slo_sli_kind"
	LabelPeriod      = "slo_period"
	LabelObjective   = "slo_objective"
	LabelTimeZone    = "slo_time_zone"
	// WindowPeriod is the window label value of the period's series.
	WindowPeriod = "period"
)

// BaseWindow is the one range the raw series are read over.
const BaseWindow = 5 * time.Minute

// tileLength is the length of the hourly tiles.
const tileLength = time.Hour

// latticeStep is the length of the rate30m series: windows that are
// multiples of BaseWindow are summed from rate30m samples 30m apart plus
// rate5m samples 5m apart, all ending at the newest sample.
const latticeStep = 30 * time.Minute

// maxLatticeTerms bounds the instant lookups of one lattice sum (24: up to
// 12h in 30m steps); longer untiled windows (not whole hours) use
// avg_over_time.
const maxLatticeTerms = 24

// Options are the generator's global settings.
type Options struct {
	// Tiers are the global default tiers; nil means slo.DefaultTiers().
	Tiers []slo.Tier
	// ShortInterval is the evaluation interval of the group that reads the
	// raw series and records the short windows (default 1m; at most 5m).
	ShortInterval time.Duration
	// LongInterval is the evaluation interval of the group with the long
	// windows and the period (default 5m; whole minutes dividing 1h).
	LongInterval time.Duration
	// AlertInterval is the evaluation interval of the alert group (default 1m).
	AlertInterval time.Duration
	// FastWindowMax: windows up to this length are recorded in the short
	// group (default 1h), longer ones in the long group.
	FastWindowMax time.Duration
	// TiledWindowMin: windows at least this long, whole hours and recorded
	// in the long group (longer than FastWindowMax) are derived from the
	// hourly tiles (default 2h); the others are summed from the rate5m and
	// rate30m series.
	TiledWindowMin time.Duration
	// DashboardURL, when set, is put on alerts that have no dashboard of
	// their own; {service}, {slo} and {team} are replaced (URL-escaped).
	DashboardURL string
	// AlertPrefix starts alert names when the SLO sets none (default "SLO").
	AlertPrefix string
	// AbsentFor is the default `for` of the absent-data alert (default 10m).
	AbsentFor time.Duration
	// BudgetSeverity and AbsentSeverity are the default severities of the
	// budget-exhausted and absent-data alerts (default "warning").
	BudgetSeverity string
	AbsentSeverity string
	// NamespacePrefix names Mimir/Cortex ruler namespaces and
	// PrometheusRule objects: "<prefix>-<service>" (default "slokeeper").
	NamespacePrefix string
}

func (o Options) withDefaults() Options {
	if o.Tiers == nil {
		o.Tiers = slo.DefaultTiers()
	}
	if o.ShortInterval == 0 {
		o.ShortInterval = time.Minute
	}
	if o.LongInterval == 0 {
		o.LongInterval = 5 * time.Minute
	}
	if o.AlertInterval == 0 {
		o.AlertInterval = time.Minute
	}
	if o.FastWindowMax == 0 {
		o.FastWindowMax = time.Hour
	}
	if o.TiledWindowMin == 0 {
		o.TiledWindowMin = 2 * time.Hour
	}
	if o.AlertPrefix == "" {
		o.AlertPrefix = "SLO"
	}
	if o.AbsentFor == 0 {
		o.AbsentFor = 10 * time.Minute
	}
	if o.BudgetSeverity == "" {
		o.BudgetSeverity = "warning"
	}
	if o.AbsentSeverity == "" {
		o.AbsentSeverity = "warning"
	}
	if o.NamespacePrefix == "" {
		o.NamespacePrefix = "slokeeper"
	}
	return o
}

func (o Options) check() error {
	if o.ShortInterval < time.Second || o.ShortInterval > BaseWindow {
		return fmt.Errorf("short interval %s: must be between 1s and %s", o.ShortInterval, BaseWindow)
	}
	if o.LongInterval < time.Minute || o.LongInterval%time.Minute != 0 || tileLength%o.LongInterval != 0 || o.LongInterval == tileLength {
		return fmt.Errorf("long interval %s: must be whole minutes dividing 1h (e.g. 5m)", o.LongInterval)
	}
	if o.AlertInterval <= 0 {
		return fmt.Errorf("alert interval %s: must be positive", o.AlertInterval)
	}
	return nil
}

// RuleGroup is a Prometheus rule group (rulefmt-compatible).
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is one recording or alerting rule (rulefmt-compatible).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// ServiceRules are the rule groups of one service (one rule file).
type ServiceRules struct {
	Service string
	Groups  []RuleGroup
}

// Output is the result of Generate: rule groups per service, in service order.
type Output struct {
	Services []ServiceRules
	opts     Options
}

// Service returns the rules of a service.
func (o *Output) Service(name string) (*ServiceRules, bool) {
	i := sort.Search(len(o.Services), func(i int) bool { return o.Services[i].Service >= name })
	if i < len(o.Services) && o.Services[i].Service == name {
		return &o.Services[i], true
	}
	return nil, false
}

// ServiceNames lists the services in order.
func (o *Output) ServiceNames() []string {
	out := make([]string, len(o.Services))
	for i, s := range o.Services {
		out[i] = s.Service
	}
	return out
}

// GroupName names a service's rule groups: slo:<service>:short|long|alerts.
func GroupName(service, kind string) string { return "slo:" + service + ":" + kind }

// Generate builds the rules of every SLO, grouped per service.
func Generate(slos []slo.SLO, opts Options) (*Output, error) {
	out := &Output{opts: opts.withDefaults()}
	err := GenerateEach(slos, opts, func(o *Output) error {
		out.Services = append(out.Services, o.Services...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GenerateEach builds the rules service by service, in service order, and
// hands each to fn as an Output holding that one service. Memory stays
// bounded by the largest service: use it to write many services' files.
func GenerateEach(slos []slo.SLO, opts Options, fn func(*Output) error) error {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return err
	}
	byService := map[string][]int{}
	seen := make(map[string]bool, len(slos))
	for i := range slos {
		s := &slos[i]
		if s.Service == "" || s.Name == "" {
			return fmt.Errorf("SLO %q: service and name are required", s.ID())
		}
		if seen[s.ID()] {
			return fmt.Errorf("SLO %s: defined more than once", s.ID())
		}
		seen[s.ID()] = true
		byService[s.Service] = append(byService[s.Service], i)
	}
	g := &gen{opts: opts, zones: map[string]*zoneInfo{}}
	for _, svc := range slo.SortedKeys(byService) {
		idx := byService[svc]
		sort.SliceStable(idx, func(a, b int) bool { return slos[idx[a]].Name < slos[idx[b]].Name })
		sr, err := g.service(svc, slos, idx)
		if err != nil {
			return err
		}
		if err := fn(&Output{Services: []ServiceRules{sr}, opts: opts}); err != nil {
			return err
		}
	}
	return nil
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func reserved(name string) bool {
	return slo.IsReservedLabel(name) || strings.HasPrefix(name, "__")
}

// checkLabels verifies that the SLO's user labels neither use reserved names
// nor collide with each other, so generated labels never overwrite them.
func checkLabels(s *slo.SLO, tiers []slo.Tier) error {
	group := map[string]bool{}
	for _, l := range s.GroupBy {
		if !labelNameRE.MatchString(l) {
			return fmt.Errorf("SLO %s: groupBy label %q is not a valid label name", s.ID(), l)
		}
		if reserved(l) {
			return fmt.Errorf("SLO %s: groupBy label %q is reserved for generated series", s.ID(), l)
		}
		if group[l] {
			return fmt.Errorf("SLO %s: groupBy label %q listed twice", s.ID(), l)
		}
		group[l] = true
	}
	check := func(what string, m map[string]string) error {
		for k := range m {
			if !labelNameRE.MatchString(k) {
				return fmt.Errorf("SLO %s: %s label %q is not a valid label name", s.ID(), what, k)
			}
			if reserved(k) {
				return fmt.Errorf("SLO %s: %s label %q is reserved for generated series", s.ID(), what, k)
			}
			if group[k] {
				return fmt.Errorf("SLO %s: %s label %q is also a groupBy label", s.ID(), what, k)
			}
		}
		return nil
	}
	if err := check("spec", s.Labels); err != nil {
		return err
	}
	if err := check("alerting", s.Alerting.Labels); err != nil {
		return err
	}
	for _, t := range tiers {
		if err := check("tier "+t.Name, t.Labels); err != nil {
			return err
		}
	}
	return nil
}
