// Package proctest helps the tests that run real servers (Debian's
// Prometheus and Alertmanager, Chromium, the daemon itself): a free
// loopback address, polling with a deadline, and the rule that a missing
// binary skips a test only outside CI.
package proctest

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// RequireBinary skips t when bin is not installed, or fails it when the CI
// variable is set: in CI every real component must run. pkg names the
// Debian package that provides bin.
func RequireBinary(t testing.TB, bin, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err == nil {
		return
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%s not installed (apt-get install %s); required when CI is set", bin, pkg)
	}
	t.Fatalf("%s not installed (Debian package %s) and CI is set", bin, pkg)
}

// FreeAddr returns a 127.0.0.1 address with a port free at the time of the
// call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// WaitFor polls cond until it holds, failing t after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
