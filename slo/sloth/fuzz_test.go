package sloth

import (
	"testing"

	"github.com/slokeeper/slokeeper/internal/importtest"
	"github.com/slokeeper/slokeeper/slo"
)

// FuzzImport feeds arbitrary files to the importer: it must never panic,
// and every problem must carry a position and fit on one line.
func FuzzImport(f *testing.F) {
	importtest.SeedPeers(f, "sloth/specs", "sloth/windows", "bench/specs/sloth")
	for _, seed := range []string{
		"version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli: {plugin: {id: x, options: {a: b}}}\n",
		"version: prometheus/v1\nservice: s\nlabels: {team: t}\nslos: [{name: a, objective: 99, sli: {events: {error_query: e, errorQuery: e}}, alerting: {labels: {severity: x}, page_alert: {disable: true}, ticketAlert: {disable: true}}}]\n",
		"apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x}\nspec: {service: s, sloPlugins: {overridePrevious: true, chain: [{id: sloth.dev/core/debug/v1}]}, slos: [{name: a, objective: 99, sli: {raw: {errorRatioQuery: q}}, plugins: {chain: []}}]}\n",
		"apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec: {sloPeriod: &p 7d, page: *p}\n",
		"- version: prometheus/v1\n  service: &s s\n  slos: [{name: *s, objective: .inf, sli: {raw: {error_ratio_query: [q]}}}]\n- apiVersion: sloth.slok.dev/v1\n",
	} {
		f.Add([]byte(seed))
	}
	imp := importtest.Importer{Accepts: Accepts, Import: Import}
	f.Fuzz(func(t *testing.T, data []byte) {
		slos, ps := imp.Load("f.yaml", data)
		importtest.CheckFuzzResult(t, "f.yaml", slo.FormatSloth, slos, ps)
	})
}
