package openslo

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// This file is the first pass: every document is decoded into the types
// below, checking structure, types, required and unknown fields. Nothing is
// resolved yet, so that references may point at documents read later.

// label is one metadata label; OpenSLO allows a list of values.
type label struct {
	key    string
	values []string
	keyPos slo.Pos
}

type keyValue struct {
	key, value string
	keyPos     slo.Pos
}

type metadata struct {
	name        string
	namePos     slo.Pos
	hasName     bool
	labels      []label
	labelsPos   slo.Pos
	annotations []keyValue
	annPos      slo.Pos
}

// metricSource is a v1 metricSource, or a v1alpha {source, queryType, query}.
type metricSource struct {
	pos     slo.Pos
	ref     string
	refPos  slo.Pos
	typ     string
	typPos  slo.Pos
	hasType bool
	// spec is the free-form spec mapping of a v1 metric source; read only
	// once the type is known to be Prometheus.
	spec *ynode.Map
	// v1alpha fields.
	alpha        bool
	queryType    string
	queryTypePos slo.Pos
	query        string
	queryPos     slo.Pos

	res *sourceResult
}

type ratioDef struct {
	pos                    slo.Pos
	counter                *bool
	good, bad, total, raw  *metricSource
	rawType                string
	rawTypePos, counterPos slo.Pos
}

// sliDef is an SLI: a v1 SLI document, an inline v1 indicator, or what a
// v1alpha objective or indicator says.
type sliDef struct {
	kindName  string // "SLI" or "indicator", for messages
	name      string
	pos       slo.Pos
	threshold *metricSource
	ratio     *ratioDef
	errPos    *slo.Pos

	res *sliResult
}

type objectiveDef struct {
	pos            slo.Pos
	path           string
	index          int
	displayName    string
	displayNamePos slo.Pos
	op             string
	opPos          slo.Pos
	value          float64
	valuePos       slo.Pos
	hasValue       bool
	objective      float64
	objectivePos   slo.Pos
	hasObjective   bool
	timeSlicePos   *slo.Pos
	// sli is a v1alpha objective's own ratioMetrics.
	sli *sliDef
}

type periodDef struct {
	set    bool
	period slo.Period
	pos    slo.Pos
	tzPos  slo.Pos
}

type sloDef struct {
	doc          ynode.Doc
	alpha        bool
	pos          slo.Pos
	md           metadata
	description  string
	service      string
	servicePos   slo.Pos
	indicator    *sliDef
	indicatorPos slo.Pos
	indicatorRef string
	hasRef       bool
	period       periodDef
	occurrences  bool
	// refused is set when budgetingMethod is refused: the SLO cannot be
	// imported whatever else it says, so nothing else of it is mapped or
	// refused (one refusal per SLO), only its structure is checked.
	refused     bool
	objectives  []objectiveDef
	policies    []policyUse
	hasPolicies bool
	policiesPos slo.Pos
	errPos      *slo.Pos
}

type policyUse struct {
	pos    slo.Pos
	ref    string
	inline *policyDef
}

type policyDef struct {
	name      string
	pos       slo.Pos
	breaching bool
	breachPos slo.Pos
	conds     []condUse
	targets   []targetUse
	errPos    *slo.Pos

	res *policyResult
}

type condUse struct {
	pos    slo.Pos
	ref    string
	inline *condDef
}

type targetUse struct {
	pos slo.Pos
	ref string
}

type condDef struct {
	name       string
	namePos    slo.Pos
	pos        slo.Pos
	severity   string
	op         string
	opPos      slo.Pos
	threshold  float64
	lookback   time.Duration
	alertAfter time.Duration
	errPos     *slo.Pos

	res *condResult
}

type dataSourceDef struct {
	typ    string
	typPos slo.Pos
	errPos *slo.Pos
}

// mark and firstErrorSince delimit the problems one object produced.
func (im *importer) mark() int { return len(*im.ps) }

func (im *importer) firstErrorSince(mark int) *slo.Pos {
	for i := mark; i < len(*im.ps); i++ {
		if (*im.ps)[i].Severity == slo.Error {
			p := (*im.ps)[i].Pos
			return &p
		}
	}
	return nil
}

// Kind names.
const (
	kindSLO        = "SLO"
	kindSLI        = "SLI"
	kindService    = "Service"
	kindPolicy     = "AlertPolicy"
	kindCondition  = "AlertCondition"
	kindTarget     = "AlertNotificationTarget"
	kindDataSource = "DataSource"
)

const v1Kinds = "SLO, SLI, Service, AlertPolicy, AlertCondition, AlertNotificationTarget or DataSource"

func (im *importer) decodeDoc(d ynode.Doc) {
	if d.Root == nil {
		return
	}
	dec := ynode.NewDecoder(d.File, im.ps)
	root := dec.Map(d.Root, d.Path)
	if root == nil {
		return
	}
	root.Ignore("apiVersion")
	if !root.Require("kind") {
		root.Ignore("metadata", "spec")
		root.Done()
		return
	}
	kind, _ := root.String("kind")
	switch d.APIVersion {
	case APIVersionV1:
		switch kind {
		case kindSLO:
			im.decodeSLO(d, root, false)
		case kindSLI:
			im.decodeSLIDoc(root)
		case kindService:
			im.decodeService(root)
		case kindPolicy:
			im.decodePolicyDoc(root)
		case kindCondition:
			im.decodeConditionDoc(root)
		case kindTarget:
			im.decodeTargetDoc(root)
		case kindDataSource:
			im.decodeDataSource(root)
		default:
			root.Errorf("kind", "unsupported kind %q for %s: expected %s", kind, APIVersionV1, v1Kinds)
		}
	case APIVersionV1Alpha:
		switch kind {
		case kindSLO:
			im.decodeSLO(d, root, true)
		case kindService:
			im.decodeService(root)
		default:
			root.Errorf("kind", "unsupported kind %q for %s: expected SLO or Service", kind, APIVersionV1Alpha)
		}
	default:
		root.Errorf("apiVersion", "unsupported apiVersion %q: slokeeper reads %s (%s) and %s SLO (as Sloth writes it)", d.APIVersion, APIVersionV1, v1Kinds, APIVersionV1Alpha)
	}
}

// header reads metadata and opens spec; it reports missing ones.
func (im *importer) header(root *ynode.Map) (metadata, *ynode.Map) {
	root.Require("metadata", "spec")
	var md metadata
	if m := root.Sub("metadata"); m != nil {
		md = im.metadata(m, true)
	}
	spec := root.Sub("spec")
	root.Done()
	return md, spec
}

// inlineHeader reads an inline object ({kind, metadata, spec}): kind and
// apiVersion are optional but must match when given.
func (im *importer) inlineHeader(m *ynode.Map, wantKind string, nameRequired bool) (metadata, *ynode.Map) {
	if v, ok := m.String("apiVersion"); ok && v != APIVersionV1 {
		m.Errorf("apiVersion", "unsupported apiVersion %q for an inline %s: expected %s", v, wantKind, APIVersionV1)
	}
	if k, ok := m.String("kind"); ok && k != wantKind {
		m.Errorf("kind", "expected kind %s here, got %q", wantKind, k)
	}
	m.Require("spec")
	if nameRequired {
		m.Require("metadata")
	}
	var md metadata
	if mm := m.Sub("metadata"); mm != nil {
		md = im.metadata(mm, nameRequired)
	}
	spec := m.Sub("spec")
	m.Done()
	return md, spec
}

func (im *importer) metadata(m *ynode.Map, nameRequired bool) metadata {
	var md metadata
	if nameRequired {
		m.Require("name")
	}
	md.name, md.hasName = m.String("name")
	md.namePos = m.PosOf("name")
	m.String("displayName")
	md.labels = readLabels(m, "labels")
	md.labelsPos = m.PosOf("labels")
	if a := m.Sub("annotations"); a != nil {
		md.annPos = a.Pos()
		for _, k := range a.Keys() {
			if v, ok := a.String(k); ok {
				md.annotations = append(md.annotations, keyValue{key: k, value: v, keyPos: a.KeyPos(k)})
			}
		}
	}
	m.Done()
	return md
}

// readLabels reads OpenSLO labels: each value a string or a list of strings.
func readLabels(m *ynode.Map, key string) []label {
	sub := m.Sub(key)
	if sub == nil {
		return nil
	}
	var out []label
	for _, k := range sub.Keys() {
		n := sub.Get(k)
		pos := sub.PosOf(k)
		l := label{key: k, keyPos: sub.KeyPos(k)}
		switch {
		case n == nil || isNull(n):
			l.values = []string{""}
		case n.Kind == yaml.ScalarNode:
			l.values = []string{n.Value}
		case n.Kind == yaml.SequenceNode:
			bad := false
			for i, el := range n.Content {
				el = ynode.Resolve(el)
				if el == nil || el.Kind != yaml.ScalarNode || isNull(el) {
					m.Decoder().Errorf(orNode(el, n), fmt.Sprintf("%s[%d]", pos.Path, i), "expected a string, got %s", describe(el))
					bad = true
					continue
				}
				l.values = append(l.values, el.Value)
			}
			if bad {
				continue
			}
		default:
			sub.Errorf(k, "expected a string or a list of strings, got %s", describe(n))
			continue
		}
		out = append(out, l)
	}
	return out
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n == nil {
		return fallback
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = ynode.Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func describe(n *yaml.Node) string {
	n = ynode.Resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	case n.Tag == "!!str":
		return fmt.Sprintf("the string %q", clip(n.Value))
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "the number " + clip(n.Value)
	case n.Tag == "!!bool":
		return "the boolean " + n.Value
	}
	return fmt.Sprintf("%q", clip(n.Value))
}

// register records a named document for references, reporting duplicates.
func (im *importer) register(kind string, md metadata) bool {
	if !md.hasName || md.name == "" {
		return false
	}
	names := im.defined[kind]
	if names == nil {
		names = map[string]slo.Pos{}
		im.defined[kind] = names
	}
	if first, dup := names[md.name]; dup {
		im.ps.Add(md.namePos, "duplicate %s %q: already defined at %s", kind, md.name, posString(first))
		return false
	}
	names[md.name] = md.namePos
	return true
}

func posString(p slo.Pos) string {
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, max(p.Col, 1))
}

// --- SLO ---------------------------------------------------------------

func (im *importer) decodeSLO(d ynode.Doc, root *ynode.Map, alpha bool) {
	mark := im.mark()
	def := &sloDef{doc: d, alpha: alpha, pos: root.Pos()}
	im.slos = append(im.slos, def)
	md, spec := im.header(root)
	def.md = md
	if spec == nil {
		def.errPos = im.firstErrorSince(mark)
		return
	}
	spec.Require("service", "budgetingMethod", "objectives")
	def.description, _ = spec.String("description")
	def.service, _ = spec.String("service")
	def.servicePos = spec.PosOf("service")
	if b, ok := spec.String("budgetingMethod"); ok {
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "occurrences":
			def.occurrences = true
		case "timeslices", "ratiotimeslices":
			def.refused = true
			spec.Errorf("budgetingMethod", "budgetingMethod %s is not supported: slokeeper budgets by occurrences (good/total events); use budgetingMethod: Occurrences", b)
		default:
			spec.Errorf("budgetingMethod", "unknown budgetingMethod %q: expected Occurrences (Timeslices and RatioTimeslices are not supported)", b)
		}
	}
	if alpha {
		if m := spec.Sub("indicator"); m != nil {
			def.indicator = im.decodeAlphaIndicator(m)
			def.indicatorPos = m.Pos()
		}
		def.period = im.decodeAlphaWindows(spec, def.refused)
	} else {
		def.indicatorPos = spec.PosOf("indicator")
		if m := spec.Sub("indicator"); m != nil {
			md, s := im.inlineHeader(m, kindSLI, false)
			if s != nil {
				def.indicator = im.decodeSLISpec(s, "indicator", md.name)
			}
		}
		if ref, ok := spec.String("indicatorRef"); ok {
			def.indicatorRef, def.hasRef = ref, true
			if def.indicator != nil {
				spec.Errorf("indicatorRef", "indicator and indicatorRef are exclusive: give one")
			} else {
				def.indicatorPos = spec.PosOf("indicatorRef")
			}
		}
		if !spec.Has("indicator") && !spec.Has("indicatorRef") {
			spec.Errorf("indicator", "indicator or indicatorRef is required")
		}
		def.period = im.decodeTimeWindow(spec, def.refused)
		im.decodePolicyUses(spec, def)
	}
	items := spec.List("objectives")
	if items != nil && len(items) == 0 {
		spec.Errorf("objectives", "objectives is empty: give at least one objective")
	}
	for i, it := range items {
		m := spec.Decoder().Map(it.Node, it.Path)
		if m == nil {
			continue
		}
		def.objectives = append(def.objectives, im.decodeObjective(m, i, alpha))
	}
	spec.Done()
	if def.occurrences && !def.refused {
		for _, o := range def.objectives {
			if o.timeSlicePos != nil {
				im.ps.Warn(*o.timeSlicePos, "timeSliceTarget and timeSliceWindow apply only to Timeslices budgeting: ignored with Occurrences")
			}
		}
	}
	def.errPos = im.firstErrorSince(mark)
}

func (im *importer) decodeObjective(m *ynode.Map, i int, alpha bool) objectiveDef {
	o := objectiveDef{pos: m.Pos(), path: m.Path, index: i}
	o.displayName, _ = m.String("displayName")
	o.displayNamePos = m.PosOf("displayName")
	if op, ok := m.String("op"); ok {
		if validOp(op) {
			o.op = op
		} else {
			m.Errorf("op", "unknown op %q: expected lt, lte, gt or gte", op)
		}
	}
	o.opPos = m.PosOf("op")
	o.value, o.hasValue = m.Float("value", false)
	o.valuePos = m.PosOf("value")
	target, hasTarget := m.Float("target", false)
	pct, hasPct := m.Float("targetPercent", false)
	switch {
	case hasTarget && hasPct:
		m.Errorf("targetPercent", "target and targetPercent are exclusive: give one")
	case hasTarget && target >= 1 && target < 100:
		m.Errorf("target", "target %s is a ratio below 1 (0.999 means 99.9%%): did you mean targetPercent: %s?", fmtFloat(target), fmtFloat(target))
	case hasTarget:
		o.objective, o.hasObjective, o.objectivePos = roundPercent(target*100), true, m.PosOf("target")
	case hasPct:
		o.objective, o.hasObjective, o.objectivePos = pct, true, m.PosOf("targetPercent")
	case !m.Has("target") && !m.Has("targetPercent"):
		m.Errorf("target", "target (a ratio such as 0.999) or targetPercent (such as 99.9) is required")
	}
	for _, k := range []string{"timeSliceTarget", "timeSliceWindow"} {
		if m.Has(k) {
			p := m.PosOf(k)
			if o.timeSlicePos == nil {
				o.timeSlicePos = &p
			}
		}
	}
	m.Float("timeSliceTarget", false)
	m.Ignore("timeSliceWindow") // a number (minutes) or a duration
	if alpha {
		if r := m.Sub("ratioMetrics"); r != nil {
			o.sli = im.decodeAlphaRatio(r)
		}
	}
	m.Done()
	return o
}

func validOp(op string) bool {
	switch op {
	case "lt", "lte", "gt", "gte":
		return true
	}
	return false
}

// roundPercent drops the binary noise of target*100 (0.999*100 is
// 99.89999999999999 in floating point).
func roundPercent(f float64) float64 {
	const scale = 1e9
	if math.Abs(f) > 1e9 {
		return f
	}
	return math.Round(f*scale) / scale
}

// decodeTimeWindow reads a v1 timeWindow: exactly one item, rolling or
// calendar-aligned. Without timeWindow the period is slokeeper's default.
func (im *importer) decodeTimeWindow(spec *ynode.Map, refused bool) periodDef {
	items := spec.List("timeWindow")
	if items == nil {
		return periodDef{}
	}
	if len(items) != 1 {
		spec.Errorf("timeWindow", "timeWindow takes exactly one item, got %d", len(items))
		return periodDef{}
	}
	w := spec.Decoder().Map(items[0].Node, items[0].Path)
	if w == nil {
		return periodDef{}
	}
	w.Require("duration")
	durText, hasDur := w.String("duration")
	rolling, hasRolling := w.Bool("isRolling")
	cal := im.decodeCalendar(w)
	w.Done()
	if !hasDur {
		return periodDef{}
	}
	sh, err := parseShorthand(durText)
	if err != nil {
		w.Errorf("duration", "%v", err)
		return periodDef{}
	}
	if refused {
		return periodDef{}
	}
	return im.period(w, "duration", sh, rolling, hasRolling, cal)
}

// calendar is a window's calendar: {startTime, timeZone}.
type calendar struct {
	has      bool
	tz       string
	tzPos    slo.Pos
	start    time.Time
	hasStart bool
	startPos slo.Pos
	startRaw string
}

func (im *importer) decodeCalendar(w *ynode.Map) calendar {
	cal := w.Sub("calendar")
	if cal == nil {
		return calendar{}
	}
	c := calendar{has: true}
	if st, ok := cal.String("startTime"); ok {
		t, err := time.Parse("2006-01-02 15:04:05", strings.TrimSpace(st))
		if err != nil {
			t, err = time.Parse(time.RFC3339, strings.TrimSpace(st))
		}
		if err != nil {
			cal.Errorf("startTime", "startTime %q is not a date and time such as 2022-01-01 00:00:00", clip(st))
		} else {
			c.start, c.hasStart, c.startPos, c.startRaw = t, true, cal.PosOf("startTime"), st
		}
	}
	c.tz, _ = cal.String("timeZone")
	c.tzPos = cal.PosOf("timeZone")
	if !cal.Has("timeZone") {
		c.tzPos = cal.Pos()
	}
	cal.Done()
	return c
}

// period maps a window to the model: rolling windows of any length (the
// validator checks the range), calendar months; other calendar lengths are
// refused.
func (im *importer) period(w *ynode.Map, durKey string, sh shorthand, rolling, hasRolling bool, cal calendar) periodDef {
	pos := w.PosOf(durKey)
	aligned := (hasRolling && !rolling) || (!hasRolling && cal.has)
	if hasRolling && rolling && cal.has {
		w.Errorf("calendar", "calendar applies to calendar-aligned windows: set isRolling: false, or remove calendar for a rolling window")
		return periodDef{}
	}
	if !aligned {
		if sh.d <= 0 {
			w.Errorf(durKey, "the window must be longer than 0")
			return periodDef{}
		}
		if sh.calendarUnit() {
			w.Warnf(durKey, "a rolling window of %s is read as %s", sh, formatDuration(sh.d))
		}
		return periodDef{set: true, period: slo.Period{Kind: slo.Rolling, Rolling: sh.d}, pos: pos, tzPos: pos}
	}
	if sh.unit == "M" && sh.n == 1 {
		p := periodDef{set: true, period: slo.Period{Kind: slo.CalendarMonth, TimeZone: cal.tz}, pos: pos, tzPos: pos}
		if cal.has {
			p.tzPos = cal.tzPos
		}
		if t := cal.start; cal.hasStart && (t.Day() != 1 || t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0) {
			im.ps.Warn(cal.startPos, "startTime %s is not used: slokeeper's calendar months start on the 1st at 00:00 in the time zone", clip(cal.startRaw))
		}
		return p
	}
	hint := ""
	if sh.unit == "m" && sh.n == 1 {
		hint = " (1m is one minute; a month is 1M)"
	}
	w.Errorf(durKey, "a calendar window of %s is not supported%s: slokeeper supports calendar months (duration: 1M) and rolling windows (isRolling: true)", sh, hint)
	return periodDef{}
}

func (im *importer) decodePolicyUses(spec *ynode.Map, def *sloDef) {
	def.hasPolicies = spec.Has("alertPolicies") && !spec.IsNull("alertPolicies")
	def.policiesPos = spec.PosOf("alertPolicies")
	for _, it := range spec.List("alertPolicies") {
		use := policyUse{pos: spec.Decoder().PosOf(it.Node, it.Path)}
		if it.Node.Kind == yaml.ScalarNode && !isNull(it.Node) {
			// The OpenSLO Go SDK writes references as plain names.
			use.ref = it.Node.Value
			def.policies = append(def.policies, use)
			continue
		}
		m := spec.Decoder().Map(it.Node, it.Path)
		if m == nil {
			continue
		}
		if m.Has("alertPolicyRef") {
			use.ref, _ = m.String("alertPolicyRef")
			use.pos = m.PosOf("alertPolicyRef")
			m.Done()
		} else {
			md, s := im.inlineHeader(m, kindPolicy, false)
			use.inline = im.decodePolicySpec(s, md)
		}
		if use.ref != "" || use.inline != nil {
			def.policies = append(def.policies, use)
		}
	}
}

// --- SLI ---------------------------------------------------------------

func (im *importer) decodeSLIDoc(root *ynode.Map) {
	mark := im.mark()
	md, spec := im.header(root)
	var def *sliDef
	if spec != nil {
		def = im.decodeSLISpec(spec, "SLI", md.name)
	}
	if def == nil {
		def = &sliDef{kindName: "SLI", name: md.name, pos: root.Pos()}
	}
	def.errPos = im.firstErrorSince(mark)
	if im.register(kindSLI, md) {
		im.slis[md.name] = def
	}
}

func (im *importer) decodeSLISpec(m *ynode.Map, kindName, name string) *sliDef {
	mark := im.mark()
	def := &sliDef{kindName: kindName, name: name, pos: m.Pos()}
	m.String("description")
	thr := m.Sub("thresholdMetric")
	rat := m.Sub("ratioMetric")
	switch {
	case m.Has("thresholdMetric") && m.Has("ratioMetric"):
		m.Errorf("ratioMetric", "thresholdMetric and ratioMetric are exclusive: give one")
	case !m.Has("thresholdMetric") && !m.Has("ratioMetric"):
		m.Errorf("ratioMetric", "ratioMetric or thresholdMetric is required")
	}
	if thr != nil {
		thr.Require("metricSource")
		if ms := thr.Sub("metricSource"); ms != nil {
			def.threshold = im.decodeMetricSource(ms)
		}
		thr.Done()
	}
	if rat != nil {
		def.ratio = im.decodeRatio(rat)
	}
	m.Done()
	def.errPos = im.firstErrorSince(mark)
	return def
}

func (im *importer) decodeRatio(m *ynode.Map) *ratioDef {
	r := &ratioDef{pos: m.Pos()}
	if c, ok := m.Bool("counter"); ok {
		r.counter = &c
	}
	r.counterPos = m.PosOf("counter")
	part := func(key string) *metricSource {
		w := m.Sub(key)
		if w == nil {
			return nil
		}
		w.Require("metricSource")
		var ms *metricSource
		if s := w.Sub("metricSource"); s != nil {
			ms = im.decodeMetricSource(s)
		}
		w.Done()
		return ms
	}
	r.good, r.bad, r.total, r.raw = part("good"), part("bad"), part("total"), part("raw")
	if rt, ok := m.String("rawType"); ok {
		if rt == "success" || rt == "failure" {
			r.rawType = rt
		} else {
			m.Errorf("rawType", "unknown rawType %q: expected success or failure", rt)
		}
	}
	r.rawTypePos = m.PosOf("rawType")
	has := m.Has
	switch {
	case has("raw"):
		if has("good") || has("bad") || has("total") {
			m.Errorf("raw", "raw cannot be combined with good, bad or total")
		}
		if !has("rawType") {
			m.Errorf("rawType", "rawType (success or failure) is required with raw")
		}
	default:
		if has("rawType") {
			m.Errorf("rawType", "rawType applies only to raw")
		}
		switch {
		case has("good") && has("bad"):
			m.Errorf("bad", "good and bad are exclusive: give one, beside total")
		case !has("good") && !has("bad"):
			m.Errorf("good", "good or bad is required beside total (or raw with rawType)")
		}
		if !has("total") {
			m.Errorf("total", "total is required with good or bad")
		}
	}
	m.Done()
	return r
}

func (im *importer) decodeMetricSource(m *ynode.Map) *metricSource {
	ms := &metricSource{pos: m.Pos()}
	ms.ref, _ = m.String("metricSourceRef")
	ms.refPos = m.PosOf("metricSourceRef")
	ms.typ, ms.hasType = m.String("type")
	ms.typPos = m.PosOf("type")
	// spec holds whatever the data source type needs: it is read only when
	// the type is Prometheus.
	if n := m.Get("spec"); n != nil && !isNull(n) {
		ms.spec = m.Decoder().Map(n, m.FieldPath("spec"))
	}
	m.Done()
	return ms
}

// --- v1alpha -------------------------------------------------------------

// decodeAlphaSource reads a v1alpha metric source: {source, queryType, query}.
func (im *importer) decodeAlphaSource(m *ynode.Map) *metricSource {
	ms := &metricSource{pos: m.Pos(), alpha: true}
	m.Require("source", "queryType", "query")
	ms.typ, ms.hasType = m.String("source")
	ms.typPos = m.PosOf("source")
	ms.queryType, _ = m.String("queryType")
	ms.queryTypePos = m.PosOf("queryType")
	ms.query, _ = m.String("query")
	ms.queryPos = m.PosOf("query")
	m.Done()
	return ms
}

func (im *importer) decodeAlphaIndicator(m *ynode.Map) *sliDef {
	mark := im.mark()
	def := &sliDef{kindName: "indicator", pos: m.Pos()}
	m.Require("thresholdMetric")
	if t := m.Sub("thresholdMetric"); t != nil {
		def.threshold = im.decodeAlphaSource(t)
	}
	m.Done()
	def.errPos = im.firstErrorSince(mark)
	return def
}

func (im *importer) decodeAlphaRatio(m *ynode.Map) *sliDef {
	mark := im.mark()
	def := &sliDef{kindName: "ratioMetrics", pos: m.Pos()}
	r := &ratioDef{pos: m.Pos()}
	def.ratio = r
	m.Require("good", "total")
	if c, ok := m.Bool("counter"); ok {
		r.counter = &c
	}
	r.counterPos = m.PosOf("counter")
	if g := m.Sub("good"); g != nil {
		r.good = im.decodeAlphaSource(g)
	}
	if t := m.Sub("total"); t != nil {
		r.total = im.decodeAlphaSource(t)
	}
	m.Done()
	def.errPos = im.firstErrorSince(mark)
	return def
}

// alphaUnits are v1alpha's time window units.
var alphaUnits = map[string]time.Duration{
	"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": day,
	"week": 7 * day, "month": 30 * day, "quarter": 90 * day, "year": 365 * day,
}

func (im *importer) decodeAlphaWindows(spec *ynode.Map, refused bool) periodDef {
	items := spec.List("timeWindows")
	if items == nil {
		return periodDef{}
	}
	if len(items) != 1 {
		spec.Errorf("timeWindows", "timeWindows takes exactly one item, got %d", len(items))
		return periodDef{}
	}
	w := spec.Decoder().Map(items[0].Node, items[0].Path)
	if w == nil {
		return periodDef{}
	}
	w.Require("count", "unit")
	count, hasCount := w.Int("count")
	unit, hasUnit := w.String("unit")
	rolling, hasRolling := w.Bool("isRolling")
	cal := im.decodeCalendar(w)
	w.Done()
	if !hasCount || !hasUnit {
		return periodDef{}
	}
	u, ok := alphaUnits[strings.ToLower(strings.TrimSpace(unit))]
	if !ok {
		w.Errorf("unit", "unknown unit %q: expected Second, Minute, Hour, Day, Week, Month, Quarter or Year", unit)
		return periodDef{}
	}
	if count <= 0 || int64(count) > int64(1<<62)/int64(u) {
		w.Errorf("count", "count must be a positive number of %ss, got %d", strings.ToLower(unit), count)
		return periodDef{}
	}
	sh := shorthand{n: int64(count), d: time.Duration(count) * u}
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "month":
		sh.unit = "M"
	case "quarter":
		sh.unit = "Q"
	case "year":
		sh.unit = "Y"
	case "minute":
		sh.unit = "m"
	}
	if refused {
		return periodDef{}
	}
	return im.period(w, "count", sh, rolling, hasRolling, cal)
}

// --- alerting --------------------------------------------------------------

func (im *importer) decodePolicyDoc(root *ynode.Map) {
	md, spec := im.header(root)
	p := im.decodePolicySpec(spec, md)
	if p == nil {
		p = &policyDef{name: md.name, pos: root.Pos()}
		pos := root.Pos()
		p.errPos = &pos
	}
	if im.register(kindPolicy, md) {
		im.policies[md.name] = p
	}
}

func (im *importer) decodePolicySpec(m *ynode.Map, md metadata) *policyDef {
	if m == nil {
		return nil
	}
	mark := im.mark()
	p := &policyDef{name: md.name, pos: m.Pos(), breaching: true}
	m.String("description")
	m.Bool("alertWhenNoData")
	m.Bool("alertWhenResolved")
	if b, ok := m.Bool("alertWhenBreaching"); ok {
		p.breaching = b
	}
	p.breachPos = m.PosOf("alertWhenBreaching")
	m.Require("conditions")
	conds := m.List("conditions")
	if conds != nil && len(conds) == 0 {
		m.Errorf("conditions", "conditions is empty: give one alert condition")
	}
	for _, it := range conds {
		c := m.Decoder().Map(it.Node, it.Path)
		if c == nil {
			continue
		}
		use := condUse{pos: c.Pos()}
		if c.Has("conditionRef") {
			use.ref, _ = c.String("conditionRef")
			use.pos = c.PosOf("conditionRef")
			c.Done()
		} else {
			cmd, s := im.inlineHeader(c, kindCondition, true)
			use.inline = im.decodeConditionSpec(s, cmd)
		}
		if use.ref != "" || use.inline != nil {
			p.conds = append(p.conds, use)
		}
	}
	for _, it := range m.List("notificationTargets") {
		t := m.Decoder().Map(it.Node, it.Path)
		if t == nil {
			continue
		}
		if t.Has("targetRef") {
			ref, _ := t.String("targetRef")
			p.targets = append(p.targets, targetUse{pos: t.PosOf("targetRef"), ref: ref})
			t.Done()
			continue
		}
		_, s := im.inlineHeader(t, kindTarget, false)
		im.decodeTargetSpec(s)
	}
	m.Done()
	p.errPos = im.firstErrorSince(mark)
	return p
}

func (im *importer) decodeConditionDoc(root *ynode.Map) {
	md, spec := im.header(root)
	c := im.decodeConditionSpec(spec, md)
	if c == nil {
		pos := root.Pos()
		c = &condDef{name: md.name, namePos: md.namePos, pos: pos, errPos: &pos}
	}
	if im.register(kindCondition, md) {
		im.conditions[md.name] = c
	}
}

func (im *importer) decodeConditionSpec(m *ynode.Map, md metadata) *condDef {
	if m == nil {
		return nil
	}
	mark := im.mark()
	c := &condDef{name: md.name, namePos: md.namePos, pos: m.Pos(), op: "gte"}
	m.String("description")
	m.Require("severity", "condition")
	c.severity, _ = m.String("severity")
	if cm := m.Sub("condition"); cm != nil {
		if k, ok := cm.String("kind"); ok && !strings.EqualFold(k, "burnrate") {
			cm.Errorf("kind", "alert condition kind %q is not supported: slokeeper alerts on burn rates (kind: burnrate)", k)
		}
		cm.Require("threshold", "lookbackWindow")
		if op, ok := cm.String("op"); ok {
			if validOp(op) {
				c.op = op
			} else {
				cm.Errorf("op", "unknown op %q: expected gte or gt (lt and lte are not supported for burn rates)", op)
			}
		}
		c.opPos = cm.PosOf("op")
		if t, ok := cm.Float("threshold", false); ok {
			if t <= 0 {
				cm.Errorf("threshold", "threshold must be a positive burn rate, e.g. 2 or 14.4")
			}
			c.threshold = t
		}
		c.lookback = durationField(cm, "lookbackWindow", true)
		c.alertAfter = durationField(cm, "alertAfter", false)
		cm.Done()
	}
	m.Done()
	c.errPos = im.firstErrorSince(mark)
	return c
}

// durationField reads a duration-shorthand; positive says 0 is refused.
func durationField(m *ynode.Map, key string, positive bool) time.Duration {
	s, ok := m.String(key)
	if !ok {
		return 0
	}
	sh, err := parseShorthand(s)
	if err != nil {
		m.Errorf(key, "%v", err)
		return 0
	}
	if positive && sh.d <= 0 {
		m.Errorf(key, "%s must be longer than 0", key)
	}
	return sh.d
}

func (im *importer) decodeTargetDoc(root *ynode.Map) {
	md, spec := im.header(root)
	im.decodeTargetSpec(spec)
	if im.register(kindTarget, md) {
		im.targets[md.name] = true
	}
}

func (im *importer) decodeTargetSpec(m *ynode.Map) {
	if m == nil {
		return
	}
	m.Require("target")
	m.String("description")
	m.String("target")
	m.Done()
}

// --- Service and DataSource ------------------------------------------------

func (im *importer) decodeService(root *ynode.Map) {
	md, spec := im.header(root)
	if spec != nil {
		spec.String("description")
		spec.Done()
	}
	// Services map to nothing but the team of their SLOs (from a team
	// label); names may repeat (e.g. one per environment): the first wins.
	if md.hasName && md.name != "" {
		if _, seen := im.serviceTeams[md.name]; !seen {
			im.serviceTeams[md.name] = teamOf(md.labels)
		}
	}
}

func (im *importer) decodeDataSource(root *ynode.Map) {
	mark := im.mark()
	md, spec := im.header(root)
	ds := &dataSourceDef{}
	if spec != nil {
		spec.Require("type")
		spec.String("description")
		ds.typ, _ = spec.String("type")
		ds.typPos = spec.PosOf("type")
		spec.Ignore("connectionDetails") // anything the data source needs
		spec.Done()
	}
	ds.errPos = im.firstErrorSince(mark)
	if im.register(kindDataSource, md) {
		im.dataSources[md.name] = ds
	}
}
