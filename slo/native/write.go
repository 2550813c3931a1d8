package native

import (
	"bytes"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/slo"
)

// Marshal writes SLOs in the native format: one document per service, SLOs
// in the order given. It is how `slokeeper convert --to native` lets users
// migrate from Sloth, Pyrra or OpenSLO. The output loads back to the same SLOs.
func Marshal(slos []slo.SLO) ([]byte, error) {
	var services []string
	bySvc := map[string][]slo.SLO{}
	for _, s := range slos {
		if _, ok := bySvc[s.Service]; !ok {
			services = append(services, s.Service)
		}
		bySvc[s.Service] = append(bySvc[s.Service], s)
	}
	sort.Strings(services)
	var buf bytes.Buffer
	for i, svc := range services {
		if i > 0 {
			buf.WriteString("---\n")
		}
		doc := documentNode(svc, bySvc[svc])
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// node helpers building an ordered mapping.
type mapping struct{ n *yaml.Node }

func newMap() mapping { return mapping{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mapping) add(key string, v *yaml.Node) {
	m.n.Content = append(m.n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func (m mapping) str(key, v string) {
	if v != "" {
		m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: "!!str"})
	}
}

func (m mapping) num(key string, f float64) {
	m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatFloat(f, 'f', -1, 64), Tag: "!!float"})
}

func (m mapping) boolean(key string, b bool) {
	m.add(key, &yaml.Node{Kind: yaml.ScalarNode, Value: strconv.FormatBool(b), Tag: "!!bool"})
}

func (m mapping) strMap(key string, sm map[string]string) {
	if len(sm) == 0 {
		return
	}
	sub := newMap()
	for _, k := range slo.SortedKeys(sm) {
		sub.add(k, &yaml.Node{Kind: yaml.ScalarNode, Value: sm[k], Tag: "!!str"})
	}
	m.add(key, sub.n)
}

func (m mapping) strList(key string, l []string) {
	if len(l) == 0 {
		return
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range l {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: "!!str"})
	}
	m.add(key, seq)
}

func documentNode(service string, slos []slo.SLO) *yaml.Node {
	doc := newMap()
	doc.str("apiVersion", APIVersion)
	doc.str("kind", Kind)
	md := newMap()
	md.str("service", service)
	md.str("team", slos[0].Team)
	doc.add("metadata", md.n)
	spec := newMap()
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range slos {
		list.Content = append(list.Content, sloNode(s))
	}
	spec.add("slos", list)
	doc.add("spec", spec.n)
	return doc.n
}

func sloNode(s slo.SLO) *yaml.Node {
	m := newMap()
	m.str("name", s.Name)
	m.str("description", s.Description)
	m.num("objective", s.Objective)
	m.str("window", periodString(s.Period))
	if s.Period.Kind == slo.CalendarMonth {
		m.str("timeZone", s.Period.TimeZone)
	}
	m.str("policy", s.Policy)
	m.strMap("labels", s.Labels)
	m.strMap("annotations", s.Annotations)
	sli := newMap()
	kind := newMap()
	switch s.SLI.Kind {
	case slo.SLIRatio:
		kind.str("errors", s.SLI.Ratio.Errors)
		kind.str("good", s.SLI.Ratio.Good)
		kind.str("total", s.SLI.Ratio.Total)
	case slo.SLILatency:
		kind.str("histogram", s.SLI.Latency.Histogram)
		kind.str("threshold", slo.FormatDuration(s.SLI.Latency.Threshold))
		if s.SLI.Latency.Native {
			kind.boolean("native", true)
		}
		kind.str("total", s.SLI.Latency.Total)
	case slo.SLIAvailability:
		kind.str("gauge", s.SLI.Availability.Gauge)
	case slo.SLIQuery:
		kind.str("errorRatio", s.SLI.Query.ErrorRatio)
		kind.str("errors", s.SLI.Query.Errors)
		kind.str("good", s.SLI.Query.Good)
		kind.str("total", s.SLI.Query.Total)
	}
	sli.add(s.SLI.Kind.String(), kind.n)
	m.add("sli", sli.n)
	m.strList("groupBy", s.GroupBy)
	if a := alertingNode(s.Alerting); len(a.n.Content) > 0 {
		m.add("alerting", a.n)
	}
	return m.n
}

func periodString(p slo.Period) string {
	if p.Kind == slo.CalendarMonth {
		return "calendar-month"
	}
	return slo.FormatDuration(p.Rolling)
}

func alertingNode(a slo.Alerting) mapping {
	m := newMap()
	if a.Disabled {
		m.boolean("disabled", true)
	}
	m.str("name", a.Name)
	if a.MinEvents > 0 {
		m.num("minEvents", a.MinEvents)
	}
	m.str("runbook", a.Runbook)
	m.str("dashboard", a.Dashboard)
	m.strMap("labels", a.Labels)
	m.strMap("annotations", a.Annotations)
	if a.Absent.Disabled || a.Absent.For > 0 || a.Absent.Severity != "" {
		ab := newMap()
		if a.Absent.Disabled {
			ab.boolean("disabled", true)
		}
		if a.Absent.For > 0 {
			ab.str("for", slo.FormatDuration(a.Absent.For))
		}
		ab.str("severity", a.Absent.Severity)
		m.add("absent", ab.n)
	}
	if a.BudgetExhausted.Disabled || a.BudgetExhausted.Severity != "" {
		be := newMap()
		if a.BudgetExhausted.Disabled {
			be.boolean("disabled", true)
		}
		be.str("severity", a.BudgetExhausted.Severity)
		m.add("budgetExhausted", be.n)
	}
	if a.TierSet != nil {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for _, t := range a.TierSet {
			c := newMap()
			c.str("name", t.Name)
			c.str("class", t.Class)
			c.str("longWindow", slo.FormatDuration(t.Long))
			c.str("shortWindow", slo.FormatDuration(t.Short))
			if t.Factor > 0 {
				c.num("burnRate", t.Factor)
			} else {
				c.num("budgetPercent", t.BudgetFraction*100)
			}
			c.str("severity", t.Severity)
			if t.For > 0 {
				c.str("for", slo.FormatDuration(t.For))
			}
			c.strMap("labels", t.Labels)
			c.strMap("annotations", t.Annotations)
			list.Content = append(list.Content, c.n)
		}
		m.add("customTiers", list)
	}
	tiers := newMap()
	for _, name := range slo.SortedKeys(a.Tiers) {
		o := a.Tiers[name]
		t := newMap()
		if o.Disabled != nil {
			t.boolean("disabled", *o.Disabled)
		}
		if o.Severity != nil {
			t.str("severity", *o.Severity)
		}
		if o.For != nil {
			t.str("for", slo.FormatDuration(*o.For))
		}
		if o.BudgetFraction != nil {
			t.num("budgetPercent", *o.BudgetFraction*100)
		}
		if o.Long != nil {
			t.str("longWindow", slo.FormatDuration(*o.Long))
		}
		if o.Short != nil {
			t.str("shortWindow", slo.FormatDuration(*o.Short))
		}
		t.strMap("labels", o.Labels)
		t.strMap("annotations", o.Annotations)
		tiers.add(name, t.n)
	}
	if len(tiers.n.Content) > 0 {
		m.add("tiers", tiers.n)
	}
	return m
}
