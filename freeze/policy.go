// Package freeze is slokeeper's error-budget policy engine: from budget
// reads, page alerts, open PagerDuty incidents, schedules and manual
// overrides it decides, per service, whether non-critical changes are frozen,
// and which state changes are to be notified. It does no I/O: the daemon
// feeds it inputs, persists the states and events it returns (package store)
// and delivers the notifications.
package freeze

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/slokeeper/slokeeper/slo"
)

// Policy defaults, as ratios of the period's error budget.
const (
	DefaultFreezeAt = 0.0
	DefaultWarnAt   = 0.25
	DefaultLiftAt   = 0.10
	// WarnHysteresis is how far above WarnAt the remaining budget must get
	// back before a warning is cleared.
	WarnHysteresis = 0.02
)

// Exemptions accepted by default.
const (
	ExemptionP0       = "p0"
	ExemptionSecurity = "security"
)

// DefaultExemptions are the exemptions of a policy that names none.
func DefaultExemptions() []string { return []string{ExemptionP0, ExemptionSecurity} }

// Policy is one named error-budget policy.
type Policy struct {
	Name string `json:"name"`
	// SLOs restricts the budget and page-alert sources to these SLO names;
	// empty means every SLO of the service.
	SLOs []string `json:"slos,omitempty"`
	// FreezeAt: a freeze starts when a relevant SLO's remaining budget
	// (a ratio of the period's budget, negative when overspent) is <= FreezeAt.
	FreezeAt float64 `json:"freeze_at"`
	// WarnAt: a warning is raised while not frozen and the lowest remaining
	// budget is <= WarnAt. Ignored when NoWarning.
	WarnAt    float64 `json:"warn_at"`
	NoWarning bool    `json:"no_warning,omitempty"`
	// LiftAt: the budget source ends when every relevant SLO is >= LiftAt.
	LiftAt float64 `json:"lift_at"`
	// FreezeOnPageAlert adds the burn_alert source while a page-tier burn
	// alert of a relevant SLO fires.
	FreezeOnPageAlert bool           `json:"freeze_on_page_alert,omitempty"`
	PagerDuty         *PagerDutyRule `json:"pagerduty,omitempty"`
	Schedules         []Schedule     `json:"schedules,omitempty"`
	// Exemptions are the change markers that pass the gate during a freeze
	// (lower case).
	Exemptions []string `json:"exemptions,omitempty"`
}

// PagerDutyRule freezes a service while one of its PagerDuty services has
// an open (triggered or acknowledged) incident that matches.
type PagerDutyRule struct {
	ServiceIDs []string `json:"service_ids"`
	// Urgencies (high, low) match when empty or when the incident's is listed.
	Urgencies []string `json:"urgencies,omitempty"`
	// Priorities (P1, P2...) match when empty or when the incident's is
	// listed; an incident without a priority matches only an empty list.
	Priorities []string `json:"priorities,omitempty"`
}

// NewPolicy returns a policy with the default thresholds and exemptions.
func NewPolicy(name string) Policy {
	return Policy{
		Name: name, FreezeAt: DefaultFreezeAt, WarnAt: DefaultWarnAt, LiftAt: DefaultLiftAt,
		Exemptions: DefaultExemptions(),
	}
}

// Validate checks the thresholds' order and the schedules.
func (p Policy) Validate() error {
	var errs []error
	for _, v := range []float64{p.FreezeAt, p.WarnAt, p.LiftAt} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, errors.New("thresholds must be finite"))
			break
		}
	}
	if p.FreezeAt < -1 || p.FreezeAt >= 1 {
		errs = append(errs, fmt.Errorf("freeze_at %s must be in [-100%%, 100%%)", Percent(p.FreezeAt)))
	}
	if p.LiftAt <= p.FreezeAt || p.LiftAt > 1 {
		errs = append(errs, fmt.Errorf("lift_at %s must be above freeze_at %s and at most 100%%", Percent(p.LiftAt), Percent(p.FreezeAt)))
	}
	if !p.NoWarning && (p.WarnAt <= p.FreezeAt || p.WarnAt > 1) {
		errs = append(errs, fmt.Errorf("warn_at %s must be above freeze_at %s and at most 100%%", Percent(p.WarnAt), Percent(p.FreezeAt)))
	}
	if r := p.PagerDuty; r != nil && len(r.ServiceIDs) == 0 {
		errs = append(errs, errors.New("pagerduty: at least one service ID is required"))
	}
	for i, s := range p.Schedules {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("schedules[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// relevant says whether SLO name counts for the budget and alert sources.
func (p Policy) relevant(name string) bool {
	return len(p.SLOs) == 0 || slices.Contains(p.SLOs, name)
}

// Exempts says whether exemption (case-insensitive) passes the gate.
func (p Policy) Exempts(exemption string) bool {
	e := strings.ToLower(strings.TrimSpace(exemption))
	return e != "" && slices.Contains(p.Exemptions, e)
}

// Percent renders a budget ratio as a percentage (0.253 -> "25.3%").
func Percent(v float64) string {
	s := fmt.Sprintf("%.2f", v*100)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s + "%"
}

// PolicySet is the daemon configuration's named policies and how services
// are mapped to them.
type PolicySet struct {
	Policies map[string]Policy
	// Default applies to services whose specs name no policy ("" for none).
	Default string
	// Services maps a service to a policy name; it wins over the specs.
	Services map[string]string
}

// Resolve returns the policy of every service of slos (services without
// one are left out: only manual freezes apply to them). The service's
// policy is, in order: the configuration's Services entry; the policy its
// SLOs name; the default. Problems (at the specs' positions) are reported
// for unknown names and for SLOs of one service naming different policies,
// in which case the name most SLOs use wins (ties: the first by name).
// An unknown name falls back to the default, so that the service stays
// protected.
func (ps PolicySet) Resolve(slos []*slo.SLO) (map[string]Policy, slo.Problems) {
	var probs slo.Problems
	named := map[string]map[string]int{} // service -> policy -> SLO count
	at := map[string]slo.Pos{}           // service/policy -> first position
	services := map[string]bool{}
	for _, s := range slos {
		services[s.Service] = true
		if s.Policy == "" {
			continue
		}
		if _, ok := ps.Policies[s.Policy]; !ok {
			probs.Add(s.At(slo.FieldPolicy), "unknown error-budget policy %q (the daemon configuration defines %s)", s.Policy, nameList(ps.Policies))
			continue
		}
		if named[s.Service] == nil {
			named[s.Service] = map[string]int{}
		}
		named[s.Service][s.Policy]++
		if _, ok := at[s.Service+"/"+s.Policy]; !ok {
			at[s.Service+"/"+s.Policy] = s.At(slo.FieldPolicy)
		}
	}
	out := map[string]Policy{}
	for svc := range services {
		if name, ok := ps.Services[svc]; ok {
			if p, ok := ps.Policies[name]; ok {
				out[svc] = p
				continue
			}
		}
		if counts := named[svc]; len(counts) > 0 {
			names := make([]string, 0, len(counts))
			for n := range counts {
				names = append(names, n)
			}
			sort.Slice(names, func(i, j int) bool {
				if counts[names[i]] != counts[names[j]] {
					return counts[names[i]] > counts[names[j]]
				}
				return names[i] < names[j]
			})
			if len(names) > 1 {
				for _, n := range names[1:] {
					probs.Add(at[svc+"/"+n], "service %q: SLOs name different error-budget policies (%s); a service has one policy: %q applies", svc, strings.Join(names, ", "), names[0])
				}
			}
			out[svc] = ps.Policies[names[0]]
			continue
		}
		if p, ok := ps.Policies[ps.Default]; ok {
			out[svc] = p
		}
	}
	probs.Sort()
	return out, probs
}

func nameList(m map[string]Policy) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
