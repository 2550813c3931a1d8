package webui

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// funcs are the template functions. URL builders return strings (not
// template.URL) so html/template still filters them; their parts are
// path-escaped here.
func (u *ui) funcs() template.FuncMap {
	return template.FuncMap{
		"sloURL":      u.sloURL,
		"serviceURL":  u.serviceURL,
		"asset":       func(name string) string { return u.base + "/static/" + name + "?v=" + u.assetVersion },
		"listURL":     func(params ...string) string { return u.listURL(params...) },
		"budget":      formatBudget,
		"budgetClass": budgetClass,
		"budgetWidth": budgetWidth,
		"percent":     formatPercent,
		"objective":   formatObjective,
		"burn":        formatBurn,
		"time":        formatTime,
		"isoTime":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"ago":         func(t time.Time) string { return formatAgo(u.now(), t) },
		"until":       func(t time.Time) string { return formatUntil(u.now(), t) },
		"labels":      sortedLabels,
		"join":        strings.Join,
		"maxBurn":     maxBurn,
	}
}

func (u *ui) sloURL(service, name string) string {
	return u.base + "/slos/" + url.PathEscape(service) + "/" + url.PathEscape(name)
}

func (u *ui) serviceURL(service string) string {
	return u.base + "/services/" + url.PathEscape(service)
}

// listURL is the SLO list's URL with query parameters given as name,
// value pairs; empty values are left out.
func (u *ui) listURL(params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			q.Set(params[i], params[i+1])
		}
	}
	if len(q) == 0 {
		return u.base + "/"
	}
	return u.base + "/?" + q.Encode()
}

// formatBudget renders a budget remaining as a percentage of the budget.
func formatBudget(b *float64) string {
	if b == nil || !finite(*b) {
		return "no data"
	}
	return strconv.FormatFloat(*b*100, 'f', 1, 64) + "%"
}

// budgetClass is the CSS class of a budget: ok, low (under a quarter
// left), out (spent), none (no data).
func budgetClass(b *float64) string {
	switch {
	case b == nil || !finite(*b):
		return "none"
	case *b <= 0:
		return "out"
	case *b < 0.25:
		return "low"
	default:
		return "ok"
	}
}

// budgetWidth is a budget's bar length, 0..100.
func budgetWidth(b *float64) string {
	if b == nil || !finite(*b) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(math.Max(0, math.Min(1, *b))*1000)/10, 'f', -1, 64)
}

// formatPercent renders a ratio (0..1) as a percentage with enough digits
// to compare it with an objective such as 99.95%.
func formatPercent(v float64) string {
	if !finite(v) {
		return "no data"
	}
	return strconv.FormatFloat(v*100, 'f', 3, 64) + "%"
}

// formatObjective renders an objective in percent (99.9 -> "99.9%").
func formatObjective(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

func formatBurn(v float64) string {
	if !finite(v) {
		return "no data"
	}
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + "×"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	default:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	}
}

// burnClass compares a burn rate with a threshold: over, near (above half
// of it) or ok.
func burnClass(v, threshold float64) string {
	switch {
	case !finite(v) || threshold <= 0:
		return "none"
	case v >= threshold:
		return "over"
	case v >= threshold/2:
		return "near"
	default:
		return "ok"
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatAgo renders how long before now t was ("3h 5m ago").
func formatAgo(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + formatSpan(-d)
	}
	if d < time.Minute {
		return "just now"
	}
	return formatSpan(d) + " ago"
}

// formatUntil renders how long after now t is ("in 2d 3h").
func formatUntil(now, t time.Time) string {
	if t.IsZero() {
		return "no expiry"
	}
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return "in " + formatSpan(d)
}

// formatSpan renders d with its two largest units.
func formatSpan(d time.Duration) string {
	d = d.Round(time.Minute)
	days, d := d/(24*time.Hour), d%(24*time.Hour)
	hours, mins := d/time.Hour, (d%time.Hour)/time.Minute
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	default:
		return fmt.Sprintf("%dm", max(mins, 1))
	}
}

// label is one name=value pair.
type label struct{ Name, Value string }

func (l label) String() string { return l.Name + "=" + l.Value }

func sortedLabels(m map[string]string) []label {
	out := make([]label, 0, len(m))
	for k, v := range m {
		out = append(out, label{k, v})
	}
	slices.SortFunc(out, func(a, b label) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// burnAt is a burn rate in a window.
type burnAt struct {
	Window string
	Value  float64
	OK     bool
}

// maxBurn is the highest burn rate of an SLO over its windows, the period
// left out (it is the budget, not a burn).
func maxBurn(s SLOView) burnAt {
	var m burnAt
	for _, w := range sortedWindows(s.BurnRate) {
		v := s.BurnRate[w]
		if w == "period" || !finite(v) {
			continue
		}
		if !m.OK || v > m.Value {
			m = burnAt{Window: w, Value: v, OK: true}
		}
	}
	return m
}

// sliValue is the SLI over the period (1 - error ratio), if known.
func sliValue(s SLOView) float64 {
	if r, ok := s.ErrorRatio["period"]; ok && finite(r) {
		return 1 - r
	}
	return math.NaN()
}

// sortedWindows orders window keys by duration ("5m" < "1h" < "3d");
// keys that are not durations ("period") come last, by name.
func sortedWindows[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		da, errA := parseWindow(a)
		db, errB := parseWindow(b)
		switch {
		case errA == nil && errB == nil && da != db:
			if da < db {
				return -1
			}
			return 1
		case errA == nil && errB != nil:
			return -1
		case errA != nil && errB == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// parseWindow parses a Prometheus duration ("5m", "1h30m", "3d").
func parseWindow(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
