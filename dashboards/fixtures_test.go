package dashboards

import (
	"fmt"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

const day = 24 * time.Hour

func rolling(d time.Duration) slo.Period { return slo.Period{Kind: slo.Rolling, Rolling: d} }

func ratio(errors, total string) slo.SLI {
	return slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{Errors: errors, Total: total}}
}

func latency(h string, th time.Duration, native bool) slo.SLI {
	return slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{Histogram: h, Threshold: th, Native: native}}
}

// testSLOs covers every SLI kind, groupBy, both HTTP conventions, the
// platform metrics, calendar and rolling periods, tier overrides and a
// service name that does not fit a UID.
func testSLOs() []slo.SLO {
	off := true
	ticket := "ticket"
	return []slo.SLO{
		// OpenTelemetry HTTP: one histogram for availability and latency.
		{Service: "checkout", Team: "payments", Name: "availability", Description: "Checkout requests answered without a server error.",
			Objective: 99.9, Period: rolling(28 * day), Labels: map[string]string{"criticality": "high"},
			SLI: ratio(`http_server_request_duration_seconds_count{job="checkout",http_response_status_code=~"5.."}`,
				`http_server_request_duration_seconds_count{job="checkout"}`),
			Alerting: slo.Alerting{MinEvents: 100, Runbook: "https://runbooks.example.com/checkout"}},
		{Service: "checkout", Team: "payments", Name: "latency", Objective: 99, Period: rolling(28 * day),
			SLI:     latency(`http_server_request_duration_seconds{job="checkout"}`, 250*time.Millisecond, false),
			GroupBy: []string{"http_route"}, Alerting: slo.Alerting{Runbook: "https://runbooks.example.com/checkout"}},
		// Classic Prometheus client: http_requests_total with code.
		{Service: "catalog", Team: "storefront", Name: "availability", Objective: 99.5,
			Period: slo.Period{Kind: slo.CalendarMonth, TimeZone: "Europe/Berlin"},
			SLI:    ratio(`http_requests_total{job="catalog",code=~"5.."}`, `http_requests_total{job="catalog"}`)},
		{Service: "catalog", Team: "storefront", Name: "latency", Objective: 99, Period: rolling(7 * day),
			SLI:      latency(`http_request_duration_seconds{job="catalog"}`, 500*time.Millisecond, false),
			Alerting: slo.Alerting{Tiers: map[string]slo.TierOverride{slo.TierTicketSlow: {Disabled: &off}}}},
		// Good/total ratio grouped by a legacy route label, native latency.
		{Service: "search", Team: "discovery", Name: "good-requests", Objective: 99.95, Period: rolling(30 * day),
			SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
				Good:  `http_requests_total{job="search",code!~"5.."}`,
				Total: `http_requests_total{job="search"}`}},
			GroupBy: []string{"route"}},
		{Service: "search", Team: "discovery", Name: "latency-native", Objective: 99.5, Period: rolling(30 * day),
			SLI: latency(`http_server_request_duration_seconds{job="search-otel"}`, 100*time.Millisecond, true)},
		// Availability from a gauge, with alerting off and no tier.
		{Service: "billing", Name: "up", Objective: 99.99, Period: rolling(90 * day),
			SLI:      slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: `up{job="billing"}`}},
			Alerting: slo.Alerting{Disabled: true, TierSet: []slo.Tier{}}},
		// Raw queries: an error ratio, and errors/total, with a custom tier set.
		{Service: "billing", Name: "custom-ratio", Objective: 99.5, Period: rolling(28 * day),
			SLI: slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{
				ErrorRatio: `sum(rate(billing_errors_total[{{.window}}])) / sum(rate(billing_requests_total[{{.window}}]))`}},
			Alerting: slo.Alerting{TierSet: []slo.Tier{
				{Name: "fast", Class: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 10, Severity: "critical"},
				{Name: "slow", Class: ticket, Long: 6 * time.Hour, Short: 30 * time.Minute, Factor: 2, Severity: "warning"},
			}}},
		{Service: "billing", Name: "custom-counts", Objective: 99, Period: rolling(14 * day),
			SLI: slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{
				Errors: `sum(rate(grpc_server_handled_total{job="billing",grpc_code!="OK"}[{{.window}}]))`,
				Total:  `sum(rate(grpc_server_handled_total{job="billing"}[{{.window}}]))`}}},
		// Platform components.
		{Service: "kube-apiserver", Team: "platform", Name: "availability", Objective: 99.95, Period: rolling(28 * day),
			SLI: ratio(`apiserver_request_total{job="apiserver",code=~"5.."}`, `apiserver_request_total{job="apiserver"}`)},
		{Service: "kube-apiserver", Team: "platform", Name: "request-latency", Objective: 99, Period: rolling(28 * day),
			SLI:     latency(`apiserver_request_duration_seconds{job="apiserver",verb!~"WATCH|CONNECT"}`, time.Second, false),
			GroupBy: []string{"verb"}},
		{Service: "ingress-nginx", Team: "platform", Name: "availability", Objective: 99.9, Period: rolling(30 * day),
			SLI:     ratio(`nginx_ingress_controller_requests{status=~"5.."}`, `nginx_ingress_controller_requests`),
			GroupBy: []string{"ingress"}},
		{Service: "coredns", Team: "platform", Name: "response-errors", Objective: 99.9, Period: rolling(28 * day),
			SLI: ratio(`coredns_dns_responses_total{job="coredns",rcode="SERVFAIL"}`, `coredns_dns_responses_total{job="coredns"}`)},
		{Service: "kube-scheduler", Team: "platform", Name: "pod-scheduling-latency", Objective: 95, Period: rolling(28 * day),
			SLI: latency(`scheduler_pod_scheduling_sli_duration_seconds{job="kube-scheduler"}`, 5120*time.Millisecond, false)},
		// A generic counter with a status label the generator does not know.
		{Service: "payments.eu-west-1.example.com-very-long-service-name", Team: "payments", Name: "jobs", Objective: 99,
			Period: rolling(28 * day),
			SLI:    ratio(`jobs_processed_total{queue="payments",result="failed"}`, `jobs_processed_total{queue="payments"}`)},
	}
}

// manySLOs makes n services with three SLOs each (OpenTelemetry and
// legacy conventions alternating), for benchmarks and size checks.
func manySLOs(n int) []slo.SLO {
	out := make([]slo.SLO, 0, 3*n)
	for i := range n {
		svc := fmt.Sprintf("service-%04d", i)
		job := `{job="` + svc + `"}`
		if i%2 == 0 {
			out = append(out,
				slo.SLO{Service: svc, Team: "team", Name: "availability", Objective: 99.9, Period: rolling(28 * day),
					SLI: ratio(`http_server_request_duration_seconds_count{job="`+svc+`",http_response_status_code=~"5.."}`, `http_server_request_duration_seconds_count`+job)},
				slo.SLO{Service: svc, Team: "team", Name: "latency", Objective: 99, Period: rolling(28 * day),
					SLI: latency(`http_server_request_duration_seconds`+job, 300*time.Millisecond, false), GroupBy: []string{"http_route"}})
		} else {
			out = append(out,
				slo.SLO{Service: svc, Team: "team", Name: "availability", Objective: 99.9, Period: slo.Period{Kind: slo.CalendarMonth},
					SLI: ratio(`http_requests_total{job="`+svc+`",code=~"5.."}`, `http_requests_total`+job)},
				slo.SLO{Service: svc, Team: "team", Name: "latency", Objective: 99, Period: rolling(28 * day),
					SLI: latency(`http_request_duration_seconds`+job, 300*time.Millisecond, false)})
		}
		out = append(out, slo.SLO{Service: svc, Team: "team", Name: "up", Objective: 99.95, Period: rolling(30 * day),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: `up` + job}}})
	}
	return out
}
