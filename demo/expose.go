package demo

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// family is one exposition family: a counter, a gauge or a histogram
// (whose _bucket, _count and _sum series it holds).
type family struct {
	name   string
	typ    string
	series []*series
}

func families(all []*series) []family {
	hist := map[string]bool{}
	for _, s := range all {
		if n := s.labels.Get(model.MetricNameLabel); strings.HasSuffix(n, "_bucket") && s.labels.Has("le") {
			hist[strings.TrimSuffix(n, "_bucket")] = true
		}
	}
	byName := map[string]*family{}
	var names []string
	for _, s := range all {
		n := s.labels.Get(model.MetricNameLabel)
		fam, typ := n, "counter"
		if s.gauge != nil {
			typ = "gauge"
		}
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			if b := strings.TrimSuffix(n, suf); b != n && hist[b] {
				fam, typ = b, "histogram"
			}
		}
		f := byName[fam]
		if f == nil {
			f = &family{name: fam, typ: typ}
			byName[fam] = f
			names = append(names, fam)
		}
		f.series = append(f.series, s)
	}
	slices.Sort(names)
	out := make([]family, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out
}

// Handler serves the current values at any path (conventionally
// /metrics) in Prometheus's text format, after simulating the traffic up
// to the time of the request.
func (g *Generator) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(g.Exposition(time.Now()))
	})
}

// Exposition simulates the traffic up to now (no earlier than what was
// simulated already) and renders every series in the text format.
func (g *Generator) Exposition(now time.Time) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance(now)
	if now.Before(g.now) {
		now = g.now
	}
	var b bytes.Buffer
	b.Grow(len(g.series) * 96)
	for _, f := range g.families {
		b.WriteString("# TYPE ")
		b.WriteString(f.name)
		b.WriteByte(' ')
		b.WriteString(f.typ)
		b.WriteByte('\n')
		for _, s := range f.series {
			writeSeries(&b, s.labels, s.value(now, g.opts.Seed))
		}
	}
	return b.Bytes()
}

func writeSeries(b *bytes.Buffer, l labels.Labels, v float64) {
	b.WriteString(l.Get(model.MetricNameLabel))
	first := true
	l.Range(func(lb labels.Label) {
		if lb.Name == model.MetricNameLabel {
			return
		}
		if first {
			b.WriteByte('{')
			first = false
		} else {
			b.WriteByte(',')
		}
		b.WriteString(lb.Name)
		b.WriteString(`="`)
		b.WriteString(escaper.Replace(lb.Value))
		b.WriteByte('"')
	})
	if !first {
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	b.WriteByte('\n')
}

var escaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
