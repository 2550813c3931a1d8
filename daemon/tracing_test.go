package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestReconcileAndReadSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	f := newFixture(t)
	d, err := New(f.d.cfg, Options{Querier: f.prom, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	f.write("a.yaml", spec("a", "99.9"))
	ctx := context.Background()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	root, ok := byName["reconcile"]
	if !ok {
		t.Fatalf("no reconcile span in %v", names(spans))
	}
	if root.Parent.IsValid() {
		t.Errorf("reconcile span has a parent")
	}
	for _, n := range []string{"reconcile.load", "reconcile.deliver"} {
		s, ok := byName[n]
		if !ok {
			t.Errorf("no %s span in %v", n, names(spans))
			continue
		}
		if s.Parent.SpanID() != root.SpanContext.SpanID() || s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("%s is not a child of reconcile", n)
		}
	}
	attrs := map[string]string{}
	for _, a := range root.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["slokeeper.slos"] != "1" || attrs["slokeeper.rules.mode"] != "files" {
		t.Errorf("reconcile attributes = %v", attrs)
	}

	// A budget read: one span, a child per query.
	exp.Reset()
	if err := d.Reader().Read(ctx); err != nil {
		t.Fatal(err)
	}
	spans = exp.GetSpans()
	var read tracetest.SpanStub
	queries := 0
	for _, s := range spans {
		if s.Name == "budget.read" {
			read = s
		}
	}
	for _, s := range spans {
		if s.Name == "budget.query" {
			queries++
			if s.Parent.SpanID() != read.SpanContext.SpanID() {
				t.Errorf("budget.query is not a child of budget.read")
			}
		}
	}
	if !read.SpanContext.IsValid() || queries != 4 {
		t.Errorf("budget read spans: %v", names(spans))
	}

	// A failed reconcile is marked as an error.
	exp.Reset()
	f.prom.mu.Lock()
	f.prom.down = true
	f.prom.mu.Unlock()
	if err := d.Reader().Read(ctx); err == nil {
		t.Fatal("no error")
	}
	for _, s := range exp.GetSpans() {
		if s.Name == "budget.read" && s.Status.Code.String() != "Error" {
			t.Errorf("failed read span status = %v", s.Status)
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestTracingEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
	} {
		if got := TracingEnabled(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.env, got, tc.want)
		}
	}
}

// TestSetupTracingExports checks the OTLP/HTTP exporter set up from the
// environment sends the spans to the endpoint.
func TestSetupTracingExports(t *testing.T) {
	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")
	t.Cleanup(func() { otel.SetTracerProvider(noop.NewTracerProvider()) })
	ctx := context.Background()
	shutdown, enabled, err := SetupTracing(ctx)
	if err != nil || !enabled {
		t.Fatalf("SetupTracing: %v %v", enabled, err)
	}
	f := newFixture(t) // its daemon uses the global provider
	f.write("a.yaml", spec("a", "99.9"))
	if err := f.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Error("no spans exported")
	}
}

func TestOutgoingRequestsCarryTheTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	defer otel.SetTextMapPropagator(prev)
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("Traceparent"))
	}))
	defer srv.Close()
	ctx, span := tp.Tracer("test").Start(context.Background(), "parent")
	c := &http.Client{Transport: tracePropagation(nil)}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	span.End()
	tp0, _ := got.Load().(string)
	if want := span.SpanContext().TraceID().String(); !strings.Contains(tp0, want) {
		t.Errorf("traceparent %q does not carry trace %s", tp0, want)
	}
	if req.Header.Get("Traceparent") != "" {
		t.Errorf("the caller's request was modified")
	}
	// Without a span, nothing is added.
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v, _ := got.Load().(string); v != "" {
		t.Errorf("traceparent without a span: %q", v)
	}
}
