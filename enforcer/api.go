package enforcer

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/gate"
	"github.com/slokeeper/slokeeper/report"
	"github.com/slokeeper/slokeeper/store"
)

// Handler serves the gate and the freeze API:
//
//	GET    /api/v1/freeze?service=S[&exempt=K]  the gate's decision
//	POST   /api/v1/freeze/exemptions           record an exemption used
//	GET    /api/v1/freeze/history?service=S    decisions, newest first
//	GET    /api/v1/freezes                     active manual freezes
//	POST   /api/v1/freezes                     start a manual freeze (token)
//	DELETE /api/v1/freezes/{service}           end its manual freezes (token)
//	GET    /api/v1/freezes/history             freeze periods (the report's)
//	GET    /api/v1/freezes/services            every service's state
func (e *Enforcer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/freeze", e.gateHandler)
	mux.HandleFunc("POST /api/v1/freeze/exemptions", e.exemptionHandler)
	mux.HandleFunc("GET /api/v1/freeze/history", e.historyHandler)
	mux.HandleFunc("GET /api/v1/freezes", e.listManual)
	mux.HandleFunc("POST /api/v1/freezes", e.startManual)
	mux.HandleFunc("DELETE /api/v1/freezes/{service}", e.stopManual)
	mux.Handle("GET "+report.FreezeHistoryPath, report.FreezeHistoryHandler(e))
	mux.HandleFunc("GET /api/v1/freezes/services", e.servicesHandler)
	return mux
}

// known says whether a spec defines the service (or it has a state).
func (e *Enforcer) known(service string) bool {
	for _, s := range e.src.SLOs() {
		if s.Service == service {
			return true
		}
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	_, ok := e.states[service]
	return ok
}

// Decide is the gate's answer for a change to service carrying exemption
// ("" for none).
func (e *Enforcer) Decide(service, exemption string) gate.Decision {
	st, p, _ := e.State(service)
	d := freeze.Check(st, exemption, p)
	now := e.now()
	snap := e.src.Snapshot()
	out := gate.Decision{
		Service: service, Frozen: d.Frozen, Allowed: d.Allowed, Exempted: d.Exempted, Exemption: d.Exemption,
		Sources: nonNil(d.Sources), Reasons: nonNil(d.Reasons), Until: d.Until, Policy: d.Policy,
		Budget: map[string]*float64{}, Exemptions: nonNil(p.Exemptions),
		Stale: snap.Stale(now, e.src.StaleAfter()), Warning: st.Warning,
	}
	if !d.Since.IsZero() {
		t := d.Since.UTC()
		out.Since = &t
	}
	for _, s := range e.src.SLOs() {
		if s.Service != service {
			continue
		}
		out.Budget[s.Name] = nil
		if b := snap.Statuses[s.ID()]; b != nil && b.BudgetRemaining != nil {
			v := *b.BudgetRemaining
			out.Budget[s.Name] = &v
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *Enforcer) gateHandler(w http.ResponseWriter, r *http.Request) {
	svc := r.URL.Query().Get("service")
	ex := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("exempt")))
	if svc == "" {
		e.m.gate.WithLabelValues("check", "bad_request").Inc()
		httpError(w, http.StatusBadRequest, "the service parameter is required")
		return
	}
	if !e.known(svc) {
		e.m.gate.WithLabelValues("check", "not_found").Inc()
		httpError(w, http.StatusNotFound, fmt.Sprintf("no SLO of service %q is loaded", svc))
		return
	}
	d := e.Decide(svc, ex)
	result := "allowed"
	switch {
	case !d.Allowed:
		result = "frozen"
	case d.Exempted:
		result = "exempted"
	}
	e.m.gate.WithLabelValues("check", result).Inc()
	writeJSON(w, http.StatusOK, d)
}

func (e *Enforcer) exemptionHandler(w http.ResponseWriter, r *http.Request) {
	var req gate.Exemption
	if !decode(w, r, &req) {
		return
	}
	req.Kind = strings.ToLower(strings.TrimSpace(req.Kind))
	switch {
	case req.Service == "" || req.Kind == "" || strings.TrimSpace(req.Author) == "":
		httpError(w, http.StatusBadRequest, "service, kind and author are required")
		return
	case len(req.Author) > gate.MaxAuthor || len(req.Change) > gate.MaxChange:
		httpError(w, http.StatusBadRequest, fmt.Sprintf("author (at most %d bytes) or change (at most %d bytes) is too long", gate.MaxAuthor, gate.MaxChange))
		return
	case !e.known(req.Service):
		httpError(w, http.StatusNotFound, fmt.Sprintf("no SLO of service %q is loaded", req.Service))
		return
	}
	st, p, _ := e.State(req.Service)
	d := freeze.Check(st, req.Kind, p)
	if !d.Exempted {
		e.m.gate.WithLabelValues("exemption", "refused").Inc()
		msg := "the service is not frozen: no exemption is needed"
		if d.Frozen {
			msg = fmt.Sprintf("exemption %q is not accepted by the service's policy", req.Kind)
		}
		httpError(w, http.StatusConflict, msg)
		return
	}
	now := e.now()
	ev := freeze.ExemptionEvent(d, req.Change, req.Author, now)
	items, err := e.outboxItems(ev, e.src.SLOs(), e.src.Snapshot())
	if err == nil {
		_, err = e.st.RecordEvent(r.Context(), ev, store.AuditEntry{
			At: now, Actor: req.Author, Action: "exemption_used", Service: req.Service,
			Detail: fmt.Sprintf("%s exemption for change %q from %s", req.Kind, req.Change, clientAddr(r)),
		}, items)
	}
	if err != nil {
		e.m.gate.WithLabelValues("exemption", "error").Inc()
		httpError(w, http.StatusInternalServerError, "recording the exemption: "+err.Error())
		return
	}
	e.m.gate.WithLabelValues("exemption", "recorded").Inc()
	e.log.Info("exemption used", "service", req.Service, "kind", req.Kind, "change", req.Change, "author", req.Author)
	e.wakeSender()
	writeJSON(w, http.StatusCreated, req)
}

func (e *Enforcer) historyHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			httpError(w, http.StatusBadRequest, "limit must be an integer from 1 to 10000")
			return
		}
		limit = n
	}
	hs, err := e.st.History(r.Context(), store.HistoryQuery{Service: q.Get("service"), Limit: limit})
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if hs == nil {
		hs = []store.HistoryEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"decisions": hs})
}

func (e *Enforcer) listManual(w http.ResponseWriter, r *http.Request) {
	ms, err := e.st.ActiveManual(r.Context(), e.now())
	if err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := []gate.ManualFreeze{}
	for _, m := range ms {
		out = append(out, toGate(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"freezes": out})
}

func toGate(m freeze.Manual) gate.ManualFreeze {
	start := m.Start.UTC()
	return gate.ManualFreeze{ID: m.ID, Service: m.Service, Action: m.Action, Reason: m.Reason, Author: m.Author, Start: &start, Until: m.Until}
}

// Errors of the manual freeze calls.
var (
	ErrUnauthorized = errors.New("a valid bearer token is required")
	ErrDisabled     = errors.New("manual freezes are disabled: no API token is configured (freeze.api.token_file or token_env)")
	ErrInvalid      = errors.New("invalid request")
	ErrNotFound     = errors.New("not found")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkToken compares token with the configured one in constant time;
// refusals are audited with who asked (from).
func (e *Enforcer) checkToken(ctx context.Context, token, action, service, from string) error {
	want := ""
	if e.opts.Token != nil {
		t, err := e.opts.Token()
		if err != nil {
			e.log.Error("reading the API token", "err", err)
			return fmt.Errorf("the API token cannot be read")
		}
		want = t
	}
	if want == "" {
		e.m.gate.WithLabelValues(action, "disabled").Inc()
		return ErrDisabled
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want)) != 1 {
		e.m.gate.WithLabelValues(action, "unauthorized").Inc()
		if err := e.st.Audit(ctx, store.AuditEntry{
			At: e.now(), Actor: "unauthenticated " + from, Action: action + "_refused", Service: service,
			Detail: "missing or invalid bearer token",
		}); err != nil {
			e.log.Warn("auditing a refused call", "err", err)
		}
		return ErrUnauthorized
	}
	return nil
}

// StartManual starts a manual freeze (action freeze) or override (action
// unfreeze) of service, after checking token; the state is re-evaluated at
// once, so the gate answers accordingly when it returns.
func (e *Enforcer) StartManual(ctx context.Context, token, service, action, reason, author string, until *time.Time) (freeze.Manual, error) {
	if err := e.checkToken(ctx, token, "manual_freeze", service, author); err != nil {
		return freeze.Manual{}, err
	}
	now := e.now()
	if action == "" {
		action = freeze.ActionFreeze
	}
	switch {
	case service == "" || strings.TrimSpace(reason) == "" || strings.TrimSpace(author) == "":
		return freeze.Manual{}, invalid("service, reason and author are required")
	case action != freeze.ActionFreeze && action != freeze.ActionUnfreeze:
		return freeze.Manual{}, invalid("action must be freeze or unfreeze")
	case len(reason) > gate.MaxReason || len(author) > gate.MaxAuthor:
		return freeze.Manual{}, invalid("reason (at most %d bytes) or author (at most %d bytes) is too long", gate.MaxReason, gate.MaxAuthor)
	case until != nil && !until.After(now):
		return freeze.Manual{}, invalid("until must be in the future")
	case !e.known(service):
		return freeze.Manual{}, fmt.Errorf("%w: no SLO of service %q is loaded", ErrNotFound, service)
	}
	m := freeze.Manual{Service: service, Action: action, Reason: reason, Author: author, Start: now, Until: until}
	id, err := e.st.AddManual(ctx, m, now)
	if err != nil {
		e.m.gate.WithLabelValues("manual_freeze", "error").Inc()
		return freeze.Manual{}, err
	}
	m.ID = id
	e.m.gate.WithLabelValues("manual_freeze", "accepted").Inc()
	e.log.Info("manual freeze started", "service", service, "action", action, "author", author, "id", id)
	if err := e.Evaluate(ctx); err != nil {
		e.log.Error("evaluating after a manual freeze", "err", err)
	}
	return m, nil
}

// StopManual ends the service's manual entries after checking token.
func (e *Enforcer) StopManual(ctx context.Context, token, service, author, reason string) error {
	if err := e.checkToken(ctx, token, "manual_unfreeze", service, author); err != nil {
		return err
	}
	if strings.TrimSpace(author) == "" {
		return invalid("author is required")
	}
	if len(reason) > gate.MaxReason || len(author) > gate.MaxAuthor {
		return invalid("reason or author is too long")
	}
	ids, err := e.st.EndManual(ctx, store.EndRequest{Service: service, By: author, Reason: reason, At: e.now()})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: service %q has no active manual freeze", ErrNotFound, service)
	}
	if err != nil {
		return err
	}
	e.m.gate.WithLabelValues("manual_unfreeze", "accepted").Inc()
	e.log.Info("manual freezes ended", "service", service, "ids", ids, "author", author)
	if err := e.Evaluate(ctx); err != nil {
		e.log.Error("evaluating after a manual unfreeze", "err", err)
	}
	return nil
}

// manualError answers a manual call's error.
func manualError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="slokeeper"`)
		httpError(w, http.StatusUnauthorized, err.Error())
	case errors.Is(err, ErrDisabled):
		httpError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, ErrInvalid):
		httpError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		httpError(w, http.StatusNotFound, err.Error())
	default:
		httpError(w, http.StatusInternalServerError, err.Error())
	}
}

func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return t
}

func (e *Enforcer) startManual(w http.ResponseWriter, r *http.Request) {
	var req gate.ManualFreeze
	if !decode(w, r, &req) {
		return
	}
	m, err := e.StartManual(r.Context(), bearer(r), req.Service, req.Action, req.Reason, req.Author, req.Until)
	if err != nil {
		manualError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toGate(m))
}

func (e *Enforcer) stopManual(w http.ResponseWriter, r *http.Request) {
	var req gate.Unfreeze
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	if err := e.StopManual(r.Context(), bearer(r), r.PathValue("service"), req.Author, req.Reason); err != nil {
		manualError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ServiceState is one service in GET /api/v1/freezes/services.
type ServiceState struct {
	Service string              `json:"service"`
	Policy  string              `json:"policy,omitempty"`
	Frozen  bool                `json:"frozen"`
	Warning bool                `json:"warning"`
	Sources []string            `json:"sources"`
	Reasons []string            `json:"reasons"`
	Since   *time.Time          `json:"since,omitempty"`
	Until   *time.Time          `json:"until,omitempty"`
	Episode string              `json:"episode,omitempty"`
	Manual  []gate.ManualFreeze `json:"manual,omitempty"`
}

// Services returns the state of every service with SLOs, by name.
func (e *Enforcer) Services() []ServiceState {
	names := map[string]bool{}
	for _, s := range e.src.SLOs() {
		names[s.Service] = true
	}
	out := make([]ServiceState, 0, len(names))
	for n := range names {
		st, p, _ := e.State(n)
		ss := ServiceState{Service: n, Policy: p.Name, Frozen: st.Frozen, Warning: st.Warning,
			Sources: nonNil(st.Sources), Reasons: nonNil(st.Reasons), Until: st.Until, Episode: st.Episode}
		if !st.Since.IsZero() {
			t := st.Since.UTC()
			ss.Since = &t
		}
		for _, m := range st.Manual {
			ss.Manual = append(ss.Manual, toGate(m))
		}
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

func (e *Enforcer) servicesHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"services": e.Services()})
}

// FreezePeriods implements report.FreezeHistory from the decisions: each
// freeze episode from its start to its lift (zero End while ongoing) that
// overlaps [from, to), with the union of its sources and reasons.
func (e *Enforcer) FreezePeriods(ctx context.Context, service string, from, to time.Time) ([]report.FreezePeriod, error) {
	hs, err := e.st.History(ctx, store.HistoryQuery{Service: service, Until: to, Limit: 10000})
	if err != nil {
		return nil, err
	}
	type ep struct {
		p    report.FreezePeriod
		srcs map[string]bool
		rs   map[string]bool
	}
	eps := map[string]*ep{}
	var order []string
	for i := len(hs) - 1; i >= 0; i-- { // oldest first
		h := hs[i]
		key := h.Service + "/" + h.Episode
		switch h.Kind {
		case freeze.KindFreezeStarted:
			eps[key] = &ep{p: report.FreezePeriod{Service: h.Service, Start: h.At}, srcs: map[string]bool{}, rs: map[string]bool{}}
			order = append(order, key)
		case freeze.KindFreezeLifted:
			if x := eps[key]; x != nil {
				x.p.End = h.At
			}
			continue
		}
		if x := eps[key]; x != nil && (h.Kind == freeze.KindFreezeStarted || h.Kind == freeze.KindFreezeUpdated) {
			for _, s := range h.Sources {
				if !x.srcs[s] {
					x.srcs[s] = true
					x.p.Sources = append(x.p.Sources, s)
				}
			}
			for _, r := range h.Reasons {
				if !x.rs[r] {
					x.rs[r] = true
					x.p.Reasons = append(x.p.Reasons, r)
				}
			}
		}
	}
	out := []report.FreezePeriod{}
	for _, k := range order {
		p := eps[k].p
		if p.Start.Before(to) && (p.End.IsZero() || p.End.After(from)) {
			out = append(out, p)
		}
	}
	return out, nil
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
