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
		{"search", "GET", "/api/search?type=dash-db&tag=a&folderUIDs=f1&limit=5000&page=2", "good", "", "", 200, ""},
		{"search without token", "GET", "/api/search", "", "", "", 401, ""},
		{"viewer searches", "GET", "/api/search?query=one", "viewer", "", "", 200, ""},
		{"search limit above 5000", "GET", "/api/search?limit=5001", "good", "", "", 422, ""},
		{"search limit not a number", "GET", "/api/search?limit=ten", "good", "", "", 400, ""},
		{"search negative page", "GET", "/api/search?page=-1", "good", "", "", 400, ""},
		{"search unknown type", "GET", "/api/search?type=dashboard", "good", "", "", 400, ""},
		{"search misspelt filter", "GET", "/api/search?folderUid=f1", "good", "", "", 400, ""},
		{"search deprecated folderIds", "GET", "/api/search?folderIds=1", "good", "", "", 400, ""},
		{"search bad sort", "GET", "/api/search?sort=newest", "good", "", "", 400, ""},
		{"search is read only", "POST", "/api/search", "good", js, "{}", 405, ""},
		{"viewer deletes", "DELETE", "/api/dashboards/uid/d1", "viewer", "", "", 403, ""},
		{"delete without token", "DELETE", "/api/dashboards/uid/d1", "", "", "", 401, ""},
		{"delete unknown", "DELETE", "/api/dashboards/uid/nope", "good", "", "", 404, "not-found"},
		{"wrong method on a dashboard", "PUT", "/api/dashboards/uid/d1", "good", js, "{}", 405, ""},
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

// seed stores dashboards as a person would create them.
func seed(t *testing.T, s *Server, folder string, models ...map[string]any) {
	t.Helper()
	for _, m := range models {
		if err := s.AddDashboard(folder, m); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, s *Server, method, path, token string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestSearch(t *testing.T) {
	s := NewServer("good", "")
	defer s.Close()
	s.AddFolder("f1", "Folder one")
	s.AddFolder("f2", "Folder two")
	seed(t, s, "f1",
		map[string]any{"uid": "a", "title": "Alpha", "tags": []any{"x", "y"}},
		map[string]any{"uid": "b", "title": "beta", "tags": []any{"x"}},
		map[string]any{"uid": "c", "title": "Gamma"},
	)
	seed(t, s, "f2", map[string]any{"uid": "d", "title": "Delta", "tags": []any{"x", "y"}})
	seed(t, s, "", map[string]any{"uid": "e", "title": "Epsilon", "tags": []any{"x"}})

	cases := []struct {
		name, query string
		want        []string
	}{
		{"everything, by title", "", []string{"a", "b", "d", "e", "f1", "f2", "c"}},
		{"dashboards", "type=dash-db", []string{"a", "b", "d", "e", "c"}},
		{"folders", "type=dash-folder", []string{"f1", "f2"}},
		{"one folder", "folderUIDs=f1", []string{"a", "b", "c"}},
		{"two folders", "folderUIDs=f1&folderUIDs=f2&type=dash-db", []string{"a", "b", "d", "c"}},
		{"general folder", "folderUIDs=general&type=dash-db", []string{"e"}},
		{"unknown folder", "folderUIDs=nope", []string{}},
		{"one tag", "tag=x", []string{"a", "b", "d", "e"}},
		{"all tags", "tag=x&tag=y", []string{"a", "d"}},
		{"tags in a folder", "tag=x&folderUIDs=f1", []string{"a", "b"}},
		{"title", "query=ELTA", []string{"d"}},
		{"uids", "dashboardUIDs=a&dashboardUIDs=c", []string{"a", "c"}},
		{"descending", "type=dash-db&sort=alpha-desc", []string{"c", "e", "d", "b", "a"}},
		{"page 1", "type=dash-db&limit=2", []string{"a", "b"}},
		{"page 2", "type=dash-db&limit=2&page=2", []string{"d", "e"}},
		{"page 3", "type=dash-db&limit=2&page=3", []string{"c"}},
		{"past the end", "type=dash-db&limit=2&page=4", []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hits []map[string]any
			if code := get(t, s, "GET", "/api/search?"+c.query, "good", &hits); code != 200 {
				t.Fatalf("status %d", code)
			}
			got := []string{}
			for _, h := range hits {
				got = append(got, h["uid"].(string))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	// A hit as Grafana shapes it.
	var hits []map[string]any
	get(t, s, "GET", "/api/search?dashboardUIDs=a", "good", &hits)
	h := hits[0]
	if h["type"] != "dash-db" || h["folderUid"] != "f1" || h["folderTitle"] != "Folder one" || h["url"] != "/d/a/alpha" ||
		len(h["tags"].([]any)) != 2 {
		t.Errorf("hit %v", h)
	}
	hits = nil
	get(t, s, "GET", "/api/search?dashboardUIDs=e", "good", &hits)
	if _, ok := hits[0]["folderUid"]; ok {
		t.Errorf("a dashboard in the General folder has a folderUid: %v", hits[0])
	}
}

func TestDelete(t *testing.T) {
	s := NewServer("good", "viewer")
	defer s.Close()
	s.AddFolder("f1", "Folder one")
	seed(t, s, "f1", map[string]any{"uid": "a", "title": "Alpha"}, map[string]any{"uid": "b", "title": "Beta"})
	s.mu.Lock()
	s.annotations[100] = &Annotation{ID: 100, DashboardUID: "a", Text: "on a"}
	s.annotations[101] = &Annotation{ID: 101, Text: "organisation-wide"}
	s.mu.Unlock()

	var body map[string]any
	if code := get(t, s, "DELETE", "/api/dashboards/uid/a", "viewer", nil); code != 403 {
		t.Fatalf("viewer delete: %d", code)
	}
	if code := get(t, s, "DELETE", "/api/dashboards/uid/a", "good", &body); code != 200 ||
		body["uid"] != "a" || body["title"] != "Alpha" || body["message"] != "Dashboard Alpha deleted" {
		t.Fatalf("delete: %d %v", code, body)
	}
	if code := get(t, s, "DELETE", "/api/dashboards/uid/a", "good", &body); code != 404 || body["message"] != "Dashboard not found" {
		t.Fatalf("second delete: %d %v", code, body)
	}
	if code := get(t, s, "GET", "/api/dashboards/uid/a", "good", nil); code != 404 {
		t.Errorf("read after delete: %d", code)
	}
	if got := s.DashboardUIDs("f1"); len(got) != 1 || got[0] != "b" || s.DashboardDeletes() != 1 {
		t.Errorf("left %v, %d deletes", got, s.DashboardDeletes())
	}
	if a := s.Annotations(); len(a) != 1 || a[0].ID != 101 {
		t.Errorf("annotations after the delete: %+v", a)
	}
}

func TestAddDashboard(t *testing.T) {
	s := NewServer("good", "")
	defer s.Close()
	s.AddFolder("f1", "Folder one")
	seed(t, s, "f1", map[string]any{"uid": "a", "title": "Alpha"})
	cases := []struct {
		name   string
		folder string
		model  map[string]any
	}{
		{"no uid", "f1", map[string]any{"title": "x"}},
		{"bad uid", "f1", map[string]any{"uid": "a b", "title": "x"}},
		{"no title", "f1", map[string]any{"uid": "x"}},
		{"taken uid", "", map[string]any{"uid": "a", "title": "x"}},
		{"unknown folder", "nope", map[string]any{"uid": "x", "title": "x"}},
		{"title in the folder", "f1", map[string]any{"uid": "x", "title": "Alpha"}},
	}
	for _, c := range cases {
		if err := s.AddDashboard(c.folder, c.model); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	m, v, f, _, ok := s.Dashboard("a")
	if !ok || v != 1 || f != "f1" || m["version"] != float64(1) || s.DashboardWrites() != 0 {
		t.Errorf("seeded: %v %d %q %v, %d writes", m, v, f, ok, s.DashboardWrites())
	}
}
