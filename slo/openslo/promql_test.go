package openslo

import (
	"reflect"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestRewrite(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for _, tc := range []struct {
		in      string
		mode    seriesMode
		want    string
		ranges  []string
		wrapped int
		err     string
	}{
		{in: `sum(rate(x[5m]))`, want: `sum(rate(x[{{.window}}]))`, ranges: []string{"5m"}},
		{in: `sum(increase(x{a="[1]"}[1h] offset 1h))`, want: `sum(increase(x{a="[1]"}[{{.window}}] offset 1h))`, ranges: []string{"1h"}},
		{in: `rate(x [ 5m ])`, want: `rate(x [{{.window}}])`, ranges: []string{"5m"}},
		{in: `sum(x)`, want: `sum(rate(x[{{.window}}]))`, wrapped: 1},
		{in: `sum(x)`, mode: gauges, want: `sum(avg_over_time(x[{{.window}}]))`, wrapped: 1},
		{in: `histogram_quantile(0.9, sum by (le) (x_bucket))`, want: `histogram_quantile(0.9, sum by (le) (rate(x_bucket[{{.window}}])))`, wrapped: 1},
		{in: `sum(a) / on(b) group_left c`, want: `sum(rate(a[{{.window}}])) / on(b) group_left rate(c[{{.window}}])`, wrapped: 2},
		{in: `sum(rate(a[5m])) - sum(b)`, want: `sum(rate(a[{{.window}}])) - sum(rate(b[{{.window}}]))`, ranges: []string{"5m"}, wrapped: 1},
		// Ranges that define what is measured stay.
		{in: `sum(min_over_time(x[2m]))`, want: `sum(min_over_time(x[2m]))`},
		{in: `max_over_time(sum(x)[1h:5m])`, want: `max_over_time(sum(x)[1h:5m])`},
		{in: `irate(x[5m])`, want: `irate(x[5m])`},
		{in: `vector(1)`, want: `vector(1)`},
		{in: `x offset 5m`, err: "the selector x offset 5m uses offset or @, which slokeeper cannot wrap in rate(); write the query with [{{.window}}] yourself"},
		{in: `sum(x @ 100)`, mode: gauges, err: "the selector x @ 100 uses offset or @, which slokeeper cannot wrap in avg_over_time(); write the query with [{{.window}}] yourself"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e, err := parseQuery(p, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rewrite(p, tc.in, e, tc.mode)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.query != tc.want || !reflect.DeepEqual(got.ranges, tc.ranges) || got.wrapped != tc.wrapped {
				t.Errorf("got %q %q %d, want %q %q %d", got.query, got.ranges, got.wrapped, tc.want, tc.ranges, tc.wrapped)
			}
		})
	}
}

func TestPlainSelector(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for in, want := range map[string]string{
		`x{a="b"}`:            `x{a="b"}`,
		`sum(x{a="b"})`:       `x{a="b"}`,
		`(sum((x)))`:          `x`,
		`sum by (a) (x)`:      "",
		`sum without (a) (x)`: "",
		`x offset 1m`:         "",
		`rate(x[5m])`:         "",
		`count(x)`:            "",
		`sum(x) + sum(y)`:     "",
	} {
		e, err := parseQuery(p, in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := plainSelector(in, e)
		if got != want || ok != (want != "") {
			t.Errorf("plainSelector(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestThresholdRatio(t *testing.T) {
	for op, want := range map[string]string{
		"lt":  `avg_over_time(((q) >= bool 0.3)[{{.window}}:])`,
		"lte": `avg_over_time(((q) > bool 0.3)[{{.window}}:])`,
		"gt":  `avg_over_time(((q) <= bool 0.3)[{{.window}}:])`,
		"gte": `avg_over_time(((q) < bool 0.3)[{{.window}}:])`,
	} {
		if got := thresholdRatio("q", op, 0.3); got != want {
			t.Errorf("%s: got %q, want %q", op, got, want)
		}
	}
}
