package freeze

import (
	"fmt"
	"strings"
	"time"
)

// Decision is the gate's answer for one change.
type Decision struct {
	Service string `json:"service"`
	// Allowed: the change may proceed.
	Allowed bool `json:"allowed"`
	Frozen  bool `json:"frozen"`
	// Exempted: the service is frozen and the change passes because of
	// its exemption; the caller records it (ExemptionEvent).
	Exempted  bool       `json:"exempted"`
	Exemption string     `json:"exemption,omitempty"`
	Sources   []string   `json:"sources"`
	Reasons   []string   `json:"reasons"`
	Since     time.Time  `json:"since,omitzero"`
	Until     *time.Time `json:"until,omitempty"`
	Episode   string     `json:"episode,omitempty"`
	Policy    string     `json:"policy,omitempty"`
}

// Check decides whether a change to s.Service may proceed. exemption is
// the change's marker ("" for none; e.g. p0, security): it passes a freeze
// when p lists it.
func Check(s State, exemption string, p Policy) Decision {
	e := strings.ToLower(strings.TrimSpace(exemption))
	d := Decision{
		Service: s.Service, Frozen: s.Frozen, Exemption: e, Policy: p.Name,
		Sources: append([]string{}, s.Sources...), Reasons: append([]string{}, s.Reasons...),
		Since: s.Since, Until: s.Until, Episode: s.Episode,
	}
	switch {
	case !s.Frozen:
		d.Allowed = true
		d.Exemption = ""
	case e == "":
		d.Reasons = append(d.Reasons, "changes are frozen: only changes marked with an exemption ("+exemptionList(p)+") pass")
	case p.Exempts(e):
		d.Allowed, d.Exempted = true, true
		d.Reasons = append(d.Reasons, fmt.Sprintf("exemption %q passes the freeze (policy %q)", e, p.Name))
	default:
		d.Reasons = append(d.Reasons, fmt.Sprintf("exemption %q is not accepted by policy %q (accepted: %s)", e, p.Name, exemptionList(p)))
	}
	return d
}

func exemptionList(p Policy) string {
	if len(p.Exemptions) == 0 {
		return "none"
	}
	return strings.Join(p.Exemptions, ", ")
}

// ExemptionEvent is the record of an exempted change passing a freeze.
// change identifies the change (a pipeline run, a commit); with the same
// change the key is the same, so that a retried gate call is recorded once.
// Without one, the time makes the key.
func ExemptionEvent(d Decision, change, actor string, at time.Time) Event {
	id := change
	if id == "" {
		id = at.UTC().Format("20060102T150405.000000000Z")
	}
	return Event{
		Key:  eventKey(d.Service, d.Episode, KindExemptionUsed) + "/" + id,
		Kind: KindExemptionUsed, Service: d.Service, Episode: d.Episode, At: at,
		Sources: d.Sources, Reasons: d.Reasons, Exemption: d.Exemption, Change: change, Actor: actor,
		State: State{Service: d.Service, Frozen: d.Frozen, Sources: d.Sources, Reasons: d.Reasons, Since: d.Since, Until: d.Until, Episode: d.Episode, Policy: d.Policy},
	}
}
