package pyrra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// FuzzImport feeds arbitrary files to the importer: it must never panic,
// and every problem must carry a position and fit on one line.
func FuzzImport(f *testing.F) {
	for _, dir := range []string{"pyrra/specs", "bench/specs/pyrra"} {
		files, _ := filepath.Glob(filepath.Join(peersDir, dir, "*.yaml"))
		for _, name := range files {
			if data, err := os.ReadFile(name); err == nil {
				f.Add(data)
			}
		}
	}
	for _, seed := range []string{
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x, labels: {pyrra.dev/service: s, pyrra.dev/a: b}}\nspec: {target: 99, window: 2w, indicator: {latency: {success: {metric: 'a_bucket{le=\"0.1\",x=~\"y\"}'}, total: {metric: 'a_count{x=~\"y\"}'}}}, alerting: {burnrates: false, severities: {fastBurn: p}}}\n",
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x}\nspec: {target: '1e400', window: 9999999999y, indicator: {latency: {success: {metric: '{\"a.b_bucket\",le=\"1e-10\"}'}, total: {metric: '{__name__=~\"x\"}'}}}}\n",
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: &m {name: *m}\nspec: {target: .nan, window: 0s, indicator: {latencyNative: {latency: -1s, total: {metric: h}}, bool_gauge: {metric: up}}}\n",
		"- apiVersion: pyrra.dev/v1alpha1\n  kind: ServiceLevelObjective\n- apiVersion: pyrra.dev/v1\n  kind: ServiceLevelObjective\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := ynode.ParseFile("f.yaml", data)
		var mine []ynode.Doc
		for _, d := range docs {
			if Accepts(d.APIVersion, d.Kind) {
				mine = append(mine, d)
			}
		}
		var ps slo.Problems
		slos := Import(mine, &ps)
		for _, p := range ps {
			if p.Pos.File != "f.yaml" || p.Pos.Line <= 0 {
				t.Errorf("problem without a position: %s", p)
			}
			if strings.ContainsAny(p.Message, "\n\r") {
				t.Errorf("problem on several lines: %q", p.Message)
			}
		}
		for _, s := range slos {
			if s.Source.Format != slo.FormatPyrra || s.Positions[slo.FieldSLO].Line <= 0 {
				t.Errorf("SLO without source: %+v", s.Source)
			}
		}
		_ = slo.Validate(slos, slo.ValidateOptions{})
	})
}
