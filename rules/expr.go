package rules

import (
	"fmt"
	"github.com/prometheus/common/model"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// zeroGuard is the smallest denominator a ratio divides by. Real traffic is
// far above it (one event in 90 days averages to 1.3e-7/s), so ratios stay
// exact, while zero traffic gives 0/1e-9 = 0 instead of NaN.
const zeroGuard = "1e-09"

// ratioExpr is the traffic-weighted error ratio of two expressions for the
// same window: never NaN or Inf, clamped to [0, 1].
func ratioExpr(errs, total string) string {
	return "clamp((" + errs + ") / clamp_min(" + total + ", " + zeroGuard + "), 0, 1)"
}

// fmtFloat renders a float for PromQL and labels, rounded to 12 significant
// digits so that 1 - 0.999 prints as 0.001 and 0.02*720 as 14.4.
func fmtFloat(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if a := math.Abs(r); a >= 1e-4 && a < 1e15 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

func fmtDur(d time.Duration) string { return formatDuration(d) }

// formatDuration renders d in Prometheus' duration syntax (largest whole
// units, down to milliseconds).
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	units := []struct {
		n string
		d time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if d >= u.d {
			b.WriteString(strconv.FormatInt(int64(d/u.d), 10))
			b.WriteString(u.n)
			d %= u.d
		}
	}
	return b.String()
}

// selector is a parsed series selector.
type selector struct {
	name     string // metric name when given by equality, else ""
	matchers []*labels.Matcher
}

func parseSelector(p parser.Parser, s string) (selector, error) {
	ms, err := p.ParseMetricSelector(s)
	if err != nil {
		return selector{}, fmt.Errorf("selector %q: %w", s, err)
	}
	var sel selector
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && sel.name == "" {
			sel.name = m.Value
			continue
		}
		sel.matchers = append(sel.matchers, m)
	}
	return sel, nil
}

var legacyNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// render writes the selector with the metric name suffixed and extra
// matchers appended.
func (s selector) render(suffix string, extra ...*labels.Matcher) string {
	var b strings.Builder
	name := s.name + suffix
	ms := append(append([]*labels.Matcher{}, s.matchers...), extra...)
	if s.name != "" && !legacyNameRE.MatchString(name) {
		b.WriteString("{" + strconv.Quote(name))
		for _, m := range ms {
			b.WriteString(", " + m.String())
		}
		b.WriteString("}")
		return b.String()
	}
	b.WriteString(name)
	if len(ms) > 0 || name == "" {
		b.WriteString("{")
		for i, m := range ms {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(m.String())
		}
		b.WriteString("}")
	}
	return b.String()
}

// leRegex matches a histogram bucket boundary however it was written: as
// Prometheus 3 normalises it ("1.0", "0.3") and as exposition text may have
// it ("1", "0.30", "1e-05").
func leRegex(v float64) string {
	f := strconv.FormatFloat(v, 'f', -1, 64)
	var alts []string
	if strings.Contains(f, ".") {
		alts = append(alts, regexp.QuoteMeta(f)+"0*")
	} else {
		alts = append(alts, regexp.QuoteMeta(f)+`(\.0*)?`)
	}
	for _, g := range []string{strconv.FormatFloat(v, 'g', -1, 64)} {
		if g != f {
			q := regexp.QuoteMeta(g)
			dup := false
			for _, a := range alts {
				if a == q {
					dup = true
				}
			}
			if !dup {
				alts = append(alts, q)
			}
		}
	}
	return strings.Join(alts, "|")
}

// sumBy renders "sum by (a, b) (x)" or "sum(x)".
func sumBy(groupBy []string, x string) string {
	if len(groupBy) == 0 {
		return "sum(" + x + ")"
	}
	return "sum by (" + strings.Join(groupBy, ", ") + ") (" + x + ")"
}

// escapeTemplate keeps user text in alert annotations from being read as
// Go template actions.
func escapeTemplate(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

var alertNameBad = regexp.MustCompile(`[^a-zA-Z0-9_:]`)

func alertName(prefix, suffix string) string {
	n := alertNameBad.ReplaceAllString(prefix, "_") + suffix
	if n == "" || (n[0] >= '0' && n[0] <= '9') {
		n = "SLO_" + n
	}
	return n
}
