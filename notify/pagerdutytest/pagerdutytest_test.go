package pagerdutytest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify/pagerdutytest"
)

func post(t *testing.T, u, ct, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// An Alertmanager 0.25 pagerduty_configs (Events API v2) payload.
func alertmanagerEvent(rk string) string {
	return `{"routing_key":"` + rk + `","dedup_key":"4f0ea7b0cb2bd1e1e3f4dd6f0e0d5b8a3f2e2ef3a1b1c9b7d4d9c0f5f6a7b8c9","event_action":"trigger",
"payload":{"summary":"[FIRING:1] SLOBurnRateHigh (checkout critical)","source":"Alertmanager","severity":"critical",
"custom_details":{"firing":"Labels:\n - alertname = SLOBurnRateHigh\n","num_firing":"1","num_resolved":"0","resolved":""}},
"images":[],"links":[{"href":"http://am:9093/#/alerts?receiver=pd","text":""}],"client":"Alertmanager","client_url":"http://am:9093/#/alerts?receiver=pd"}`
}

func TestEnqueueChecks(t *testing.T) {
	s := pagerdutytest.New(t)
	rk := s.RoutingKey()
	ev := func(fields string) string { return `{"routing_key":"` + rk + `",` + fields + `}` }
	okPayload := `"payload":{"summary":"s","source":"src","severity":"critical"}`
	tests := []struct {
		name   string
		path   string
		ct     string
		body   string
		status int
	}{
		{"alertmanager trigger", "/v2/enqueue", "application/json", alertmanagerEvent(rk), 202},
		{"trigger", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","dedup_key":"d1",` + okPayload), 202},
		{"resolve", "/v2/enqueue", "application/json", ev(`"event_action":"resolve","dedup_key":"d1"`), 202},
		{"resolve without dedup", "/v2/enqueue", "application/json", ev(`"event_action":"resolve"`), 400},
		{"bad action", "/v2/enqueue", "application/json", ev(`"event_action":"fire",` + okPayload), 400},
		{"bad severity", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"fatal"}`), 400},
		{"no source", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","payload":{"summary":"s","severity":"info"}`), 400},
		{"summary too long", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","payload":{"summary":"` + strings.Repeat("s", 1025) + `","source":"x","severity":"info"}`), 400},
		{"dedup too long", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","dedup_key":"` + strings.Repeat("d", 256) + `",` + okPayload), 400},
		{"bad timestamp", "/v2/enqueue", "application/json", ev(`"event_action":"trigger","payload":{"summary":"s","source":"x","severity":"info","timestamp":"yesterday"}`), 400},
		{"short routing key", "/v2/enqueue", "application/json", `{"routing_key":"abc","event_action":"trigger",` + okPayload + `}`, 400},
		{"wrong routing key", "/v2/enqueue", "application/json", `{"routing_key":"` + strings.Repeat("x", 32) + `","event_action":"trigger",` + okPayload + `}`, 400},
		{"form body", "/v2/enqueue", "application/x-www-form-urlencoded", "a=b", 400},
		{"link without href", "/v2/enqueue", "application/json", ev(`"event_action":"trigger",` + okPayload + `,"links":[{"text":"x"}]`), 400},
		{"change", "/v2/change/enqueue", "application/json", ev(`"payload":{"summary":"deploy","source":"ci","timestamp":"2024-11-23T10:00:00Z"},"links":[{"href":"https://x.example.com"}]`), 202},
		{"change without summary", "/v2/change/enqueue", "application/json", ev(`"payload":{"source":"ci"}`), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, s.URL()+tc.path, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, body, tc.status)
			}
			if status == 202 && body["status"] != "success" {
				t.Errorf("body %v", body)
			}
			if status == 400 && body["errors"] == nil {
				t.Errorf("400 without errors: %v", body)
			}
		})
	}
	if got := s.AlertStatus("d1"); got != pagerdutytest.StatusResolved {
		t.Errorf("d1 status %q", got)
	}
	if len(s.Events()) != 3 || len(s.ChangeEvents()) != 1 {
		t.Errorf("%d events, %d change events", len(s.Events()), len(s.ChangeEvents()))
	}
	if got := len(s.Rejected()); got != 12 {
		t.Errorf("%d rejected", got)
	}
	for _, c := range s.Rejected() {
		if c.Reason == "" {
			t.Errorf("rejection without reason: %+v", c)
		}
	}
}

func TestIncidentsAuthAndFilters(t *testing.T) {
	s := pagerdutytest.New(t)
	s.AddIncident(pagerdutytest.Incident{ID: "P1", Title: "a", ServiceID: "S1"})
	s.AddIncident(pagerdutytest.Incident{ID: "P2", Title: "b", ServiceID: "S1", Urgency: "low"})
	get := func(query, auth, accept string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/incidents?"+query, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	const accept = "application/vnd.pagerduty+json;version=2"
	tok := "Token token=" + s.APIToken()
	if st, _ := get("", "", accept); st != 401 {
		t.Errorf("no auth: %d", st)
	}
	if st, _ := get("", "Token token=nope", accept); st != 401 {
		t.Errorf("wrong token: %d", st)
	}
	if st, _ := get("statuses[]=open", tok, accept); st != 400 {
		t.Errorf("bad status: %d", st)
	}
	if st, _ := get("", tok, ""); st != 400 {
		t.Errorf("no Accept: %d", st)
	}
	st, body := get("urgencies[]=high&service_ids[]=S1&limit=1", tok, accept)
	incs, _ := body["incidents"].([]any)
	if st != 200 || len(incs) != 1 || body["more"] != false {
		t.Errorf("filtered listing: %d %v", st, body)
	}
	s.SetIncidentStatus("P1", pagerdutytest.StatusResolved)
	_, body = get("statuses[]=triggered&statuses[]=acknowledged", tok, accept)
	if incs, _ := body["incidents"].([]any); len(incs) != 1 {
		t.Errorf("after resolve: %v", body)
	}
}

func TestFaults(t *testing.T) {
	s := pagerdutytest.New(t)
	s.Fail(1, pagerdutytest.Fault{Status: 429, RetryAfter: 3 * time.Second})
	resp, err := http.Post(s.EnqueueURL(), "application/json", strings.NewReader(alertmanagerEvent(s.RoutingKey())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("429 fault: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.Fail(1, pagerdutytest.Fault{Delay: 5 * time.Second})
	c := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := c.Post(s.EnqueueURL(), "application/json", strings.NewReader(alertmanagerEvent(s.RoutingKey()))); err == nil {
		t.Error("delay did not time out")
	}
	if len(s.Events()) != 0 {
		t.Error("faulted events applied")
	}
	// The held request is recorded once the server notices the client left.
	deadline := time.Now().Add(2 * time.Second)
	for len(s.Calls()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	calls := s.Calls()
	if len(calls) != 2 || !calls[0].Fault || !calls[1].Fault {
		t.Errorf("calls %+v", calls)
	}
}
