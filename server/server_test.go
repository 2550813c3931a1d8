package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slokeeper/slokeeper/config"
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: a}
spec:
  window: 28d
  slos:
  - name: availability
    objective: 99.9
    sli: {ratio: {errors: 'req_total{code="500"}', total: req_total}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "c.yml"), []byte("specs: [a.yaml]\nprometheus: {url: 'http://127.0.0.1:1'}\nrules: {mode: files, directory: rules}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), cfg, Options{StoragePath: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRoutes(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct {
		method, path, body string
		code               int
		location           string
	}{
		{"GET", "/", "", http.StatusFound, "/ui/"},
		{"GET", "/-/healthy", "", http.StatusOK, ""},
		{"GET", "/api/v1/freezes", "", http.StatusOK, ""},
		{"GET", "/api/v1/freeze", "", http.StatusBadRequest, ""}, // the gate: service required
		{"GET", "/ui/", "", http.StatusOK, ""},
		{"POST", "/api/v1/alertmanager/dead-letter", `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"DiskFull"}},{"status":"firing","labels":{"alertname":"X"}}]}`, http.StatusOK, ""},
		{"POST", "/api/v1/alertmanager/dead-letter", `{not json`, http.StatusBadRequest, ""},
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		if rec.Code != tc.code || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, rec.Code, rec.Header().Get("Location"), tc.code, tc.location)
		}
	}
	if n := testutil.ToFloat64(s.deadLetters); n != 2 {
		t.Errorf("dead letters counted: %v, want 2", n)
	}
}

// TestNewFailsCleanly: a configuration New cannot start (a notification
// file in a missing directory) is an error, not a panic, and what New had
// opened is closed (the database can be opened again).
func TestNewFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "c.yml"), []byte(
		"specs: [a.yaml]\nprometheus: {url: 'http://127.0.0.1:1'}\nrules: {mode: files, directory: rules}\n"+
			"freeze:\n  notifications:\n    file: {path: missing/dir/notifications.jsonl}\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{StoragePath: filepath.Join(dir, "data")}
	if s, err := New(context.Background(), cfg, opts); err == nil || s != nil {
		t.Fatalf("New = %v, %v; want an error", s, err)
	} else if !strings.Contains(err.Error(), "notifications.jsonl") {
		t.Errorf("error %q does not name the file", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "missing", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), cfg, opts)
	if err != nil {
		t.Fatalf("New after fixing the directory: %v", err)
	}
	_ = s.Close()
}
