// Package importtest holds what the spec importers' tests share: running
// one importer on file contents, finding the peer tools' example specs in
// ../shared/peers, and the checks every fuzz target makes.
package importtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// PeersDir is ../shared/peers seen from a package two levels below the
// repository root (slo/<format>).
const PeersDir = "../../../shared/peers"

// Importer is one format's Accepts and Import.
type Importer struct {
	Accepts func(apiVersion, kind string) bool
	Import  func(docs []ynode.Doc, ps *slo.Problems) []slo.SLO
}

// Load splits data into documents and imports those the importer accepts.
func (imp Importer) Load(name string, data []byte) ([]slo.SLO, slo.Problems) {
	docs, ps := ynode.ParseFile(name, data)
	var mine []ynode.Doc
	for _, d := range docs {
		if imp.Accepts(d.APIVersion, d.Kind) {
			mine = append(mine, d)
		}
	}
	return imp.Import(mine, &ps), ps
}

// PeerFiles lists the *.yml and *.yaml files of the given folders of
// PeersDir, skipping the test when there are none (a user's clone has no
// ../shared).
func PeerFiles(t testing.TB, dirs ...string) []string {
	t.Helper()
	var files []string
	for _, dir := range dirs {
		for _, ext := range []string{"*.yml", "*.yaml"} {
			m, _ := filepath.Glob(filepath.Join(PeersDir, dir, ext))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skipf("no peer specs under %s in %v (the shared directory is absent)", PeersDir, dirs)
	}
	return files
}

// SeedPeers adds the peer files of dirs (when present) to a fuzz corpus.
func SeedPeers(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		for _, ext := range []string{"*.yml", "*.yaml"} {
			files, _ := filepath.Glob(filepath.Join(PeersDir, dir, ext))
			for _, name := range files {
				if data, err := os.ReadFile(name); err == nil {
					f.Add(data)
				}
			}
		}
	}
}

// CheckFuzzResult makes the checks every importer's fuzz target makes: each
// problem has a position in file and fits on one line, each SLO knows its
// source, and validation of the result does not panic.
func CheckFuzzResult(t *testing.T, file string, format slo.Format, slos []slo.SLO, ps slo.Problems) {
	t.Helper()
	for _, p := range ps {
		if p.Pos.File != file || p.Pos.Line <= 0 {
			t.Errorf("problem without a position: %s", p)
		}
		if strings.ContainsAny(p.Message, "\n\r") {
			t.Errorf("problem on several lines: %q", p.Message)
		}
	}
	for _, s := range slos {
		if s.Source.Format != format || s.Positions[slo.FieldSLO].Line <= 0 {
			t.Errorf("SLO without source: %+v", s.Source)
		}
	}
	_ = slo.Validate(slos, slo.ValidateOptions{})
}
