// Package enforcer runs the error-budget policy in the daemon: after every
// budget read (and on manual changes, schedules and PagerDuty polls) it
// evaluates every service's freeze state with package freeze, records the
// decisions and their notifications in the state database in one
// transaction (the outbox), delivers the notifications exactly once, and
// serves the gate's HTTP API.
package enforcer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/pagerduty"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/store"
)

// Source is what the enforcer reads from the daemon: the SLOs applied and
// the last budget read.
type Source interface {
	// SLOs returns the applied SLOs; the caller must not modify them.
	SLOs() []slo.SLO
	Snapshot() budget.Snapshot
	// StaleAfter is how old a budget read may be before it is stale.
	StaleAfter() time.Duration
	// Loaded says whether the specs were loaded once: before, the
	// enforcer does not evaluate (it would see no service at all).
	Loaded() bool
}

// IncidentSource lists open PagerDuty incidents (pagerduty.IncidentSource).
type IncidentSource interface {
	OpenIncidents(ctx context.Context, serviceIDs []string, urgencies []string) ([]pagerduty.Incident, error)
}

// Options configure an Enforcer.
type Options struct {
	Store    *store.Store
	Policies freeze.PolicySet
	// Token returns the API bearer token of manual freezes; nil or "" disables them.
	Token func() (string, error)
	// Notifiers receive every notification, each exactly once.
	Notifiers []notify.Notifier
	// Incidents, when set, is polled every PollInterval for the services
	// whose policy has a pagerduty rule.
	Incidents    IncidentSource
	PollInterval time.Duration
	// Interval is the period of evaluations besides budget reads and
	// manual changes (schedules, expiries); default 15s.
	Interval time.Duration
	// DashboardURL and RunbookURL templates ({service}, {slo}, {team}) are
	// linked from notifications; UIURL is the daemon's UI.
	DashboardURL string
	UIURL        string
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time
}

// Enforcer evaluates and enforces the policies. Create it with New, start
// it with Run; its Handler serves the gate.
type Enforcer struct {
	src  Source
	opts Options
	log  *slog.Logger
	st   *store.Store
	now  func() time.Time

	evalMu   sync.Mutex // one evaluation at a time
	mu       sync.RWMutex
	states   map[string]freeze.State
	policies map[string]freeze.Policy
	lastRead time.Time

	incMu     sync.Mutex
	incidents map[string][]freeze.Incident // by PagerDuty service ID; absent: unknown

	wakeEval chan struct{}
	wakeSend chan struct{}
	m        metrics
}

type metrics struct {
	frozen, warning  *prometheus.GaugeVec
	decisions        *prometheus.CounterVec
	sent, failed     *prometheus.CounterVec
	pending          prometheus.Gauge
	evaluations      prometheus.Counter
	evaluationErrors prometheus.Counter
	gate             *prometheus.CounterVec
	incidentPolls    *prometheus.CounterVec
}

// New loads the stored states and returns an enforcer.
func New(ctx context.Context, src Source, opts Options) (*Enforcer, error) {
	if opts.Store == nil {
		return nil, errors.New("enforcer: a state store is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = 15 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Minute
	}
	seen := map[string]bool{}
	for _, n := range opts.Notifiers {
		if seen[n.Name()] {
			return nil, fmt.Errorf("enforcer: two notifiers named %q", n.Name())
		}
		seen[n.Name()] = true
	}
	states, err := opts.Store.States(ctx)
	if err != nil {
		return nil, err
	}
	e := &Enforcer{
		src: src, opts: opts, log: opts.Logger, st: opts.Store, now: opts.Now,
		states: states, policies: map[string]freeze.Policy{}, incidents: map[string][]freeze.Incident{},
		wakeEval: make(chan struct{}, 1), wakeSend: make(chan struct{}, 1),
	}
	e.initMetrics()
	return e, nil
}

func (e *Enforcer) initMetrics() {
	e.m = metrics{
		frozen:           prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "slokeeper_freeze_active", Help: "1 while the service's changes are frozen."}, []string{"service"}),
		warning:          prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "slokeeper_freeze_warning", Help: "1 while the service's budget is under its policy's warning level."}, []string{"service"}),
		decisions:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slokeeper_freeze_decisions_total", Help: "Freeze state changes recorded, by kind."}, []string{"kind"}),
		sent:             prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slokeeper_notifications_sent_total", Help: "Notifications delivered, by channel."}, []string{"channel"}),
		failed:           prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slokeeper_notifications_failed_total", Help: "Notification attempts that failed, by channel and whether they are retried (retry) or not (permanent)."}, []string{"channel", "reason"}),
		pending:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "slokeeper_notifications_pending", Help: "Notifications in the outbox not delivered yet."}),
		evaluations:      prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_freeze_evaluations_total", Help: "Policy evaluations."}),
		evaluationErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "slokeeper_freeze_evaluation_errors_total", Help: "Policy evaluations that could not be recorded."}),
		gate:             prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slokeeper_freeze_api_requests_total", Help: "Freeze API calls, by action and result."}, []string{"action", "result"}),
		incidentPolls:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slokeeper_pagerduty_incident_polls_total", Help: "PagerDuty incident polls, by result."}, []string{"result"}),
	}
	if r := e.opts.Registerer; r != nil {
		r.MustRegister(e.m.frozen, e.m.warning, e.m.decisions, e.m.sent, e.m.failed, e.m.pending,
			e.m.evaluations, e.m.evaluationErrors, e.m.gate, e.m.incidentPolls)
	}
	for _, n := range e.opts.Notifiers {
		e.m.sent.WithLabelValues(n.Name())
		for _, r := range []string{"retry", "permanent"} {
			e.m.failed.WithLabelValues(n.Name(), r)
		}
	}
}

// Run evaluates after every budget read, on Wake, and every Interval; it
// delivers the outbox and polls PagerDuty, until ctx ends.
func (e *Enforcer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); e.sendLoop(ctx) }()
	go func() { defer wg.Done(); e.pollLoop(ctx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-e.wakeEval:
		case <-tick.C:
			snap := e.src.Snapshot()
			if snap.LastAttempt.Equal(e.lastAttempt()) && e.now().Sub(last) < e.opts.Interval {
				continue
			}
		}
		last = e.now()
		if err := e.Evaluate(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("freeze policy evaluation failed", "err", err)
		}
	}
}

func (e *Enforcer) lastAttempt() time.Time {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.lastRead
}

// Wake asks for an evaluation soon (after a spec reload, say).
func (e *Enforcer) Wake() {
	select {
	case e.wakeEval <- struct{}{}:
	default:
	}
}

func (e *Enforcer) wakeSender() {
	select {
	case e.wakeSend <- struct{}{}:
	default:
	}
}

// Evaluate decides every service's state now, records the changes with
// their notifications, and wakes the sender.
func (e *Enforcer) Evaluate(ctx context.Context) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	if !e.src.Loaded() {
		return nil
	}
	e.m.evaluations.Inc()
	now := e.now()
	snap := e.src.Snapshot()
	slos := e.src.SLOs()
	ptrs := make([]*slo.SLO, len(slos))
	for i := range slos {
		ptrs[i] = &slos[i]
	}
	policies, probs := e.opts.Policies.Resolve(ptrs)
	for _, p := range probs {
		e.log.Debug("policy problem", "problem", p.String())
	}
	manual, err := e.st.ActiveManual(ctx, now)
	if err != nil {
		e.m.evaluationErrors.Inc()
		return err
	}
	in := freeze.Input{
		Now:          now,
		BudgetsFresh: !snap.Stale(now, e.src.StaleAfter()),
		SLOs:         statuses(slos, snap),
		Incidents:    e.incidentSnapshot(),
		Manual:       manual,
	}
	e.mu.RLock()
	prev := e.states
	e.mu.RUnlock()
	next, events := freeze.Evaluate(policies, prev, in)
	var outbox []store.OutboxItem
	for _, ev := range events {
		items, err := e.outboxItems(ev, slos, snap)
		if err != nil {
			return err
		}
		outbox = append(outbox, items...)
	}
	if err := e.st.Commit(ctx, next, events, outbox); err != nil {
		e.m.evaluationErrors.Inc()
		return err
	}
	e.mu.Lock()
	e.states, e.policies, e.lastRead = next, policies, snap.LastAttempt
	e.mu.Unlock()
	e.publish(next)
	for _, ev := range events {
		e.m.decisions.WithLabelValues(ev.Kind).Inc()
		e.log.Info("freeze decision", "service", ev.Service, "kind", ev.Kind, "sources", strings.Join(ev.Sources, ","), "reasons", strings.Join(ev.Reasons, "; "))
	}
	if len(outbox) > 0 {
		e.wakeSender()
	}
	return nil
}

// publish sets the per-service gauges.
func (e *Enforcer) publish(states map[string]freeze.State) {
	e.m.frozen.Reset()
	e.m.warning.Reset()
	for svc, s := range states {
		e.m.frozen.WithLabelValues(svc).Set(b2f(s.Frozen))
		e.m.warning.WithLabelValues(svc).Set(b2f(s.Warning))
	}
	for _, s := range e.src.SLOs() {
		e.m.frozen.WithLabelValues(s.Service).Add(0)
		e.m.warning.WithLabelValues(s.Service).Add(0)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// statuses turns a budget read into the engine's inputs. An SLO without
// data has a nil budget (it blocks a lift and never starts a freeze).
func statuses(slos []slo.SLO, snap budget.Snapshot) []freeze.SLOStatus {
	out := make([]freeze.SLOStatus, 0, len(slos))
	for i := range slos {
		s := &slos[i]
		st := freeze.SLOStatus{Service: s.Service, SLO: s.Name}
		if b := snap.Statuses[s.ID()]; b != nil {
			if b.BudgetRemaining != nil {
				v := *b.BudgetRemaining
				st.BudgetRemaining = &v
			}
			st.BurnRates = b.BurnRate
			for _, a := range b.Alerts {
				if a.Labels[rules.LabelClass] == "page" {
					st.PageAlertFiring = true
				}
			}
		}
		out = append(out, st)
	}
	return out
}

// notifyKinds maps the engine's event kinds to notifications; the others
// (freeze_updated, manual_ended) are recorded in the history only.
var notifyKinds = map[string]notify.Kind{
	freeze.KindFreezeStarted:  notify.FreezeStarted,
	freeze.KindFreezeLifted:   notify.FreezeLifted,
	freeze.KindBudgetWarning:  notify.BudgetWarning,
	freeze.KindWarningCleared: notify.WarningCleared,
	freeze.KindManualFreeze:   notify.ManualFreeze,
	freeze.KindManualUnfreeze: notify.ManualUnfreeze,
	freeze.KindExemptionUsed:  notify.ExemptionUsed,
}

// outboxItems are the notifications of one event, one per notifier.
func (e *Enforcer) outboxItems(ev freeze.Event, slos []slo.SLO, snap budget.Snapshot) ([]store.OutboxItem, error) {
	kind, ok := notifyKinds[ev.Kind]
	if !ok || len(e.opts.Notifiers) == 0 {
		return nil, nil
	}
	m := e.message(ev, kind, slos, snap)
	payload, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding notification %s: %w", ev.Key, err)
	}
	items := make([]store.OutboxItem, 0, len(e.opts.Notifiers))
	for _, n := range e.opts.Notifiers {
		items = append(items, store.OutboxItem{
			Key: ev.Key, Channel: n.Name(), Service: ev.Service, Episode: m.Episode, Kind: ev.Kind,
			Payload: payload, Created: ev.At,
		})
	}
	return items, nil
}

// message builds the notification of an event. Warnings and manual events
// belong to the freeze episode when one is ongoing, so that Slack threads
// them under the freeze's message.
func (e *Enforcer) message(ev freeze.Event, kind notify.Kind, slos []slo.SLO, snap budget.Snapshot) notify.Message {
	episode := ev.Episode
	if ev.State.Episode != "" {
		episode = ev.State.Episode
	}
	if kind == notify.FreezeLifted || kind == notify.FreezeStarted {
		episode = ev.Episode
	}
	m := notify.Message{
		Key: ev.Key, Kind: kind, Service: ev.Service, Episode: ev.Service + "/" + episode,
		Sources: ev.Sources, Reasons: ev.Reasons, At: ev.At, Until: ev.State.Until,
		Exemption: ev.Exemption, Change: ev.Change, Author: ev.Actor,
		DashboardURL: expand(e.opts.DashboardURL, ev.Service, "", ""),
	}
	if ev.Manual != nil {
		m.Author = ev.Manual.Author
		if m.Until == nil {
			m.Until = ev.Manual.Until
		}
	}
	for i := range slos {
		s := &slos[i]
		if s.Service != ev.Service {
			continue
		}
		line := notify.SLOLine{
			Name: s.Name, Objective: s.Target(),
			DashboardURL: expand(e.opts.DashboardURL, s.Service, s.Name, s.Team),
			RunbookURL:   s.Alerting.Runbook,
		}
		if v, ok := ev.State.Budget[s.Name]; ok {
			line.BudgetRemaining = &v
		} else if st := snap.Statuses[s.ID()]; st != nil && st.BudgetRemaining != nil {
			v := *st.BudgetRemaining
			line.BudgetRemaining = &v
		}
		if st := snap.Statuses[s.ID()]; st != nil {
			line.BurnRates = st.BurnRate
		}
		m.SLOs = append(m.SLOs, line)
	}
	return m
}

func expand(tmpl, service, name, team string) string {
	if tmpl == "" {
		return ""
	}
	return strings.NewReplacer("{service}", service, "{slo}", name, "{team}", team).Replace(tmpl)
}

// incidentSnapshot copies the last poll's incidents.
func (e *Enforcer) incidentSnapshot() map[string][]freeze.Incident {
	e.incMu.Lock()
	defer e.incMu.Unlock()
	out := make(map[string][]freeze.Incident, len(e.incidents))
	for k, v := range e.incidents {
		out[k] = slices.Clone(v)
	}
	return out
}

// pollLoop reads the open incidents of every PagerDuty service a policy
// names. An ID whose poll fails is forgotten (unknown): the pagerduty
// source then keeps its state.
func (e *Enforcer) pollLoop(ctx context.Context) {
	if e.opts.Incidents == nil {
		return
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if e.poll(ctx) {
			e.Wake()
		}
		t.Reset(e.opts.PollInterval)
	}
}

// poll reads the incidents once and says whether anything changed.
func (e *Enforcer) poll(ctx context.Context) bool {
	rules := map[string]*freeze.PagerDutyRule{}
	for _, p := range e.opts.Policies.Policies {
		if p.PagerDuty == nil {
			continue
		}
		for _, id := range p.PagerDuty.ServiceIDs {
			rules[id] = p.PagerDuty
		}
	}
	if len(rules) == 0 {
		return false
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	pctx, cancel := context.WithTimeout(ctx, max(10*time.Second, e.opts.PollInterval/2))
	defer cancel()
	incs, err := e.opts.Incidents.OpenIncidents(pctx, ids, nil)
	next := map[string][]freeze.Incident{}
	if err != nil {
		e.m.incidentPolls.WithLabelValues("error").Inc()
		e.log.Warn("reading PagerDuty incidents failed; the pagerduty freeze source keeps its state", "err", err)
	} else {
		e.m.incidentPolls.WithLabelValues("success").Inc()
		for _, id := range ids {
			next[id] = []freeze.Incident{}
		}
		for _, in := range incs {
			next[in.ServiceID] = append(next[in.ServiceID], freeze.Incident{
				ID: in.ID, Title: in.Title, URL: in.HTMLURL, ServiceID: in.ServiceID, Urgency: in.Urgency, Priority: in.Priority,
			})
		}
	}
	e.incMu.Lock()
	defer e.incMu.Unlock()
	changed := !equalIncidents(e.incidents, next)
	e.incidents = next
	return changed
}

func equalIncidents(a, b map[string][]freeze.Incident) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

// State returns the current state of a service (zero when none).
func (e *Enforcer) State(service string) (freeze.State, freeze.Policy, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s, ok := e.states[service]
	p, hasPolicy := e.policies[service]
	if !hasPolicy {
		p = freeze.NewPolicy("")
		p.Name = ""
	}
	if !ok {
		s = freeze.State{Service: service, Policy: p.Name}
	}
	return s, p, hasPolicy
}
