package report

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// fakeAPI answers the report's queries from series built by the test. An
// instant query returns, per series, the last sample at or before the
// evaluation time; a range query the samples in the range (the test builds
// them on the query's steps).
type fakeAPI struct {
	mu      sync.Mutex
	instant []fakeSeries
	ranged  []fakeSeries
	queries []string
	ranges  []v1.Range
}

type fakeSeries struct {
	match  string // substring of the query
	metric model.Metric
	at     time.Time // instant: the evaluation time it answers (zero: any)
	values []model.SamplePair
}

func (f *fakeAPI) addInstant(match string, at time.Time, m model.Metric, v float64) {
	f.instant = append(f.instant, fakeSeries{match: match, metric: m, at: at, values: []model.SamplePair{{Timestamp: model.TimeFromUnixNano(at.UnixNano()), Value: model.SampleValue(v)}}})
}

func (f *fakeAPI) addRange(match string, m model.Metric, ps []model.SamplePair) {
	f.ranged = append(f.ranged, fakeSeries{match: match, metric: m, values: ps})
}

func (f *fakeAPI) Query(_ context.Context, q string, ts time.Time, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	if strings.Contains(q, "fail") {
		return nil, nil, nil, fmt.Errorf("bad query")
	}
	var out model.Vector
	for _, s := range f.instant {
		if !strings.Contains(q, s.match) || (!s.at.IsZero() && !s.at.Equal(ts)) {
			continue
		}
		if strings.Contains(s.match, "sli_error:ratio") != strings.Contains(q, "sli_error:ratio") {
			continue
		}
		out = append(out, &model.Sample{Metric: s.metric, Value: s.values[0].Value, Timestamp: model.TimeFromUnixNano(ts.UnixNano())})
	}
	return out, nil, nil, nil
}

func (f *fakeAPI) QueryRange(_ context.Context, q string, r v1.Range, _ ...v1.Option) (model.Value, v1.Warnings, v1.Infos, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.ranges = append(f.ranges, r)
	f.mu.Unlock()
	var out model.Matrix
	for _, s := range f.ranged {
		if !strings.Contains(q, s.match) {
			continue
		}
		var vals []model.SamplePair
		for _, p := range s.values {
			t := p.Timestamp.Time()
			if !t.Before(r.Start) && !t.After(r.End) {
				vals = append(vals, p)
			}
		}
		if len(vals) > 0 {
			out = append(out, &model.SampleStream{Metric: s.metric, Values: vals})
		}
	}
	return out, v1.Warnings{"fake warning"}, nil, nil
}

func ts(t time.Time) model.Time { return model.TimeFromUnixNano(t.UnixNano()) }

func metric(kv ...string) model.Metric {
	m := model.Metric{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[model.LabelName(kv[i])] = model.LabelValue(kv[i+1])
	}
	return m
}

// fakeFreezes is a FreezeHistory over a slice.
type fakeFreezes struct {
	periods []FreezePeriod
	err     error
}

func (f fakeFreezes) FreezePeriods(_ context.Context, service string, from, to time.Time) ([]FreezePeriod, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []FreezePeriod
	for _, p := range f.periods {
		if service == "" || p.Service == service {
			out = append(out, p)
		}
	}
	return out, nil
}
