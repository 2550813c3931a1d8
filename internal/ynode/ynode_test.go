package ynode

import (
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

func TestParseFileDocuments(t *testing.T) {
	docs, ps := ParseFile("x.yaml", []byte("apiVersion: a/v1\nkind: K\n---\n---\n- apiVersion: b/v1\n  kind: L\n- version: prometheus/v1\n"))
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if len(docs) != 3 || docs[0].APIVersion != "a/v1" || docs[1].Path != "[0]" || docs[1].Kind != "L" || docs[2].APIVersion != "prometheus/v1" || docs[2].Root.Line != 7 {
		t.Errorf("docs = %+v", docs)
	}
}

func TestMapDecoding(t *testing.T) {
	docs, _ := ParseFile("x.yaml", []byte("n: 3\ns: text\nd: 1h30m\nb: yes\nl: [a, b]\nm: {k: v}\nbad: 1x\nextra: 1\n"))
	var ps slo.Problems
	m := NewDecoder("x.yaml", &ps).Map(docs[0].Root, "")
	if v, ok := m.Float("n", false); !ok || v != 3 {
		t.Errorf("n = %v", v)
	}
	if v, _ := m.String("s"); v != "text" {
		t.Errorf("s = %v", v)
	}
	if v, _ := m.Duration("d"); v != 90*time.Minute {
		t.Errorf("d = %v", v)
	}
	if _, ok := m.Bool("b"); ok {
		t.Error("yes is not a YAML 1.2 boolean")
	}
	if l := m.StringList("l"); strings.Join(l, ",") != "a,b" {
		t.Errorf("l = %v", l)
	}
	if mm := m.StringMap("m"); mm["k"] != "v" {
		t.Errorf("m = %v", mm)
	}
	m.Duration("bad")
	m.Done()
	want := []string{
		`x.yaml:4:4: b: expected a boolean (true or false), got the string "yes"`,
		`x.yaml:7:6: bad: invalid duration "1x": use a number and a unit (ms, s, m, h, d, w, y), e.g. 5m or 28d`,
		`x.yaml:8:1: extra: unknown field "extra"`,
	}
	if len(ps) != len(want) {
		t.Fatalf("problems: %v", ps)
	}
	for i, p := range ps {
		if p.String() != want[i] {
			t.Errorf("got  %s\nwant %s", p, want[i])
		}
	}
}
