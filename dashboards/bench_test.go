package dashboards

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkDashboards1000Services builds and renders every dashboard of
// 1,000 services (three SLOs each): 2,000 per-service dashboards, the
// overview, the nodes and platform dashboards, and the provider file.
// Target: <= 1 s. cpu-ms/op is the process CPU time (all cores), which
// stays meaningful on a busy machine.
func BenchmarkDashboards1000Services(b *testing.B) {
	slos := manySLOs(1000)
	b.ReportAllocs()
	var bytesOut int
	c0 := cpuTime()
	for b.Loop() {
		files, err := Files(slos, Options{}, Provisioning{})
		if err != nil {
			b.Fatal(err)
		}
		bytesOut = 0
		for _, f := range files {
			bytesOut += len(f.Data)
		}
	}
	if c := cpuTime() - c0; c > 0 {
		b.ReportMetric(float64(c.Milliseconds())/float64(b.N), "cpu-ms/op")
	}
	b.ReportMetric(float64(bytesOut)/(1<<20), "MiB/op")
}

// TestIndentMatchesEncodingJSON: the fast indenter gives json.Indent's bytes.
func TestIndentMatchesEncodingJSON(t *testing.T) {
	for _, d := range All(testSLOs(), Options{}) {
		b, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indent(b, 1<<30); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: indentation differs from json.Indent", d.UID)
		}
	}
	for _, s := range []string{`{}`, `[]`, `{"a":[],"b":{},"c":"x\"y\\\\","d":[1,{"e":null}]}`, `"\\"`} {
		var want bytes.Buffer
		if err := json.Indent(&want, []byte(s), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := indent([]byte(s), 1<<30); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: got %s, want %s", s, got, want.Bytes())
		}
	}
	if indent([]byte(`{"a":1}`), 3) != nil {
		t.Error("limit not applied")
	}
}
