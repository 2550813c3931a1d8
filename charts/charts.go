// Package charts draws small time-series charts as self-contained SVG, on
// the server: the weekly report and the web UI embed them inline, so pages
// need neither JavaScript nor a charting library, and they print.
//
// A Chart is plain data (series of points, horizontal thresholds, shaded
// time bands); SVG renders it. Every piece of text (title, series names,
// band labels, tick labels) is XML-escaped, so the output is safe to put in
// an html/template page as template.HTML and parses as XML. Styling is by
// CSS classes; a default style sheet (CSS) is embedded in every chart unless
// Chart.NoStyle is set, in which case the page includes CSS once.
package charts

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Point is one sample. A NaN or infinite V is a gap: the line breaks there.
type Point struct {
	T time.Time
	V float64
}

// Series is one line of a chart.
type Series struct {
	// Name is shown in the legend.
	Name string
	// Points, in time order (SVG sorts a copy when they are not).
	Points []Point
	// Class is added to the line's CSS classes, e.g. "budget", "ideal".
	// Only letters, digits, '-' and '_' are kept. Without a class the
	// series gets a palette colour by position ("s0".."s5").
	Class string
	// Dashed draws the line dashed (e.g. an ideal or reference line).
	Dashed bool
	// Area fills the region between the line and zero (or the bottom of
	// the plot when zero is out of range).
	Area bool
	// MaxGap breaks the line between two points farther apart than this.
	// Zero: 2.5 times the median spacing of the series.
	MaxGap time.Duration
}

// Threshold is a horizontal reference line, e.g. an objective or an alert
// tier's burn-rate factor.
type Threshold struct {
	Name  string
	Value float64
	Class string
}

// Band shades a span of time over the whole plot height, e.g. a change
// freeze or an alert firing. A zero To means "until the end of the chart".
type Band struct {
	From, To time.Time
	// Label is the band's tooltip and legend entry.
	Label string
	// Class is added to the band's CSS classes, e.g. "freeze", "alert".
	Class string
}

// Chart is a line chart over time.
type Chart struct {
	// Title is drawn above the plot and is the chart's accessible name.
	Title string
	// Description is the accessible description (<desc>); optional.
	Description string
	// Width and Height in pixels; zero means DefaultWidth, DefaultHeight.
	Width, Height int
	// From and To bound the time axis; zero values are taken from the data.
	From, To time.Time
	// Location of the time axis labels; nil means UTC.
	Location *time.Location
	// YMin and YMax fix the value axis; nil means fitted to the data and
	// thresholds. Values outside a fixed range are drawn at its edge.
	YMin, YMax *float64
	// YFormat formats the value axis labels; nil means FormatNumber.
	YFormat func(float64) string
	// Series, Thresholds and Bands are drawn bands first, then thresholds,
	// then series, so lines stay on top.
	Series     []Series
	Thresholds []Threshold
	Bands      []Band
	// NoStyle leaves out the embedded <style>; the page must include CSS.
	NoStyle bool
	// NoData is the text shown when no series has a finite point in range;
	// empty means "no data".
	NoData string
}

// Defaults of a Chart.
const (
	DefaultWidth  = 720
	DefaultHeight = 260
)

// CSS is the default style sheet of the charts: every rule is scoped to
// the "slkc" class of the <svg> element. Pages that set Chart.NoStyle put it
// in their own <style> once. Series classes the builders use: budget, ideal,
// sli, objective, exhausted, and w-<window> for burn-rate windows; band
// classes: freeze, alert.
const CSS = `.slkc{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;font-size:11px}
.slkc text{fill:#333}
.slkc .bg{fill:#fff}
.slkc .title{font-size:13px;font-weight:600}
.slkc .grid{stroke:#e6e6e6;stroke-width:1}
.slkc .axis{stroke:#999;stroke-width:1}
.slkc .tick{fill:#555}
.slkc .nodata{fill:#888;font-size:14px}
.slkc .line{stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}
.slkc path.line{fill:none}
.slkc .dashed{stroke-dasharray:6 4;stroke-width:1.4}
.slkc path.area{stroke:none;fill-opacity:.14}
.slkc line.threshold{stroke-width:1;stroke-dasharray:3 3}
.slkc .threshold-label{font-size:10px}
.slkc .band{fill:#d62728;fill-opacity:.10;stroke:none}
.slkc .band.freeze{fill:#7b3fb5;fill-opacity:.13}
.slkc .band.alert{fill:#d62728;fill-opacity:.10}
.slkc .swatch{stroke-width:3}
.slkc .s0,.slkc .w-5m{stroke:#1f77b4;fill:#1f77b4}
.slkc .s1,.slkc .w-30m{stroke:#ff7f0e;fill:#ff7f0e}
.slkc .s2,.slkc .w-1h{stroke:#2ca02c;fill:#2ca02c}
.slkc .s3,.slkc .w-2h{stroke:#9467bd;fill:#9467bd}
.slkc .s4,.slkc .w-6h{stroke:#8c564b;fill:#8c564b}
.slkc .s5,.slkc .w-1d{stroke:#e377c2;fill:#e377c2}
.slkc .w-3d{stroke:#17becf;fill:#17becf}
.slkc .w-period{stroke:#7f7f7f;fill:#7f7f7f}
.slkc .budget{stroke:#1f77b4;fill:#1f77b4}
.slkc .sli{stroke:#2ca02c;fill:#2ca02c}
.slkc .ideal{stroke:#7f7f7f;fill:#7f7f7f}
.slkc .objective,.slkc .exhausted,.slkc .page{stroke:#d62728;fill:#d62728}
.slkc .ticket{stroke:#ff7f0e;fill:#ff7f0e}
`

// SVG renders the chart. The result is a complete <svg> element.
func (c Chart) SVG() (template.HTML, error) {
	var b strings.Builder
	if err := c.WriteSVG(&b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil //nolint:gosec // every text is escaped by WriteSVG
}

// WriteSVG writes the chart's <svg> element to w.
func (c Chart) WriteSVG(w io.Writer) error {
	l, err := c.layout()
	if err != nil {
		return err
	}
	var b strings.Builder
	l.draw(&b)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing chart %q: %w", c.Title, err)
	}
	return nil
}

// Float returns a pointer to v, for Chart.YMin and Chart.YMax.
func Float(v float64) *float64 { return &v }

// geometry of the plot area.
const (
	marginLeft   = 64
	marginRight  = 16
	marginTop    = 30
	axisHeight   = 22
	legendRow    = 16
	legendGap    = 8
	charWidth    = 6.2 // average glyph width at 11px, for layout only
	minPlotW     = 40
	minPlotH     = 30
	legendSwatch = 18
)

type legendItem struct {
	name, class string
	dashed      bool
	band        bool
}

type layout struct {
	c                  Chart
	w, h               float64
	px0, px1, py0, py1 float64 // plot area: x from px0 to px1, y from py0 (top) to py1 (bottom)
	from, to           time.Time
	ymin, ymax         float64
	yticks             []float64
	xticks             []time.Time
	xstep              time.Duration
	loc                *time.Location
	series             []Series
	hasData            bool
	legend             [][]legendItem // rows
}

func (c Chart) layout() (*layout, error) {
	l := &layout{c: c, loc: c.Location}
	if l.loc == nil {
		l.loc = time.UTC
	}
	if c.Width < 0 || c.Height < 0 {
		return nil, fmt.Errorf("chart %q: negative size %dx%d", c.Title, c.Width, c.Height)
	}
	l.w, l.h = float64(c.Width), float64(c.Height)
	if c.Width == 0 {
		l.w = DefaultWidth
	}
	if c.Height == 0 {
		l.h = DefaultHeight
	}
	if c.YMin != nil && c.YMax != nil && !(*c.YMin < *c.YMax) {
		return nil, fmt.Errorf("chart %q: value range [%g, %g] is empty", c.Title, *c.YMin, *c.YMax)
	}
	for _, p := range []*float64{c.YMin, c.YMax} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return nil, fmt.Errorf("chart %q: value range bound %g is not finite", c.Title, *p)
		}
	}
	// Sorted copies of the series.
	l.series = make([]Series, len(c.Series))
	for i, s := range c.Series {
		s.Points = slices.Clone(s.Points)
		slices.SortStableFunc(s.Points, func(a, b Point) int { return a.T.Compare(b.T) })
		l.series[i] = s
	}
	// Time range.
	l.from, l.to = c.From, c.To
	if l.from.IsZero() || l.to.IsZero() {
		var lo, hi time.Time
		for _, s := range l.series {
			if len(s.Points) == 0 {
				continue
			}
			if f := s.Points[0].T; lo.IsZero() || f.Before(lo) {
				lo = f
			}
			if e := s.Points[len(s.Points)-1].T; hi.IsZero() || e.After(hi) {
				hi = e
			}
		}
		if l.from.IsZero() {
			l.from = lo
		}
		if l.to.IsZero() {
			l.to = hi
		}
	}
	if !l.from.IsZero() && !l.to.IsZero() && l.to.Before(l.from) {
		return nil, fmt.Errorf("chart %q: time range ends (%s) before it starts (%s)", c.Title, l.to.Format(time.RFC3339), l.from.Format(time.RFC3339))
	}
	if l.from.IsZero() || l.to.IsZero() || !l.to.After(l.from) {
		// Nothing to place on a time axis: a "no data" chart of an hour.
		if l.from.IsZero() {
			l.from = l.to
		}
		if l.from.IsZero() {
			l.from = time.Unix(0, 0)
		}
		l.to = l.from.Add(time.Hour)
	}
	// Values in range.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range l.series {
		for _, p := range s.Points {
			if !finite(p.V) || p.T.Before(l.from) || p.T.After(l.to) {
				continue
			}
			l.hasData = true
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	for _, t := range c.Thresholds {
		if finite(t.Value) {
			lo, hi = math.Min(lo, t.Value), math.Max(hi, t.Value)
		}
	}
	if c.YMin != nil {
		lo = *c.YMin
	}
	if c.YMax != nil {
		hi = *c.YMax
	}
	if math.IsInf(lo, 1) && math.IsInf(hi, -1) {
		lo, hi = 0, 1
	} else if math.IsInf(lo, 1) {
		lo = math.Min(0, hi-1)
	} else if math.IsInf(hi, -1) {
		hi = math.Max(1, lo+1)
	}
	if lo == hi {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		if c.YMin == nil {
			lo -= d
		}
		if c.YMax == nil {
			hi += d
		}
	}
	// Legend (needs the width), then the plot height.
	l.px0, l.px1 = marginLeft, l.w-marginRight
	if l.px1-l.px0 < minPlotW {
		return nil, fmt.Errorf("chart %q: width %g leaves no room for the plot", c.Title, l.w)
	}
	l.buildLegend()
	l.py0 = marginTop
	l.py1 = l.h - axisHeight - float64(len(l.legend))*legendRow
	if len(l.legend) > 0 {
		l.py1 -= legendGap
	}
	if l.py1-l.py0 < minPlotH {
		return nil, fmt.Errorf("chart %q: height %g leaves no room for the plot", c.Title, l.h)
	}
	// Value ticks; an automatic bound snaps to a tick.
	n := int(math.Max(2, math.Min(8, (l.py1-l.py0)/36)))
	step := niceStep((hi - lo) / float64(n))
	if c.YMin == nil {
		lo = math.Floor(lo/step+1e-9) * step
	}
	if c.YMax == nil {
		hi = math.Ceil(hi/step-1e-9) * step
	}
	l.ymin, l.ymax = lo, hi
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		l.yticks = append(l.yticks, v)
	}
	l.timeTicks()
	return l, nil
}

func (l *layout) buildLegend() {
	var items []legendItem
	for i, s := range l.series {
		if s.Name == "" {
			continue
		}
		items = append(items, legendItem{name: s.Name, class: seriesClass(s, i), dashed: s.Dashed})
	}
	for _, t := range l.c.Thresholds {
		if t.Name == "" {
			continue
		}
		items = append(items, legendItem{name: t.Name, class: "threshold " + cleanClass(t.Class), dashed: true})
	}
	seen := map[string]bool{}
	bands := 0
	for _, b := range l.c.Bands {
		key := b.Class + "\x00" + b.Label
		if b.Label == "" || seen[key] || !l.bandVisible(b) {
			continue
		}
		seen[key] = true
		bands++
		if bands > 4 {
			continue
		}
		items = append(items, legendItem{name: b.Label, class: "band " + cleanClass(b.Class), band: true})
	}
	if bands > 4 {
		items = append(items, legendItem{name: fmt.Sprintf("+%d more", bands-4), class: "band", band: true})
	}
	avail := l.px1 - l.px0
	var row []legendItem
	used := 0.0
	for _, it := range items {
		w := itemWidth(it.name)
		if len(row) > 0 && used+w > avail {
			l.legend = append(l.legend, row)
			row, used = nil, 0
		}
		row = append(row, it)
		used += w
	}
	if len(row) > 0 {
		l.legend = append(l.legend, row)
	}
}

func itemWidth(name string) float64 {
	return legendSwatch + 6 + float64(len([]rune(truncate(name, 60))))*charWidth + 14
}

func (l *layout) bandVisible(b Band) bool {
	to := b.To
	if to.IsZero() {
		to = l.to
	}
	return to.After(l.from) && b.From.Before(l.to) && !b.From.IsZero()
}

func (l *layout) x(t time.Time) float64 {
	span := l.to.Sub(l.from).Seconds()
	return l.px0 + (l.px1-l.px0)*t.Sub(l.from).Seconds()/span
}

func (l *layout) y(v float64) float64 {
	v = math.Max(l.ymin, math.Min(l.ymax, v))
	return l.py1 - (l.py1-l.py0)*(v-l.ymin)/(l.ymax-l.ymin)
}

func (l *layout) yfmt(v float64) string {
	if l.c.YFormat != nil {
		return l.c.YFormat(v)
	}
	return FormatNumber(v)
}

var timeSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// timeTicks places ticks on whole local minutes, hours or days, about one
// per 90 pixels.
func (l *layout) timeTicks() {
	span := l.to.Sub(l.from)
	maxTicks := math.Max(2, math.Floor((l.px1-l.px0)/90))
	l.xstep = timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if float64(span)/float64(s) <= maxTicks {
			l.xstep = s
			break
		}
	}
	from := l.from.In(l.loc)
	y, m, d := from.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, l.loc)
	if l.xstep < 24*time.Hour {
		// Walk the local day in steps (wall clock, so a DST day still
		// gets ticks at the labelled hours).
		for dd := day; !dd.After(l.to); dd = dd.AddDate(0, 0, 1) {
			for k := time.Duration(0); k < 24*time.Hour; k += l.xstep {
				h, mi := int(k/time.Hour), int(k%time.Hour/time.Minute)
				t := time.Date(dd.Year(), dd.Month(), dd.Day(), h, mi, 0, 0, l.loc)
				if !t.Before(l.from) && !t.After(l.to) {
					l.xticks = append(l.xticks, t)
				}
			}
		}
		return
	}
	days := int(l.xstep / (24 * time.Hour))
	for dd := day; !dd.After(l.to); dd = dd.AddDate(0, 0, days) {
		if !dd.Before(l.from) {
			l.xticks = append(l.xticks, dd)
		}
	}
}

func (l *layout) tickLabel(t time.Time) string {
	t = t.In(l.loc)
	midnight := t.Hour() == 0 && t.Minute() == 0
	switch {
	case l.xstep >= 24*time.Hour:
		return t.Format("Mon 2 Jan")
	case midnight && l.to.Sub(l.from) > 12*time.Hour:
		return t.Format("Mon 2 Jan")
	default:
		return t.Format("15:04")
	}
}

// niceStep rounds a raw step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func seriesClass(s Series, i int) string {
	cls := "line"
	if c := cleanClass(s.Class); c != "" {
		cls += " " + c
	} else {
		cls += fmt.Sprintf(" s%d", i%6)
	}
	if s.Dashed {
		cls += " dashed"
	}
	return cls
}

// cleanClass keeps the characters of CSS class names that need no escaping.
func cleanClass(s string) string {
	var b strings.Builder
	for _, f := range strings.Fields(s) {
		var w strings.Builder
		for _, r := range f {
			if r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
				w.WriteRune(r)
			}
		}
		if w.Len() == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.String())
	}
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
