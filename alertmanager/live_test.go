package alertmanager

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/internal/proctest"
)

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAlertmanager runs the real Alertmanager on a free loopback port
// with clustering off, and stops it (by its PID) when the test ends.
func startAlertmanager(t *testing.T, configFile string) (baseURL string, logs *syncBuffer) {
	t.Helper()
	addr := proctest.FreeAddr(t)
	logs = &syncBuffer{}
	cmd := exec.Command(alertmanagerBin,
		"--config.file="+configFile,
		"--storage.path="+t.TempDir(),
		"--web.listen-address="+addr,
		"--cluster.listen-address=",
		"--log.level=debug",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Alertmanager: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("Alertmanager output:\n%s", logs)
		}
	})
	baseURL = "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("Alertmanager exited:\n%s", logs)
		default:
		}
		resp, err := http.Get(baseURL + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return baseURL, logs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Alertmanager not ready after 15s:\n%s", logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func postAlerts(t *testing.T, baseURL string, alerts []postableAlert) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/api/v2/alerts", mustJSON(t, alerts))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("posting alerts: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}
}

// TestLiveAlertmanager runs the real Alertmanager 0.25 with the config
// generated for the example specs, its receivers pointed at strict fakes,
// posts alerts through the API and checks what reaches PagerDuty, Slack
// and the dead-letter webhook, inhibition applied.
func TestLiveAlertmanager(t *testing.T) {
	proctest.RequireBinary(t, alertmanagerBin, "prometheus-alertmanager")
	const routingKey = "0123456789abcdef0123456789abcdef" // 32 characters, as PagerDuty's
	pd := newFakePagerDuty(t, routingKey)
	slack := newFakeSlack(t, "#slo-alerts")
	dead := newFakeWebhook(t)

	dir := t.TempDir()
	keyFile, urlFile := filepath.Join(dir, "pagerduty-routing-key"), filepath.Join(dir, "slack-api-url")
	if err := os.WriteFile(keyFile, []byte(routingKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(urlFile, []byte(slack.url()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	slos := testdataSLOs(t)
	opts := Options{
		PagerDutyRoutingKeyFile: keyFile,
		PagerDutyURL:            pd.url(),
		SlackAPIURLFile:         urlFile,
		SlackChannel:            "#slo-alerts",
		DeadLetterURL:           dead.url(),
		GroupWait:               time.Second,
		GroupInterval:           2 * time.Second,
		RepeatInterval:          time.Hour,
		TicketRepeatInterval:    time.Hour,
	}
	configFile := writeConfig(t, slos, opts)
	cfgData, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(cfgData, []byte(routingKey)) || bytes.Contains(cfgData, []byte(slack.path)) {
		t.Fatal("the generated config holds a secret")
	}
	am, _ := startAlertmanager(t, configFile)

	// The alerts the rules generate, labels as Prometheus sends them.
	byKey := map[string]map[string]string{}
	for _, a := range generatedAlerts(t, slos, nil, "ingress-a") {
		kind := a.labels["slo_tier"]
		if kind == "" {
			kind = strings.TrimPrefix(a.labels["alertname"], "SLO")
		}
		byKey[a.labels["service"]+"/"+a.labels["slo"]+"/"+kind] = a.labels
	}
	now := time.Now().UTC()
	alert := func(key string, firing bool) postableAlert {
		l, ok := byKey[key]
		if !ok {
			t.Fatalf("no generated alert %s", key)
		}
		p := postableAlert{Labels: l, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), GeneratorURL: "http://prometheus.test/graph"}
		if !firing {
			p.EndsAt = time.Now().UTC()
		}
		p.Annotations = map[string]string{
			"summary":     fmt.Sprintf("%s: error budget burn 20x (%s)", key, l["slo_tier"]),
			"description": "Burn rate 20x over " + l["slo_long_window"] + ".",
			"runbook_url": "https://runbooks.example.com/" + l["service"],
		}
		return p
	}
	const (
		aFast   = "checkout/availability/page-fast"
		aSlow   = "checkout/availability/page-slow"
		aTicket = "checkout/availability/ticket-fast"
		bTicket = "catalog/availability/ticket-fast"
		cBudget = "ingress-nginx/availability/ErrorBudgetExhausted"
		cTicket = "ingress-nginx/availability/ticket-slow"
	)
	postAlerts(t, am, []postableAlert{
		alert(aFast, true), alert(aSlow, true), alert(aTicket, true),
		alert(bTicket, true),
		alert(cBudget, true), alert(cTicket, true),
		{Labels: map[string]string{"alertname": "DiskFull", "instance": "db-1"}, StartsAt: now, EndsAt: now.Add(time.Hour)},
	})

	counts := func() (int, int, int) {
		p, _ := pd.snapshot()
		s, _ := slack.snapshot()
		d, _ := dead.snapshot()
		return len(p), len(s), len(d)
	}
	proctest.WaitFor(t, 20*time.Second, "PagerDuty, Slack (2) and dead-letter deliveries", func() bool {
		p, s, d := counts()
		return p >= 1 && s >= 2 && d >= 1
	})
	// Longer than a group interval: anything inhibited that leaked would be here.
	time.Sleep(3 * time.Second)

	events, rejected := pd.snapshot()
	if len(rejected) > 0 {
		t.Errorf("PagerDuty rejected: %v", rejected)
	}
	if len(events) != 1 {
		t.Fatalf("PagerDuty got %d events, want 1 (page-slow inhibited): %+v", len(events), events)
	}
	e := events[0]
	if e.EventAction != "trigger" || e.Payload.Class != "page-fast" || e.Payload.Source != "checkout" ||
		e.Payload.Component != "availability" || e.Payload.Severity != "critical" || e.Payload.Group != "payments" ||
		e.Payload.CustomDetails["num_firing"] != "1" || e.Payload.CustomDetails["slo_tier"] != "page-fast" ||
		e.Payload.CustomDetails["runbook_url"] != "https://runbooks.example.com/checkout" ||
		!strings.HasPrefix(e.Payload.Summary, aFast+": error budget burn 20x") {
		t.Errorf("PagerDuty event: %+v %+v", e, *e.Payload)
	}

	msgs, rejected := slack.snapshot()
	if len(rejected) > 0 {
		t.Errorf("Slack rejected: %v", rejected)
	}
	var titles []string
	for _, m := range msgs {
		for _, a := range m.Attachments {
			titles = append(titles, a.Title)
			switch {
			case strings.Contains(a.Title, "checkout/availability"):
				t.Errorf("checkout's ticket reached Slack though page-fast fires: %q", a.Title)
			case strings.Contains(a.Title, "catalog/availability"):
				if a.Title != "[FIRING:1] catalog/availability ticket-fast" || !strings.Contains(a.Text, bTicket+": error budget burn 20x") ||
					!strings.Contains(a.Text, "tier ticket-fast, severity warning") || !strings.Contains(a.Text, "Runbook: https://runbooks.example.com/catalog") {
					t.Errorf("catalog's ticket message: %q\n%s", a.Title, a.Text)
				}
			case strings.Contains(a.Title, "ingress-nginx/availability"):
				if !strings.Contains(a.Text, "SLOErrorBudgetExhausted") || strings.Contains(a.Text, "ticket-slow") {
					t.Errorf("ingress's budget message (ticket-slow must be inhibited): %q\n%s", a.Title, a.Text)
				}
			default:
				t.Errorf("unexpected Slack message %q", a.Title)
			}
		}
	}
	if len(msgs) != 2 || len(titles) != 2 {
		t.Errorf("Slack got %d messages, want 2: %q", len(msgs), titles)
	}

	letters, rejected := dead.snapshot()
	if len(rejected) > 0 {
		t.Errorf("dead-letter rejected: %v", rejected)
	}
	if len(letters) != 1 || letters[0].Receiver != ReceiverDeadLetter || len(letters[0].Alerts) != 1 ||
		letters[0].Alerts[0].Labels["alertname"] != "DiskFull" {
		t.Errorf("dead letters: %+v", letters)
	}

	// page-fast resolves: page-slow, no longer muted, updates the same
	// incident; checkout's ticket stays muted by page-slow.
	postAlerts(t, am, []postableAlert{alert(aFast, false)})
	proctest.WaitFor(t, 15*time.Second, "the second PagerDuty event", func() bool {
		p, _, _ := counts()
		return p >= 2
	})
	time.Sleep(3 * time.Second)
	events, rejected = pd.snapshot()
	if len(rejected) > 0 {
		t.Errorf("PagerDuty rejected: %v", rejected)
	}
	if len(events) != 2 {
		t.Fatalf("PagerDuty got %d events, want 2: %+v", len(events), events)
	}
	e2 := events[1]
	if e2.EventAction != "trigger" || e2.DedupKey != e.DedupKey || e2.Payload.CustomDetails["num_firing"] != "1" ||
		e2.Payload.CustomDetails["num_resolved"] != "1" || !strings.Contains(e2.Payload.CustomDetails["firing"], "page-slow") ||
		!strings.Contains(e2.Payload.CustomDetails["resolved"], "page-fast") {
		t.Errorf("second PagerDuty event: %+v %+v", e2, *e2.Payload)
	}
	if msgs, _ := slack.snapshot(); len(msgs) != 2 {
		t.Errorf("Slack got %d messages after page-fast resolved, want still 2", len(msgs))
	}
}
