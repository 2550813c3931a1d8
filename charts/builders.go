package charts

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// FormatNumber formats a value axis label: up to four significant digits,
// no exponent for everyday magnitudes.
func FormatNumber(v float64) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e6 || a < 1e-3 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 4, 64))
}

// FormatPercent formats a ratio as a percentage: 0.9995 is "99.95%".
// Up to three decimals, trailing zeros dropped.
func FormatPercent(v float64) string {
	return trimZeros(strconv.FormatFloat(v*100, 'f', 3, 64)) + "%"
}

// FormatFactor formats a burn rate: 14.4 is "14.4x".
func FormatFactor(v float64) string {
	return trimZeros(strconv.FormatFloat(v, 'f', 2, 64)) + "x"
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// BudgetInput is the data of a budget burn-down chart.
type BudgetInput struct {
	Title string
	// Remaining is the error budget remaining over time (1 = untouched,
	// 0 = spent, negative = overspent): slo:error_budget:remaining.
	Remaining []Point
	From, To  time.Time
	// Period is the SLO's period. The ideal line starts at the first
	// remaining value in range and falls at burn rate 1, i.e. by
	// elapsed/Period of the budget: the pace that spends exactly the budget
	// over a period. Zero leaves the ideal line out.
	Period   time.Duration
	Bands    []Band
	Location *time.Location
	Width    int
	Height   int
}

// BudgetBurnDown is the chart of the error budget remaining, with the ideal
// line and the "exhausted" line at 0.
func BudgetBurnDown(in BudgetInput) Chart {
	c := Chart{
		Title:       in.Title,
		Description: "Error budget remaining over time, against the pace that spends exactly one budget per period.",
		Width:       in.Width, Height: in.Height,
		From: in.From, To: in.To, Location: in.Location,
		YFormat:    FormatPercent,
		Series:     []Series{{Name: "budget remaining", Points: in.Remaining, Class: "budget", Area: true}},
		Thresholds: []Threshold{{Name: "exhausted", Value: 0, Class: "exhausted"}},
		Bands:      in.Bands,
	}
	if in.Period > 0 {
		if ideal := idealLine(in.Remaining, in.From, in.To, in.Period); ideal != nil {
			c.Series = append(c.Series, Series{Name: "ideal (burn rate 1)", Points: ideal, Class: "ideal", Dashed: true})
		}
	}
	return c
}

func idealLine(rem []Point, from, to time.Time, period time.Duration) []Point {
	var start *Point
	for i := range rem {
		p := rem[i]
		if !finite(p.V) || (!from.IsZero() && p.T.Before(from)) || (!to.IsZero() && p.T.After(to)) {
			continue
		}
		if start == nil || p.T.Before(start.T) {
			start = &rem[i]
		}
	}
	if start == nil {
		return nil
	}
	end := to
	if end.IsZero() {
		for _, p := range rem {
			if p.T.After(end) {
				end = p.T
			}
		}
	}
	if !end.After(start.T) {
		return nil
	}
	return []Point{
		{T: start.T, V: start.V},
		{T: end, V: start.V - end.Sub(start.T).Seconds()/period.Seconds()},
	}
}

// BurnRateInput is the data of a burn-rate chart.
type BurnRateInput struct {
	Title string
	// Windows holds one series per window (slo:burn_rate:ratio by
	// slo_window). A series without a Class gets "w-<Name>", which the
	// default CSS colours for the default windows (5m ... 3d, period).
	Windows []Series
	// Tiers are the alert thresholds (burn-rate factors), e.g.
	// {Name: "page-fast 14.4x", Value: 14.4, Class: "page"}.
	Tiers    []Threshold
	From, To time.Time
	Bands    []Band
	Location *time.Location
	Width    int
	Height   int
}

// BurnRates is the chart of burn rates per window with the tier thresholds.
func BurnRates(in BurnRateInput) Chart {
	ws := make([]Series, len(in.Windows))
	for i, s := range in.Windows {
		if s.Class == "" {
			s.Class = "w-" + s.Name
		}
		ws[i] = s
	}
	return Chart{
		Title:       in.Title,
		Description: "Burn rate per window (error ratio over the allowed error ratio) with the alert tiers' thresholds.",
		Width:       in.Width, Height: in.Height,
		From: in.From, To: in.To, Location: in.Location,
		YMin:       Float(0),
		YFormat:    FormatFactor,
		Series:     ws,
		Thresholds: in.Tiers,
		Bands:      in.Bands,
	}
}

// SLIInput is the data of an SLI chart.
type SLIInput struct {
	Title string
	// SLI is the success ratio over time (1 - error ratio), in [0, 1].
	SLI []Point
	// Objective as a ratio (0.999); 0 leaves the line out.
	Objective float64
	From, To  time.Time
	Bands     []Band
	Location  *time.Location
	Width     int
	Height    int
}

// SLI is the chart of the success ratio against the objective.
func SLI(in SLIInput) Chart {
	c := Chart{
		Title:       in.Title,
		Description: "Service level indicator (share of good events) against the objective.",
		Width:       in.Width, Height: in.Height,
		From: in.From, To: in.To, Location: in.Location,
		YMax:    Float(1),
		YFormat: FormatPercent,
		Series:  []Series{{Name: "SLI", Points: in.SLI, Class: "sli"}},
		Bands:   in.Bands,
	}
	if in.Objective > 0 {
		c.Thresholds = []Threshold{{Name: "objective " + FormatPercent(in.Objective), Value: in.Objective, Class: "objective"}}
	}
	return c
}
