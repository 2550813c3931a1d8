package main

import (
	"bytes"
	"context"
	"github.com/slokeeper/slokeeper/dashboards/grafana/grafanatest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "checkout.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: slokeeper.io/v1\nkind: ServiceLevelObjectives\nmetadata: {service: checkout}\nspec:\n  slos:\n  - name: a\n    objective: 99\n    sli: {availability: {gauge: up}}\n  - name: b\n    objective: 100.5\n    sli: {availability: {gauge: up}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantStderr string
	}{
		{"testdata is valid", []string{"validate", "../../testdata/slos"}, 0, "SLO(s) of", ""},
		{"invalid spec", []string{"validate", bad}, 1, "", bad + ":10:16: spec.slos[1].objective: 100.5 is outside (0, 100)"},
		{"missing path", []string{"validate", filepath.Join(dir, "nope")}, 1, "", "nope: cannot read: no such file or directory"},
		{"no path", []string{"validate"}, 1, "", "required argument 'path' not provided"},
		{"unknown command", []string{"frobnicate"}, 1, "", "expected command"},
		{"version", []string{"version"}, 0, "slokeeper, version", ""},
		{"help", []string{"--help"}, 0, "", "validate"},
		{"convert", []string{"convert", "--to", "native", "../../testdata/slos/apps/checkout.yaml"}, 0, "apiVersion: slokeeper.io/v1", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) || !strings.Contains(errs, tc.wantStderr) {
				t.Errorf("code %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

func TestDashboardsPush(t *testing.T) {
	fake := grafanatest.NewServer("sa-token", "")
	defer fake.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("sa-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"dashboards", "push", "--grafana.url", fake.URL, "--grafana.token-file", tokenFile, "../../testdata/slos"}
	code, out, errs := runCLI(t, args...)
	if code != 0 || !strings.Contains(out, "written, 0 unchanged") {
		t.Fatalf("first push: code %d, %q, %q", code, out, errs)
	}
	writes := fake.DashboardWrites()
	code, out, _ = runCLI(t, args...)
	if code != 0 || !strings.Contains(out, " 0 written") || fake.DashboardWrites() != writes {
		t.Errorf("second push must write nothing: %q, writes %d -> %d", out, writes, fake.DashboardWrites())
	}
	// Only the apps now, with --prune: the platform dashboards go.
	apps := []string{"dashboards", "push", "--grafana.url", fake.URL, "--grafana.token-file", tokenFile, "--prune", "../../testdata/slos/apps"}
	dry := append(append([]string{}, apps[:len(apps)-1]...), "--prune.dry-run", apps[len(apps)-1])
	code, out, errs = runCLI(t, dry...)
	if code != 0 || !strings.Contains(out, "would be deleted") || fake.DashboardDeletes() != 0 {
		t.Fatalf("dry run: code %d, %q, %q, %d deletes", code, out, errs, fake.DashboardDeletes())
	}
	code, out, errs = runCLI(t, apps...)
	if code != 0 || !strings.Contains(out, "deleted") || fake.DashboardDeletes() == 0 {
		t.Fatalf("prune: code %d, %q, %q", code, out, errs)
	}
	// A wrong token: exit 1, and the token never printed.
	if err := os.WriteFile(tokenFile, []byte("wrong-secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, args...)
	if code != 1 || strings.Contains(out+errs, "wrong-secret") || !strings.Contains(errs, "401") {
		t.Errorf("bad token: code %d, %q, %q", code, out, errs)
	}
}

func TestGenerateWritesEverything(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, errs := runCLI(t, "generate", "-o", out, "../../testdata/slos")
	if code != 0 {
		t.Fatalf("generate: %d %s %s", code, stdout, errs)
	}
	for _, f := range []string{"rules/slo-checkout.rules.yml", "prometheusrule/slokeeper-checkout.yaml", "mimir/slokeeper-checkout/slo_checkout_alerts.yaml",
		"dashboards/slo-checkout.json", "dashboards/red-catalog.json", "dashboards/slokeeper-overview.json", "dashboards/slokeeper-use-nodes.json", "dashboards/slokeeper-provider.yaml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// Same input, same bytes: a second run writes nothing.
	code, stdout, _ = runCLI(t, "generate", "-o", out, "../../testdata/slos")
	if code != 0 || !strings.Contains(stdout, " 0 file(s) written") {
		t.Errorf("second run: %s", stdout)
	}
	// A file slokeeper no longer generates is removed; others are kept.
	stale := filepath.Join(out, "rules", "slo-gone.rules.yml")
	mine := filepath.Join(out, "README")
	_ = os.WriteFile(stale, []byte("groups: []\n"), 0o644)
	_ = os.WriteFile(mine, []byte("x"), 0o644)
	if code, stdout, _ = runCLI(t, "generate", "-o", out, "../../testdata/slos"); code != 0 || !strings.Contains(stdout, "1 removed") {
		t.Errorf("pruning: %s", stdout)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("a file outside slokeeper's folders was removed")
	}
}
