package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/slokeeper/slokeeper/internal/version"
)

// TracerName is the instrumentation scope of the daemon's spans.
const TracerName = "github.com/slokeeper/slokeeper/daemon"

// TracingEnabled says whether the standard OpenTelemetry variables ask for
// traces: OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) with
// OTEL_TRACES_EXPORTER unset. OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn them off.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))) {
	case "otlp":
		return true
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default: // none, or an exporter this build does not have
		return false
	}
}

// SetupTracing installs the global OpenTelemetry tracer provider when
// TracingEnabled: an OTLP/HTTP exporter configured by the standard OTEL_*
// variables (endpoint, headers, timeout, TLS, compression), batched; the
// sampler from OTEL_TRACES_SAMPLER (default parent-based always-on); the
// resource service.name=slokeeper, overridable by OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES; W3C trace-context propagation. It returns a
// function that flushes and stops the exporter, and whether tracing is on.
// When off, nothing is installed and the spans cost next to nothing.
func SetupTracing(ctx context.Context) (shutdown func(context.Context) error, enabled bool, err error) {
	noop := func(context.Context) error { return nil }
	if !TracingEnabled(os.Getenv) {
		return noop, false, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		return noop, false, fmt.Errorf("OTLP protocol %q is not supported: use http/protobuf", proto)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return noop, false, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "slokeeper"), attribute.String("service.version", version.Version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost(),
	)
	if err != nil && res == nil {
		return noop, false, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return tp.Shutdown, true, nil
}

// endSpan records err on span and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, firstLine(err.Error()))
	}
	span.End()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// tracePropagation wraps an HTTP transport so that every request carries
// the trace context of its context (W3C traceparent, through the global
// propagator SetupTracing installs): Prometheus, Mimir and Grafana spans
// join the daemon's traces.
func tracePropagation(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return propagatingTransport{next: next}
}

type propagatingTransport struct{ next http.RoundTripper }

func (t propagatingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	carrier := propagation.HeaderCarrier(http.Header{})
	otel.GetTextMapPropagator().Inject(r.Context(), carrier)
	if len(carrier) == 0 {
		return t.next.RoundTrip(r)
	}
	r = r.Clone(r.Context()) // a RoundTripper must not modify the request
	for k, v := range carrier {
		r.Header[k] = v
	}
	return t.next.RoundTrip(r)
}
