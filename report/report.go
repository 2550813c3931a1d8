// Package report builds the weekly burn-rate review: per service and SLO,
// the objective, the SLI over the week and the period, the error budget at
// the start and end of the week and what the week consumed, the worst burn
// rate per window, the alerts that fired, the change freezes, the trend
// against the previous week, and a risk score that orders the services.
//
// The figures come from the series slokeeper's rules record (see
// docs/rules.md) through Prometheus's query API, and the freezes from a
// FreezeHistory. Build returns a Review; it renders as Markdown, HTML (with
// inline SVG charts from package charts), JSON, or a Slack Block Kit digest.
// A Scheduler runs it from a cron expression and serves the kept reports.
package report

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/charts"
)

// API is the part of client_golang's v1.API the report reads.
type API interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
	QueryRange(ctx context.Context, query string, r v1.Range, opts ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error)
}

// Options of Build.
type Options struct {
	// From and To bound the reviewed week (any span; "week" below). The
	// previous span of the same length is the trend's reference.
	From, To time.Time
	// Service limits the review to one service; empty means all.
	Service string
	// Location of the times in the rendered report; nil means UTC.
	Location *time.Location
	// AlertInterval is the evaluation interval of the alert rule group
	// (rules.Options.AlertInterval): the resolution of the alert timeline
	// and the unit of "time firing". Zero means 1m.
	AlertInterval time.Duration
	// Freezes, when set, supplies the freeze periods.
	Freezes FreezeHistory
	// Logger receives query warnings; nil discards them.
	Logger *slog.Logger
	// Now is the generation time written in the report; zero means To.
	Now time.Time
}

// Review is the weekly review. Pointers are nil where there is no data
// (no traffic, a series missing in Prometheus).
type Review struct {
	GeneratedAt time.Time `json:"generatedAt"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	// PreviousFrom is the start of the previous span (it ends at From).
	PreviousFrom time.Time `json:"previousFrom"`
	TimeZone     string    `json:"timeZone"`
	// Service is the --service filter, if any.
	Service  string          `json:"service,omitempty"`
	Services []ServiceReview `json:"services"`
	// Warnings from Prometheus and the freeze history.
	Warnings []string `json:"warnings,omitempty"`

	loc *time.Location
}

// ServiceReview is one service, its SLOs sorted by risk.
type ServiceReview struct {
	Service string       `json:"service"`
	Team    string       `json:"team,omitempty"`
	Risk    Risk         `json:"risk"`
	SLOs    []SLOReview  `json:"slos"`
	Freezes []FreezeSpan `json:"freezes"`
	// FrozenFor is the time the service was frozen within the week.
	FrozenFor Duration `json:"frozenFor"`
}

// SLOReview is one SLO (one per groupBy value when the SLO has groupBy).
type SLOReview struct {
	Service string `json:"service"`
	SLO     string `json:"slo"`
	// Group holds the groupBy labels of this instance.
	Group map[string]string `json:"group,omitempty"`
	Team  string            `json:"team,omitempty"`
	// Objective as a ratio (0.999).
	Objective float64 `json:"objective"`
	// Period as in slo_period ("28d", "calendar-month"); PeriodSeconds the
	// nominal length (calendar months: 30d).
	Period        string  `json:"period,omitempty"`
	PeriodSeconds float64 `json:"periodSeconds"`
	SLIKind       string  `json:"sliKind,omitempty"`
	// SLIWeek is the share of good events in the week (traffic-weighted,
	// from the hourly tiles); SLIPeriod over the SLO's period at the end.
	SLIWeek   *float64 `json:"sliWeek"`
	SLIPeriod *float64 `json:"sliPeriod"`
	// BudgetStart and BudgetEnd: error budget remaining (1 = untouched) at
	// From and To; BudgetChange = end - start (errors leaving the rolling
	// period give budget back, so it can be positive).
	BudgetStart  *float64 `json:"budgetStart"`
	BudgetEnd    *float64 `json:"budgetEnd"`
	BudgetChange *float64 `json:"budgetChange"`
	// BurnWeek is the week's average burn rate (error ratio of the week over
	// the allowed ratio); Consumed the share of a period's budget the week's
	// errors spent: BurnWeek x week / period. IdealConsumed is that share at
	// burn rate 1 (week / period).
	BurnWeek      *float64 `json:"burnWeek"`
	Consumed      *float64 `json:"consumed"`
	IdealConsumed float64  `json:"idealConsumed"`
	// ConsumedPrevious is Consumed for the previous span; Trend compares them.
	ConsumedPrevious *float64 `json:"consumedPrevious"`
	Trend            Trend    `json:"trend"`
	// WorstBurn per recorded window, shortest window first.
	WorstBurn []WorstBurn `json:"worstBurn"`
	// Alerts per alert and tier; AlertsFired and FiringFor are their sums.
	Alerts      []AlertSummary `json:"alerts"`
	AlertsFired int            `json:"alertsFired"`
	FiringFor   Duration       `json:"firingFor"`
	Risk        Risk           `json:"risk"`

	// Chart data (not in the JSON).
	budget  []charts.Point
	burn    map[string][]charts.Point
	firings []firing
}

// WorstBurn is the highest burn rate a window reached in the week. At is
// the end of the step (Review resolution) in which it was recorded.
type WorstBurn struct {
	Window string    `json:"window"`
	Rate   float64   `json:"rate"`
	At     time.Time `json:"at"`
}

// AlertSummary counts the firings of one alert tier in the week.
type AlertSummary struct {
	Alert    string `json:"alert"`
	Tier     string `json:"tier,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Fired is the number of firing episodes that overlap the week;
	// FiringFor their time firing within it.
	Fired     int      `json:"fired"`
	FiringFor Duration `json:"firingFor"`
	// Longest single episode (within the week).
	Longest Duration `json:"longest"`
}

type firing struct {
	alert, tier, severity string
	from, to              time.Time
}

// Trend compares the budget consumed this week with the previous week.
type Trend string

// Trends.
const (
	TrendUp     Trend = "worse"   // consumed more than 10% more (and at least 1% of the budget) than the week before
	TrendDown   Trend = "better"  // consumed more than 10% less (and at least 1% of the budget)
	TrendFlat   Trend = "steady"  // within those bounds
	TrendNoData Trend = "no-data" // one of the weeks has no figure
)

// Risk orders services and SLOs: Score is the sum of the budget spent at
// the end (1 - remaining, within [0, 2]), a quarter of the week's pace
// against the ideal (Consumed / IdealConsumed, within [0, 4]), 0.5 per page
// and 0.1 per ticket episode (up to 4 each). Level: "critical" when the
// budget is exhausted or a page fired; "high" when the week consumed more
// than twice the ideal or the budget left would last less than one more
// week at this week's pace; "elevated" when the week consumed more than the
// ideal or a ticket fired; "ok" otherwise; "unknown" without data.
type Risk struct {
	Score float64 `json:"score"`
	Level string  `json:"level"`
	// Why lists the reasons for the level, for the reader.
	Why []string `json:"why,omitempty"`
}

// Risk levels.
const (
	RiskCritical = "critical"
	RiskHigh     = "high"
	RiskElevated = "elevated"
	RiskOK       = "ok"
	RiskUnknown  = "unknown"
)

func riskRank(level string) int {
	switch level {
	case RiskCritical:
		return 4
	case RiskHigh:
		return 3
	case RiskElevated:
		return 2
	case RiskOK:
		return 1
	}
	return 0
}

// Duration is a time.Duration that encodes as seconds in JSON.
type Duration time.Duration

// MarshalJSON writes the duration in seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%g", time.Duration(d).Seconds())), nil
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if _, err := fmt.Sscanf(string(b), "%g", &s); err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	*d = Duration(s * float64(time.Second))
	return nil
}

// FreezeSpan is a freeze period clipped to the week, as reported.
type FreezeSpan struct {
	FreezePeriod
	// Ongoing is true when the freeze had not ended at the end of the week.
	Ongoing bool `json:"ongoing"`
}
