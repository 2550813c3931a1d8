package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/charts"
)

// Formats of Render.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
	FormatJSON     = "json"
)

// Formats lists the formats Render writes.
func Formats() []string { return []string{FormatMarkdown, FormatHTML, FormatJSON} }

// Render writes the review in format (markdown, html or json).
func (r *Review) Render(w io.Writer, format string) error {
	switch format {
	case FormatMarkdown, "md":
		return r.Markdown(w)
	case FormatHTML:
		return r.HTML(w)
	case FormatJSON:
		return r.JSON(w)
	}
	return fmt.Errorf("unknown report format %q (want %s)", format, strings.Join(Formats(), ", "))
}

// JSON writes the review as indented JSON.
func (r *Review) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// location of the rendered times.
func (r *Review) location() *time.Location {
	if r.loc != nil {
		return r.loc
	}
	if l, err := time.LoadLocation(r.TimeZone); err == nil && r.TimeZone != "" {
		return l
	}
	return time.UTC
}

// SetLocation sets the time zone of the rendered times (a Review decoded
// from JSON uses its TimeZone field).
func (r *Review) SetLocation(loc *time.Location) {
	r.loc = loc
	if loc != nil {
		r.TimeZone = loc.String()
	}
}

func (r *Review) fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(r.location()).Format("Mon 2 Jan 15:04")
}

func (r *Review) fmtDate(t time.Time) string {
	return t.In(r.location()).Format("Mon 2 Jan 2006 15:04 MST")
}

// Title is the report's title.
func (r *Review) Title() string {
	t := "SLO review " + r.From.In(r.location()).Format("2 Jan") + " – " + r.To.In(r.location()).Format("2 Jan 2006")
	if r.Service != "" {
		t += ": " + r.Service
	}
	return t
}

func pct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return charts.FormatPercent(*p)
}

// sliPct shows SLIs with enough digits to compare with a 99.99% objective.
func sliPct(p *float64) string {
	if p == nil {
		return "no traffic"
	}
	return fmt.Sprintf("%.3f%%", *p*100)
}

func signedPct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	s := charts.FormatPercent(*p)
	if *p > 0 {
		s = "+" + s
	}
	return s
}

func factor(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return charts.FormatFactor(*p)
}

func (s SLOReview) title() string {
	t := s.SLO
	if g := groupString(s.Group); g != "" {
		t += " {" + g + "}"
	}
	return t
}

func (s SLOReview) objectiveText() string {
	o := fmt.Sprintf("%s%%", trimFloat(s.Objective*100))
	if s.Period != "" {
		o += " over " + s.Period
	} else if s.PeriodSeconds > 0 {
		o += " over " + FormatDuration(time.Duration(s.PeriodSeconds*float64(time.Second)))
	}
	return o
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func (s SLOReview) trendText() string {
	switch s.Trend {
	case TrendNoData:
		return "no data for the previous week"
	case TrendFlat:
		return fmt.Sprintf("steady (previous week %s)", pct(s.ConsumedPrevious))
	case TrendUp:
		return fmt.Sprintf("worse: %s the previous week", pct(s.ConsumedPrevious))
	case TrendDown:
		return fmt.Sprintf("better: %s the previous week", pct(s.ConsumedPrevious))
	}
	return string(s.Trend)
}

// summary figures of a service for the overview.
func (s ServiceReview) lowestBudget() *float64 {
	var low *float64
	for _, r := range s.SLOs {
		if r.BudgetEnd != nil && (low == nil || *r.BudgetEnd < *low) {
			low = r.BudgetEnd
		}
	}
	return low
}

func (s ServiceReview) highestConsumed() *float64 {
	var hi *float64
	for _, r := range s.SLOs {
		if r.Consumed != nil && (hi == nil || *r.Consumed > *hi) {
			hi = r.Consumed
		}
	}
	return hi
}

func (s ServiceReview) alerts() (fired int, firing time.Duration) {
	for _, r := range s.SLOs {
		fired += r.AlertsFired
		firing += time.Duration(r.FiringFor)
	}
	return fired, firing
}

func (f FreezeSpan) reasons() string {
	var parts []string
	if len(f.Sources) > 0 {
		parts = append(parts, strings.Join(f.Sources, ", "))
	}
	if len(f.Reasons) > 0 {
		parts = append(parts, strings.Join(f.Reasons, "; "))
	}
	if len(parts) == 0 {
		return "no reason recorded"
	}
	return strings.Join(parts, ": ")
}

func (r *Review) freezeSpan(f FreezeSpan) string {
	end := "ongoing"
	if !f.Ongoing {
		end = r.fmtTime(f.End)
	}
	from := f.Start
	if from.Before(r.From) {
		from = r.From
	}
	to := f.End
	if f.Ongoing {
		to = r.To
	}
	return fmt.Sprintf("%s – %s (%s in the week)", r.fmtTime(f.Start), end, FormatDuration(to.Sub(from)))
}

// md escapes text for a Markdown table cell or paragraph: no HTML, no
// table breaks, no emphasis or links from user data.
func md(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\n', '\r':
			b.WriteByte(' ')
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '|', '\\', '`', '*', '_', '[', ']', '#':
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Markdown writes the review for a wiki.
func (r *Review) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", md(r.Title()))
	fmt.Fprintf(&b, "Week %s – %s; compared with %s – %s. Generated %s.\n\n",
		r.fmtDate(r.From), r.fmtDate(r.To), r.fmtDate(r.PreviousFrom), r.fmtDate(r.From), r.fmtDate(r.GeneratedAt))
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "> Warning: %s\n\n", md(wn))
	}
	if len(r.Services) == 0 {
		b.WriteString("No SLO data in Prometheus for this period.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("## Services by risk\n\n")
	b.WriteString("| Service | Team | Risk | Lowest budget left | Most budget consumed this week | Alerts (time firing) | Frozen |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|\n")
	for _, s := range r.Services {
		fired, firing := s.alerts()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d (%s) | %s |\n", md(s.Service), md(s.Team), s.Risk.Level,
			pct(s.lowestBudget()), pct(s.highestConsumed()), fired, FormatDuration(firing), FormatDuration(time.Duration(s.FrozenFor)))
	}
	b.WriteString("\n")
	for _, s := range r.Services {
		fmt.Fprintf(&b, "## %s — %s\n\n", md(s.Service), s.Risk.Level)
		if s.Team != "" {
			fmt.Fprintf(&b, "Team: %s. ", md(s.Team))
		}
		fmt.Fprintf(&b, "Risk score %.2f.", s.Risk.Score)
		if len(s.Risk.Why) > 0 {
			fmt.Fprintf(&b, " Why: %s.", md(strings.Join(s.Risk.Why, "; ")))
		}
		b.WriteString("\n\n")
		if len(s.Freezes) > 0 {
			b.WriteString("Change freezes:\n\n")
			for _, f := range s.Freezes {
				fmt.Fprintf(&b, "- %s: %s\n", r.freezeSpan(f), md(f.reasons()))
			}
			b.WriteString("\n")
		} else {
			b.WriteString("No change freeze this week.\n\n")
		}
		for _, o := range s.SLOs {
			fmt.Fprintf(&b, "### %s — %s\n\n", md(o.title()), md(o.objectiveText()))
			b.WriteString("| Figure | Value |\n|---|---:|\n")
			rows := [][2]string{
				{"Risk", fmt.Sprintf("%s (%.2f)", o.Risk.Level, o.Risk.Score)},
				{"SLI this week", sliPct(o.SLIWeek)},
				{"SLI over the period", sliPct(o.SLIPeriod)},
				{"Budget left at the start of the week", pct(o.BudgetStart)},
				{"Budget left at the end of the week", pct(o.BudgetEnd)},
				{"Change of budget left", signedPct(o.BudgetChange)},
				{"Budget consumed this week", fmt.Sprintf("%s (sustainable: %s)", pct(o.Consumed), charts.FormatPercent(o.IdealConsumed))},
				{"Average burn rate this week", factor(o.BurnWeek)},
				{"Trend", o.trendText()},
				{"Alerts fired", fmt.Sprintf("%d (%s firing)", o.AlertsFired, FormatDuration(time.Duration(o.FiringFor)))},
			}
			for _, row := range rows {
				fmt.Fprintf(&b, "| %s | %s |\n", row[0], md(row[1]))
			}
			b.WriteString("\n")
			if len(o.Risk.Why) > 0 {
				fmt.Fprintf(&b, "Why: %s.\n\n", md(strings.Join(o.Risk.Why, "; ")))
			}
			if len(o.WorstBurn) > 0 {
				b.WriteString("| Window | Worst burn rate | At |\n|---|---:|---|\n")
				for _, wb := range o.WorstBurn {
					fmt.Fprintf(&b, "| %s | %s | %s |\n", md(wb.Window), charts.FormatFactor(wb.Rate), r.fmtTime(wb.At))
				}
				b.WriteString("\n")
			}
			if len(o.Alerts) > 0 {
				b.WriteString("| Alert | Tier | Severity | Fired | Time firing | Longest |\n|---|---|---|---:|---:|---:|\n")
				for _, a := range o.Alerts {
					fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s |\n", md(a.Alert), md(a.Tier), md(a.Severity), a.Fired,
						FormatDuration(time.Duration(a.FiringFor)), FormatDuration(time.Duration(a.Longest)))
				}
				b.WriteString("\n")
			}
		}
	}
	b.WriteString(methodNote)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the Markdown report: %w", err)
	}
	return nil
}

// methodNote explains the figures, at the end of the Markdown and HTML.
const methodNote = `---

How to read this: the SLI is the share of good events, weighted by traffic. "Budget left" is the error budget remaining over the SLO's rolling period (100% untouched, 0% spent, negative overspent); it can rise during the week as old errors leave the period. "Consumed this week" is the share of a period's budget this week's errors spent (average burn rate x week / period); "sustainable" is what burn rate 1 spends in a week. The worst burn rate per window is the highest value recorded, at the end of the step it was seen in. Alerts count firing episodes that overlap the week.
`
