package openslo

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// load parses files (name -> content, read in name order) and imports every
// OpenSLO document of them at once, as the loader does.
func load(t testing.TB, files map[string]string) ([]slo.SLO, slo.Problems) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var (
		docs []ynode.Doc
		ps   slo.Problems
	)
	for _, n := range names {
		ds, p := ynode.ParseFile(n, []byte(files[n]))
		ps = append(ps, p...)
		for _, d := range ds {
			if !Accepts(d.APIVersion, d.Kind) {
				t.Fatalf("%s: document %q %q not accepted", n, d.APIVersion, d.Kind)
			}
			docs = append(docs, d)
		}
	}
	return Import(docs, &ps), ps
}

func messages(ps slo.Problems, sev slo.Severity) []string {
	var out []string
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p.String())
		}
	}
	sort.Strings(out)
	return out
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func byName(slos []slo.SLO) map[string]slo.SLO {
	out := map[string]slo.SLO{}
	for _, s := range slos {
		out[s.Name] = s
	}
	return out
}

// sharedDir locates ../shared from the package directory.
func sharedDir(t testing.TB) string {
	dir := filepath.Join("..", "..", "..", "shared")
	if _, err := os.Stat(filepath.Join(dir, "peers")); err != nil {
		t.Skipf("peer specs not found at %s: skipping (they live beside the repository)", dir)
	}
	return dir
}

func peerFiles(t testing.TB) map[string]string {
	dir := sharedDir(t)
	a, _ := filepath.Glob(filepath.Join(dir, "peers", "openslo", "v1", "*.yaml"))
	b, _ := filepath.Glob(filepath.Join(dir, "peers", "sloth", "specs", "openslo-*.yml"))
	files := map[string]string{}
	for _, name := range append(a, b...) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(name)] = string(data)
	}
	if len(files) == 0 {
		t.Skip("no OpenSLO peer specs found")
	}
	return files
}

const (
	refuseTimeslices = "budgetingMethod Timeslices is not supported: slokeeper budgets by occurrences (good/total events); use budgetingMethod: Occurrences"
	refuseRatioTS    = "budgetingMethod RatioTimeslices is not supported: slokeeper budgets by occurrences (good/total events); use budgetingMethod: Occurrences"
)

// peerErrors is what each peer file gives when imported alone: nothing, or
// one refusal. A refused budgeting method stops the mapping of its SLO, so
// the calendar weeks and minutes of these examples are not refused too.
var peerErrors = map[string][]string{
	"budgeting-method_occurences-slo.yaml": nil,
	"budgeting-method_ratio-timeslices.yaml": {
		"budgeting-method_ratio-timeslices.yaml:29:20: spec.budgetingMethod: " + refuseRatioTS,
	},
	"budgeting-method_timeslices-slo.yaml": {
		"budgeting-method_timeslices-slo.yaml:32:20: spec.budgetingMethod: " + refuseTimeslices,
	},
	"sdk-example-alert_conditions.yaml":           nil,
	"sdk-example-alert_notification_targets.yaml": nil,
	"sdk-example-alert_policies.yaml":             nil,
	"sdk-example-data_sources.yaml":               nil,
	"sdk-example-services.yaml":                   nil,
	"sdk-example-slis.yaml":                       nil,
	"sdk-example-slos.yaml": {
		"sdk-example-slos.yaml:37:22: [0].spec.budgetingMethod: " + refuseTimeslices,
	},
	"treat-low-traffic-as-equally-important_timeslices-slo.yaml": {
		"treat-low-traffic-as-equally-important_timeslices-slo.yaml:30:20: spec.budgetingMethod: " + refuseTimeslices,
	},
	"openslo-getting-started.yml":      nil,
	"openslo-kubernetes-apiserver.yml": nil,
}

// peerWarnings: the example's placeholder type Any is read as Prometheus.
var peerWarnings = map[string][]string{
	"budgeting-method_occurences-slo.yaml": {
		`budgeting-method_occurences-slo.yaml:17:17: warning: spec.indicator.spec.thresholdMetric.metricSource.type: metricSource type "Any" is read as Prometheus: slokeeper evaluates the query as PromQL`,
		`budgeting-method_occurences-slo.yaml:26:11: warning: spec.objectives[0].op: thresholdMetric: every evaluation of the query is one event, bad unless it is lt 500; the error ratio is the share of bad evaluations over each window (a subquery at the evaluation interval)`,
	},
}

var peerSLOs = map[string][]string{
	"budgeting-method_occurences-slo.yaml": {"web-shop/search-slo"},
	"openslo-getting-started.yml":          {"my-service/sloth-slo-my-service"},
	"openslo-kubernetes-apiserver.yml":     {"k8s-apiserver/requests-availability-openslo", "k8s-apiserver/requests-latency-openslo-0", "k8s-apiserver/requests-latency-openslo-1"},
}

func ids(slos []slo.SLO) []string {
	var out []string
	for _, s := range slos {
		out = append(out, s.ID())
	}
	sort.Strings(out)
	return out
}

func TestPeerFilesAlone(t *testing.T) {
	files := peerFiles(t)
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			want, known := peerErrors[name]
			if !known {
				t.Fatalf("new peer file %s: add its expected problems to peerErrors", name)
			}
			slos, ps := load(t, map[string]string{name: data})
			sameLines(t, "errors", messages(ps, slo.Error), want)
			sameLines(t, "warnings", messages(ps, slo.Warning), peerWarnings[name])
			sameLines(t, "SLOs", ids(slos), peerSLOs[name])
			if len(want) > 0 && len(slos) > 0 {
				t.Errorf("a refused file still produced SLOs: %v", ids(slos))
			}
			// What imports must pass the shared validation too.
			sameLines(t, "validation", messages(slo.Validate(slos, slo.ValidateOptions{}), slo.Error), nil)
		})
	}
}

func TestPeerFilesTogether(t *testing.T) {
	files := peerFiles(t)
	slos, ps := load(t, files)
	var want, wantSLOs []string
	for name := range files {
		want = append(want, peerErrors[name]...)
		wantSLOs = append(wantSLOs, peerSLOs[name]...)
	}
	sameLines(t, "errors", messages(ps, slo.Error), want)
	sameLines(t, "SLOs", ids(slos), wantSLOs)
	sameLines(t, "validation", messages(slo.Validate(slos, slo.ValidateOptions{}), slo.Error), nil)
}

func TestPeerValues(t *testing.T) {
	files := peerFiles(t)
	slos, _ := load(t, map[string]string{"k.yml": files["openslo-kubernetes-apiserver.yml"]})
	got := byName(slos)
	s, ok := got["requests-latency-openslo-1"]
	if !ok {
		t.Fatalf("missing SLO, got %v", ids(slos))
	}
	if s.Objective != 99.9 || s.Period != (slo.Period{Kind: slo.Rolling, Rolling: 30 * day}) {
		t.Errorf("objective %v period %v", s.Objective, s.Period)
	}
	wantQ := &slo.QuerySLI{
		Good:  `sum(rate(apiserver_request_duration_seconds_bucket{le="5",verb!="WATCH"}[{{.window}}]))`,
		Total: `sum(rate(apiserver_request_duration_seconds_count{verb!="WATCH"}[{{.window}}]))`,
	}
	if s.SLI.Kind != slo.SLIQuery || !reflect.DeepEqual(s.SLI.Query, wantQ) {
		t.Errorf("SLI %+v %+v", s.SLI, s.SLI.Query)
	}
	if s.Source != (slo.Source{File: "k.yml", Line: 55, Col: 7, Format: slo.FormatOpenSLO, Path: "spec.objectives[1]"}) {
		t.Errorf("source %+v", s.Source)
	}
	if p := s.At(slo.FieldObjective); p.Line != 64 || p.Col != 15 || p.Path != "spec.objectives[1].target" {
		t.Errorf("objective at %+v", p)
	}
	if s.Alerting.TierSet != nil {
		t.Errorf("an SLO without alert policies keeps the default tiers, got %+v", s.Alerting.TierSet)
	}
	if a := got["requests-availability-openslo"]; a.Source.Line != 8 || a.Source.Path != "" || a.Description == "" {
		t.Errorf("single objective: %+v", a.Source)
	}

	slos, _ = load(t, map[string]string{"o.yaml": files["budgeting-method_occurences-slo.yaml"]})
	if len(slos) != 1 {
		t.Fatalf("got %v", ids(slos))
	}
	s = slos[0]
	if s.Objective != 99 || s.Period != (slo.Period{Kind: slo.Rolling, Rolling: 14 * day}) || s.Description == "" ||
		s.SLI.Query == nil || s.SLI.Query.ErrorRatio != "avg_over_time(((Any) >= bool 500)[{{.window}}:])" {
		t.Errorf("objective %v period %v SLI %+v", s.Objective, s.Period, s.SLI.Query)
	}
	if p := s.At(slo.FieldErrorRatio); p.Line != 19 || p.Col != 20 {
		t.Errorf("error ratio at %+v", p)
	}
}

// A complete OpenSLO v1 set-up over two files, with references both ways.
var fixture = map[string]string{
	"slos.yaml": `apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
  displayName: Checkout availability
  labels:
    team: [payments]
    tier: "1"
    cost-centre: [a, b]
  annotations:
    slokeeper.io/runbook: https://runbooks.example.com/checkout
    openslo.com/service-folder: ./checkout
spec:
  description: Checkout requests succeed.
  service: checkout
  indicatorRef: checkout-errors
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - displayName: Availability
      target: 0.999
  alertPolicies:
    - alertPolicyRef: checkout-paging
    - kind: AlertPolicy
      metadata: {name: inline-ticket}
      spec:
        conditions:
          - conditionRef: slow-burn
        notificationTargets:
          - targetRef: slack
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: checkout-latency}
spec:
  service: checkout
  indicator:
    metadata: {name: latency}
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            metricSourceRef: prom
            spec:
              query: sum(rate(http_request_duration_seconds_bucket{job="checkout",le="0.3"}[5m]))
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_request_duration_seconds_count{job="checkout"}[5m]))
  timeWindow:
    - duration: 1M
      calendar: {startTime: "2024-01-01 00:00:00", timeZone: Europe/Berlin}
  budgetingMethod: Occurrences
  objectives:
    - {displayName: Fast, targetPercent: 99}
    - {displayName: Very fast!, target: 0.95}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: annotator-lag}
spec:
  service: pipeline
  indicator:
    metadata: {name: lag}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec: {query: 'max(kafka_consumergroup_lag{consumergroup="annotator"})'}
  timeWindow: [{duration: 2w, isRolling: true}]
  budgetingMethod: Occurrences
  objectives:
    - {op: lt, value: 1000, target: 0.99}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: wifi}
spec:
  service: wifi
  indicatorRef: wifi-satisfaction
  budgetingMethod: Occurrences
  objectives: [{target: 0.95}]
`,
	"shared.yaml": `- apiVersion: openslo/v1
  kind: SLI
  metadata: {name: checkout-errors}
  spec:
    ratioMetric:
      counter: true
      bad:
        metricSource:
          metricSourceRef: prom
          spec: {query: 'sum(http_requests_total{job="checkout",code=~"5.."})'}
      total:
        metricSource:
          metricSourceRef: prom
          spec: {query: 'http_requests_total{job="checkout"}'}
- apiVersion: openslo/v1
  kind: SLI
  metadata: {name: wifi-satisfaction}
  spec:
    ratioMetric:
      rawType: success
      raw:
        metricSource:
          type: Prometheus
          spec: {query: 'avg(poller_client_satisfaction_ratio)'}
- apiVersion: openslo/v1
  kind: DataSource
  metadata: {name: prom}
  spec:
    type: Prometheus
    connectionDetails: [{url: http://prometheus:9090}]
- apiVersion: openslo/v1
  kind: AlertPolicy
  metadata: {name: checkout-paging}
  spec:
    alertWhenBreaching: true
    conditions:
      - kind: AlertCondition
        metadata: {name: fast-burn}
        spec:
          severity: page
          condition: {kind: burnrate, op: gte, threshold: 14.4, lookbackWindow: 1h, alertAfter: 2m}
    notificationTargets:
      - targetRef: pagerduty
- apiVersion: openslo/v1
  kind: AlertCondition
  metadata: {name: slow-burn}
  spec:
    severity: ticket
    condition: {kind: burnrate, op: gt, threshold: 1, lookbackWindow: 3d}
- apiVersion: openslo/v1
  kind: AlertNotificationTarget
  metadata: {name: pagerduty}
  spec: {target: pagerduty}
- apiVersion: openslo/v1
  kind: AlertNotificationTarget
  metadata: {name: slack}
  spec: {target: slack}
- apiVersion: openslo/v1
  kind: Service
  metadata:
    name: pipeline
    labels: {team: data}
  spec: {description: The data pipeline}
`,
}

func TestFixture(t *testing.T) {
	slos, ps := load(t, fixture)
	sameLines(t, "errors", messages(ps, slo.Error), nil)
	sameLines(t, "warnings", messages(ps, slo.Warning), []string{
		`slos.yaml:9:5: warning: metadata.labels.cost-centre: label "cost-centre" is written as "cost_centre": Prometheus label names hold only letters, digits and _`,
		`slos.yaml:48:22: warning: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: query rewritten for slokeeper's windows as "sum(rate(http_request_duration_seconds_bucket{job=\"checkout\",le=\"0.3\"}[{{.window}}]))": the range [5m] of rate()/increase() became [{{.window}}]`,
		`slos.yaml:53:22: warning: spec.indicator.spec.ratioMetric.total.metricSource.spec.query: query rewritten for slokeeper's windows as "sum(rate(http_request_duration_seconds_count{job=\"checkout\"}[{{.window}}]))": the range [5m] of rate()/increase() became [{{.window}}]`,
		`slos.yaml:77:12: warning: spec.objectives[0].op: thresholdMetric: every evaluation of the query is one event, bad unless it is lt 1000; the error ratio is the share of bad evaluations over each window (a subquery at the evaluation interval)`,
		`shared.yaml:24:25: warning: [1].spec.ratioMetric.raw.metricSource.spec.query: query rewritten for slokeeper's windows as "avg(avg_over_time(poller_client_satisfaction_ratio[{{.window}}]))": series selectors were wrapped in avg_over_time(...[{{.window}}]) as gauges`,
	})
	sameLines(t, "validation", messages(slo.Validate(slos, slo.ValidateOptions{}), slo.Error), nil)
	got := byName(slos)
	sameLines(t, "SLOs", ids(slos), []string{"checkout/checkout-availability", "checkout/checkout-latency-fast", "checkout/checkout-latency-very-fast", "pipeline/annotator-lag", "wifi/wifi"})

	a := got["checkout-availability"]
	if a.Team != "payments" || a.Objective != 99.9 || a.Description != "Checkout requests succeed." {
		t.Errorf("team %q objective %v description %q", a.Team, a.Objective, a.Description)
	}
	if !reflect.DeepEqual(a.Labels, map[string]string{"tier": "1", "cost_centre": "a,b"}) || a.Annotations != nil {
		t.Errorf("labels %v annotations %v", a.Labels, a.Annotations)
	}
	if a.Period != (slo.Period{Kind: slo.Rolling, Rolling: 28 * day}) || a.Alerting.Runbook != "https://runbooks.example.com/checkout" {
		t.Errorf("period %v runbook %q", a.Period, a.Alerting.Runbook)
	}
	if a.SLI.Kind != slo.SLIRatio || *a.SLI.Ratio != (slo.RatioSLI{Errors: `http_requests_total{job="checkout",code=~"5.."}`, Total: `http_requests_total{job="checkout"}`}) {
		t.Errorf("SLI %+v %+v", a.SLI, a.SLI.Ratio)
	}
	// The SLI is in another file: its fields point at the indicatorRef.
	if p := a.At(slo.FieldErrors); p.File != "slos.yaml" || p.Line != 16 || p.Col != 17 {
		t.Errorf("errors at %+v", p)
	}
	wantTiers := []slo.Tier{
		{Name: "fast-burn", Class: "page", Long: time.Hour, Short: 5 * time.Minute, Factor: 14.4, Severity: "page", For: 2 * time.Minute},
		{Name: "slow-burn", Class: "ticket", Long: 72 * time.Hour, Short: 6 * time.Hour, Factor: 1, Severity: "ticket"},
	}
	if !reflect.DeepEqual(a.Alerting.TierSet, wantTiers) {
		t.Errorf("tiers:\n got %+v\nwant %+v", a.Alerting.TierSet, wantTiers)
	}
	if p := a.At(slo.FieldAlertingTierX + ".fast-burn"); p.File != "slos.yaml" || p.Line != 25 {
		t.Errorf("fast-burn at %+v", p)
	}
	if p := a.At(slo.FieldAlertingTierX + ".slow-burn"); p.File != "slos.yaml" || p.Line != 26 {
		t.Errorf("slow-burn at %+v", p)
	}

	l := got["checkout-latency-very-fast"]
	if l.Objective != 95 || l.Period != (slo.Period{Kind: slo.CalendarMonth, TimeZone: "Europe/Berlin"}) || l.Alerting.TierSet != nil {
		t.Errorf("objective %v period %+v tiers %v", l.Objective, l.Period, l.Alerting.TierSet)
	}
	if l.SLI.Kind != slo.SLIQuery || l.SLI.Query.Good != `sum(rate(http_request_duration_seconds_bucket{job="checkout",le="0.3"}[{{.window}}]))` {
		t.Errorf("SLI %+v", l.SLI.Query)
	}
	if p := l.At(slo.FieldTimeZone); p.Line != 56 || p.Col != 62 {
		t.Errorf("time zone at %+v", p)
	}
	if p := l.At(slo.FieldName); p.Line != 60 || p.Col != 21 {
		t.Errorf("name at %+v", p)
	}
	if got["checkout-latency-fast"].Objective != 99 {
		t.Errorf("targetPercent: %v", got["checkout-latency-fast"].Objective)
	}
	if l.SLI.Query == got["checkout-latency-fast"].SLI.Query {
		t.Error("two SLOs share one QuerySLI")
	}

	lag := got["annotator-lag"]
	wantRatio := `avg_over_time(((max(kafka_consumergroup_lag{consumergroup="annotator"})) >= bool 1000)[{{.window}}:])`
	if lag.Team != "data" || lag.SLI.Kind != slo.SLIQuery || lag.SLI.Query.ErrorRatio != wantRatio || lag.Period.Rolling != 14*day {
		t.Errorf("team %q SLI %+v period %v", lag.Team, lag.SLI.Query, lag.Period)
	}

	w := got["wifi"]
	if w.SLI.Query == nil || w.SLI.Query.ErrorRatio != "1 - (avg(avg_over_time(poller_client_satisfaction_ratio[{{.window}}])))" {
		t.Errorf("raw success: %+v", w.SLI.Query)
	}
	if w.Period != (slo.Period{Kind: slo.Rolling, Rolling: 30 * day}) {
		t.Errorf("default period %v", w.Period)
	}
}

func TestAlertWhenBreachingFalse(t *testing.T) {
	slos, ps := load(t, map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: quiet}
spec:
  service: s
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'ok_total'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'all_total'}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies:
    - kind: AlertPolicy
      spec:
        alertWhenBreaching: false
        conditions: [{conditionRef: missing-but-unused}]
`})
	sameLines(t, "errors", messages(ps, slo.Error), nil)
	sameLines(t, "warnings", messages(ps, slo.Warning), []string{
		"a.yaml:17:29: warning: spec.alertPolicies[0].spec.alertWhenBreaching: alertWhenBreaching is false: this policy adds no burn-rate alert",
	})
	if len(slos) != 1 || slos[0].Alerting.TierSet == nil || len(slos[0].Alerting.TierSet) != 0 {
		t.Fatalf("want one SLO with an empty tier set, got %+v", slos)
	}
}

func TestCounterUnset(t *testing.T) {
	slos, ps := load(t, map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicator:
    spec:
      ratioMetric:
        good: {metricSource: {type: prometheus, spec: {query: 'sum(ok_total)'}}}
        total: {metricSource: {type: prometheus, spec: {promql: 'sum by (code) (all_total)'}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
`})
	sameLines(t, "errors", messages(ps, slo.Error), nil)
	sameLines(t, "warnings", messages(ps, slo.Warning), []string{
		`a.yaml:9:9: warning: spec.indicator.spec.ratioMetric.counter: counter is not set: the series are read as counters (rate over each window); set counter: true to confirm, or counter: false for gauges`,
		`a.yaml:10:65: warning: spec.indicator.spec.ratioMetric.total.metricSource.spec.promql: query rewritten for slokeeper's windows as "sum by (code) (rate(all_total[{{.window}}]))": series selectors were wrapped in rate(...[{{.window}}]) as counters`,
		`a.yaml:9:63: warning: spec.indicator.spec.ratioMetric.good.metricSource.spec.query: query rewritten for slokeeper's windows as "sum(rate(ok_total[{{.window}}]))": series selectors were wrapped in rate(...[{{.window}}]) as counters`,
	})
	if len(slos) != 1 || slos[0].SLI.Kind != slo.SLIQuery {
		t.Fatalf("got %+v", slos)
	}
}

// Bad inputs: each gives exactly these problems, at these positions.
func TestBadInput(t *testing.T) {
	const sli = `  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'ok_total'}}}
        total: {metricSource: {type: Prometheus, spec: {query: 'all_total'}}}
`
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		name: "wrong types and unknown field",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata:
  name: [x]
  labels: {env: {a: b}}
spec:
  service: s
` + sli + `  budgetingMethod: Occurrences
  timeWindow: {duration: 28d}
  objectives:
    - target: "high"
      targt: 0.9
`},
		want: []string{
			`a.yaml:4:9: metadata.name: expected a string, got a list`,
			`a.yaml:5:17: metadata.labels.env: expected a string or a list of strings, got a mapping`,
			`a.yaml:15:15: spec.timeWindow: expected a list, got a mapping`,
			`a.yaml:17:15: spec.objectives[0].target: expected a number, got the string "high"`,
			`a.yaml:18:7: spec.objectives[0].targt: unknown field "targt" (did you mean "target"?)`,
		},
	}, {
		name: "missing references",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicatorRef: nope
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies:
    - alertPolicyRef: also-nope
    - kind: AlertPolicy
      spec:
        conditions: [{conditionRef: no-condition}]
`},
		want: []string{
			`a.yaml:6:17: spec.indicatorRef: indicatorRef "nope": no SLI named "nope" was loaded`,
			`a.yaml:10:23: spec.alertPolicies[0].alertPolicyRef: alertPolicyRef "also-nope": no AlertPolicy named "also-nope" was loaded`,
			`a.yaml:13:37: spec.alertPolicies[1].spec.conditions[0].conditionRef: conditionRef "no-condition": no AlertCondition named "no-condition" was loaded`,
		},
	}, {
		name: "timeslices",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
` + sli + `  budgetingMethod: Timeslices
  objectives: [{target: 0.99, timeSliceTarget: 0.9, timeSliceWindow: 1m}]
`},
		want: []string{`a.yaml:12:20: spec.budgetingMethod: ` + refuseTimeslices},
	}, {
		name: "data sources",
		files: map[string]string{"a.yaml": `- apiVersion: openslo/v1
  kind: DataSource
  metadata: {name: dd}
  spec: {type: Datadog}
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: x}
  spec:
    service: s
    indicator:
      spec:
        ratioMetric:
          counter: true
          good: {metricSource: {metricSourceRef: dd, spec: {query: 'a'}}}
          total: {metricSource: {metricSourceRef: missing, spec: {query: 'b'}}}
    budgetingMethod: Occurrences
    objectives: [{target: 0.99}]
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: y}
  spec:
    service: s
    indicator:
      spec:
        thresholdMetric: {metricSource: {type: CloudWatch, spec: {metricName: x}}}
    budgetingMethod: Occurrences
    objectives: [{op: lt, value: 1, target: 0.99}]
`},
		want: []string{
			`a.yaml:14:50: [1].spec.indicator.spec.ratioMetric.good.metricSource.metricSourceRef: metricSource type "Datadog" (from DataSource "dd") is not supported: slokeeper evaluates PromQL, so the data source must be Prometheus-compatible (type Prometheus, Thanos, Mimir or Cortex)`,
			`a.yaml:25:48: [2].spec.indicator.spec.thresholdMetric.metricSource.type: metricSource type "CloudWatch" is not supported: slokeeper evaluates PromQL, so the data source must be Prometheus-compatible (type Prometheus, Thanos, Mimir or Cortex)`,
		},
	}, {
		name: "missing data source",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicator:
    spec:
      thresholdMetric: {metricSource: {metricSourceRef: prom, spec: {query: 'up'}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
`},
		want: []string{
			`a.yaml:8:57: spec.indicator.spec.thresholdMetric.metricSource.metricSourceRef: metricSourceRef "prom": no DataSource named "prom" was loaded (load the file that defines it, or remove metricSourceRef and keep type: Prometheus)`,
		},
	}, {
		name: "threshold without op and value",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicator:
    spec:
      thresholdMetric: {metricSource: {type: Prometheus, spec: {query: 'up'}}}
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
`},
		want: []string{
			`a.yaml:10:16: spec.objectives[0].op: op (lt, lte, gt or gte) is required with a thresholdMetric indicator: an event is good when the query's value compares so with value`,
			`a.yaml:10:16: spec.objectives[0].value: value is required with a thresholdMetric indicator`,
		},
	}, {
		name: "errors in another file are reported at the reference",
		files: map[string]string{
			"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicatorRef: broken
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
  alertPolicies: [{alertPolicyRef: lte}]
`,
			"b.yaml": `apiVersion: openslo/v1
kind: SLI
metadata: {name: broken}
spec:
  ratioMetric: {counter: true, good: {metricSource: {type: Prometheus, spec: {query: 'sum('}}}, total: {metricSource: {type: Prometheus, spec: {query: 'b'}}}}
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: lte}
spec:
  conditions:
    - kind: AlertCondition
      metadata: {name: c}
      spec: {severity: page, condition: {op: lte, threshold: 2, lookbackWindow: 1h}}
`,
		},
		want: []string{
			`a.yaml:6:17: spec.indicatorRef: SLI "broken" has errors (first at b.yaml:5:86)`,
			`a.yaml:9:36: spec.alertPolicies[0].alertPolicyRef: AlertPolicy "lte" has errors (first at b.yaml:14:46)`,
			`b.yaml:14:46: spec.conditions[0].spec.condition.op: op lte is not supported for a burn-rate condition: slokeeper alerts when the burn rate reaches the threshold (op: gte or gt)`,
			`b.yaml:5:86: spec.ratioMetric.good.metricSource.spec.query: invalid PromQL: 1:5: parse error: unclosed left parenthesis`,
		},
	}, {
		name: "exclusive and required fields",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  indicator:
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Prometheus, spec: {query: 'a'}}}
        bad: {metricSource: {type: Prometheus, spec: {query: 'b'}}}
  indicatorRef: y
  budgetingMethod: occurrences
  timeWindow: [{duration: 30d, isRolling: true, calendar: {timeZone: UTC}}]
  objectives: [{target: 99.9}, {target: 0.9, targetPercent: 90}, {}]
`},
		want: []string{
			`a.yaml:5:3: spec.service: required field is missing`,
			`a.yaml:8:9: spec.indicator.spec.ratioMetric.total: total is required with good or bad`,
			`a.yaml:10:14: spec.indicator.spec.ratioMetric.bad: good and bad are exclusive: give one, beside total`,
			`a.yaml:11:17: spec.indicatorRef: indicator and indicatorRef are exclusive: give one`,
			`a.yaml:13:59: spec.timeWindow[0].calendar: calendar applies to calendar-aligned windows: set isRolling: false, or remove calendar for a rolling window`,
			`a.yaml:14:25: spec.objectives[0].target: target 99.9 is a ratio below 1 (0.999 means 99.9%): did you mean targetPercent: 99.9?`,
			`a.yaml:14:61: spec.objectives[1].targetPercent: target and targetPercent are exclusive: give one`,
			`a.yaml:14:66: spec.objectives[2].target: target (a ratio such as 0.999) or targetPercent (such as 99.9) is required`,
		},
	}, {
		name: "unsupported versions and kinds",
		files: map[string]string{"a.yaml": `apiVersion: openslo/v2alpha
kind: SLO
---
apiVersion: openslo/v1
kind: Composite
---
apiVersion: openslo/v1alpha
kind: SLI
---
apiVersion: openslo/v1
metadata: {name: x}
`},
		want: []string{
			`a.yaml:1:13: apiVersion: unsupported apiVersion "openslo/v2alpha": slokeeper reads openslo/v1 (SLO, SLI, Service, AlertPolicy, AlertCondition, AlertNotificationTarget or DataSource) and openslo/v1alpha SLO (as Sloth writes it)`,
			`a.yaml:5:7: kind: unsupported kind "Composite" for openslo/v1: expected SLO, SLI, Service, AlertPolicy, AlertCondition, AlertNotificationTarget or DataSource`,
			`a.yaml:8:7: kind: unsupported kind "SLI" for openslo/v1alpha: expected SLO or Service`,
			`a.yaml:10:1: kind: required field is missing`,
		},
	}, {
		name: "duplicates and calendar lengths",
		files: map[string]string{"a.yaml": `- apiVersion: openslo/v1
  kind: AlertCondition
  metadata: {name: c}
  spec: {severity: page, condition: {threshold: 2, lookbackWindow: 1h}}
- apiVersion: openslo/v1
  kind: AlertCondition
  metadata: {name: c}
  spec: {severity: page, condition: {kind: threshold, threshold: 0, lookbackWindow: 1x}}
- apiVersion: openslo/v1
  kind: SLO
  metadata: {name: q}
  spec:
    service: s
    indicator: {spec: {thresholdMetric: {metricSource: {type: Prometheus, spec: {query: up}}}}}
    timeWindow: [{duration: 1Q, isRolling: false}]
    budgetingMethod: Occurrences
    objectives: [{op: gte, value: 1, target: 0.99}]
`},
		want: []string{
			`a.yaml:7:20: [1].metadata.name: duplicate AlertCondition "c": already defined at a.yaml:3:20`,
			`a.yaml:8:44: [1].spec.condition.kind: alert condition kind "threshold" is not supported: slokeeper alerts on burn rates (kind: burnrate)`,
			`a.yaml:8:66: [1].spec.condition.threshold: threshold must be a positive burn rate, e.g. 2 or 14.4`,
			`a.yaml:8:85: [1].spec.condition.lookbackWindow: invalid duration "1x": use a whole number and one unit: m (minutes), h, d, w, M (months), Q (quarters) or Y (years), e.g. 28d`,
			`a.yaml:15:29: [2].spec.timeWindow[0].duration: a calendar window of 1Q is not supported: slokeeper supports calendar months (duration: 1M) and rolling windows (isRolling: true)`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			slos, ps := load(t, tc.files)
			sameLines(t, "errors", messages(ps, slo.Error), tc.want)
			if len(slos) > 0 {
				t.Errorf("SLOs with errors were returned: %v", ids(slos))
			}
		})
	}
}

func TestPeriods(t *testing.T) {
	for _, tc := range []struct {
		window string
		want   slo.Period
		warn   string
	}{
		{"{duration: 28d, isRolling: true}", slo.Period{Kind: slo.Rolling, Rolling: 28 * day}, ""},
		{"{duration: 4w}", slo.Period{Kind: slo.Rolling, Rolling: 28 * day}, ""},
		{"{duration: 1M, isRolling: true}", slo.Period{Kind: slo.Rolling, Rolling: 30 * day}, "a rolling window of 1M is read as 30d"},
		{"{duration: 1M, isRolling: false}", slo.Period{Kind: slo.CalendarMonth}, ""},
		{"{duration: 1M, calendar: {startTime: '2024-01-01 00:00:00', timeZone: America/New_York}}", slo.Period{Kind: slo.CalendarMonth, TimeZone: "America/New_York"}, ""},
		{"{duration: 1M, calendar: {startTime: '2024-01-15 08:00:00', timeZone: UTC}}", slo.Period{Kind: slo.CalendarMonth, TimeZone: "UTC"}, "startTime 2024-01-15 08:00:00 is not used: slokeeper's calendar months start on the 1st at 00:00 in the time zone"},
	} {
		t.Run(tc.window, func(t *testing.T) {
			slos, ps := load(t, map[string]string{"a.yaml": `apiVersion: openslo/v1
kind: SLO
metadata: {name: x}
spec:
  service: s
  indicator: {spec: {ratioMetric: {counter: true, good: {metricSource: {type: Prometheus, spec: {query: a}}}, total: {metricSource: {type: Prometheus, spec: {query: b}}}}}}
  timeWindow: [` + tc.window + `]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
`})
			sameLines(t, "errors", messages(ps, slo.Error), nil)
			var warns []string
			for _, p := range ps {
				if p.Severity == slo.Warning {
					warns = append(warns, p.Message)
				}
			}
			if strings.Join(warns, "\n") != tc.warn {
				t.Errorf("warnings %q, want %q", warns, tc.warn)
			}
			if len(slos) != 1 || slos[0].Period != tc.want {
				t.Fatalf("got %+v", slos)
			}
		})
	}
}

func TestV1Alpha(t *testing.T) {
	slos, ps := load(t, map[string]string{"a.yaml": `apiVersion: openslo/v1alpha
kind: SLO
metadata: {name: lat}
spec:
  service: api
  budgetingMethod: Occurrences
  indicator:
    thresholdMetric: {source: prometheus, queryType: promql, query: 'histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))'}
  objectives:
    - {displayName: p99 under 300ms, op: lte, value: 0.3, target: 0.99}
    - ratioMetrics:
        good: {source: datadog, queryType: promql, query: a}
        total: {source: prometheus, queryType: promql, query: b}
      target: 0.9
  timeWindows: [{count: 1, unit: Month, isRolling: false, calendar: {startTime: '2024-01-01 00:00:00', timeZone: UTC}}]
`})
	sameLines(t, "errors", messages(ps, slo.Error), []string{
		`a.yaml:12:24: spec.objectives[1].ratioMetrics.good.source: source "datadog" is not supported: slokeeper evaluates PromQL (source: prometheus, queryType: promql)`,
	})
	if len(slos) != 1 {
		t.Fatalf("want the threshold objective only, got %v", ids(slos))
	}
	s := slos[0]
	if s.Name != "lat-p99-under-300ms" || s.Period != (slo.Period{Kind: slo.CalendarMonth, TimeZone: "UTC"}) {
		t.Errorf("name %q period %v", s.Name, s.Period)
	}
	want := `avg_over_time(((histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))) > bool 0.3)[{{.window}}:])`
	if s.SLI.Query == nil || s.SLI.Query.ErrorRatio != want {
		t.Errorf("SLI %+v", s.SLI.Query)
	}
	sameLines(t, "validation", messages(slo.Validate(slos, slo.ValidateOptions{}), slo.Error), nil)
}

func TestAccepts(t *testing.T) {
	for v, want := range map[string]bool{"openslo/v1": true, "openslo/v1alpha": true, "openslo/v2alpha": true, "openslo.com/v1": false, "sloth.slok.dev/v1": false, "": false} {
		if Accepts(v, "SLO") != want {
			t.Errorf("Accepts(%q) = %v", v, !want)
		}
	}
}

func TestLabelNameAndSlug(t *testing.T) {
	for in, want := range map[string]string{"env": "env", "cost-centre": "cost_centre", "app.kubernetes.io": "app_kubernetes_io", "1st": "_1st", "Ünï": "_n_"} {
		if got := labelName(in); got != want {
			t.Errorf("labelName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"Good": "good", "Internal objective": "internal-objective", "  p99 < 300ms!": "p99-300ms", "SLA": "sla", "!!": ""} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShorthand(t *testing.T) {
	for in, want := range map[string]time.Duration{"5m": 5 * time.Minute, "1h": time.Hour, "28d": 28 * day, "2w": 14 * day, "1M": 30 * day, "1Q": 90 * day, "1Y": 365 * day, "1h30m": 90 * time.Minute} {
		got, err := parseShorthand(in)
		if err != nil || got.d != want {
			t.Errorf("parseShorthand(%q) = %v, %v; want %v", in, got.d, err, want)
		}
	}
	for _, bad := range []string{"", "1", "d", "1.5d", "-1d", "99999999999999999999Y", "9999999999Y"} {
		if _, err := parseShorthand(bad); err == nil {
			t.Errorf("parseShorthand(%q) succeeded", bad)
		}
	}
}
