package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// fakeRuler is an in-process Mimir ruler that enforces the documented
// configuration API (https://grafana.com/docs/mimir/latest/references/http-api/#ruler):
//
//	GET    /prometheus/config/v1/rules                    200 YAML {namespace: [group]}; 404 when none
//	GET    /prometheus/config/v1/rules/{namespace}        200 YAML {namespace: [group]}; 404 when none
//	POST   /prometheus/config/v1/rules/{namespace}        body: one rule group (YAML); 202
//	DELETE /prometheus/config/v1/rules/{namespace}/{group} 202; 404 when missing
//	DELETE /prometheus/config/v1/rules/{namespace}        202
//
// Every request needs X-Scope-OrgID (401 without); each tenant has its own
// rules. POST bodies must be application/yaml and parse and validate as a
// Prometheus rule group (rulefmt) with a name.
type fakeRuler struct {
	*httptest.Server

	mu       sync.Mutex
	tenants  map[string]map[string]map[string]rulefmt.RuleGroup // tenant -> namespace -> group name -> group
	faults   []rulerFault
	requests []string // "METHOD path status"
	posts    int      // accepted POSTs
	deletes  int      // accepted group DELETEs
}

// rulerFault answers the next Times requests of Method with Status.
type rulerFault struct {
	Method     string
	Status     int
	RetryAfter string
	Times      int
}

func newFakeRuler() *fakeRuler {
	f := &fakeRuler{tenants: map[string]map[string]map[string]rulefmt.RuleGroup{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeRuler) inject(fl rulerFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fl)
}

// groups lists "namespace/group" of a tenant, sorted.
func (f *fakeRuler) groups(tenant string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for ns, gs := range f.tenants[tenant] {
		for g := range gs {
			out = append(out, ns+"/"+g)
		}
	}
	sort.Strings(out)
	return out
}

func (f *fakeRuler) group(tenant, ns, name string) (rulefmt.RuleGroup, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.tenants[tenant][ns][name]
	return g, ok
}

func (f *fakeRuler) put(tenant, ns string, g rulefmt.RuleGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tenants[tenant] == nil {
		f.tenants[tenant] = map[string]map[string]rulefmt.RuleGroup{}
	}
	if f.tenants[tenant][ns] == nil {
		f.tenants[tenant][ns] = map[string]rulefmt.RuleGroup{}
	}
	f.tenants[tenant][ns][g.Name] = g
}

func (f *fakeRuler) counts() (posts, deletes int, requests []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts, f.deletes, append([]string(nil), f.requests...)
}

func (f *fakeRuler) serve(w http.ResponseWriter, r *http.Request) {
	status, ctype, body := 0, "", ""
	f.mu.Lock()
	for i := range f.faults {
		fl := &f.faults[i]
		if fl.Times > 0 && (fl.Method == "" || fl.Method == r.Method) {
			fl.Times--
			status, ctype, body = fl.Status, "text/plain", "injected fault\n"
			if fl.RetryAfter != "" {
				w.Header().Set("Retry-After", fl.RetryAfter)
			}
			break
		}
	}
	f.mu.Unlock()
	if status == 0 {
		status, ctype, body = f.handle(r)
	}
	f.mu.Lock()
	f.requests = append(f.requests, fmt.Sprintf("%s %s %d", r.Method, r.URL.EscapedPath(), status))
	f.mu.Unlock()
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const rulerPath = "/prometheus/config/v1/rules"

func (f *fakeRuler) handle(r *http.Request) (status int, ctype, body string) {
	p := r.URL.EscapedPath()
	if p != rulerPath && !strings.HasPrefix(p, rulerPath+"/") {
		return http.StatusNotFound, "text/plain", "404 page not found\n"
	}
	tenant := r.Header.Get("X-Scope-OrgID")
	if tenant == "" {
		return http.StatusUnauthorized, "text/plain", "no org id\n"
	}
	var parts []string
	for _, s := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(p, rulerPath), "/"), "/") {
		if s == "" {
			continue
		}
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return http.StatusBadRequest, "text/plain", "invalid path segment\n"
		}
		parts = append(parts, u)
	}
	switch {
	case r.Method == http.MethodGet && len(parts) <= 1:
		return f.list(tenant, parts)
	case r.Method == http.MethodPost && len(parts) == 1:
		return f.post(r, tenant, parts[0])
	case r.Method == http.MethodDelete && len(parts) == 2:
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.tenants[tenant][parts[0]][parts[1]]; !ok {
			return http.StatusNotFound, "application/json", `{"status":"error","errorType":"not_found","error":"group does not exist"}`
		}
		delete(f.tenants[tenant][parts[0]], parts[1])
		if len(f.tenants[tenant][parts[0]]) == 0 {
			delete(f.tenants[tenant], parts[0])
		}
		f.deletes++
		return http.StatusAccepted, "application/json", `{"status":"success","data":null,"errorType":"","error":""}`
	case r.Method == http.MethodDelete && len(parts) == 1:
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.tenants[tenant], parts[0])
		return http.StatusAccepted, "application/json", `{"status":"success","data":null,"errorType":"","error":""}`
	}
	return http.StatusMethodNotAllowed, "text/plain", "method not allowed\n"
}

func (f *fakeRuler) list(tenant string, parts []string) (int, string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]rulefmt.RuleGroup{}
	for ns, gs := range f.tenants[tenant] {
		if len(parts) == 1 && ns != parts[0] {
			continue
		}
		for _, name := range sortedKeys(gs) {
			out[ns] = append(out[ns], gs[name])
		}
	}
	if len(out) == 0 {
		return http.StatusNotFound, "text/plain", "no rule groups found\n"
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return http.StatusInternalServerError, "text/plain", err.Error()
	}
	return http.StatusOK, "application/yaml", string(b)
}

func (f *fakeRuler) post(r *http.Request, tenant, ns string) (int, string, string) {
	if ct := r.Header.Get("Content-Type"); ct != "application/yaml" {
		return http.StatusBadRequest, "text/plain", fmt.Sprintf("unsupported content type %q: want application/yaml\n", ct)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return http.StatusBadRequest, "text/plain", err.Error()
	}
	var g rulefmt.RuleGroup
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&g); err != nil {
		return http.StatusBadRequest, "text/plain", "invalid rule group: " + err.Error() + "\n"
	}
	if g.Name == "" {
		return http.StatusBadRequest, "text/plain", "invalid rules config: rule group name must not be empty\n"
	}
	// Validate as Prometheus does: the group wrapped in a rule file.
	var file strings.Builder
	file.WriteString("groups:\n-\n")
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l != "" {
			file.WriteString("  " + l)
		}
	}
	if _, errs := rulefmt.Parse([]byte(file.String()), false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler)); len(errs) > 0 {
		return http.StatusBadRequest, "text/plain", fmt.Sprintf("invalid rules config: %v\n", errs)
	}
	f.put(tenant, ns, g)
	f.mu.Lock()
	f.posts++
	f.mu.Unlock()
	return http.StatusAccepted, "application/json", `{"status":"success","data":null,"errorType":"","error":""}`
}
