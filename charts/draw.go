package charts

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// esc escapes text for XML and HTML alike (<, >, &, ' and ").
func esc(s string) string { return html.EscapeString(s) }

// num formats a coordinate with at most one decimal.
func num(v float64) string {
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

func (l *layout) draw(b *strings.Builder) {
	c := l.c
	label := c.Title
	if label == "" {
		label = "chart"
	}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="slkc" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">`,
		num(l.w), num(l.h), num(l.w), num(l.h), esc(label))
	fmt.Fprintf(b, "<title>%s</title>", esc(label))
	if c.Description != "" {
		fmt.Fprintf(b, "<desc>%s</desc>", esc(c.Description))
	}
	if !c.NoStyle {
		b.WriteString("<style>")
		b.WriteString(CSS)
		b.WriteString("</style>")
	}
	fmt.Fprintf(b, `<rect class="bg" x="0" y="0" width="%s" height="%s"/>`, num(l.w), num(l.h))
	if c.Title != "" {
		fmt.Fprintf(b, `<text class="title" x="%s" y="18">%s</text>`, num(l.px0), esc(truncate(c.Title, int((l.w-l.px0)/7))))
	}
	l.drawBands(b)
	l.drawGrid(b)
	l.drawThresholds(b)
	if l.hasData {
		l.drawSeries(b)
	} else {
		text := c.NoData
		if text == "" {
			text = "no data"
		}
		fmt.Fprintf(b, `<text class="nodata" x="%s" y="%s" text-anchor="middle">%s</text>`,
			num((l.px0+l.px1)/2), num((l.py0+l.py1)/2), esc(text))
	}
	l.drawLegend(b)
	b.WriteString("</svg>")
}

func (l *layout) drawBands(b *strings.Builder) {
	for _, band := range l.c.Bands {
		if !l.bandVisible(band) {
			continue
		}
		from, to := band.From, band.To
		if to.IsZero() || to.After(l.to) {
			to = l.to
		}
		if from.Before(l.from) {
			from = l.from
		}
		x0, x1 := l.x(from), l.x(to)
		if x1-x0 < 1 {
			x1 = x0 + 1
		}
		cls := strings.TrimSpace("band " + cleanClass(band.Class))
		fmt.Fprintf(b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s">`, cls, num(x0), num(l.py0), num(x1-x0), num(l.py1-l.py0))
		if band.Label != "" {
			end := "ongoing"
			if !band.To.IsZero() {
				end = band.To.In(l.loc).Format("Mon 2 Jan 15:04")
			}
			fmt.Fprintf(b, "<title>%s (%s – %s)</title>", esc(band.Label), band.From.In(l.loc).Format("Mon 2 Jan 15:04"), esc(end))
		}
		b.WriteString("</rect>")
	}
}

func (l *layout) drawGrid(b *strings.Builder) {
	b.WriteString(`<g class="y-axis">`)
	for _, v := range l.yticks {
		y := l.y(v)
		fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(l.px0), num(y), num(l.px1), num(y))
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="end">%s</text>`, num(l.px0-6), num(y+3.5), esc(l.yfmt(v)))
	}
	b.WriteString(`</g><g class="x-axis">`)
	fmt.Fprintf(b, `<line class="axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(l.px0), num(l.py1), num(l.px1), num(l.py1))
	for _, t := range l.xticks {
		x := l.x(t)
		fmt.Fprintf(b, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(l.py0), num(x), num(l.py1))
		anchor := "middle"
		if x-l.px0 < 30 {
			anchor = "start"
		} else if l.px1-x < 30 {
			anchor = "end"
		}
		fmt.Fprintf(b, `<text class="tick" x="%s" y="%s" text-anchor="%s">%s</text>`, num(x), num(l.py1+15), anchor, esc(l.tickLabel(t)))
	}
	b.WriteString(`</g>`)
}

func (l *layout) drawThresholds(b *strings.Builder) {
	for _, t := range l.c.Thresholds {
		if !finite(t.Value) || t.Value < l.ymin || t.Value > l.ymax {
			continue
		}
		y := l.y(t.Value)
		cls := strings.TrimSpace("threshold " + cleanClass(t.Class))
		fmt.Fprintf(b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>`,
			cls, num(l.px0), num(y), num(l.px1), num(y), esc(t.Name+" "+l.yfmt(t.Value)))
		if t.Name != "" {
			fmt.Fprintf(b, `<text class="threshold-label" x="%s" y="%s" text-anchor="end">%s</text>`,
				num(l.px1-2), num(y-3), esc(truncate(t.Name, 40)))
		}
	}
}

// segments splits a series at non-finite values, points outside the time
// range and gaps longer than its MaxGap.
func (l *layout) segments(s Series) [][]Point {
	maxGap := s.MaxGap
	if maxGap == 0 {
		maxGap = autoGap(s.Points)
	}
	var segs [][]Point
	var cur []Point
	for i, p := range s.Points {
		if !finite(p.V) || p.T.Before(l.from) || p.T.After(l.to) {
			if len(cur) > 0 {
				segs = append(segs, cur)
				cur = nil
			}
			continue
		}
		if len(cur) > 0 && maxGap > 0 && p.T.Sub(s.Points[i-1].T) > maxGap {
			segs = append(segs, cur)
			cur = nil
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}

// autoGap is 2.5 times the median spacing of the points (0: never break).
func autoGap(ps []Point) time.Duration {
	if len(ps) < 3 {
		return 0
	}
	d := make([]time.Duration, 0, len(ps)-1)
	for i := 1; i < len(ps); i++ {
		if dt := ps[i].T.Sub(ps[i-1].T); dt > 0 {
			d = append(d, dt)
		}
	}
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2] * 5 / 2
}

func (l *layout) drawSeries(b *strings.Builder) {
	for i, s := range l.series {
		segs := l.segments(s)
		if len(segs) == 0 {
			continue
		}
		cls := seriesClass(s, i)
		fmt.Fprintf(b, `<g class="series"><title>%s</title>`, esc(s.Name))
		if s.Area {
			base := l.y(math.Max(l.ymin, math.Min(l.ymax, 0)))
			areaCls := strings.Replace(cls, "line", "area", 1)
			areaCls = strings.Replace(areaCls, " dashed", "", 1)
			for _, seg := range segs {
				var p strings.Builder
				fmt.Fprintf(&p, "M%s %s", num(l.x(seg[0].T)), num(base))
				for _, pt := range seg {
					fmt.Fprintf(&p, "L%s %s", num(l.x(pt.T)), num(l.y(pt.V)))
				}
				fmt.Fprintf(&p, "L%s %sZ", num(l.x(seg[len(seg)-1].T)), num(base))
				fmt.Fprintf(b, `<path class="%s" d="%s"/>`, areaCls, p.String())
			}
		}
		for _, seg := range segs {
			if len(seg) == 1 {
				fmt.Fprintf(b, `<circle class="%s" cx="%s" cy="%s" r="1.8"/>`, cls, num(l.x(seg[0].T)), num(l.y(seg[0].V)))
				continue
			}
			var p strings.Builder
			for j, pt := range seg {
				op := "L"
				if j == 0 {
					op = "M"
				}
				fmt.Fprintf(&p, "%s%s %s", op, num(l.x(pt.T)), num(l.y(pt.V)))
			}
			fmt.Fprintf(b, `<path class="%s" d="%s"/>`, cls, p.String())
		}
		b.WriteString(`</g>`)
	}
}

func (l *layout) drawLegend(b *strings.Builder) {
	if len(l.legend) == 0 {
		return
	}
	b.WriteString(`<g class="legend">`)
	y := l.py1 + axisHeight + legendGap + 4
	for _, row := range l.legend {
		x := l.px0
		for _, it := range row {
			if it.band {
				fmt.Fprintf(b, `<rect class="%s" x="%s" y="%s" width="%d" height="10"/>`, it.class, num(x), num(y-5), legendSwatch)
			} else {
				cls := it.class + " swatch"
				if it.dashed && !strings.Contains(cls, "dashed") {
					cls += " dashed"
				}
				fmt.Fprintf(b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, cls, num(x), num(y), num(x+legendSwatch), num(y))
			}
			fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, num(x+legendSwatch+6), num(y+4), esc(truncate(it.name, 60)))
			x += itemWidth(it.name)
		}
		y += legendRow
	}
	b.WriteString(`</g>`)
}
