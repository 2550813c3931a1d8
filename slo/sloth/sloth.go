// Package sloth imports Sloth SLO specs into the slo model: the plain
// `version: prometheus/v1` format and the Kubernetes
// `apiVersion: sloth.slok.dev/v1, kind: PrometheusServiceLevel` custom
// resource, which holds the same fields under spec. Sloth's OpenSLO
// `openslo/v1alpha` input is left to the OpenSLO importer.
//
// Mapping:
//
//   - service -> Service; labels (service level, merged with the SLO's own,
//     the SLO's winning) -> Labels. A `team` label fills Team and is removed
//     from Labels (slokeeper writes its own team label); without one an
//     `owner` label fills Team and stays a label, as Sloth wrote it.
//   - slos[].name, objective, description -> Name, Objective, Description.
//   - sli.events{error_query, total_query} -> a query SLI with Errors and
//     Total; sli.raw{error_ratio_query} -> a query SLI with ErrorRatio. Both
//     keep their {{.window}} placeholder, which is slokeeper's too.
//   - Sloth has no per-SLO period: the process-wide --default-slo-period is
//     30d unless changed on Sloth's command line, which the spec cannot show.
//     Every SLO gets a rolling 30d period.
//   - alerting.name/labels/annotations -> Alerting.Name/Labels/Annotations.
//     page_alert -> the page-fast and page-slow tiers, ticket_alert -> the
//     ticket-fast and ticket-slow tiers: disable -> Disabled, labels and
//     annotations -> the tier's. A `severity` label becomes the tier's
//     Severity and leaves the labels; a `severity` in alerting.labels sets
//     the severity of all four tiers unless page_alert/ticket_alert set one.
//     With both page and ticket alerts disabled Sloth writes no alert at all,
//     so the whole alerting is disabled (no absent or budget alert either).
//
// Sloth spells keys in snake_case in prometheus/v1 and in camelCase in its
// custom resource (error_query/errorQuery, page_alert/pageAlert, ...); both
// spellings are accepted in both formats, one of them per field.
//
// Refused with one line saying why: an SLI plugin (sli.plugin, one line per
// SLO), SLO plugin chains (slo_plugins, slos[].plugins: one line per
// document, at the first chain, naming the others), which are Go code run
// inside Sloth, and AlertWindows catalogs, which are not SLOs. A chain made
// only of sloth.dev/core/debug/v1 plugins, which just log and change no rule,
// is ignored with a warning.
package sloth

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// Versions and kinds of Sloth documents.
const (
	// Version is the `version:` of Sloth's plain spec format.
	Version = "prometheus/v1"
	// APIVersion is the apiVersion of Sloth's Kubernetes resources.
	APIVersion = "sloth.slok.dev/v1"
	// KindServiceLevel is the Kubernetes kind holding SLOs.
	KindServiceLevel = "PrometheusServiceLevel"
	// KindAlertWindows is Sloth's alert-window catalog kind.
	KindAlertWindows = "AlertWindows"
)

// DefaultPeriod is Sloth's default SLO period (its --default-slo-period).
const DefaultPeriod = 30 * 24 * time.Hour

const apiGroupPrefix = "sloth.slok.dev/"

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

// Accepts says whether the document is a Sloth spec: `version: prometheus/v1`
// or any sloth.slok.dev apiVersion (so that a wrong version or kind gets a
// precise error here rather than "unsupported apiVersion").
func Accepts(apiVersion, _ string) bool {
	return apiVersion == Version || strings.HasPrefix(apiVersion, apiGroupPrefix)
}

// Import converts Sloth documents into SLOs, reporting problems with positions.
// SLOs whose name, objective or SLI could not be read, or which use a plugin,
// are left out so that validation does not report consequences of the same
// problem again.
func Import(docs []ynode.Doc, ps *slo.Problems) []slo.SLO {
	var out []slo.SLO
	for _, d := range docs {
		out = append(out, importDoc(d, ps)...)
	}
	return out
}

// importer holds what one document's SLOs share.
type importer struct {
	doc ynode.Doc
	dec *ynode.Decoder
	// k8s is true for the custom resource: its keys are camelCase.
	k8s bool
	// refused collects the plugin chains refused in the document.
	refused []refusedChain
}

func importDoc(d ynode.Doc, ps *slo.Problems) []slo.SLO {
	if d.Root == nil {
		return nil
	}
	im := &importer{doc: d, dec: ynode.NewDecoder(d.File, ps)}
	root := im.dec.Map(d.Root, d.Path)
	if root == nil {
		return nil
	}
	if !strings.HasPrefix(d.APIVersion, apiGroupPrefix) {
		// version: prometheus/v1
		if root.Has("apiVersion") {
			root.Errorf("apiVersion", "Sloth's %s format names its version with `version: %s`, not apiVersion; the Kubernetes resource is apiVersion %s, kind %s", Version, Version, APIVersion, KindServiceLevel)
			return nil
		}
		root.Ignore("version")
		defer im.reportPlugins()
		return im.service(root)
	}
	root.Ignore("apiVersion")
	if d.APIVersion != APIVersion {
		root.Errorf("apiVersion", "unsupported Sloth apiVersion %q: expected %q", d.APIVersion, APIVersion)
		return nil
	}
	kind, _ := root.String("kind")
	switch kind {
	case KindServiceLevel:
	case KindAlertWindows:
		im.alertWindows(root)
		return nil
	case "":
		root.Errorf("kind", "kind is required: %s for SLOs", KindServiceLevel)
		return nil
	default:
		root.Errorf("kind", "unsupported kind %q for %s: expected %q", kind, APIVersion, KindServiceLevel)
		return nil
	}
	im.k8s = true
	ok := root.Require("spec")
	if md := root.Sub("metadata"); md != nil {
		readObjectMeta(md)
	}
	root.Ignore("status")
	spec := root.Sub("spec")
	done(root, "apiVersion", "kind", "metadata", "spec", "status")
	if !ok || spec == nil {
		return nil
	}
	defer im.reportPlugins()
	return im.service(spec)
}

// objectMetaFields are the fields of a Kubernetes ObjectMeta.
var objectMetaFields = []string{
	"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
	"generation", "creationTimestamp", "deletionTimestamp",
	"deletionGracePeriodSeconds", "ownerReferences", "finalizers", "managedFields",
}

// readObjectMeta checks a Kubernetes metadata block. Nothing of it reaches
// the model: a PrometheusServiceLevel's name and labels select and name the
// Kubernetes object (and the PrometheusRule Sloth wrote), while the SLO's
// service and labels are under spec.
func readObjectMeta(md *ynode.Map) {
	md.String("name")
	md.String("namespace")
	md.StringMap("labels")
	md.StringMap("annotations")
	md.Ignore(objectMetaFields...)
	done(md, "name", "namespace", "labels", "annotations")
}

// alertWindows refuses a Sloth AlertWindows catalog with one line. It is an
// error, not a warning: custom windows (or a 7d catalog used with a 7d
// default period) change how the Sloth SLOs alert, and slokeeper would not
// apply them; the user has to decide to drop them.
func (im *importer) alertWindows(root *ynode.Map) {
	period := ""
	if spec := ynode.Resolve(root.Get("spec")); spec != nil && spec.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(spec.Content); i += 2 {
			if v := ynode.Resolve(spec.Content[i+1]); spec.Content[i].Value == "sloPeriod" && v != nil && v.Kind == yaml.ScalarNode {
				period = fmt.Sprintf(" (sloPeriod %s)", clip(v.Value))
			}
		}
	}
	root.Ignore(root.Keys()...)
	root.Errorf("kind", "a Sloth AlertWindows catalog%s is not an SLO spec: it sets Sloth's process-wide burn-rate windows, while slokeeper sets burn-rate tiers per SLO (alerting.tiers in the native spec) and imports Sloth SLOs with a 30d period and the SRE Workbook tiers; leave this file out of the spec paths", period)
}

// alt returns which spelling of a field the map uses: Sloth's plain format
// writes snake_case, its custom resource camelCase; both are accepted. When
// neither is present it returns the spelling of the document's format.
func (im *importer) alt(m *ynode.Map, snake, camel string) string {
	hasSnake, hasCamel := m.Has(snake), m.Has(camel)
	switch {
	case hasSnake && hasCamel:
		m.Errorf(camel, "%s and %s are the same field: give only one of them", snake, camel)
		m.Ignore(camel)
		return snake
	case hasSnake:
		return snake
	case hasCamel:
		return camel
	case im.k8s:
		return camel
	}
	return snake
}

// svc holds the service-level values of one document.
type svc struct {
	service    string
	servicePos slo.Pos
	labels     map[string]string
	labelsPos  slo.Pos
	hasLabels  bool
	// refused is set when the service is missing or the service-level
	// plugin chain is refused: none of the document's SLOs is returned.
	refused bool
}

// service reads the service level: the root of a prometheus/v1 document, or
// the spec of a PrometheusServiceLevel.
func (im *importer) service(m *ynode.Map) []slo.SLO {
	var sv svc
	ok := m.Require("service", "slos")
	var hasService bool
	sv.service, hasService = m.String("service")
	// Without a service the SLOs have no identity: they are checked but not
	// returned, so that validation does not report the same problem again.
	sv.refused = !hasService
	sv.servicePos = m.PosOf("service")
	if m.Has("labels") {
		sv.labels = m.StringMap("labels")
		sv.labelsPos = m.PosOf("labels")
		sv.hasLabels = true
	}
	if key := im.alt(m, "slo_plugins", "sloPlugins"); m.Has(key) && im.plugins(m, key) {
		sv.refused = true
	}
	items := m.List("slos")
	if ok && items != nil && len(items) == 0 {
		m.Errorf("slos", "the list of SLOs is empty")
	}
	done(m, "service", "labels", "slo_plugins", "sloPlugins", "slos")
	var out []slo.SLO
	for _, it := range items {
		sm := im.dec.Map(it.Node, it.Path)
		if sm == nil {
			continue
		}
		if s, ok := im.slo(sm, sv); ok && !sv.refused {
			out = append(out, s)
		}
	}
	return out
}

// slo reads one element of slos.
func (im *importer) slo(m *ynode.Map, sv svc) (slo.SLO, bool) {
	s := slo.SLO{
		Service: sv.service,
		Period:  slo.Period{Kind: slo.Rolling, Rolling: DefaultPeriod},
		Source: slo.Source{
			File: im.doc.File, Line: m.Node.Line, Col: m.Node.Column,
			Format: slo.FormatSloth, Path: m.Path,
		},
	}
	s.SetPos(slo.FieldSLO, m.Pos())
	s.SetPos(slo.FieldService, sv.servicePos)
	ok := m.Require("name", "objective", "sli")
	var has bool
	s.Name, has = m.String("name")
	ok = ok && has
	s.SetPos(slo.FieldName, m.PosOf("name"))
	s.Objective, has = m.Float("objective", false)
	ok = ok && has
	s.SetPos(slo.FieldObjective, m.PosOf("objective"))
	s.Description, _ = m.String("description")

	labels := maps.Clone(sv.labels)
	if sv.hasLabels {
		s.SetPos(slo.FieldLabels, sv.labelsPos)
	}
	if m.Has("labels") {
		for k, v := range m.StringMap("labels") {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
		s.SetPos(slo.FieldLabels, m.PosOf("labels"))
	}
	if t, has := labels["team"]; has {
		s.Team = t
		delete(labels, "team")
	} else if o, has := labels["owner"]; has {
		s.Team = o
	}
	if len(labels) > 0 {
		s.Labels = labels
	}

	if m.Has("plugins") && im.plugins(m, "plugins") {
		ok = false
	}
	if sli := m.Sub("sli"); sli != nil {
		ok = im.sli(sli, &s) && ok
	} else {
		ok = false
	}
	if a := m.Sub("alerting"); a != nil {
		im.alerting(a, &s)
	}
	done(m, "name", "objective", "description", "labels", "plugins", "sli", "alerting")
	return s, ok
}

// sli reads sli: exactly one of events, raw or plugin. It reports whether
// the model's SLI was filled.
func (im *importer) sli(m *ynode.Map, s *slo.SLO) bool {
	s.SetPos(slo.FieldSLI, m.Pos())
	var present []string
	for _, k := range []string{"events", "raw", "plugin"} {
		if m.Has(k) {
			present = append(present, k)
		}
	}
	switch len(present) {
	case 0:
		done(m, "events", "raw", "plugin")
		m.Errorf("", "one of events or raw is required")
		return false
	case 1:
	default:
		m.Ignore(present...)
		done(m, "events", "raw", "plugin")
		m.Errorf(present[1], "only one SLI type per SLO: found %s", strings.Join(present, " and "))
		return false
	}
	if present[0] == "plugin" {
		id := ""
		if p := m.Get("plugin"); p != nil && p.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(p.Content); i += 2 {
				if v := ynode.Resolve(p.Content[i+1]); p.Content[i].Value == "id" && v != nil && v.Kind == yaml.ScalarNode {
					id = fmt.Sprintf(" %q", clip(v.Value))
				}
			}
		}
		done(m, "events", "raw", "plugin")
		m.Errorf("plugin", "SLI plugin%s cannot be imported: Sloth SLI plugins run inside Sloth's Go interpreter; slokeeper cannot run them: rewrite the SLI as events or raw queries (the rules Sloth generated from the plugin show its queries)", id)
		return false
	}
	sub := m.Sub(present[0])
	done(m, "events", "raw", "plugin")
	if sub == nil {
		return false
	}
	query := func(key string, f slo.Field) (string, bool) {
		v, has := sub.String(key)
		s.SetPos(f, sub.PosOf(key))
		return strings.TrimSpace(v), has
	}
	ok := true
	q := &slo.QuerySLI{}
	var known []string
	switch present[0] {
	case "events":
		known = []string{"error_query", "errorQuery", "total_query", "totalQuery"}
		errKey := im.alt(sub, "error_query", "errorQuery")
		totalKey := im.alt(sub, "total_query", "totalQuery")
		ok = sub.Require(errKey, totalKey)
		var hasErr, hasTotal bool
		q.Errors, hasErr = query(errKey, slo.FieldErrors)
		q.Total, hasTotal = query(totalKey, slo.FieldTotal)
		ok = ok && hasErr && hasTotal
	case "raw":
		known = []string{"error_ratio_query", "errorRatioQuery"}
		key := im.alt(sub, "error_ratio_query", "errorRatioQuery")
		ok = sub.Require(key)
		var has bool
		q.ErrorRatio, has = query(key, slo.FieldErrorRatio)
		ok = ok && has
	}
	done(sub, known...)
	s.SLI = slo.SLI{Kind: slo.SLIQuery, Query: q}
	return ok
}

// alerting reads an SLO's alerting block.
func (im *importer) alerting(m *ynode.Map, s *slo.SLO) {
	a := &s.Alerting
	s.SetPos(slo.FieldAlerting, m.Pos())
	a.Name, _ = m.String("name")
	var sloSeverity *string
	if m.Has("labels") {
		a.Labels, sloSeverity = takeSeverity(m.StringMap("labels"))
		s.SetPos(slo.FieldAlertLabels, m.PosOf("labels"))
	}
	a.Annotations = m.StringMap("annotations")
	disabled := 0
	for _, class := range []struct {
		snake, camel string
		tiers        []string
	}{
		{"page_alert", "pageAlert", []string{slo.TierPageFast, slo.TierPageSlow}},
		{"ticket_alert", "ticketAlert", []string{slo.TierTicketFast, slo.TierTicketSlow}},
	} {
		key := im.alt(m, class.snake, class.camel)
		var o slo.TierOverride
		if sub := m.Sub(key); sub != nil {
			o = readAlert(sub)
			if o.Disabled != nil && *o.Disabled {
				disabled++
			}
			for _, t := range class.tiers {
				s.SetPos(slo.FieldAlertingTierX+slo.Field("."+t), sub.Pos())
			}
		}
		if o.Severity == nil && sloSeverity != nil {
			sev := *sloSeverity
			o.Severity = &sev
		}
		if o.Disabled == nil && o.Severity == nil && o.Labels == nil && o.Annotations == nil {
			continue
		}
		if a.Tiers == nil {
			a.Tiers = map[string]slo.TierOverride{}
		}
		for _, t := range class.tiers {
			a.Tiers[t] = cloneOverride(o)
		}
	}
	if disabled == 2 {
		// Sloth writes no alert at all for this SLO.
		a.Disabled = true
	}
	done(m, "name", "labels", "annotations", "page_alert", "pageAlert", "ticket_alert", "ticketAlert")
}

// readAlert reads page_alert or ticket_alert.
func readAlert(m *ynode.Map) slo.TierOverride {
	var o slo.TierOverride
	if v, ok := m.Bool("disable"); ok {
		o.Disabled = &v
	}
	if m.Has("labels") {
		o.Labels, o.Severity = takeSeverity(m.StringMap("labels"))
	}
	o.Annotations = m.StringMap("annotations")
	done(m, "disable", "labels", "annotations")
	return o
}

// takeSeverity removes the severity label from labels and returns it apart.
func takeSeverity(labels map[string]string) (map[string]string, *string) {
	sev, ok := labels["severity"]
	if !ok {
		return labels, nil
	}
	delete(labels, "severity")
	if len(labels) == 0 {
		labels = nil
	}
	return labels, &sev
}

func cloneOverride(o slo.TierOverride) slo.TierOverride {
	c := o
	if o.Disabled != nil {
		v := *o.Disabled
		c.Disabled = &v
	}
	if o.Severity != nil {
		v := *o.Severity
		c.Severity = &v
	}
	c.Labels = maps.Clone(o.Labels)
	c.Annotations = maps.Clone(o.Annotations)
	return c
}

// DebugPlugin is Sloth's debug SLO plugin: it only logs while Sloth
// generates, and changes no rule.
const DebugPlugin = "sloth.dev/core/debug/v1"

// pluginHints says, for Sloth's contributed SLO plugins, what slokeeper does
// instead.
var pluginHints = map[string]string{
	"sloth.dev/contrib/info_labels/v1":                 "put those labels under the SLO's labels",
	"sloth.dev/contrib/rule_intervals/v1":              "slokeeper chooses rule group intervals itself",
	"sloth.dev/contrib/denominator_corrected_rules/v1": "slokeeper's long-window ratios are already weighted by traffic",
	"sloth.dev/contrib/validate_victoria_metrics/v1":   "slokeeper checks queries as PromQL, so MetricsQL-only functions cannot be used",
}

// corePlugins are Sloth's default plugins: listed in a chain (usually with
// overridePrevious) they restore Sloth's own generation, which slokeeper
// replaces; they are named in a refusal only when nothing else is.
var corePlugins = map[string]bool{
	"sloth.dev/core/validate/v1":       true,
	"sloth.dev/core/sli_rules/v1":      true,
	"sloth.dev/core/metadata_rules/v1": true,
	"sloth.dev/core/alert_rules/v1":    true,
}

// refusedChain is an SLO plugin chain that cannot be imported.
type refusedChain struct {
	pos      slo.Pos
	ids      []string
	override bool
}

// plugins handles an SLO plugin chain (slo_plugins at the service level,
// plugins on an SLO) and reports whether it is refused. The chain's own
// structure is not checked: it is either ignored, with one warning, or
// refused as a whole; refused chains are reported together by
// reportPlugins, in one line per document.
func (im *importer) plugins(m *ynode.Map, key string) (refused bool) {
	n := m.Get(key)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return false
	}
	ids, override := pluginChain(n)
	if len(ids) == 0 && !override {
		m.Warnf(key, "ignored: the SLO plugin chain is empty")
		return false
	}
	onlyDebug := !override && len(ids) > 0
	for _, id := range ids {
		if id != DebugPlugin {
			onlyDebug = false
		}
	}
	if onlyDebug {
		m.Warnf(key, "ignored: Sloth's %s plugin only logs while Sloth generates rules and changes none of them", DebugPlugin)
		return false
	}
	im.refused = append(im.refused, refusedChain{pos: m.PosOf(key), ids: ids, override: override})
	return true
}

// reportPlugins reports the document's refused plugin chains in one line,
// at the first of them.
func (im *importer) reportPlugins() {
	if len(im.refused) == 0 {
		return
	}
	var ids []string
	override := false
	for _, c := range im.refused {
		ids = append(ids, c.ids...)
		override = override || c.override
	}
	var named []string
	for _, id := range uniq(ids) {
		if id == DebugPlugin || corePlugins[id] {
			continue
		}
		if h, ok := pluginHints[id]; ok {
			id += ": " + h
		}
		named = append(named, clip(id))
	}
	if len(named) == 0 {
		for _, id := range uniq(ids) {
			if id != DebugPlugin {
				named = append(named, clip(id))
			}
		}
	}
	what := "Sloth SLO plugins cannot be imported"
	if len(named) > 0 {
		what += " (" + strings.Join(named, "; ") + ")"
	} else if override {
		what = "Sloth SLO plugins with overridePrevious cannot be imported"
	}
	remove := "remove the plugin chain"
	if len(im.refused) > 1 {
		var others []string
		for _, c := range im.refused[1:] {
			others = append(others, fmt.Sprintf("%s at line %d", c.pos.Path, c.pos.Line))
		}
		remove = "remove the plugin chains, this one and " + strings.Join(others, ", ")
	}
	im.dec.Problems.Add(im.refused[0].pos, "%s: Sloth runs them as Go code to change the rules it generates, while slokeeper generates its own rules; %s", what, remove)
}

// pluginChain reads the plugin ids and overridePrevious of a chain leniently.
func pluginChain(n *yaml.Node) (ids []string, override bool) {
	if n.Kind != yaml.MappingNode {
		return []string{"?"}, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, ynode.Resolve(n.Content[i+1])
		if v == nil {
			continue
		}
		switch k {
		case "overridePrevious", "override_previous":
			override = v.Kind == yaml.ScalarNode && v.Value == "true"
		case "chain":
			if v.Kind != yaml.SequenceNode {
				ids = append(ids, "?")
				continue
			}
			for _, el := range v.Content {
				el = ynode.Resolve(el)
				id := "?"
				if el != nil && el.Kind == yaml.MappingNode {
					for j := 0; j+1 < len(el.Content); j += 2 {
						if iv := ynode.Resolve(el.Content[j+1]); el.Content[j].Value == "id" && iv != nil && iv.Kind == yaml.ScalarNode {
							id = iv.Value
						}
					}
				}
				ids = append(ids, id)
			}
		default:
			ids = append(ids, "?")
		}
	}
	return ids, override
}

func uniq(ids []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "?" || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// clip shortens a value quoted in a message to one line of at most 200 runes.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		return string(r[:197]) + "..."
	}
	return s
}
