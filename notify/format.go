package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// Truncate shortens s to at most maxChars characters (runes), ending it
// with "…" when something was cut. It never splits a UTF-8 sequence.
func Truncate(s string, maxChars int) string {
	if maxChars <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= maxChars {
		return s
	}
	if maxChars == 1 {
		return "…"
	}
	n := 0
	for i := range s {
		if n == maxChars-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// TruncateBytes shortens s to at most maxBytes bytes, ending it with "…"
// when something was cut, without splitting a UTF-8 sequence.
func TruncateBytes(s string, maxBytes int) string {
	if len(s) <= maxBytes {
		return s
	}
	const ell = "…"
	if maxBytes < len(ell) {
		return ""
	}
	cut := maxBytes - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

func trimFloat(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "n/a", true
	case math.IsInf(v, 1):
		return "+Inf", true
	case math.IsInf(v, -1):
		return "-Inf", true
	}
	return "", false
}

// FormatPercent renders a fraction as a percentage: 0.999 -> "99.9%".
func FormatPercent(frac float64) string {
	if s, ok := nonFinite(frac); ok {
		return s
	}
	return trimFloat(frac*100, 3) + "%"
}

// FormatBudget renders a remaining-budget fraction, "n/a" when unknown.
func FormatBudget(frac *float64) string {
	if frac == nil {
		return "n/a"
	}
	return FormatPercent(*frac)
}

// FormatBurn renders a burn rate: 14.4 -> "14.4x".
func FormatBurn(rate float64) string {
	if s, ok := nonFinite(rate); ok {
		return s
	}
	return trimFloat(rate, 2) + "x"
}

// SortedWindows returns the windows of a burn-rate map from the shortest
// to the longest ("5m" < "1h" < "3d"); unparseable windows come last, by
// name.
func SortedWindows(rates map[string]float64) []string {
	ws := make([]string, 0, len(rates))
	for w := range rates {
		ws = append(ws, w)
	}
	dur := func(w string) (int64, bool) {
		d, err := model.ParseDuration(w)
		if err != nil {
			return 0, false
		}
		return int64(d), true
	}
	sort.Slice(ws, func(i, j int) bool {
		di, oki := dur(ws[i])
		dj, okj := dur(ws[j])
		switch {
		case oki && okj && di != dj:
			return di < dj
		case oki != okj:
			return oki
		default:
			return ws[i] < ws[j]
		}
	})
	return ws
}

// FormatBurnRates renders the burn rates as "5m 14.4x, 1h 6x".
func FormatBurnRates(rates map[string]float64) string {
	parts := make([]string, 0, len(rates))
	for _, w := range SortedWindows(rates) {
		parts = append(parts, w+" "+FormatBurn(rates[w]))
	}
	return strings.Join(parts, ", ")
}

// jsonFloat encodes non-finite values (which encoding/json refuses) as the
// strings "NaN", "+Inf" and "-Inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf", "Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("invalid number %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

type sloLineJSON struct {
	Name            string               `json:"name"`
	Objective       jsonFloat            `json:"objective"`
	BudgetRemaining *jsonFloat           `json:"budget_remaining,omitempty"`
	BurnRates       map[string]jsonFloat `json:"burn_rates,omitempty"`
	DashboardURL    string               `json:"dashboard_url,omitempty"`
	RunbookURL      string               `json:"runbook_url,omitempty"`
}

// MarshalJSON encodes the line; NaN and infinite numbers (a burn rate over
// an empty window) become the strings "NaN", "+Inf", "-Inf".
func (l SLOLine) MarshalJSON() ([]byte, error) {
	j := sloLineJSON{Name: l.Name, Objective: jsonFloat(l.Objective), DashboardURL: l.DashboardURL, RunbookURL: l.RunbookURL}
	if l.BudgetRemaining != nil {
		b := jsonFloat(*l.BudgetRemaining)
		j.BudgetRemaining = &b
	}
	if l.BurnRates != nil {
		j.BurnRates = make(map[string]jsonFloat, len(l.BurnRates))
		for k, v := range l.BurnRates {
			j.BurnRates[k] = jsonFloat(v)
		}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (l *SLOLine) UnmarshalJSON(b []byte) error {
	var j sloLineJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = SLOLine{Name: j.Name, Objective: float64(j.Objective), DashboardURL: j.DashboardURL, RunbookURL: j.RunbookURL}
	if j.BudgetRemaining != nil {
		v := float64(*j.BudgetRemaining)
		l.BudgetRemaining = &v
	}
	if j.BurnRates != nil {
		l.BurnRates = make(map[string]float64, len(j.BurnRates))
		for k, v := range j.BurnRates {
			l.BurnRates[k] = float64(v)
		}
	}
	return nil
}
