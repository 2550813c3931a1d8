package rules

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// promtoolUnitTest is a Prometheus 2.42 `promtool test rules` file for the
// rules of simSLO (30d, 99.9%). promtool evaluates every group at the test's
// evaluation_interval, so it is 5m (the long group's interval: the hourly
// tiles rely on it). Traffic is 10 requests/s; at 60m every request starts
// failing.
const promtoolUnitTest = `rule_files: [rules.yml]
evaluation_interval: 5m
tests:
  - name: 100% errors page within minutes
    interval: 1m
    input_series:
      - series: 'http_requests_total{job="sim", code="200"}'
        values: '0+600x60 36000+0x119'
      - series: 'http_requests_total{job="sim", code="500"}'
        values: '0+0x60 600+600x119'
    promql_expr_test:
      - expr: count by (slo_tier) (ALERTS{alertname="SLOErrorBudgetBurn", alertstate="firing"})
        eval_time: 60m
        exp_samples: []
      - expr: slo:error_budget:remaining
        eval_time: 60m
        exp_samples:
          - labels: 'slo:error_budget:remaining{service="sim", slo="avail"}'
            value: 1
      - expr: slo:sli_error:ratio{slo_window="5m"} > bool 0.99
        eval_time: 70m
        exp_samples:
          - labels: '{service="sim", slo="avail", slo_window="5m"}'
            value: 1
      # Exact at the leading edge: 10 of the last 60 minutes failed (the
      # 5m samples at 65m and 70m), 1/6; and 10 of the 70 minutes since the
      # start for the tiled 1d window (tile at 55m, tail since), 1/7; both
      # up to float rounding. Averaging the 5m samples would give 2/13.
      - expr: slo:sli_error:ratio{slo_window=~"1h|1d"}
        eval_time: 70m
        exp_samples:
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="1h"}'
            value: 0.16666666666666669
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="1d"}'
            value: 0.14285714285714282
      - expr: count by (slo_tier, severity) (ALERTS{alertname="SLOErrorBudgetBurn", alertstate="firing", slo_tier="page-fast"})
        eval_time: 70m
        exp_samples:
          - labels: '{slo_tier="page-fast", severity="critical"}'
            value: 1
  - name: zero traffic records 0, not NaN
    interval: 1m
    input_series:
      - series: 'http_requests_total{job="sim", code="200"}'
        values: '0+0x180'
      - series: 'http_requests_total{job="sim", code="500"}'
        values: '0+0x180'
    promql_expr_test:
      - expr: slo:sli_error:ratio{slo_window=~"5m|1h|1d|period"}
        eval_time: 150m
        exp_samples:
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="5m"}'
            value: 0
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="1h"}'
            value: 0
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="1d"}'
            value: 0
          - labels: 'slo:sli_error:ratio{service="sim", slo="avail", slo_window="period"}'
            value: 0
      - expr: slo:error_budget:remaining
        eval_time: 150m
        exp_samples:
          - labels: 'slo:error_budget:remaining{service="sim", slo="avail"}'
            value: 1
      - expr: ALERTS{alertname="SLOErrorBudgetBurn"}
        eval_time: 150m
        exp_samples: []
`

func TestPromtoolTestRules(t *testing.T) {
	pt := promtool(t)
	out, err := Generate([]slo.SLO{simSLO(slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour}, 99.9)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := out.MarshalRuleFile("sim")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.yml"), []byte(promtoolUnitTest), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pt, "test", "rules", "test.yml")
	cmd.Dir = dir
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, res)
	}
	t.Logf("%s", res)
}
