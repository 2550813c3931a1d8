package openslo

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// fileBreak splits a fuzz input into two files, so that references across
// files are exercised too.
var fileBreak = []byte("\n#--file--\n")

func FuzzImport(f *testing.F) {
	dir := filepath.Join("..", "..", "..", "shared", "peers")
	a, _ := filepath.Glob(filepath.Join(dir, "openslo", "v1", "*.yaml"))
	b, _ := filepath.Glob(filepath.Join(dir, "sloth", "specs", "openslo-*.yml"))
	for _, name := range append(a, b...) {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	names := make([]string, 0, len(fixture))
	for n := range fixture {
		names = append(names, n)
	}
	sort.Strings(names)
	f.Add([]byte(fixture[names[0]] + string(fileBreak) + fixture[names[1]]))
	for _, seed := range []string{
		"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\nspec: {service: s, indicatorRef: i, budgetingMethod: Occurrences, objectives: [{target: 0.9}], alertPolicies: [p, {alertPolicyRef: q}]}\n",
		"- apiVersion: openslo/v1\n  kind: SLI\n  metadata: {name: i}\n  spec: {thresholdMetric: {metricSource: {metricSourceRef: d, spec: {query: 'x offset 1m'}}}}\n- apiVersion: openslo/v1\n  kind: DataSource\n  metadata: {name: d}\n  spec: {type: Prometheus}\n",
		"apiVersion: openslo/v1\nkind: AlertPolicy\nmetadata: {name: p}\nspec: {conditions: [{conditionRef: c}, {kind: AlertCondition, metadata: {name: c}, spec: {severity: page, condition: {threshold: 1, lookbackWindow: 1M}}}]}\n",
		"apiVersion: openslo/v1alpha\nkind: SLO\nmetadata: {name: a}\nspec: {service: s, budgetingMethod: Occurrences, objectives: [{target: 0.9, ratioMetrics: {good: {source: sloth, queryType: promql, query: 'a'}, total: {source: prometheus, queryType: promql, query: 'sum(b[5m])'}}}], timeWindows: [{count: 1, unit: Month, calendar: {timeZone: UTC}}]}\n",
		"apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x, labels: {a-b: [1, 2], a.b: c}, annotations: {slokeeper.io/group-by: 'a,b', slokeeper.io/min-events: x}}\nspec: {service: s, indicator: {spec: {ratioMetric: {counter: false, raw: {metricSource: {type: Thanos, spec: {query: 'rate(x[5m])'}}}, rawType: failure}}}, timeWindow: [{duration: 99999999999Y}], budgetingMethod: Occurrences, objectives: [{target: 0.9}, {targetPercent: 50}]}\n",
		"apiVersion: openslo/v1\nkind: SLO\nmetadata: &m {name: x}\nspec: &s {service: *m, indicator: *s}\n",
		"apiVersion: openslo/v2\nkind: SLO\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		files := [][]byte{data}
		if i := bytes.Index(data, fileBreak); i >= 0 {
			files = [][]byte{data[:i], data[i+len(fileBreak):]}
		}
		var (
			docs []ynode.Doc
			ps   slo.Problems
		)
		for i, content := range files {
			ds, p := ynode.ParseFile([]string{"a.yaml", "b.yaml"}[i], content)
			ps = append(ps, p...)
			for _, d := range ds {
				if Accepts(d.APIVersion, d.Kind) {
					docs = append(docs, d)
				}
			}
		}
		slos := Import(docs, &ps)
		for _, p := range ps {
			if p.Pos.File == "" || p.Pos.Line < 1 {
				t.Fatalf("problem without a position: %+v", p)
			}
		}
		for _, s := range slos {
			if s.Source.Format != slo.FormatOpenSLO || s.SLI.Kind == 0 || s.Positions[slo.FieldSLO].Line < 1 {
				t.Fatalf("incomplete SLO: %+v", s)
			}
		}
	})
}
