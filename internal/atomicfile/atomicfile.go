// Package atomicfile writes files so that a reader (Prometheus, Grafana's
// provisioning, a crash) sees either the old content or the new, never half
// of it: write a temporary file in the same directory, fsync, rename, fsync
// the directory.
package atomicfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data atomically. It reports changed=false and
// leaves the file alone when it already holds exactly data.
func Write(path string, data []byte, perm os.FileMode) (changed bool, err error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("creating directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(name)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("writing %s: %w", name, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("setting mode of %s: %w", name, err)
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return false, fmt.Errorf("syncing %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return false, fmt.Errorf("closing %s: %w", name, err)
	}
	if err = os.Rename(name, path); err != nil {
		return false, fmt.Errorf("renaming %s to %s: %w", name, path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return true, nil
}
