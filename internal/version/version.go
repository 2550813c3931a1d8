// Package version holds build information set by the linker.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set with -ldflags "-X github.com/slokeeper/slokeeper/internal/version.Version=...".
var (
	Version  = "dev"
	Revision = ""
)

// Info renders the version the way Prometheus tools do.
func Info(program string) string {
	rev := Revision
	if rev == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("%s, version %s (revision: %s)\n  go version: %s\n  platform: %s/%s", program, Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
