package budget

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// collect streams one answer body through decodeVector.
func collect(body string) ([]map[string]string, []float64, []string, error) {
	var (
		metrics []map[string]string
		values  []float64
	)
	w, err := decodeVector(strings.NewReader(body), func(s Sample) {
		m := make(map[string]string, len(s.Metric))
		for k, v := range s.Metric {
			m[k] = v
		}
		metrics = append(metrics, m)
		values = append(values, s.Value)
	})
	return metrics, values, w, err
}

func TestDecodeVector(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		metrics  []map[string]string
		values   []float64
		warnings []string
		err      string
	}{
		{name: "empty vector", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{name: "samples, warnings and infos",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"a","x":"1"},"value":[1700000000.5,"0.25"]},` +
				`{"metric":{"y":"2"},"value":[1700000000,"-Inf"]},` +
				`{"metric":{},"value":[1700000000,"NaN"]}]},` +
				`"warnings":["w1"],"infos":["i1"]}`,
			metrics:  []map[string]string{{"__name__": "a", "x": "1"}, {"y": "2"}, {}},
			values:   []float64{0.25, math.Inf(-1), math.NaN()},
			warnings: []string{"w1"}},
		{name: "the map is not shared between samples",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"a":"1","b":"2"},"value":[1,"1"]},{"metric":{"c":"3"},"value":[1,"2"]}]}}`,
			metrics: []map[string]string{{"a": "1", "b": "2"}, {"c": "3"}},
			values:  []float64{1, 2}},
		{name: "native histogram samples skipped",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"h":"1"},"histogram":[1,{"count":"2","sum":"3","buckets":[]}]},` +
				`{"metric":{"f":"1"},"value":[1,"4"]}]}}`,
			metrics: []map[string]string{{"f": "1"}},
			values:  []float64{4}},
		{name: "keys in any order", body: `{"data":{"result":[{"value":[1,"7"],"metric":{"k":"v"}}],"resultType":"vector"},"status":"success"}`,
			metrics: []map[string]string{{"k": "v"}}, values: []float64{7}},
		{name: "error answer", body: `{"status":"error","errorType":"bad_data","error":"parse error"}`, err: "bad_data: parse error"},
		{name: "scalar", body: `{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}`, err: "want a vector"},
		{name: "matrix", body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, err: "want a vector"},
		{name: "no data", body: `{"status":"success"}`, err: "no data"},
		{name: "truncated", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{}`, err: "decoding the query answer"},
		{name: "not JSON", body: `<html>proxy error</html>`, err: "decoding the query answer"},
		{name: "bad value", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`, err: "sample value"},
		{name: "value not a pair", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":3}]}}`, err: "sample value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metrics, values, w, err := collect(tc.body)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(metrics) != len(tc.metrics) || (len(metrics) > 0 && !reflect.DeepEqual(metrics, tc.metrics)) {
				t.Errorf("metrics %v, want %v", metrics, tc.metrics)
			}
			if len(values) != len(tc.values) {
				t.Fatalf("values %v, want %v", values, tc.values)
			}
			for i, v := range values {
				if want := tc.values[i]; v != want && !(math.IsNaN(v) && math.IsNaN(want)) {
					t.Errorf("value %d = %v, want %v", i, v, want)
				}
			}
			if !reflect.DeepEqual(w, tc.warnings) {
				t.Errorf("warnings %v, want %v", w, tc.warnings)
			}
		})
	}
}

// TestStreamedReadMatchesClientGolang reads the same answers through
// client_golang's Query (model.Vector, then Parse) and through the
// streaming querier: the statuses are the same.
func TestStreamedReadMatchesClientGolang(t *testing.T) {
	const n = 300
	srv, queries := fakeQueryAPI(n)
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	papi := v1.NewAPI(c)
	hq, err := NewHTTPQuerier(srv.URL, nil, papi)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res := Results{}
	for kind, q := range Queries() {
		v, _, _, err := papi.Query(ctx, q, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res[kind] = v
	}
	want, err := Parse(res)
	if err != nil {
		t.Fatal(err)
	}
	queries.Store(0)
	r := NewReader(hq, Options{})
	if err := r.Read(ctx); err != nil {
		t.Fatal(err)
	}
	got := r.Snapshot().Statuses
	if len(got) != n || !reflect.DeepEqual(got, want) {
		t.Fatalf("%d streamed statuses differ from the %d of client_golang's; slo-0: %+v vs %+v", len(got), len(want), got["svc-0/slo-0"], want["svc-0/slo-0"])
	}
	if q := queries.Load(); q != 4 {
		t.Errorf("%d queries, want 4", q)
	}
}

func TestHTTPQuerierErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		err     string
	}{
		{"prometheus error", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"execution","error":"query timed out"}`))
		}, "422 Unprocessable Entity: execution: query timed out"},
		{"proxy error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream connect error", http.StatusBadGateway)
		}, "502 Bad Gateway: upstream connect error"},
		{"empty 503", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}, "HTTP status 503 Service Unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			hq, err := NewHTTPQuerier(srv.URL, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = hq.QueryStream(context.Background(), "up", time.Now(), func(Sample) {})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

// TestHTTPQuerierRequest checks the request: POST of the form to the
// path under the configured prefix (Mimir's /prometheus), GET when a
// proxy refuses POST, and the evaluation time.
func TestHTTPQuerierRequest(t *testing.T) {
	var methods []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path != "/prometheus/api/v1/query" || r.FormValue("query") != "up" || r.FormValue("time") != "2023-11-14T22:13:20.25Z" {
			http.Error(w, "unexpected request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1700000000.25,"1"]}]}}`))
	}))
	defer srv.Close()
	hq, err := NewHTTPQuerier(srv.URL+"/prometheus", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_, err = hq.QueryStream(context.Background(), "up", time.Unix(1700000000, 250e6), func(s Sample) { got = append(got, s.Metric["job"]) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(methods, []string{"POST", "GET"}) || !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("methods %v, samples %v", methods, got)
	}
	if _, err := NewHTTPQuerier("ftp://x", nil, nil); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

// FuzzDecodeVector: no answer body makes the decoder panic; what it
// accepts is a success answer whose values all parsed.
func FuzzDecodeVector(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"2"]}]}}`,
		`{"status":"error","errorType":"bad_data","error":"x"}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]},"warnings":["w"]}`,
		`{"data":null,"status":"success"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		metrics, values, _, err := collect(body)
		if err != nil {
			return
		}
		if !strings.Contains(body, `"success"`) || len(metrics) != len(values) {
			t.Fatalf("accepted %q: %d metrics, %d values", body, len(metrics), len(values))
		}
	})
}
