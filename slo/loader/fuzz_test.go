package loader

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/slokeeper/slokeeper/slo"
)

// seedFiles returns the spec files of testdata and, when present, of
// ../shared/peers: real inputs of every format.
func seedFiles(tb testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"../../testdata/slos", "../../../shared/peers"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && IsSpecFile(path) {
				if data, err := os.ReadFile(path); err == nil {
					out = append(out, data)
				}
			}
			return nil
		})
	}
	return out
}

// FuzzParse feeds arbitrary bytes through the whole pipeline: YAML split,
// every importer, validation. It must never panic, and every problem must
// carry a position in the file.
func FuzzParse(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Add([]byte(header + "spec:\n  slos:\n  - name: a\n    objective: 99\n    sli: {query: {errorRatio: 'x[{{.window}}]'}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := Parse([]File{{Name: "f.yaml", Data: data}}, Options{})
		for _, p := range r.Problems {
			if p.Pos.File != "f.yaml" || p.Pos.Line < 1 || p.Message == "" {
				t.Fatalf("problem without a position: %+v", p)
			}
		}
		if r.Problems.HasErrors() && len(r.SLOs) > 0 {
			t.Fatalf("SLOs kept from an invalid file")
		}
		for _, s := range r.SLOs {
			if s.Objective <= 0 || s.Objective >= 100 || s.Service == "" || s.SLI.Kind == 0 {
				t.Fatalf("invalid SLO passed validation: %+v", s)
			}
			_ = s.Alerting.ResolveTiers(slo.DefaultTiers())
		}
	})
}
