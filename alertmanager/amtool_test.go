package alertmanager

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/slo"

	"github.com/slokeeper/slokeeper/internal/proctest"
)

const (
	amtoolBin       = "/usr/bin/amtool"
	alertmanagerBin = "/usr/bin/prometheus-alertmanager"
)

// requireBinary skips when a real binary is missing, except in CI (the
// CI environment variable set), where the test fails.
func writeConfig(t *testing.T, slos []slo.SLO, opts Options) string {
	t.Helper()
	files, err := Generate(slos, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "slokeeper.yml")
	if err := os.WriteFile(p, files[0].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func amtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, amtoolBin, args...).CombinedOutput()
	return string(out), err
}

func TestAmtoolCheckConfig(t *testing.T) {
	proctest.RequireBinary(t, amtoolBin, "prometheus-alertmanager")
	cases := []struct {
		name string
		slos []slo.SLO
		opts Options
	}{
		{"testdata", testdataSLOs(t), baseOptions()},
		{"custom tiers", customSLOs(), customOptions()},
		{"no SLOs", nil, baseOptions()},
		{"no channel, keep tickets", testdataSLOs(t), func() Options {
			o := baseOptions()
			o.SlackChannel, o.KeepTicketsWhenBudgetExhausted = "", true
			return o
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.slos, c.opts)
			out, err := amtool(t, "check-config", p)
			if err != nil || !strings.Contains(out, "SUCCESS") {
				t.Fatalf("amtool check-config: %v\n%s", err, out)
			}
			if !strings.Contains(out, "3 receivers") {
				t.Errorf("amtool found other receivers:\n%s", out)
			}
		})
	}
}

// TestAmtoolRoutes routes every alert the rules package generates through
// Alertmanager's own routing code (amtool config routes test).
func TestAmtoolRoutes(t *testing.T) {
	proctest.RequireBinary(t, amtoolBin, "prometheus-alertmanager")
	cases := []struct {
		name  string
		slos  []slo.SLO
		opts  Options
		tiers []slo.Tier
	}{
		{"testdata", testdataSLOs(t), baseOptions(), nil},
		{"custom tiers", customSLOs(), customOptions(), customTiers()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.slos, c.opts)
			check := func(labels map[string]string, want string) {
				args := []string{"config", "routes", "test", "--config.file=" + p, "--verify.receivers=" + want}
				for _, k := range slo.SortedKeys(labels) {
					args = append(args, matcher(k, "=", labels[k]))
				}
				out, err := amtool(t, args...)
				if err != nil {
					t.Errorf("%v: want %s: %v\n%s", labels, want, err, out)
				}
			}
			for _, a := range generatedAlerts(t, c.slos, c.tiers, "x") {
				check(a.labels, wantReceiver(a, []string{"critical"}))
			}
			check(map[string]string{"alertname": "Watchdog"}, ReceiverDeadLetter)
			check(map[string]string{"alertname": "SLOErrorBudgetBurn", "service": "a", "slo": "b", "slo_class": "other"}, ReceiverDeadLetter)
		})
	}
}
