package sloth

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/internal/importtest"
	"github.com/slokeeper/slokeeper/slo"
)

const peersDir = importtest.PeersDir

// load parses one file and imports the documents Accepts takes.
func load(_ testing.TB, name string, data []byte) ([]slo.SLO, slo.Problems) {
	return importtest.Importer{Accepts: Accepts, Import: Import}.Load(name, data)
}

func loadFile(t *testing.T, path string) ([]slo.SLO, slo.Problems) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return load(t, filepath.Base(path), data)
}

func peerFiles(t testing.TB) []string {
	t.Helper()
	return importtest.PeerFiles(t, "sloth/specs", "sloth/windows", "bench/specs/sloth")
}

// expected is a problem a peer file is meant to produce.
type expected struct {
	sev      slo.Severity
	at       string // "line:col path"
	contains string
}

// peerRefusals lists the peer files that do not import cleanly, and the one
// line each refused construct gets.
var peerRefusals = map[string][]expected{
	"contrib-denominator-corrected.yaml": {
		{slo.Error, "11:5 spec.sloPlugins", "Sloth SLO plugins cannot be imported (sloth.dev/contrib/denominator_corrected_rules/v1: slokeeper's long-window ratios are already weighted by traffic): Sloth runs them as Go code"},
	},
	"contrib-slo-plugins.yml": {
		{slo.Error, "13:7 slos[0].plugins", "Sloth SLO plugins cannot be imported (sloth.dev/contrib/info_labels/v1: put those labels under the SLO's labels; sloth.dev/contrib/rule_intervals/v1: slokeeper chooses rule group intervals itself): Sloth runs them as Go code to change the rules it generates, while slokeeper generates its own rules; remove the plugin chains, this one and slos[1].plugins at line 44"},
	},
	"victoria-metrics.yml": {
		{slo.Error, "10:3 slo_plugins", "Sloth SLO plugins cannot be imported (sloth.dev/contrib/validate_victoria_metrics/v1: slokeeper checks queries as PromQL, so MetricsQL-only functions cannot be used): Sloth runs them as Go code to change the rules it generates, while slokeeper generates its own rules; remove the plugin chain"},
	},
	"slo-plugin-getting-started.yml": {
		{slo.Warning, "8:3 slo_plugins", "ignored: Sloth's sloth.dev/core/debug/v1 plugin only logs"},
		{slo.Warning, "22:7 slos[0].plugins", "ignored: Sloth's sloth.dev/core/debug/v1 plugin only logs"},
	},
	"7d.yaml": {
		{slo.Error, "2:7 kind", "a Sloth AlertWindows catalog (sloPeriod 7d) is not an SLO spec: it sets Sloth's process-wide burn-rate windows, while slokeeper sets burn-rate tiers per SLO (alerting.tiers in the native spec) and imports Sloth SLOs with a 30d period and the SRE Workbook tiers; leave this file out of the spec paths"},
	},
	"custom-30d.yaml": {
		{slo.Error, "2:7 kind", "a Sloth AlertWindows catalog (sloPeriod 30d) is not an SLO spec"},
	},
}

// TestPeerSpecs imports every Sloth example: each loads without a problem or
// gives exactly the intended one-line refusal (or, for debug-only plugin
// chains, warning).
func TestPeerSpecs(t *testing.T) {
	for _, path := range peerFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			slos, ps := loadFile(t, path)
			want := peerRefusals[name]
			if len(ps) != len(want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), ps)
			}
			refused := false
			for i, p := range ps {
				w := want[i]
				if pos := posString(p); pos != w.at || p.Severity != w.sev || !strings.Contains(p.Message, w.contains) {
					t.Errorf("problem %d:\n got %s (severity %d)\nwant %s %q (severity %d)", i, p, p.Severity, w.at, w.contains, w.sev)
				}
				if strings.Contains(p.Message, "\n") {
					t.Errorf("problem %d is not one line: %q", i, p.Message)
				}
				refused = refused || p.Severity == slo.Error
			}
			switch {
			case strings.HasPrefix(name, "openslo-"):
				if len(slos) != 0 {
					t.Errorf("OpenSLO documents are not Sloth's: got %d SLOs", len(slos))
				}
			case refused || filepath.Base(filepath.Dir(path)) == "windows":
				if len(slos) != 0 {
					t.Errorf("got %d SLOs from a refused file or an alert-window catalog", len(slos))
				}
			default:
				if len(slos) == 0 {
					t.Fatal("no SLO imported")
				}
			}
			for _, s := range slos {
				checkSLO(t, s)
			}
			// Validation must accept what the importer produced.
			for _, p := range slo.Validate(slos, slo.ValidateOptions{}) {
				if p.Severity == slo.Error {
					t.Errorf("validation: %s", p)
				}
			}
		})
	}
}

func posString(p slo.Problem) string {
	return strconv.Itoa(p.Pos.Line) + ":" + strconv.Itoa(p.Pos.Col) + " " + p.Pos.Path
}

// checkSLO checks what every imported SLO has.
func checkSLO(t *testing.T, s slo.SLO) {
	t.Helper()
	if s.Source.Format != slo.FormatSloth || s.Source.File == "" || s.Source.Line == 0 {
		t.Errorf("%s: bad source %+v", s.ID(), s.Source)
	}
	for _, f := range []slo.Field{slo.FieldSLO, slo.FieldName, slo.FieldService, slo.FieldObjective, slo.FieldSLI} {
		if p, ok := s.Positions[f]; !ok || p.Line == 0 {
			t.Errorf("%s: no position for %s", s.ID(), f)
		}
	}
	if s.Period != (slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour}) {
		t.Errorf("%s: period %v, want Sloth's 30d", s.ID(), s.Period)
	}
	if s.SLI.Kind != slo.SLIQuery || s.SLI.Query == nil {
		t.Errorf("%s: SLI %+v, want a query SLI", s.ID(), s.SLI)
	}
}

func peerFile(t *testing.T, rel string) string {
	t.Helper()
	path := filepath.Join(peersDir, rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("peer spec %s is absent: %v", rel, err)
	}
	return path
}

func TestGettingStarted(t *testing.T) {
	slos, ps := loadFile(t, peerFile(t, "sloth/specs/getting-started.yml"))
	if len(ps) != 0 || len(slos) != 1 {
		t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
	}
	s := slos[0]
	str := func(v string) *string { return &v }
	want := slo.SLO{
		Service:     "myservice",
		Team:        "myteam",
		Name:        "requests-availability",
		Description: "Common SLO based on availability for HTTP request responses.",
		Labels:      map[string]string{"owner": "myteam", "repo": "myorg/myservice", "tier": "2"},
		Objective:   99.9,
		Period:      slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour},
		SLI: slo.SLI{Kind: slo.SLIQuery, Query: &slo.QuerySLI{
			Errors: `sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))`,
			Total:  `sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))`,
		}},
		Alerting: slo.Alerting{
			Name:        "MyServiceHighErrorRate",
			Labels:      map[string]string{"category": "availability"},
			Annotations: map[string]string{"summary": "High error rate on 'myservice' requests responses"},
			Tiers: map[string]slo.TierOverride{
				slo.TierPageFast:   {Severity: str("pageteam"), Labels: map[string]string{"routing_key": "myteam"}},
				slo.TierPageSlow:   {Severity: str("pageteam"), Labels: map[string]string{"routing_key": "myteam"}},
				slo.TierTicketFast: {Severity: str("slack"), Labels: map[string]string{"slack_channel": "#alerts-myteam"}},
				slo.TierTicketSlow: {Severity: str("slack"), Labels: map[string]string{"slack_channel": "#alerts-myteam"}},
			},
		},
	}
	if got := strip(s); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	for f, at := range map[slo.Field]string{
		slo.FieldSLO:                            "9:5 slos[0]",
		slo.FieldName:                           "9:11 slos[0].name",
		slo.FieldService:                        "2:10 service",
		slo.FieldObjective:                      "10:16 slos[0].objective",
		slo.FieldLabels:                         "4:3 labels",
		slo.FieldSLI:                            "13:7 slos[0].sli",
		slo.FieldErrors:                         "14:22 slos[0].sli.events.error_query",
		slo.FieldTotal:                          "15:22 slos[0].sli.events.total_query",
		slo.FieldAlerting:                       "17:7 slos[0].alerting",
		slo.FieldAlertLabels:                    "19:9 slos[0].alerting.labels",
		slo.FieldAlertingTierX + ".page-fast":   "24:9 slos[0].alerting.page_alert",
		slo.FieldAlertingTierX + ".ticket-slow": "28:9 slos[0].alerting.ticket_alert",
	} {
		p := s.Positions[f]
		if got := strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) + " " + p.Path; got != at || p.File != "getting-started.yml" {
			t.Errorf("position of %s: got %s in %q, want %s", f, got, p.File, at)
		}
	}
}

// strip drops what depends on where the SLO was written.
func strip(s slo.SLO) slo.SLO {
	s.Source = slo.Source{}
	s.Positions = nil
	return s
}

// TestKubernetesEqualsPlain checks that the custom resource (camelCase keys
// under spec) gives the same SLOs as the plain format (snake_case keys).
func TestKubernetesEqualsPlain(t *testing.T) {
	for plain, k8s := range map[string]string{
		"getting-started.yml": "k8s-getting-started.yml",
		"home-wifi.yml":       "k8s-home-wifi.yml",
	} {
		a, pa := loadFile(t, peerFile(t, "sloth/specs/"+plain))
		b, pb := loadFile(t, peerFile(t, "sloth/specs/"+k8s))
		if len(pa)+len(pb) != 0 {
			t.Fatalf("problems:\n%v\n%v", pa, pb)
		}
		if len(a) != len(b) || len(a) == 0 {
			t.Fatalf("%s: %d SLOs, %s: %d", plain, len(a), k8s, len(b))
		}
		for i := range a {
			if x, y := strip(a[i]), strip(b[i]); !reflect.DeepEqual(x, y) {
				t.Errorf("%s and %s differ:\n%#v\n%#v", plain, k8s, x, y)
			}
			if b[i].Source.Path != "spec.slos["+strconv.Itoa(i)+"]" {
				t.Errorf("path %q", b[i].Source.Path)
			}
		}
	}
}

func TestPeerFieldValues(t *testing.T) {
	t.Run("no-alerts", func(t *testing.T) {
		slos, ps := loadFile(t, peerFile(t, "sloth/specs/no-alerts.yml"))
		if len(ps) != 0 || len(slos) != 1 {
			t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
		}
		a := slos[0].Alerting
		if !a.Disabled {
			t.Error("alerting not disabled though page and ticket alerts are")
		}
		for _, tier := range slo.TierNames() {
			if o := a.Tiers[tier]; o.Disabled == nil || !*o.Disabled {
				t.Errorf("tier %s not disabled", tier)
			}
		}
		if q := slos[0].SLI.Query; !strings.HasPrefix(q.Errors, "sum(\n") || strings.HasSuffix(q.Errors, "\n") {
			t.Errorf("block-scalar query not kept (trimmed): %q", q.Errors)
		}
	})
	t.Run("raw-home-wifi", func(t *testing.T) {
		slos, ps := loadFile(t, peerFile(t, "sloth/specs/raw-home-wifi.yml"))
		if len(ps) != 0 || len(slos) != 1 {
			t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
		}
		q := slos[0].SLI.Query
		if q.Errors != "" || q.Total != "" || !strings.HasPrefix(q.ErrorRatio, "1 - (") || !strings.Contains(q.ErrorRatio, "[{{.window}}]") {
			t.Errorf("raw SLI: %+v", q)
		}
		if p := slos[0].Positions[slo.FieldErrorRatio]; p.Line != 28 || p.Path != "slos[0].sli.raw.error_ratio_query" {
			t.Errorf("errorRatio position %+v", p)
		}
		if slos[0].Team != "" {
			t.Errorf("team %q without a team or owner label", slos[0].Team)
		}
	})
	t.Run("kubernetes-apiserver", func(t *testing.T) {
		slos, ps := loadFile(t, peerFile(t, "sloth/specs/kubernetes-apiserver.yml"))
		if len(ps) != 0 || len(slos) != 2 {
			t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
		}
		s := slos[1]
		if s.Objective != 99 || s.Labels["category"] != "latency" || s.Labels["cluster"] != "valhalla" {
			t.Errorf("objective %v, labels %v", s.Objective, s.Labels)
		}
		if p := s.Positions[slo.FieldLabels]; p.Path != "slos[1].labels" {
			t.Errorf("labels position %+v: want the SLO's own labels", p)
		}
		if sev := s.Alerting.Tiers[slo.TierPageSlow].Severity; sev == nil || *sev != "critical" {
			t.Errorf("page severity %v", sev)
		}
		if s.Alerting.Annotations["runbook"] == "" {
			t.Error("annotations lost")
		}
	})
	t.Run("bench", func(t *testing.T) {
		slos, ps := loadFile(t, peerFile(t, "bench/specs/sloth/bench.yml"))
		if len(ps) != 0 || len(slos) != 10 {
			t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
		}
		for _, s := range slos {
			if s.Team != "bench" || s.Labels != nil {
				t.Errorf("%s: team %q, labels %v: the team label fills Team and leaves the labels", s.ID(), s.Team, s.Labels)
			}
		}
		if got := slos[3].SLI.Query.Errors; got != `sum(rate(bench_requests_total{shard="s03",code=~"5.."}[{{.window}}]))` {
			t.Errorf("errors %q", got)
		}
	})
}

func TestMapping(t *testing.T) {
	slos, ps := load(t, "m.yaml", []byte(`version: prometheus/v1
service: svc
labels: {team: a, owner: b, env: prod}
slos:
- name: one
  objective: 99.5
  labels: {team: c}
  sli:
    raw:
      errorRatioQuery: x
  alerting:
    labels: {severity: high, x: y}
    pageAlert: {labels: {severity: p}}
    ticketAlert: {disable: true}
- name: two
  objective: 99
  sli: {events: {errorQuery: e, total_query: t}}
  alerting: {page_alert: {disable: true}}
`))
	if len(ps) != 0 || len(slos) != 2 {
		t.Fatalf("got %d SLOs, problems:\n%v", len(slos), ps)
	}
	one, two := slos[0], slos[1]
	if one.Team != "c" || !reflect.DeepEqual(one.Labels, map[string]string{"owner": "b", "env": "prod"}) {
		t.Errorf("team %q, labels %v", one.Team, one.Labels)
	}
	if one.SLI.Query.ErrorRatio != "x" {
		t.Errorf("camelCase raw query: %+v", one.SLI.Query)
	}
	a := one.Alerting
	if !reflect.DeepEqual(a.Labels, map[string]string{"x": "y"}) {
		t.Errorf("alert labels %v: severity belongs to the tiers", a.Labels)
	}
	for tier, sev := range map[string]string{slo.TierPageFast: "p", slo.TierPageSlow: "p", slo.TierTicketFast: "high", slo.TierTicketSlow: "high"} {
		if o := a.Tiers[tier]; o.Severity == nil || *o.Severity != sev {
			t.Errorf("tier %s severity %v, want %s", tier, o.Severity, sev)
		}
	}
	if o := a.Tiers[slo.TierTicketFast]; o.Disabled == nil || !*o.Disabled || a.Disabled {
		t.Errorf("ticket disabled %v, alerting disabled %v", o.Disabled, a.Disabled)
	}
	if two.Team != "a" || two.SLI.Query.Errors != "e" || two.SLI.Query.Total != "t" {
		t.Errorf("two: team %q, query %+v", two.Team, two.SLI.Query)
	}
	if o := two.Alerting.Tiers[slo.TierPageFast]; o.Disabled == nil || !*o.Disabled {
		t.Error("page alert not disabled")
	}
	if _, ok := two.Alerting.Tiers[slo.TierTicketFast]; ok || two.Alerting.Disabled {
		t.Error("ticket tiers changed though not configured")
	}
	// Tiers must not share maps or pointers.
	*a.Tiers[slo.TierPageFast].Severity = "changed"
	if *a.Tiers[slo.TierPageSlow].Severity != "p" {
		t.Error("page tiers share their severity")
	}
}

// TestProblems checks bad input: every problem, exactly, with its position.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		slos     int
	}{
		{
			name: "objective as string",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: \"99.9\"\n  sli: {raw: {error_ratio_query: q}}\n",
			want: []string{`f.yaml:5:14: slos[0].objective: expected a number, got the string "99.9"`},
		},
		{
			name: "missing objective",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  sli: {raw: {error_ratio_query: q}}\n",
			want: []string{`f.yaml:4:3: slos[0].objective: required field is missing`},
		},
		{
			name: "unknown field",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objectiv: 99\n  objective: 99\n  sli: {raw: {error_ratio_query: q}}\n",
			want: []string{`f.yaml:5:3: slos[0].objectiv: unknown field "objectiv" (did you mean "objective"?)`},
			slos: 1,
		},
		{
			name: "misspelt query",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli: {events: {error_qery: e, total_query: t}}\n",
			want: []string{
				`f.yaml:6:17: slos[0].sli.events.error_query: required field is missing`,
				`f.yaml:6:18: slos[0].sli.events.error_qery: unknown field "error_qery" (did you mean "error_query"?)`,
			},
		},
		{
			name: "SLI plugin",
			in: `version: prometheus/v1
service: s
slos:
- name: a
  objective: 99
  sli:
    plugin:
      id: sloth-common/kubernetes/apiserver/availability
      options: {filter: 'verb!="WATCH"'}
`,
			want: []string{`f.yaml:8:7: slos[0].sli.plugin: SLI plugin "sloth-common/kubernetes/apiserver/availability" cannot be imported: Sloth SLI plugins run inside Sloth's Go interpreter; slokeeper cannot run them: rewrite the SLI as events or raw queries (the rules Sloth generated from the plugin show its queries)`},
		},
		{
			name: "SLO plugin chain",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  plugins: {chain: [{id: my/plugin, config: {a: 1}}, {id: sloth.dev/core/debug/v1}]}\n  sli: {raw: {error_ratio_query: q}}\n",
			want: []string{`f.yaml:6:12: slos[0].plugins: Sloth SLO plugins cannot be imported (my/plugin): Sloth runs them as Go code to change the rules it generates, while slokeeper generates its own rules; remove the plugin chain`},
		},
		{
			name: "overridePrevious chain and an SLO chain",
			in:   "version: prometheus/v1\nservice: s\nslo_plugins: {overridePrevious: true, chain: [{id: sloth.dev/core/debug/v1}]}\nslos:\n- name: a\n  objective: 99\n  plugins: {chain: [{id: sloth.dev/core/debug/v1}]}\n  sli: {raw: {error_ratio_query: q}}\n- name: b\n  objective: 99\n  plugins: {chain: [{id: sloth.dev/core/sli_rules/v1}]}\n  sli: {raw: {error_ratio_query: q}}\n",
			want: []string{
				`f.yaml:7:12: warning: slos[0].plugins: ignored: Sloth's sloth.dev/core/debug/v1 plugin only logs while Sloth generates rules and changes none of them`,
				`f.yaml:3:14: slo_plugins: Sloth SLO plugins cannot be imported (sloth.dev/core/sli_rules/v1): Sloth runs them as Go code to change the rules it generates, while slokeeper generates its own rules; remove the plugin chains, this one and slos[1].plugins at line 11`,
			},
		},
		{
			name: "both spellings",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli: {events: {error_query: e, errorQuery: e, total_query: t}}\n",
			want: []string{`f.yaml:6:46: slos[0].sli.events.errorQuery: error_query and errorQuery are the same field: give only one of them`},
			slos: 1,
		},
		{
			name: "two SLI types",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli:\n    events: {error_query: e, total_query: t}\n    raw: {error_ratio_query: q}\n",
			want: []string{`f.yaml:8:10: slos[0].sli.raw: only one SLI type per SLO: found events and raw`},
		},
		{
			name: "no SLI type",
			in:   "version: prometheus/v1\nservice: s\nslos:\n- name: a\n  objective: 99\n  sli: {}\n",
			want: []string{`f.yaml:6:8: slos[0].sli: one of events or raw is required`},
		},
		{
			name: "missing total query",
			in:   "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x, namespace: y, uid: z}\nspec:\n  service: s\n  slos:\n  - name: a\n    objective: 99\n    sli: {events: {errorQuery: e}}\n",
			want: []string{`f.yaml:9:19: spec.slos[0].sli.events.totalQuery: required field is missing`},
		},
		{
			name: "wrong types",
			in:   "version: prometheus/v1\nservice: [s]\nlabels: [a]\nslos:\n- name: a\n  objective: 99\n  sli: {raw: {error_ratio_query: q}}\n  alerting: {page_alert: {disable: yes please}}\n",
			want: []string{
				`f.yaml:2:10: service: expected a string, got a list`,
				`f.yaml:3:9: labels: expected a mapping, got a list`,
				`f.yaml:8:36: slos[0].alerting.page_alert.disable: expected a boolean (true or false), got the string "yes please"`,
			},
		},
		{
			name: "missing service",
			in:   "version: prometheus/v1\nslos: [{name: a, objective: 99, sli: {raw: {error_ratio_query: q}}}]\n",
			want: []string{`f.yaml:1:1: service: required field is missing`},
		},
		{
			name: "empty slos",
			in:   "version: prometheus/v1\nservice: s\nslos: []\n",
			want: []string{`f.yaml:3:7: slos: the list of SLOs is empty`},
		},
		{
			name: "apiVersion instead of version",
			in:   "apiVersion: prometheus/v1\nservice: s\nslos: []\n",
			want: []string{"f.yaml:1:13: apiVersion: Sloth's prometheus/v1 format names its version with `version: prometheus/v1`, not apiVersion; the Kubernetes resource is apiVersion sloth.slok.dev/v1, kind PrometheusServiceLevel"},
		},
		{
			name: "wrong kind",
			in:   "apiVersion: sloth.slok.dev/v1\nkind: ServiceLevel\nspec: {}\n",
			want: []string{`f.yaml:2:7: kind: unsupported kind "ServiceLevel" for sloth.slok.dev/v1: expected "PrometheusServiceLevel"`},
		},
		{
			name: "wrong version",
			in:   "apiVersion: sloth.slok.dev/v2\nkind: PrometheusServiceLevel\n",
			want: []string{`f.yaml:1:13: apiVersion: unsupported Sloth apiVersion "sloth.slok.dev/v2": expected "sloth.slok.dev/v1"`},
		},
		{
			name: "unknown metadata and spec fields",
			in:   "apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\nmetadata: {name: x, owner: me}\nspec: {service: s, window: 28d, slos: [{name: a, objective: 99, sli: {raw: {errorRatioQuery: q}}}]}\n",
			want: []string{
				`f.yaml:3:21: metadata.owner: unknown field "owner"`,
				`f.yaml:4:20: spec.window: unknown field "window"`,
			},
			slos: 1,
		},
		{
			name: "slo not a mapping",
			in:   "version: prometheus/v1\nservice: s\nslos: [a]\n",
			want: []string{`f.yaml:3:8: slos[0]: expected a mapping, got the string "a"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slos, ps := load(t, "f.yaml", []byte(tc.in))
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n got %q\nwant %q", got, tc.want)
			}
			if len(slos) != tc.slos {
				t.Errorf("got %d SLOs, want %d", len(slos), tc.slos)
			}
		})
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		apiVersion, kind string
		want             bool
	}{
		{"prometheus/v1", "", true},
		{"sloth.slok.dev/v1", "PrometheusServiceLevel", true},
		{"sloth.slok.dev/v1", "AlertWindows", true},
		{"sloth.slok.dev/v2", "Anything", true},
		{"openslo/v1alpha", "SLO", false},
		{"openslo/v1", "SLO", false},
		{"pyrra.dev/v1alpha1", "ServiceLevelObjective", false},
		{"", "", false},
	} {
		if got := Accepts(tc.apiVersion, tc.kind); got != tc.want {
			t.Errorf("Accepts(%q, %q) = %v", tc.apiVersion, tc.kind, got)
		}
	}
}
