package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzParse: any input gives a configuration or positioned problems,
// never a panic. Seeds: the example configuration and sections with every
// kind of value the parser reads (policies, schedules, secrets, scrape
// configs, reports).
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../deploy/examples/slokeeper.yml"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		"specs: [a]\n",
		"specs: [a]\nprometheus: {url: 'http://p'}\nrules: {mode: files, directory: d}\n",
		"specs: [a]\nprometheus:\n  embedded:\n    retention: 40d\n    scrape_configs:\n    - {job_name: demo, static_configs: [{targets: ['127.0.0.1:1']}], scrape_interval: 5s}\n",
		"specs: [a]\nreports: {schedule: '@every 1h', time_zone: Europe/Berlin, keep: 3, span: 7d, slack: true}\n",
		"specs: [a]\nfreeze:\n  default_policy: p\n  policies:\n  - name: p\n    freeze_at: 0%\n    warn_at: off\n    lift_at: 10%\n    schedules:\n    - {name: w, time_zone: UTC, weekly: {days: [fri], start: '16:00', duration: 64h}}\n    - {name: y, time_zone: UTC, yearly: {from: 12-20, to: 01-03}}\n    - {name: r, start: 2025-11-27T00:00:00Z, end: 2025-12-02T00:00:00Z}\n  api: {token_env: T}\n  notifications: {slack: {token_env: S, channel: C1}, pagerduty: {routing_key_env: R, api_token_env: A, poll_interval: 1m}, file: {path: n.jsonl}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("c.yml", data)
		if err == nil && c == nil {
			t.Fatal("no configuration and no error")
		}
		if err != nil && !strings.Contains(err.Error(), "c.yml:") {
			t.Fatalf("a problem without its position: %v", err)
		}
	})
}
