package grafana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/dashboards/grafana/grafanatest"
	"github.com/slokeeper/slokeeper/slo"
)

// specDashboards generates the dashboards of one availability SLO per
// service, as the daemon does from the specs.
func specDashboards(services ...string) []dashboards.Dashboard {
	var slos []slo.SLO
	for _, s := range services {
		slos = append(slos, slo.SLO{Service: s, Team: "team", Name: "availability", Objective: 99.9,
			Period: slo.Period{Kind: slo.Rolling, Rolling: 28 * 24 * time.Hour},
			SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
				Errors: `http_requests_total{code=~"5.."}`, Total: `http_requests_total`}}})
	}
	return dashboards.All(slos, dashboards.Options{})
}

func uidsOf(ds []dashboards.Dashboard) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.UID)
	}
	return out
}

func TestGenerated(t *testing.T) {
	// Every dashboard slokeeper generates is recognised, whatever the
	// service name (hashed UIDs included): a new dashboard kind missing
	// from perServiceKinds or singleKinds fails here.
	long := strings.Repeat("very-long-service-name-", 3)
	for _, d := range specDashboards("checkout", "Search API", long, "a/b") {
		if !Generated(d.UID, d.Tags) {
			t.Errorf("generated dashboard %s (tags %v) not recognised", d.UID, d.Tags)
		}
	}
	cases := []struct {
		name string
		uid  string
		tags []string
	}{
		{"created in the UI", "k8Xz2Lq0aBcDeF", []string{"slokeeper", "service:checkout"}},
		{"saved as a copy", "slo-checkout-copy", []string{"slo", "slokeeper", "service:checkout"}},
		{"service tag of another service", "slo-checkout", []string{"slokeeper", "service:payments"}},
		{"no service tag", "red-checkout", []string{"slokeeper", "red"}},
		{"prefix of a single kind", "slokeeper-overview-2", []string{"slokeeper"}},
		{"hashed uid of another service", dashboards.UID(dashboards.KindSLO, "Search API"), []string{"slokeeper", "service:Search-API"}},
	}
	for _, c := range cases {
		if Generated(c.uid, c.tags) {
			t.Errorf("%s: %s %v taken for generated", c.name, c.uid, c.tags)
		}
	}
}

// pruneWorld is Grafana after slokeeper pushed the dashboards of three
// services, next to dashboards people made: in slokeeper's folder with and
// without slokeeper's tags, and generated-looking ones in other folders.
type pruneWorld struct {
	srv      *grafanatest.Server
	keep     map[string]bool
	stale    []string // generated, of the services no longer specified
	foreign  []string // in the folder with the tag, not generated
	human    []string // in the folder without the tag
	elsewher []string // generated-looking, in other folders
}

func newPruneWorld(t *testing.T) *pruneWorld {
	t.Helper()
	srv := grafanatest.NewServer(editorToken, viewerToken)
	t.Cleanup(srv.Close)
	c, _ := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	if _, err := c.Push(ctx, specDashboards("checkout", "payments", "Search API"), PushOptions{}); err != nil {
		t.Fatal(err)
	}
	// The specs now have checkout only.
	res, err := c.Push(ctx, specDashboards("checkout"), PushOptions{})
	if err != nil || len(res.Written) == 0 {
		t.Fatalf("second push: %v %+v", err, res)
	}
	w := &pruneWorld{srv: srv, keep: res.Keep()}
	w.stale = []string{"red-payments", "slo-payments",
		dashboards.UID(dashboards.KindRED, "Search API"), dashboards.UID(dashboards.KindSLO, "Search API")}
	slices.Sort(w.stale)
	f := dashboards.DefaultFolderUID
	srv.AddFolder("elsewhere", "Elsewhere")
	for _, s := range []struct {
		folder string
		model  map[string]any
		list   *[]string
	}{
		{f, map[string]any{"uid": "h1q2w3e4r5t6y7", "title": "Team notes"}, &w.human},
		{f, map[string]any{"uid": "slo-legacy", "title": "legacy: SLOs", "tags": []any{"slo", "service:legacy"}}, &w.human},
		{f, map[string]any{"uid": "k8Xz2Lq0aBcDeF", "title": "Checkout extras", "tags": []any{"slokeeper", "service:checkout"}}, &w.foreign},
		{f, map[string]any{"uid": "slo-payments-copy", "title": "payments: SLOs (copy)", "tags": []any{"slo", "slokeeper", "service:payments"}}, &w.foreign},
		{"elsewhere", map[string]any{"uid": "slo-orders", "title": "orders: SLOs", "tags": []any{"slo", "slokeeper", "service:orders"}}, &w.elsewher},
		{"", map[string]any{"uid": "red-orders", "title": "orders: RED", "tags": []any{"red", "slokeeper", "service:orders"}}, &w.elsewher},
	} {
		if err := srv.AddDashboard(s.folder, s.model); err != nil {
			t.Fatal(err)
		}
		*s.list = append(*s.list, s.model["uid"].(string))
	}
	slices.Sort(w.foreign)
	return w
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		token  Token
		faults []grafanatest.Fault
		cfg    func(*Config)
		opts   PruneOptions
		noKeep bool
		// want* describe the outcome: the deleted UIDs (nil: the stale
		// ones), those of them still in Grafana, the error.
		wantDeleted    []string
		wantStillThere []string
		wantErr        error
		wantStatus     int
		wantSearches   int
		wantRetries    bool
	}{
		{name: "stale generated dashboards go, the rest stays", wantSearches: 1},
		{name: "dry run deletes nothing", opts: PruneOptions{DryRun: true}, wantStillThere: []string{"all"}},
		{name: "pages through more hits than the page size", opts: PruneOptions{PageSize: 3},
			// 14 generated (10 kept, 4 stale) and 2 foreign hits: 6 pages.
			wantSearches: 6},
		{name: "a dashboard already gone is not an error",
			faults:         []grafanatest.Fault{{Method: http.MethodDelete, Path: "/api/dashboards/uid/red-payments", Status: 404}},
			wantStillThere: []string{"red-payments"}},
		{name: "429 and 5xx are retried",
			faults: []grafanatest.Fault{
				{Path: "/api/search", Status: 429, RetryAfter: "0"},
				{Path: "/api/search", Status: 502},
				{Method: http.MethodDelete, Path: "/api/dashboards/uid/", Status: 503, Times: 2},
				{Method: http.MethodDelete, Path: "/api/dashboards/uid/slo-payments", Status: 500},
			},
			wantSearches: 3, wantRetries: true},
		{name: "a delete failing for good stops the prune",
			faults:  []grafanatest.Fault{{Method: http.MethodDelete, Path: "/api/dashboards/uid/" + dashboards.UID(dashboards.KindSLO, "Search API"), Status: 500, Times: 100}},
			cfg:     func(c *Config) { c.Retries = 2 },
			wantErr: nil, wantStatus: 500,
			// In UID order: red-Search-API-..., red-payments, then
			// slo-Search-API-... fails.
			wantDeleted: sorted([]string{"red-payments", dashboards.UID(dashboards.KindRED, "Search API")})},
		{name: "a search failing for good deletes nothing",
			faults:  []grafanatest.Fault{{Path: "/api/search", Status: 503, Times: 100}},
			cfg:     func(c *Config) { c.Retries = 1 },
			wantErr: nil, wantStatus: 503, wantDeleted: []string{}, wantStillThere: []string{"all"}},
		{name: "a viewer cannot delete", token: viewerToken,
			wantErr: ErrForbidden, wantDeleted: []string{}, wantStillThere: []string{"all"}},
		{name: "a wrong token cannot search", token: "glsa_wrong_0123456789",
			wantErr: ErrUnauthorized, wantDeleted: []string{}, wantStillThere: []string{"all"}},
		{name: "another tag finds nothing", opts: PruneOptions{Tag: "team-x"}, wantDeleted: []string{}, wantStillThere: []string{"all"}},
		{name: "an empty Keep is refused", noKeep: true, wantDeleted: []string{}, wantStillThere: []string{"all"}, wantSearches: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newPruneWorld(t)
			token := tc.token
			if token == "" {
				token = editorToken
			}
			c, logs := newClient(t, w.srv, token, tc.cfg)
			for _, f := range tc.faults {
				w.srv.Inject(f)
			}
			opts := tc.opts
			if !tc.noKeep {
				opts.Keep = w.keep
			}
			before := len(w.srv.Requests())
			res, err := c.Prune(ctx, opts)

			failing := tc.wantErr != nil || tc.wantStatus != 0 || tc.noKeep
			switch {
			case !failing && err != nil:
				t.Fatalf("prune: %v", err)
			case failing && err == nil:
				t.Fatalf("prune succeeded: %+v", res)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			var apiErr *APIError
			if tc.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus) {
				t.Errorf("error %v, want status %d", err, tc.wantStatus)
			}
			if err != nil && strings.Contains(err.Error(), string(token)) {
				t.Errorf("the token is in the error: %v", err)
			}
			if strings.Contains(logs.String(), string(token)) {
				t.Error("the token is in the logs")
			}

			wantDeleted := tc.wantDeleted
			if wantDeleted == nil {
				wantDeleted = w.stale
			}
			if fmt.Sprint(res.Deleted) != fmt.Sprint(wantDeleted) {
				t.Errorf("deleted %v, want %v", res.Deleted, wantDeleted)
			}
			if err == nil && tc.opts.Tag == "" && fmt.Sprint(res.Foreign) != fmt.Sprint(w.foreign) {
				t.Errorf("foreign %v, want %v", res.Foreign, w.foreign)
			}

			// What Grafana still has.
			still := map[string]bool{}
			for _, u := range tc.wantStillThere {
				still[u] = true
			}
			gone := map[string]bool{}
			for _, u := range wantDeleted {
				gone[u] = !still["all"] && !still[u]
			}
			in := func(folder string) map[string]bool {
				m := map[string]bool{}
				for _, u := range w.srv.DashboardUIDs(folder) {
					m[u] = true
				}
				return m
			}
			folder := in(dashboards.DefaultFolderUID)
			for u := range w.keep {
				if !folder[u] {
					t.Errorf("kept dashboard %s deleted", u)
				}
			}
			for _, u := range append(append([]string{}, w.human...), w.foreign...) {
				if !folder[u] {
					t.Errorf("person's dashboard %s deleted", u)
				}
			}
			for _, u := range w.stale {
				if folder[u] == gone[u] {
					t.Errorf("stale dashboard %s: in Grafana %v, want %v", u, folder[u], !gone[u])
				}
			}
			if !in("elsewhere")["slo-orders"] || !in("")["red-orders"] {
				t.Error("a dashboard in another folder was deleted")
			}
			deletes := 0
			for _, g := range gone {
				if g {
					deletes++
				}
			}
			if w.srv.DashboardDeletes() != deletes {
				t.Errorf("%d deletes, want %d", w.srv.DashboardDeletes(), deletes)
			}

			searches := 0
			for _, r := range w.srv.Requests()[before:] {
				if r.Path == "/api/search" {
					searches++
				}
			}
			if tc.wantSearches != 0 && searches != tc.wantSearches || tc.noKeep && searches != 0 {
				t.Errorf("%d searches, want %d", searches, tc.wantSearches)
			}
			if tc.wantRetries && !strings.Contains(logs.String(), "retrying") {
				t.Error("retries not logged")
			}
		})
	}
}

// TestPushPruneCycle is the daemon's loop: push, prune with what was
// pushed; a service that comes back is pushed again even though the client
// remembers pushing it.
func TestPushPruneCycle(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	c, _ := newClient(t, srv, editorToken, func(c *Config) { c.VerifyEvery = time.Hour })
	ctx := context.Background()
	cycle := func(services ...string) (PushResult, PruneResult) {
		t.Helper()
		pushed, err := c.Push(ctx, specDashboards(services...), PushOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pruned, err := c.Prune(ctx, PruneOptions{Keep: pushed.Keep()})
		if err != nil {
			t.Fatal(err)
		}
		return pushed, pruned
	}
	pushed, pruned := cycle("checkout", "payments")
	if len(pruned.Deleted) != 0 || len(pushed.UIDs) != len(pushed.Written)+len(pushed.Unchanged) ||
		fmt.Sprint(pushed.UIDs) != fmt.Sprint(uidsOf(specDashboards("checkout", "payments"))) {
		t.Fatalf("first cycle: %+v %+v", pushed, pruned)
	}
	if _, pruned = cycle("checkout"); fmt.Sprint(pruned.Deleted) != "[red-payments slo-payments]" {
		t.Fatalf("payments removed: pruned %v", pruned.Deleted)
	}
	if got, want := srv.DashboardUIDs(dashboards.DefaultFolderUID), uidsOf(specDashboards("checkout")); fmt.Sprint(got) != fmt.Sprint(sorted(want)) {
		t.Errorf("Grafana has %v, want %v", got, want)
	}
	pushed, pruned = cycle("checkout", "payments")
	if !slices.Contains(pushed.Written, "slo-payments") || !slices.Contains(pushed.Written, "red-payments") || len(pruned.Deleted) != 0 {
		t.Errorf("payments back: pushed %+v, pruned %v", pushed, pruned.Deleted)
	}
	if _, _, _, _, ok := srv.Dashboard("slo-payments"); !ok {
		t.Error("slo-payments not restored")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSearch(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	srv.AddFolder("f", "F")
	for i := range 1001 {
		if err := srv.AddDashboard("f", map[string]any{"uid": fmt.Sprintf("d%04d", i), "title": fmt.Sprintf("Dashboard %04d", i),
			"tags": []any{"t", fmt.Sprintf("mod3-%d", i%3)}}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	cases := []struct {
		name     string
		q        SearchQuery
		want     int
		requests int
		first    string
	}{
		{"default page size, two pages", SearchQuery{FolderUIDs: []string{"f"}, Type: TypeDashboard}, 1001, 2, "d0000"},
		{"one page of 5000", SearchQuery{Limit: MaxSearchLimit, Type: TypeDashboard}, 1001, 1, "d0000"},
		{"small pages", SearchQuery{Tags: []string{"t", "mod3-0"}, Limit: 100}, 334, 4, "d0000"},
		{"exact pages end with an empty one", SearchQuery{Tags: []string{"mod3-2"}, Limit: 111}, 333, 4, "d0002"},
		{"from page 3", SearchQuery{Type: TypeDashboard, Limit: 400, Page: 3}, 201, 1, "d0800"},
		{"no hits", SearchQuery{Tags: []string{"nope"}}, 0, 1, ""},
		{"folders", SearchQuery{Type: TypeFolder}, 1, 1, "f"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Requests())
			hits, err := c.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			first := ""
			if len(hits) > 0 {
				first = hits[0].UID
			}
			if len(hits) != tc.want || first != tc.first || len(srv.Requests())-before != tc.requests {
				t.Errorf("%d hits from %q in %d requests, want %d from %q in %d", len(hits), first, len(srv.Requests())-before, tc.want, tc.first, tc.requests)
			}
		})
	}
	hits, _ := c.Search(ctx, SearchQuery{FolderUIDs: []string{"f"}, Tags: []string{"mod3-2"}})
	if h := hits[0]; h.UID != "d0002" || h.Title != "Dashboard 0002" || h.Type != TypeDashboard || h.FolderUID != "f" ||
		h.FolderTitle != "F" || h.URL != "/d/d0002/dashboard-0002" || fmt.Sprint(h.Tags) != "[t mod3-2]" {
		t.Errorf("hit %+v", h)
	}

	before := len(srv.Requests())
	for _, q := range []SearchQuery{{Limit: MaxSearchLimit + 1}, {Limit: -1}, {Page: -1}, {Type: "dashboard"}} {
		if _, err := c.Search(ctx, q); err == nil {
			t.Errorf("%+v accepted", q)
		}
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("invalid queries sent %d requests", n)
	}
}

// TestSearchServerIgnoresPage: a server answering every page with the
// same full page does not make Search loop.
func TestSearchServerIgnoresPage(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewEncoder(w).Encode([]SearchHit{{UID: "a", Type: TypeDashboard}, {UID: "b", Type: TypeDashboard}})
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Token: editorToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Search(context.Background(), SearchQuery{Limit: 2})
	if err == nil || !strings.Contains(err.Error(), "does not page") || calls.Load() != 2 {
		t.Errorf("%v after %d calls", err, calls.Load())
	}
	// Prune does not delete anything then either.
	if _, err := c.Prune(context.Background(), PruneOptions{Keep: map[string]bool{"x": true}, PageSize: 2}); err == nil {
		t.Error("prune succeeded")
	}
}

// TestPruneDistrustsServerFilters: a Grafana that ignores folderUIDs and
// tag (Grafana 8 does not know folderUIDs) cannot make Prune delete
// outside the folder or without the tag.
func TestPruneDistrustsServerFilters(t *testing.T) {
	hits := []SearchHit{
		{UID: "slo-a", Type: TypeDashboard, FolderUID: "other", Tags: []string{"slokeeper", "service:a"}},
		{UID: "slo-b", Type: TypeDashboard, FolderUID: "slokeeper", Tags: []string{"service:b"}},
		{UID: "slo-c", Type: TypeDashboard, Tags: []string{"slokeeper", "service:c"}},
		{UID: "slokeeper", Type: TypeFolder, Tags: []string{"slokeeper"}},
		{UID: "slo-d", Type: TypeDashboard, FolderUID: "slokeeper", Tags: []string{"slokeeper", "service:d"}},
	}
	var deleted []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deleted = append(deleted, strings.TrimPrefix(r.URL.Path, "/api/dashboards/uid/"))
			_, _ = w.Write([]byte(`{"message":"deleted"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(hits)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Token: editorToken})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Prune(context.Background(), PruneOptions{Keep: map[string]bool{"x": true}})
	if err != nil || fmt.Sprint(res.Deleted) != "[slo-d]" || fmt.Sprint(deleted) != "[slo-d]" {
		t.Errorf("%v: result %v, deleted %v", err, res.Deleted, deleted)
	}
}

func TestDeleteDashboard(t *testing.T) {
	srv := grafanatest.NewServer(editorToken, "")
	defer srv.Close()
	c, _ := newClient(t, srv, editorToken, nil)
	ctx := context.Background()
	ds := specDashboards("checkout")[:2]
	if _, err := c.Push(ctx, ds, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDashboard(ctx, ds[0].UID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetDashboard(ctx, ds[0].UID); !errors.Is(err, ErrNotFound) {
		t.Errorf("read after delete: %v", err)
	}
	if err := c.DeleteDashboard(ctx, ds[0].UID); err != nil {
		t.Errorf("deleting again (404): %v", err)
	}
	if err := c.DeleteDashboard(ctx, ""); err == nil {
		t.Error("empty uid accepted")
	}
	if srv.DashboardDeletes() != 1 {
		t.Errorf("%d deletes", srv.DashboardDeletes())
	}
}
