package sloth

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
	for _, dir := range []string{"sloth/specs", "sloth/windows", "bench/specs/sloth"} {
		for _, ext := range []string{"*.yml", "*.yaml"} {
			files, _ := filepath.Glob(filepath.Join(peersDir, dir, ext))
			for _, name := range files {
				if data, err := os.ReadFile(name); err == nil {
					f.Add(data)
				}
			}
		}
	}
	for _, seed := range []string{
		"version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli: {plugin: {id: x, options: {a: b}}}\n",
		"version: prometheus/v1\nservice: s\nlabels: {team: t}\nslos: [{name: a, objective: 99, sli: {events: {error_query: e, errorQuery: e}}, alerting: {labels: {severity: x}, page_alert: {disable: true}, ticketAlert: {disable: true}}}]\n",
		"apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x}\nspec: {service: s, sloPlugins: {overridePrevious: true, chain: [{id: sloth.dev/core/debug/v1}]}, slos: [{name: a, objective: 99, sli: {raw: {errorRatioQuery: q}}, plugins: {chain: []}}]}\n",
		"apiVersion: sloth.slok.dev/v1\nkind: AlertWindows\nspec: {sloPeriod: &p 7d, page: *p}\n",
		"- version: prometheus/v1\n  service: &s s\n  slos: [{name: *s, objective: .inf, sli: {raw: {error_ratio_query: [q]}}}]\n- apiVersion: sloth.slok.dev/v1\n",
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
			if s.Source.Format != slo.FormatSloth || s.Positions[slo.FieldSLO].Line <= 0 {
				t.Errorf("SLO without source: %+v", s.Source)
			}
		}
		_ = slo.Validate(slos, slo.ValidateOptions{})
	})
}
