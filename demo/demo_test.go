package demo_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slokeeper/slokeeper/demo"
)

// TestSeriesFitSelectors checks that every testdata SLO gets series its
// own selectors read, with good and bad label values where they split.
func TestSeriesFitSelectors(t *testing.T) {
	slos := loadTestdata(t)
	start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	gen, err := demo.New(demo.Options{SLOs: slos, Start: start, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s := gen.Skipped(); len(s) != 0 {
		t.Fatalf("skipped: %v", s)
	}
	text := string(gen.Exposition(start.Add(time.Minute)))
	for _, want := range []string{
		`http_server_request_duration_seconds_count{http_response_status_code="200",instance="demo",job="checkout"}`,
		`http_server_request_duration_seconds_count{http_response_status_code="500",instance="demo",job="checkout"}`,
		`http_server_request_duration_seconds_bucket{http_route="/api/cart",instance="demo",job="checkout",le="0.25"}`,
		`apiserver_request_total{code="500",instance="demo",job="apiserver"}`,
		`apiserver_request_duration_seconds_bucket{instance="demo",job="apiserver",le="1.0",verb="GET"}`,
		`coredns_dns_responses_total{instance="demo",job="coredns",rcode="SERVFAIL"}`,
		`coredns_dns_responses_total{instance="demo",job="coredns",rcode="NOERROR"}`,
		`nginx_ingress_controller_requests{ingress="shop",instance="demo",job="ingress-nginx",status="500"}`,
		`scheduler_pod_scheduling_sli_duration_seconds_bucket{instance="demo",job="kube-scheduler",le="5.12"}`,
		`http_requests_total{code="200",instance="demo",job="catalog"}`,
		"# TYPE http_server_request_duration_seconds histogram",
	} {
		if !strings.Contains(text, want+" ") && !strings.Contains(text, want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(text, `verb="WATCH"`) {
		t.Error("a verb the selector excludes was generated")
	}
	// The text parses.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader([]byte(text)))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	if len(fams) == 0 {
		t.Fatal("no families")
	}
}

// TestCountersMonotonic checks that counters never decrease from one
// exposition to the next, and that traffic follows the day.
func TestCountersMonotonic(t *testing.T) {
	slos := loadTestdata(t)
	start := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	gen, err := demo.New(demo.Options{SLOs: slos, Start: start, History: 8 * 24 * time.Hour, Timeline: demo.Timeline{Disabled: true}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	read := func(at time.Time) map[string]float64 {
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(gen.Exposition(at)))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range fams {
			for _, m := range f.Metric {
				key := f.GetName()
				for _, lp := range m.GetLabel() {
					key += "," + lp.GetName() + "=" + strconv.Quote(lp.GetValue())
				}
				switch {
				case m.Counter != nil:
					out[key] = m.Counter.GetValue()
				case m.Histogram != nil:
					out[key] = float64(m.Histogram.GetSampleCount())
				}
			}
		}
		return out
	}
	prev := read(start.Add(-2 * time.Hour))
	var night, day float64
	for _, h := range []int{2, 14} {
		at := start.Add(time.Duration(h)*time.Hour - 30*time.Minute)
		before := read(at)
		after := read(at.Add(time.Hour))
		for k, v := range after {
			if v < before[k] || before[k] < prev[k] {
				t.Fatalf("counter %s decreased", k)
			}
		}
		for k, v := range after {
			if strings.HasPrefix(k, "http_requests_total") && strings.Contains(k, `"catalog"`) && strings.Contains(k, `"200"`) {
				if h == 2 {
					night += v - before[k]
				} else {
					day += v - before[k]
				}
			}
		}
		prev = after
	}
	if night <= 0 || day/night < 4 {
		t.Fatalf("catalog requests: %v at night, %v by day; want a diurnal ratio near 10", night, day)
	}
}
