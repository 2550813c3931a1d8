package daemon

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
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/rules"

	"github.com/slokeeper/slokeeper/internal/proctest"
)

const prometheusBin = "/usr/bin/prometheus"

// prometheusServer is Debian's Prometheus, run by the test.
type prometheusServer struct {
	t    *testing.T
	addr string
	args []string
	cmd  *exec.Cmd
	log  *os.File
}

func (p *prometheusServer) start() {
	p.t.Helper()
	p.cmd = exec.Command(prometheusBin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	proctest.WaitFor(p.t, 30*time.Second, "Prometheus ready", func() bool {
		resp, err := http.Get("http://" + p.addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// stop kills Prometheus by its own PID and waits for it.
func (p *prometheusServer) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

func getJSON(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

// TestPrometheusIntegration runs the daemon against a real Prometheus:
// rules delivered and loaded, budgets read back, Prometheus killed (stale,
// not ready) and restarted (recovered).
func TestPrometheusIntegration(t *testing.T) {
	proctest.RequireBinary(t, prometheusBin, "prometheus")
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	specDir := filepath.Join(dir, "specs")
	for _, d := range []string{rulesDir, specDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The exporter: 1% of requests fail.
	var scrapes atomic.Int64
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		fmt.Fprintf(w, "# TYPE requests_total counter\nrequests_total{code=\"200\"} %d\nrequests_total{code=\"500\"} %d\n", n*99, n)
	}))
	t.Cleanup(exporter.Close)
	eu, _ := url.Parse(exporter.URL)

	addr := proctest.FreeAddr(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
- job_name: it
  static_configs: [{targets: [%q]}]
`, rulesDir+"/*.yml", eu.Host)), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	prom := &prometheusServer{t: t, addr: addr, log: logf, args: []string{
		"--config.file=" + promCfg,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--web.enable-lifecycle",
	}}
	t.Cleanup(prom.stop)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("Prometheus log:\n%s", b)
		}
	})
	prom.start()

	if err := os.WriteFile(filepath.Join(specDir, "it.yaml"), []byte(`apiVersion: slokeeper.io/v1
kind: ServiceLevelObjectives
metadata: {service: it, team: qa}
spec:
  window: 7d
  slos:
  - name: availability
    objective: 99
    sli:
      ratio:
        errors: requests_total{job="it",code=~"5.."}
        total: requests_total{job="it"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(dir, "slokeeper.yml"), []byte(fmt.Sprintf(`specs: [%q]
prometheus: {url: "http://%s", timeout: 2s}
rules:
  mode: files
  directory: %q
  reload_url: "http://%s/-/reload"
  short_interval: 1s
  long_interval: 1m
  alert_interval: 1s
intervals: {resync: 1s, budget_read: 500ms}
`, specDir, addr, rulesDir, addr)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(d.Handler())
	t.Cleanup(api.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	// The rules reach Prometheus through the file and the reload.
	proctest.WaitFor(t, 20*time.Second, "the rule groups in Prometheus", func() bool {
		var r struct {
			Data struct {
				Groups []struct{ Name string } `json:"groups"`
			} `json:"data"`
		}
		getJSON(t, "http://"+addr+"/api/v1/rules", &r)
		n := 0
		for _, g := range r.Data.Groups {
			if g.Name == rules.GroupName("it", "short") || g.Name == rules.GroupName("it", "long") {
				n++
			}
		}
		return n == 2
	})

	// Burn rates and the budget come back through slokeeper's API. The
	// period's series is in the long group (1m interval, at an offset
	// Prometheus picks), so the budget may take up to about a minute.
	detail := api.URL + "/api/v1/slos/it/availability"
	var det SLODetail
	proctest.WaitFor(t, 20*time.Second, "burn rates in the API", func() bool {
		det = SLODetail{}
		getJSON(t, detail, &det)
		return det.Status != nil && det.Status.BurnRate["5m"] > 0
	})
	if br := det.Status.BurnRate["5m"]; br < 0.5 || br > 1.5 {
		t.Errorf("5m burn rate = %v, want about 1 (1%% errors, 99%% objective)", br)
	}
	proctest.WaitFor(t, 90*time.Second, "the budget in the API", func() bool {
		det = SLODetail{}
		getJSON(t, detail, &det)
		return det.Status != nil && det.Status.BudgetRemaining != nil
	})
	if b := *det.Status.BudgetRemaining; b > 0.5 || b < -0.5 {
		t.Errorf("budget remaining = %v, want about 0 (errors at the allowed rate)", b)
	}
	proctest.WaitFor(t, 10*time.Second, "slokeeper ready", func() bool { return getJSON(t, api.URL+"/-/ready", nil) == http.StatusOK })

	// A changed spec is picked up (the watch or the 1s resync): a second
	// SLO's rules reach Prometheus.
	rulesBody := func() string {
		resp, err := http.Get("http://" + addr + "/api/v1/rules")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	specFile := filepath.Join(specDir, "it.yaml")
	good, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := string(good) + `  - name: strict
    objective: 99.5
    sli:
      ratio:
        errors: requests_total{job="it",code=~"5.."}
        total: requests_total{job="it"}
`
	if err := os.WriteFile(specFile, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	proctest.WaitFor(t, 20*time.Second, "the changed spec's rules in Prometheus", func() bool {
		return strings.Contains(rulesBody(), `\"strict\"`)
	})
	ruleFile := filepath.Join(rulesDir, rules.RuleFileName("it"))
	lastGood, err := os.ReadFile(ruleFile)
	if err != nil {
		t.Fatal(err)
	}

	// A broken spec keeps its last good rules: reported in the status,
	// the rule file and Prometheus's rules unchanged.
	if err := os.WriteFile(specFile, []byte(strings.Replace(changed, "objective: 99.5", "objective: 120", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var st Status
	proctest.WaitFor(t, 20*time.Second, "the broken spec reported", func() bool {
		st = Status{}
		getJSON(t, api.URL+"/api/v1/status", &st)
		return len(st.InvalidFiles) == 1 && len(st.KeptSLOs) == 2
	})
	// Let a few more reconciles (1s resync) pass over the broken file.
	time.Sleep(2500 * time.Millisecond)
	if now, _ := os.ReadFile(ruleFile); string(now) != string(lastGood) {
		t.Errorf("the broken spec changed the rule file")
	}
	if body := rulesBody(); !strings.Contains(body, `\"strict\"`) || !strings.Contains(body, `\"availability\"`) {
		t.Errorf("Prometheus lost the last good rules")
	}
	if err := os.WriteFile(specFile, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// Prometheus dies: not ready, data kept and marked stale with its age.
	prom.stop()
	proctest.WaitFor(t, 10*time.Second, "slokeeper not ready", func() bool {
		return getJSON(t, api.URL+"/-/ready", nil) == http.StatusServiceUnavailable
	})
	time.Sleep(time.Second)
	det = SLODetail{}
	getJSON(t, detail, &det)
	if !det.Freshness.Stale || det.Freshness.AgeSeconds < 0.5 || det.Freshness.LastError == "" || det.Status == nil || det.Status.BudgetRemaining == nil {
		t.Errorf("while Prometheus is down: freshness %+v, status %+v", det.Freshness, det.Status)
	}
	if !strings.Contains(det.Freshness.LastError, "connect") {
		t.Logf("last error: %s", det.Freshness.LastError)
	}

	// Prometheus is back: recovered.
	prom.start()
	proctest.WaitFor(t, 20*time.Second, "slokeeper ready again", func() bool { return getJSON(t, api.URL+"/-/ready", nil) == http.StatusOK })
	det = SLODetail{}
	getJSON(t, detail, &det)
	if det.Freshness.Stale || det.Freshness.LastError != "" {
		t.Errorf("after the restart: %+v", det.Freshness)
	}
}
