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
	"sync"
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

// listCache holds every SLO's list entry encoded once per budget read and
// reconcile, so that list requests only filter, sort and copy bytes.
type listCache struct {
	mu     sync.Mutex
	readAt time.Time
	gen    uint64
	ok     bool
	items  []json.RawMessage // aligned with state.slos
}

// listItems returns the encoded entries of state.slos for snap. The caller
// holds d.mu for reading.
func (d *Daemon) listItems(snap budget.Snapshot) []json.RawMessage {
	c := &d.list
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.readAt.Equal(snap.ReadAt) && c.gen == d.state.gen {
		return c.items
	}
	kept := toSet(d.state.keptSLOs)
	items := make([]json.RawMessage, len(d.state.slos))
	for i := range d.state.slos {
		b, err := json.Marshal(d.summary(&d.state.slos[i], snap, kept, nil))
		if err != nil { // cannot happen: plain data
			b = []byte("null")
		}
		items[i] = b
	}
	c.readAt, c.gen, c.ok, c.items = snap.ReadAt, d.state.gen, true, items
	return items
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
	sortBy := q.Get("sort")
	switch sortBy {
	case "", "id", "budget", "burn_rate":
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
	now := time.Now()
	snap := d.reader.Snapshot()
	type entry struct {
		key  float64
		item json.RawMessage
	}
	var sel []entry
	d.mu.RLock()
	items := d.listItems(snap)
	for i := range d.state.slos {
		s := &d.state.slos[i]
		if svc := q.Get("service"); svc != "" && s.Service != svc {
			continue
		}
		if team := q.Get("team"); team != "" && s.Team != team {
			continue
		}
		if labelK != "" && s.Labels[labelK] != labelV {
			continue
		}
		e := entry{item: items[i]}
		st := snap.Statuses[s.ID()]
		switch sortBy {
		case "budget": // least budget first; unknown last
			e.key = budgetKey(st)
		case "burn_rate": // fastest burn first
			e.key = -maxBurn(st)
		}
		sel = append(sel, e)
	}
	d.mu.RUnlock()
	if sortBy == "budget" || sortBy == "burn_rate" {
		sort.SliceStable(sel, func(i, j int) bool { return sel[i].key < sel[j].key })
	}
	total := len(sel)
	sel = sel[min(offset, total):min(offset+limit, total)]
	fresh, _ := json.Marshal(d.freshness(snap, now))
	var buf bytes.Buffer
	size := 256
	for _, e := range sel {
		size += len(e.item) + 1
	}
	buf.Grow(size)
	buf.WriteString(`{"slos":[`)
	for i, e := range sel {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(e.item)
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
