package dashboards

import (
	"bytes"
	"testing"
)

// EachFile streams exactly what Files returns.
func TestEachFileMatchesFiles(t *testing.T) {
	slos := testSLOs()
	want, err := Files(slos, Options{}, Provisioning{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	if err := EachFile(slos, Options{}, Provisioning{}, func(f File) error {
		if _, dup := got[f.Path]; dup {
			t.Errorf("%s emitted twice", f.Path)
		}
		got[f.Path] = f.Data
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("EachFile gave %d files, Files %d", len(got), len(want))
	}
	for _, f := range want {
		if !bytes.Equal(got[f.Path], f.Data) {
			t.Errorf("%s differs", f.Path)
		}
	}
}
