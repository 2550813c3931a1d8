package freeze

import (
	"errors"
	"fmt"
	"time"
)

// Schedule kinds.
const (
	ScheduleRange  = "range"
	ScheduleWeekly = "weekly"
	ScheduleYearly = "yearly"
)

// MaxWeeklyDuration bounds a weekly window: a longer one would overlap the
// next week's.
const MaxWeeklyDuration = 7 * 24 * time.Hour

// Schedule is a planned freeze: an absolute date range, a weekly window or
// a yearly window, in a time zone. Weekly and yearly windows are wall-clock
// times: "Friday 16:00 for 64h" ends Monday 08:00 local time even when a DST
// change happens in between.
type Schedule struct {
	Name   string `json:"name"`
	Reason string `json:"reason,omitempty"`
	Kind   string `json:"kind"`
	// Location is the time zone of weekly and yearly windows (and of the
	// range's rendering); nil means UTC.
	Location *time.Location `json:"-"`
	// Start and End bound a range: Start <= t < End.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// Days, At and Duration describe a weekly window: it opens on each of
	// Days at At (local wall time) and lasts Duration of wall-clock time.
	Days     []time.Weekday `json:"days,omitempty"`
	At       Clock          `json:"at,omitzero"`
	Duration time.Duration  `json:"duration,omitempty"`
	// From and To bound a yearly window, both days included (local time):
	// from From's 00:00 to the end of To's day; To before From spans the
	// year end.
	From MonthDay `json:"from,omitzero"`
	To   MonthDay `json:"to,omitzero"`
}

// Clock is a local wall time of day.
type Clock struct {
	Hour, Minute int
}

// String renders the clock as 15:04.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// MonthDay is a day of the year.
type MonthDay struct {
	Month time.Month
	Day   int
}

// String renders the day as 12-24.
func (d MonthDay) String() string { return fmt.Sprintf("%02d-%02d", int(d.Month), d.Day) }

var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// Valid says whether the day exists in some year (02-29 does).
func (d MonthDay) Valid() bool {
	return d.Month >= time.January && d.Month <= time.December && d.Day >= 1 && d.Day <= daysIn[d.Month]
}

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// Validate checks the schedule's fields for its kind.
func (s Schedule) Validate() error {
	switch s.Kind {
	case ScheduleRange:
		if s.Start.IsZero() || s.End.IsZero() {
			return errors.New("a range needs start and end")
		}
		if !s.End.After(s.Start) {
			return errors.New("end must be after start")
		}
	case ScheduleWeekly:
		if len(s.Days) == 0 {
			return errors.New("a weekly window needs at least one day")
		}
		for _, d := range s.Days {
			if d < time.Sunday || d > time.Saturday {
				return fmt.Errorf("invalid weekday %d", d)
			}
		}
		if s.At.Hour < 0 || s.At.Hour > 23 || s.At.Minute < 0 || s.At.Minute > 59 {
			return fmt.Errorf("invalid start time %s", s.At)
		}
		if s.Duration <= 0 || s.Duration > MaxWeeklyDuration {
			return errors.New("the duration must be positive and at most 7d")
		}
	case ScheduleYearly:
		if !s.From.Valid() || !s.To.Valid() {
			return errors.New("from and to must be days of the year (MM-DD)")
		}
	default:
		return fmt.Errorf("unknown schedule kind %q", s.Kind)
	}
	return nil
}

// Active says whether the schedule covers t and, if so, until when:
// windows that follow each other without a gap count as one (the end
// reported is at most about a year ahead).
func (s Schedule) Active(t time.Time) (bool, time.Time) {
	_, end, ok := s.window(t)
	if !ok {
		return false, time.Time{}
	}
	// Follow chained windows (a daily 24h window, or overlapping days), up
	// to a year ahead.
	for i := 0; i < 1000 && end.Sub(t) < 366*24*time.Hour; i++ {
		_, next, ok := s.window(end)
		if !ok || !next.After(end) {
			break
		}
		end = next
	}
	return true, end
}

// window returns the window covering t with the latest end.
func (s Schedule) window(t time.Time) (time.Time, time.Time, bool) {
	switch s.Kind {
	case ScheduleRange:
		if !t.Before(s.Start) && t.Before(s.End) {
			return s.Start, s.End, true
		}
	case ScheduleWeekly:
		return s.weekly(t)
	case ScheduleYearly:
		return s.yearly(t)
	}
	return time.Time{}, time.Time{}, false
}

func (s Schedule) weekly(t time.Time) (time.Time, time.Time, bool) {
	if s.Duration <= 0 {
		return time.Time{}, time.Time{}, false
	}
	loc := s.loc()
	lt := t.In(loc)
	y, m, d := lt.Date()
	back := int(s.Duration/(24*time.Hour)) + 1
	var bestStart, bestEnd time.Time
	found := false
	for i := back; i >= 0; i-- {
		day := time.Date(y, m, d-i, 12, 0, 0, 0, loc) // noon: never in a DST gap
		if !containsDay(s.Days, day.Weekday()) {
			continue
		}
		dy, dm, dd := day.Date()
		start := time.Date(dy, dm, dd, s.At.Hour, s.At.Minute, 0, 0, loc)
		end := addWall(dy, dm, dd, s.At, s.Duration, loc)
		if !t.Before(start) && t.Before(end) && (!found || end.After(bestEnd)) {
			bestStart, bestEnd, found = start, end, true
		}
	}
	return bestStart, bestEnd, found
}

// addWall adds d of wall-clock time to the local time y-m-d at c.
func addWall(y int, m time.Month, d int, c Clock, dur time.Duration, loc *time.Location) time.Time {
	secs := int(dur / time.Second)
	return time.Date(y, m, d, c.Hour, c.Minute, secs, 0, loc)
}

func containsDay(days []time.Weekday, d time.Weekday) bool {
	for _, x := range days {
		if x == d {
			return true
		}
	}
	return false
}

func (s Schedule) yearly(t time.Time) (time.Time, time.Time, bool) {
	if !s.From.Valid() || !s.To.Valid() {
		return time.Time{}, time.Time{}, false
	}
	loc := s.loc()
	y := t.In(loc).Year()
	spans := s.To.Month < s.From.Month || (s.To.Month == s.From.Month && s.To.Day < s.From.Day)
	for _, sy := range []int{y - 1, y} {
		start := yearDay(sy, s.From, loc)
		ey := sy
		if spans {
			ey++
		}
		end := yearDay(ey, s.To, loc).AddDate(0, 0, 1)
		end = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc)
		if !t.Before(start) && t.Before(end) {
			return start, end, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// yearDay is 00:00 local of the day in year y; 02-29 is 02-28 in common years.
func yearDay(y int, d MonthDay, loc *time.Location) time.Time {
	day := d.Day
	if d.Month == time.February && day == 29 && !isLeap(y) {
		day = 28
	}
	return time.Date(y, d.Month, day, 0, 0, 0, 0, loc)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// Describe renders the schedule for reasons and the UI.
func (s Schedule) Describe() string {
	loc := s.loc()
	switch s.Kind {
	case ScheduleRange:
		return fmt.Sprintf("%s to %s", s.Start.In(loc).Format("2006-01-02 15:04 MST"), s.End.In(loc).Format("2006-01-02 15:04 MST"))
	case ScheduleWeekly:
		days := ""
		for i, d := range s.Days {
			if i > 0 {
				days += ","
			}
			days += d.String()[:3]
		}
		return fmt.Sprintf("weekly %s %s for %s (%s)", days, s.At, s.Duration, loc)
	case ScheduleYearly:
		return fmt.Sprintf("yearly %s to %s (%s)", s.From, s.To, loc)
	}
	return s.Kind
}
