package dashboards

import (
	"time"

	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// The series the SLO dashboards read: the ones package rules records (see
// docs/rules.md), Prometheus' ALERTS, and slokeeper's own freeze metric.
const (
	seriesErrorRatio  = rules.MetricErrorRatio      // {window="5m"|"1h"|...|"period"}
	seriesBurnRate    = rules.MetricBurnRate        // {window="5m"|"1h"|...}
	seriesBudget      = rules.MetricBudgetRemaining // 1 - ratio(period)/budget
	seriesObjective   = rules.MetricObjective       // 0.999
	seriesPeriod      = rules.MetricPeriod          // seconds
	seriesInfo        = rules.MetricInfo            // labels sli_kind, period, objective, spec labels
	seriesErrorsRate  = rules.MetricErrorsRate5m    // bad events/s over 5m
	seriesTotalRate   = rules.MetricTotalRate5m     // events/s over 5m
	seriesMonthStart  = rules.MetricMonthStart      // {service, time_zone}: Unix time the calendar month started
	labelSLO          = rules.LabelSLO
	labelService      = rules.LabelService
	labelTeam         = rules.LabelTeam
	labelWindow       = rules.LabelWindow
	labelTier         = rules.LabelTier
	labelClass        = rules.LabelClass
	labelSeverity     = rules.LabelSeverity
	labelTimeZone     = rules.LabelTimeZone
	windowPeriod      = rules.WindowPeriod
	seriesAlerts      = "ALERTS"
	labelAlertState   = "alertstate"
	labelAlertName    = "alertname"
	baseWindow        = rules.BaseWindow
	minWindowForLabel = rules.BaseWindow
)

// FreezeMetric is the gauge slokeeper's daemon exports for every service:
// 1 while changes to the service are frozen, 0 otherwise. The SLO and
// overview dashboards read it; its only label the dashboards rely on is
// service.
const FreezeMetric = "slokeeper_freeze_active"

// windowLabel is the window label value rules give a window: windows are
// at least the base window and whole seconds, written in Prometheus'
// duration syntax with the largest units (1h, 1d, 30m).
func windowLabel(w time.Duration) string {
	if w < minWindowForLabel {
		w = minWindowForLabel
	}
	return slo.FormatDuration(w.Truncate(time.Second))
}
