package freeze

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Freeze sources, in the order they are listed.
const (
	SourceBudget    = "budget"
	SourceBurnAlert = "burn_alert"
	SourcePagerDuty = "pagerduty"
	SourceSchedule  = "schedule"
	SourceManual    = "manual"
)

var sourceOrder = []string{SourceBudget, SourceBurnAlert, SourcePagerDuty, SourceSchedule, SourceManual}

// Event kinds.
const (
	KindFreezeStarted  = "freeze_started"
	KindFreezeUpdated  = "freeze_updated" // the sources of an ongoing freeze changed
	KindFreezeLifted   = "freeze_lifted"
	KindBudgetWarning  = "budget_warning"
	KindWarningCleared = "warning_cleared"
	KindManualFreeze   = "manual_freeze"
	KindManualUnfreeze = "manual_unfreeze"
	KindManualEnded    = "manual_ended" // a manual freeze or unfreeze ended or expired
	KindExemptionUsed  = "exemption_used"
)

// Manual actions.
const (
	ActionFreeze = "freeze"
	// ActionUnfreeze is an override: while active (and newer than every
	// active manual freeze), it suppresses every freeze source.
	ActionUnfreeze = "unfreeze"
)

// SLOStatus is one SLO's last budget read.
type SLOStatus struct {
	Service string `json:"service"`
	SLO     string `json:"slo"`
	// BudgetRemaining is the period's remaining budget ratio (1: untouched,
	// 0: exhausted, negative: overspent); nil when unknown.
	BudgetRemaining *float64           `json:"budget_remaining,omitempty"`
	BurnRates       map[string]float64 `json:"burn_rates,omitempty"`
	// PageAlertFiring says whether a page-class burn-rate alert fires.
	PageAlertFiring bool `json:"page_alert_firing,omitempty"`
}

// Incident is an open PagerDuty incident.
type Incident struct {
	ID        string `json:"id"`
	Number    int    `json:"number,omitempty"`
	Title     string `json:"title,omitempty"`
	URL       string `json:"url,omitempty"`
	ServiceID string `json:"service_id"`
	Urgency   string `json:"urgency,omitempty"`
	Priority  string `json:"priority,omitempty"`
}

// Manual is a manual freeze or unfreeze.
type Manual struct {
	ID      int64      `json:"id"`
	Service string     `json:"service"`
	Action  string     `json:"action"`
	Reason  string     `json:"reason"`
	Author  string     `json:"author"`
	Start   time.Time  `json:"start"`
	Until   *time.Time `json:"until,omitempty"`
}

// ActiveAt says whether the entry applies at t.
func (m Manual) ActiveAt(t time.Time) bool {
	return !t.Before(m.Start) && (m.Until == nil || t.Before(*m.Until))
}

// Input is what one evaluation sees.
type Input struct {
	Now time.Time
	// BudgetsFresh is false when the last budget read is too old: the
	// budget and burn_alert sources then keep their previous values.
	BudgetsFresh bool
	SLOs         []SLOStatus
	// Incidents are the open incidents by PagerDuty service ID. An ID that
	// is absent is unknown (its poll failed or is stale): the pagerduty
	// source is then neither started nor ended on it alone.
	Incidents map[string][]Incident
	// Manual are the manual entries not ended (expired ones are ignored).
	Manual []Manual
}

// State is one service's freeze state after an evaluation.
type State struct {
	Service string `json:"service"`
	Policy  string `json:"policy,omitempty"`
	Frozen  bool   `json:"frozen"`
	Warning bool   `json:"warning"`
	// Sources are the active freeze sources, in a fixed order.
	Sources []string `json:"sources"`
	// Reasons explain the sources (or the warning) in words.
	Reasons []string `json:"reasons"`
	// SourceReasons are the reasons by source.
	SourceReasons map[string][]string `json:"source_reasons,omitempty"`
	// Since is when the current freeze started.
	Since time.Time `json:"since,omitzero"`
	// Until is the freeze's known end: set when every active source has one
	// (schedules, manual freezes with an expiry).
	Until *time.Time `json:"until,omitempty"`
	// Episode identifies the current freeze ("" when not frozen).
	Episode string `json:"episode,omitempty"`
	// WarningSince and WarningEpisode identify the current budget warning.
	WarningSince   time.Time `json:"warning_since,omitzero"`
	WarningEpisode string    `json:"warning_episode,omitempty"`
	// Budget is the remaining budget of each relevant SLO at the decision.
	Budget map[string]float64 `json:"budget,omitempty"`
	// Suppressed are the sources a manual unfreeze overrides.
	Suppressed []string `json:"suppressed,omitempty"`
	// Override is the active manual unfreeze, if any.
	Override *Manual `json:"override,omitempty"`
	// Manual are the active manual entries of the service.
	Manual []Manual `json:"manual,omitempty"`
	// Evaluated is the time of the evaluation.
	Evaluated time.Time `json:"evaluated"`
}

// Event is a state change to record and notify exactly once.
type Event struct {
	// Key is the idempotency key, deterministic from the service, the
	// episode and the kind: evaluating the same change again yields the
	// same key.
	Key     string    `json:"key"`
	Kind    string    `json:"kind"`
	Service string    `json:"service"`
	Episode string    `json:"episode"`
	At      time.Time `json:"at"`
	State   State     `json:"state"`
	Sources []string  `json:"sources"`
	Reasons []string  `json:"reasons"`
	// Manual is the entry of manual_* events.
	Manual *Manual `json:"manual,omitempty"`
	// Exemption and Change describe an exemption_used event.
	Exemption string `json:"exemption,omitempty"`
	Change    string `json:"change,omitempty"`
	Actor     string `json:"actor,omitempty"`
}

const staleBudgetNote = "budget data is stale: keeping the previous decision"
const staleIncidentNote = "PagerDuty incident data is stale: keeping the previous decision"

// EpisodeID is the episode identifier of a freeze ("f") or warning ("w")
// started at t.
func EpisodeID(prefix string, t time.Time) string {
	return prefix + "-" + t.UTC().Format("20060102T150405.000000000Z")
}

func eventKey(service, episode, kind string) string {
	return service + "/" + episode + "/" + kind
}

// Evaluate decides every service's next state from its policy (by
// service), its previous state and the inputs; events are the state
// changes, sorted by service. It is pure: the same arguments give the same
// result, and evaluating again with the returned states gives no event.
// Services without a policy get only manual freezes; a service with
// neither a policy, nor a freeze, nor a manual entry is left out of next.
func Evaluate(policies map[string]Policy, prev map[string]State, in Input) (map[string]State, []Event) {
	services := map[string]bool{}
	for s := range policies {
		services[s] = true
	}
	for s := range prev {
		services[s] = true
	}
	manual := map[string][]Manual{}
	for _, m := range in.Manual {
		if m.ActiveAt(in.Now) {
			services[m.Service] = true
			manual[m.Service] = append(manual[m.Service], m)
		}
	}
	statuses := map[string][]SLOStatus{}
	for _, st := range in.SLOs {
		statuses[st.Service] = append(statuses[st.Service], st)
	}
	names := slices.Sorted(maps.Keys(services))
	next := map[string]State{}
	var events []Event
	for _, svc := range names {
		p, hasPolicy := policies[svc]
		st, evs := evaluateService(svc, p, hasPolicy, prev[svc], in, statuses[svc], manual[svc])
		events = append(events, evs...)
		if hasPolicy || st.Frozen || len(st.Manual) > 0 {
			next[svc] = st
		}
	}
	return next, events
}

type sourceSet struct {
	reasons map[string][]string
	until   map[string]*time.Time // known end of a source; nil: unknown
}

func (s *sourceSet) add(src string, until *time.Time, reasons ...string) {
	s.reasons[src] = append(s.reasons[src], reasons...)
	if prev, ok := s.until[src]; ok {
		if prev == nil || until == nil {
			s.until[src] = nil
		} else if until.After(*prev) {
			s.until[src] = until
		}
		return
	}
	s.until[src] = until
}

func (s *sourceSet) keep(src string, prev State, note string) {
	var rs []string
	for _, r := range prev.SourceReasons[src] {
		if r != note {
			rs = append(rs, r)
		}
	}
	s.add(src, nil, append(rs, note)...)
}

func (s *sourceSet) list() []string {
	var out []string
	for _, src := range sourceOrder {
		if _, ok := s.reasons[src]; ok {
			out = append(out, src)
		}
	}
	return out
}

func evaluateService(svc string, p Policy, hasPolicy bool, pv State, in Input, sts []SLOStatus, manual []Manual) (State, []Event) {
	now := in.Now
	had := map[string]bool{}
	for _, s := range pv.Sources {
		had[s] = true
	}
	for _, s := range pv.Suppressed {
		had[s] = true
	}
	auto := &sourceSet{reasons: map[string][]string{}, until: map[string]*time.Time{}}
	budget := map[string]float64{}
	var unknown []string
	if hasPolicy {
		for _, st := range sts {
			if !p.relevant(st.SLO) {
				continue
			}
			if st.BudgetRemaining == nil || math.IsNaN(*st.BudgetRemaining) {
				unknown = append(unknown, st.SLO)
				continue
			}
			v := *st.BudgetRemaining
			if old, ok := budget[st.SLO]; !ok || v < old {
				budget[st.SLO] = v
			}
		}
		budgetSource(auto, p, pv, had[SourceBudget], in.BudgetsFresh, budget, unknown)
		if p.FreezeOnPageAlert {
			switch {
			case !in.BudgetsFresh:
				if had[SourceBurnAlert] {
					auto.keep(SourceBurnAlert, pv, staleBudgetNote)
				}
			default:
				for _, st := range sts {
					if p.relevant(st.SLO) && st.PageAlertFiring {
						auto.add(SourceBurnAlert, nil, fmt.Sprintf("a page-tier burn-rate alert fires for SLO %s", st.SLO))
					}
				}
			}
		}
		if r := p.PagerDuty; r != nil {
			pagerDutySource(auto, r, pv, had[SourcePagerDuty], in.Incidents)
		}
		for _, s := range p.Schedules {
			if ok, until := s.Active(now); ok {
				r := fmt.Sprintf("scheduled freeze %q (%s)", s.Name, s.Describe())
				if s.Reason != "" {
					r += ": " + s.Reason
				}
				u := until
				auto.add(SourceSchedule, &u, r)
			}
		}
	}

	// Manual entries: the newest active one decides whether an unfreeze
	// overrides everything else.
	sort.Slice(manual, func(i, j int) bool {
		if !manual[i].Start.Equal(manual[j].Start) {
			return manual[i].Start.Before(manual[j].Start)
		}
		return manual[i].ID < manual[j].ID
	})
	var override *Manual
	if n := len(manual); n > 0 && manual[n-1].Action == ActionUnfreeze {
		o := manual[n-1]
		override = &o
	}
	for _, m := range manual {
		if m.Action == ActionFreeze {
			auto.add(SourceManual, m.Until, describeManual(m))
		}
	}

	next := State{
		Service: svc, Policy: p.Name, Budget: budget, Manual: manual, Evaluated: now,
		Sources: []string{}, Reasons: []string{},
	}
	if len(budget) == 0 {
		next.Budget = nil
	}
	srcs := auto.list()
	if override != nil {
		next.Override = override
		next.Suppressed = srcs
		next.SourceReasons = auto.reasons
		r := describeManual(*override)
		if len(srcs) > 0 {
			r += " (overrides: " + strings.Join(srcs, ", ") + ")"
		}
		next.Reasons = append(next.Reasons, r)
	} else if len(srcs) > 0 {
		next.Frozen = true
		next.Sources = srcs
		next.SourceReasons = auto.reasons
		var until *time.Time
		for i, src := range srcs {
			u := auto.until[src]
			if u == nil {
				until = nil
				break
			}
			if i == 0 || u.After(*until) {
				v := *u
				until = &v
			}
		}
		next.Until = until
		for _, src := range srcs {
			next.Reasons = append(next.Reasons, auto.reasons[src]...)
		}
	}
	if len(next.SourceReasons) == 0 {
		next.SourceReasons = nil
	}

	var events []Event
	ev := func(kind, episode, key string, m *Manual, reasons []string) {
		e := Event{Key: key, Kind: kind, Service: svc, Episode: episode, At: now, Sources: next.Sources, Reasons: reasons, Manual: m}
		events = append(events, e)
	}

	// Manual changes.
	prevManual := map[int64]Manual{}
	for _, m := range pv.Manual {
		prevManual[m.ID] = m
	}
	curManual := map[int64]bool{}
	for _, m := range manual {
		curManual[m.ID] = true
		if _, ok := prevManual[m.ID]; ok {
			continue
		}
		kind := KindManualFreeze
		if m.Action == ActionUnfreeze {
			kind = KindManualUnfreeze
		}
		mm := m
		ev(kind, manualEpisode(m.ID), eventKey(svc, manualEpisode(m.ID), kind), &mm, []string{describeManual(m)})
	}
	for _, m := range pv.Manual {
		if curManual[m.ID] {
			continue
		}
		mm := m
		r := fmt.Sprintf("manual %s #%d by %s ended", m.Action, m.ID, m.Author)
		if m.Until != nil && !now.Before(*m.Until) {
			r = fmt.Sprintf("manual %s #%d by %s expired at %s", m.Action, m.ID, m.Author, m.Until.UTC().Format(time.RFC3339))
		}
		ev(KindManualEnded, manualEpisode(m.ID), eventKey(svc, manualEpisode(m.ID), KindManualEnded), &mm, []string{r})
	}

	// Freeze episodes.
	switch {
	case next.Frozen && !pv.Frozen:
		next.Since = now
		next.Episode = EpisodeID("f", now)
		ev(KindFreezeStarted, next.Episode, eventKey(svc, next.Episode, KindFreezeStarted), nil, next.Reasons)
	case next.Frozen && pv.Frozen:
		next.Since, next.Episode = pv.Since, pv.Episode
		if !slices.Equal(next.Sources, pv.Sources) {
			ep := next.Episode
			ev(KindFreezeUpdated, ep, eventKey(svc, ep, KindFreezeUpdated)+"/"+now.UTC().Format("20060102T150405.000000000Z"), nil, next.Reasons)
		}
	case !next.Frozen && pv.Frozen:
		reasons := []string{"every freeze source ended"}
		if override != nil {
			reasons = []string{describeManual(*override)}
		} else if !hasPolicy {
			reasons = []string{"the service no longer has an error-budget policy"}
		}
		ev(KindFreezeLifted, pv.Episode, eventKey(svc, pv.Episode, KindFreezeLifted), nil, reasons)
		events[len(events)-1].Sources = pv.Sources
	}

	// Budget warning.
	warnReason := ""
	minSLO, minV := lowest(budget)
	switch {
	case next.Frozen || override != nil || !hasPolicy || p.NoWarning:
		next.Warning = false
	case !in.BudgetsFresh || minSLO == "":
		next.Warning = pv.Warning
	case pv.Warning:
		next.Warning = minV <= p.WarnAt+WarnHysteresis
	default:
		next.Warning = minV <= p.WarnAt
	}
	if next.Warning && minSLO != "" {
		warnReason = fmt.Sprintf("error budget of SLO %s is %s remaining (warns at <= %s)", minSLO, Percent(minV), Percent(p.WarnAt))
	}
	switch {
	case next.Warning && !pv.Warning:
		next.WarningSince = now
		next.WarningEpisode = EpisodeID("w", now)
		next.Reasons = append(next.Reasons, warnReason)
		ev(KindBudgetWarning, next.WarningEpisode, eventKey(svc, next.WarningEpisode, KindBudgetWarning), nil, []string{warnReason})
	case next.Warning && pv.Warning:
		next.WarningSince, next.WarningEpisode = pv.WarningSince, pv.WarningEpisode
		if warnReason != "" {
			next.Reasons = append(next.Reasons, warnReason)
		}
	case !next.Warning && pv.Warning && !next.Frozen:
		// A freeze supersedes the warning silently; otherwise it is cleared.
		r := "budget data no longer applies"
		if minSLO != "" && hasPolicy {
			r = fmt.Sprintf("lowest error budget (SLO %s) is back to %s remaining", minSLO, Percent(minV))
		}
		ev(KindWarningCleared, pv.WarningEpisode, eventKey(svc, pv.WarningEpisode, KindWarningCleared), nil, []string{r})
	}
	for i := range events {
		events[i].State = next
	}
	return next, events
}

func manualEpisode(id int64) string { return fmt.Sprintf("manual-%d", id) }

func describeManual(m Manual) string {
	r := fmt.Sprintf("manual %s #%d by %s: %s", m.Action, m.ID, m.Author, m.Reason)
	if m.Until != nil {
		r += " (until " + m.Until.UTC().Format(time.RFC3339) + ")"
	}
	return r
}

func lowest(b map[string]float64) (string, float64) {
	name, v := "", 0.0
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if name == "" || b[k] < v {
			name, v = k, b[k]
		}
	}
	return name, v
}

func budgetSource(set *sourceSet, p Policy, pv State, had, fresh bool, budget map[string]float64, unknown []string) {
	if !fresh {
		if had {
			set.keep(SourceBudget, pv, staleBudgetNote)
		}
		return
	}
	slos := slices.Sorted(maps.Keys(budget))
	var exhausted []string
	for _, s := range slos {
		if budget[s] <= p.FreezeAt {
			exhausted = append(exhausted, fmt.Sprintf("error budget of SLO %s is %s remaining (freezes at <= %s)", s, Percent(budget[s]), Percent(p.FreezeAt)))
		}
	}
	if len(exhausted) > 0 {
		set.add(SourceBudget, nil, exhausted...)
		return
	}
	if !had {
		return
	}
	// Hysteresis: lifted only when every relevant SLO is known and back
	// at or above LiftAt.
	var hold []string
	for _, s := range slos {
		if budget[s] < p.LiftAt {
			hold = append(hold, fmt.Sprintf("error budget of SLO %s is %s remaining, below the lift threshold %s", s, Percent(budget[s]), Percent(p.LiftAt)))
		}
	}
	sort.Strings(unknown)
	for _, s := range slices.Compact(unknown) {
		hold = append(hold, fmt.Sprintf("error budget of SLO %s is unknown: the freeze is not lifted without data", s))
	}
	if len(slos) == 0 && len(unknown) == 0 {
		hold = append(hold, "no budget data for the service's SLOs: the freeze is not lifted without data")
	}
	if len(hold) > 0 {
		set.add(SourceBudget, nil, hold...)
	}
}

func pagerDutySource(set *sourceSet, r *PagerDutyRule, pv State, had bool, incidents map[string][]Incident) {
	unknown := false
	var reasons []string
	for _, id := range r.ServiceIDs {
		list, ok := incidents[id]
		if !ok {
			unknown = true
			continue
		}
		for _, inc := range list {
			if !matchFold(r.Urgencies, inc.Urgency) || !matchFold(r.Priorities, inc.Priority) {
				continue
			}
			ref := inc.ID
			if inc.Number > 0 {
				ref = fmt.Sprintf("#%d", inc.Number)
			}
			desc := fmt.Sprintf("open PagerDuty incident %s on service %s", ref, id)
			var attrs []string
			if inc.Urgency != "" {
				attrs = append(attrs, inc.Urgency+" urgency")
			}
			if inc.Priority != "" {
				attrs = append(attrs, "priority "+inc.Priority)
			}
			if len(attrs) > 0 {
				desc += " (" + strings.Join(attrs, ", ") + ")"
			}
			if inc.Title != "" {
				desc += ": " + inc.Title
			}
			reasons = append(reasons, desc)
		}
	}
	switch {
	case len(reasons) > 0:
		set.add(SourcePagerDuty, nil, reasons...)
	case unknown && had:
		set.keep(SourcePagerDuty, pv, staleIncidentNote)
	}
}

func matchFold(allowed []string, v string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return true
		}
	}
	return false
}
