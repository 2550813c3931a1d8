package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/charts"
	"github.com/slokeeper/slokeeper/slo"
)

// chartWindows are the burn-rate windows drawn (the default tiers' long
// windows) when the SLO records them; otherwise every recorded window.
var chartWindows = []string{"1h", "6h", "1d", "3d"}

type htmlSLO struct {
	SLOReview
	Budget, Burn template.HTML
	Rows         [][2]string
}

type htmlService struct {
	ServiceReview
	Alerts  int
	Firing  string
	Frozen  string
	Lowest  string
	Highest string
	SLOs    []htmlSLO
}

type htmlPage struct {
	R        *Review
	Title    string
	Period   string
	Services []htmlService
	CSS      template.CSS
	Method   string
}

// HTML writes the review as one self-contained page: inline CSS and SVG
// charts, no scripts, printable.
func (r *Review) HTML(w io.Writer) error {
	p := htmlPage{
		R:      r,
		Title:  r.Title(),
		Period: fmt.Sprintf("Week %s – %s; compared with %s – %s. Generated %s.", r.fmtDate(r.From), r.fmtDate(r.To), r.fmtDate(r.PreviousFrom), r.fmtDate(r.From), r.fmtDate(r.GeneratedAt)),
		CSS:    template.CSS(pageCSS + charts.CSS),
		Method: strings.TrimPrefix(methodNote, "---\n\n"),
	}
	for _, s := range r.Services {
		fired, firing := s.alerts()
		hs := htmlService{ServiceReview: s, Alerts: fired, Firing: FormatDuration(firing), Frozen: FormatDuration(time.Duration(s.FrozenFor)),
			Lowest: pct(s.lowestBudget()), Highest: pct(s.highestConsumed())}
		for _, o := range s.SLOs {
			budget, burn, err := r.sloCharts(s, o)
			if err != nil {
				return err
			}
			hs.SLOs = append(hs.SLOs, htmlSLO{SLOReview: o, Budget: budget, Burn: burn, Rows: [][2]string{
				{"SLI this week", sliPct(o.SLIWeek)},
				{"SLI over the period", sliPct(o.SLIPeriod)},
				{"Budget left at the start", pct(o.BudgetStart)},
				{"Budget left at the end", pct(o.BudgetEnd)},
				{"Change of budget left", signedPct(o.BudgetChange)},
				{"Consumed this week", fmt.Sprintf("%s (sustainable %s)", pct(o.Consumed), charts.FormatPercent(o.IdealConsumed))},
				{"Average burn rate", factor(o.BurnWeek)},
				{"Trend", o.trendText()},
				{"Alerts fired", fmt.Sprintf("%d (%s firing)", o.AlertsFired, FormatDuration(time.Duration(o.FiringFor)))},
			}})
		}
		p.Services = append(p.Services, hs)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
}

func (r *Review) sloCharts(s ServiceReview, o SLOReview) (template.HTML, template.HTML, error) {
	loc := r.location()
	var bands []charts.Band
	for _, f := range s.Freezes {
		bands = append(bands, charts.Band{From: f.Start, To: f.End, Label: "freeze: " + f.reasons(), Class: "freeze"})
	}
	for _, f := range o.firings {
		label := "alert " + f.alert
		if f.tier != "" {
			label += " " + f.tier
		}
		bands = append(bands, charts.Band{From: f.from, To: f.to, Label: label, Class: "alert"})
	}
	period := time.Duration(o.PeriodSeconds * float64(time.Second))
	budget, err := charts.BudgetBurnDown(charts.BudgetInput{
		Title: o.Service + " / " + o.title() + ": error budget left", Remaining: o.budget,
		From: r.From, To: r.To, Period: period, Bands: bands, Location: loc,
	}).SVG()
	if err != nil {
		return "", "", fmt.Errorf("drawing the budget chart of %s/%s: %w", o.Service, o.SLO, err)
	}
	var windows []charts.Series
	for _, w := range chartWindows {
		if ps, ok := o.burn[w]; ok {
			windows = append(windows, charts.Series{Name: w, Points: ps})
		}
	}
	if len(windows) == 0 {
		names := make([]string, 0, len(o.burn))
		for w := range o.burn {
			names = append(names, w)
		}
		sort.Slice(names, func(i, j int) bool { return windowLess(names[i], names[j]) })
		for _, w := range names {
			windows = append(windows, charts.Series{Name: w, Points: o.burn[w]})
		}
	}
	var tiers []charts.Threshold
	if period > 0 {
		for _, t := range slo.DefaultTiers() {
			if _, ok := o.burn[model2(t.Long)]; !ok && len(o.burn) > 0 {
				continue
			}
			f := t.BurnFactor(period)
			tiers = append(tiers, charts.Threshold{Name: fmt.Sprintf("%s %s", t.Name, charts.FormatFactor(f)), Value: f, Class: t.Class})
		}
	}
	burn, err := charts.BurnRates(charts.BurnRateInput{
		Title: o.Service + " / " + o.title() + ": burn rate (highest per step)", Windows: windows, Tiers: tiers,
		From: r.From, To: r.To, Bands: bands, Location: loc,
	}).SVG()
	if err != nil {
		return "", "", fmt.Errorf("drawing the burn-rate chart of %s/%s: %w", o.Service, o.SLO, err)
	}
	return budget, burn, nil
}

// model2 formats a window as slo_window does ("1h", "1d", "3d").
func model2(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

const pageCSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;margin:2em auto;max-width:1100px;padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.3em;margin-top:2em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h3{font-size:1.1em;margin-top:1.5em}
.meta{color:#555}
table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}
th{background:#f5f5f5}
.risk{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600;font-size:.9em}
.risk-critical{background:#d62728;color:#fff}
.risk-high{background:#ff7f0e;color:#fff}
.risk-elevated{background:#ffd24d;color:#222}
.risk-ok{background:#2ca02c;color:#fff}
.risk-unknown{background:#bbb;color:#222}
.slo{display:grid;grid-template-columns:minmax(260px,1fr) 2fr;gap:1em;align-items:start}
.charts svg{max-width:100%;height:auto;display:block;margin-bottom:.5em}
.why{color:#444}
.warning{background:#fff4e5;border-left:4px solid #ff7f0e;padding:.5em 1em}
.method{color:#555;font-size:.9em;margin-top:3em;border-top:1px solid #ddd;padding-top:1em}
@media print{body{margin:0;max-width:none}section.service{break-before:page}.slo{break-inside:avoid;grid-template-columns:1fr}}
`

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"time":      func(r *Review, t time.Time) string { return r.fmtTime(t) },
	"span":      func(r *Review, f FreezeSpan) string { return r.freezeSpan(f) },
	"dur":       func(d Duration) string { return FormatDuration(time.Duration(d)) },
	"fac":       charts.FormatFactor,
	"join":      strings.Join,
	"reasons":   func(f FreezeSpan) string { return f.reasons() },
	"objective": func(v float64) string { return trimFloat(v*100) + "%" },
	"score": func(v float64) string {
		return fmt.Sprintf("%.2f", v)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">{{.Period}}</p>
{{range .R.Warnings}}<p class="warning">Warning: {{.}}</p>
{{end}}
{{- if not .Services}}<p>No SLO data in Prometheus for this period.</p>{{else}}
<h2>Services by risk</h2>
<table>
<thead><tr><th>Service</th><th>Team</th><th>Risk</th><th class="num">Lowest budget left</th><th class="num">Most consumed this week</th><th class="num">Alerts (time firing)</th><th class="num">Frozen</th></tr></thead>
<tbody>
{{range .Services}}<tr><td><a href="#svc-{{.Service}}">{{.Service}}</a></td><td>{{.Team}}</td><td><span class="risk risk-{{.Risk.Level}}">{{.Risk.Level}}</span></td><td class="num">{{.Lowest}}</td><td class="num">{{.Highest}}</td><td class="num">{{.Alerts}} ({{.Firing}})</td><td class="num">{{.Frozen}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
{{- range $s := .Services}}
<section class="service" id="svc-{{$s.Service}}">
<h2>{{$s.Service}} <span class="risk risk-{{$s.Risk.Level}}">{{$s.Risk.Level}}</span></h2>
<p>{{if $s.Team}}Team: {{$s.Team}}. {{end}}Risk score {{score $s.Risk.Score}}.{{if $s.Risk.Why}} <span class="why">Why: {{join $s.Risk.Why "; "}}.</span>{{end}}</p>
{{if $s.Freezes}}<p>Change freezes:</p>
<ul>{{range $s.Freezes}}<li>{{span $.R .}}: {{reasons .}}</li>{{end}}</ul>
{{else}}<p>No change freeze this week.</p>{{end}}
{{range $s.SLOs}}
<h3>{{.SLOReview.SLO}}{{with .Group}} {{range $k, $v := .}}<code>{{$k}}={{$v}}</code> {{end}}{{end}} — {{.SLOReview.Objective | objective}}{{with .Period}} over {{.}}{{end}} <span class="risk risk-{{.Risk.Level}}">{{.Risk.Level}}</span></h3>
<div class="slo">
<div>
<table>
{{range .Rows}}<tr><th>{{index . 0}}</th><td class="num">{{index . 1}}</td></tr>
{{end}}</table>
{{if .Risk.Why}}<p class="why">Why: {{join .Risk.Why "; "}}.</p>{{end}}
{{if .WorstBurn}}<table>
<thead><tr><th>Window</th><th class="num">Worst burn</th><th>At</th></tr></thead>
<tbody>{{range .WorstBurn}}<tr><td>{{.Window}}</td><td class="num">{{fac .Rate}}</td><td>{{time $.R .At}}</td></tr>{{end}}</tbody>
</table>{{end}}
{{if .Alerts}}<table>
<thead><tr><th>Alert</th><th>Tier</th><th class="num">Fired</th><th class="num">Firing</th><th class="num">Longest</th></tr></thead>
<tbody>{{range .Alerts}}<tr><td>{{.Alert}}</td><td>{{.Tier}}{{with .Severity}} ({{.}}){{end}}</td><td class="num">{{.Fired}}</td><td class="num">{{dur .FiringFor}}</td><td class="num">{{dur .Longest}}</td></tr>{{end}}</tbody>
</table>{{else}}<p>No alert fired.</p>{{end}}
</div>
<div class="charts">{{.Budget}}{{.Burn}}</div>
</div>
{{end}}
</section>
{{- end}}
<p class="method">{{.Method}}</p>
</body>
</html>
`))
