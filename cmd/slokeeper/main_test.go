package main

import (
	"bytes"
	"context"
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
