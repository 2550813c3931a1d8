package budget

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/slokeeper/slokeeper/rules"
)

// fakeQueryAPI serves /api/v1/query like Prometheus for n SLOs: one budget
// series each, an error ratio per window (7) and a burn rate per alert
// window (6), and a firing alert for one SLO in a hundred. Bodies are
// rendered once, so the benchmark measures the client: HTTP, JSON
// decoding and Parse.
func fakeQueryAPI(n int) (*httptest.Server, *atomic.Int64) {
	ratioWindows := []string{"5m", "30m", "1h", "2h", "6h", "1d", "period"}
	burnWindows := []string{"5m", "30m", "1h", "2h", "6h", "1d"}
	series := func(metric string, windows []string, every int) []byte {
		var b strings.Builder
		b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
		first := true
		for i := 0; i < n; i += every {
			for _, w := range windows {
				if !first {
					b.WriteByte(',')
				}
				first = false
				fmt.Fprintf(&b, `{"metric":{"__name__":%q,%q:"svc-%d",%q:"slo-%d"`, metric, rules.LabelService, i/10, rules.LabelSLO, i)
				if w != "" {
					fmt.Fprintf(&b, `,%q:%q`, rules.LabelWindow, w)
				}
				if metric == "ALERTS" {
					fmt.Fprintf(&b, `,"alertname":"SLOErrorBudgetBurn","alertstate":"firing",%q:"critical"`, rules.LabelSeverity)
				}
				fmt.Fprintf(&b, `},"value":[1700000000,"%g"]}`, 0.5+float64(i%100)/1000)
			}
		}
		b.WriteString(`]}}`)
		return []byte(b.String())
	}
	bodies := map[string][]byte{
		rules.MetricBudgetRemaining: series(rules.MetricBudgetRemaining, []string{""}, 1),
		rules.MetricErrorRatio:      series(rules.MetricErrorRatio, ratioWindows, 1),
		rules.MetricBurnRate:        series(rules.MetricBurnRate, burnWindows, 1),
		Queries()[QueryAlerts]:      series("ALERTS", []string{""}, 100),
	}
	var queries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/api/v1/query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		body, ok := bodies[r.Form.Get("query")]
		if !ok {
			http.Error(w, "unknown query "+r.Form.Get("query"), http.StatusBadRequest)
			return
		}
		queries.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	return srv, &queries
}

// BenchmarkRead10kSLOs is one budget read of 10,000 SLOs (140,000 series)
// against a fake query API: through client_golang's Query (each answer
// read whole and decoded into model.Vector) and through the daemon's
// streaming querier.
func BenchmarkRead10kSLOs(b *testing.B) {
	const n = 10000
	srv, queries := fakeQueryAPI(n)
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	hq, err := NewHTTPQuerier(srv.URL, nil, v1.NewAPI(c))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    Querier
	}{{"client_golang", v1.NewAPI(c)}, {"streamed", hq}} {
		b.Run(bc.name, func(b *testing.B) {
			r := NewReader(bc.q, Options{Timeout: time.Minute})
			ctx := context.Background()
			queries.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := r.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := len(r.Snapshot().Statuses); got != n {
				b.Fatalf("%d statuses, want %d", got, n)
			}
			b.ReportMetric(float64(queries.Load())/float64(b.N), "queries/read")
		})
	}
}

// TestReadManySLOs checks the fake and the query count: a read of 2,000
// SLOs is 4 queries, whatever the number. The timing is the benchmark's
// (BenchmarkRead10kSLOs), not asserted here: tests run on loaded machines
// and under the race detector.
func TestReadManySLOs(t *testing.T) {
	const n = 2000
	srv, queries := fakeQueryAPI(n)
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(v1.NewAPI(c), Options{Timeout: time.Minute})
	if err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := r.Snapshot()
	st := s.Statuses[ID("svc-0", "slo-0")]
	if len(s.Statuses) != n || st == nil || len(st.ErrorRatio) != 7 || len(st.BurnRate) != 6 || len(st.Alerts) != 1 {
		t.Fatalf("%d statuses; slo-0 = %+v", len(s.Statuses), st)
	}
	if q := queries.Load(); q != 4 {
		t.Errorf("%d queries, want 4", q)
	}
}
