package pagerduty_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/pagerduty"
	"github.com/slokeeper/slokeeper/notify/pagerdutytest"
)

func ptr(f float64) *float64 { return &f }

func msg(key string, kind notify.Kind) notify.Message {
	return notify.Message{
		Key: key, Kind: kind, Service: "checkout", Episode: "checkout/1732400000",
		Sources: []string{notify.SourceBudget}, Reasons: []string{"error budget exhausted"},
		SLOs: []notify.SLOLine{{Name: "availability", Objective: 0.999, BudgetRemaining: ptr(-0.125),
			BurnRates: map[string]float64{"1h": 14.4, "5m": 20}, RunbookURL: "https://runbooks.example.com/checkout"}},
		Author: "alice", Exemption: "P0 fix", Change: "deploy #42",
		At: time.Date(2024, 11, 23, 22, 13, 20, 0, time.UTC), DashboardURL: "https://grafana.example.com/d/checkout",
	}
}

type harness struct {
	fake *pagerdutytest.Server
	n    *pagerduty.Notifier
	logs *bytes.Buffer
}

func newHarness(t *testing.T) harness {
	t.Helper()
	fake := pagerdutytest.New(t)
	logs := &bytes.Buffer{}
	n, err := pagerduty.New(pagerduty.Config{
		RoutingKey: fake.RoutingKey(), EventsURL: fake.URL(), ClientURL: "https://slokeeper.example.com/",
		HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return harness{fake: fake, n: n, logs: logs}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		kind     notify.Kind
		action   string // "" for a change event
		dedup    string
		severity string
		status   string
	}{
		{notify.FreezeStarted, "trigger", "slokeeper/freeze/checkout", "critical", pagerdutytest.StatusTriggered},
		{notify.FreezeLifted, "resolve", "slokeeper/freeze/checkout", "", pagerdutytest.StatusResolved},
		{notify.BudgetWarning, "trigger", "slokeeper/budget-warning/checkout", "warning", pagerdutytest.StatusTriggered},
		{notify.WarningCleared, "resolve", "slokeeper/budget-warning/checkout", "", pagerdutytest.StatusResolved},
		{notify.ManualFreeze, "", "", "", ""},
		{notify.ManualUnfreeze, "", "", "", ""},
		{notify.ExemptionUsed, "", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			if tc.action == "resolve" {
				trig := notify.FreezeStarted
				if tc.kind == notify.WarningCleared {
					trig = notify.BudgetWarning
				}
				if _, err := h.n.Send(ctx, msg("pre", trig), nil); err != nil {
					t.Fatal(err)
				}
			}
			rec, err := h.n.Send(ctx, msg("k", tc.kind), nil)
			if err != nil {
				t.Fatalf("Send: %v (rejected %+v)", err, h.fake.Rejected())
			}
			if len(h.fake.Rejected()) != 0 {
				t.Fatalf("rejected: %+v", h.fake.Rejected())
			}
			if tc.action == "" {
				ces := h.fake.ChangeEvents()
				if len(ces) != 1 {
					t.Fatalf("%d change events", len(ces))
				}
				ce := ces[0]
				if !strings.Contains(ce.Payload.Summary, "checkout") || ce.Payload.CustomDetails["key"] != "k" ||
					ce.Payload.CustomDetails["author"] != "alice" || ce.Payload.Source != "slokeeper" || len(ce.Links) != 3 {
					t.Errorf("change event %+v", ce)
				}
				if len(h.fake.Events()) != 0 {
					t.Error("change kind sent an alert event")
				}
				return
			}
			evs := h.fake.Events()
			ev := evs[len(evs)-1]
			if ev.Action != tc.action || ev.DedupKey != tc.dedup || rec[pagerduty.ReceiptDedupKey] != tc.dedup {
				t.Errorf("event %s %s, receipt %v", ev.Action, ev.DedupKey, rec)
			}
			if got := h.fake.AlertStatus(tc.dedup); got != tc.status {
				t.Errorf("alert status %q, want %q", got, tc.status)
			}
			if tc.action == "trigger" {
				p := ev.Payload
				if p.Severity != tc.severity || p.Source != "slokeeper" || p.Component != "checkout" || p.Timestamp != "2024-11-23T22:13:20Z" {
					t.Errorf("payload %+v", p)
				}
				slos, _ := json.Marshal(p.CustomDetails["slos"])
				for _, want := range []string{"-12.5%", "5m 20x, 1h 14.4x", "99.9%"} {
					if !strings.Contains(string(slos), want) {
						t.Errorf("custom_details.slos %s lacks %q", slos, want)
					}
				}
				if len(ev.Links) != 3 || ev.ClientURL != "https://slokeeper.example.com/" {
					t.Errorf("links %+v client_url %q", ev.Links, ev.ClientURL)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	h := newHarness(t)
	m := msg("long", notify.FreezeStarted)
	m.Service = strings.Repeat("ü", 400)
	m.Reasons = []string{strings.Repeat("reason ", 500)}
	if _, err := h.n.Send(context.Background(), m, nil); err != nil {
		t.Fatalf("Send: %v (rejected %+v)", err, h.fake.Rejected())
	}
	ev := h.fake.Events()[0]
	if len(ev.DedupKey) > pagerdutytest.MaxDedupKey || len([]rune(ev.Payload.Summary)) > pagerdutytest.MaxSummary {
		t.Errorf("dedup %d bytes, summary %d runes", len(ev.DedupKey), len([]rune(ev.Payload.Summary)))
	}
	if pagerduty.DedupKey("freeze", m.Service) == pagerduty.DedupKey("freeze", m.Service+"x") {
		t.Error("long dedup keys collide")
	}
}

func TestResendIsHarmless(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	m := msg("k", notify.FreezeStarted)
	h.fake.Fail(1, pagerdutytest.Fault{LoseResponse: true})
	if _, err := h.n.Send(ctx, m, nil); err == nil {
		t.Fatal("lost response: no error")
	} else if _, ok := notify.RetryAfter(err); !ok {
		t.Fatalf("lost response not retryable: %v", err)
	}
	if _, err := h.n.Send(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	// Both reached PagerDuty under one dedup key: one alert.
	if got := h.fake.AlertStatus("slokeeper/freeze/checkout"); got != pagerdutytest.StatusTriggered {
		t.Errorf("status %q", got)
	}
	for _, ev := range h.fake.Events() {
		if ev.DedupKey != "slokeeper/freeze/checkout" {
			t.Errorf("dedup key %q", ev.DedupKey)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		kind      notify.Kind
		fault     pagerdutytest.Fault
		badKey    bool
		retry     bool
		after     time.Duration
		permanent bool
	}{
		{name: "429 retry-after", kind: notify.FreezeStarted, fault: pagerdutytest.Fault{Status: 429, RetryAfter: 9 * time.Second}, retry: true, after: 9 * time.Second},
		{name: "429 change event", kind: notify.ManualFreeze, fault: pagerdutytest.Fault{Status: 429, RetryAfter: 2 * time.Second, Path: "/v2/change/enqueue"}, retry: true, after: 2 * time.Second},
		{name: "500", kind: notify.FreezeLifted, fault: pagerdutytest.Fault{Status: 500}, retry: true},
		{name: "503", kind: notify.ExemptionUsed, fault: pagerdutytest.Fault{Status: 503}, retry: true},
		{name: "timeout", kind: notify.FreezeStarted, fault: pagerdutytest.Fault{Delay: 2 * time.Second}, retry: true},
		{name: "bad routing key", kind: notify.FreezeStarted, badKey: true, permanent: true},
		{name: "bad routing key change", kind: notify.ManualUnfreeze, badKey: true, permanent: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			wrongKey := "WRONGKEYWRONGKEYWRONGKEYWRONGKEY"
			if tc.badKey {
				n, err := pagerduty.New(pagerduty.Config{RoutingKey: wrongKey, EventsURL: h.fake.URL(),
					Logger: slog.New(slog.NewTextHandler(h.logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				h.n = n
			} else {
				h.fake.Fail(1, tc.fault)
			}
			_, err := h.n.Send(context.Background(), msg("e", tc.kind), nil)
			if err == nil {
				t.Fatal("no error")
			}
			after, retry := notify.RetryAfter(err)
			if retry != tc.retry || notify.IsPermanent(err) != tc.permanent || after != tc.after {
				t.Fatalf("err %v: retry=%v after=%s permanent=%v", err, retry, after, notify.IsPermanent(err))
			}
			if tc.badKey && !strings.Contains(err.Error(), "routing_key") {
				t.Errorf("400 error does not say why: %v", err)
			}
			for _, sec := range []string{h.fake.RoutingKey(), wrongKey} {
				if strings.Contains(err.Error(), sec) || strings.Contains(h.logs.String(), sec) {
					t.Errorf("secret leaked: %v / %s", err, h.logs.String())
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []pagerduty.Config{
		{},
		{RoutingKey: "short"},
		{RoutingKey: strings.Repeat("a", 32), Severity: "fatal"},
		{RoutingKey: strings.Repeat("a", 32), EventsURL: "::"},
	} {
		if _, err := pagerduty.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if cfg.RoutingKey != "" && strings.Contains(err.Error(), cfg.RoutingKey) {
			t.Errorf("error leaks the routing key: %v", err)
		}
	}
}

func TestOpenIncidents(t *testing.T) {
	fake := pagerdutytest.New(t)
	created := time.Date(2024, 11, 23, 10, 0, 0, 0, time.UTC)
	for i := range 7 {
		fake.AddIncident(pagerdutytest.Incident{Title: "checkout down", ServiceID: "PSVC1", Urgency: "high", Priority: "P1", CreatedAt: created.Add(time.Duration(i) * time.Minute)})
	}
	fake.AddIncident(pagerdutytest.Incident{Title: "low", ServiceID: "PSVC1", Urgency: "low"})
	fake.AddIncident(pagerdutytest.Incident{Title: "acked", ServiceID: "PSVC1", Status: pagerdutytest.StatusAcknowledged})
	fake.AddIncident(pagerdutytest.Incident{Title: "resolved", ServiceID: "PSVC1", Status: pagerdutytest.StatusResolved})
	fake.AddIncident(pagerdutytest.Incident{Title: "other service", ServiceID: "PSVC2"})

	src, err := pagerduty.NewIncidentSource(pagerduty.IncidentSourceConfig{APIToken: fake.APIToken(), APIURL: fake.URL(), PageSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.OpenIncidents(context.Background(), []string{"PSVC1"}, []string{"high"})
	if err != nil {
		t.Fatalf("OpenIncidents: %v (rejected %+v)", err, fake.Rejected())
	}
	if len(got) != 8 {
		t.Fatalf("%d incidents, want 8 (7 triggered + 1 acknowledged, high urgency)", len(got))
	}
	first := got[0]
	if first.ID == "" || first.ServiceID != "PSVC1" || first.Urgency != "high" || first.Priority != "P1" ||
		!first.CreatedAt.Equal(created) || !strings.HasSuffix(first.HTMLURL, "/incidents/"+first.ID) || first.Title != "checkout down" {
		t.Errorf("incident %+v", first)
	}
	if pages := len(fake.Accepted("/incidents")); pages != 3 {
		t.Errorf("%d pages fetched, want 3", pages)
	}

	// Wrong token: permanent, and the token is not in the error.
	bad, _ := pagerduty.NewIncidentSource(pagerduty.IncidentSourceConfig{APIToken: "secret-wrong-token", APIURL: fake.URL()})
	_, err = bad.OpenIncidents(context.Background(), nil, nil)
	if !notify.IsPermanent(err) || strings.Contains(err.Error(), "secret-wrong-token") {
		t.Errorf("wrong token: %v", err)
	}
	// 503: retry.
	fake.Fail(1, pagerdutytest.Fault{Status: 503, Path: "/incidents"})
	if _, err := src.OpenIncidents(context.Background(), nil, nil); !isRetry(err) {
		t.Errorf("503: %v", err)
	}
	fake.Fail(1, pagerdutytest.Fault{Status: 429, RetryAfter: 4 * time.Second, Path: "/incidents"})
	if _, err := src.OpenIncidents(context.Background(), nil, nil); !isRetry(err) {
		t.Errorf("429: %v", err)
	} else if d, _ := notify.RetryAfter(err); d != 4*time.Second {
		t.Errorf("429 retry after %s", d)
	}
}

func isRetry(err error) bool {
	_, ok := notify.RetryAfter(err)
	return ok
}
