package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/slokeeper/slokeeper/gate"
)

// fakeGate answers like the daemon's gate for one frozen service
// ("checkout", exemptions p0 and security) and one that is not.
type fakeGate struct {
	mu         sync.Mutex
	exemptions []gate.Exemption
	freezes    []gate.ManualFreeze
	auths      []string
}

func (f *fakeGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	authorized := r.Header.Get("Authorization") == "Bearer s3cret"
	b := 0.0
	neg := -0.02
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/freeze":
		svc, ex := r.URL.Query().Get("service"), r.URL.Query().Get("exempt")
		d := gate.Decision{Service: svc, Allowed: true, Sources: []string{}, Reasons: []string{}, Budget: map[string]*float64{"availability": &b}, Exemptions: []string{"p0", "security"}}
		if svc == "checkout" {
			d.Frozen, d.Allowed = true, ex != ""
			d.Exempted, d.Exemption = ex != "", ex
			d.Sources, d.Reasons = []string{"budget"}, []string{"availability: -2.0% of the error budget left (freeze at <= 0%)"}
			d.Budget["availability"] = &neg
		}
		if svc == "broken" {
			http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(d)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/freeze/exemptions":
		var e gate.Exemption
		_ = json.NewDecoder(r.Body).Decode(&e)
		f.exemptions = append(f.exemptions, e)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("{}"))
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/freezes":
		if !authorized {
			http.Error(w, `{"error":"a valid bearer token is required"}`, http.StatusUnauthorized)
			return
		}
		var m gate.ManualFreeze
		_ = json.NewDecoder(r.Body).Decode(&m)
		m.ID = int64(len(f.freezes) + 1)
		f.freezes = append(f.freezes, m)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(m)
	case r.Method == http.MethodDelete && r.URL.Path == "/api/v1/freezes/checkout":
		if !authorized {
			http.Error(w, `{"error":"a valid bearer token is required"}`, http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/freezes":
		_ = json.NewEncoder(w).Encode(map[string]any{"freezes": f.freezes})
	default:
		http.NotFound(w, r)
	}
}

func TestFreezeCLI(t *testing.T) {
	fg := &fakeGate{}
	srv := httptest.NewServer(fg)
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envToken, "")
	t.Setenv("GITHUB_SHA", "abc123")
	t.Setenv("GITHUB_ACTOR", "octocat")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"allowed", []string{"freeze", "check", "--service", "catalog"}, exitOK, "catalog: changes allowed", ""},
		{"frozen", []string{"freeze", "check", "--service", "checkout"}, exitFrozen, "checkout: FROZEN", ""},
		{"frozen says why", []string{"freeze", "check", "--service", "checkout"}, exitFrozen, "availability: -2.0% of the error budget left", ""},
		{"exempted", []string{"freeze", "check", "--service", "checkout", "--exempt", "p0"}, exitOK, "p0 exemption lets this change go", ""},
		{"json", []string{"freeze", "check", "--service", "checkout", "--output", "json"}, exitFrozen, `"frozen": true`, ""},
		{"bad exemption", []string{"freeze", "check", "--service", "checkout", "--exempt", "yolo"}, exitInvalid, "", "enum value must be one of"},
		{"gate error fails closed", []string{"freeze", "check", "--service", "broken"}, exitInvalid, "", "500 Internal Server Error: boom"},
		{"gate error fails open", []string{"freeze", "check", "--service", "broken", "--fail-open"}, exitOK, "", "--fail-open lets the change go"},
		{"start needs the token", []string{"freeze", "start", "--service", "checkout", "--reason", "release train"}, exitInvalid, "", "401"},
		{"start", []string{"freeze", "start", "--service", "checkout", "--reason", "peak", "--for", "2h", "--token-file", tokenFile}, exitOK, "manual freeze #1 started until 20", ""},
		{"start --for and --until", []string{"freeze", "start", "--service", "checkout", "--reason", "x", "--for", "2h", "--until", "2030-01-01T00:00:00Z", "--token-file", tokenFile}, exitInvalid, "", "exclude each other"},
		{"list", []string{"freeze", "list"}, exitOK, "checkout\t#1 by octocat", ""},
		{"stop", []string{"freeze", "stop", "--service", "checkout", "--reason", "done", "--token-file", tokenFile}, exitOK, "manual freeze stopped", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--url", srv.URL)
			code, stdout, stderr := runCLI(t, args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if strings.Contains(stdout+stderr, "s3cret") {
				t.Errorf("the token was printed")
			}
		})
	}
	fg.mu.Lock()
	defer fg.mu.Unlock()
	if len(fg.exemptions) != 1 || fg.exemptions[0] != (gate.Exemption{Service: "checkout", Kind: "p0", Change: "abc123", Author: "octocat"}) {
		t.Errorf("exemptions recorded: %+v", fg.exemptions)
	}
	// The unreachable daemon: fail closed, or open with a warning.
	code, _, stderr := runCLI(t, "freeze", "check", "--service", "x", "--url", "http://127.0.0.1:1")
	if code != exitInvalid || !strings.Contains(stderr, "could not be asked") {
		t.Errorf("unreachable gate: exit %d, %s", code, stderr)
	}
}
