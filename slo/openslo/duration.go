package openslo

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/internal/ynode"
)

// OpenSLO's duration-shorthand: a whole number and one case-sensitive unit.
// The spec leaves the length of M, Q and Y to implementers; slokeeper reads
// them as 30, 90 and 365 days, as the OpenSLO Go SDK does.
var shorthandRE = regexp.MustCompile(`^([0-9]+)([mhdwMQY])$`)

const day = 24 * time.Hour

var shorthandUnits = map[string]time.Duration{
	"m": time.Minute,
	"h": time.Hour,
	"d": day,
	"w": 7 * day,
	"M": 30 * day,
	"Q": 90 * day,
	"Y": 365 * day,
}

// shorthand is a parsed duration-shorthand.
type shorthand struct {
	n    int64
	unit string // "" when the text used Prometheus' compound syntax (1h30m)
	d    time.Duration
}

// parseShorthand reads an OpenSLO duration-shorthand (28d, 1w, 1M). As a
// convenience it also accepts Prometheus durations such as 1h30m or 90s,
// which cannot be mistaken for anything else.
func parseShorthand(s string) (shorthand, error) {
	s = strings.TrimSpace(s)
	if m := shorthandRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		unit := shorthandUnits[m[2]]
		if err != nil || n > int64(math.MaxInt64/unit) {
			return shorthand{}, fmt.Errorf("duration %q is too long", clip(s))
		}
		return shorthand{n: n, unit: m[2], d: time.Duration(n) * unit}, nil
	}
	if d, err := ynode.ParseDuration(s); err == nil && s != "" {
		return shorthand{d: d}, nil
	}
	return shorthand{}, fmt.Errorf("invalid duration %q: use a whole number and one unit: m (minutes), h, d, w, M (months), Q (quarters) or Y (years), e.g. 28d", clip(s))
}

// String renders the shorthand as written.
func (s shorthand) String() string {
	if s.unit == "" {
		return formatDuration(s.d)
	}
	return strconv.FormatInt(s.n, 10) + s.unit
}

// calendarUnit says whether the unit has no fixed length (months, quarters,
// years), so that a rolling window in it is an approximation.
func (s shorthand) calendarUnit() bool { return s.unit == "M" || s.unit == "Q" || s.unit == "Y" }

func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n string
		d time.Duration
	}{{"d", day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if d >= u.d {
			fmt.Fprintf(&b, "%d%s", d/u.d, u.n)
			d %= u.d
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
