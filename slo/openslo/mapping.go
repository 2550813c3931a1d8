package openslo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// This file is the second pass: references are resolved and SLOs mapped to
// the model. Results for shared objects (an SLI used by several SLOs, a
// policy, a condition, a metric source) are computed once, so that their
// problems are reported once.
//
// Every failure carries the position of its first error. When that error is
// in another file than the reference that led to it, an error is added at
// the reference too: the loader keeps or drops SLOs by file, so a file whose
// SLO is dropped must hold an error itself.

type sourceResult struct {
	errPos *slo.Pos
	query  string
	pos    slo.Pos
}

type sliResult struct {
	errPos *slo.Pos
	// threshold: query is compared to each objective's op and value.
	threshold bool
	query     string
	queryPos  slo.Pos
	sli       slo.SLI
	pos       map[slo.Field]slo.Pos
}

type policyResult struct {
	errPos *slo.Pos
	conds  []*condDef
}

type condResult struct {
	errPos *slo.Pos
	tier   slo.Tier
}

// fail reports an error at pos and returns pos.
func (im *importer) fail(pos slo.Pos, format string, args ...any) *slo.Pos {
	im.ps.Add(pos, format, args...)
	return &pos
}

// dep propagates a dependency's failure to the reference at, adding an error
// there when the dependency's first error is in another file.
func (im *importer) dep(at slo.Pos, what string, errPos *slo.Pos) *slo.Pos {
	if errPos == nil {
		return nil
	}
	if errPos.File != at.File {
		return im.fail(at, "%s has errors (first at %s)", what, posString(*errPos))
	}
	return errPos
}

func firstOf(a, b *slo.Pos) *slo.Pos {
	if a != nil {
		return a
	}
	return b
}

// local is pos when it is in file, else fallback (a position in file that
// refers to it), so that validation problems land in the SLO's own file.
func local(pos, fallback slo.Pos, file string) slo.Pos {
	if pos.File == file {
		return pos
	}
	return fallback
}

// --- metric sources ----------------------------------------------------------

var promTypes = map[string]bool{"prometheus": true, "thanos": true, "mimir": true, "cortex": true}

func (im *importer) source(ms *metricSource) *sourceResult {
	if ms.res != nil {
		return ms.res
	}
	mark := im.mark()
	r := &sourceResult{}
	ms.res = r
	var dep *slo.Pos
	r.query, r.pos, dep = im.resolveSource(ms)
	r.errPos = firstOf(im.firstErrorSince(mark), dep)
	if r.errPos == nil && r.query == "" {
		r.errPos = im.fail(ms.pos, "the metric source gives no query")
	}
	return r
}

func (im *importer) resolveSource(ms *metricSource) (string, slo.Pos, *slo.Pos) {
	if ms.alpha {
		src := strings.ToLower(strings.TrimSpace(ms.typ))
		if src != "prometheus" && src != "sloth" {
			return "", slo.Pos{}, im.fail(ms.typPos, "source %q is not supported: slokeeper evaluates PromQL (source: prometheus, queryType: promql)", ms.typ)
		}
		if !strings.EqualFold(strings.TrimSpace(ms.queryType), "promql") {
			return "", slo.Pos{}, im.fail(ms.queryTypePos, "queryType %q is not supported: slokeeper evaluates PromQL (queryType: promql)", ms.queryType)
		}
		q := strings.TrimSpace(ms.query)
		if q == "" {
			return "", slo.Pos{}, im.fail(ms.queryPos, "query is empty: give a PromQL query")
		}
		return q, ms.queryPos, nil
	}
	typ, typPos, via := strings.TrimSpace(ms.typ), ms.typPos, ""
	if ms.ref != "" {
		ds, ok := im.dataSources[ms.ref]
		if !ok {
			return "", slo.Pos{}, im.fail(ms.refPos, "metricSourceRef %q: no DataSource named %q was loaded (load the file that defines it, or remove metricSourceRef and keep type: Prometheus)", ms.ref, ms.ref)
		}
		if e := im.dep(ms.refPos, fmt.Sprintf("DataSource %q", ms.ref), ds.errPos); e != nil {
			return "", slo.Pos{}, e
		}
		switch {
		case typ == "":
			typ, typPos, via = strings.TrimSpace(ds.typ), ms.refPos, fmt.Sprintf(" (from DataSource %q)", ms.ref)
		case !strings.EqualFold(typ, strings.TrimSpace(ds.typ)):
			return "", slo.Pos{}, im.fail(ms.typPos, "type %q conflicts with DataSource %q, whose type is %q", typ, ms.ref, ds.typ)
		}
	}
	if typ == "" {
		return "", slo.Pos{}, im.fail(ms.pos.WithPath(joinPath(ms.pos.Path, "type")), "metricSource needs type (e.g. Prometheus) or metricSourceRef naming a DataSource")
	}
	if strings.EqualFold(typ, "any") {
		// The OpenSLO examples' placeholder for "any data source".
		im.ps.Warn(typPos, "metricSource type %q%s is read as Prometheus: slokeeper evaluates the query as PromQL", typ, via)
	} else if !promTypes[strings.ToLower(typ)] {
		return "", slo.Pos{}, im.fail(typPos, "metricSource type %q%s is not supported: slokeeper evaluates PromQL, so the data source must be Prometheus-compatible (type Prometheus, Thanos, Mimir or Cortex)", typ, via)
	}
	if ms.spec == nil {
		return "", slo.Pos{}, im.fail(ms.pos.WithPath(joinPath(ms.pos.Path, "spec.query")), "a %s metric source needs spec.query: the PromQL query", typ)
	}
	key := "query"
	if !ms.spec.Has("query") && ms.spec.Has("promql") {
		key = "promql"
	}
	if ms.spec.IsNull(key) {
		return "", slo.Pos{}, im.fail(ms.spec.PosOf(key), "a %s metric source needs spec.query: the PromQL query", typ)
	}
	q, ok := ms.spec.String(key)
	if !ok {
		return "", slo.Pos{}, nil // String reported the type problem
	}
	if strings.TrimSpace(q) == "" {
		return "", slo.Pos{}, im.fail(ms.spec.PosOf(key), "query is empty: give a PromQL query")
	}
	return strings.TrimSpace(q), ms.spec.PosOf(key), nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// --- SLIs --------------------------------------------------------------------

func (im *importer) sli(def *sliDef) *sliResult {
	if def.res != nil {
		return def.res
	}
	r := &sliResult{pos: map[slo.Field]slo.Pos{}}
	def.res = r
	if def.errPos != nil {
		r.errPos = def.errPos
		return r
	}
	mark := im.mark()
	var dep *slo.Pos
	switch {
	case def.threshold != nil:
		src := im.source(def.threshold)
		if src.errPos != nil {
			dep = src.errPos
			break
		}
		if !strings.Contains(src.query, slo.WindowVar) {
			if _, err := parseQuery(im.parser, src.query); err != nil {
				im.ps.Add(src.pos, "invalid PromQL: %s", oneLine(err))
				break
			}
		}
		r.threshold, r.query, r.queryPos = true, src.query, src.pos
	case def.ratio != nil && def.ratio.raw != nil:
		dep = im.rawRatio(def.ratio, r)
	case def.ratio != nil:
		dep = im.goodTotal(def.ratio, r)
	}
	r.errPos = firstOf(im.firstErrorSince(mark), dep)
	return r
}

// query is one PromQL query of a ratio with its position.
type query struct {
	text string
	pos  slo.Pos
}

// prepare parses q (unless it already holds {{.window}}, which stays as
// written) and rewrites it for slokeeper's windows, warning when it did.
// It reports whether a bare selector was wrapped.
func (im *importer) prepare(q *query, mode seriesMode) (wrapped, ok bool) {
	if strings.Contains(q.text, slo.WindowVar) {
		return false, true
	}
	e, err := parseQuery(im.parser, q.text)
	if err != nil {
		im.ps.Add(q.pos, "invalid PromQL: %s", oneLine(err))
		return false, false
	}
	rw, err := rewrite(im.parser, q.text, e, mode)
	if err != nil {
		im.ps.Add(q.pos, "%v", err)
		return false, false
	}
	if rw.changed() {
		im.ps.Warn(q.pos, "query rewritten for slokeeper's windows as %q: %s", clipQuery(rw.query), describeRewrite(rw, mode))
	}
	q.text = rw.query
	return rw.wrapped > 0, true
}

func clipQuery(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:197] + "..."
	}
	return s
}

func (im *importer) goodTotal(rd *ratioDef, r *sliResult) *slo.Pos {
	num, good := rd.good, true
	if num == nil {
		num, good = rd.bad, false
	}
	if num == nil || rd.total == nil {
		return nil // reported by the first pass
	}
	// One refusal per SLI: stop at the first unusable source.
	sn := im.source(num)
	if sn.errPos != nil {
		return sn.errPos
	}
	st := im.source(rd.total)
	if st.errPos != nil {
		return st.errPos
	}
	n, t := query{sn.query, sn.pos}, query{st.query, st.pos}
	numField := slo.FieldGood
	if !good {
		numField = slo.FieldErrors
	}
	counter := rd.counter == nil || *rd.counter
	if counter && !strings.Contains(n.text, slo.WindowVar) && !strings.Contains(t.text, slo.WindowVar) {
		ne, err1 := parseQuery(im.parser, n.text)
		te, err2 := parseQuery(im.parser, t.text)
		if err1 == nil && err2 == nil {
			ns, ok1 := plainSelector(n.text, ne)
			ts, ok2 := plainSelector(t.text, te)
			if ok1 && ok2 {
				if rd.counter == nil {
					im.warnCounter(rd)
				}
				ratio := &slo.RatioSLI{Total: ts}
				if good {
					ratio.Good = ns
				} else {
					ratio.Errors = ns
				}
				r.sli = slo.SLI{Kind: slo.SLIRatio, Ratio: ratio}
				r.pos[numField], r.pos[slo.FieldTotal] = n.pos, t.pos
				return nil
			}
		}
	}
	mode := counters
	if !counter {
		mode = gauges
	}
	w1, ok1 := im.prepare(&n, mode)
	w2, ok2 := im.prepare(&t, mode)
	if !ok1 || !ok2 {
		return nil
	}
	if (w1 || w2) && rd.counter == nil {
		im.warnCounter(rd)
	}
	q := &slo.QuerySLI{Total: t.text}
	if good {
		q.Good = n.text
	} else {
		q.Errors = n.text
	}
	r.sli = slo.SLI{Kind: slo.SLIQuery, Query: q}
	r.pos[numField], r.pos[slo.FieldTotal] = n.pos, t.pos
	return nil
}

func (im *importer) warnCounter(rd *ratioDef) {
	im.ps.Warn(rd.pos.WithPath(joinPath(rd.pos.Path, "counter")), "counter is not set: the series are read as counters (rate over each window); set counter: true to confirm, or counter: false for gauges")
}

func (im *importer) rawRatio(rd *ratioDef, r *sliResult) *slo.Pos {
	src := im.source(rd.raw)
	if src.errPos != nil {
		return src.errPos
	}
	q := query{src.query, src.pos}
	if _, ok := im.prepare(&q, gauges); !ok {
		return nil
	}
	ratio := q.text
	if rd.rawType == "success" {
		ratio = "1 - (" + q.text + ")"
	}
	r.sli = slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{ErrorRatio: ratio}}
	r.pos[slo.FieldErrorRatio] = q.pos
	return nil
}

// thresholdRatio is the error ratio of a thresholdMetric: the share of the
// query's evaluations over the window that miss the objective.
func thresholdRatio(q, op string, value float64) string {
	bad := map[string]string{"lt": ">=", "lte": ">", "gt": "<=", "gte": "<"}[op]
	return fmt.Sprintf("avg_over_time(((%s) %s bool %s)[%s:])", q, bad, fmtFloat(value), slo.WindowVar)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// --- alerting ----------------------------------------------------------------

func (im *importer) condition(c *condDef) *condResult {
	if c.res != nil {
		return c.res
	}
	r := &condResult{}
	c.res = r
	if c.errPos != nil {
		r.errPos = c.errPos
		return r
	}
	if c.op == "lt" || c.op == "lte" {
		r.errPos = im.fail(c.opPos, "op %s is not supported for a burn-rate condition: slokeeper alerts when the burn rate reaches the threshold (op: gte or gt)", c.op)
		return r
	}
	short := c.lookback / 12
	if short >= time.Second {
		short = short.Round(time.Second)
	}
	r.tier = slo.Tier{
		Name:     c.name,
		Class:    tierClass(c.severity),
		Long:     c.lookback,
		Short:    short,
		Factor:   c.threshold,
		Severity: c.severity,
		For:      c.alertAfter,
	}
	return r
}

// tierClass reads a severity as paging or not.
func tierClass(severity string) string {
	switch strings.ToLower(strings.TrimSpace(severity)) {
	case "page", "paging", "pager", "critical", "high", "sev0", "sev1", "sev-0", "sev-1", "p0", "p1", "urgent", "emergency":
		return "page"
	}
	return "ticket"
}

func (im *importer) policy(p *policyDef) *policyResult {
	if p.res != nil {
		return p.res
	}
	r := &policyResult{}
	p.res = r
	if p.errPos != nil {
		r.errPos = p.errPos
		return r
	}
	if !p.breaching {
		im.ps.Warn(p.breachPos, "alertWhenBreaching is false: this policy adds no burn-rate alert")
		return r
	}
	for _, use := range p.conds {
		c := use.inline
		if c == nil {
			c = im.conditions[use.ref]
			if c == nil {
				r.errPos = firstOf(r.errPos, im.fail(use.pos, "conditionRef %q: no AlertCondition named %q was loaded", use.ref, use.ref))
				continue
			}
		}
		cr := im.condition(c)
		if e := im.dep(use.pos, fmt.Sprintf("AlertCondition %q", c.name), cr.errPos); e != nil {
			r.errPos = firstOf(r.errPos, e)
			continue
		}
		r.conds = append(r.conds, c)
	}
	for _, t := range p.targets {
		if !im.targets[t.ref] {
			im.ps.Warn(t.pos, "targetRef %q: no AlertNotificationTarget named %q was loaded (slokeeper does not use notification targets: Alertmanager routes alerts by severity)", t.ref, t.ref)
		}
	}
	return r
}

// alerting maps an SLO's alert policies to tiers. set is false when the SLO
// has no policies (the default tiers apply).
func (im *importer) alerting(d *sloDef) (tiers []slo.Tier, tierPos map[string]slo.Pos, errPos *slo.Pos, set bool) {
	if len(d.policies) == 0 {
		return nil, nil, nil, false
	}
	file := d.doc.File
	tiers = []slo.Tier{}
	tierPos = map[string]slo.Pos{}
	byName := map[string]*condDef{}
	for _, use := range d.policies {
		p, what := use.inline, "the inline AlertPolicy"
		if p == nil {
			p = im.policies[use.ref]
			if p == nil {
				errPos = firstOf(errPos, im.fail(use.pos, "alertPolicyRef %q: no AlertPolicy named %q was loaded", use.ref, use.ref))
				continue
			}
			what = fmt.Sprintf("AlertPolicy %q", use.ref)
		}
		pr := im.policy(p)
		if e := im.dep(use.pos, what, pr.errPos); e != nil {
			errPos = firstOf(errPos, e)
			continue
		}
		for _, c := range pr.conds {
			if prev, dup := byName[c.name]; dup {
				if prev != c {
					errPos = firstOf(errPos, im.fail(use.pos, "two alert conditions named %q apply to this SLO: tier names must be unique", c.name))
				}
				continue
			}
			byName[c.name] = c
			tiers = append(tiers, c.res.tier)
			tierPos[c.name] = local(c.pos, use.pos, file)
		}
	}
	return tiers, tierPos, errPos, true
}

// --- metadata ----------------------------------------------------------------

// common is what every SLO of one OpenSLO SLO document shares.
type common struct {
	team        string
	labels      map[string]string
	annotations map[string]string
	runbook     string
	dashboard   string
	policy      string
	minEvents   float64
	groupBy     []string
	pos         map[slo.Field]slo.Pos
}

const annPrefix = "slokeeper.io/"

func (im *importer) common(d *sloDef) common {
	c := common{pos: map[slo.Field]slo.Pos{}}
	from := map[string]string{}
	for _, l := range d.md.labels {
		v := strings.Join(l.values, ",")
		if l.key == "team" {
			c.team = v
			continue
		}
		name := labelName(l.key)
		if name != l.key {
			im.ps.Warn(l.keyPos, "label %q is written as %q: Prometheus label names hold only letters, digits and _", l.key, name)
		}
		if prev, dup := from[name]; dup {
			im.ps.Add(l.keyPos, "labels %q and %q would both be %q", prev, l.key, name)
			continue
		}
		from[name] = l.key
		if c.labels == nil {
			c.labels = map[string]string{}
		}
		c.labels[name] = v
	}
	if len(c.labels) > 0 {
		c.pos[slo.FieldLabels] = d.md.labelsPos
	}
	if c.team == "" {
		c.team = im.serviceTeams[d.service]
	}
	annFrom := map[string]string{}
	for _, a := range d.md.annotations {
		switch {
		case strings.HasPrefix(a.key, annPrefix):
			im.slokeeperAnnotation(a, &c)
		case strings.Contains(a.key, "/"):
			// Another tool's metadata (openslo.com/..., a vendor's).
		default:
			name := labelName(a.key)
			if name != a.key {
				im.ps.Warn(a.keyPos, "annotation %q is written as %q: Prometheus annotation names hold only letters, digits and _", a.key, name)
			}
			if prev, dup := annFrom[name]; dup {
				im.ps.Add(a.keyPos, "annotations %q and %q would both be %q", prev, a.key, name)
				continue
			}
			annFrom[name] = a.key
			if c.annotations == nil {
				c.annotations = map[string]string{}
			}
			c.annotations[name] = a.value
		}
	}
	return c
}

func (im *importer) slokeeperAnnotation(a keyValue, c *common) {
	v := strings.TrimSpace(a.value)
	switch strings.TrimPrefix(a.key, annPrefix) {
	case "runbook":
		c.runbook = v
		c.pos[slo.FieldRunbook] = a.keyPos
	case "dashboard":
		c.dashboard = v
	case "policy":
		c.policy = v
		c.pos[slo.FieldPolicy] = a.keyPos
	case "min-events":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			im.ps.Add(a.keyPos, "%s%s must be a number, got %q", annPrefix, "min-events", clip(v))
			return
		}
		c.minEvents = f
		c.pos[slo.FieldMinEvents] = a.keyPos
	case "group-by":
		for _, g := range strings.Split(v, ",") {
			if g = strings.TrimSpace(g); g != "" {
				c.groupBy = append(c.groupBy, g)
			}
		}
		c.pos[slo.FieldGroupBy] = a.keyPos
	default:
		im.ps.Add(a.keyPos, "unknown annotation %q: slokeeper reads %srunbook, %sdashboard, %spolicy, %smin-events and %sgroup-by", a.key, annPrefix, annPrefix, annPrefix, annPrefix, annPrefix)
	}
}

// labelName turns an OpenSLO label key into a Prometheus label name.
func labelName(k string) string {
	var b strings.Builder
	for i, r := range k {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// teamOf is the team label's value.
func teamOf(labels []label) string {
	for _, l := range labels {
		if l.key == "team" {
			return strings.Join(l.values, ",")
		}
	}
	return ""
}

// slug turns an objective's display name into a name suffix.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// --- SLOs --------------------------------------------------------------------

func (im *importer) mapSLO(d *sloDef) []slo.SLO {
	if d.refused {
		return nil
	}
	file := d.doc.File
	failed := d.errPos != nil

	// The SLO-wide indicator: v1's indicator or indicatorRef, v1alpha's
	// thresholdMetric indicator.
	var shared *sliDef
	sharedAt := d.indicatorPos
	what := "the indicator"
	switch {
	case d.indicator != nil:
		shared = d.indicator
	case d.hasRef && d.indicatorRef != "":
		shared = im.slis[d.indicatorRef]
		what = fmt.Sprintf("SLI %q", d.indicatorRef)
		if shared == nil {
			im.fail(d.indicatorPos, "indicatorRef %q: no SLI named %q was loaded", d.indicatorRef, d.indicatorRef)
			failed = true
		}
	}
	var sharedRes *sliResult
	if shared != nil {
		sharedRes = im.sli(shared)
		if im.dep(sharedAt, what, sharedRes.errPos) != nil {
			failed = true
		}
	}
	tiers, tierPos, alertErr, alertSet := im.alerting(d)
	if alertErr != nil {
		failed = true
	}
	mark := im.mark()
	com := im.common(d)
	if im.firstErrorSince(mark) != nil {
		failed = true
	}

	var out []slo.SLO
	multi := len(d.objectives) > 1
	for _, o := range d.objectives {
		oFailed := failed
		res, at := sharedRes, sharedAt
		if o.sli != nil {
			res, at = im.sli(o.sli), o.sli.pos
			if res.errPos != nil {
				oFailed = true
			}
		}
		if res == nil {
			if d.alpha {
				im.ps.Add(o.pos.WithPath(joinPath(o.path, "ratioMetrics")), "ratioMetrics is required (or spec.indicator with a thresholdMetric)")
			}
			continue
		}
		if res.errPos != nil {
			continue
		}
		s := slo.SLO{
			Service:     d.service,
			Team:        com.team,
			Name:        d.md.name,
			Description: d.description,
			Labels:      com.labels,
			Annotations: com.annotations,
			Objective:   o.objective,
			Period:      slo.Period{Kind: slo.Rolling, Rolling: 30 * day},
			GroupBy:     com.groupBy,
			Policy:      com.policy,
			Source:      slo.Source{File: file, Line: d.pos.Line, Col: d.pos.Col, Format: slo.FormatOpenSLO, Path: d.doc.Path},
		}
		s.SetPos(slo.FieldSLO, d.pos)
		s.SetPos(slo.FieldName, d.md.namePos)
		if multi {
			suffix := slug(o.displayName)
			if suffix == "" {
				suffix = strconv.Itoa(o.index)
			}
			s.Name = d.md.name + "-" + suffix
			s.Source.Line, s.Source.Col, s.Source.Path = o.pos.Line, o.pos.Col, o.path
			s.SetPos(slo.FieldSLO, o.pos)
			if o.displayName != "" {
				s.SetPos(slo.FieldName, o.displayNamePos)
			} else {
				s.SetPos(slo.FieldName, o.pos)
			}
		}
		s.SetPos(slo.FieldService, d.servicePos)
		s.SetPos(slo.FieldObjective, o.objectivePos)
		if d.period.set {
			s.Period = d.period.period
			s.SetPos(slo.FieldPeriod, d.period.pos)
			s.SetPos(slo.FieldTimeZone, d.period.tzPos)
		}
		for f, p := range com.pos {
			s.SetPos(f, p)
		}
		s.Alerting.Runbook = com.runbook
		s.Alerting.Dashboard = com.dashboard
		s.Alerting.MinEvents = com.minEvents

		// The SLI.
		s.SetPos(slo.FieldSLI, local(at, sharedAt, file))
		if res.threshold {
			if o.op == "" {
				im.ps.Add(o.pos.WithPath(joinPath(o.path, "op")), "op (lt, lte, gt or gte) is required with a thresholdMetric indicator: an event is good when the query's value compares so with value")
				oFailed = true
			}
			if !o.hasValue {
				im.ps.Add(o.pos.WithPath(joinPath(o.path, "value")), "value is required with a thresholdMetric indicator")
				oFailed = true
			}
			if oFailed {
				continue
			}
			s.SLI = slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{ErrorRatio: thresholdRatio(res.query, o.op, o.value)}}
			s.SetPos(slo.FieldErrorRatio, local(res.queryPos, sharedAt, file))
			im.ps.Warn(o.opPos, "thresholdMetric: every evaluation of the query is one event, bad unless it is %s %s; the error ratio is the share of bad evaluations over each window (a subquery at the evaluation interval)", o.op, fmtFloat(o.value))
		} else {
			s.SLI = copySLI(res.sli)
			for f, p := range res.pos {
				s.SetPos(f, local(p, local(at, sharedAt, file), file))
			}
		}
		if alertSet {
			s.Alerting.TierSet = append([]slo.Tier{}, tiers...)
			s.SetPos(slo.FieldAlerting, d.policiesPos)
			s.SetPos(slo.FieldTiers, d.policiesPos)
			names := make([]string, 0, len(tierPos))
			for n := range tierPos {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				s.SetPos(slo.FieldAlertingTierX+slo.Field("."+n), tierPos[n])
			}
		}
		if !oFailed {
			out = append(out, s)
		}
	}
	return out
}

// copySLI gives each SLO its own SLI parts: one SLI may serve several.
func copySLI(in slo.SLI) slo.SLI {
	out := in
	if in.Ratio != nil {
		r := *in.Ratio
		out.Ratio = &r
	}
	if in.Query != nil {
		q := *in.Query
		out.Query = &q
	}
	return out
}
