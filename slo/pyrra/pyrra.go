// Package pyrra imports Pyrra's ServiceLevelObjective resources
// (apiVersion pyrra.dev/v1alpha1) into the slo model. Each document is one
// SLO.
//
// Mapping:
//
//   - metadata.name -> Name.
//   - Service: the label pyrra.dev/service when present, else the namespace,
//     else the name. Pyrra has no notion of a service; the namespace is the
//     closest grouping its users have.
//   - Team: the label pyrra.dev/team (Pyrra writes it as the `team` label of
//     its rules), else a plain `team` label.
//   - Labels: Pyrra copies the metadata labels prefixed pyrra.dev/ onto its
//     rules with the prefix stripped, and only those; so do we (except
//     pyrra.dev/service and pyrra.dev/team, which fill Service and Team).
//     Other metadata labels (prometheus: k8s, role: alert-rules, app, ...)
//     select the Kubernetes object for an operator and are dropped.
//   - Annotations: likewise the metadata annotations prefixed pyrra.dev/,
//     stripped, which Pyrra puts on its alerts; other annotations (kubectl's
//     last-applied-configuration, ...) are dropped.
//   - spec.target (a string such as "99.5", or a number) -> Objective;
//     spec.window (2w, 28d, ...) -> a rolling Period; spec.description.
//   - indicator.ratio{errors.metric, total.metric, grouping} -> a ratio SLI
//     with Errors and Total, and GroupBy.
//   - indicator.latency{success.metric, total.metric, grouping} -> a latency
//     SLI: success.metric must select a classic histogram's _bucket series
//     with an le="<seconds>" matcher; Histogram is that selector without the
//     _bucket suffix and the le matcher, Threshold the le value. Total is
//     total.metric unless it is just the histogram's own _count. Selectors
//     are parsed with the Prometheus parser and printed back.
//   - indicator.latencyNative{latency, total.metric, grouping} -> a native
//     latency SLI: Histogram is total.metric, Threshold the latency.
//   - indicator.bool_gauge{metric, grouping} -> an availability SLI.
//   - alerting: disabled (deprecated in Pyrra) -> Alerting.Disabled;
//     burnrates: false -> the four burn-rate tiers disabled; absent: false
//     -> the absent alert disabled; name -> Alerting.Name; severities
//     {fastBurn, mediumBurn, slowBurn, longTermBurn} -> the severities of
//     the page-fast, page-slow, ticket-fast and ticket-slow tiers (Pyrra's
//     four windows in the same order), severities.absent -> the absent
//     alert's severity. absentName has no counterpart and is ignored with a
//     warning.
//   - spec.performanceOverAccuracy is accepted and ignored: it makes Pyrra
//     trade exactness for cheaper rules, while slokeeper's rules are both
//     exact and cheap (short-window rates recorded once, longer windows
//     derived from them).
//   - spec.partial_response_strategy (Thanos Ruler only) is ignored with a
//     warning.
package pyrra

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// APIVersion and Kind of Pyrra documents.
const (
	APIVersion = "pyrra.dev/v1alpha1"
	Kind       = "ServiceLevelObjective"
)

// done reports the keys of m that were not read as unknown fields, with a
// suggestion among known, the keys the format allows there.
func done(m *ynode.Map, known ...string) {
	for _, k := range known {
		if !m.Has(k) {
			m.Ignore(k)
		}
	}
	m.Done()
}

// Label and annotation conventions of Pyrra's metadata.
const (
	// PropagationPrefix marks the metadata labels and annotations Pyrra
	// copies onto its rules (without the prefix).
	PropagationPrefix = "pyrra.dev/"
	// ServiceLabel names the SLO's service.
	ServiceLabel = PropagationPrefix + "service"
	// TeamLabel names the owning team.
	TeamLabel = PropagationPrefix + "team"
)

// Accepts says whether the document is a Pyrra spec. Any pyrra.dev
// apiVersion is accepted so that a wrong version or kind gets a precise error.
func Accepts(apiVersion, _ string) bool {
	return strings.HasPrefix(apiVersion, "pyrra.dev/")
}

// Import converts Pyrra documents into SLOs, reporting problems with
// positions. A document whose name, target, window or indicator could not
// be read yields no SLO, so that validation does not report consequences of
// the same problem again.
func Import(docs []ynode.Doc, ps *slo.Problems) []slo.SLO {
	var out []slo.SLO
	for _, d := range docs {
		if s, ok := importDoc(d, ps); ok {
			out = append(out, s)
		}
	}
	return out
}

// objectMetaFields are the fields of a Kubernetes ObjectMeta not read here.
var objectMetaFields = []string{
	"generateName", "selfLink", "uid", "resourceVersion", "generation",
	"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
	"ownerReferences", "finalizers", "managedFields",
}

func importDoc(d ynode.Doc, ps *slo.Problems) (slo.SLO, bool) {
	var s slo.SLO
	if d.Root == nil {
		return s, false
	}
	dec := ynode.NewDecoder(d.File, ps)
	root := dec.Map(d.Root, d.Path)
	if root == nil {
		return s, false
	}
	root.Ignore("apiVersion")
	if d.APIVersion != APIVersion {
		root.Errorf("apiVersion", "unsupported Pyrra apiVersion %q: expected %q", d.APIVersion, APIVersion)
		return s, false
	}
	switch kind, _ := root.String("kind"); kind {
	case Kind:
	case "":
		root.Errorf("kind", "kind is required: %s", Kind)
		return s, false
	default:
		root.Errorf("kind", "unsupported kind %q for %s: expected %q", kind, APIVersion, Kind)
		return s, false
	}
	s = slo.SLO{
		Source: slo.Source{File: d.File, Line: root.Node.Line, Col: root.Node.Column, Format: slo.FormatPyrra, Path: d.Path},
	}
	s.SetPos(slo.FieldSLO, root.Pos())
	ok := root.Require("metadata", "spec")
	if md := root.Sub("metadata"); md != nil {
		ok = readMetadata(md, &s) && ok
	} else {
		ok = false
	}
	root.Ignore("status")
	spec := root.Sub("spec")
	done(root, "apiVersion", "kind", "metadata", "spec", "status")
	if spec == nil {
		return s, false
	}
	ok = readSpec(spec, &s) && ok
	return s, ok
}

// readMetadata fills Name, Service, Team, Labels and Annotations.
func readMetadata(md *ynode.Map, s *slo.SLO) bool {
	ok := md.Require("name")
	name, has := md.String("name")
	ok = ok && has
	s.Name = name
	s.SetPos(slo.FieldName, md.PosOf("name"))
	namespace, hasNS := md.String("namespace")
	lbls := md.StringMap("labels")
	annotations := md.StringMap("annotations")
	md.Ignore(objectMetaFields...)
	done(md, "name", "namespace", "labels", "annotations")

	// Service: pyrra.dev/service, else the namespace, else the name.
	labelsPos := md.PosOf("labels")
	switch {
	case lbls[ServiceLabel] != "":
		s.Service = lbls[ServiceLabel]
		s.SetPos(slo.FieldService, entryPos(md, "labels", ServiceLabel))
	case hasNS && namespace != "":
		s.Service = namespace
		s.SetPos(slo.FieldService, md.PosOf("namespace"))
	default:
		s.Service = name
		s.SetPos(slo.FieldService, md.PosOf("name"))
	}
	switch {
	case lbls[TeamLabel] != "":
		s.Team = lbls[TeamLabel]
	case lbls["team"] != "":
		s.Team = lbls["team"]
	}
	for k, v := range lbls {
		key, found := strings.CutPrefix(k, PropagationPrefix)
		if !found || k == ServiceLabel || k == TeamLabel {
			continue
		}
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[key] = v
	}
	if s.Labels != nil {
		s.SetPos(slo.FieldLabels, labelsPos)
	}
	for k, v := range annotations {
		if key, found := strings.CutPrefix(k, PropagationPrefix); found {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[key] = v
		}
	}
	return ok
}

// entryPos is the position of the value of key in the mapping under field,
// or of field's value when key cannot be found.
func entryPos(md *ynode.Map, field, key string) slo.Pos {
	pos := md.PosOf(field)
	n := md.Get(field)
	if n == nil || n.Kind != yaml.MappingNode {
		return pos
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			v := ynode.Resolve(n.Content[i+1])
			if v == nil {
				break
			}
			return slo.Pos{File: pos.File, Line: v.Line, Col: v.Column, Path: pos.Path + "." + key}
		}
	}
	return pos
}

// readSpec reads the spec into s and reports whether the required parts
// could be read.
func readSpec(spec *ynode.Map, s *slo.SLO) bool {
	ok := spec.Require("target", "window", "indicator")
	target, has := spec.Float("target", true)
	ok = ok && has
	s.Objective = target
	s.SetPos(slo.FieldObjective, spec.PosOf("target"))
	if has && target > 0 && target < 1 {
		spec.Warnf("target", "target %s is a percentage: did you mean %s?", strconv.FormatFloat(target, 'g', -1, 64), strconv.FormatFloat(target*100, 'g', -1, 64))
	}
	window, has := spec.Duration("window")
	ok = ok && has
	s.Period = slo.Period{Kind: slo.Rolling, Rolling: window}
	s.SetPos(slo.FieldPeriod, spec.PosOf("window"))
	s.Description, _ = spec.String("description")
	// performanceOverAccuracy: see the package documentation.
	spec.Bool("performanceOverAccuracy")
	if spec.Has("partial_response_strategy") {
		if _, has := spec.String("partial_response_strategy"); has {
			spec.Warnf("partial_response_strategy", "ignored: partial_response_strategy applies to Thanos Ruler rule groups, which slokeeper does not configure")
		}
	}
	if ind := spec.Sub("indicator"); ind != nil {
		ok = readIndicator(ind, s) && ok
	} else {
		ok = false
	}
	if a := spec.Sub("alerting"); a != nil {
		readAlerting(a, s)
	}
	done(spec, "target", "window", "description", "indicator", "alerting", "performanceOverAccuracy", "partial_response_strategy")
	return ok
}

// metric reads key's {metric: selector} and records its position as f.
func metric(m *ynode.Map, key string, s *slo.SLO, f slo.Field) (string, slo.Pos, bool) {
	sub := m.Sub(key)
	if sub == nil {
		s.SetPos(f, m.PosOf(key))
		return "", m.PosOf(key), false
	}
	ok := sub.Require("metric")
	v, has := sub.String("metric")
	pos := sub.PosOf("metric")
	s.SetPos(f, pos)
	done(sub, "metric")
	return strings.TrimSpace(v), pos, ok && has
}

func grouping(m *ynode.Map, s *slo.SLO) {
	if m.Has("grouping") {
		s.GroupBy = m.StringList("grouping")
		s.SetPos(slo.FieldGroupBy, m.PosOf("grouping"))
	}
}

// readIndicator reads exactly one of ratio, latency, latencyNative and
// bool_gauge.
func readIndicator(m *ynode.Map, s *slo.SLO) bool {
	s.SetPos(slo.FieldSLI, m.Pos())
	var present []string
	for _, k := range []string{"ratio", "latency", "latencyNative", "bool_gauge"} {
		if m.Has(k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		done(m, "ratio", "latency", "latencyNative", "bool_gauge")
		m.Errorf("", "one of ratio, latency, latencyNative or bool_gauge is required")
		return false
	case 1:
	default:
		m.Ignore(present...)
		done(m, "ratio", "latency", "latencyNative", "bool_gauge")
		m.Errorf(present[1], "only one indicator per SLO: found %s", strings.Join(present, " and "))
		return false
	}
	sub := m.Sub(present[0])
	done(m, "ratio", "latency", "latencyNative", "bool_gauge")
	if sub == nil {
		if m.IsNull(present[0]) {
			m.Errorf(present[0], "%s is empty", present[0])
		}
		return false
	}
	ok := true
	var known []string
	switch present[0] {
	case "ratio":
		known = []string{"errors", "total", "grouping"}
		ok = sub.Require("errors", "total")
		errs, _, hasErr := metric(sub, "errors", s, slo.FieldErrors)
		total, _, hasTotal := metric(sub, "total", s, slo.FieldTotal)
		ok = ok && hasErr && hasTotal
		grouping(sub, s)
		s.SLI = slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{Errors: errs, Total: total}}
	case "latency":
		known = []string{"success", "total", "grouping"}
		ok = sub.Require("success", "total")
		success, successPos, hasSuccess := metric(sub, "success", s, slo.FieldHistogram)
		s.SetPos(slo.FieldThreshold, successPos)
		total, totalPos, hasTotal := metric(sub, "total", s, slo.FieldTotal)
		grouping(sub, s)
		ok = ok && hasSuccess && hasTotal
		if ok {
			var l *slo.LatencySLI
			l, ok = latency(sub.Decoder(), success, successPos, total, totalPos)
			if ok {
				s.SLI = slo.SLI{Kind: slo.SLILatency, Latency: l}
			}
		}
	case "latencyNative":
		known = []string{"latency", "total", "grouping"}
		ok = sub.Require("latency", "total")
		threshold, hasThreshold := sub.Duration("latency")
		s.SetPos(slo.FieldThreshold, sub.PosOf("latency"))
		total, _, hasTotal := metric(sub, "total", s, slo.FieldHistogram)
		grouping(sub, s)
		ok = ok && hasThreshold && hasTotal
		s.SLI = slo.SLI{Kind: slo.SLILatency, Latency: &slo.LatencySLI{Histogram: total, Threshold: threshold, Native: true}}
	case "bool_gauge":
		known = []string{"metric", "grouping"}
		ok = sub.Require("metric")
		gauge, has := sub.String("metric")
		s.SetPos(slo.FieldGauge, sub.PosOf("metric"))
		grouping(sub, s)
		ok = ok && has
		s.SLI = slo.SLI{Kind: slo.SLIAvailability, Availability: &slo.AvailabilitySLI{Gauge: strings.TrimSpace(gauge)}}
	}
	done(sub, known...)
	return ok
}

// latency derives a classic-histogram latency SLI from Pyrra's success
// (a _bucket selector with an le matcher) and total selectors.
func latency(dec *ynode.Decoder, success string, successPos slo.Pos, total string, totalPos slo.Pos) (*slo.LatencySLI, bool) {
	fail := func(pos slo.Pos, format string, args ...any) (*slo.LatencySLI, bool) {
		dec.Problems.Add(pos, format, args...)
		return nil, false
	}
	p := parser.NewParser(parser.Options{})
	ms, err := p.ParseMetricSelector(success)
	if err != nil {
		return fail(successPos, "invalid PromQL selector %q: %s", clip(success), oneLine(err))
	}
	name, rest := splitName(ms)
	if name == "" {
		return fail(successPos, "the success metric must select one histogram's _bucket series by name, e.g. http_request_duration_seconds_bucket{le=\"0.3\"}")
	}
	base, isBucket := strings.CutSuffix(name, "_bucket")
	if !isBucket || base == "" {
		return fail(successPos, "the success metric %s is not a histogram's _bucket series: slokeeper reads a classic histogram's _bucket and _count series (for a native histogram use latencyNative)", clip(name))
	}
	var le *labels.Matcher
	var others []*labels.Matcher
	for _, m := range rest {
		if m.Name != model.BucketLabel {
			others = append(others, m)
			continue
		}
		if le != nil {
			return fail(successPos, "the success metric has more than one le matcher: give one, le=\"<seconds>\"")
		}
		le = m
	}
	if le == nil {
		return fail(successPos, "the success metric has no le matcher: give the latency threshold as le=\"<seconds>\", e.g. le=\"0.3\"")
	}
	if le.Type != labels.MatchEqual {
		return fail(successPos, "the success metric matches le with %s: match one bucket with le=\"<seconds>\"", le.Type)
	}
	secs, err := strconv.ParseFloat(strings.TrimSpace(le.Value), 64)
	if err != nil || math.IsNaN(secs) {
		return fail(successPos, "le=%q is not a number of seconds", clip(le.Value))
	}
	if math.IsInf(secs, 0) || secs <= 0 || secs > float64(math.MaxInt64)/1e9 {
		return fail(successPos, "le=%q is not a usable latency threshold: it must be a positive, finite number of seconds", clip(le.Value))
	}
	threshold := time.Duration(math.Round(secs * 1e9))
	if threshold <= 0 || slo.LeValue(threshold) != strconv.FormatFloat(secs, 'f', -1, 64) {
		return fail(successPos, "le=%q is finer than a nanosecond: slokeeper cannot represent this threshold", clip(le.Value))
	}
	l := &slo.LatencySLI{Histogram: printSelector(base, others), Threshold: threshold}

	tms, err := p.ParseMetricSelector(total)
	if err != nil {
		return fail(totalPos, "invalid PromQL selector %q: %s", clip(total), oneLine(err))
	}
	tname, trest := splitName(tms)
	if tname != base+"_count" || !sameMatchers(trest, others) {
		l.Total = printSelector(tname, trest)
	}
	return l, true
}

// splitName separates a selector's metric name (an equality matcher on
// __name__) from its other matchers. Without such a matcher name is "" and
// rest holds every matcher.
func splitName(ms []*labels.Matcher) (name string, rest []*labels.Matcher) {
	for _, m := range ms {
		if m == nil {
			continue
		}
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && name == "" {
			name = m.Value
			continue
		}
		rest = append(rest, m)
	}
	return name, rest
}

// printSelector renders name{matchers} in PromQL, matchers sorted. A name
// that PromQL cannot write bare goes inside the braces, quoted.
func printSelector(name string, ms []*labels.Matcher) string {
	vs := &parser.VectorSelector{LabelMatchers: slices.Clone(ms)}
	if name != "" {
		nm := labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, name)
		vs.LabelMatchers = append([]*labels.Matcher{nm}, vs.LabelMatchers...)
		if model.LegacyValidation.IsValidMetricName(name) {
			vs.Name = name
		}
	}
	return vs.String()
}

// sameMatchers says whether a and b hold the same matchers in any order.
func sameMatchers(a, b []*labels.Matcher) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(ms []*labels.Matcher) []string {
		out := make([]string, len(ms))
		for i, m := range ms {
			out[i] = m.Name + "\x00" + m.Type.String() + "\x00" + m.Value
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// severityKeys maps Pyrra's alerting.severities to slokeeper's tiers.
var severityKeys = []struct{ key, tier string }{
	{"fastBurn", slo.TierPageFast},
	{"mediumBurn", slo.TierPageSlow},
	{"slowBurn", slo.TierTicketFast},
	{"longTermBurn", slo.TierTicketSlow},
}

// readAlerting reads spec.alerting.
func readAlerting(m *ynode.Map, s *slo.SLO) {
	a := &s.Alerting
	s.SetPos(slo.FieldAlerting, m.Pos())
	if v, ok := m.Bool("disabled"); ok {
		a.Disabled = v
	}
	a.Name, _ = m.String("name")
	setTier := func(tier string, f func(*slo.TierOverride)) {
		if a.Tiers == nil {
			a.Tiers = map[string]slo.TierOverride{}
		}
		o := a.Tiers[tier]
		f(&o)
		a.Tiers[tier] = o
	}
	if v, ok := m.Bool("burnrates"); ok && !v {
		for _, t := range slo.TierNames() {
			setTier(t, func(o *slo.TierOverride) { off := true; o.Disabled = &off })
			s.SetPos(slo.FieldAlertingTierX+slo.Field("."+t), m.PosOf("burnrates"))
		}
	}
	if v, ok := m.Bool("absent"); ok {
		a.Absent.Disabled = !v
	}
	if m.Has("absentName") {
		if _, ok := m.String("absentName"); ok {
			m.Warnf("absentName", "ignored: slokeeper names the absent-data alert itself")
		}
	}
	if sev := m.Sub("severities"); sev != nil {
		for _, k := range severityKeys {
			if v, ok := sev.String(k.key); ok {
				setTier(k.tier, func(o *slo.TierOverride) { o.Severity = &v })
				s.SetPos(slo.FieldAlertingTierX+slo.Field("."+k.tier), sev.PosOf(k.key))
			}
		}
		if v, ok := sev.String("absent"); ok {
			a.Absent.Severity = v
		}
		done(sev, "absent", "fastBurn", "mediumBurn", "slowBurn", "longTermBurn")
	}
	done(m, "disabled", "burnrates", "absent", "name", "absentName", "severities")
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 80 {
		return string(r[:77]) + "..."
	}
	return s
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
