package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify"
	"github.com/slokeeper/slokeeper/notify/slack"
	"github.com/slokeeper/slokeeper/notify/slacktest"
)

func ptr(f float64) *float64 { return &f }

func freezeMsg(key string, nSLOs int) notify.Message {
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	until := at.Add(48 * time.Hour)
	m := notify.Message{
		Key: key, Kind: notify.FreezeStarted, Service: "checkout", Episode: "checkout/1732400000",
		Sources: []string{notify.SourceBudget, notify.SourceBurnAlert},
		Reasons: []string{"error budget of checkout-availability exhausted (-12.5% < 0%)", "burn rate 14.4x over 1h <page>"},
		At:      at, Until: &until, DashboardURL: "https://grafana.example.com/d/checkout",
	}
	for i := range nSLOs {
		m.SLOs = append(m.SLOs, notify.SLOLine{
			Name: fmt.Sprintf("checkout-slo-%03d", i), Objective: 0.999, BudgetRemaining: ptr(float64(i)/100 - 0.125),
			BurnRates:    map[string]float64{"5m": 14.4, "1h": 13.1, "6h": 6.2, "3d": 1.1},
			DashboardURL: "https://grafana.example.com/d/slo", RunbookURL: "https://runbooks.example.com/checkout",
		})
	}
	return m
}

type harness struct {
	fake *slacktest.Server
	n    *slack.Notifier
	logs *bytes.Buffer
}

func newHarness(t *testing.T, mut func(*slack.Config)) harness {
	t.Helper()
	fake := slacktest.New(t)
	logs := &bytes.Buffer{}
	cfg := slack.Config{
		Token: fake.Token(), Channel: fake.Channel(), APIURL: fake.APIURL(),
		HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		UIURL:      "https://slokeeper.example.com/",
	}
	if mut != nil {
		mut(&cfg)
	}
	n, err := slack.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return harness{fake: fake, n: n, logs: logs}
}

func blocksOf(t *testing.T, raw json.RawMessage) []map[string]any {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	return blocks
}

// decoded renders JSON with its strings unescaped, for substring checks.
func decoded(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return fmt.Sprint(v)
}

func TestFreezeStartedMessage(t *testing.T) {
	h := newHarness(t, nil)
	m := freezeMsg("k-start", 3)
	rec, err := h.n.Send(context.Background(), m, nil)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := h.fake.Messages(h.fake.Channel())
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if rec[slack.ReceiptChannel] != h.fake.Channel() || rec[slack.ReceiptTS] != got.TS || rec[slack.ReceiptMessageTS] != got.TS {
		t.Errorf("receipt %v, message ts %s", rec, got.TS)
	}
	if got.ThreadTS != "" {
		t.Errorf("first message is threaded under %s", got.ThreadTS)
	}
	if got.Metadata == nil || got.Metadata.EventType != slack.MetadataEventType || got.Metadata.EventPayload["key"] != "k-start" {
		t.Errorf("metadata = %+v", got.Metadata)
	}
	if !strings.Contains(got.Text, "Change freeze started for checkout") {
		t.Errorf("fallback text %q", got.Text)
	}
	blocks := blocksOf(t, got.Blocks)
	if blocks[0]["type"] != "header" || !strings.Contains(fmt.Sprint(blocks[0]["text"]), "checkout") {
		t.Errorf("first block %v", blocks[0])
	}
	raw := decoded(t, got.Blocks)
	for _, want := range []string{"budget, burn_alert", "Reasons", "&lt;page&gt;", "Budget remaining", "-12.5%", "Burn 5m", "14.4x",
		"checkout-slo-002", "https://grafana.example.com/d/checkout", "https://runbooks.example.com/checkout", "Open in slokeeper", "<!date^"} {
		if !strings.Contains(raw, want) {
			t.Errorf("blocks lack %q", want)
		}
	}
	// Burn windows come shortest first.
	if strings.Index(raw, "Burn 5m") > strings.Index(raw, "Burn 3d") {
		t.Error("burn windows are not ordered by duration")
	}
	if len(h.fake.Rejected()) != 0 {
		t.Errorf("rejected calls: %+v", h.fake.Rejected())
	}
}

func TestManySLOsAreTruncated(t *testing.T) {
	h := newHarness(t, nil)
	m := freezeMsg("k-many", 100)
	m.Reasons = []string{strings.Repeat("very long reason ", 400)}
	m.Service = strings.Repeat("s", 300)
	if _, err := h.n.Send(context.Background(), m, nil); err != nil {
		t.Fatalf("Send: %v (rejected %+v)", err, h.fake.Rejected())
	}
	msgs := h.fake.Messages(h.fake.Channel())
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	blocks := blocksOf(t, msgs[0].Blocks)
	if len(blocks) > slacktest.MaxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	shown := strings.Count(string(msgs[0].Blocks), "objective 99.9%")
	want := fmt.Sprintf("and %d more SLOs", 100-shown)
	if !strings.Contains(string(msgs[0].Blocks), want) {
		t.Errorf("blocks lack %q (%d SLOs shown, %d blocks)", want, shown, len(blocks))
	}
	// The worst SLO (lowest budget) is shown, the healthiest is cut.
	if !strings.Contains(decoded(t, msgs[0].Blocks), "|checkout-slo-000>") {
		t.Error("worst SLO not shown")
	}
}

func TestEpisodeThreadAndLift(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	start := freezeMsg("k1", 2)
	rec, err := h.n.Send(ctx, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := rec[slack.ReceiptTS]

	warn := start
	warn.Key, warn.Kind, warn.At = "k2", notify.ExemptionUsed, start.At.Add(time.Minute)
	warn.Author, warn.Exemption, warn.Change = "alice", "P0 fix", "deploy #42"
	rec2, err := h.n.Send(ctx, warn, rec)
	if err != nil {
		t.Fatal(err)
	}
	if rec2[slack.ReceiptTS] != root || rec2[slack.ReceiptMessageTS] == root {
		t.Errorf("threaded receipt %v, root %s", rec2, root)
	}

	lift := start
	lift.Key, lift.Kind, lift.At = "k3", notify.FreezeLifted, start.At.Add(2*time.Minute)
	rec3, err := h.n.Send(ctx, lift, rec2)
	if err != nil {
		t.Fatal(err)
	}
	if rec3[slack.ReceiptTS] != root {
		t.Errorf("lift receipt %v", rec3)
	}
	first, _ := h.fake.Message(h.fake.Channel(), root)
	if first.Updates != 1 || !strings.Contains(first.Text, "lifted") || !strings.Contains(string(first.Blocks), "lifted") {
		t.Errorf("first message not marked lifted: updates=%d text=%q", first.Updates, first.Text)
	}
	if first.Metadata == nil || first.Metadata.EventPayload["key"] != "k1" {
		t.Errorf("update changed the first message's metadata: %+v", first.Metadata)
	}
	replies := h.fake.Replies(h.fake.Channel(), root)
	if len(replies) != 2 {
		t.Fatalf("%d replies, want 2", len(replies))
	}
	if !strings.Contains(string(replies[0].Blocks), "P0 fix") || !strings.Contains(replies[1].Text, "lifted") {
		t.Errorf("replies: %q / %q", replies[0].Text, replies[1].Text)
	}
	// A lift whose first message is gone is still announced, as a new message.
	lost := lift
	lost.Key = "k4"
	if _, err := h.n.Send(ctx, lost, notify.Receipt{"channel": h.fake.Channel(), "ts": "1.000001"}); err != nil {
		t.Fatalf("lift with a lost thread: %v", err)
	}
	if n := len(h.fake.Messages(h.fake.Channel())); n != 4 {
		t.Errorf("%d messages, want 4", n)
	}
}

func TestExactlyOnce(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		kind  notify.Kind
		prior bool
		fault *slacktest.Fault
	}{
		{name: "top-level resend", kind: notify.FreezeStarted},
		{name: "thread resend", kind: notify.BudgetWarning, prior: true},
		{name: "lift resend", kind: notify.FreezeLifted, prior: true},
		{name: "response lost after post", kind: notify.FreezeStarted,
			fault: &slacktest.Fault{LoseResponse: true, Path: "chat.postMessage"}},
		{name: "thread response lost after post", kind: notify.ManualFreeze, prior: true,
			fault: &slacktest.Fault{LoseResponse: true, Path: "chat.postMessage"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			var prior notify.Receipt
			if tc.prior {
				var err error
				if prior, err = h.n.Send(ctx, freezeMsg("root", 1), nil); err != nil {
					t.Fatal(err)
				}
			}
			m := freezeMsg("the-key", 1)
			m.Kind = tc.kind
			before := len(h.fake.Accepted("chat.postMessage"))
			if tc.fault != nil {
				h.fake.Fail(1, *tc.fault)
			}
			first, err1 := h.n.Send(ctx, m, prior)
			if tc.fault != nil {
				if err1 == nil {
					t.Fatal("lost response: no error")
				}
				if _, ok := notify.RetryAfter(err1); !ok {
					t.Fatalf("lost response: %v is not retryable", err1)
				}
			} else if err1 != nil {
				t.Fatal(err1)
			}
			second, err2 := h.n.Send(ctx, m, prior)
			if err2 != nil {
				t.Fatal(err2)
			}
			if posts := len(h.fake.Accepted("chat.postMessage")) - before; posts != 1 {
				t.Errorf("%d posts for one key, want 1", posts)
			}
			if err1 == nil && fmt.Sprint(first) != fmt.Sprint(second) {
				t.Errorf("receipts differ: %v vs %v", first, second)
			}
			for _, c := range h.fake.Accepted("conversations.history", "conversations.replies") {
				if c.Params["include_all_metadata"] != "1" || c.Params["limit"] == "" || c.Params["oldest"] == "" {
					t.Errorf("lookup not cheap/complete: %v", c.Params)
				}
			}
		})
	}
}

func TestWebhookOnly(t *testing.T) {
	h := newHarness(t, nil)
	h.n = mustNew(t, slack.Config{WebhookURL: h.fake.WebhookURL(), Logger: slog.New(slog.NewTextHandler(h.logs, nil))})
	ctx := context.Background()
	start := freezeMsg("w1", 60)
	rec, err := h.n.Send(ctx, start, nil)
	if err != nil {
		t.Fatal(err)
	}
	lift := start
	lift.Key, lift.Kind = "w2", notify.FreezeLifted
	if _, err := h.n.Send(ctx, lift, rec); err != nil {
		t.Fatal(err)
	}
	posts := h.fake.Webhooks()
	if len(posts) != 2 {
		t.Fatalf("%d webhook posts, want 2", len(posts))
	}
	if !strings.Contains(posts[1].Text, "lifted") || len(blocksOf(t, posts[0].Blocks)) > slacktest.MaxBlocks {
		t.Errorf("webhook posts: %q", posts[1].Text)
	}
	if len(h.fake.Accepted("chat.postMessage", "chat.update")) != 0 {
		t.Error("webhook mode used the Web API")
	}
	if strings.Contains(h.logs.String(), slacktest.DefaultWebhookPath) {
		t.Error("log contains the webhook URL")
	}
}

func mustNew(t *testing.T, cfg slack.Config) *slack.Notifier {
	t.Helper()
	n, err := slack.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		webhook   bool
		badToken  bool
		fault     *slacktest.Fault
		retry     bool
		after     time.Duration
		permanent bool
	}{
		{name: "429 retry-after", fault: &slacktest.Fault{Status: 429, RetryAfter: 7 * time.Second}, retry: true, after: 7 * time.Second},
		{name: "500", fault: &slacktest.Fault{Status: 500}, retry: true},
		{name: "503 on post", fault: &slacktest.Fault{Status: 503, Path: "chat.postMessage"}, retry: true},
		{name: "timeout", fault: &slacktest.Fault{Delay: 2 * time.Second}, retry: true},
		{name: "invalid_auth", fault: &slacktest.Fault{Error: "invalid_auth"}, permanent: true},
		{name: "channel_not_found", fault: &slacktest.Fault{Error: "channel_not_found", Path: "chat.postMessage"}, permanent: true},
		{name: "slack internal_error", fault: &slacktest.Fault{Error: "internal_error"}, retry: true},
		{name: "wrong token", badToken: true, permanent: true},
		{name: "webhook 429", webhook: true, fault: &slacktest.Fault{Status: 429, RetryAfter: 3 * time.Second}, retry: true, after: 3 * time.Second},
		{name: "webhook 500", webhook: true, fault: &slacktest.Fault{Status: 500}, retry: true},
		{name: "webhook 400", webhook: true, fault: &slacktest.Fault{Status: 400}, permanent: true},
		{name: "webhook timeout", webhook: true, fault: &slacktest.Fault{Delay: 2 * time.Second}, retry: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *slack.Config) {
				if tc.badToken {
					c.Token = "xoxb-wrong-secret-token"
				}
			})
			if tc.webhook {
				h.n = mustNew(t, slack.Config{WebhookURL: h.fake.WebhookURL(), HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
					Logger: slog.New(slog.NewTextHandler(h.logs, nil))})
			}
			if tc.fault != nil {
				h.fake.Fail(1, *tc.fault)
			}
			_, err := h.n.Send(context.Background(), freezeMsg("e1", 2), nil)
			if err == nil {
				t.Fatal("no error")
			}
			after, retry := notify.RetryAfter(err)
			if retry != tc.retry || notify.IsPermanent(err) != tc.permanent {
				t.Fatalf("err %v: retry=%v permanent=%v", err, retry, notify.IsPermanent(err))
			}
			if after != tc.after {
				t.Errorf("retry after %s, want %s", after, tc.after)
			}
			assertNoSecrets(t, err.Error()+h.logs.String(), h.fake.Token(), "xoxb-wrong-secret-token", slacktest.DefaultWebhookPath)
		})
	}
}

func assertNoSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			t.Errorf("secret %q leaked in %q", sec, s)
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	// An unreachable webhook: the HTTP error names the URL.
	logs := &bytes.Buffer{}
	secretURL := "http://127.0.0.1:1/services/T0/B0/verysecretpath"
	n := mustNew(t, slack.Config{WebhookURL: secretURL, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		HTTPClient: &http.Client{Timeout: time.Second}})
	_, err := n.Send(context.Background(), freezeMsg("s1", 1), nil)
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := notify.RetryAfter(err); !ok {
		t.Errorf("connection error not retryable: %v", err)
	}
	assertNoSecrets(t, err.Error()+logs.String(), "verysecretpath")

	// Successful sends log no token.
	h := newHarness(t, nil)
	if _, err := h.n.Send(context.Background(), freezeMsg("s2", 1), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h.logs.String(), "slack notification sent") {
		t.Errorf("no log line: %s", h.logs.String())
	}
	assertNoSecrets(t, h.logs.String(), h.fake.Token())
}

func TestConfigAndMessageValidation(t *testing.T) {
	for _, cfg := range []slack.Config{
		{},
		{Token: "xoxb-1", Channel: "#freezes"},
		{Token: "xoxb-1 2", Channel: "C0123"},
		{WebhookURL: "ftp://example.com/x"},
	} {
		if _, err := slack.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if cfg.Token != "" && strings.Contains(err.Error(), cfg.Token) {
			t.Errorf("config error leaks the token: %v", err)
		}
	}
	h := newHarness(t, nil)
	_, err := h.n.Send(context.Background(), notify.Message{Key: "x", Kind: "bogus"}, nil)
	if !notify.IsPermanent(err) {
		t.Errorf("invalid message: %v", err)
	}
	if len(h.fake.Calls()) != 0 {
		t.Error("invalid message reached Slack")
	}
}
