package freeze

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func TestScheduleActive(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	ny := mustLoc(t, "America/New_York")
	at := func(loc *time.Location, y int, m time.Month, d, h, mi int) time.Time {
		return time.Date(y, m, d, h, mi, 0, 0, loc)
	}
	weekend := Schedule{Name: "weekend", Kind: ScheduleWeekly, Location: berlin, Days: []time.Weekday{time.Friday}, At: Clock{16, 0}, Duration: 64 * time.Hour}
	nightly := Schedule{Name: "nightly", Kind: ScheduleWeekly, Location: ny,
		Days: []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}, At: Clock{22, 0}, Duration: 8 * time.Hour}
	dstStart := Schedule{Name: "sunday", Kind: ScheduleWeekly, Location: berlin, Days: []time.Weekday{time.Sunday}, At: Clock{1, 0}, Duration: 3 * time.Hour}
	chained := Schedule{Name: "fri-sat", Kind: ScheduleWeekly, Location: berlin, Days: []time.Weekday{time.Friday, time.Saturday}, At: Clock{18, 0}, Duration: 24 * time.Hour}
	yearEnd := Schedule{Name: "year-end", Kind: ScheduleYearly, Location: berlin, From: MonthDay{time.December, 20}, To: MonthDay{time.January, 3}}
	leap := Schedule{Name: "leap", Kind: ScheduleYearly, Location: time.UTC, From: MonthDay{time.February, 29}, To: MonthDay{time.March, 1}}
	bf := Schedule{Name: "black-friday", Kind: ScheduleRange, Location: ny, Start: at(ny, 2025, 11, 27, 0, 0), End: at(ny, 2025, 12, 2, 0, 0)}

	for _, tc := range []struct {
		name   string
		s      Schedule
		t      time.Time
		active bool
		until  time.Time
	}{
		// 64h of wall-clock time from Friday 16:00 ends Monday 08:00 local,
		// even across the end of DST (65h elapsed).
		{"weekend across DST end", weekend, at(berlin, 2025, 10, 27, 7, 30), true, at(berlin, 2025, 10, 27, 8, 0)},
		{"weekend ends at 08:00 local", weekend, at(berlin, 2025, 10, 27, 8, 0), false, time.Time{}},
		{"weekend starts", weekend, at(berlin, 2025, 10, 24, 16, 0), true, at(berlin, 2025, 10, 27, 8, 0)},
		{"weekend before start", weekend, at(berlin, 2025, 10, 24, 15, 59), false, time.Time{}},
		{"weekend across DST start", weekend, at(berlin, 2025, 3, 31, 7, 59), true, at(berlin, 2025, 3, 31, 8, 0)},
		{"nightly spans midnight", nightly, at(ny, 2025, 6, 11, 23, 0), true, at(ny, 2025, 6, 12, 6, 0)},
		{"nightly after midnight", nightly, at(ny, 2025, 6, 12, 5, 59), true, at(ny, 2025, 6, 12, 6, 0)},
		{"nightly gap", nightly, at(ny, 2025, 6, 12, 6, 0), false, time.Time{}},
		{"nightly on the DST start night", nightly, at(ny, 2025, 3, 9, 5, 30), true, at(ny, 2025, 3, 9, 6, 0)},
		{"nightly on the DST end night", nightly, at(ny, 2025, 11, 2, 1, 30).Add(time.Hour), true, at(ny, 2025, 11, 2, 6, 0)},
		{"3h wall clock on DST start day", dstStart, at(berlin, 2025, 3, 30, 3, 59), true, at(berlin, 2025, 3, 30, 4, 0)},
		{"3h wall clock ends at 04:00", dstStart, at(berlin, 2025, 3, 30, 4, 0), false, time.Time{}},
		{"chained windows count as one", chained, at(berlin, 2025, 6, 13, 20, 0), true, at(berlin, 2025, 6, 15, 18, 0)},
		{"year end: last day", yearEnd, at(berlin, 2026, 1, 3, 23, 59), true, at(berlin, 2026, 1, 4, 0, 0)},
		{"year end: first day in UTC", yearEnd, time.Date(2025, 12, 19, 23, 0, 0, 0, time.UTC), true, at(berlin, 2026, 1, 4, 0, 0)},
		{"year end: day before", yearEnd, at(berlin, 2025, 12, 19, 23, 59), false, time.Time{}},
		{"year end: after", yearEnd, at(berlin, 2026, 1, 4, 0, 0), false, time.Time{}},
		{"year end: summer", yearEnd, at(berlin, 2026, 7, 1, 0, 0), false, time.Time{}},
		{"02-29 in a common year is 02-28", leap, time.Date(2025, 2, 28, 12, 0, 0, 0, time.UTC), true, time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"02-29 in a leap year", leap, time.Date(2024, 2, 28, 12, 0, 0, 0, time.UTC), false, time.Time{}},
		{"range inside", bf, at(ny, 2025, 11, 28, 9, 0), true, at(ny, 2025, 12, 2, 0, 0)},
		{"range end excluded", bf, at(ny, 2025, 12, 2, 0, 0), false, time.Time{}},
		{"range start included", bf, at(ny, 2025, 11, 27, 0, 0), true, at(ny, 2025, 12, 2, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.s.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			active, until := tc.s.Active(tc.t)
			if active != tc.active || !until.Equal(tc.until) {
				t.Errorf("Active(%s) = %v, %s; want %v, %s", tc.t, active, until, tc.active, tc.until)
			}
		})
	}
}

func TestScheduleEndlessChainIsBounded(t *testing.T) {
	all := Schedule{Kind: ScheduleWeekly, Days: []time.Weekday{time.Monday}, At: Clock{0, 0}, Duration: MaxWeeklyDuration}
	now := time.Date(2025, 1, 8, 0, 0, 0, 0, time.UTC)
	ok, until := all.Active(now)
	if !ok || until.Sub(now) < 365*24*time.Hour || until.Sub(now) > 380*24*time.Hour {
		t.Errorf("Active = %v, %s: want about a year ahead", ok, until)
	}
}

func TestScheduleValidate(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		s    Schedule
	}{
		{"empty range", Schedule{Kind: ScheduleRange}},
		{"reversed range", Schedule{Kind: ScheduleRange, Start: now, End: now}},
		{"no days", Schedule{Kind: ScheduleWeekly, Duration: time.Hour}},
		{"too long", Schedule{Kind: ScheduleWeekly, Days: []time.Weekday{time.Monday}, Duration: 8 * 24 * time.Hour}},
		{"bad clock", Schedule{Kind: ScheduleWeekly, Days: []time.Weekday{time.Monday}, At: Clock{24, 0}, Duration: time.Hour}},
		{"bad day", Schedule{Kind: ScheduleYearly, From: MonthDay{time.April, 31}, To: MonthDay{time.May, 1}}},
		{"unknown kind", Schedule{Kind: "monthly"}},
	} {
		if err := tc.s.Validate(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
