// Package openslo imports OpenSLO specs into the slo model: apiVersion
// openslo/v1 (kinds SLO, SLI, Service, AlertPolicy, AlertCondition,
// AlertNotificationTarget, DataSource) and Sloth's openslo/v1alpha SLO.
//
// Import receives every OpenSLO document of every file at once: a first pass
// decodes each document (structure, types, required and unknown fields), a
// second resolves references (indicatorRef, alertPolicyRef, conditionRef,
// metricSourceRef) and maps each SLO to the model. Semantic checks shared by
// every format (objective and period ranges, PromQL syntax, {{.window}},
// label names, tier windows, duplicate IDs) are slo.Validate's.
//
// Mapping decisions:
//
//   - An SLO with several objectives becomes one SLO per objective, named
//     <name>-<objective displayName as a slug>, or <name>-<index> (0-based)
//     without displayName. A single objective keeps the SLO's name.
//   - Objective is target x 100, or targetPercent.
//   - timeWindow: a rolling window of any length (M, Q and Y read as 30, 90
//     and 365 days, with a warning); a calendar window only of 1M, which is
//     a calendar month in calendar.timeZone. Without timeWindow: rolling 30d.
//   - budgetingMethod must be Occurrences; Timeslices and RatioTimeslices are
//     refused: slokeeper budgets by events.
//   - Data sources must speak PromQL (type Prometheus, Thanos, Mimir or
//     Cortex, given inline or by the referenced DataSource); the query is
//     metricSource.spec.query (or spec.promql).
//   - ratioMetric good|bad + total: when counter is true (or unset) and both
//     queries are series selectors, or sum() of one, the SLI is a ratio of
//     selectors (slokeeper writes rate() and sum() itself). Otherwise it is a
//     query SLI: queries holding {{.window}} stay as written; in others the
//     literal range of rate()/increase() becomes {{.window}}, and bare
//     selectors are wrapped in rate(x[{{.window}}]) (counters) or
//     avg_over_time(x[{{.window}}]) (counter: false), each with a warning
//     that shows the result.
//   - ratioMetric raw: an error-ratio query; rawType success becomes
//     1 - (query). Bare selectors are averaged over the window.
//   - thresholdMetric: every evaluation of the query is one event, bad when
//     it does not meet the objective's op and value; the error ratio is
//     avg_over_time((query <negated op> bool value)[{{.window}}:]).
//   - metadata.labels become labels; a list of values is joined with ",".
//     The label team becomes the SLO's Team (else the team label of the
//     Service document of the same name). Label names are made Prometheus
//     label names ('-' and '.' become '_') with a warning.
//   - metadata.annotations without a prefix become annotations; prefixed ones
//     belong to other tools and are skipped, except slokeeper.io/runbook,
//     slokeeper.io/dashboard, slokeeper.io/policy, slokeeper.io/min-events
//     and slokeeper.io/group-by, which set the fields of the same names.
//   - alertPolicies: each burn-rate AlertCondition of each policy (inline or
//     by reference) becomes one tier of Alerting.TierSet: name from the
//     condition, long window = lookbackWindow, short window = long/12 (the
//     SRE Workbook's ratio: 1h/5m, 6h/30m, 1d/2h, 3d/6h), factor = threshold,
//     for = alertAfter, severity as written, class page when the severity
//     reads like paging (page, critical, high, sev0/sev1, p0/p1, urgent,
//     emergency), else ticket. A policy with alertWhenBreaching: false adds
//     no tier, so an SLO whose policies all say so has no burn-rate alert.
//     An SLO without alertPolicies gets slokeeper's default tiers.
//     Notification targets are not used: Alertmanager routes by severity.
//   - Service, AlertNotificationTarget and DataSource documents produce no SLO.
package openslo

import (
	"strings"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// The apiVersions read.
const (
	APIVersionV1      = "openslo/v1"
	APIVersionV1Alpha = "openslo/v1alpha"
)

// Accepts says whether the document is an OpenSLO spec. Every openslo/
// apiVersion is accepted so that an unsupported version or kind gets a
// precise error.
func Accepts(apiVersion, kind string) bool {
	return strings.HasPrefix(apiVersion, "openslo/")
}

// Import converts documents into SLOs, reporting problems with positions.
// References resolve across all documents given, whatever their file.
func Import(docs []ynode.Doc, ps *slo.Problems) []slo.SLO {
	im := &importer{
		ps:           ps,
		parser:       parser.NewParser(parser.Options{}),
		slis:         map[string]*sliDef{},
		policies:     map[string]*policyDef{},
		conditions:   map[string]*condDef{},
		dataSources:  map[string]*dataSourceDef{},
		targets:      map[string]bool{},
		serviceTeams: map[string]string{},
		defined:      map[string]map[string]slo.Pos{},
	}
	for _, d := range docs {
		im.decodeDoc(d)
	}
	var out []slo.SLO
	for _, d := range im.slos {
		out = append(out, im.mapSLO(d)...)
	}
	return out
}

type importer struct {
	ps           *slo.Problems
	parser       parser.Parser
	slos         []*sloDef
	slis         map[string]*sliDef
	policies     map[string]*policyDef
	conditions   map[string]*condDef
	dataSources  map[string]*dataSourceDef
	targets      map[string]bool
	serviceTeams map[string]string
	// defined maps kind and name to where the name was defined, for duplicates.
	defined map[string]map[string]slo.Pos
}
