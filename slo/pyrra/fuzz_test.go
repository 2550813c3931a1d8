package pyrra

import (
	"testing"

	"github.com/slokeeper/slokeeper/internal/importtest"
	"github.com/slokeeper/slokeeper/slo"
)

// FuzzImport feeds arbitrary files to the importer: it must never panic,
// and every problem must carry a position and fit on one line.
func FuzzImport(f *testing.F) {
	importtest.SeedPeers(f, "pyrra/specs", "bench/specs/pyrra")
	for _, seed := range []string{
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x, labels: {pyrra.dev/service: s, pyrra.dev/a: b}}\nspec: {target: 99, window: 2w, indicator: {latency: {success: {metric: 'a_bucket{le=\"0.1\",x=~\"y\"}'}, total: {metric: 'a_count{x=~\"y\"}'}}}, alerting: {burnrates: false, severities: {fastBurn: p}}}\n",
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: {name: x}\nspec: {target: '1e400', window: 9999999999y, indicator: {latency: {success: {metric: '{\"a.b_bucket\",le=\"1e-10\"}'}, total: {metric: '{__name__=~\"x\"}'}}}}\n",
		"apiVersion: pyrra.dev/v1alpha1\nkind: ServiceLevelObjective\nmetadata: &m {name: *m}\nspec: {target: .nan, window: 0s, indicator: {latencyNative: {latency: -1s, total: {metric: h}}, bool_gauge: {metric: up}}}\n",
		"- apiVersion: pyrra.dev/v1alpha1\n  kind: ServiceLevelObjective\n- apiVersion: pyrra.dev/v1\n  kind: ServiceLevelObjective\n",
	} {
		f.Add([]byte(seed))
	}
	imp := importtest.Importer{Accepts: Accepts, Import: Import}
	f.Fuzz(func(t *testing.T, data []byte) {
		slos, ps := imp.Load("f.yaml", data)
		importtest.CheckFuzzResult(t, "f.yaml", slo.FormatPyrra, slos, ps)
	})
}
