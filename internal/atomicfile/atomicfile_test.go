package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "rules.yml")
	changed, err := Write(p, []byte("a"), 0o644)
	if err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	changed, err = Write(p, []byte("a"), 0o644)
	if err != nil || changed {
		t.Fatalf("same content must not be rewritten: %v %v", changed, err)
	}
	if changed, err = Write(p, []byte("b"), 0o600); err != nil || !changed {
		t.Fatalf("second write: %v %v", changed, err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "b" || st.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", got, st.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// A directory in the way: an error, and the temporary file is removed.
	if err := os.MkdirAll(filepath.Join(dir, "blocked"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(filepath.Join(dir, "blocked"), []byte("x"), 0o644); err == nil {
		t.Error("want an error when a directory is in the way")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left behind: %v", entries)
	}
}
