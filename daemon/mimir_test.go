package daemon

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/slokeeper/slokeeper/config"
)

const tenant = "team-a"

// newMimirDaemon is a daemon in mimir mode against ruler, reading specs
// from dir; tenant "" leaves X-Scope-OrgID out.
func newMimirDaemon(t *testing.T, dir, rulerURL, tenant string) *Daemon {
	t.Helper()
	ten := ""
	if tenant != "" {
		ten = ", tenant: " + tenant
	}
	cfg, err := config.Parse(filepath.Join(dir, "c.yml"), []byte(fmt.Sprintf(
		"specs: [%q]\nprometheus: {url: 'http://127.0.0.1:1'}\nrules: {mode: mimir, reload_timeout: 5s, mimir: {url: %q%s}}\nintervals: {budget_read: 1h}\n",
		dir+"/*.yaml", rulerURL, ten)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, Options{Querier: &fakeProm{}})
	if err != nil {
		t.Fatal(err)
	}
	d.mimir.minBackoff, d.mimir.maxBackoff = 5*time.Millisecond, 50*time.Millisecond
	return d
}

func writeSpec(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMimirDelivery(t *testing.T) {
	ruler := newFakeRuler()
	defer ruler.Close()
	// A foreign namespace, and a group a previous run left in ours.
	ruler.put(tenant, "other", rulefmt.RuleGroup{Name: "mine", Rules: []rulefmt.Rule{{Record: "x:y", Expr: "vector(1)"}}})
	ruler.put(tenant, "slokeeper-a", rulefmt.RuleGroup{Name: "slo:a:old", Rules: []rulefmt.Rule{{Record: "x:y", Expr: "vector(1)"}}})
	dir := t.TempDir()
	writeSpec(t, dir, "a.yaml", spec("a", "99.9"))
	writeSpec(t, dir, "b.yaml", spec("b", "99"))
	d := newMimirDaemon(t, dir, ruler.URL, tenant)
	ctx := context.Background()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"other/mine",
		"slokeeper-a/slo:a:alerts", "slokeeper-a/slo:a:long", "slokeeper-a/slo:a:short",
		"slokeeper-b/slo:b:alerts", "slokeeper-b/slo:b:long", "slokeeper-b/slo:b:short"}
	if got := ruler.groups(tenant); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ruler holds %v\nwant %v", got, want)
	}
	g, _ := ruler.group(tenant, "slokeeper-a", "slo:a:alerts")
	if len(g.Rules) == 0 || g.Rules[0].Alert == "" {
		t.Errorf("alert group = %+v", g)
	}
	posts, deletes, _ := ruler.counts()
	if posts != 6 || deletes != 1 {
		t.Errorf("%d POSTs, %d DELETEs; want 6 and 1", posts, deletes)
	}
	// Nothing changed: no request at all.
	_, _, before := ruler.counts()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, after := ruler.counts(); len(after) != len(before) {
		t.Errorf("requests without a change: %v", after[len(before):])
	}
	// A changed objective: only a's changed groups are sent again.
	writeSpec(t, dir, "a.yaml", spec("a", "99.5"))
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, reqs := ruler.counts()
	for _, r := range reqs[len(before):] {
		if !strings.HasPrefix(r, "POST /prometheus/config/v1/rules/slokeeper-a 202") {
			t.Errorf("unexpected request after changing a: %s", r)
		}
	}
	if n := len(reqs) - len(before); n == 0 || n > 3 {
		t.Errorf("%d requests after changing a, want 1..3", n)
	}
	// A removed service: its groups are deleted, the foreign namespace stays.
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want = []string{"other/mine", "slokeeper-a/slo:a:alerts", "slokeeper-a/slo:a:long", "slokeeper-a/slo:a:short"}
	if got := ruler.groups(tenant); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after removing b the ruler holds %v", got)
	}
	// A group deleted behind slokeeper's back while it also vanishes from
	// the specs: the 404 of the DELETE is not an error.
	if _, _, err := d.mimir.do(ctx, http.MethodDelete, rulerPrefix+"/slokeeper-a/slo:a:alerts", nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := d.Reconcile(ctx); err != nil {
		t.Fatalf("a DELETE answered 404 failed the reconcile: %v", err)
	}
	if got := ruler.groups(tenant); len(got) != 1 || got[0] != "other/mine" {
		t.Errorf("after removing every spec the ruler holds %v", got)
	}
}

func TestMimirRetriesAndErrors(t *testing.T) {
	ruler := newFakeRuler()
	defer ruler.Close()
	dir := t.TempDir()
	writeSpec(t, dir, "a.yaml", spec("a", "99.9"))
	ctx := context.Background()

	// 503 then 429 (with Retry-After 0): retried, then delivered.
	d := newMimirDaemon(t, dir, ruler.URL, tenant)
	ruler.inject(rulerFault{Method: http.MethodPost, Status: http.StatusServiceUnavailable, Times: 1})
	ruler.inject(rulerFault{Method: http.MethodPost, Status: http.StatusTooManyRequests, RetryAfter: "0", Times: 1})
	if err := d.Reconcile(ctx); err != nil {
		t.Fatalf("not retried: %v", err)
	}
	if got := ruler.groups(tenant); len(got) != 3 {
		t.Errorf("ruler holds %v", got)
	}
	_, _, reqs := ruler.counts()
	if n := strings.Count(strings.Join(reqs, "\n"), "POST /prometheus/config/v1/rules/slokeeper-a "); n != 5 {
		t.Errorf("%d POSTs for 3 groups and 2 faults, want 5:\n%s", n, strings.Join(reqs, "\n"))
	}

	// Down for longer than the retries: an error, and the next reconcile
	// (after listing again) delivers what failed.
	writeSpec(t, dir, "a.yaml", spec("a", "99.5"))
	ruler.inject(rulerFault{Method: http.MethodPost, Status: http.StatusBadGateway, Times: 100})
	err := d.Reconcile(ctx)
	if err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("502s not reported: %v", err)
	}
	ruler.mu.Lock()
	ruler.faults = nil
	ruler.mu.Unlock()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	g, _ := ruler.group(tenant, "slokeeper-a", "slo:a:alerts")
	if len(g.Rules) == 0 || !strings.Contains(g.Rules[0].Annotations["description"], "99.5%") {
		t.Errorf("changed group not delivered after the outage: %+v", g.Rules)
	}

	// No tenant: 401 at once (no retry), with a hint.
	_, _, before := ruler.counts()
	d2 := newMimirDaemon(t, dir, ruler.URL, "")
	err = d2.Reconcile(ctx)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "tenant") {
		t.Fatalf("401 not reported clearly: %v", err)
	}
	if _, _, after := ruler.counts(); len(after)-len(before) != 1 {
		t.Errorf("a 401 was retried: %v", after[len(before):])
	}
}

// TestFakeRulerEnforcesAPI checks the fake refuses what Mimir refuses.
func TestFakeRulerEnforcesAPI(t *testing.T) {
	ruler := newFakeRuler()
	defer ruler.Close()
	do := func(method, path, ctype, tenant, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, ruler.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if tenant != "" {
			req.Header.Set("X-Scope-OrgID", tenant)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := "name: g\nrules:\n  - record: a:b\n    expr: vector(1)\n"
	for _, tc := range []struct {
		method, path, ctype, tenant, body string
		want                              int
	}{
		{"POST", rulerPath + "/ns", "application/yaml", "", good, 401},
		{"POST", rulerPath + "/ns", "application/json", "t", good, 400},
		{"POST", rulerPath + "/ns", "application/yaml", "t", "rules: []\n", 400},
		{"POST", rulerPath + "/ns", "application/yaml", "t", "name: g\nrules:\n  - record: a:b\n    expr: 'sum('\n", 400},
		{"POST", rulerPath + "/ns", "application/yaml", "t", "name: g\nbogus: 1\n", 400},
		{"GET", rulerPath, "", "t", "", 404},
		{"POST", rulerPath + "/ns", "application/yaml", "t", good, 202},
		{"GET", rulerPath, "", "t", "", 200},
		{"GET", rulerPath, "", "other", "", 404},
		{"GET", rulerPath + "/ns", "", "t", "", 200},
		{"DELETE", rulerPath + "/ns/nope", "", "t", "", 404},
		{"DELETE", rulerPath + "/ns/g", "", "t", "", 202},
		{"DELETE", rulerPath + "/ns/g", "", "t", "", 404},
		{"PUT", rulerPath + "/ns", "application/yaml", "t", good, 405},
		{"GET", "/api/v1/rules", "", "t", "", 404},
	} {
		if got := do(tc.method, tc.path, tc.ctype, tc.tenant, tc.body); got != tc.want {
			t.Errorf("%s %s (tenant %q, %q): %d, want %d", tc.method, tc.path, tc.tenant, tc.ctype, got, tc.want)
		}
	}
}

func TestMimirDriftRepair(t *testing.T) {
	ruler := newFakeRuler()
	defer ruler.Close()
	dir := t.TempDir()
	writeSpec(t, dir, "a.yaml", spec("a", "99.9"))
	d := newMimirDaemon(t, dir, ruler.URL, tenant)
	ctx := context.Background()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	// A resync without drift lists the ruler and sends nothing.
	_, _, before := ruler.counts()
	d.mimir.checkDrift()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, reqs := ruler.counts()
	for _, r := range reqs[len(before):] {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("resync without drift sent %s", r)
		}
	}
	// Someone deletes one of our groups and adds one in our namespace.
	if _, _, err := d.mimir.do(ctx, http.MethodDelete, rulerPrefix+"/slokeeper-a/slo:a:short", nil); err != nil {
		t.Fatal(err)
	}
	ruler.put(tenant, "slokeeper-a", rulefmt.RuleGroup{Name: "stray", Rules: []rulefmt.Rule{{Record: "x:y", Expr: "vector(1)"}}})
	// A plain reconcile trusts its memory; the resync's drift check repairs.
	d.mimir.checkDrift()
	if err := d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"slokeeper-a/slo:a:alerts", "slokeeper-a/slo:a:long", "slokeeper-a/slo:a:short"}
	if got := ruler.groups(tenant); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after the drift check the ruler holds %v, want %v", got, want)
	}
	_, _, after := ruler.counts()
	posts := 0
	for _, r := range after[len(reqs):] {
		if strings.HasPrefix(r, "POST ") {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("%d POSTs to repair one deleted group: %v", posts, after[len(reqs):])
	}
}
