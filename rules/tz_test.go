package rules

import (
	"context"
	"github.com/prometheus/common/model"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/slokeeper/slokeeper/slo"
)

// TestMonthStart evaluates the month-start rules with the engine at
// instants around month starts and DST changes in several zones and
// compares them with Go's calendar (slo.Period.Bounds).
func TestMonthStart(t *testing.T) {
	t.Parallel()
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, Parser: parser.NewParser(parser.Options{})})
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Asia/Kathmandu", "America/Santiago", "Pacific/Chatham"}
	var instants []time.Time
	for _, d := range []string{
		"2026-03-01T00:30:00Z", "2026-03-15T12:00:00Z", "2026-03-29T01:30:00Z", "2026-03-31T22:30:00Z", "2026-03-31T23:30:00Z",
		"2026-04-01T03:59:00Z", "2026-04-05T12:00:00Z", "2026-10-25T02:00:00Z", "2026-10-31T23:10:00Z", "2026-11-01T06:00:00Z",
		"2026-12-31T23:59:00Z", "2027-01-01T00:01:00Z", "2028-02-29T13:00:00Z", "2044-07-01T00:00:30Z",
	} {
		ts, _ := time.Parse(time.RFC3339, d)
		instants = append(instants, ts)
	}
	for _, zn := range zones {
		z, err := loadZone(zn)
		if err != nil {
			t.Fatal(err)
		}
		rules := monthStartRules("svc", z)
		for _, ts := range instants {
			st := teststorage.New(t)
			var got float64
			for _, r := range rules {
				q, err := eng.NewInstantQuery(context.Background(), st, nil, r.Expr, ts)
				if err != nil {
					t.Fatal(err)
				}
				res := q.Exec(context.Background())
				vec, err := res.Vector()
				if err != nil || len(vec) != 1 {
					t.Fatalf("%s %s: %v %v", zn, r.Expr, err, vec)
				}
				got = vec[0].F
				app := st.Appender(context.Background())
				l := labels.NewBuilder(labels.EmptyLabels())
				l.Set(model.MetricNameLabel, r.Record)
				for k, v := range r.Labels {
					l.Set(k, v)
				}
				if _, err := app.Append(0, l.Labels(), ts.UnixMilli(), got); err != nil {
					t.Fatal(err)
				}
				if err := app.Commit(); err != nil {
					t.Fatal(err)
				}
				q.Close()
			}
			want, _, err := slo.Period{Kind: slo.CalendarMonth, TimeZone: zn}.Bounds(ts)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-float64(want.Unix())) > 0.01 {
				t.Errorf("%s at %s: month start %s, want %s", zn, ts.Format(time.RFC3339), time.Unix(int64(math.Round(got)), 0).UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339))
			}
		}
	}
}
