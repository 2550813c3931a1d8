// Package slacktest is an in-process, strict fake of the parts of the Slack
// Web API and incoming webhooks that slokeeper (and Alertmanager's Slack
// receiver) use. It checks every request against Slack's documented
// contract (authentication, required arguments, Block Kit shape and
// limits), answers the way Slack does, and records accepted and rejected
// calls so tests can assert on what reached "Slack".
//
// Served endpoints, under URL():
//
//	POST /api/chat.postMessage        form (slack-go) or JSON (Bearer token) body
//	POST /api/chat.update
//	GET|POST /api/conversations.history
//	GET|POST /api/conversations.replies
//	POST /api/auth.test
//	POST <WebhookURL()>                incoming webhook (JSON, or form "payload")
//
// Faults (429 with Retry-After, 5xx, Slack errors, slow answers) can be
// injected for the next N requests with Fail.
//
// It is meant for tests only.
package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify/internal/fakeapi"
)

// Defaults used when no option overrides them.
const (
	DefaultToken   = "xoxb-000000000000-0000000000000-slokeepertesttokenxx"
	DefaultChannel = "C0SLOKEEPER"
	// DefaultWebhookPath is the path of the incoming webhook; like Slack's
	// it embeds a secret.
	DefaultWebhookPath = "/services/T0SLOKEEP/B0SLOKEEP/webhooksecret0000000000"
)

// Slack's documented limits, enforced by the fake.
const (
	MaxBlocks            = 50
	MaxSectionText       = 3000
	MaxSectionFields     = 10
	MaxFieldText         = 2000
	MaxHeaderText        = 150
	MaxContextElements   = 10
	MaxActionsElements   = 25
	MaxButtonText        = 75
	MaxURL               = 3000
	MaxBlockID           = 255
	MaxActionID          = 255
	MaxMessageText       = 40000
	MaxAttachments       = 100
	MaxHistoryLimit      = 999
	DefaultHistoryLimit  = 100
	botUserID            = "U0SLOKEEPBOT"
	botID                = "B0SLOKEEPBOT"
	webhookContentLength = 1 << 20
)

// Option configures a Server.
type Option func(*Server)

// WithToken sets the bot token requests must carry.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithChannels sets the channels that exist; the first is Channel().
// Use IDs ("C0123ABCD"); a "#name" (as Alertmanager configurations use)
// is accepted by chat.postMessage too, as a channel of its own.
func WithChannels(ids ...string) Option {
	return func(s *Server) {
		s.channelOrder = append([]string(nil), ids...)
	}
}

// WithWebhookPath sets the path of the incoming webhook.
func WithWebhookPath(p string) Option { return func(s *Server) { s.webhookPath = p } }

// Metadata is Slack message metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Message is a message stored by the fake (posted with chat.postMessage,
// possibly changed by chat.update).
type Message struct {
	Channel     string
	TS          string
	ThreadTS    string // set on thread replies
	Text        string
	Blocks      json.RawMessage
	Attachments json.RawMessage
	Metadata    *Metadata
	Updates     int // how many chat.update calls changed it
}

// WebhookPost is a payload accepted by the incoming webhook.
type WebhookPost struct {
	Text        string
	Channel     string
	Username    string
	ThreadTS    string
	Blocks      json.RawMessage
	Attachments json.RawMessage
	Raw         []byte
}

// Call is one request the fake received.
type Call struct {
	At     time.Time
	Method string // HTTP method
	Path   string
	API    string // Slack method ("chat.postMessage") or "webhook"
	Status int    // HTTP status answered
	// Accepted is true when the request passed every check and was applied.
	Accepted bool
	// Fault is true when an injected fault answered the request.
	Fault bool
	// Error is the Slack error code answered ("invalid_auth",
	// "invalid_blocks"), empty when accepted.
	Error string
	// Reason explains a rejection in words.
	Reason string
	// Params are the request arguments (form values, or top-level JSON
	// fields with objects and arrays as JSON text), without the token.
	Params map[string]string
	// Body is the raw body of webhook calls.
	Body []byte
}

// Fault is a failure to inject.
type Fault struct {
	// Status is the HTTP status to answer (429, 500, 503...). 0 with an
	// Error answers 200 with that Slack error; 0 without an Error, after
	// Delay, serves the request normally.
	Status int
	// RetryAfter is sent as the Retry-After header (whole seconds, rounded
	// up) with a 429.
	RetryAfter time.Duration
	// Delay holds the request before answering (or until the client gives
	// up): longer than the client's timeout, it is a timeout.
	Delay time.Duration
	// Error answers HTTP 200 {"ok":false,"error":Error}.
	Error string
	// LoseResponse applies the request normally, then drops the
	// connection without answering: Slack acted but the client never
	// learns it (a crash or a network failure at the worst moment).
	LoseResponse bool
	// Path restricts the fault to requests whose path ends with it
	// ("chat.postMessage", "chat.update"); empty matches every request.
	Path string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv          *httptest.Server
	token        string
	webhookPath  string
	channelOrder []string
	done         chan struct{}
	closeOnce    sync.Once

	calls  fakeapi.Log[Call]
	faults fakeapi.Faults[Fault]

	mu       sync.Mutex
	channels map[string][]*Message // top-level and replies, in post order
	webhooks []WebhookPost
	lastTS   int64 // microseconds
}

// New starts a fake Slack and closes it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake Slack; the caller must Close it.
func NewServer(opts ...Option) *Server {
	s := &Server{
		token:       DefaultToken,
		webhookPath: DefaultWebhookPath,
		done:        make(chan struct{}),
		channels:    map[string][]*Message{},
	}
	for _, o := range opts {
		o(s)
	}
	if len(s.channelOrder) == 0 {
		s.channelOrder = []string{DefaultChannel}
	}
	for _, c := range s.channelOrder {
		s.channels[c] = nil
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server, releasing requests held by a Delay fault.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base URL, for slack.OptionAPIURL (ends with "/").
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// WebhookURL is the incoming webhook URL.
func (s *Server) WebhookURL() string { return s.srv.URL + s.webhookPath }

// Token is the bot token the fake accepts.
func (s *Server) Token() string { return s.token }

// Channel is the first channel.
func (s *Server) Channel() string { return s.channelOrder[0] }

// AddChannel makes a channel exist.
func (s *Server) AddChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[id]; !ok {
		s.channels[id] = nil
	}
}

// Fail makes the next n requests (matching f.Path) fail with f.
func (s *Server) Fail(n int, f Fault) { s.faults.Add(n, f.Path, f) }

// Calls returns every request received, in order.
func (s *Server) Calls() []Call { return s.calls.All() }

// Accepted returns the requests that passed every check, optionally only
// those of the given API methods ("chat.postMessage", "webhook").
func (s *Server) Accepted(apis ...string) []Call {
	return s.calls.Filter(func(c Call) bool { return c.Accepted && matchAPI(c, apis) })
}

// Rejected returns the requests the fake refused as invalid (not those
// answered by an injected fault).
func (s *Server) Rejected(apis ...string) []Call {
	return s.calls.Filter(func(c Call) bool { return !c.Accepted && !c.Fault && matchAPI(c, apis) })
}

func matchAPI(c Call, apis []string) bool {
	if len(apis) == 0 {
		return true
	}
	for _, a := range apis {
		if c.API == a {
			return true
		}
	}
	return false
}

// Messages returns the messages of a channel (top-level messages and
// thread replies) in the order they were posted.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.channels[channel]))
	for _, m := range s.channels[channel] {
		out = append(out, *m)
	}
	return out
}

// Message returns the message with the given ts in a channel.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.find(channel, ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Replies returns the thread replies to the message ts, in order.
func (s *Server) Replies(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channel] {
		if m.ThreadTS == ts && m.TS != ts {
			out = append(out, *m)
		}
	}
	return out
}

// Webhooks returns the payloads accepted by the incoming webhook.
func (s *Server) Webhooks() []WebhookPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookPost(nil), s.webhooks...)
}

func (s *Server) find(channel, ts string) *Message {
	for _, m := range s.channels[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// nextTS returns a unique, increasing Slack timestamp close to now.
func (s *Server) nextTS() string {
	now := time.Now().UnixMicro()
	if now <= s.lastTS {
		now = s.lastTS + 1
	}
	s.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}

func (s *Server) record(c Call) {
	c.At = time.Now()
	s.calls.Add(c)
}

// applyFault answers r with an injected fault; it returns false when the
// request must then be served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, call Call) bool {
	if f.Delay > 0 {
		if why := fakeapi.Hold(r, f.Delay, 4<<20, s.done); why != "" {
			call.Fault, call.Reason, call.Status = true, why, 0
			s.record(call)
			return true
		}
	}
	call.Fault = true
	switch {
	case f.Status == http.StatusTooManyRequests:
		fakeapi.SetRetryAfter(w, f.RetryAfter)
		call.Status, call.Error, call.Reason = f.Status, "ratelimited", "injected rate limit"
		s.record(call)
		writeJSON(w, f.Status, map[string]any{"ok": false, "error": "ratelimited"})
		return true
	case f.Status != 0:
		call.Status, call.Reason = f.Status, fmt.Sprintf("injected HTTP %d", f.Status)
		s.record(call)
		fakeapi.WriteHTMLError(w, f.Status)
		return true
	case f.Error != "":
		call.Status, call.Error, call.Reason = http.StatusOK, f.Error, "injected Slack error"
		s.record(call)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": f.Error})
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	api := ""
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		api = strings.TrimPrefix(r.URL.Path, "/api/")
	case strings.HasPrefix(r.URL.Path, "/services/"):
		api = "webhook"
	}
	call := Call{Method: r.Method, Path: r.URL.Path, API: api}
	if f, ok := s.faults.Take(r.URL.Path); ok {
		if f.LoseResponse {
			s.loseResponse(w, r, api, call)
			return
		}
		if s.applyFault(w, r, &f, call) {
			return
		}
	}
	s.route(w, r, api, call)
}

// loseResponse serves r into a recorder, then closes the connection.
func (s *Server) loseResponse(w http.ResponseWriter, r *http.Request, api string, call Call) {
	s.route(httptest.NewRecorder(), r, api, call)
	s.calls.UpdateLast(func(c *Call) {
		c.Fault, c.Reason = true, "injected: response lost after the request was applied"
	})
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, api string, call Call) {
	if api == "webhook" {
		s.serveWebhook(w, r, call)
		return
	}
	if api == "" {
		call.Status, call.Error, call.Reason = http.StatusNotFound, "unknown_method", "no such endpoint"
		s.record(call)
		http.NotFound(w, r)
		return
	}
	s.serveAPI(w, r, call)
}

// Heal drops every pending fault: the service works again.
func (s *Server) Heal() { s.faults.Clear() }
