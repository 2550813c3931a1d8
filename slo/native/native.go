// Package native imports slokeeper's own spec format, apiVersion
// slokeeper.io/v1, kind ServiceLevelObjectives. docs/spec.md documents every
// field.
package native

import (
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// APIVersion and Kind of native spec documents.
const (
	APIVersion = "slokeeper.io/v1"
	Kind       = "ServiceLevelObjectives"
)

// Accepts says whether the document is a native spec. Any slokeeper.io
// apiVersion is accepted so that a wrong version or kind gets a precise error.
func Accepts(apiVersion, _ string) bool {
	return strings.HasPrefix(apiVersion, "slokeeper.io/")
}

// Import converts native documents into SLOs.
func Import(docs []ynode.Doc, ps *slo.Problems) []slo.SLO {
	var out []slo.SLO
	for _, d := range docs {
		out = append(out, importDoc(d, ps)...)
	}
	return out
}

// defaults are the service-level values each SLO inherits.
type defaults struct {
	service, team, policy string
	labels, annotations   map[string]string
	period                slo.Period
	periodPos             slo.Pos
	hasPeriod             bool
	alerting              *ynode.Map
}

func importDoc(d ynode.Doc, ps *slo.Problems) []slo.SLO {
	dec := ynode.NewDecoder(d.File, ps)
	root := dec.Map(d.Root, d.Path)
	if root == nil {
		return nil
	}
	root.Ignore("apiVersion")
	if d.APIVersion != APIVersion {
		root.Errorf("apiVersion", "unsupported apiVersion %q: expected %q", d.APIVersion, APIVersion)
		return nil
	}
	if kind, _ := root.String("kind"); kind != Kind {
		root.Errorf("kind", "unsupported kind %q for %s: expected %q", kind, APIVersion, Kind)
		return nil
	}
	if !root.Require("metadata", "spec") {
		root.Done()
		return nil
	}
	var def defaults
	if md := root.Sub("metadata"); md != nil {
		md.Require("service")
		def.service, _ = md.String("service")
		def.team, _ = md.String("team")
		def.labels = md.StringMap("labels")
		def.annotations = md.StringMap("annotations")
		md.Done()
	}
	spec := root.Sub("spec")
	root.Done()
	if spec == nil {
		return nil
	}
	def.period, def.hasPeriod = readPeriod(spec)
	def.periodPos = spec.PosOf("window")
	def.policy, _ = spec.String("policy")
	def.alerting = spec.Sub("alerting")
	items := spec.List("slos")
	if spec.Require("slos") && items != nil && len(items) == 0 {
		spec.Errorf("slos", "the list of SLOs is empty")
	}
	spec.Done()
	var out []slo.SLO
	for _, it := range items {
		m := dec.Map(it.Node, it.Path)
		if m == nil {
			continue
		}
		if s, ok := importSLO(m, def, d); ok {
			out = append(out, s)
		}
	}
	return out
}

func readPeriod(m *ynode.Map) (slo.Period, bool) {
	tz, hasTZ := m.String("timeZone")
	if !m.Has("window") {
		if hasTZ {
			m.Errorf("timeZone", "timeZone applies only to window: calendar-month")
		}
		return slo.Period{}, false
	}
	w, ok := m.String("window")
	if !ok {
		return slo.Period{}, false
	}
	if strings.EqualFold(strings.TrimSpace(w), "calendar-month") || strings.EqualFold(strings.TrimSpace(w), "month") {
		return slo.Period{Kind: slo.CalendarMonth, TimeZone: tz}, true
	}
	if hasTZ {
		m.Errorf("timeZone", "timeZone applies only to window: calendar-month, not to a rolling window")
	}
	dur, err := ynode.ParseDuration(w)
	if err != nil {
		m.Errorf("window", "%v, or calendar-month", err)
		return slo.Period{}, false
	}
	return slo.Period{Kind: slo.Rolling, Rolling: dur}, true
}

func importSLO(m *ynode.Map, def defaults, d ynode.Doc) (slo.SLO, bool) {
	s := slo.SLO{
		Service: def.service,
		Team:    def.team,
		Policy:  def.policy,
		Period:  slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour},
		Source:  slo.Source{File: d.File, Line: m.Node.Line, Col: m.Node.Column, Format: slo.FormatNative, Path: m.Path},
	}
	s.SetPos(slo.FieldSLO, m.Pos())
	if def.hasPeriod {
		s.Period = def.period
		s.SetPos(slo.FieldPeriod, def.periodPos)
		s.SetPos(slo.FieldTimeZone, def.periodPos)
	}
	ok := m.Require("name", "objective", "sli")
	s.Name, _ = m.String("name")
	s.SetPos(slo.FieldName, m.PosOf("name"))
	s.Description, _ = m.String("description")
	if obj, has := m.Float("objective", false); has {
		s.Objective = obj
	}
	s.SetPos(slo.FieldObjective, m.PosOf("objective"))
	if m.Has("window") {
		if p, has := readPeriod(m); has {
			s.Period = p
			s.SetPos(slo.FieldPeriod, m.PosOf("window"))
			s.SetPos(slo.FieldTimeZone, m.PosOf("window"))
		}
	} else if m.Has("timeZone") {
		m.Errorf("timeZone", "timeZone needs window: calendar-month on the same SLO")
		m.Get("timeZone")
	}
	if p, has := m.String("policy"); has {
		s.Policy = p
		s.SetPos(slo.FieldPolicy, m.PosOf("policy"))
	}
	s.Labels = merge(def.labels, m.StringMap("labels"))
	s.SetPos(slo.FieldLabels, m.PosOf("labels"))
	s.Annotations = merge(def.annotations, m.StringMap("annotations"))
	s.GroupBy = m.StringList("groupBy")
	s.SetPos(slo.FieldGroupBy, m.PosOf("groupBy"))
	if sli := m.Sub("sli"); sli != nil {
		readSLI(sli, &s)
	}
	if def.alerting != nil {
		readAlerting(def.alerting, &s)
	}
	if a := m.Sub("alerting"); a != nil {
		readAlerting(a, &s)
	}
	m.Done()
	return s, ok
}

func merge(a, b map[string]string) map[string]string {
	if a == nil && b == nil {
		return nil
	}
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func readSLI(m *ynode.Map, s *slo.SLO) {
	s.SetPos(slo.FieldSLI, m.Pos())
	kinds := []string{"ratio", "latency", "availability", "query"}
	var present []string
	for _, k := range kinds {
		if m.Has(k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		m.Done()
		m.Errorf("", "one of ratio, latency, availability or query is required")
		return
	case 1:
	default:
		m.Errorf(present[1], "only one SLI kind per SLO: found %s", strings.Join(present, " and "))
	}
	sub := m.Sub(present[0])
	m.Ignore(present[1:]...)
	m.Done()
	if sub == nil {
		return
	}
	str := func(key string, f slo.Field) string {
		v, _ := sub.String(key)
		s.SetPos(f, sub.PosOf(key))
		return v
	}
	switch present[0] {
	case "ratio":
		r := &slo.RatioSLI{Errors: str("errors", slo.FieldErrors), Good: str("good", slo.FieldGood), Total: str("total", slo.FieldTotal)}
		sub.Require("total")
		switch {
		case r.Errors == "" && r.Good == "" && !sub.Has("errors") && !sub.Has("good"):
			sub.Errorf("", "one of errors or good is required")
		case sub.Has("errors") && sub.Has("good"):
			sub.Errorf("good", "errors and good are exclusive: give one of them with total")
		}
		s.SLI = slo.SLI{Kind: slo.SLIRatio, Ratio: r}
	case "latency":
		l := &slo.LatencySLI{Histogram: str("histogram", slo.FieldHistogram), Total: str("total", slo.FieldTotal)}
		sub.Require("histogram", "threshold")
		if d, ok := sub.Duration("threshold"); ok {
			l.Threshold = d
		}
		s.SetPos(slo.FieldThreshold, sub.PosOf("threshold"))
		l.Native, _ = sub.Bool("native")
		s.SLI = slo.SLI{Kind: slo.SLILatency, Latency: l}
	case "availability":
		sub.Require("gauge")
		s.SLI = slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: str("gauge", slo.FieldGauge)}}
	case "query":
		q := &slo.QuerySLI{
			ErrorRatio: str("errorRatio", slo.FieldErrorRatio),
			Errors:     str("errors", slo.FieldErrors),
			Good:       str("good", slo.FieldGood),
			Total:      str("total", slo.FieldTotal),
		}
		switch {
		case q.ErrorRatio != "" && (q.Errors != "" || q.Good != "" || q.Total != ""):
			sub.Errorf("errorRatio", "errorRatio is exclusive with errors/good/total")
		case q.ErrorRatio == "" && q.Total == "":
			sub.Errorf("", "either errorRatio, or total with errors or good, is required")
		case q.ErrorRatio == "" && q.Errors == "" && q.Good == "":
			sub.Errorf("total", "total needs errors or good beside it")
		case q.Errors != "" && q.Good != "":
			sub.Errorf("good", "errors and good are exclusive")
		}
		s.SLI = slo.SLI{Kind: slo.SLIQuery, Query: q}
	}
	sub.Done()
}

// readAlerting applies an alerting block (service defaults first, then the
// SLO's own) onto s.Alerting.
func readAlerting(m *ynode.Map, s *slo.SLO) {
	a := &s.Alerting
	s.SetPos(slo.FieldAlerting, m.Pos())
	if v, ok := m.Bool("disabled"); ok {
		a.Disabled = v
	}
	if v, ok := m.String("name"); ok {
		a.Name = v
	}
	if v, ok := m.Float("minEvents", false); ok {
		a.MinEvents = v
		s.SetPos(slo.FieldMinEvents, m.PosOf("minEvents"))
	}
	if v, ok := m.String("runbook"); ok {
		a.Runbook = v
		s.SetPos(slo.FieldRunbook, m.PosOf("runbook"))
	}
	if v, ok := m.String("dashboard"); ok {
		a.Dashboard = v
	}
	if l := m.StringMap("labels"); l != nil {
		a.Labels = merge(a.Labels, l)
		s.SetPos(slo.FieldAlertLabels, m.PosOf("labels"))
	}
	if l := m.StringMap("annotations"); l != nil {
		a.Annotations = merge(a.Annotations, l)
	}
	if ab := m.Sub("absent"); ab != nil {
		if v, ok := ab.Bool("disabled"); ok {
			a.Absent.Disabled = v
		}
		if v, ok := ab.Duration("for"); ok {
			a.Absent.For = v
		}
		if v, ok := ab.String("severity"); ok {
			a.Absent.Severity = v
		}
		ab.Done()
	}
	if be := m.Sub("budgetExhausted"); be != nil {
		if v, ok := be.Bool("disabled"); ok {
			a.BudgetExhausted.Disabled = v
		}
		if v, ok := be.String("severity"); ok {
			a.BudgetExhausted.Severity = v
		}
		be.Done()
	}
	// page and ticket set both tiers of their class; tiers.<name> one tier.
	for _, class := range []string{"page", "ticket"} {
		if c := m.Sub(class); c != nil {
			o := readTier(c, s, false)
			for _, name := range slo.TierNames() {
				if strings.HasPrefix(name, class+"-") {
					setTier(a, name, o)
				}
			}
		}
	}
	if items := m.List("customTiers"); items != nil {
		a.TierSet = []slo.Tier{}
		for _, it := range items {
			if c := m.Decoder().Map(it.Node, it.Path); c != nil {
				a.TierSet = append(a.TierSet, readCustomTier(c))
			}
		}
		s.SetPos(slo.FieldTiers, m.PosOf("customTiers"))
	}
	if ts := m.Sub("tiers"); ts != nil {
		s.SetPos(slo.FieldTiers, ts.Pos())
		known := map[string]bool{}
		for _, n := range slo.TierNames() {
			known[n] = a.TierSet == nil
		}
		for _, t := range a.TierSet {
			known[t.Name] = true
		}
		for _, name := range ts.Keys() {
			if !known[name] {
				ts.Errorf(name, "unknown tier %q: the tiers are %s", name, strings.Join(tierNames(a), ", "))
				ts.Ignore(name)
				continue
			}
			if c := ts.Sub(name); c != nil {
				s.SetPos(slo.FieldAlertingTierX+slo.Field("."+name), c.Pos())
				setTier(a, name, readTier(c, s, true))
			}
		}
		ts.Done()
	}
	m.Done()
}

func setTier(a *slo.Alerting, name string, o slo.TierOverride) {
	if a.Tiers == nil {
		a.Tiers = map[string]slo.TierOverride{}
	}
	cur := a.Tiers[name]
	if o.Disabled != nil {
		cur.Disabled = o.Disabled
	}
	if o.Severity != nil {
		cur.Severity = o.Severity
	}
	if o.For != nil {
		cur.For = o.For
	}
	if o.BudgetFraction != nil {
		cur.BudgetFraction = o.BudgetFraction
	}
	if o.Long != nil {
		cur.Long = o.Long
	}
	if o.Short != nil {
		cur.Short = o.Short
	}
	cur.Labels = merge(cur.Labels, o.Labels)
	cur.Annotations = merge(cur.Annotations, o.Annotations)
	a.Tiers[name] = cur
}

func readTier(m *ynode.Map, s *slo.SLO, windows bool) slo.TierOverride {
	var o slo.TierOverride
	if v, ok := m.Bool("disabled"); ok {
		o.Disabled = &v
	}
	if v, ok := m.String("severity"); ok {
		o.Severity = &v
	}
	if v, ok := m.Duration("for"); ok {
		o.For = &v
	}
	o.Labels = m.StringMap("labels")
	o.Annotations = m.StringMap("annotations")
	if windows {
		if v, ok := m.Float("budgetPercent", false); ok {
			f := v / 100
			if v <= 0 || v > 100 {
				m.Errorf("budgetPercent", "%v is outside (0, 100]", v)
			}
			o.BudgetFraction = &f
		}
		if v, ok := m.Duration("longWindow"); ok {
			o.Long = &v
		}
		if v, ok := m.Duration("shortWindow"); ok {
			o.Short = &v
		}
	}
	m.Done()
	_ = s
	return o
}

// readCustomTier reads one entry of alerting.customTiers, which replaces the
// default tiers entirely (used when migrating OpenSLO burn-rate conditions).
func readCustomTier(m *ynode.Map) slo.Tier {
	t := slo.Tier{Class: "page", Severity: "critical"}
	m.Require("name", "longWindow", "shortWindow")
	t.Name, _ = m.String("name")
	if c, ok := m.String("class"); ok {
		if c != "page" && c != "ticket" {
			m.Errorf("class", "class must be page or ticket, got %q", c)
		}
		t.Class = c
		if c == "ticket" {
			t.Severity = "warning"
		}
	}
	t.Long, _ = m.Duration("longWindow")
	t.Short, _ = m.Duration("shortWindow")
	switch {
	case m.Has("burnRate") && m.Has("budgetPercent"):
		m.Errorf("burnRate", "burnRate and budgetPercent are exclusive")
	case m.Has("burnRate"):
		t.Factor, _ = m.Float("burnRate", false)
		if t.Factor <= 0 {
			m.Errorf("burnRate", "burnRate must be positive")
		}
	case m.Has("budgetPercent"):
		v, _ := m.Float("budgetPercent", false)
		if v <= 0 || v > 100 {
			m.Errorf("budgetPercent", "%v is outside (0, 100]", v)
		}
		t.BudgetFraction = v / 100
	default:
		m.Errorf("", "one of burnRate or budgetPercent is required")
	}
	if v, ok := m.String("severity"); ok {
		t.Severity = v
	}
	t.For, _ = m.Duration("for")
	t.Labels = m.StringMap("labels")
	t.Annotations = m.StringMap("annotations")
	m.Done()
	return t
}

func tierNames(a *slo.Alerting) []string {
	if a.TierSet == nil {
		return slo.TierNames()
	}
	names := make([]string, len(a.TierSet))
	for i, t := range a.TierSet {
		names[i] = t.Name
	}
	return names
}
