package pyrra

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/internal/importtest"
	"github.com/slokeeper/slokeeper/slo"
)

const peersDir = importtest.PeersDir

// load parses one file and imports the documents Accepts takes.
func load(_ testing.TB, name string, data []byte) ([]slo.SLO, slo.Problems) {
	return importtest.Importer{Accepts: Accepts, Import: Import}.Load(name, data)
}

func loadFile(t *testing.T, path string) ([]slo.SLO, slo.Problems) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return load(t, filepath.Base(path), data)
}

func peerFiles(t testing.TB) []string {
	t.Helper()
	return importtest.PeerFiles(t, "pyrra/specs", "bench/specs/pyrra")
}

func peerFile(t *testing.T, rel string) string {
	t.Helper()
	path := filepath.Join(peersDir, rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("peer spec %s is absent: %v", rel, err)
	}
	return path
}

// validationExpected lists the validation errors peer files are meant to
// get: Pyrra's connect examples group by a metric label named `service`,
// which slokeeper's own series carry.
var validationExpected = map[string]string{
	"pyrra-connect-errors.yaml":  `label "service"`,
	"pyrra-connect-latency.yaml": `label "service"`,
}

// TestPeerSpecs imports every Pyrra example: each loads without a problem.
func TestPeerSpecs(t *testing.T) {
	for _, path := range peerFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			slos, ps := loadFile(t, path)
			if len(ps) != 0 {
				t.Fatalf("problems:\n%v", ps)
			}
			if len(slos) == 0 {
				t.Fatal("no SLO imported")
			}
			for _, s := range slos {
				if s.Source.Format != slo.FormatPyrra || s.Source.File != name || s.Source.Line == 0 {
					t.Errorf("%s: bad source %+v", s.ID(), s.Source)
				}
				for _, f := range []slo.Field{slo.FieldSLO, slo.FieldName, slo.FieldService, slo.FieldObjective, slo.FieldPeriod, slo.FieldSLI} {
					if p, ok := s.Positions[f]; !ok || p.Line == 0 {
						t.Errorf("%s: no position for %s", s.ID(), f)
					}
				}
			}
			for _, p := range slo.Validate(slos, slo.ValidateOptions{}) {
				if p.Severity == slo.Error && !(validationExpected[name] != "" && strings.Contains(p.Message, validationExpected[name])) {
					t.Errorf("validation: %s", p)
				}
			}
		})
	}
}

func one(t *testing.T, rel string) slo.SLO {
	t.Helper()
	slos, ps := loadFile(t, peerFile(t, rel))
	if len(ps) != 0 || len(slos) != 1 {
		t.Fatalf("%s: got %d SLOs, problems:\n%v", rel, len(slos), ps)
	}
	return slos[0]
}

func strip(s slo.SLO) slo.SLO {
	s.Source = slo.Source{}
	s.Positions = nil
	return s
}

func TestPeerFieldValues(t *testing.T) {
	str := func(v string) *string { return &v }
	day := 24 * time.Hour
	for _, tc := range []struct {
		file string
		want slo.SLO
	}{
		{
			file: "pyrra/specs/pyrra-api-errors.yaml",
			want: slo.SLO{
				Service: "monitoring", Team: "operations", Name: "pyrra-api-errors",
				Description: "Pyrra's API requests and response errors over time grouped by route.",
				Objective:   99,
				Period:      slo.Period{Kind: slo.Rolling, Rolling: 14 * day},
				SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
					Errors: `http_requests_total{job="pyrra",code=~"5.."}`,
					Total:  `http_requests_total{job="pyrra"}`,
				}},
				GroupBy: []string{"route"},
			},
		},
		{
			file: "pyrra/specs/pyrra-api-errors-perf.yaml",
			want: slo.SLO{
				Service: "monitoring", Team: "operations", Name: "pyrra-api-errors-perf",
				Description: "Pyrra's API requests and response errors over time grouped by route.",
				Objective:   99,
				Period:      slo.Period{Kind: slo.Rolling, Rolling: 28 * day},
				SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
					Errors: `http_requests_total{job="pyrra",code=~"5.."}`,
					Total:  `http_requests_total{job="pyrra"}`,
				}},
				GroupBy: []string{"route"},
				Alerting: slo.Alerting{
					Name: "PyrraBudgetBurn",
					Tiers: map[string]slo.TierOverride{
						slo.TierPageFast:   {Severity: str("page")},
						slo.TierPageSlow:   {Severity: str("page")},
						slo.TierTicketFast: {Severity: str("ticket")},
						slo.TierTicketSlow: {Severity: str("ticket")},
					},
				},
			},
		},
		{
			file: "pyrra/specs/caddy-response-latency.yaml",
			want: slo.SLO{
				Service: "caddy-response-latency", Name: "caddy-response-latency",
				Description: "We want our demo to be fast and therefore we want 90% of our responses to be faster than 50ms as seen by Caddy.",
				Objective:   90,
				Period:      slo.Period{Kind: slo.Rolling, Rolling: 28 * day},
				SLI: slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{
					Histogram: `caddy_http_response_duration_seconds{code!~"5..",handler="subroute",job="caddy"}`,
					Threshold: 50 * time.Millisecond,
				}},
			},
		},
		{
			file: "pyrra/specs/kubernetes__manifests__slos__slo-apiserver-read-resource-latency.yaml",
			want: slo.SLO{
				Service: "monitoring", Name: "apiserver-read-resource-latency",
				Objective: 99,
				Period:    slo.Period{Kind: slo.Rolling, Rolling: 14 * day},
				SLI: slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{
					Histogram: `apiserver_request_sli_duration_seconds{verb=~"LIST|GET"}`,
					Threshold: 100 * time.Millisecond,
				}},
			},
		},
		{
			file: "pyrra/specs/pyrra-connect-latency.yaml",
			want: slo.SLO{
				Service: "monitoring", Name: "pyrra-connect-latency",
				Description: "Pyrra serves API requests with connect-go either via gRPC or HTTP.",
				Objective:   99,
				Period:      slo.Period{Kind: slo.Rolling, Rolling: 14 * day},
				SLI: slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{
					Histogram: `connect_server_requests_duration_seconds{job="pyrra",code="ok"}`,
					Threshold: 200 * time.Millisecond,
					Native:    true,
				}},
				GroupBy: []string{"service", "method"},
			},
		},
		{
			file: "pyrra/specs/prometheus-probe-success.yaml",
			want: slo.SLO{
				Service: "prometheus-blackbox-probe-success", Name: "prometheus-blackbox-probe-success",
				Objective: 99,
				Period:    slo.Period{Kind: slo.Rolling, Rolling: 7 * day},
				SLI:       slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: "probe_success"}},
				GroupBy:   []string{"target"},
			},
		},
		{
			file: "pyrra/specs/parca-grpc-queryrange-errors.yaml",
			want: slo.SLO{
				Service: "parca", Team: "parca", Name: "parca-grpc-queryrange-errors",
				Objective: 99,
				Period:    slo.Period{Kind: slo.Rolling, Rolling: 14 * day},
				SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
					Errors: `grpc_server_handled_total{grpc_service="parca.query.v1alpha1.QueryService",grpc_method="QueryRange",grpc_code=~"Aborted|Unavailable|Internal|Unknown|Unimplemented|DataLoss"}`,
					Total:  `grpc_server_handled_total{grpc_service="parca.query.v1alpha1.QueryService",grpc_method="QueryRange"}`,
				}},
			},
		},
		{
			file: "bench/specs/pyrra/bench-s07.yaml",
			want: slo.SLO{
				Service: "bench", Team: "bench", Name: "bench-s07-availability",
				Objective: 99.9,
				Period:    slo.Period{Kind: slo.Rolling, Rolling: 30 * day},
				SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
					Errors: `bench_requests_total{shard="s07",code=~"5.."}`,
					Total:  `bench_requests_total{shard="s07"}`,
				}},
			},
		},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			if got := strip(one(t, tc.file)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestMultiDocument(t *testing.T) {
	slos, ps := loadFile(t, peerFile(t, "pyrra/specs/nginx-multi-document.yaml"))
	if len(ps) != 0 || len(slos) != 2 {
		t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
	}
	l := slos[1].SLI.Latency
	want := &slo.LatencySLI{
		Histogram: `nginx_ingress_controller_request_duration_seconds{ingress="lastfm",namespace="lastfm",service="lastfm",status=~"5.."}`,
		Threshold: time.Second,
		// The total does not match the success metric's status=~"5..": it
		// is not the histogram's own count and is kept.
		Total: `nginx_ingress_controller_request_duration_seconds_count{ingress="lastfm",namespace="lastfm",service="lastfm"}`,
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("got  %+v\nwant %+v", l, want)
	}
	for i, line := range []int{1, 20} {
		if p := slos[i].Positions[slo.FieldSLO]; p.Line != line {
			t.Errorf("SLO %d at line %d, want %d", i, p.Line, line)
		}
	}
	if p := slos[1].Positions[slo.FieldThreshold]; p.Line != 31 || p.Path != "spec.indicator.latency.success.metric" {
		t.Errorf("threshold position %+v", p)
	}
}

func TestPositions(t *testing.T) {
	s := one(t, "pyrra/specs/prometheus-http.yaml")
	for f, at := range map[slo.Field]string{
		slo.FieldSLO:       "1:1 ",
		slo.FieldName:      "4:9 metadata.name",
		slo.FieldService:   "4:9 metadata.name",
		slo.FieldObjective: "9:11 spec.target",
		slo.FieldPeriod:    "10:11 spec.window",
		slo.FieldSLI:       "12:5 spec.indicator",
		slo.FieldErrors:    "14:17 spec.indicator.ratio.errors.metric",
		slo.FieldTotal:     "16:17 spec.indicator.ratio.total.metric",
		slo.FieldGroupBy:   "18:9 spec.indicator.ratio.grouping",
	} {
		p := s.Positions[f]
		if got := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) + " " + p.Path; got != at || p.File != "prometheus-http.yaml" {
			t.Errorf("position of %s: got %s in %q, want %s", f, got, p.File, at)
		}
	}
}

func TestMapping(t *testing.T) {
	slos, ps := load(t, "m.yaml", []byte(`apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: api-latency
  namespace: shop
  uid: 1234
  labels:
    pyrra.dev/service: checkout
    pyrra.dev/team: payments
    pyrra.dev/tier: "1"
    team: ignored
    prometheus: k8s
  annotations:
    pyrra.dev/runbook: https://runbooks/x
    kubectl.kubernetes.io/last-applied-configuration: "{}"
spec:
  target: 99.5
  window: 4w
  performanceOverAccuracy: false
  indicator:
    latency:
      success:
        metric: http_request_duration_seconds_bucket{le="0.25", job="api", code!~"5.."}
      total:
        metric: http_request_duration_seconds_count{code!~"5..",job="api"}
      grouping: [route]
  alerting:
    disabled: false
    burnrates: false
    absent: false
    severities: {absent: warning}
status: {type: PrometheusRule}
`))
	if len(ps) != 0 || len(slos) != 1 {
		t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
	}
	s := slos[0]
	if s.Service != "checkout" || s.Team != "payments" || s.Objective != 99.5 || s.Period.Rolling != 28*24*time.Hour {
		t.Errorf("service %q, team %q, objective %v, period %v", s.Service, s.Team, s.Objective, s.Period)
	}
	if !reflect.DeepEqual(s.Labels, map[string]string{"tier": "1"}) || !reflect.DeepEqual(s.Annotations, map[string]string{"runbook": "https://runbooks/x"}) {
		t.Errorf("labels %v, annotations %v", s.Labels, s.Annotations)
	}
	want := &slo.LatencySLI{Histogram: `http_request_duration_seconds{code!~"5..",job="api"}`, Threshold: 250 * time.Millisecond}
	if !reflect.DeepEqual(s.SLI.Latency, want) {
		t.Errorf("latency %+v, want %+v (the total is the histogram's own count)", s.SLI.Latency, want)
	}
	if p := s.Positions[slo.FieldService]; p.Line != 8 || p.Col != 24 || p.Path != "metadata.labels.pyrra.dev/service" {
		t.Errorf("service position %+v", p)
	}
	a := s.Alerting
	if a.Disabled || !a.Absent.Disabled || a.Absent.Severity != "warning" {
		t.Errorf("alerting %+v", a)
	}
	for _, tier := range slo.TierNames() {
		if o := a.Tiers[tier]; o.Disabled == nil || !*o.Disabled {
			t.Errorf("tier %s not disabled by burnrates: false", tier)
		}
	}
}

func TestLatencyMapping(t *testing.T) {
	doc := func(success, total string) string {
		return "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x}\nspec:\n  target: '99'\n  window: 28d\n  indicator:\n    latency:\n      success: {metric: '" + success + "'}\n      total: {metric: '" + total + "'}\n"
	}
	for _, tc := range []struct {
		name, success, total string
		want                 *slo.LatencySLI
		problem              string
	}{
		{
			name: "count with same matchers in another order", success: `a_bucket{x="1",le="0.3",y=~"z"}`, total: `a_count{y=~"z",x="1"}`,
			want: &slo.LatencySLI{Histogram: `a{x="1",y=~"z"}`, Threshold: 300 * time.Millisecond},
		},
		{
			name: "other total", success: `a_bucket{le="2.5"}`, total: `requests_total{job="j"}`,
			want: &slo.LatencySLI{Histogram: `a`, Threshold: 2500 * time.Millisecond, Total: `requests_total{job="j"}`},
		},
		{
			name: "le with trailing zero", success: `a_bucket{le="1.0"}`, total: `a_count`,
			want: &slo.LatencySLI{Histogram: `a`, Threshold: time.Second},
		},
		{
			name: "quoted UTF-8 name", success: `{"my.metric_bucket", le="0.1"}`, total: `{"my.metric_count"}`,
			want: &slo.LatencySLI{Histogram: `{__name__="my.metric"}`, Threshold: 100 * time.Millisecond},
		},
		{
			name: "not a bucket", success: `a_count{le="0.3"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: the success metric a_count is not a histogram's _bucket series: slokeeper reads a classic histogram's _bucket and _count series (for a native histogram use latencyNative)`,
		},
		{
			name: "no le", success: `a_bucket{job="j"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: the success metric has no le matcher: give the latency threshold as le="<seconds>", e.g. le="0.3"`,
		},
		{
			name: "le regexp", success: `a_bucket{le=~"0.3|0.30"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: the success metric matches le with =~: match one bucket with le="<seconds>"`,
		},
		{
			name: "le not a number", success: `a_bucket{le="fast"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: le="fast" is not a number of seconds`,
		},
		{
			name: "le infinite", success: `a_bucket{le="+Inf"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: le="+Inf" is not a usable latency threshold: it must be a positive, finite number of seconds`,
		},
		{
			name: "no name", success: `{job="j",le="1"}`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: the success metric must select one histogram's _bucket series by name, e.g. http_request_duration_seconds_bucket{le="0.3"}`,
		},
		{
			name: "invalid success", success: `rate(a_bucket{le="1"}[5m])`, total: `a_count`,
			problem: `f.yaml:9:25: spec.indicator.latency.success.metric: invalid PromQL selector "rate(a_bucket{le=\"1\"}[5m])": `,
		},
		{
			name: "invalid total", success: `a_bucket{le="1"}`, total: `a_count{`,
			problem: `f.yaml:10:23: spec.indicator.latency.total.metric: invalid PromQL selector "a_count{": `,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slos, ps := load(t, "f.yaml", []byte(doc(tc.success, tc.total)))
			if tc.problem != "" {
				if len(ps) != 1 || !strings.HasPrefix(ps[0].String(), tc.problem) || len(slos) != 0 {
					t.Errorf("got %d SLOs, problems %q\nwant one problem starting %q", len(slos), ps, tc.problem)
				}
				return
			}
			if len(ps) != 0 || len(slos) != 1 {
				t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
			}
			if got := slos[0].SLI.Latency; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestProblems checks bad input: every problem, exactly, with its position.
func TestProblems(t *testing.T) {
	const head = "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x, namespace: n}\n"
	for _, tc := range []struct {
		name, in string
		want     []string
		slos     int
	}{
		{
			name: "missing target",
			in:   head + "spec:\n  window: 28d\n  indicator: {bool_gauge: {metric: up}}\n",
			want: []string{`f.yaml:5:3: spec.target: required field is missing`},
		},
		{
			name: "target not a number",
			in:   head + "spec:\n  target: high\n  window: 28d\n  indicator: {bool_gauge: {metric: up}}\n",
			want: []string{`f.yaml:5:11: spec.target: expected a finite number, got "high"`},
		},
		{
			name: "target as a ratio",
			in:   head + "spec:\n  target: '0.999'\n  window: 28d\n  indicator: {bool_gauge: {metric: up}}\n",
			want: []string{`f.yaml:5:11: warning: spec.target: target 0.999 is a percentage: did you mean 99.9?`},
			slos: 1,
		},
		{
			name: "bad window",
			in:   head + "spec:\n  target: '99'\n  window: 4 weeks\n  indicator: {bool_gauge: {metric: up}}\n",
			want: []string{`f.yaml:6:11: spec.window: invalid duration "4 weeks": use a number and a unit (ms, s, m, h, d, w, y), e.g. 5m or 28d`},
		},
		{
			name: "unknown field",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicatr: {}\n  indicator: {bool_gauge: {metric: up, groupin: [a]}}\n",
			want: []string{
				`f.yaml:8:40: spec.indicator.bool_gauge.groupin: unknown field "groupin" (did you mean "grouping"?)`,
				`f.yaml:7:3: spec.indicatr: unknown field "indicatr" (did you mean "indicator"?)`,
			},
			slos: 1,
		},
		{
			name: "two indicators",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicator:\n    ratio: {errors: {metric: a}, total: {metric: b}}\n    bool_gauge: {metric: up}\n",
			want: []string{`f.yaml:9:17: spec.indicator.bool_gauge: only one indicator per SLO: found ratio and bool_gauge`},
		},
		{
			name: "no indicator",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicator: {}\n",
			want: []string{`f.yaml:7:14: spec.indicator: one of ratio, latency, latencyNative or bool_gauge is required`},
		},
		{
			name: "missing errors metric",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicator:\n    ratio: {errors: {}, total: {metric: b}, grouping: route}\n",
			want: []string{
				`f.yaml:8:21: spec.indicator.ratio.errors.metric: required field is missing`,
				`f.yaml:8:55: spec.indicator.ratio.grouping: expected a list, got the string "route"`,
			},
		},
		{
			name: "wrong types in alerting",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicator: {bool_gauge: {metric: up}}\n  alerting: {burnrates: 'no', severities: {fastBurn: [a], slowBrn: b}, absentName: Gone}\n",
			want: []string{
				`f.yaml:8:25: spec.alerting.burnrates: expected a boolean (true or false), got the string "no"`,
				`f.yaml:8:84: warning: spec.alerting.absentName: ignored: slokeeper names the absent-data alert itself`,
				`f.yaml:8:54: spec.alerting.severities.fastBurn: expected a string, got a list`,
				`f.yaml:8:59: spec.alerting.severities.slowBrn: unknown field "slowBrn" (did you mean "slowBurn"?)`,
			},
			slos: 1,
		},
		{
			name: "missing metadata name",
			in:   "apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {namespace: n, labels: {a: [b]}}\nspec: {target: '99', window: 28d, indicator: {bool_gauge: {metric: up}}}\n",
			want: []string{
				`f.yaml:3:11: metadata.name: required field is missing`,
				`f.yaml:3:38: metadata.labels.a: expected a string, got a list`,
			},
		},
		{
			name: "wrong kind",
			in:   "apiVersion: pyrra.dev/v1alpha1\nkind: SLO\n",
			want: []string{`f.yaml:2:7: kind: unsupported kind "SLO" for pyrra.dev/v1alpha1: expected "ServiceLevelObjective"`},
		},
		{
			name: "missing kind",
			in:   "apiVersion: pyrra.dev/v1alpha1\nmetadata: {name: x}\n",
			want: []string{`f.yaml:1:1: kind: kind is required: ServiceLevelObjective`},
		},
		{
			name: "wrong version",
			in:   "apiVersion: pyrra.dev/v1\nkind: ServiceLevelObjective\n",
			want: []string{`f.yaml:1:13: apiVersion: unsupported Pyrra apiVersion "pyrra.dev/v1": expected "pyrra.dev/v1alpha1"`},
		},
		{
			name: "spec not a mapping",
			in:   head + "spec: [a]\n",
			want: []string{`f.yaml:4:7: spec: expected a mapping, got a list`},
		},
		{
			name: "native latency without latency",
			in:   head + "spec:\n  target: '99'\n  window: 28d\n  indicator:\n    latencyNative: {total: {metric: h}}\n",
			want: []string{`f.yaml:8:20: spec.indicator.latencyNative.latency: required field is missing`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slos, ps := load(t, "f.yaml", []byte(tc.in))
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
			if len(slos) != tc.slos {
				t.Errorf("got %d SLOs, want %d", len(slos), tc.slos)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		apiVersion string
		want       bool
	}{
		{"pyrra.dev/v1alpha1", true},
		{"pyrra.dev/v1", true},
		{"sloth.slok.dev/v1", false},
		{"openslo/v1", false},
		{"", false},
	} {
		if got := Accepts(tc.apiVersion, Kind); got != tc.want {
			t.Errorf("Accepts(%q) = %v", tc.apiVersion, got)
		}
	}
}
