package grafanatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestContract: the fake refuses what Grafana refuses, so that tests
// against it mean something.
func TestContract(t *testing.T) {
	s := NewServer("good", "viewer")
	defer s.Close()
	s.AddFolder("f1", "Folder one")
	call := func(method, path, token, contentType, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	const js = "application/json"
	dash := func(extra string) string {
		return `{"dashboard":{"uid":"d1","title":"One","panels":[]` + extra + `},"folderUid":"f1","overwrite":false,"message":"m"}`
	}
	cases := []struct {
		name                string
		method, path, token string
		ct, body            string
		want                int
		status              string
	}{
		{"no token", "GET", "/api/folders/f1", "", "", "", 401, ""},
		{"basic auth is not a bearer token", "GET", "/api/folders/f1", "", "", "", 401, ""},
		{"wrong token", "GET", "/api/folders/f1", "bad", "", "", 401, ""},
		{"viewer reads", "GET", "/api/folders/f1", "viewer", "", "", 200, ""},
		{"viewer writes", "POST", "/api/dashboards/db", "viewer", js, dash(""), 403, ""},
		{"missing folder", "GET", "/api/folders/nope", "good", "", "", 404, "not-found"},
		{"wrong method", "PUT", "/api/dashboards/db", "good", js, dash(""), 405, ""},
		{"not JSON", "POST", "/api/dashboards/db", "good", "text/plain", dash(""), 415, ""},
		{"bad JSON", "POST", "/api/dashboards/db", "good", js, `{"dashboard":`, 400, ""},
		{"no dashboard", "POST", "/api/dashboards/db", "good", js, `{"overwrite":true}`, 400, ""},
		{"no title", "POST", "/api/dashboards/db", "good", js, `{"dashboard":{"uid":"d1","panels":[]},"overwrite":true}`, 400, "empty-name"},
		{"no uid", "POST", "/api/dashboards/db", "good", js, `{"dashboard":{"title":"x","panels":[]},"overwrite":true}`, 400, ""},
		{"long uid", "POST", "/api/dashboards/db", "good", js, `{"dashboard":{"uid":"` + strings.Repeat("a", 41) + `","title":"x","panels":[]},"overwrite":true}`, 400, "bad-uid"},
		{"no overwrite", "POST", "/api/dashboards/db", "good", js, `{"dashboard":{"uid":"d1","title":"x","panels":[]}}`, 400, ""},
		{"unknown folder", "POST", "/api/dashboards/db", "good", js, `{"dashboard":{"uid":"d1","title":"x","panels":[]},"folderUid":"nope","overwrite":true}`, 400, "folder-not-found"},
		{"create", "POST", "/api/dashboards/db", "good", js, dash(""), 200, "success"},
		{"stale version", "POST", "/api/dashboards/db", "good", js, dash(`,"version":0`), 412, "version-mismatch"},
		{"current version", "POST", "/api/dashboards/db", "good", js, dash(`,"version":1`), 200, "success"},
		{"overwrite ignores version", "POST", "/api/dashboards/db", "good", js, strings.Replace(dash(`,"version":1`), `"overwrite":false`, `"overwrite":true`, 1), 200, "success"},
		{"duplicate title", "POST", "/api/dashboards/db", "good", js, strings.Replace(dash(""), `"uid":"d1"`, `"uid":"d2"`, 1), 412, "name-exists"},
		{"read", "GET", "/api/dashboards/uid/d1", "good", "", "", 200, ""},
		{"folder without title", "POST", "/api/folders", "good", js, `{"uid":"f2"}`, 400, ""},
		{"existing folder", "POST", "/api/folders", "good", js, `{"uid":"f1","title":"Other"}`, 409, ""},
		{"annotation without text", "POST", "/api/annotations", "good", js, `{"time":1700000000000,"tags":["a"]}`, 400, ""},
		{"annotation bad tags", "POST", "/api/annotations", "good", js, `{"text":"x","tags":"a"}`, 400, ""},
		{"annotation ends early", "POST", "/api/annotations", "good", js, `{"text":"x","time":1700000000000,"timeEnd":1600000000000}`, 400, ""},
		{"annotation unknown dashboard", "POST", "/api/annotations", "good", js, `{"text":"x","dashboardUID":"nope"}`, 404, ""},
		{"annotation", "POST", "/api/annotations", "good", js, `{"text":"x","dashboardUID":"d1","time":1700000000000,"tags":["a"]}`, 200, ""},
		{"patch missing annotation", "PATCH", "/api/annotations/999", "good", js, `{"timeEnd":1800000000000}`, 404, ""},
		{"unknown path", "GET", "/api/nothing", "good", "", "", 404, ""},
	}
	for _, c := range cases {
		got, body := call(c.method, c.path, c.token, c.ct, c.body)
		if got != c.want {
			t.Errorf("%s: status %d, want %d (%v)", c.name, got, c.want, body)
			continue
		}
		if c.status != "" && body["status"] != c.status {
			t.Errorf("%s: status word %v, want %s", c.name, body["status"], c.status)
		}
	}
	if _, v, _, _, _ := s.Dashboard("d1"); v != 3 {
		t.Errorf("version %d after three saves", v)
	}
	if s.DashboardWrites() != 3 {
		t.Errorf("%d writes counted", s.DashboardWrites())
	}
}

func TestFaults(t *testing.T) {
	s := NewServer("good", "")
	defer s.Close()
	s.Inject(Fault{Path: "/api/folders/", Status: 429, RetryAfter: "3", Times: 2})
	for i, want := range []int{429, 429, 404} {
		req, _ := http.NewRequest("GET", s.URL+"/api/folders/x", nil)
		req.Header.Set("Authorization", "Bearer good")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || (want == 429 && resp.Header.Get("Retry-After") != "3") {
			t.Errorf("request %d: %d %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}
