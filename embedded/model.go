package embedded

import (
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// toModel converts a PromQL result into client_golang's model values,
// whose JSON is Prometheus's API format.
func toModel(v parser.Value) (model.Value, error) {
	switch v := v.(type) {
	case promql.Vector:
		out := make(model.Vector, 0, len(v))
		for _, s := range v {
			ms := &model.Sample{Metric: toMetric(s.Metric), Timestamp: model.Time(s.T)}
			if s.H != nil {
				ms.Histogram = toHistogram(s.H)
			} else {
				ms.Value = model.SampleValue(s.F)
			}
			out = append(out, ms)
		}
		return out, nil
	case promql.Matrix:
		out := make(model.Matrix, 0, len(v))
		for _, s := range v {
			ss := &model.SampleStream{Metric: toMetric(s.Metric)}
			if len(s.Floats) > 0 {
				ss.Values = make([]model.SamplePair, len(s.Floats))
				for i, p := range s.Floats {
					ss.Values[i] = model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)}
				}
			}
			for _, p := range s.Histograms {
				ss.Histograms = append(ss.Histograms, model.SampleHistogramPair{Timestamp: model.Time(p.T), Histogram: toHistogram(p.H)})
			}
			out = append(out, ss)
		}
		return out, nil
	case promql.Scalar:
		return &model.Scalar{Value: model.SampleValue(v.V), Timestamp: model.Time(v.T)}, nil
	case promql.String:
		return &model.String{Value: v.V, Timestamp: model.Time(v.T)}, nil
	}
	return nil, fmt.Errorf("unexpected query result type %T", v)
}

func toMetric(l labels.Labels) model.Metric {
	m := make(model.Metric, l.Len())
	l.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return m
}

// toHistogram renders a float histogram's non-empty buckets with their
// boundary rules, as Prometheus's API does.
func toHistogram(h *histogram.FloatHistogram) *model.SampleHistogram {
	sh := &model.SampleHistogram{Count: model.FloatString(h.Count), Sum: model.FloatString(h.Sum)}
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		boundaries := int32(2) // open on both sides
		switch {
		case b.LowerInclusive && b.UpperInclusive:
			boundaries = 3
		case b.LowerInclusive:
			boundaries = 1
		case b.UpperInclusive:
			boundaries = 0
		}
		sh.Buckets = append(sh.Buckets, &model.HistogramBucket{
			Boundaries: boundaries, Lower: model.FloatString(b.Lower), Upper: model.FloatString(b.Upper), Count: model.FloatString(b.Count),
		})
	}
	return sh
}
