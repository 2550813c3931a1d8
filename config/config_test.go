package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestExample(t *testing.T) {
	c, err := Load("../deploy/examples/slokeeper.yml")
	if err != nil {
		t.Fatalf("example configuration: %v", err)
	}
	if c.Rules.Mode != ModeFiles || c.Rules.ReloadURL != "http://localhost:9090/-/reload" {
		t.Errorf("rules = %+v", c.Rules)
	}
	if len(c.Tiers) != 4 || c.Tiers[0].Long != time.Hour || c.Tiers[3].BudgetFraction != 0.10 {
		t.Errorf("tiers = %+v", c.Tiers)
	}
	if c.Intervals.BudgetRead != 30*time.Second || c.Intervals.Resync != 5*time.Minute {
		t.Errorf("intervals = %+v", c.Intervals)
	}
	want := filepath.Join("..", "deploy", "examples", "../../testdata/slos/apps")
	if c.Specs[0] != want {
		t.Errorf("specs[0] = %q, want %q", c.Specs[0], want)
	}
	if _, err := c.Prometheus.HTTP.ClientConfig(); err != nil {
		t.Errorf("client config: %v", err)
	}
}

func TestGrafana(t *testing.T) {
	c, err := Parse("/etc/s.yml", []byte("specs: [slos]\nprometheus: {url: 'http://p:9090'}\nrules: {mode: files, directory: out}\ngrafana: {url: 'http://g:3000', token_file: tok, folder: F, folder_uid: f, org_id: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Grafana{URL: "http://g:3000", TokenFile: "/etc/tok", Folder: "F", FolderUID: "f", OrgID: 2}
	if c.Grafana == nil || *c.Grafana != want {
		t.Errorf("grafana = %+v, want %+v", c.Grafana, want)
	}
}

func TestMinimalDefaults(t *testing.T) {
	c, err := Parse("/etc/s.yml", []byte("specs: [slos]\nprometheus: {url: 'http://p:9090'}\nrules: {mode: files, directory: out}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Specs[0] != "/etc/slos" || c.Rules.Directory != "/etc/out" {
		t.Errorf("paths not resolved against the file's directory: %v %q", c.Specs, c.Rules.Directory)
	}
	if c.Intervals.Resync != DefaultResync || c.Intervals.BudgetRead != DefaultBudgetRead || c.Prometheus.Timeout != DefaultQueryTimeout {
		t.Errorf("defaults not applied: %+v", c)
	}
	if c.Tiers != nil {
		t.Errorf("tiers = %v, want nil (generator defaults)", c.Tiers)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"c.yml:1:1: the configuration is empty"}},
		{"syntax", "specs: [a\n", []string{"c.yml:1:1: invalid YAML"}},
		{"missing", "specs: []\n", []string{
			"c.yml:1:8: specs: at least one spec path",
		}},
		{"url but no rules", "specs: [a]\nprometheus: {url: 'http://p'}\n", []string{
			"c.yml:1:1: rules: required field is missing",
		}},
		{"embedded with rules", "specs: [a]\nrules: {mode: files, directory: d}\n", []string{
			"c.yml:2:8: rules: the embedded engine evaluates the rules itself",
		}},
		{"embedded and url", "specs: [a]\nprometheus: {url: 'http://p', embedded: {}}\nrules: {mode: files, directory: d}\n", []string{
			"prometheus.embedded: embedded and url exclude each other",
		}},
		{"embedded scrape configs", "specs: [a]\nprometheus:\n  embedded:\n    retention: 1h\n    scrape_configs:\n    - {job_name: 'a b', static_configs: [{targets: ['']}], scrape_interval: 5s, scrape_timeout: 10s, scheme: ftp, metrics_path: x}\n", []string{
			"c.yml:4:16: prometheus.embedded.retention: must be at least 2h",
			"prometheus.embedded.scrape_configs[0].job_name: \"a b\" is not a valid job name",
			"scrape_configs[0].scrape_timeout: must not exceed scrape_interval",
			"scrape_configs[0].scheme: must be http or https",
			"scrape_configs[0].metrics_path: must start with /",
		}},
		{"reports", "specs: [a]\nreports: {schedule: 'every monday', time_zone: Mars/Base, keep: 0, span: 1m, slak: true}\n", []string{
			"reports.schedule: invalid cron expression",
			"reports.time_zone: unknown time zone \"Mars/Base\"",
			"reports.keep: must be from 1 to 1000",
			"reports.span: must be from 1h to 90d",
			`reports.slak: unknown field "slak" (did you mean "slack"?)`,
		}},
		{"web", "specs: [a]\nweb: {external_url: 'ftp://x'}\n", []string{
			`web.external_url: "ftp://x" is not an http(s) URL`,
		}},
		{"unknown and typo", "specs: [a]\nprometheus:\n  url: http://p\n  timout: 5s\nrules: {mode: files, directory: d}\n", []string{
			`c.yml:4:3: prometheus.timout: unknown field "timout" (did you mean "timeout"?)`,
		}},
		{"bad url and mode", "specs: [a]\nprometheus:\n  url: localhost:9090\nrules:\n  mode: file\n", []string{
			`c.yml:3:8: prometheus.url: "localhost:9090" is not an http(s) URL`,
			`c.yml:5:9: rules.mode: unknown mode "file"`,
		}},
		{"secret in file", "specs: [a]\nprometheus:\n  url: http://p\n  bearer_token: abc\n  basic_auth: {username: u, password: hunter2}\nrules: {mode: files, directory: d}\n", []string{
			"c.yml:4:17: prometheus.bearer_token: tokens are not written in the configuration",
			"c.yml:5:3", // basic_auth exclusive with... no: password not allowed
		}},
		{"credentials in url", "specs: [a]\nprometheus: {url: 'http://u:p@h'}\nrules: {mode: files, directory: d}\n", []string{
			"prometheus.url: credentials in the URL are not allowed",
		}},
		{"mimir without block", "specs: [a]\nprometheus: {url: 'http://p'}\nrules: {mode: mimir}\n", []string{
			"rules.mimir: required in mimir mode",
		}},
		{"intervals", "specs: [a]\nprometheus: {url: 'http://p'}\nrules: {mode: files, directory: d, long_interval: 7m}\nintervals: {resync: 0s, budget_read: soon}\n", []string{
			"c.yml:3:51: rules.long_interval: must be whole minutes dividing 1h",
			"c.yml:4:21: intervals.resync: must be positive",
			`c.yml:4:38: intervals.budget_read: invalid duration "soon"`,
		}},
		{"grafana", "specs: [a]\nprometheus: {url: 'http://p'}\nrules: {mode: files, directory: d}\ngrafana: {token: hunter2, token_file: t, token_env: T, org_id: -1}\n", []string{
			"grafana.url: required field is missing",
			"grafana.token: tokens are not written in the configuration",
			"grafana.token_env: token_file and token_env are exclusive",
			"grafana.org_id: must not be negative",
		}},
		{"tiers", "specs: [a]\nprometheus: {url: 'http://p'}\nrules: {mode: files, directory: d}\nalerting:\n  tiers:\n  - {name: x, long: 5m, short: 1h, severity: page}\n  - {name: y}\n", []string{
			"c.yml:6:5: alerting.tiers[0].budget_fraction: exactly one of budget_fraction",
			"c.yml:6:32: alerting.tiers[0].short: the short window must be shorter",
			"c.yml:7:5: alerting.tiers[1].long: required field is missing",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yml", []byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("secret echoed in the error:\n%s", got)
			}
		})
	}
}

func TestClientConfigEnv(t *testing.T) {
	t.Setenv("SK_TEST_TOKEN", "s3cret")
	h := HTTPClient{BearerTokenEnv: "SK_TEST_TOKEN"}
	c, err := h.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Authorization.Credentials) != "s3cret" {
		t.Errorf("token not read from the environment")
	}
	if b, err := yaml.Marshal(c.Authorization); err != nil || strings.Contains(string(b), "s3cret") {
		t.Errorf("secret rendered: %s %v", b, err)
	}
	h = HTTPClient{BearerTokenEnv: "SK_TEST_UNSET_VARIABLE"}
	os.Unsetenv("SK_TEST_UNSET_VARIABLE")
	if _, err := h.ClientConfig(); err == nil {
		t.Error("unset variable accepted")
	}
}
