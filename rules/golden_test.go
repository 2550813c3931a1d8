package rules

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/slo"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ptr[T any](v T) *T { return &v }

// testSLOs covers every SLI kind, groupBy, good/total, rolling and calendar
// periods, minEvents, a disabled tier and tier overrides.
func testSLOs() []slo.SLO {
	d28 := slo.Period{Kind: slo.Rolling, Rolling: 28 * 24 * time.Hour}
	return []slo.SLO{
		{
			Service: "checkout", Team: "payments", Name: "availability", Objective: 99.9, Period: d28,
			Labels: map[string]string{"tier_level": "1"},
			SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
				Errors: `http_requests_total{job="checkout",code=~"5.."}`,
				Total:  `http_requests_total{job="checkout"}`,
			}},
			GroupBy: []string{"route"},
			Alerting: slo.Alerting{
				Runbook: "https://runbooks.example.com/checkout/availability",
				Labels:  map[string]string{"component": "api"},
			},
		},
		{
			Service: "checkout", Team: "payments", Name: "latency", Objective: 99, Period: d28,
			SLI: slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{
				Histogram: `http_server_request_duration_seconds{job="checkout"}`, Threshold: 300 * time.Millisecond,
			}},
			Alerting: slo.Alerting{
				MinEvents: 100,
				Tiers:     map[string]slo.TierOverride{slo.TierTicketSlow: {Disabled: ptr(true)}},
			},
		},
		{
			Service: "checkout", Team: "payments", Name: "latency-native", Objective: 99.5,
			Period: slo.Period{Kind: slo.CalendarMonth, TimeZone: "Europe/Berlin"},
			SLI: slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{
				Histogram: `http_server_request_duration_seconds{job="checkout"}`, Threshold: time.Second, Native: true,
			}},
			Alerting: slo.Alerting{
				Name:  "CheckoutLatencyNative",
				Tiers: map[string]slo.TierOverride{slo.TierPageFast: {Severity: ptr("page"), For: ptr(2 * time.Minute)}},
			},
		},
		{
			Service: "search", Name: "success", Objective: 99.5,
			Period: slo.Period{Kind: slo.CalendarMonth},
			SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
				Good:  `grpc_server_handled_total{grpc_service="search",grpc_code="OK"}`,
				Total: `grpc_server_handled_total{grpc_service="search"}`,
			}},
			Alerting: slo.Alerting{Absent: slo.AbsentAlert{For: 30 * time.Minute}, Dashboard: "https://grafana.example.com/d/search"},
		},
		{
			Service: "apiserver", Team: "platform", Name: "up", Objective: 99.95,
			Period:   slo.Period{Kind: slo.Rolling, Rolling: 7 * 24 * time.Hour},
			SLI:      slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: `up{job="apiserver"}`}},
			Alerting: slo.Alerting{BudgetExhausted: slo.SimpleAlert{Disabled: true}},
		},
		{
			Service: "search", Name: "custom-ratio", Objective: 99.5, Period: slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour},
			SLI: slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{
				ErrorRatio: `sum(rate(search_errors_total[{{.window}}])) / sum(rate(search_requests_total[{{.window}}]))`,
			}},
		},
		{
			Service: "search", Name: "custom-counts", Objective: 99, Period: slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour},
			SLI: slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{
				Errors: `sum by (region) (rate(search_errors_total[{{.window}}]))`,
				Total:  `sum by (region) (rate(search_requests_total[{{.window}}]))`,
			}},
			GroupBy:  []string{"region"},
			Alerting: slo.Alerting{Disabled: true},
		},
	}
}

func testOptions() Options {
	return Options{DashboardURL: "https://grafana.example.com/d/slo-{service}-{slo}"}
}

func generateTest(t testing.TB) *Output {
	t.Helper()
	out, err := Generate(testSLOs(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGolden(t *testing.T) {
	out := generateTest(t)
	dir := filepath.Join("testdata", "golden")
	files := map[string][]byte{}
	for _, svc := range out.ServiceNames() {
		b, err := out.MarshalRuleFile(svc)
		if err != nil {
			t.Fatal(err)
		}
		files[RuleFileName(svc)] = b
	}
	pr, err := out.PrometheusRule("checkout", "monitoring", map[string]string{"release": "prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	files["prometheusrule-checkout.yaml"] = pr
	rg, err := out.RulerGroups("search")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rg {
		files["ruler-"+g.Namespace+"-"+strings.ReplaceAll(g.Name, ":", "_")+".yaml"] = g.Body
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range old {
			os.Remove(f)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range files {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (run go test ./rules -update)", err)
		}
		if !bytes.Equal(want, b) {
			t.Errorf("%s differs from the golden file (run go test ./rules -update and review the diff)", name)
		}
	}
	got, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(got) != len(files) {
		t.Errorf("golden dir has %d files, generated %d", len(got), len(files))
	}
}

// TestYAMLRoundTrip decodes every output with gopkg.in/yaml.v3 and
// compares it with the generated structs.
func TestYAMLRoundTrip(t *testing.T) {
	out := generateTest(t)
	for _, svc := range out.ServiceNames() {
		sr, _ := out.Service(svc)
		b, _ := out.MarshalRuleFile(svc)
		var rf ruleFile
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		if !reflect.DeepEqual(rf.Groups, sr.Groups) {
			t.Errorf("%s: rule file does not decode to the generated groups", svc)
		}
		pr, _ := out.PrometheusRule(svc, "ns", map[string]string{"a": "b"})
		var obj struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name, Namespace string
				Labels          map[string]string
			}
			Spec ruleFile
		}
		if err := yaml.Unmarshal(pr, &obj); err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		if obj.Kind != "PrometheusRule" || obj.Metadata.Namespace != "ns" || obj.Metadata.Labels["a"] != "b" || !reflect.DeepEqual(obj.Spec.Groups, sr.Groups) {
			t.Errorf("%s: PrometheusRule does not decode to the generated groups", svc)
		}
		rg, _ := out.RulerGroups(svc)
		for i, g := range rg {
			var dg RuleGroup
			if err := yaml.Unmarshal(g.Body, &dg); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dg, sr.Groups[i]) {
				t.Errorf("%s: ruler body %s does not decode to the group", svc, g.Name)
			}
		}
	}
	// Scalars that need quoting.
	for _, s := range []string{"", "yes", "1", "1.5", "a: b", "x:", "it's", "#c", "- x", "a\nb", "\x01", " pad ", "2024-01-01", "{{ $value }}", "5m", "https://x.example/a?b=c#d"} {
		b := appendKV(nil, "", "k", s)
		var m map[string]string
		if err := yaml.Unmarshal(b, &m); err != nil || m["k"] != s {
			t.Errorf("scalar %q: wrote %q, decoded %q (%v)", s, b, m["k"], err)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := generateTest(t), generateTest(t)
	for _, svc := range a.ServiceNames() {
		x, _ := a.MarshalRuleFile(svc)
		y, _ := b.MarshalRuleFile(svc)
		if !bytes.Equal(x, y) {
			t.Fatalf("service %s: output differs between runs", svc)
		}
	}
}

func TestRulefmt(t *testing.T) {
	out := generateTest(t)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for _, svc := range out.ServiceNames() {
		b, _ := out.MarshalRuleFile(svc)
		for _, scheme := range []model.ValidationScheme{model.LegacyValidation, model.UTF8Validation} {
			_, errs := rulefmt.Parse(b, false, scheme, parser.NewParser(parser.Options{}), logger)
			for _, e := range errs {
				t.Errorf("%s (%v): %v", svc, scheme, e)
			}
		}
	}
}

// promtool returns the path of Debian's promtool (2.42), installing it with
// apt-get when running as root, or skips when not in CI.
func promtool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		cmd := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Logf("installing prometheus with apt-get: %v\n%s", err, b)
		}
		if p, err := exec.LookPath("promtool"); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("promtool not found (Debian package prometheus); skipping outside CI")
	}
	t.Fatal("promtool not found and could not be installed")
	return ""
}

func TestPromtoolCheckRules(t *testing.T) {
	pt := promtool(t)
	out := generateTest(t)
	dir := t.TempDir()
	var files []string
	for _, svc := range out.ServiceNames() {
		b, _ := out.MarshalRuleFile(svc)
		f := filepath.Join(dir, RuleFileName(svc))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	cmd := exec.Command(pt, append([]string{"check", "rules"}, files...)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, b)
	}
	t.Logf("%s", b)
}

// TestGeneratedLabelsAreReserved: every label the generator writes is one
// slo.Validate refuses in a user's groupBy or labels, so they never collide.
func TestGeneratedLabelsAreReserved(t *testing.T) {
	for _, l := range []string{LabelSLO, LabelService, LabelTeam, LabelWindow, LabelSeverity, LabelTier, LabelClass,
		LabelLongWindow, LabelShortWindow, LabelBurnFactor, LabelSLIKind, LabelPeriod, LabelObjective, LabelTimeZone} {
		if !slo.IsReservedLabel(l) {
			t.Errorf("generated label %q is not reserved", l)
		}
	}
}
