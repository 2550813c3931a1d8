package webui

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/charts"
)

// Chart sizes in pixels: the burn-down spans the content width of a laptop
// screen, the two others share it. CSS scales them down on narrow screens.
const (
	wideChartWidth   = 1140
	narrowChartWidth = 560
	chartHeight      = 270
)

// sloCharts draws an SLO's three charts: budget burn-down with the ideal
// line, burn rate per window against the tiers' thresholds, and the SLI
// against the objective. The style sheet is served once as a static file
// (inline <style> would break the content security policy).
func sloCharts(d SLODetail, h History, from, to time.Time) ([]chartView, error) {
	id := d.Service + "/" + d.Name
	var period time.Duration
	if !d.PeriodStart.IsZero() && d.PeriodEnd.After(d.PeriodStart) {
		period = d.PeriodEnd.Sub(d.PeriodStart)
	} else if p, err := parseWindow(d.Period); err == nil {
		period = p
	}
	budget := charts.BudgetBurnDown(charts.BudgetInput{
		Title:     "Error budget remaining",
		Remaining: points(h.Budget),
		From:      from, To: to, Period: period,
		Width: wideChartWidth, Height: chartHeight,
	})
	budget.Description = "Error budget of " + id + " remaining over the period, against the pace that spends exactly one budget per period."

	var windows []charts.Series
	for _, w := range sortedWindows(h.BurnRate) {
		windows = append(windows, charts.Series{Name: w, Points: points(h.BurnRate[w])})
	}
	var tiers []charts.Threshold
	for _, t := range d.Tiers {
		if t.Disabled || !finite(t.Threshold) || t.Threshold <= 0 {
			continue
		}
		class := "ticket"
		if t.Severity == "critical" || strings.HasPrefix(t.Name, "page") {
			class = "page"
		}
		tiers = append(tiers, charts.Threshold{Name: t.Name + " " + charts.FormatFactor(t.Threshold), Value: t.Threshold, Class: class})
	}
	burn := charts.BurnRates(charts.BurnRateInput{
		Title:   "Burn rate per window",
		Windows: windows, Tiers: tiers,
		From: from, To: to,
		Width: narrowChartWidth, Height: chartHeight,
	})
	burn.Description = "Burn rate of " + id + " per window against the alert tiers' thresholds."

	sli := charts.SLI(charts.SLIInput{
		Title:     "SLI",
		SLI:       points(h.SLI),
		Objective: d.Objective / 100,
		From:      from, To: to,
		Width: narrowChartWidth, Height: chartHeight,
	})
	sli.Description = "Share of good events of " + id + " against the objective " + formatObjective(d.Objective) + "."

	out := make([]chartView, 0, 3)
	for _, c := range []struct {
		id    string
		chart charts.Chart
	}{{"chart-budget", budget}, {"chart-burn", burn}, {"chart-sli", sli}} {
		c.chart.NoStyle = true
		svg, err := c.chart.SVG()
		if err != nil {
			return out, fmt.Errorf("drawing chart %s of %s: %w", c.id, id, err)
		}
		out = append(out, chartView{ID: c.id, SVG: svg})
	}
	return out, nil
}

func points(in []Point) []charts.Point {
	out := make([]charts.Point, len(in))
	for i, p := range in {
		out[i] = charts.Point{T: p.T, V: p.V}
	}
	return out
}

// chartsCSS serves the charts' style sheet, which the charts package keeps
// as a constant; the UI's own style sheet adapts it to the dark theme.
func chartsCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	_, _ = w.Write([]byte(charts.CSS))
}
