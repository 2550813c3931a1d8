package ynode

import (
	"testing"

	"github.com/slokeeper/slokeeper/slo"
)

func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: slokeeper.io/v1\nkind: ServiceLevelObjectives\n",
		"- apiVersion: openslo/v1\n  kind: SLO\n- 3\n",
		"a: &x [1, *x]\n",
		"a: 1\na: 2\n",
		"\t- x",
		"---\n---\nx: y\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, ps := ParseFile("f.yaml", data)
		for _, p := range ps {
			if p.Pos.File != "f.yaml" || p.Pos.Line < 1 {
				t.Fatalf("problem without a position: %+v", p)
			}
		}
		var all slo.Problems
		d := NewDecoder("f.yaml", &all)
		for _, doc := range docs {
			if m := d.Map(doc.Root, doc.Path); m != nil {
				for _, k := range m.Keys() {
					m.String(k)
					m.Float(k, true)
					m.Duration(k)
					m.StringMap(k)
					m.StringList(k)
				}
				m.Done()
			}
		}
	})
}
