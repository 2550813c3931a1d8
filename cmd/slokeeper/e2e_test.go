package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/gate"
	"github.com/slokeeper/slokeeper/notify/pagerdutytest"
	"github.com/slokeeper/slokeeper/notify/slacktest"

	"github.com/slokeeper/slokeeper/internal/proctest"
)

// childEnv makes the test binary run slokeeper itself (TestMain), so that
// the end-to-end tests can start the daemon as a process and kill -9 it.
const childEnv = "SLOKEEPER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const prometheusBin = "/usr/bin/prometheus"

// process is a server the test runs and stops by its own PID.
type process struct {
	cmd *exec.Cmd
	log *os.File
}

func startProcess(t *testing.T, logName string, env []string, bin string, args ...string) *process {
	t.Helper()
	return startProcessIn(t, "", logName, env, bin, args...)
}

// startProcessIn is startProcess in the working directory dir ("": this one).
func startProcessIn(t *testing.T, dir, logName string, env []string, bin string, args ...string) *process {
	t.Helper()
	lf, err := os.OpenFile(filepath.Join(t.TempDir(), logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: lf}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(lf.Name())
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("%s:\n%s", logName, b)
		}
	})
	return p
}

// kill sends SIGKILL (kill -9) and waits.
func (p *process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// traffic is the exporter of the service under test: request counters
// that grow at rates the test sets.
type traffic struct {
	mu         sync.Mutex
	good, bad  float64
	goodPerSec float64
	badPerSec  float64
	last       time.Time
}

func (tr *traffic) set(good, bad float64) {
	tr.advance()
	tr.mu.Lock()
	tr.goodPerSec, tr.badPerSec = good, bad
	tr.mu.Unlock()
}

func (tr *traffic) advance() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	now := time.Now()
	if !tr.last.IsZero() {
		dt := now.Sub(tr.last).Seconds()
		tr.good += tr.goodPerSec * dt
		tr.bad += tr.badPerSec * dt
	}
	tr.last = now
}

func (tr *traffic) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	tr.advance()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE shop_requests_total counter\nshop_requests_total{code=\"200\"} %.0f\nshop_requests_total{code=\"500\"} %.0f\n", tr.good, tr.bad)
}

// TestFreezeEndToEnd runs the daemon as a process against Debian's
// Prometheus 2.42 and the strict Slack and PagerDuty fakes: the service
// burns its budget, the daemon freezes it, the gate says so, the daemon is
// killed with SIGKILL after the decision and before any notification could
// go out, and after the restart each notification goes out exactly once;
// then the service recovers and the freeze lifts: the Slack message is
// updated with a reply in its thread, and PagerDuty gets one resolve.
func TestFreezeEndToEnd(t *testing.T) {
	proctest.RequireBinary(t, prometheusBin, "prometheus")
	if testing.Short() {
		t.Skip("starts Prometheus and the daemon")
	}
	t.Parallel()
	dir := t.TempDir()
	specDir, rulesDir, storage := filepath.Join(dir, "specs"), filepath.Join(dir, "rules"), filepath.Join(dir, "data")
	for _, d := range []string{specDir, rulesDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tr := &traffic{}
	tr.set(200, 0)
	exporter := httptest.NewServer(tr)
	defer exporter.Close()
	eu, _ := url.Parse(exporter.URL)

	promAddr := proctest.FreeAddr(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
- job_name: shop
  static_configs: [{targets: [%q]}]
`, rulesDir+"/*.yml", eu.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, "prometheus.log", nil, prometheusBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--web.enable-lifecycle")

	if err := os.WriteFile(filepath.Join(specDir, "shop.yaml"), []byte(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: shop, team: qa}
spec:
  window: 28d
  slos:
  - name: availability
    objective: 99
    sli:
      ratio:
        errors: shop_requests_total{job="shop",code=~"5.."}
        total: shop_requests_total{job="shop"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	slack := slacktest.New(t)
	pd := pagerdutytest.New(t)
	cfgFile := filepath.Join(dir, "slokeeper.yml")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf(`specs: [%q]
prometheus: {url: "http://%s", timeout: 2s}
rules:
  mode: files
  directory: %q
  reload_url: "http://%s/-/reload"
  short_interval: 1s
  long_interval: 1m
  alert_interval: 1s
intervals: {resync: 1m, budget_read: 500ms}
freeze:
  default_policy: standard
  policies:
  - name: standard
    freeze_on_page_alert: true
  api: {token_env: E2E_API_TOKEN}
  notifications:
    slack: {token_env: E2E_SLACK_TOKEN, channel: %s, api_url: %q}
    pagerduty: {routing_key_env: E2E_PD_KEY, events_url: %q}
`, specDir, promAddr, rulesDir, promAddr, slack.Channel(), slack.APIURL(), pd.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	base := "http://" + addr
	env := []string{childEnv + "=1", "E2E_API_TOKEN=e2e-token", "E2E_SLACK_TOKEN=" + slack.Token(), "E2E_PD_KEY=" + pd.RoutingKey()}
	startDaemon := func() *process {
		p := startProcess(t, "slokeeper.log", env, os.Args[0], "serve", "--config.file", cfgFile, "--storage.path", storage,
			"--web.listen-address", addr, "--log.level", "debug")
		proctest.WaitFor(t, 30*time.Second, "slokeeper up", func() bool {
			resp, err := http.Get(base + "/-/healthy")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == http.StatusOK
		})
		return p
	}
	daemon := startDaemon()
	cl := &gate.Client{URL: base}
	ctx := context.Background()
	check := func() gate.Decision {
		d, err := cl.Check(ctx, "shop", "")
		if err != nil {
			return gate.Decision{}
		}
		return d
	}
	proctest.WaitFor(t, 60*time.Second, "burn rates of shop/availability", func() bool {
		var det struct {
			Status *struct {
				BurnRate map[string]float64 `json:"burn_rate"`
			} `json:"status"`
		}
		resp, err := http.Get(base + "/api/v1/slos/shop/availability")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(&det)
		return det.Status != nil && len(det.Status.BurnRate) > 0
	})
	if d := check(); d.Frozen || !d.Allowed {
		t.Fatalf("frozen before any error: %+v", d)
	}

	// Slack and PagerDuty are down: the decision is recorded, nothing can
	// be delivered yet.
	slack.Fail(100000, slacktest.Fault{Status: http.StatusInternalServerError})
	pd.Fail(100000, pagerdutytest.Fault{Status: http.StatusServiceUnavailable})
	tr.set(200, 100) // a third of the requests fail: 33x the budget's burn
	proctest.WaitFor(t, 3*time.Minute, "the freeze", func() bool { return check().Frozen })
	d := check()
	if d.Allowed || len(d.Reasons) == 0 {
		t.Fatalf("frozen but %+v", d)
	}
	if d, err := cl.Check(ctx, "shop", "p0"); err != nil || !d.Allowed || !d.Exempted {
		t.Errorf("p0 exemption: %+v %v", d, err)
	}
	proctest.WaitFor(t, 30*time.Second, "a failed delivery attempt", func() bool {
		return len(slack.Calls()) > 0 && len(pd.Calls()) > 0
	})
	// kill -9 between the decision and the send.
	daemon.kill()
	if n := len(slack.Accepted("chat.postMessage")); n != 0 {
		t.Fatalf("%d Slack messages accepted while Slack was down", n)
	}
	if n := len(pd.Events()); n != 0 {
		t.Fatalf("%d PagerDuty events accepted while PagerDuty was down", n)
	}
	// Both come back; the first Slack post is applied but its answer lost:
	// the retry must find it and not post again.
	slack.Heal()
	pd.Heal()
	slack.Fail(1, slacktest.Fault{LoseResponse: true, Path: "chat.postMessage"})
	startDaemon() // stopped by its cleanup
	if d := check(); !d.Frozen {
		t.Fatalf("the restarted daemon forgot the freeze: %+v", d)
	}
	top := func() []slacktest.Message {
		var out []slacktest.Message
		for _, m := range slack.Messages(slack.Channel()) {
			if m.ThreadTS == "" || m.ThreadTS == m.TS {
				out = append(out, m)
			}
		}
		return out
	}
	proctest.WaitFor(t, 60*time.Second, "the freeze notifications", func() bool {
		return len(top()) >= 1 && len(pd.Events()) >= 1
	})
	time.Sleep(3 * time.Second) // any duplicate would come now
	if n := len(top()); n != 1 {
		t.Fatalf("%d Slack messages for one freeze", n)
	}
	if ev := pd.Events(); len(ev) != 1 || ev[0].Action != "trigger" || ev[0].DedupKey != "slokeeper/freeze/shop" {
		t.Fatalf("PagerDuty events: %+v", ev)
	}
	if !strings.Contains(string(top()[0].Blocks)+top()[0].Text, "shop") {
		t.Errorf("the Slack message does not name the service: %s", top()[0].Text)
	}

	// Recovery: no errors and a lot of good traffic; the freeze lifts.
	tr.set(20000, 0)
	proctest.WaitFor(t, 8*time.Minute, "the lift", func() bool { return !check().Frozen })
	proctest.WaitFor(t, 60*time.Second, "the lift notifications", func() bool {
		return len(pd.Events()) >= 2 && len(top()) == 1 && top()[0].Updates > 0
	})
	time.Sleep(3 * time.Second)
	ev := pd.Events()
	if len(ev) != 2 || ev[1].Action != "resolve" || ev[1].DedupKey != "slokeeper/freeze/shop" {
		t.Errorf("PagerDuty events after the lift: %+v", ev)
	}
	if n := len(top()); n != 1 {
		t.Errorf("%d top-level Slack messages after the lift", n)
	}
	if r := slack.Replies(slack.Channel(), top()[0].TS); len(r) == 0 {
		t.Errorf("no reply in the freeze's thread")
	}
	// The daemon's own metrics tell the same story.
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`slokeeper_freeze_active{service="shop"} 0`, `slokeeper_notifications_sent_total{channel="slack"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(b), slack.Token()) || strings.Contains(string(b), pd.RoutingKey()) {
		t.Errorf("a secret is in /metrics")
	}
}

// TestConfigReload: the daemon watches its configuration file; a version
// with errors is refused (the running one stays), a valid one is applied
// without a restart of the process.
func TestConfigReload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	dir := t.TempDir()
	for _, d := range []string{"a", "b", "rules"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(svc string) string {
		return fmt.Sprintf(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: %s}
spec:
  window: 28d
  slos:
  - name: availability
    objective: 99.9
    sli: {ratio: {errors: 'req_total{code="500"}', total: req_total}}
`, svc)
	}
	for _, s := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, s, s+".yaml"), []byte(spec(s)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfgFile := filepath.Join(dir, "slokeeper.yml")
	write := func(body string) {
		t.Helper()
		// Replace the file as editors and ConfigMap updates do.
		tmp := cfgFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgFile); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(specs string) string {
		return fmt.Sprintf("specs: [%s]\nprometheus: {url: 'http://127.0.0.1:1'}\nrules: {mode: files, directory: %q}\nintervals: {budget_read: 1h}\n", specs, filepath.Join(dir, "rules"))
	}
	write(cfg(fmt.Sprintf("%q", filepath.Join(dir, "a"))))
	addr := proctest.FreeAddr(t)
	base := "http://" + addr
	startProcess(t, "slokeeper.log", []string{childEnv + "=1"}, os.Args[0], "serve", "--config.file", cfgFile,
		"--storage.path", filepath.Join(dir, "data"), "--web.listen-address", addr)
	slos := func() int {
		resp, err := http.Get(base + "/api/v1/status")
		if err != nil {
			return -1
		}
		defer resp.Body.Close()
		var st struct {
			SLOs         int        `json:"slos"`
			ReconciledAt *time.Time `json:"reconciled_at"`
		}
		if json.NewDecoder(resp.Body).Decode(&st) != nil || st.ReconciledAt == nil {
			return -1
		}
		return st.SLOs
	}
	metric := func(name string) string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, name+" ") {
				return strings.TrimPrefix(l, name+" ")
			}
		}
		return ""
	}
	proctest.WaitFor(t, 30*time.Second, "the first reconcile", func() bool { return slos() == 1 })
	// A broken configuration: refused, the running one stays.
	write("specs: [\nprometheus: {url: nope}\n")
	proctest.WaitFor(t, 15*time.Second, "the refused reload", func() bool { return metric("slokeeper_config_last_reload_successful") == "0" })
	if n := slos(); n != 1 {
		t.Fatalf("after a broken configuration: %d SLOs", n)
	}
	// A valid new configuration with a second spec directory: applied.
	write(cfg(fmt.Sprintf("%q, %q", filepath.Join(dir, "a"), filepath.Join(dir, "b"))))
	proctest.WaitFor(t, 30*time.Second, "the new configuration", func() bool { return slos() == 2 })
	if v := metric("slokeeper_config_last_reload_successful"); v != "1" {
		t.Errorf("slokeeper_config_last_reload_successful = %q after a good reload", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "rules", "slo-b.rules.yml")); err != nil {
		t.Errorf("the new service's rules were not written: %v", err)
	}
}

// TestDemo runs `slokeeper serve --demo` as a user would (make run), with a
// 7-day checkout SLO to keep the backfill short, and waits for the planned
// freeze of checkout to start and lift: the gate answers accordingly and
// the notification file holds one freeze_started and one freeze_lifted.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for several minutes")
	}
	t.Parallel() // mostly waiting: overlaps the other end-to-end tests
	dir := t.TempDir()
	specs := filepath.Join(dir, "specs")
	if err := os.Mkdir(specs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specs, "checkout.yaml"), []byte(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: checkout, team: payments}
spec:
  window: 7d
  slos:
  - name: availability
    objective: 99.9
    sli:
      ratio:
        errors: http_server_request_duration_seconds_count{job="checkout",http_response_status_code=~"5.."}
        total: http_server_request_duration_seconds_count{job="checkout"}
    # The demo freezes on page alerts too; page-slow's 30m short window
    # would hold the freeze half an hour after the outage.
    alerting:
      tiers:
        page-slow: {disabled: true}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	base := "http://" + addr
	// A relative storage path, as make run gives.
	storage := filepath.Join(dir, "data")
	startProcessIn(t, dir, "demo.log", []string{childEnv + "=1"}, os.Args[0], "serve", "--demo", "--demo.specs", specs,
		"--demo.freeze-after", "2m", "--demo.lift-after", "12m", "--storage.path", "data", "--web.listen-address", addr)
	cl := &gate.Client{URL: base}
	ctx := context.Background()
	var seen []string
	state := func() string {
		d, err := cl.Check(ctx, "checkout", "")
		switch {
		case err != nil:
			return "error"
		case d.Frozen:
			return "frozen"
		default:
			return "open"
		}
	}
	proctest.WaitFor(t, 5*time.Minute, "the demo to serve the gate", func() bool { return state() != "error" })
	seen = append(seen, state())
	proctest.WaitFor(t, 12*time.Minute, "the planned freeze of checkout", func() bool { return state() == "frozen" })
	seen = append(seen, "frozen")
	proctest.WaitFor(t, 20*time.Minute, "the planned lift of checkout", func() bool { return state() == "open" })
	seen = append(seen, "open")
	t.Logf("gate states: %v", seen)
	b, err := os.ReadFile(filepath.Join(storage, "demo", "notifications.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			Kind    string `json:"kind"`
			Service string `json:"service"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("notification line %q: %v", l, err)
		}
		if rec.Service == "checkout" {
			kinds[rec.Kind]++
		}
	}
	if kinds["freeze_started"] != 1 || kinds["freeze_lifted"] != 1 {
		t.Errorf("checkout notifications: %v\n%s", kinds, b)
	}
	for _, path := range []string{"/ui/", "/ui/slos/checkout/availability", "/ui/services/checkout", "/prometheus/api/v1/query?query=slo:error_budget:remaining", "/api/v1/slos"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
	}
}
