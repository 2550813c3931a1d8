package rules

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // calendar months in any IANA zone, even without system tzdata
)

// Calendar-month periods need the start of the current month in the SLO's
// time zone as a series. PromQL's date functions work in UTC only, so zones
// with a fixed UTC offset shift time() by the offset, and zones with DST
// changes use offset tables computed here from the IANA database for the
// years [tzFirstYear, tzLastYear). Outside those years the last known offset
// holds (regenerating with a newer slokeeper extends the table).
const (
	tzFirstYear = 2024
	tzLastYear  = 2046
)

type offsetChange struct {
	at     int64 // Unix seconds
	offset int   // seconds east of UTC from then on
}

type zoneInfo struct {
	name string
	// fixed is true when the offset never changes in the table's years.
	fixed  bool
	offset int // the fixed offset, or the offset before the first change
	// changes of the current offset (for the local date at time()).
	changes []offsetChange
	// msOffset is the offset at the first month start of the table;
	// monthStart its changes, keyed by the month starts where it changes.
	msOffset   int
	monthStart []offsetChange
}

func loadZone(name string) (*zoneInfo, error) {
	if name == "" || name == "UTC" || name == "Etc/UTC" {
		return &zoneInfo{name: "UTC", fixed: true}, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", name, err)
	}
	z := &zoneInfo{name: name}
	start := time.Date(tzFirstYear, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(tzLastYear, 1, 1, 0, 0, 0, 0, time.UTC)
	_, z.offset = start.In(loc).Zone()
	prev := z.offset
	// Probe every 6 hours, then bisect to the second where it changed.
	for t := start; t.Before(end); {
		next := t.Add(6 * time.Hour)
		if _, off := next.In(loc).Zone(); off != prev {
			lo, hi := t.Unix(), next.Unix() // offset(lo)=prev, offset(hi)=off
			for hi-lo > 1 {
				mid := (lo + hi) / 2
				if _, o := time.Unix(mid, 0).In(loc).Zone(); o == prev {
					lo = mid
				} else {
					hi = mid
				}
			}
			z.changes = append(z.changes, offsetChange{at: hi, offset: off})
			prev = off
		}
		t = next
	}
	if len(z.changes) == 0 {
		z.fixed = true
		return z, nil
	}
	// Offset in force at each month start.
	_, z.msOffset = time.Date(tzFirstYear, 1, 1, 0, 0, 0, 0, loc).Zone()
	msPrev := z.msOffset
	for y := tzFirstYear; y < tzLastYear; y++ {
		for m := time.January; m <= time.December; m++ {
			ms := time.Date(y, m, 1, 0, 0, 0, 0, loc)
			if _, off := ms.Zone(); off != msPrev {
				z.monthStart = append(z.monthStart, offsetChange{at: ms.Unix(), offset: off})
				msPrev = off
			}
		}
	}
	return z, nil
}

// piecewise renders a step function of time(): base before the first
// change, then each change's value from its instant on.
func piecewise(base int, changes []offsetChange) string {
	var b strings.Builder
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		fmt.Fprintf(&b, "(vector(%d) and on() vector(time()) >= %d) or ", c.offset, c.at)
	}
	fmt.Fprintf(&b, "vector(%d)", base)
	return b.String()
}

// monthStartRules returns the rules recording the month start of the zone
// for a service (labels service, time_zone).
func monthStartRules(service string, z *zoneInfo) []Rule {
	lbl := map[string]string{LabelService: service, LabelTimeZone: z.name}
	floorMonth := func(x string) string {
		return x + " - (day_of_month(" + x + ") - 1) * 86400 - hour(" + x + ") * 3600 - minute(" + x + ") * 60 - " + x + " % 60"
	}
	if z.fixed {
		if z.offset == 0 {
			return []Rule{{Record: MetricMonthStart, Expr: "vector(time()) - (day_of_month() - 1) * 86400 - hour() * 3600 - minute() * 60 - vector(time()) % 60", Labels: lbl}}
		}
		x := fmt.Sprintf("vector(time() + %d)", z.offset)
		return []Rule{{Record: MetricMonthStart, Expr: floorMonth(x) + fmt.Sprintf(" - %d", z.offset), Labels: lbl}}
	}
	// Offset now; local date from it; then subtract the offset that was in
	// force at the start of the month.
	msBase := z.msOffset
	sel := MetricZoneOffset + `{` + LabelService + `="` + escapeLabelValue(service) + `",` + LabelTimeZone + `="` + escapeLabelValue(z.name) + `"}`
	x := "(" + sel + " + time())"
	return []Rule{
		{Record: MetricZoneOffset, Expr: piecewise(z.offset, z.changes), Labels: copyLabels(lbl)},
		{Record: MetricMonthStart, Expr: floorMonth(x) + " - on() (" + piecewise(msBase, z.monthStart) + ")", Labels: lbl},
	}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabelValue(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return labelValueEscaper.Replace(v)
}
