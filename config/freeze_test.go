package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// parseFreeze decodes the freeze: section of src as Parse will.
func parseFreeze(t *testing.T, src string) (*Freeze, slo.Problems) {
	t.Helper()
	var ps slo.Problems
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(src), &root); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	d := ynode.NewDecoder("c.yml", &ps)
	m := d.Map(root.Content[0], "")
	var f *Freeze
	if fm := m.Sub("freeze"); fm != nil {
		f = ParseFreezeSection(fm, "/etc/slokeeper")
	}
	m.Done()
	ps.Sort()
	return f, ps
}

const fullFreeze = `freeze:
  default_policy: standard
  services:
    payments: strict
  policies:
  - name: standard
  - name: strict
    slos: [availability]
    freeze_at: -5%
    warn_at: 50%
    lift_at: 20%
    freeze_on_page_alert: true
    pagerduty:
      service_ids: [PABC123, PDEF456]
      urgencies: [High]
      priorities: [P1, P2]
    schedules:
    - name: black-friday
      reason: Peak traffic
      time_zone: America/New_York
      start: 2025-11-27
      end: 2025-12-02T06:00
    - name: weekend
      time_zone: Europe/Berlin
      weekly: {days: [fri], start: "16:00", duration: 64h}
    - name: nightly
      time_zone: Europe/Berlin
      weekly: {days: [weekdays], start: "22:00", duration: 8h}
    - name: year-end
      time_zone: Europe/Berlin
      yearly: {from: 12-20, to: 01-03}
    - name: offsets
      start: 2026-03-01T00:00:00Z
      end: 2026-03-02T00:00:00+01:00
    exemptions: [P0, security, hotfix]
  - name: quiet
    warn_at: off
    exemptions: []
  api:
    token_file: secrets/api-token
  notifications:
    slack:
      token_env: SLACK_TOKEN
      channel: C0123456789
    pagerduty:
      routing_key_file: /run/secrets/pd-routing
      api_token_env: PD_API_TOKEN
      poll_interval: 2m
    file:
      path: notifications.jsonl
  ui_url: https://slokeeper.example.com
  dashboard_url: https://grafana.example.com/d/slo-{service}
`

func TestFreezeSection(t *testing.T) {
	f, ps := parseFreeze(t, fullFreeze)
	if len(ps) != 0 {
		t.Fatalf("problems:\n%v", ps)
	}
	std := f.Policies["standard"]
	if std.FreezeAt != 0 || std.WarnAt != 0.25 || std.LiftAt != 0.10 || !slices.Equal(std.Exemptions, []string{"p0", "security"}) || std.PagerDuty != nil {
		t.Errorf("standard = %+v", std)
	}
	s := f.Policies["strict"]
	if s.FreezeAt != -0.05 || s.WarnAt != 0.5 || s.LiftAt != 0.2 || !s.FreezeOnPageAlert || !slices.Equal(s.SLOs, []string{"availability"}) {
		t.Errorf("strict thresholds = %+v", s)
	}
	if r := s.PagerDuty; r == nil || !slices.Equal(r.ServiceIDs, []string{"PABC123", "PDEF456"}) || !slices.Equal(r.Urgencies, []string{"high"}) || !slices.Equal(r.Priorities, []string{"P1", "P2"}) {
		t.Errorf("pagerduty = %+v", s.PagerDuty)
	}
	if !slices.Equal(s.Exemptions, []string{"p0", "security", "hotfix"}) {
		t.Errorf("exemptions = %v", s.Exemptions)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	if q := f.Policies["quiet"]; !q.NoWarning || q.Exemptions == nil || len(q.Exemptions) != 0 {
		t.Errorf("quiet = %+v", q)
	}
	if len(s.Schedules) != 5 {
		t.Fatalf("schedules = %+v", s.Schedules)
	}
	ny, _ := time.LoadLocation("America/New_York")
	bf := s.Schedules[0]
	if bf.Kind != freeze.ScheduleRange || bf.Reason != "Peak traffic" || !bf.Start.Equal(time.Date(2025, 11, 27, 0, 0, 0, 0, ny)) || !bf.End.Equal(time.Date(2025, 12, 2, 6, 0, 0, 0, ny)) {
		t.Errorf("black friday = %+v", bf)
	}
	we := s.Schedules[1]
	if we.Kind != freeze.ScheduleWeekly || we.Location.String() != "Europe/Berlin" || !slices.Equal(we.Days, []time.Weekday{time.Friday}) || we.At != (freeze.Clock{Hour: 16}) || we.Duration != 64*time.Hour {
		t.Errorf("weekend = %+v", we)
	}
	if n := s.Schedules[2]; len(n.Days) != 5 {
		t.Errorf("weekdays = %v", n.Days)
	}
	ye := s.Schedules[3]
	if ye.From != (freeze.MonthDay{Month: time.December, Day: 20}) || ye.To != (freeze.MonthDay{Month: time.January, Day: 3}) {
		t.Errorf("year end = %+v", ye)
	}
	if on, _ := ye.Active(time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)); !on {
		t.Error("year-end schedule not active on Jan 2")
	}
	if off := s.Schedules[4]; !off.End.Equal(time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("offsets = %+v", off)
	}
	if f.Default != "standard" || f.ServicePolicy["payments"] != "strict" {
		t.Errorf("default %q services %v", f.Default, f.ServicePolicy)
	}
	if f.APIToken != (SecretRef{File: "/etc/slokeeper/secrets/api-token"}) {
		t.Errorf("api token = %v", f.APIToken)
	}
	n := f.Notifications
	if n.Slack == nil || n.Slack.Token.Env != "SLACK_TOKEN" || n.Slack.Channel != "C0123456789" {
		t.Errorf("slack = %+v", n.Slack)
	}
	if n.PagerDuty == nil || n.PagerDuty.PollInterval != 2*time.Minute || n.PagerDuty.RoutingKey.File != "/run/secrets/pd-routing" || n.PagerDuty.APIToken.Env != "PD_API_TOKEN" {
		t.Errorf("pagerduty = %+v", n.PagerDuty)
	}
	if n.File == nil || n.File.Path != "/etc/slokeeper/notifications.jsonl" {
		t.Errorf("file = %+v", n.File)
	}
	if f.UIURL != "https://slokeeper.example.com" || f.DashboardURL != "https://grafana.example.com/d/slo-{service}" {
		t.Errorf("urls = %q %q", f.UIURL, f.DashboardURL)
	}
	ps2 := f.PolicySet()
	got, probs := ps2.Resolve([]*slo.SLO{{Service: "payments", Name: "a"}, {Service: "web", Name: "a"}})
	if len(probs) != 0 || got["payments"].Name != "strict" || got["web"].Name != "standard" {
		t.Errorf("resolve = %v %v", got, probs)
	}
}

func TestFreezeSectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"percent without sign", "freeze:\n  policies:\n  - name: p\n    warn_at: 0.25\n", []string{
			`c.yml:4:14: freeze.policies[0].warn_at: write a percentage with a % sign, e.g. "25%" (a bare 0.25 is ambiguous)`,
		}},
		{"thresholds out of order", "freeze:\n  policies:\n  - name: p\n    freeze_at: 10%\n    lift_at: 5%\n", []string{
			`c.yml:5:14: freeze.policies[0].lift_at: lift_at (5%) must be above freeze_at (10%)`,
		}},
		{"warn below freeze", "freeze:\n  policies:\n  - name: p\n    freeze_at: 30%\n    lift_at: 40%\n", []string{
			`c.yml:4:16: freeze.policies[0].freeze_at: warn_at (25%) must be above freeze_at (30%), or off`,
		}},
		{"out of range", "freeze:\n  policies:\n  - name: p\n    lift_at: 120%\n    warn_at: -5%\n", []string{
			`c.yml:4:14: freeze.policies[0].lift_at: 120% is out of range [0%, 100%]`,
			`c.yml:5:14: freeze.policies[0].warn_at: -5% is out of range [0%, 100%]`,
		}},
		{"unknown field with suggestion", "freeze:\n  policies:\n  - name: p\n    lift_ta: 20%\n", []string{
			`c.yml:4:5: freeze.policies[0].lift_ta: unknown field "lift_ta" (did you mean "lift_at"?)`,
		}},
		{"unknown policy references", "freeze:\n  default_policy: strcit\n  services: {web: nope}\n  policies:\n  - name: strict\n", []string{
			`c.yml:2:19: freeze.default_policy: unknown policy "strcit" (defined: "strict")`,
			`c.yml:3:19: freeze.services.web: unknown policy "nope" (defined: "strict")`,
		}},
		{"duplicate policy", "freeze:\n  policies:\n  - name: p\n  - name: p\n", []string{
			`c.yml:4:11: freeze.policies[1].name: policy "p" is defined twice`,
		}},
		{"bad time zone", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      time_zone: Europe/Berlim\n      yearly: {from: 12-20, to: 01-03}\n", []string{
			`c.yml:6:18: freeze.policies[0].schedules[0].time_zone: unknown time zone "Europe/Berlim"`,
		}},
		{"schedule syntax", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      time_zone: UTC\n      weekly: {days: [fri, funday], start: '25:00', duration: 8d}\n", []string{
			`c.yml:7:22: freeze.policies[0].schedules[0].weekly.days: unknown day "funday"`,
			`c.yml:7:44: freeze.policies[0].schedules[0].weekly.start: "25:00" is not a time of day`,
			`c.yml:7:63: freeze.policies[0].schedules[0].weekly.duration: must be positive and at most 7d`,
		}},
		{"schedule kinds", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      time_zone: UTC\n      start: 2025-01-01\n      yearly: {from: 01-01, to: 01-02}\n", []string{
			`c.yml:5:7: freeze.policies[0].schedules[0]: a schedule needs exactly one of start and end`,
		}},
		{"range without zone", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      start: 2025-01-02\n      end: 2025-01-01\n", []string{
			`c.yml:5:7: freeze.policies[0].schedules[0].time_zone: required unless start and end carry a UTC offset`,
		}},
		{"range reversed", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      time_zone: UTC\n      start: 2025-01-02\n      end: 2025-01-01T23:00\n", []string{
			`c.yml:8:12: freeze.policies[0].schedules[0].end: end must be after start`,
		}},
		{"bad yearly", "freeze:\n  policies:\n  - name: p\n    schedules:\n    - name: s\n      time_zone: UTC\n      yearly: {from: 02-30, to: Jan 3}\n", []string{
			`c.yml:7:22: freeze.policies[0].schedules[0].yearly.from: "02-30" is not a day of the year`,
			`c.yml:7:33: freeze.policies[0].schedules[0].yearly.to: "Jan 3" is not a day of the year`,
		}},
		{"literal secrets", "freeze:\n  api: {token: hunter2}\n  notifications:\n    slack: {token: xoxb-1, channel: C1}\n", []string{
			`c.yml:2:16: freeze.api.token: secrets are not written in the configuration: use token_file or token_env`,
			`c.yml:4:12: freeze.notifications.slack.token_file: exactly one of a bot token`,
			`c.yml:4:20: freeze.notifications.slack.token: secrets are not written in the configuration`,
		}},
		{"exclusive secrets", "freeze:\n  api: {token_file: a, token_env: B}\n", []string{
			`c.yml:2:35: freeze.api.token_env: token_file and token_env are exclusive`,
		}},
		{"pagerduty source needs a token", "freeze:\n  policies:\n  - name: p\n    pagerduty: {service_ids: [P1], urgencies: [urgent]}\n", []string{
			`c.yml:4:16: freeze.policies[0].pagerduty: policy "p" reads PagerDuty incidents: notifications.pagerduty.api_token_file or api_token_env is required`,
			`c.yml:4:47: freeze.policies[0].pagerduty.urgencies: unknown urgency "urgent" (high or low)`,
		}},
		{"notifiers", "freeze:\n  notifications:\n    slack: {webhook_url_file: w, channel: C1}\n    pagerduty: {poll_interval: 5s}\n    file: {}\n", []string{
			`c.yml:3:43: freeze.notifications.slack.channel: an incoming webhook posts to its own channel`,
			`c.yml:4:16: freeze.notifications.pagerduty.routing_key_file: set routing_key_file or routing_key_env`,
			`c.yml:4:32: freeze.notifications.pagerduty.poll_interval: at least 10s`,
			`c.yml:5:11: freeze.notifications.file.path: required field is missing`,
		}},
		{"storage path", "freeze:\n  storage_path: /var/lib\n", []string{
			`c.yml:2:17: freeze.storage_path: the storage path is the --storage.path command-line flag`,
		}},
		{"urls", "freeze:\n  ui_url: slokeeper.local\n  dashboard_url: 'ftp://g/{service}'\n", []string{
			`c.yml:2:11: freeze.ui_url: "slokeeper.local" is not an http(s) URL`,
			`c.yml:3:18: freeze.dashboard_url: "ftp://g/{service}" is not an http(s) URL`,
		}},
		{"missing names", "freeze:\n  policies:\n  - freeze_at: 0%\n    schedules:\n    - time_zone: UTC\n      yearly: {from: 01-01, to: 01-02}\n", []string{
			`c.yml:3:5: freeze.policies[0].name: required field is missing`,
			`c.yml:5:7: freeze.policies[0].schedules[0].name: required field is missing`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ps := parseFreeze(t, tc.in)
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tc.want), ps)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(ps[i].String(), w) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, ps[i], w)
				}
			}
		})
	}
}

func TestSecretRefLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tok")
	if err := os.WriteFile(file, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLOKEEPER_TEST_TOKEN", " from-env ")
	for _, tc := range []struct {
		ref     SecretRef
		want    string
		wantErr bool
	}{
		{SecretRef{File: file}, "s3cret", false},
		{SecretRef{Env: "SLOKEEPER_TEST_TOKEN"}, "from-env", false},
		{SecretRef{Env: "SLOKEEPER_TEST_UNSET_VARIABLE"}, "", true},
		{SecretRef{File: filepath.Join(dir, "missing")}, "", true},
		{SecretRef{File: empty}, "", true},
		{SecretRef{}, "", true},
	} {
		got, err := tc.ref.Load()
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%v.Load() = %q, %v", tc.ref, got, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
	if s := (SecretRef{File: file}).String(); s != "file:"+file || strings.Contains(s, "s3cret") {
		t.Errorf("String() = %q", s)
	}
}
