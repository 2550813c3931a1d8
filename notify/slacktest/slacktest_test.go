package slacktest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify/slacktest"
)

type answer struct {
	status int
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	TS     string `json:"ts"`
	body   string
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(b)}
	_ = json.Unmarshal(b, &a)
	return a
}

func form(t *testing.T, s *slacktest.Server, method string, vals url.Values, bearer string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func jsonPost(t *testing.T, u, body, bearer string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, req)
}

func blocksJSON(n int, text string) string {
	var parts []string
	for range n {
		parts = append(parts, fmt.Sprintf(`{"type":"section","text":{"type":"mrkdwn","text":%q}}`, text))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestPostMessageChecks(t *testing.T) {
	s := slacktest.New(t)
	ch := s.Channel()
	tests := []struct {
		name   string
		vals   url.Values
		bearer string
		want   string // "" for ok
	}{
		{"bearer ok", url.Values{"channel": {ch}, "text": {"hi"}}, s.Token(), ""},
		{"form token ok", url.Values{"channel": {ch}, "text": {"hi"}, "token": {s.Token()}}, "", ""},
		{"no auth", url.Values{"channel": {ch}, "text": {"hi"}}, "", "not_authed"},
		{"wrong token", url.Values{"channel": {ch}, "text": {"hi"}}, "xoxb-nope", "invalid_auth"},
		{"no channel", url.Values{"text": {"hi"}}, s.Token(), "channel_not_found"},
		{"unknown channel", url.Values{"channel": {"CNOPE"}, "text": {"hi"}}, s.Token(), "channel_not_found"},
		{"no text", url.Values{"channel": {ch}}, s.Token(), "no_text"},
		{"50 blocks", url.Values{"channel": {ch}, "blocks": {blocksJSON(50, "x")}}, s.Token(), ""},
		{"51 blocks", url.Values{"channel": {ch}, "blocks": {blocksJSON(51, "x")}}, s.Token(), "invalid_blocks"},
		{"section 3001", url.Values{"channel": {ch}, "blocks": {blocksJSON(1, strings.Repeat("é", 3001))}}, s.Token(), "invalid_blocks"},
		{"header 151", url.Values{"channel": {ch}, "blocks": {`[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]`}}, s.Token(), "invalid_blocks"},
		{"header mrkdwn", url.Values{"channel": {ch}, "blocks": {`[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]`}}, s.Token(), "invalid_blocks"},
		{"unknown block", url.Values{"channel": {ch}, "blocks": {`[{"type":"banner"}]`}}, s.Token(), "invalid_blocks"},
		{"11 fields", url.Values{"channel": {ch}, "blocks": {`[{"type":"section","fields":[` + strings.TrimSuffix(strings.Repeat(`{"type":"mrkdwn","text":"f"},`, 11), ",") + `]}]`}}, s.Token(), "invalid_blocks"},
		{"dup action ids", url.Values{"channel": {ch}, "blocks": {`[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"x"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"y"}}]}]`}}, s.Token(), "invalid_blocks"},
		{"blocks not json", url.Values{"channel": {ch}, "blocks": {`[{`}}, s.Token(), "invalid_blocks"},
		{"bad metadata", url.Values{"channel": {ch}, "text": {"x"}, "metadata": {`{"event_type":"e"}`}}, s.Token(), "invalid_metadata_schema"},
		{"unknown thread", url.Values{"channel": {ch}, "text": {"x"}, "thread_ts": {"1.000001"}}, s.Token(), "thread_not_found"},
		{"text too long", url.Values{"channel": {ch}, "text": {strings.Repeat("x", 40001)}}, s.Token(), "msg_too_long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := form(t, s, "chat.postMessage", tc.vals, tc.bearer)
			if tc.want == "" && (!a.OK || a.TS == "") {
				t.Fatalf("rejected: %s", a.body)
			}
			if tc.want != "" && (a.OK || a.Error != tc.want) {
				t.Fatalf("got %s, want error %s", a.body, tc.want)
			}
		})
	}
	if got := len(s.Rejected("chat.postMessage")); got != len(tests)-3 {
		t.Errorf("%d rejected calls recorded", got)
	}
	for _, c := range s.Rejected() {
		if c.Reason == "" || c.Error == "" {
			t.Errorf("rejection without reason: %+v", c)
		}
		if _, ok := c.Params["token"]; ok {
			t.Error("recorded params keep the token")
		}
	}
}

func TestJSONBodyAndHistory(t *testing.T) {
	s := slacktest.New(t)
	ch := s.Channel()
	// JSON bodies (as Alertmanager's Slack receiver with a bot token sends) need the header.
	if a := jsonPost(t, s.APIURL()+"chat.postMessage", `{"channel":"`+ch+`","text":"x","token":"`+s.Token()+`"}`, ""); a.OK {
		t.Error("JSON body with token field accepted")
	}
	root := jsonPost(t, s.APIURL()+"chat.postMessage", `{"channel":"`+ch+`","text":"root","metadata":{"event_type":"e","event_payload":{"key":"k1"}}}`, s.Token())
	if !root.OK {
		t.Fatalf("post: %s", root.body)
	}
	reply := form(t, s, "chat.postMessage", url.Values{"channel": {ch}, "text": {"reply"}, "thread_ts": {root.TS}}, s.Token())
	if !reply.OK {
		t.Fatalf("reply: %s", reply.body)
	}
	var hist struct {
		OK       bool `json:"ok"`
		Messages []struct {
			TS       string              `json:"ts"`
			Metadata *slacktest.Metadata `json:"metadata"`
		} `json:"messages"`
	}
	get := func(q url.Values) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.APIURL()+"conversations.history?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+s.Token())
		a := do(t, req)
		hist.Messages = nil
		if err := json.Unmarshal([]byte(a.body), &hist); err != nil || !hist.OK {
			t.Fatalf("history: %s", a.body)
		}
	}
	get(url.Values{"channel": {ch}})
	if len(hist.Messages) != 1 || hist.Messages[0].Metadata != nil {
		t.Errorf("history without include_all_metadata: %+v", hist.Messages)
	}
	get(url.Values{"channel": {ch}, "include_all_metadata": {"1"}})
	if len(hist.Messages) != 1 || hist.Messages[0].Metadata == nil || hist.Messages[0].Metadata.EventPayload["key"] != "k1" {
		t.Errorf("history with metadata: %+v", hist.Messages)
	}
	get(url.Values{"channel": {ch}, "oldest": {fmt.Sprint(time.Now().Add(time.Hour).Unix())}})
	if len(hist.Messages) != 0 {
		t.Errorf("oldest filter: %+v", hist.Messages)
	}
	if a := form(t, s, "chat.update", url.Values{"channel": {ch}, "ts": {"9.000001"}, "text": {"x"}}, s.Token()); a.Error != "message_not_found" {
		t.Errorf("update of unknown ts: %s", a.body)
	}
	if a := form(t, s, "chat.update", url.Values{"channel": {ch}, "ts": {root.TS}, "text": {"edited"}}, s.Token()); !a.OK {
		t.Errorf("update: %s", a.body)
	}
	if m, _ := s.Message(ch, root.TS); m.Text != "edited" || m.Updates != 1 || m.Metadata == nil {
		t.Errorf("after update: %+v", m)
	}
	if r := s.Replies(ch, root.TS); len(r) != 1 || r[0].Text != "reply" {
		t.Errorf("replies: %+v", r)
	}
}

// An Alertmanager 0.25 Slack receiver payload (slack_configs with api_url
// set to the webhook).
const alertmanagerPayload = `{"channel":"#slo-alerts","username":"Alertmanager","icon_emoji":":fire:","link_names":false,
"attachments":[{"title":"[FIRING:1] SLOBurnRateHigh","title_link":"http://am:9093/#/alerts","pretext":"","text":"checkout burns budget",
"fallback":"[FIRING:1] SLOBurnRateHigh","callback_id":"","footer":"","color":"danger","mrkdwn_in":["fallback","pretext","text"],
"fields":[{"title":"severity","value":"warning","short":true}],"actions":[{"type":"button","text":"Runbook","url":"https://runbooks.example.com"}]}]}`

func TestWebhook(t *testing.T) {
	s := slacktest.New(t)
	tests := []struct {
		name   string
		url    string
		body   string
		status int
	}{
		{"alertmanager attachments", s.WebhookURL(), alertmanagerPayload, 200},
		{"blocks", s.WebhookURL(), `{"text":"t","blocks":` + blocksJSON(2, "x") + `}`, 200},
		{"not json", s.WebhookURL(), `{`, 400},
		{"empty", s.WebhookURL(), `{"username":"x"}`, 400},
		{"bad blocks", s.WebhookURL(), `{"blocks":` + blocksJSON(51, "x") + `}`, 400},
		{"unknown hook", s.URL() + "/services/T/B/wrong", `{"text":"x"}`, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := jsonPost(t, tc.url, tc.body, "")
			if a.status != tc.status {
				t.Fatalf("status %d (%s), want %d", a.status, a.body, tc.status)
			}
			if tc.status == 200 && a.body != "ok" {
				t.Errorf("body %q", a.body)
			}
		})
	}
	posts := s.Webhooks()
	if len(posts) != 2 || posts[0].Channel != "#slo-alerts" || !strings.Contains(string(posts[0].Attachments), "SLOBurnRateHigh") {
		t.Errorf("webhook posts: %+v", posts)
	}
}

func TestFaults(t *testing.T) {
	s := slacktest.New(t)
	s.Fail(2, slacktest.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond, Path: "chat.postMessage"})
	s.Fail(1, slacktest.Fault{Status: 503})
	vals := url.Values{"channel": {s.Channel()}, "text": {"x"}}
	for i, want := range []int{429, 429, 503, 200} {
		req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"chat.postMessage", strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+s.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	s.Fail(1, slacktest.Fault{Delay: 5 * time.Second})
	c := &http.Client{Timeout: 100 * time.Millisecond}
	start := time.Now()
	if _, err := c.Post(s.WebhookURL(), "application/json", strings.NewReader(`{"text":"x"}`)); err == nil {
		t.Error("delay fault did not time out")
	}
	if time.Since(start) > 2*time.Second {
		t.Error("delay fault held the client too long")
	}
	if len(s.Messages(s.Channel())) != 1 || len(s.Webhooks()) != 0 {
		t.Error("faulted requests were applied")
	}
}
