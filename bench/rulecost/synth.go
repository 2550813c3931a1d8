package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// The synthetic counter every benchmark spec reads, and its OpenMetrics
// family name.
const (
	metricName = "bench_requests_total"
	familyName = "bench_requests"
)

// codeShare splits a shard's good (non-5xx) and bad (5xx) requests over
// status codes. 4xx are good: the specs count only 5xx as errors.
var (
	goodCodes = []codeShare{{"200", 0.86}, {"201", 0.08}, {"404", 0.04}, {"429", 0.02}}
	badCodes  = []codeShare{{"500", 0.7}, {"503", 0.3}}
)

type codeShare struct {
	code  string
	share float64
}

// model is the synthetic traffic: per shard (one SLO each) a diurnal request
// rate with a peak/trough ratio of peakToTrough, and an error ratio that is
// troughErrFactor times higher at the trough than at the peak, so that a
// time average of ratios and the traffic-weighted ratio differ.
type model struct {
	Shards          []string
	Instances       int
	Routes          int
	MeanRate        float64 // mean requests per second of shard 0 (shard i: x(1+i/4))
	PeakErrRatio    float64 // 5xx ratio at the traffic peak
	TroughErrFactor float64 // 5xx ratio at the trough / at the peak
	PeakToTrough    float64 // traffic at the peak / at the trough
	PeakHourUTC     float64 // hour of the day of the traffic peak
	Seed            uint64
}

func defaultModel(shards []string, instances, routes int) model {
	return model{
		Shards:          shards,
		Instances:       instances,
		Routes:          routes,
		MeanRate:        40,
		PeakErrRatio:    0.0002,
		TroughErrFactor: 20,
		PeakToTrough:    10,
		PeakHourUTC:     14,
		Seed:            1,
	}
}

// seriesPerShard is the number of raw series of one shard.
func (m model) seriesPerShard() int {
	return m.Instances * m.Routes * (len(goodCodes) + len(badCodes))
}

// rates returns the shard's good and bad request rates (per second) at t.
func (m model) rates(shard int, t time.Time) (good, bad float64) {
	k := m.PeakToTrough
	amp := (k - 1) / (k + 1) // (1+amp)/(1-amp) = k
	secs := float64(t.Unix()%86400) - m.PeakHourUTC*3600
	c := math.Cos(2 * math.Pi * secs / 86400) // 1 at the peak, -1 at the trough
	total := m.MeanRate * (1 + float64(shard)/4) * (1 + amp*c)
	trough := (1 - c) / 2 // 0 at the peak, 1 at the trough
	ratio := m.PeakErrRatio * math.Pow(m.TroughErrFactor, trough)
	return total * (1 - ratio), total * ratio
}

// series is one raw counter.
type series struct {
	shard  int
	bad    bool
	weight float64 // share of the shard's good or bad traffic
	prefix []byte  // `bench_requests_total{...} `
	value  float64
	rng    *rand.Rand
}

// traffic holds every raw counter and advances them through time. It is
// safe for concurrent use: the live exporter advances it while scraped.
type traffic struct {
	m      model
	mu     sync.Mutex
	series []*series
	now    time.Time // the counters' time
}

func newTraffic(m model, start time.Time) *traffic {
	tr := &traffic{m: m, now: start}
	routeW := make([]float64, m.Routes)
	var sum float64
	for r := range routeW {
		routeW[r] = 1 / float64(r+1) // a few busy routes, a long tail
		sum += routeW[r]
	}
	for s, shard := range m.Shards {
		for i := 0; i < m.Instances; i++ {
			for r := 0; r < m.Routes; r++ {
				add := func(cs codeShare, bad bool) {
					lbls := fmt.Sprintf(`%s{job="bench",shard=%q,instance="i%d",route="/r%d",code=%q} `, metricName, shard, i, r, cs.code)
					tr.series = append(tr.series, &series{
						shard:  s,
						bad:    bad,
						weight: cs.share * routeW[r] / sum / float64(m.Instances),
						prefix: []byte(lbls),
						rng:    rand.New(rand.NewPCG(m.Seed, uint64(len(tr.series)))),
					})
				}
				for _, cs := range goodCodes {
					add(cs, false)
				}
				for _, cs := range badCodes {
					add(cs, true)
				}
			}
		}
	}
	return tr
}

// advanceLocked moves every counter to t, adding Poisson-distributed
// requests at the model's rates (taken at the middle of the interval).
func (tr *traffic) advanceLocked(t time.Time) {
	dt := t.Sub(tr.now).Seconds()
	if dt <= 0 {
		return
	}
	mid := tr.now.Add(t.Sub(tr.now) / 2)
	good := make([]float64, len(tr.m.Shards))
	bad := make([]float64, len(tr.m.Shards))
	for s := range tr.m.Shards {
		good[s], bad[s] = tr.m.rates(s, mid)
	}
	for _, s := range tr.series {
		rate := good[s.shard]
		if s.bad {
			rate = bad[s.shard]
		}
		s.value += poisson(s.rng, rate*s.weight*dt)
	}
	tr.now = t
}

// writeSamples appends one OpenMetrics sample line per series at the
// counters' current time.
func (tr *traffic) writeSamples(w *bufio.Writer, buf []byte) ([]byte, error) {
	ts := tr.now.Unix()
	for _, s := range tr.series {
		buf = append(buf[:0], s.prefix...)
		buf = strconv.AppendFloat(buf, s.value, 'f', -1, 64)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, ts, 10)
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// writeOpenMetrics writes the counters at every step in [from, to) (from is
// on the step grid), advancing them, as one OpenMetrics document.
func (tr *traffic) writeOpenMetrics(out io.Writer, from, to time.Time, step time.Duration) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	w := bufio.NewWriterSize(out, 1<<20)
	if _, err := fmt.Fprintf(w, "# HELP %s Synthetic requests.\n# TYPE %s counter\n", familyName, familyName); err != nil {
		return err
	}
	var buf []byte
	var err error
	for t := from; t.Before(to); t = t.Add(step) {
		tr.advanceLocked(t)
		if buf, err = tr.writeSamples(w, buf); err != nil {
			return err
		}
	}
	if _, err := w.WriteString("# EOF\n"); err != nil {
		return err
	}
	return w.Flush()
}

// exposition renders the counters as Prometheus text for a scrape, after
// advancing them to now.
func (tr *traffic) exposition(w io.Writer, now time.Time) error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.advanceLocked(now)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# TYPE %s counter\n", metricName)
	var buf []byte
	for _, s := range tr.series {
		buf = append(buf[:0], s.prefix...)
		buf = strconv.AppendFloat(buf, s.value, 'f', -1, 64)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// poisson draws a Poisson-distributed count with mean lambda (normal
// approximation above 30).
func poisson(r *rand.Rand, lambda float64) float64 {
	switch {
	case lambda <= 0:
		return 0
	case lambda > 30:
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l := math.Exp(-lambda)
	k, p := 0.0, r.Float64()
	for p > l {
		k++
		p *= r.Float64()
	}
	return k
}
