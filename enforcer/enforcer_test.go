package enforcer

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/slokeeper/slokeeper/budget"
	"github.com/slokeeper/slokeeper/freeze"
	"github.com/slokeeper/slokeeper/gate"
	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/pagerduty"
	"github.com/slokeeper/slokeeper/notify/pagerdutytest"
	"github.com/slokeeper/slokeeper/notify/slack"
	"github.com/slokeeper/slokeeper/notify/slacktest"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/store"
)

// fakeSource is the daemon as the enforcer sees it.
type fakeSource struct {
	mu   sync.Mutex
	slos []slo.SLO
	snap budget.Snapshot
}

func (f *fakeSource) SLOs() []slo.SLO {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slos
}

func (f *fakeSource) Snapshot() budget.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap
}
func (f *fakeSource) StaleAfter() time.Duration { return time.Minute }
func (f *fakeSource) Loaded() bool              { return true }

// read sets the budgets of a good read at now.
func (f *fakeSource) read(now time.Time, budgets map[string]float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := map[string]*budget.Status{}
	for id, b := range budgets {
		svc, name, _ := strings.Cut(id, "/")
		v := b
		st[id] = &budget.Status{Service: svc, SLO: name, BudgetRemaining: &v, BurnRate: map[string]float64{"1h": 3.5}}
	}
	f.snap = budget.Snapshot{Statuses: st, ReadAt: now, LastAttempt: now}
}

// fail marks the last read failed at now (the data goes stale).
func (f *fakeSource) fail(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap.LastAttempt, f.snap.LastError = now, "connection refused"
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

type harness struct {
	t      *testing.T
	src    *fakeSource
	clk    *clock
	st     *store.Store
	e      *Enforcer
	slack  *slacktest.Server
	pd     *pagerdutytest.Server
	api    *httptest.Server
	logs   *bytes.Buffer
	reg    *prometheus.Registry
	dbPath string
}

const apiToken = "t0ken-s3cret"

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t: t, clk: &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)},
		slack: slacktest.New(t), pd: pagerdutytest.New(t),
		dbPath: filepath.Join(t.TempDir(), "slokeeper.db"),
	}
	h.src = &fakeSource{slos: []slo.SLO{
		{Service: "checkout", Name: "availability", Team: "payments", Objective: 99.9},
		{Service: "checkout", Name: "latency", Team: "payments", Objective: 99},
		{Service: "catalog", Name: "availability", Team: "shop", Objective: 99.5},
	}}
	h.open()
	return h
}

// open (re)starts the enforcer over the same database: a daemon restart.
func (h *harness) open() {
	t := h.t
	if h.api != nil {
		h.api.Close()
		_ = h.st.Close()
	}
	ctx := context.Background()
	st, err := store.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	t.Cleanup(func() { _ = st.Close() })
	h.logs = &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sn, err := slack.New(slack.Config{Token: h.slack.Token(), Channel: h.slack.Channel(), APIURL: h.slack.APIURL(), Logger: log, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pn, err := pagerduty.New(pagerduty.Config{RoutingKey: h.pd.RoutingKey(), EventsURL: h.pd.URL(), Logger: log, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.reg = prometheus.NewRegistry()
	p := freeze.NewPolicy("standard")
	h.e, err = New(ctx, h.src, Options{
		Store: st, Policies: freeze.PolicySet{Policies: map[string]freeze.Policy{"standard": p}, Default: "standard"},
		Token:     func() (string, error) { return apiToken, nil },
		Notifiers: []notify.Notifier{sn, pn}, Logger: log, Registerer: h.reg, Now: h.clk.now,
		DashboardURL: "https://grafana.example.com/d/slo-{service}",
	})
	if err != nil {
		t.Fatal(err)
	}
	h.api = httptest.NewServer(h.e.Handler())
	t.Cleanup(h.api.Close)
}

// step reads budgets, evaluates and delivers.
func (h *harness) step(budgets map[string]float64) {
	h.t.Helper()
	h.src.read(h.clk.add(30*time.Second), budgets)
	h.settle()
}

func (h *harness) settle() {
	h.t.Helper()
	ctx := context.Background()
	if err := h.e.Evaluate(ctx); err != nil {
		h.t.Fatal(err)
	}
	if err := h.e.Deliver(ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) gate(service, exempt string) gate.Decision {
	h.t.Helper()
	c := &gate.Client{URL: h.api.URL}
	d, err := c.Check(context.Background(), service, exempt)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) slackTop() []slacktest.Message {
	var out []slacktest.Message
	for _, m := range h.slack.Messages(h.slack.Channel()) {
		if m.ThreadTS == "" || m.ThreadTS == m.TS {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) pdActions() []string {
	var out []string
	for _, e := range h.pd.Events() {
		out = append(out, e.Action+" "+e.DedupKey)
	}
	return out
}

func TestFreezeLifecycleNotifiesOnce(t *testing.T) {
	h := newHarness(t)
	ok := map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8}
	h.step(ok)
	if d := h.gate("checkout", ""); d.Frozen || !d.Allowed {
		t.Fatalf("healthy service frozen: %+v", d)
	}
	if len(h.slackTop()) != 0 || len(h.pd.Events()) != 0 {
		t.Fatalf("notifications without a state change")
	}
	// The budget is spent: freeze, one Slack message, one PagerDuty trigger.
	spent := map[string]float64{"checkout/availability": -0.02, "checkout/latency": 0.9, "catalog/availability": 0.8}
	h.step(spent)
	d := h.gate("checkout", "")
	if !d.Frozen || d.Allowed || len(d.Sources) != 1 || d.Sources[0] != freeze.SourceBudget || d.Since == nil || *d.Budget["availability"] != -0.02 {
		t.Fatalf("spent budget: %+v", d)
	}
	if d := h.gate("catalog", ""); d.Frozen {
		t.Errorf("another service frozen")
	}
	if e := h.gate("checkout", "p0"); !e.Allowed || !e.Exempted {
		t.Errorf("p0 exemption refused: %+v", e)
	}
	// The same state again and again: nothing more is sent.
	for range 3 {
		h.step(spent)
	}
	// Hysteresis: back to 5% (under lift_at 10%) keeps the freeze.
	h.step(map[string]float64{"checkout/availability": 0.05, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if !h.gate("checkout", "").Frozen {
		t.Fatalf("lifted under lift_at")
	}
	top := h.slackTop()
	if len(top) != 1 || !strings.Contains(top[0].Text+string(top[0].Blocks), "checkout") {
		t.Fatalf("slack messages: %+v", top)
	}
	if got := h.pdActions(); len(got) != 1 || got[0] != "trigger slokeeper/freeze/checkout" {
		t.Fatalf("pagerduty events: %v", got)
	}
	// Restart between decisions: nothing is sent again.
	h.open()
	h.step(map[string]float64{"checkout/availability": 0.05, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if len(h.slackTop()) != 1 || len(h.pd.Events()) != 1 {
		t.Fatalf("a restart re-sent: slack %d, pagerduty %v", len(h.slackTop()), h.pdActions())
	}
	// Recovery: lifted, the Slack message updated with a thread reply, one resolve.
	h.step(ok)
	if d := h.gate("checkout", ""); d.Frozen || !d.Allowed {
		t.Fatalf("not lifted: %+v", d)
	}
	top = h.slackTop()
	if len(top) != 1 || top[0].Updates == 0 {
		t.Errorf("the freeze message was not updated: %+v", top)
	}
	if r := h.slack.Replies(h.slack.Channel(), top[0].TS); len(r) == 0 {
		t.Errorf("no thread reply on lift")
	}
	if got := h.pdActions(); len(got) != 2 || got[1] != "resolve slokeeper/freeze/checkout" {
		t.Errorf("pagerduty events: %v", got)
	}
	if h.pd.AlertStatus("slokeeper/freeze/checkout") != "resolved" {
		t.Errorf("alert status %q", h.pd.AlertStatus("slokeeper/freeze/checkout"))
	}
	// History records the decisions with their budgets.
	var hist struct {
		Decisions []store.HistoryEntry `json:"decisions"`
	}
	getJSON(t, h.api.URL+"/api/v1/freeze/history?service=checkout", &hist)
	kinds := []string{}
	for _, d := range hist.Decisions {
		kinds = append(kinds, d.Kind)
	}
	if strings.Join(kinds, ",") != "freeze_lifted,freeze_started" || hist.Decisions[1].Budget["availability"] != -0.02 {
		t.Errorf("history: %v %+v", kinds, hist.Decisions)
	}
	if v := testutil.ToFloat64(h.e.m.frozen.WithLabelValues("checkout")); v != 0 {
		t.Errorf("slokeeper_freeze_active = %v after the lift", v)
	}
	for _, secret := range []string{h.slack.Token(), h.pd.RoutingKey(), apiToken} {
		if strings.Contains(h.logs.String(), secret) {
			t.Errorf("a secret is in the logs")
		}
	}
}

func TestStaleBudgetsNeitherStartNorLift(t *testing.T) {
	h := newHarness(t)
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	// Prometheus goes down for a long time; the last good values were fine.
	h.src.fail(h.clk.add(5 * time.Minute))
	h.settle()
	if h.gate("checkout", "").Frozen || !h.gate("checkout", "").Stale {
		t.Fatalf("stale data: %+v", h.gate("checkout", ""))
	}
	h.step(map[string]float64{"checkout/availability": -0.5, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if !h.gate("checkout", "").Frozen {
		t.Fatal("not frozen on fresh data")
	}
	// Stale again, with a recovered value read long ago: still frozen.
	h.src.read(h.clk.add(10*time.Second), map[string]float64{"checkout/availability": 0.9, "checkout/latency": 0.9, "catalog/availability": 0.8})
	h.src.mu.Lock()
	h.src.snap.ReadAt = h.clk.now().Add(-10 * time.Minute)
	h.src.mu.Unlock()
	h.settle()
	if !h.gate("checkout", "").Frozen {
		t.Fatal("stale data lifted the freeze")
	}
}

func TestManualFreezeAPI(t *testing.T) {
	h := newHarness(t)
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	c := &gate.Client{URL: h.api.URL, Token: "wrong"}
	ctx := context.Background()
	until := h.clk.now().Add(2 * time.Hour)
	if _, err := c.StartFreeze(ctx, gate.ManualFreeze{Service: "catalog", Reason: "peak", Author: "ana", Until: &until}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	audit, err := h.st.AuditLog(ctx, "catalog", 10)
	if err != nil || len(audit) != 1 || !strings.Contains(audit[0].Action, "refused") {
		t.Errorf("refused call not audited: %+v %v", audit, err)
	}
	c.Token = apiToken
	for _, bad := range []gate.ManualFreeze{
		{Service: "catalog", Author: "ana"},           // no reason
		{Service: "nope", Reason: "x", Author: "ana"}, // unknown service
		{Service: "catalog", Reason: "x", Author: "ana", Action: "maybe"},
		{Service: "catalog", Reason: strings.Repeat("x", gate.MaxReason+1), Author: "ana"},
	} {
		if _, err := c.StartFreeze(ctx, bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	mf, err := c.StartFreeze(ctx, gate.ManualFreeze{Service: "catalog", Reason: "Black Friday <script>", Author: "ana", Until: &until})
	if err != nil || mf.ID == 0 {
		t.Fatalf("start: %+v %v", mf, err)
	}
	d := h.gate("catalog", "")
	if !d.Frozen || d.Sources[0] != freeze.SourceManual || d.Until == nil || !d.Until.Equal(until) {
		t.Fatalf("manual freeze not effective at once: %+v", d)
	}
	list, err := c.Freezes(ctx)
	if err != nil || len(list) != 1 || list[0].Author != "ana" {
		t.Errorf("list: %+v %v", list, err)
	}
	if err := h.e.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.slackTop()); n != 1 {
		t.Errorf("%d Slack messages for a manual freeze", n)
	}
	if err := c.StopFreeze(ctx, "catalog", gate.Unfreeze{Author: "bo", Reason: "peak over"}); err != nil {
		t.Fatal(err)
	}
	if d := h.gate("catalog", ""); d.Frozen {
		t.Errorf("still frozen after stop: %+v", d)
	}
	if err := c.StopFreeze(ctx, "catalog", gate.Unfreeze{Author: "bo", Reason: "again"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("second stop: %v", err)
	}
	// Expiry: a freeze for one minute ends by itself.
	soon := h.clk.now().Add(time.Minute)
	if _, err := c.StartFreeze(ctx, gate.ManualFreeze{Service: "catalog", Reason: "short", Author: "ana", Until: &soon}); err != nil {
		t.Fatal(err)
	}
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if d := h.gate("catalog", ""); d.Frozen {
		t.Errorf("expired manual freeze still active: %+v", d)
	}
	// Without a token configured, manual freezes are refused.
	h.e.opts.Token = nil
	if _, err := c.StartFreeze(ctx, gate.ManualFreeze{Service: "catalog", Reason: "x", Author: "ana"}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("no token configured: %v", err)
	}
}

func TestExemptions(t *testing.T) {
	h := newHarness(t)
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	c := &gate.Client{URL: h.api.URL}
	ctx := context.Background()
	ex := gate.Exemption{Service: "checkout", Kind: "p0", Change: "abc123", Author: "octocat"}
	if err := c.RecordExemption(ctx, ex); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("exemption while not frozen: %v", err)
	}
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": 0.8})
	for range 2 { // a retried pipeline step records once
		if err := c.RecordExemption(ctx, ex); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.RecordExemption(ctx, gate.Exemption{Service: "checkout", Kind: "yolo", Author: "x"}); err == nil {
		t.Errorf("unknown exemption kind accepted")
	}
	if err := h.e.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	var changes int
	for _, c := range h.pd.Accepted() {
		if strings.HasSuffix(c.Path, "/v2/change/enqueue") {
			changes++
		}
	}
	if changes != 1 {
		t.Errorf("%d PagerDuty change events for one exemption", changes)
	}
	audit, _ := h.st.AuditLog(ctx, "checkout", 10)
	if len(audit) != 1 || audit[0].Actor != "octocat" || !strings.Contains(audit[0].Detail, "abc123") {
		t.Errorf("audit: %+v", audit)
	}
}

func TestNotificationFaults(t *testing.T) {
	h := newHarness(t)
	h.step(map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8})
	// Slack rate-limits once (Retry-After 1s), PagerDuty fails twice.
	h.slack.Fail(1, slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Path: "chat.postMessage"})
	h.pd.Fail(2, pagerdutytest.Fault{Status: http.StatusServiceUnavailable})
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if len(h.slackTop()) != 0 {
		t.Fatalf("sent despite the 429")
	}
	// Not due before Retry-After.
	h.clk.add(500 * time.Millisecond)
	_ = h.e.Deliver(context.Background())
	if len(h.slackTop()) != 0 {
		t.Fatalf("retried before Retry-After")
	}
	for range 10 {
		h.clk.add(30 * time.Second)
		_ = h.e.Deliver(context.Background())
	}
	if len(h.slackTop()) != 1 || len(h.pd.Events()) != 1 {
		t.Fatalf("after retries: slack %d, pagerduty %v", len(h.slackTop()), h.pdActions())
	}
	if v := testutil.ToFloat64(h.e.m.failed.WithLabelValues("slack", "retry")); v < 1 {
		t.Errorf("retries not counted: %v", v)
	}
	// A permanent failure (channel_not_found) is not retried.
	h.slack.Fail(100, slacktest.Fault{Error: "channel_not_found", Path: "chat.postMessage"})
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": -0.3})
	before := len(h.slack.Calls())
	for range 5 {
		h.clk.add(time.Minute)
		_ = h.e.Deliver(context.Background())
	}
	if v := testutil.ToFloat64(h.e.m.failed.WithLabelValues("slack", "permanent")); v != 1 {
		t.Errorf("permanent failures = %v", v)
	}
	if after := len(h.slack.Calls()); after-before > 0 {
		t.Errorf("a permanent failure was retried: %d more calls", after-before)
	}
}

func TestFreezePeriods(t *testing.T) {
	h := newHarness(t)
	start := h.clk.now()
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": 0.8})
	h.step(map[string]float64{"checkout/availability": 0.5, "checkout/latency": 0.9, "catalog/availability": 0.8})
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": 0.8})
	ps, err := h.e.FreezePeriods(context.Background(), "checkout", start, h.clk.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].End.IsZero() || !ps[1].End.IsZero() || ps[0].Sources[0] != "budget" {
		t.Errorf("periods: %+v", ps)
	}
	ps, _ = h.e.FreezePeriods(context.Background(), "checkout", h.clk.now().Add(-time.Second), h.clk.now().Add(time.Hour))
	if len(ps) != 1 {
		t.Errorf("periods overlapping the end: %+v", ps)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestPagerDutyIncidentsFreeze(t *testing.T) {
	h := newHarness(t)
	src, err := pagerduty.NewIncidentSource(pagerduty.IncidentSourceConfig{APIToken: pagerdutytest.DefaultAPIToken, APIURL: h.pd.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p := freeze.NewPolicy("oncall")
	p.PagerDuty = &freeze.PagerDutyRule{ServiceIDs: []string{"PSHOP01"}, Urgencies: []string{"high"}}
	h.e.opts.Policies = freeze.PolicySet{Policies: map[string]freeze.Policy{"oncall": p}, Default: "oncall"}
	h.e.opts.Incidents = src
	ok := map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8}
	ctx := context.Background()
	h.e.poll(ctx)
	h.step(ok)
	if h.gate("checkout", "").Frozen {
		t.Fatal("frozen without an incident")
	}
	// A low-urgency incident does not match; a high one does.
	h.pd.AddIncident(pagerdutytest.Incident{Title: "disk", ServiceID: "PSHOP01", Urgency: "low"})
	if h.e.poll(ctx) {
		h.step(ok)
	}
	if h.gate("checkout", "").Frozen {
		t.Fatal("a low-urgency incident froze the service")
	}
	id := h.pd.AddIncident(pagerdutytest.Incident{Title: "checkout down", ServiceID: "PSHOP01", Urgency: "high"})
	if !h.e.poll(ctx) {
		t.Fatal("the new incident was not seen as a change")
	}
	h.step(ok)
	d := h.gate("checkout", "")
	if !d.Frozen || d.Sources[0] != freeze.SourcePagerDuty {
		t.Fatalf("open incident: %+v", d)
	}
	// PagerDuty unreachable: the source keeps its state.
	h.pd.Fail(10, pagerdutytest.Fault{Status: http.StatusInternalServerError, Path: "/incidents"})
	h.e.poll(ctx)
	h.step(ok)
	if !h.gate("checkout", "").Frozen {
		t.Fatal("a failed poll lifted the freeze")
	}
	h.pd.Heal()
	h.pd.SetIncidentStatus(id, "resolved")
	h.e.poll(ctx)
	h.step(ok)
	if d := h.gate("checkout", ""); d.Frozen {
		t.Fatalf("resolved incident still freezes: %+v", d)
	}
}

// A lift recorded while its freeze's notification waits for a retry must
// not overtake it: the freeze message comes first and is then updated.
func TestLiftNeverOvertakesItsFreeze(t *testing.T) {
	h := newHarness(t)
	ok := map[string]float64{"checkout/availability": 0.6, "checkout/latency": 0.9, "catalog/availability": 0.8}
	h.step(ok)
	h.slack.Fail(1, slacktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 20 * time.Second, Path: "chat.postMessage"})
	h.step(map[string]float64{"checkout/availability": -0.1, "checkout/latency": 0.9, "catalog/availability": 0.8})
	if len(h.slackTop()) != 0 {
		t.Fatal("sent despite the 429")
	}
	h.src.read(h.clk.add(5*time.Second), ok) // lifted before the retry is due
	h.settle()
	if n := len(h.slack.Messages(h.slack.Channel())); n != 0 {
		t.Fatalf("the lift went out before its freeze: %d messages", n)
	}
	for range 3 {
		h.clk.add(15 * time.Second)
		if err := h.e.Deliver(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	top := h.slackTop()
	if len(top) != 1 || top[0].Updates == 0 || len(h.slack.Replies(h.slack.Channel(), top[0].TS)) == 0 {
		t.Fatalf("after the retry: %+v", top)
	}
}
