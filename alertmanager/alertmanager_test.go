package alertmanager

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
)

var update = flag.Bool("update", false, "rewrite golden files")

func baseOptions() Options {
	return Options{
		PagerDutyRoutingKeyFile: "/etc/alertmanager/secrets/pagerduty-routing-key",
		SlackAPIURLFile:         "/etc/alertmanager/secrets/slack-api-url",
		SlackChannel:            "#slo-alerts",
		DeadLetterURL:           "http://127.0.0.1:9095/dead-letter",
	}
}

// testdataSLOs loads the project's example specs.
func testdataSLOs(t testing.TB) []slo.SLO {
	t.Helper()
	res, err := loader.Load(context.Background(), []string{"../testdata/slos"}, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problems.HasErrors() || len(res.SLOs) == 0 {
		t.Fatalf("loading testdata: %d SLOs, problems %v", len(res.SLOs), res.Problems)
	}
	return res.SLOs
}

func ptr[T any](v T) *T { return &v }

func ratioSLO(service, name string, groupBy []string, a slo.Alerting) slo.SLO {
	return slo.SLO{
		Service: service, Name: name, Team: "team-" + service, Objective: 99.9,
		Period: slo.Period{Kind: slo.Rolling, Rolling: 28 * 24 * time.Hour},
		SLI: slo.SLI{Kind: slo.SLIRatio, Ratio: &slo.RatioSLI{
			Errors: `http_requests_total{job="` + service + `",code=~"5.."}`,
			Total:  `http_requests_total{job="` + service + `"}`,
		}},
		GroupBy:  groupBy,
		Alerting: a,
	}
}

// customTiers replace the defaults: an extra burst tier, a tier name with
// regex metacharacters and a tier without class (a ticket, as in rules).
func customTiers() []slo.Tier {
	h := time.Hour
	return []slo.Tier{
		{Name: "page-burst", Class: "page", Long: 30 * time.Minute, Short: 5 * time.Minute, BudgetFraction: 0.01, Severity: "critical"},
		{Name: "page-fast", Class: "page", Long: h, Short: 5 * time.Minute, BudgetFraction: 0.02, Severity: "critical"},
		{Name: "ticket.daily", Class: "ticket", Long: 24 * h, Short: 2 * h, BudgetFraction: 0.1, Severity: "warning"},
		{Name: "ticket-weekly", Long: 7 * 24 * h, Short: 12 * h, BudgetFraction: 0.25, Severity: "info"},
	}
}

// customSLOs exercise per-SLO overrides: one SLO orders two tiers the
// other way round (its page-fast is faster than page-burst), another SLO
// shares its name in another service, one replaces the tier list, one
// pages on an exhausted budget, one has its alerts off.
func customSLOs() []slo.SLO {
	return []slo.SLO{
		ratioSLO("shop", "availability", []string{"route"}, slo.Alerting{}),
		ratioSLO("shop", "latency", nil, slo.Alerting{Tiers: map[string]slo.TierOverride{
			"page-fast": {Long: ptr(20 * time.Minute)},
		}}),
		ratioSLO("search", "latency", []string{"region"}, slo.Alerting{Name: "Search SLO",
			Tiers: map[string]slo.TierOverride{"ticket.daily": {Severity: ptr("critical")}}}),
		ratioSLO("pay", "budget", nil, slo.Alerting{BudgetExhausted: slo.SimpleAlert{Severity: "critical"}, Absent: slo.AbsentAlert{Disabled: true}}),
		ratioSLO("quiet", "off", nil, slo.Alerting{Disabled: true}),
		ratioSLO("imported", "openslo", nil, slo.Alerting{TierSet: []slo.Tier{
			{Name: "burn-2h", Class: "page", Long: 2 * time.Hour, Short: 10 * time.Minute, Factor: 10, Severity: "error"},
			{Name: "burn-12h", Class: "ticket", Long: 12 * time.Hour, Short: time.Hour, Factor: 2, Severity: "warning"},
		}}),
	}
}

func customOptions() Options {
	o := baseOptions()
	o.Tiers = customTiers()
	o.PagerDutyURL = "https://events.eu.pagerduty.com/v2/enqueue"
	o.GroupWait, o.GroupInterval, o.RepeatInterval, o.TicketRepeatInterval = 10*time.Second, time.Minute, 2*time.Hour, 12*time.Hour
	return o
}

func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		slos []slo.SLO
		opts Options
	}{
		{"testdata-slos", testdataSLOs(t), baseOptions()},
		{"custom-tiers", customSLOs(), customOptions()},
		{"no-slos", nil, baseOptions()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files, err := Generate(c.slos, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != 1 || files[0].Path != "alertmanager/slokeeper.yml" {
				t.Fatalf("files: %+v", files)
			}
			golden := filepath.Join("testdata", c.name+".yml")
			if *update {
				if err := os.WriteFile(golden, files[0].Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(files[0].Data, want) {
				t.Errorf("%s differs from the generated file (run with -update and review the diff)", golden)
			}
			// The file decodes, strictly, into what Build returned.
			cfg, err := Build(c.slos, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got Config
			dec := yaml.NewDecoder(bytes.NewReader(files[0].Data))
			dec.KnownFields(true)
			if err := dec.Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, cfg) {
				t.Errorf("decoded config differs from Build's:\n%+v\n%+v", got, *cfg)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	slos := append(testdataSLOs(t), customSLOs()...)
	opts := baseOptions()
	first, err := Generate(slos, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := slices.Clone(slos)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again, err := Generate(shuffled, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first[0].Data, again[0].Data) {
			t.Fatal("output depends on the order of the SLOs")
		}
	}
}

func TestSecretsAreReferencedNotInlined(t *testing.T) {
	dir := t.TempDir()
	keyFile, urlFile := filepath.Join(dir, "pd-key"), filepath.Join(dir, "slack-url")
	const key, hook = "R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY12", "https://hooks.slack.com/services/T0/B0/S3CR3T"
	for f, v := range map[string]string{keyFile: key, urlFile: hook} {
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts := baseOptions()
	opts.PagerDutyRoutingKeyFile, opts.SlackAPIURLFile = keyFile, urlFile
	files, err := Generate(testdataSLOs(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	data := string(files[0].Data)
	for _, secret := range []string{key, hook, "S3CR3T"} {
		if strings.Contains(data, secret) {
			t.Errorf("the generated config contains the secret %q", secret)
		}
	}
	for _, ref := range []string{"routing_key_file: " + keyFile, "api_url_file: " + urlFile} {
		if !strings.Contains(data, ref) {
			t.Errorf("the generated config lacks %q", ref)
		}
	}
	for _, inline := range []string{"routing_key:", "service_key:", "api_url:"} {
		if strings.Contains(data, inline) {
			t.Errorf("the generated config has an inline secret field %q", inline)
		}
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name    string
		change  func(*Options)
		wantErr string
	}{
		{"valid", func(*Options) {}, ""},
		{"no routing key file", func(o *Options) { o.PagerDutyRoutingKeyFile = "" }, "PagerDuty routing key file: required"},
		{"no slack URL file", func(o *Options) { o.SlackAPIURLFile = "" }, "Slack API URL file: required"},
		{"file name with newline", func(o *Options) { o.SlackAPIURLFile = "a\nb" }, "not a file name"},
		{"no dead letter", func(o *Options) { o.DeadLetterURL = "" }, "dead-letter URL: required"},
		{"relative dead letter", func(o *Options) { o.DeadLetterURL = "/dead-letter" }, "absolute http or https"},
		{"ftp dead letter", func(o *Options) { o.DeadLetterURL = "ftp://user:hunter2@host/x" }, "absolute http or https"},
		{"unparsable dead letter", func(o *Options) { o.DeadLetterURL = "http://user:hunter2@[::1/x" }, "not a valid URL"},
		{"bad PagerDuty URL", func(o *Options) { o.PagerDutyURL = "events.pagerduty.com" }, "PagerDuty URL"},
		{"channel with newline", func(o *Options) { o.SlackChannel = "#a\n#b" }, "one line"},
		{"negative wait", func(o *Options) { o.GroupWait = -time.Second }, "group wait"},
		{"sub-millisecond interval", func(o *Options) { o.GroupInterval = time.Microsecond }, "group interval"},
		{"empty page severity", func(o *Options) { o.PageSeverities = []string{""} }, "page severities"},
		{"unnamed tier", func(o *Options) { o.Tiers = []slo.Tier{{Class: "page", Long: time.Hour, Short: 5 * time.Minute}} }, "a tier has no name"},
	}
	slos := []slo.SLO{ratioSLO("a", "b", nil, slo.Alerting{})}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := baseOptions()
			c.change(&o)
			_, err := Generate(slos, o)
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want %q", err, c.wantErr)
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Fatalf("error leaks a password: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Build(nil, baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Route
	if r.GroupWait != "30s" || r.GroupInterval != "5m" || r.RepeatInterval != "4h" {
		t.Errorf("timings %s %s %s", r.GroupWait, r.GroupInterval, r.RepeatInterval)
	}
	if r.Receiver != ReceiverDeadLetter || len(r.Routes) != 1 || !slices.Equal(r.Routes[0].GroupBy, []string{"service", "slo"}) {
		t.Errorf("route %+v", r)
	}
	for _, c := range r.Routes[0].Routes {
		if c.Receiver == ReceiverSlack && c.RepeatInterval != "1d" {
			t.Errorf("slack route repeats every %q, want 1d", c.RepeatInterval)
		}
	}
	if len(cfg.InhibitRules) != 0 {
		t.Errorf("inhibit rules without SLOs: %+v", cfg.InhibitRules)
	}
	// The page severities default to the page tiers' (critical), and
	// follow custom tiers.
	o := baseOptions()
	o.Tiers = []slo.Tier{{Name: "p", Class: "page", Severity: "sev1", Long: time.Hour, Short: 5 * time.Minute}, {Name: "q", Class: "page", Long: 6 * time.Hour, Short: 30 * time.Minute}}
	cfg, err = Build(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Route.Routes[0].Routes[2].Matchers; !slices.Contains(got, `severity=~"sev1|critical"`) {
		t.Errorf("page severities route matchers %v", got)
	}
}

// --- A model of Alertmanager's routing and inhibition, to check the
// generated tree against every alert the rules package generates. The
// amtool and live tests check the same with the real Alertmanager.

var matcherRE = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"$`)

func parseMatcher(t testing.TB, s string) func(map[string]string) bool {
	t.Helper()
	m := matcherRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("matcher %q does not parse", s)
	}
	name, op := m[1], m[2]
	val := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(m[3])
	switch op {
	case "=":
		return func(l map[string]string) bool { return l[name] == val }
	case "!=":
		return func(l map[string]string) bool { return l[name] != val }
	}
	re, err := regexp.Compile("^(?:" + val + ")$")
	if err != nil {
		t.Fatalf("matcher %q: %v", s, err)
	}
	if op == "=~" {
		return func(l map[string]string) bool { return re.MatchString(l[name]) }
	}
	return func(l map[string]string) bool { return !re.MatchString(l[name]) }
}

func matchesAll(t testing.TB, ms []string, l map[string]string) bool {
	for _, m := range ms {
		if !parseMatcher(t, m)(l) {
			return false
		}
	}
	return true
}

// route returns the receiver of an alert: the first matching child, recursively.
func route(t testing.TB, r Route, l map[string]string) string {
	for _, c := range r.Routes {
		if matchesAll(t, c.Matchers, l) {
			return route(t, c, l)
		}
	}
	return r.Receiver
}

// inhibited says whether target is muted while every alert of firing fires.
func inhibited(t testing.TB, cfg *Config, target map[string]string, firing []map[string]string) bool {
	for _, r := range cfg.InhibitRules {
		if !matchesAll(t, r.TargetMatchers, target) {
			continue
		}
		for _, src := range firing {
			if reflect.DeepEqual(src, target) || !matchesAll(t, r.SourceMatchers, src) {
				continue
			}
			equal := true
			for _, e := range r.Equal {
				if src[e] != target[e] {
					equal = false
				}
			}
			if equal {
				return true
			}
		}
	}
	return false
}

// alert is one alert of the generated rules, with its labels as
// Prometheus sends them (the groupBy labels come from the series).
type alert struct {
	slo    *slo.SLO
	tier   *slo.Tier // nil for budget-exhausted and absent-data alerts
	labels map[string]string
}

func generatedAlerts(t testing.TB, slos []slo.SLO, tiers []slo.Tier, groupValue string) []alert {
	t.Helper()
	out, err := rules.Generate(slos, rules.Options{Tiers: tiers})
	if err != nil {
		t.Fatal(err)
	}
	var alerts []alert
	for _, svc := range out.Services {
		for _, g := range svc.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				l := map[string]string{"alertname": r.Alert}
				for k, v := range r.Labels {
					l[k] = v
				}
				a := alert{labels: l}
				for i := range slos {
					if slos[i].Service == l["service"] && slos[i].Name == l["slo"] {
						a.slo = &slos[i]
					}
				}
				if a.slo == nil {
					t.Fatalf("alert %v of no SLO", l)
				}
				for _, gb := range a.slo.GroupBy {
					l[gb] = groupValue
				}
				if name, ok := l["slo_tier"]; ok {
					base := tiers
					if base == nil {
						base = slo.DefaultTiers()
					}
					for _, tr := range a.slo.Alerting.ResolveTiers(base) {
						if tr.Name == name {
							a.tier = &tr
						}
					}
				}
				if _, ok := l["slo_tier"]; ok && a.tier == nil {
					t.Fatalf("alert %v of no tier", l)
				}
				alerts = append(alerts, a)
			}
		}
	}
	return alerts
}

// wantReceiver is the routing requirement: page-class tiers page, ticket
// tiers go to Slack, tierless alerts by severity.
func wantReceiver(a alert, pageSeverities []string) string {
	switch {
	case a.tier != nil && a.labels["slo_class"] == "page":
		return ReceiverPagerDuty
	case a.tier != nil:
		return ReceiverSlack
	case slices.Contains(pageSeverities, a.labels["severity"]):
		return ReceiverPagerDuty
	}
	return ReceiverSlack
}

// wantFaster is the inhibition requirement between two tiers of one SLO:
// page before ticket, then the shorter long window.
func wantFaster(a, b *slo.Tier) bool {
	ca, cb := a.Class == "page", b.Class == "page"
	if ca != cb {
		return ca
	}
	return a.Long < b.Long
}

func TestRoutingAndInhibition(t *testing.T) {
	cases := []struct {
		name  string
		slos  []slo.SLO
		opts  Options
		tiers []slo.Tier
		pages []string
	}{
		{"testdata", testdataSLOs(t), baseOptions(), nil, []string{"critical"}},
		{"custom", customSLOs(), customOptions(), customTiers(), []string{"critical"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Build(c.slos, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			alerts := generatedAlerts(t, c.slos, c.tiers, "x")
			seen := map[string]int{}
			for _, a := range alerts {
				got, want := route(t, cfg.Route, a.labels), wantReceiver(a, c.pages)
				seen[got]++
				if got != want {
					t.Errorf("alert %v routed to %s, want %s", a.labels, got, want)
				}
			}
			if seen[ReceiverPagerDuty] == 0 || seen[ReceiverSlack] == 0 {
				t.Errorf("receivers used: %v", seen)
			}
			// Pairwise: within an SLO a tier mutes another exactly when it is
			// faster; the budget-exhausted alert mutes ticket tiers only.
			// Nothing mutes another SLO's alerts, or another groupBy value's.
			other := generatedAlerts(t, c.slos, c.tiers, "y")
			var pairs, muted int
			for i, src := range alerts {
				for j, dst := range alerts {
					if i == j {
						continue
					}
					got := inhibited(t, cfg, dst.labels, []map[string]string{src.labels})
					want := false
					if src.slo == dst.slo && dst.tier != nil {
						switch {
						case src.tier != nil:
							want = wantFaster(src.tier, dst.tier)
						case strings.HasSuffix(src.labels["alertname"], "ErrorBudgetExhausted"):
							want = dst.labels["slo_class"] == "ticket"
						}
					}
					pairs++
					if want {
						muted++
					}
					if got != want {
						t.Errorf("%v mutes %v: %v, want %v", src.labels, dst.labels, got, want)
					}
					if len(src.slo.GroupBy) > 0 && inhibited(t, cfg, other[j].labels, []map[string]string{src.labels}) {
						t.Errorf("%v mutes the alert of another %v: %v", src.labels, src.slo.GroupBy, other[j].labels)
					}
				}
			}
			if muted == 0 {
				t.Fatalf("no inhibition among %d pairs", pairs)
			}
		})
	}
}

func TestCustomTierRules(t *testing.T) {
	cfg, err := Build(customSLOs(), customOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range cfg.InhibitRules {
		got = append(got, strings.Join(r.SourceMatchers, ",")+" -> "+strings.Join(r.TargetMatchers, ","))
	}
	want := []string{
		// page-burst mutes page-fast for every SLO but those named latency
		// (shop/latency orders them the other way round).
		`slo=~".+",slo_tier="page-burst" -> slo=~".+",slo_tier=~"ticket\\.daily|ticket-weekly"`,
		`slo=~".+",slo!~"latency",slo_tier="page-burst" -> slo=~".+",slo!~"latency",slo_tier="page-fast"`,
		`slo=~".+",slo_tier="page-fast" -> slo=~".+",slo_tier=~"ticket\\.daily|ticket-weekly"`,
		`slo=~".+",slo_tier="burn-2h" -> slo=~".+",slo_tier="burn-12h"`,
		`slo=~".+",slo_tier="ticket.daily" -> slo=~".+",slo_tier="ticket-weekly"`,
		// search/latency shares the excluded name: a rule of its own.
		`service="search",slo="latency",slo_tier="page-burst" -> service="search",slo="latency",slo_tier="page-fast"`,
		`service="shop",slo="latency",slo_tier="page-fast" -> service="shop",slo="latency",slo_tier="page-burst"`,
		`alertname=~".*ErrorBudgetExhausted",slo=~".+" -> slo_class="ticket"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("inhibit rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, r := range cfg.InhibitRules {
		if !slices.Equal(r.Equal, []string{"service", "slo", "region", "route"}) {
			t.Errorf("equal %v", r.Equal)
		}
	}

	o := customOptions()
	o.KeepTicketsWhenBudgetExhausted = true
	cfg, err = Build(customSLOs(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cfg.InhibitRules {
		if strings.Contains(strings.Join(r.SourceMatchers, ","), "ErrorBudgetExhausted") {
			t.Errorf("budget-exhausted inhibition kept: %+v", r)
		}
	}
}

func TestUnmatchedAlertsReachTheDeadLetter(t *testing.T) {
	cfg, err := Build(testdataSLOs(t), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []map[string]string{
		{"alertname": "Watchdog"},
		{"alertname": "HighLatency", "slo": "availability", "service": "checkout"},
		{"alertname": "SLOErrorBudgetBurn", "service": "checkout"},
		{"alertname": "SLOErrorBudgetBurn", "slo": "availability", "service": "checkout", "slo_class": "info"},
	} {
		if got := route(t, cfg.Route, l); got != ReceiverDeadLetter {
			t.Errorf("%v routed to %s", l, got)
		}
	}
}
