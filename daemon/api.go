package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// maxBody is the largest request body accepted.
const maxBody = 64 << 10

// NewServer returns the HTTP server of the daemon at addr, with timeouts
// and header limits set.
func (d *Daemon) NewServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           d.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // POST /-/reload waits for a reconcile
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Handler serves the API, the health endpoints and /metrics.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/slos", d.listSLOs)
	mux.HandleFunc("GET /api/v1/slos/{service}/{name}", d.getSLO)
	mux.HandleFunc("GET /api/v1/services", d.listServices)
	mux.HandleFunc("GET /api/v1/status", d.status)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "slokeeper is healthy.\n") })
	mux.HandleFunc("GET /-/ready", d.ready)
	mux.HandleFunc("POST /-/reload", d.reloadHandler)
	mux.HandleFunc("PUT /-/reload", d.reloadHandler)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		mux.ServeHTTP(w, r)
	})
}

// staleAfter is how old a budget read may be before it is stale: three
// read intervals, so one slow or failed read alone does not flap.
func (d *Daemon) staleAfter() time.Duration { return 3 * d.reader.Interval() }

// Freshness describes the budget data a response carries.
type Freshness struct {
	ReadAt     *time.Time `json:"read_at,omitempty"`
	AgeSeconds float64    `json:"age_seconds"`
	Stale      bool       `json:"stale"`
	LastError  string     `json:"last_error,omitempty"`
}

func (d *Daemon) freshness(s budget.Snapshot, now time.Time) Freshness {
	f := Freshness{AgeSeconds: s.Age(now).Seconds(), Stale: s.Stale(now, d.staleAfter()), LastError: s.LastError}
	if !s.ReadAt.IsZero() {
		t := s.ReadAt.UTC()
		f.ReadAt = &t
	}
	return f
}

// SLOSummary is one SLO in lists.
type SLOSummary struct {
	ID          string            `json:"id"`
	Service     string            `json:"service"`
	Name        string            `json:"name"`
	Team        string            `json:"team,omitempty"`
	Description string            `json:"description,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Objective   float64           `json:"objective"`
	Period      string            `json:"period"`
	SLIKind     string            `json:"sli_kind"`
	Source      string            `json:"source"`
	// KeptFromLastGood is set when the SLO's file now has errors and this
	// is its last good version.
	KeptFromLastGood bool           `json:"kept_from_last_good,omitempty"`
	Status           *budget.Status `json:"status,omitempty"`
	// Freshness is in the detail; a list carries one for all its entries.
	Freshness *Freshness `json:"freshness,omitempty"`
}

// SLODetail is GET /api/v1/slos/{service}/{name}.
type SLODetail struct {
	SLOSummary
	GroupBy []string     `json:"group_by,omitempty"`
	Rules   []rules.Rule `json:"rules"`
}

// summary describes s; with now it carries the freshness of snap at now.
func (d *Daemon) summary(s *slo.SLO, snap budget.Snapshot, kept map[string]bool, now *time.Time) SLOSummary {
	sum := SLOSummary{
		ID: s.ID(), Service: s.Service, Name: s.Name, Team: s.Team, Description: s.Description,
		Labels: s.Labels, Objective: s.Objective, Period: s.Period.String(), SLIKind: s.SLI.Kind.String(),
		Source: s.Source.File, KeptFromLastGood: kept[s.ID()],
	}
	if now != nil {
		f := d.freshness(snap, *now)
		sum.Freshness = &f
	}
	if st, ok := snap.Statuses[s.ID()]; ok {
		sum.Status = st
	}
	return sum
}

// List paging: GET /api/v1/slos returns at most limit SLOs (default
// defaultListLimit, at most maxListLimit) from offset.
const (
	defaultListLimit = 500
	maxListLimit     = 10000
)

// listView is GET /api/v1/slos's data: every SLO's entry JSON-encoded
// once per budget read and reconcile, with the sort keys, built off the
// request path (after each read and reconcile), so that list requests
// only filter, sort and copy bytes.
type listView struct {
	snap      budget.Snapshot
	gen       uint64
	slos      []slo.SLO         // state.slos it was built from
	items     []json.RawMessage // aligned with slos
	budgetKey []float64         // least budget first; unknown last
	burnKey   []float64         // fastest burn first
}

// refreshList builds the list view of the current SLOs and snapshot
// unless it is up to date. Builds are serialized; requests keep using the
// previous view meanwhile.
func (d *Daemon) refreshList() *listView {
	d.listBuild.Lock()
	defer d.listBuild.Unlock()
	snap := d.reader.Snapshot()
	d.mu.RLock()
	slos, gen, keptIDs := d.state.slos, d.state.gen, d.state.keptSLOs
	d.mu.RUnlock()
	old := d.list.Load()
	if old != nil && old.gen == gen && old.snap.ReadAt.Equal(snap.ReadAt) {
		if !old.snap.LastAttempt.Equal(snap.LastAttempt) || old.snap.LastError != snap.LastError {
			// A failed read: the same entries, a new freshness.
			v := *old
			v.snap = snap
			d.list.Store(&v)
			return &v
		}
		return old
	}
	kept := toSet(keptIDs)
	v := &listView{snap: snap, gen: gen, slos: slos,
		items: make([]json.RawMessage, len(slos)), budgetKey: make([]float64, len(slos)), burnKey: make([]float64, len(slos))}
	for i := range slos {
		sum := d.summary(&slos[i], snap, kept, nil)
		b, err := json.Marshal(sum)
		if err != nil { // cannot happen: plain data
			b = []byte("null")
		}
		v.items[i], v.budgetKey[i], v.burnKey[i] = b, budgetKey(sum.Status), -maxBurn(sum.Status)
	}
	d.list.Store(v)
	return v
}

// listView returns the latest list view, building the first one.
func (d *Daemon) listView() *listView {
	if v := d.list.Load(); v != nil {
		return v
	}
	return d.refreshList()
}

func (d *Daemon) listSLOs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var labelK, labelV string
	if l := q.Get("label"); l != "" {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			httpError(w, http.StatusBadRequest, "label must be name=value")
			return
		}
		labelK, labelV = k, v
	}
	var keys []float64
	v := d.listView()
	switch q.Get("sort") {
	case "", "id":
	case "budget":
		keys = v.budgetKey
	case "burn_rate":
		keys = v.burnKey
	default:
		httpError(w, http.StatusBadRequest, "sort must be id, budget or burn_rate")
		return
	}
	limit, offset := defaultListLimit, 0
	for _, p := range []struct {
		name   string
		v      *int
		lo, hi int
	}{{"limit", &limit, 1, maxListLimit}, {"offset", &offset, 0, 1 << 30}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.lo || n > p.hi {
				httpError(w, http.StatusBadRequest, fmt.Sprintf("%s must be an integer from %d to %d", p.name, p.lo, p.hi))
				return
			}
			*p.v = n
		}
	}
	svc, team := q.Get("service"), q.Get("team")
	// Unsorted (by ID, the order of the SLOs), only the page is kept.
	var sel []int
	total := 0
	for i := range v.slos {
		s := &v.slos[i]
		if (svc != "" && s.Service != svc) || (team != "" && s.Team != team) || (labelK != "" && s.Labels[labelK] != labelV) {
			continue
		}
		if keys != nil || (total >= offset && total < offset+limit) {
			sel = append(sel, i)
		}
		total++
	}
	if keys != nil {
		sort.SliceStable(sel, func(a, b int) bool { return keys[sel[a]] < keys[sel[b]] })
		sel = sel[min(offset, total):min(offset+limit, total)]
	}
	fresh, _ := json.Marshal(d.freshness(v.snap, time.Now()))
	var buf bytes.Buffer
	size := 256
	for _, i := range sel {
		size += len(v.items[i]) + 1
	}
	buf.Grow(size)
	buf.WriteString(`{"slos":[`)
	for n, i := range sel {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(v.items[i])
	}
	fmt.Fprintf(&buf, `],"total":%d,"offset":%d`, total, offset)
	if offset+len(sel) < total {
		fmt.Fprintf(&buf, `,"next_offset":%d`, offset+len(sel))
	}
	buf.WriteString(`,"freshness":`)
	buf.Write(fresh)
	buf.WriteString("}\n")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func budgetKey(st *budget.Status) float64 {
	if st == nil || st.BudgetRemaining == nil {
		return 1e300
	}
	return *st.BudgetRemaining
}

func maxBurn(st *budget.Status) float64 {
	m := -1.0
	if st != nil {
		for _, v := range st.BurnRate {
			m = max(m, v)
		}
	}
	return m
}

func (d *Daemon) getSLO(w http.ResponseWriter, r *http.Request) {
	id := budget.ID(r.PathValue("service"), r.PathValue("name"))
	now := time.Now()
	snap := d.reader.Snapshot()
	d.mu.RLock()
	s, ok := d.state.byID[id]
	var det SLODetail
	var sc slo.SLO
	if ok {
		det = SLODetail{SLOSummary: d.summary(s, snap, toSet(d.state.keptSLOs), &now), GroupBy: s.GroupBy}
		sc = *s
	}
	d.mu.RUnlock()
	if !ok {
		httpError(w, http.StatusNotFound, "no SLO "+id)
		return
	}
	det.Rules = d.sloRules(&sc)
	writeJSON(w, det)
}

// sloRules are the rules generated for the SLO: generation is pure and
// cheap for one SLO, so they are not kept in memory for every SLO.
func (d *Daemon) sloRules(s *slo.SLO) []rules.Rule {
	rs := []rules.Rule{}
	out, err := rules.Generate([]slo.SLO{*s}, d.ruleOptions())
	if err != nil {
		return rs
	}
	sr, ok := out.Service(s.Service)
	if !ok {
		return rs
	}
	for _, g := range sr.Groups {
		for _, r := range g.Rules {
			if r.Labels[rules.LabelSLO] == s.Name {
				rs = append(rs, r)
			}
		}
	}
	return rs
}

// ServiceSummary is one service of GET /api/v1/services.
type ServiceSummary struct {
	Service string   `json:"service"`
	Teams   []string `json:"teams,omitempty"`
	SLOs    int      `json:"slos"`
	// MinBudgetRemaining is the lowest budget of its SLOs (nil: unknown).
	MinBudgetRemaining *float64 `json:"min_budget_remaining,omitempty"`
	FiringAlerts       int      `json:"firing_alerts"`
}

func (d *Daemon) listServices(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	snap := d.reader.Snapshot()
	by := map[string]*ServiceSummary{}
	teams := map[string]map[string]bool{}
	d.mu.RLock()
	for i := range d.state.slos {
		s := &d.state.slos[i]
		ss := by[s.Service]
		if ss == nil {
			ss = &ServiceSummary{Service: s.Service}
			by[s.Service] = ss
			teams[s.Service] = map[string]bool{}
		}
		ss.SLOs++
		if s.Team != "" {
			teams[s.Service][s.Team] = true
		}
		if st := snap.Statuses[s.ID()]; st != nil {
			ss.FiringAlerts += len(st.Alerts)
			if b := st.BudgetRemaining; b != nil && (ss.MinBudgetRemaining == nil || *b < *ss.MinBudgetRemaining) {
				v := *b
				ss.MinBudgetRemaining = &v
			}
		}
	}
	d.mu.RUnlock()
	out := []ServiceSummary{}
	for _, name := range slo.SortedKeys(by) {
		ss := by[name]
		ss.Teams = slo.SortedKeys(teams[name])
		out = append(out, *ss)
	}
	writeJSON(w, map[string]any{"services": out, "freshness": d.freshness(snap, now)})
}

// Status is GET /api/v1/status: the last reconcile and the spec problems.
type Status struct {
	ReconciledAt *time.Time `json:"reconciled_at,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	SLOs         int        `json:"slos"`
	InvalidFiles []string   `json:"invalid_files"`
	KeptSLOs     []string   `json:"kept_from_last_good"`
	Problems     []string   `json:"problems"`
	Budget       Freshness  `json:"budget"`
}

func (d *Daemon) status(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	snap := d.reader.Snapshot()
	d.mu.RLock()
	st := Status{
		LastError: d.state.lastError, SLOs: len(d.state.slos),
		InvalidFiles: append([]string{}, d.state.invalidFiles...),
		KeptSLOs:     append([]string{}, d.state.keptSLOs...),
		Problems:     []string{},
		Budget:       d.freshness(snap, now),
	}
	if !d.state.reconciledAt.IsZero() {
		t := d.state.reconciledAt.UTC()
		st.ReconciledAt = &t
	}
	for _, p := range d.state.problems {
		st.Problems = append(st.Problems, p.String())
	}
	d.mu.RUnlock()
	writeJSON(w, st)
}

// ready: a reconcile ran and the budget data is fresh.
func (d *Daemon) ready(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	snap := d.reader.Snapshot()
	d.mu.RLock()
	reconciled := !d.state.reconciledAt.IsZero()
	d.mu.RUnlock()
	switch {
	case !reconciled:
		http.Error(w, "not ready: specs not loaded yet", http.StatusServiceUnavailable)
	case snap.ReadAt.IsZero():
		http.Error(w, "not ready: no budget read from Prometheus yet: "+snap.LastError, http.StatusServiceUnavailable)
	case snap.Stale(now, d.staleAfter()):
		http.Error(w, "not ready: budget data is stale (age "+snap.Age(now).Round(time.Second).String()+"): "+snap.LastError, http.StatusServiceUnavailable)
	default:
		io.WriteString(w, "slokeeper is ready.\n")
	}
}

func (d *Daemon) reloadHandler(w http.ResponseWriter, r *http.Request) {
	select {
	case err := <-d.Trigger():
		if err != nil {
			http.Error(w, "reconcile failed: "+err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "reconciled\n")
	case <-r.Context().Done():
	}
}

func toSet(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
