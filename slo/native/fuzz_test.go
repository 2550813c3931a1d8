package native

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/slos/*/*.yaml")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: slokeeper.io/v1\nkind: ServiceLevelObjectives\nmetadata: {service: s}\nspec: {slos: [{name: a, objective: 99, sli: {query: {total: 'x[{{.window}}]', good: 'y'}}, alerting: {customTiers: [{name: t, longWindow: 1h, shortWindow: 5m, burnRate: 2}], tiers: {t: {for: 1m}}}}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, ps := ynode.ParseFile("f.yaml", data)
		var accepted []ynode.Doc
		for _, d := range docs {
			if Accepts(d.APIVersion, d.Kind) {
				accepted = append(accepted, d)
			}
		}
		slos := Import(accepted, &ps)
		if !ps.HasErrors() && len(slos) > 0 {
			// What loads must survive a conversion round trip.
			out, err := Marshal(slos)
			if err != nil {
				t.Fatal(err)
			}
			docs2, ps2 := ynode.ParseFile("g.yaml", out)
			back := Import(docs2, &ps2)
			if len(back) != len(slos) {
				t.Fatalf("round trip lost SLOs: %d -> %d\n%s\n%v", len(slos), len(back), out, ps2)
			}
		}
		_ = slo.Validate(slos, slo.ValidateOptions{})
	})
}
