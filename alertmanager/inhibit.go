package alertmanager

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// tierKey is what orders tiers: class first (page before ticket), then the
// long window (shorter is faster: it fires at a higher burn rate).
type tierKey struct {
	name  string
	class string
	long  time.Duration
}

func classRank(class string) int {
	if class == ClassPage {
		return 0
	}
	return 1
}

// faster reports whether a's alert makes b's redundant. Tiers of the same
// class and long window are not ordered: neither mutes the other.
func faster(a, b tierKey) bool {
	if ra, rb := classRank(a.class), classRank(b.class); ra != rb {
		return ra < rb
	}
	return a.long < b.long
}

func compareKeys(a, b tierKey) int {
	return cmp.Or(cmp.Compare(classRank(a.class), classRank(b.class)), cmp.Compare(a.long, b.long), strings.Compare(a.name, b.name))
}

// sloTiers is what inhibition needs of one SLO.
type sloTiers struct {
	service, name string
	tiers         []tierKey
	exhausted     bool
}

// inhibitions returns the inhibit rules for slos. A rule "tier A mutes
// tier B" holds for every SLO that has both tiers, so it is written once
// for all SLOs when every SLO with both tiers orders them the same way;
// SLOs whose overrides order them otherwise get rules of their own,
// restricted to their service and slo.
func inhibitions(slos []slo.SLO, opts Options) ([]InhibitRule, error) {
	var (
		infos   []sloTiers
		groupBy = map[string]bool{}
		order   = map[string]tierKey{} // how rules list tiers: as defined globally, else the smallest key seen
		global  = map[string]bool{}
	)
	for _, t := range opts.Tiers {
		if t.Name != "" && !global[t.Name] {
			global[t.Name] = true
			order[t.Name] = tierKey{name: t.Name, class: tierClass(t), long: t.Long}
		}
	}
	for i := range slos {
		s := &slos[i]
		if s.Alerting.Disabled {
			continue
		}
		info := sloTiers{service: s.Service, name: s.Name, exhausted: !s.Alerting.BudgetExhausted.Disabled}
		seen := map[string]bool{}
		for _, t := range s.Alerting.ResolveTiers(opts.Tiers) {
			if t.Disabled {
				continue
			}
			if t.Name == "" {
				return nil, fmt.Errorf("SLO %s: a tier has no name", s.ID())
			}
			if seen[t.Name] {
				continue
			}
			seen[t.Name] = true
			k := tierKey{name: t.Name, class: tierClass(t), long: t.Long}
			info.tiers = append(info.tiers, k)
			if o, ok := order[k.name]; !global[k.name] && (!ok || compareKeys(k, o) < 0) {
				order[k.name] = k
			}
		}
		for _, l := range s.GroupBy {
			groupBy[l] = true
		}
		infos = append(infos, info)
	}
	equal := append([]string{labelService, labelSLO}, slo.SortedKeys(groupBy)...)

	type pair struct{ a, b string }
	agree := map[pair][]int{}    // SLOs with both tiers where a is faster than b
	disagree := map[pair][]int{} // SLOs with both tiers where it is not
	for i, info := range infos {
		for _, a := range info.tiers {
			for _, b := range info.tiers {
				if a.name == b.name {
					continue
				}
				p := pair{a.name, b.name}
				if faster(a, b) {
					agree[p] = append(agree[p], i)
				} else {
					disagree[p] = append(disagree[p], i)
				}
			}
		}
	}
	// A pair most SLOs agree on is one rule for all SLOs, minus the slo
	// names of those that disagree; the agreeing SLOs that share such a
	// name, and the pairs only a minority agrees on, get rules restricted
	// to their service and slo. With no per-SLO window overrides, every
	// rule is global.
	type scope struct{ source, excluded string }
	all := map[scope][]string{}            // -> target tiers
	local := map[int]map[string][]string{} // SLO -> source tier -> target tiers
	addLocal := func(i int, p pair) {
		if local[i] == nil {
			local[i] = map[string][]string{}
		}
		local[i][p.a] = append(local[i][p.a], p.b)
	}
	for p, yes := range agree {
		no := disagree[p]
		if len(yes) <= len(no) {
			for _, i := range yes {
				addLocal(i, p)
			}
			continue
		}
		excluded := map[string]bool{}
		for _, i := range no {
			excluded[infos[i].name] = true
		}
		for _, i := range yes {
			if excluded[infos[i].name] {
				addLocal(i, p)
			}
		}
		k := scope{p.a, strings.Join(slo.SortedKeys(excluded), "\x00")}
		all[k] = append(all[k], p.b)
	}
	byOrder := func(names []string) []string {
		slices.SortFunc(names, func(a, b string) int { return compareKeys(order[a], order[b]) })
		return names
	}
	var rules []InhibitRule
	rule := func(scope []string, source string, targets []string) {
		rules = append(rules, InhibitRule{
			SourceMatchers: append(slices.Clone(scope), matcher(labelTier, "=", source)),
			TargetMatchers: append(slices.Clone(scope), tierMatcher(byOrder(targets))),
			Equal:          equal,
		})
	}
	scopes := mapKeys(all)
	slices.SortFunc(scopes, func(a, b scope) int {
		return cmp.Or(compareKeys(order[a.source], order[b.source]), strings.Compare(a.excluded, b.excluded))
	})
	for _, k := range scopes {
		sc := []string{matcher(labelSLO, "=~", ".+")}
		if k.excluded != "" {
			names := strings.Split(k.excluded, "\x00")
			for i, n := range names {
				names[i] = regexp.QuoteMeta(n)
			}
			sc = append(sc, matcher(labelSLO, "!~", strings.Join(names, "|")))
		}
		rule(sc, k.source, all[k])
	}
	locals := mapKeys(local)
	slices.SortFunc(locals, func(a, b int) int {
		return cmp.Or(strings.Compare(infos[a].service, infos[b].service), strings.Compare(infos[a].name, infos[b].name))
	})
	for _, i := range locals {
		sc := []string{matcher(labelService, "=", infos[i].service), matcher(labelSLO, "=", infos[i].name)}
		for _, a := range byOrder(mapKeys(local[i])) {
			rule(sc, a, local[i][a])
		}
	}
	if !opts.KeepTicketsWhenBudgetExhausted && slices.ContainsFunc(infos, func(s sloTiers) bool {
		return s.exhausted && slices.ContainsFunc(s.tiers, func(k tierKey) bool { return k.class == ClassTicket })
	}) {
		rules = append(rules, InhibitRule{
			SourceMatchers: []string{matcher("alertname", "=~", ".*"+suffixExhausted), matcher(labelSLO, "=~", ".+")},
			TargetMatchers: []string{matcher(labelClass, "=", ClassTicket)},
			Equal:          equal,
		})
	}
	return rules, nil
}

// tierMatcher matches any of the tiers.
func tierMatcher(tiers []string) string {
	if len(tiers) == 1 {
		return matcher(labelTier, "=", tiers[0])
	}
	q := make([]string, len(tiers))
	for i, t := range tiers {
		q[i] = regexp.QuoteMeta(t)
	}
	return matcher(labelTier, "=~", strings.Join(q, "|"))
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
