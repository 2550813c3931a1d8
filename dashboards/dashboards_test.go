package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// exampleSLOs loads the repository's example specs.
func exampleSLOs(t testing.TB) []slo.SLO {
	t.Helper()
	res, err := loader.Load(context.Background(), []string{"../testdata/slos"}, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problems.HasErrors() {
		t.Fatalf("example specs have errors: %v", res.Problems)
	}
	if len(res.SLOs) == 0 {
		t.Fatal("no SLOs in ../testdata/slos")
	}
	return res.SLOs
}

// checkAll validates every dashboard: schema, PromQL, shape.
func checkAll(t *testing.T, ds []Dashboard) {
	t.Helper()
	sch := loadSchemasOrNil(t)
	uids := map[string]bool{}
	for i := range ds {
		d := &ds[i]
		if uids[d.UID] {
			t.Errorf("uid %q used twice", d.UID)
		}
		uids[d.UID] = true
		data, err := d.JSON()
		if err != nil {
			t.Fatalf("%s: %v", d.UID, err)
		}
		if sch != nil {
			if err := sch.validate(data); err != nil {
				t.Errorf("%s (%s): %v", d.UID, d.Title, err)
			}
		}
		if err := checkPromQL(d); err != nil {
			t.Error(err)
		}
		if err := checkShape(d, data); err != nil {
			t.Error(err)
		}
	}
}

// loadSchemasOrNil returns the schemas, or nil (with a log line) when the
// shared folder is absent, so that the other checks still run.
func loadSchemasOrNil(t *testing.T) *schemas {
	t.Helper()
	var s *schemas
	t.Run("schemas", func(t *testing.T) { s = loadSchemas(t) })
	if s == nil {
		t.Logf("schema validation skipped: %s not found", schemaDirectory())
	}
	return s
}

// TestSchemaValidationBites: the validator refuses what Grafana's schemas
// refuse, so that the passes above mean something.
func TestSchemaValidationBites(t *testing.T) {
	sch := loadSchemas(t)
	d := USENodes(Options{})
	good, _ := d.JSON()
	if err := sch.validate(good); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		edit func(d *Dashboard)
	}{
		{"link without tags", func(d *Dashboard) { d.Links[0].Tags = nil }},
		{"timeseries options without legend", func(d *Dashboard) {
			d.Panels[7].Options = map[string]any{"tooltip": VizTooltip{Mode: "multi", Sort: "none"}}
		}},
		{"stat with a custom field config", func(d *Dashboard) { d.Panels[1].FieldConfig.Defaults.Custom = map[string]any{"x": 1} }},
		{"unknown stat option", func(d *Dashboard) { d.Panels[1].Options.(*StatOptions).GraphMode = "sparkles" }},
		{"panel wider than the grid", func(d *Dashboard) { d.Panels[1].GridPos.W = 25 }},
		{"unknown variable type", func(d *Dashboard) { d.Templating.List[1].Type = "magic" }},
		{"target without expr", func(d *Dashboard) { d.Panels[1].Targets = []Target{{RefID: "A"}}; d.Panels[1].Targets[0].Expr = "" }},
	}
	for _, c := range bad {
		d := USENodes(Options{})
		c.edit(&d)
		js, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		if c.name == "target without expr" {
			// expr is required by the dataquery schema: drop it.
			js = bytes.Replace(js, []byte(`"expr":"",`), nil, 1)
		}
		if err := sch.validate(js); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

// TestSchemasAbsentSkips: without the shared folder the schema checks skip
// with a message, and the rest still runs.
func TestSchemasAbsentSkips(t *testing.T) {
	t.Setenv("SLOKEEPER_GRAFANA_SCHEMAS", filepath.Join(t.TempDir(), "nowhere"))
	ran := t.Run("schemas", func(t *testing.T) { loadSchemas(t); t.Error("not skipped") })
	if !ran {
		t.Error("subtest failed")
	}
}

func TestDashboardsFixtures(t *testing.T) {
	ds := All(testSLOs(), Options{})
	if len(ds) != 1+2*9+1+6 {
		t.Errorf("got %d dashboards, want 26 (overview, 2 x 9 services, nodes, 6 platform)", len(ds))
	}
	checkAll(t, ds)
}

func TestDashboardsExamples(t *testing.T) {
	ds := All(exampleSLOs(t), Options{})
	checkAll(t, ds)
}

// TestEverySLIKindHasPanels checks that each SLO of the fixtures gets its
// row, with the panels issue 4 asks for.
func TestSLODetailPanels(t *testing.T) {
	slos := testSLOs()
	byService := groupByService(slos)
	for svc, ss := range byService {
		d := SLODetail(svc, ss, Options{})
		var rows []string
		titles := map[string]int{}
		for _, p := range d.Panels {
			if p.IsRow() {
				rows = append(rows, p.Title)
			}
			titles[p.Title]++
		}
		if len(rows) != 1+len(ss) {
			t.Errorf("%s: %d rows %q, want 1 + %d SLOs", svc, len(rows), rows, len(ss))
		}
		for _, want := range []string{"Objective", "SLI over the period", "Error budget remaining", "Error budget burn-down over the period", "SLI", "Alerts firing"} {
			if titles[want] != len(ss) {
				t.Errorf("%s: %d panels %q, want one per SLO (%d)", svc, titles[want], want, len(ss))
			}
		}
		if titles["Change freeze"] != 2 || titles["Alerts"] != 1 || titles["SLOs"] != 1 {
			t.Errorf("%s: service panels missing: %v", svc, titles)
		}
		js, _ := d.JSON()
		for _, want := range []string{seriesBudget, seriesBurnRate, seriesErrorRatio, seriesObjective, seriesInfo, FreezeMetric, "ALERTS{"} {
			if !bytes.Contains(js, []byte(want)) {
				t.Errorf("%s: dashboard never reads %s", svc, want)
			}
		}
	}
}

// TestBurnRateThresholds checks the tier thresholds drawn on the burn-rate
// panel: the SRE Workbook factors for the period, tier overrides applied.
func TestBurnRateThresholds(t *testing.T) {
	find := func(d Dashboard, title string) []Panel {
		var out []Panel
		for _, p := range d.Panels {
			if p.Title == title {
				out = append(out, p)
			}
		}
		return out
	}
	byService := groupByService(testSLOs())
	d := SLODetail("checkout", byService["checkout"], Options{})
	ps := find(d, "Burn rate per alert window")
	if len(ps) != 2 {
		t.Fatalf("checkout: %d burn rate panels", len(ps))
	}
	var got []string
	for _, tg := range ps[0].Targets[1:] {
		got = append(got, tg.LegendFormat+" = "+tg.Expr)
	}
	want := []string{
		"page-fast 13.44x (1h & 5m) = vector(13.44)",
		"page-slow 5.6x (6h & 30m) = vector(5.6)",
		"ticket-fast 2.8x (1d & 2h) = vector(2.8)",
		"ticket-slow 0.93x (3d & 6h) = vector(0.933333333333)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("thresholds:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// catalog/latency: 7d period, ticket-slow disabled.
	d = SLODetail("catalog", byService["catalog"], Options{})
	ps = find(d, "Burn rate per alert window")
	if n := len(ps[1].Targets); n != 4 {
		t.Errorf("catalog/latency: %d queries, want burn rate + 3 tiers", n)
	}
	if !strings.Contains(ps[1].Targets[1].LegendFormat, "page-fast 3.36x") {
		t.Errorf("catalog/latency page-fast: %q, want 3.36x for 7d", ps[1].Targets[1].LegendFormat)
	}
	// billing/custom-ratio: fixed factors from its tier set.
	d = SLODetail("billing", byService["billing"], Options{})
	for _, p := range find(d, "Burn rate per alert window") {
		if strings.Contains(p.Targets[0].Expr, `slo="custom-ratio"`) {
			if p.Targets[1].Expr != "vector(10)" || p.Targets[2].Expr != "vector(2)" {
				t.Errorf("custom-ratio thresholds: %q %q", p.Targets[1].Expr, p.Targets[2].Expr)
			}
		}
	}
	if len(find(d, "Burn rate over the period")) != 2 { // billing/up: no tier; the stat and the graph
		t.Errorf("billing/up: no period burn rate panels")
	}
}

func TestDeterministic(t *testing.T) {
	slos := testSLOs()
	render := func(ss []slo.SLO) []byte {
		var b bytes.Buffer
		for _, d := range All(ss, Options{}) {
			js, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			b.Write(js)
		}
		return b.Bytes()
	}
	a := render(slos)
	shuffled := append([]slo.SLO{}, slos...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if b := render(shuffled); !bytes.Equal(a, b) {
		t.Error("same SLOs in another order give other dashboards")
	}
	if b := render(slos); !bytes.Equal(a, b) {
		t.Error("two runs differ")
	}
}

func TestUID(t *testing.T) {
	cases := []struct {
		kind    Kind
		service string
		want    string
	}{
		{KindSLO, "checkout", "slo-checkout"},
		{KindRED, "checkout", "red-checkout"},
		{KindOverview, "ignored", "slokeeper-overview"},
		{KindNodes, "", "slokeeper-use-nodes"},
	}
	for _, c := range cases {
		if got := UID(c.kind, c.service); got != c.want {
			t.Errorf("UID(%s, %q) = %q, want %q", c.kind, c.service, got, c.want)
		}
	}
	long := "payments.eu-west-1.example.com-very-long-service-name"
	a, b := UID(KindSLO, long), UID(KindRED, long)
	if len(a) > MaxUIDLen || len(b) > MaxUIDLen || a == b || !strings.HasPrefix(a, "slo-payments-eu-west-1") {
		t.Errorf("long service: %q, %q", a, b)
	}
	if UID(KindSLO, "a.b") == UID(KindSLO, "a-b") {
		t.Error("a.b and a-b share a UID")
	}
	if UID(KindSLO, long) != a {
		t.Error("UID not stable")
	}
	for _, k := range append(PlatformKinds(), KindOverview, KindNodes) {
		if u := UID(k, ""); len(u) > MaxUIDLen || !uidRE.MatchString(u) {
			t.Errorf("%s: bad uid %q", k, u)
		}
	}
}

func TestREDConventions(t *testing.T) {
	byService := groupByService(testSLOs())
	cases := []struct {
		service             string
		requests, status    string
		route, duration     string
		native, durNative   bool
		errMatcher, goodSel string
	}{
		{"checkout", "http_server_request_duration_seconds_count", "http_response_status_code", "http_route", "http_server_request_duration_seconds", false, false, `http_response_status_code=~"5.."`, ""},
		{"catalog", "http_requests_total", "code", "handler", "http_request_duration_seconds", false, false, `code=~"5.."`, ""},
		{"kube-apiserver", "apiserver_request_total", "code", "resource", "apiserver_request_duration_seconds", false, false, `code=~"5.."`, ""},
		{"ingress-nginx", "nginx_ingress_controller_requests", "status", "ingress", "nginx_ingress_controller_request_duration_seconds", false, false, `status=~"5.."`, ""},
		{"coredns", "coredns_dns_responses_total", "rcode", "zone", "coredns_dns_request_duration_seconds", false, false, `rcode="SERVFAIL"`, ""},
		{"kube-scheduler", "scheduler_pod_scheduling_sli_duration_seconds_count", "", "", "scheduler_pod_scheduling_sli_duration_seconds", false, false, "", ""},
	}
	for _, c := range cases {
		src := detectRED(byService[c.service])
		if len(src) != 1 {
			t.Errorf("%s: %d request streams, want 1", c.service, len(src))
			continue
		}
		s := src[0]
		errM := strings.Join(s.errMatchers, ",")
		if s.requests != c.requests || s.status != c.status || s.route != c.route || s.duration != c.duration ||
			s.native != c.native || s.durationNative != c.durNative || errM != c.errMatcher {
			t.Errorf("%s: got requests=%s status=%s route=%s duration=%s native=%v/%v err=%s", c.service,
				s.requests, s.status, s.route, s.duration, s.native, s.durationNative, errM)
		}
	}
	// search: good/total grouped by route, plus a native OpenTelemetry
	// histogram on another job: two streams.
	src := detectRED(byService["search"])
	if len(src) != 2 || src[0].goodSel == "" || src[0].route != "route" || !src[1].native || !src[1].durationNative {
		t.Errorf("search: %+v", src)
	}
	// billing: gRPC counters found in a raw errors/total query, and the
	// counters of a raw error ratio a / b.
	src = detectRED(byService["billing"])
	if len(src) != 2 || src[0].requests != "grpc_server_handled_total" || src[0].status != "grpc_code" ||
		strings.Join(src[0].errMatchers, ",") != `grpc_code!="OK"` ||
		src[1].requests != "billing_requests_total" || src[1].errSel != "billing_errors_total{}" {
		t.Errorf("billing: %+v %+v", src[0], src[1])
	}
	// A counter of no known convention: status from the error matcher.
	src = detectRED(byService["payments.eu-west-1.example.com-very-long-service-name"])
	if len(src) != 1 || src[0].status != "result" || src[0].duration != "" {
		t.Errorf("generic: %+v", src)
	}
	d := RED("catalog", byService["catalog"], Options{})
	js, _ := d.JSON()
	for _, want := range []string{
		`sum(rate(http_requests_total{job=\"catalog\",handler=~\"$handler\"}[$__rate_interval]))`,
		`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"catalog\",handler=~\"$handler\"}[$__rate_interval])))`,
		`sum by (code) (rate(http_requests_total{job=\"catalog\",handler=~\"$handler\",code=~\"5..\"}[$__rate_interval]))`,
	} {
		if !bytes.Contains(js, []byte(want)) {
			t.Errorf("catalog RED lacks %s", want)
		}
	}
}

// TestGolden compares the dashboards of one service and the overview with
// testdata/golden; go test -update rewrites them.
func TestGolden(t *testing.T) {
	slos := exampleSLOs(t)
	byService := groupByService(slos)
	for _, d := range []Dashboard{
		SLODetail("checkout", byService["checkout"], Options{}),
		RED("checkout", byService["checkout"], Options{}),
		Overview(slos, Options{}),
	} {
		got, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", "golden", d.UID+".json")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (go test ./dashboards -run TestGolden -update rewrites it)", d.UID, path)
		}
	}
}

// TestSizeLimit: every dashboard of 1,000 services, and of a service with
// many grouped SLOs, stays under 300 KiB.
func TestSizeLimit(t *testing.T) {
	slos := manySLOs(1000)
	big := make([]slo.SLO, 0, 30)
	for i := range 20 {
		s := testSLOs()[1]
		s.Service, s.Name = "big", "latency-"+string(rune('a'+i%26))+string(rune('a'+i/26))
		big = append(big, s)
	}
	slos = append(slos, big...)
	maxLen, maxUID := 0, ""
	ds := All(slos, Options{})
	if len(ds) != 1+2*1001+1+6 {
		t.Fatalf("%d dashboards", len(ds))
	}
	for i := range ds {
		js, err := ds[i].JSON()
		if err != nil {
			t.Fatal(err)
		}
		if len(js) > maxLen {
			maxLen, maxUID = len(js), ds[i].UID
		}
		if len(js) > 300<<10 {
			t.Errorf("%s: %d bytes, over 300 KiB", ds[i].UID, len(js))
		}
	}
	t.Logf("largest dashboard: %s, %d bytes", maxUID, maxLen)
}
