package alertmanager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// Strict, minimal fakes of the three endpoints the generated receivers
// call. Each accepts only what the real service documents, records what it
// accepted and why it refused anything else.

type recorder[T any] struct {
	mu       sync.Mutex
	accepted []T
	rejected []string
}

func (r *recorder[T]) accept(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted = append(r.accepted, v)
}

func (r *recorder[T]) reject(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected = append(r.rejected, why)
}

// snapshot returns copies of what was accepted and refused so far.
func (r *recorder[T]) snapshot() ([]T, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.accepted), slices.Clone(r.rejected)
}

// decodeJSON reads a POSTed JSON body strictly: method, media type, no
// unknown fields, nothing after the value.
func decodeJSON(r *http.Request, v any) error {
	if r.Method != http.MethodPost {
		return fmt.Errorf("method %s, want POST", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fmt.Errorf("content type %q, want application/json", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding the body: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// pdEvent is a PagerDuty Events API v2 event.
type pdEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary       string            `json:"summary"`
		Source        string            `json:"source"`
		Severity      string            `json:"severity"`
		Timestamp     string            `json:"timestamp"`
		Component     string            `json:"component"`
		Group         string            `json:"group"`
		Class         string            `json:"class"`
		CustomDetails map[string]string `json:"custom_details"`
	} `json:"payload"`
	Images    []json.RawMessage `json:"images"`
	Links     []json.RawMessage `json:"links"`
	Client    string            `json:"client"`
	ClientURL string            `json:"client_url"`
}

// validate applies the Events API v2 rules.
func (e *pdEvent) validate(key string) error {
	switch {
	case e.RoutingKey != key:
		return fmt.Errorf("routing_key %q is not the integration's key", e.RoutingKey)
	case !slices.Contains([]string{"trigger", "acknowledge", "resolve"}, e.EventAction):
		return fmt.Errorf("event_action %q", e.EventAction)
	case e.DedupKey == "" || len(e.DedupKey) > 255:
		return fmt.Errorf("dedup_key %q: required (Alertmanager always sets it), at most 255 characters", e.DedupKey)
	case e.EventAction != "trigger":
		return nil
	case e.Payload == nil:
		return fmt.Errorf("trigger without payload")
	case e.Payload.Summary == "" || len(e.Payload.Summary) > 1024:
		return fmt.Errorf("payload.summary: required, at most 1024 characters, got %d", len(e.Payload.Summary))
	case e.Payload.Source == "":
		return fmt.Errorf("payload.source: required")
	case !slices.Contains([]string{"critical", "error", "warning", "info"}, e.Payload.Severity):
		return fmt.Errorf("payload.severity %q", e.Payload.Severity)
	}
	if ts := e.Payload.Timestamp; ts != "" {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return fmt.Errorf("payload.timestamp %q: %v", ts, err)
		}
	}
	return nil
}

type fakePagerDuty struct {
	recorder[pdEvent]
	srv *httptest.Server
	key string
}

func newFakePagerDuty(t *testing.T, key string) *fakePagerDuty {
	f := &fakePagerDuty{key: key}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e pdEvent
		err := decodeJSON(r, &e)
		if err == nil && r.URL.Path != "/v2/enqueue" {
			err = fmt.Errorf("path %s, want /v2/enqueue", r.URL.Path)
		}
		if err == nil {
			err = e.validate(f.key)
		}
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			f.reject(err.Error())
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{err.Error()}})
			return
		}
		f.accept(e)
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": e.DedupKey})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePagerDuty) url() string { return f.srv.URL + "/v2/enqueue" }

// slackMessage is an incoming-webhook payload with legacy attachments,
// what Alertmanager's Slack receiver sends.
type slackMessage struct {
	Channel     string `json:"channel"`
	Username    string `json:"username"`
	IconEmoji   string `json:"icon_emoji"`
	IconURL     string `json:"icon_url"`
	LinkNames   bool   `json:"link_names"`
	Text        string `json:"text"`
	Attachments []struct {
		Title      string            `json:"title"`
		TitleLink  string            `json:"title_link"`
		Pretext    string            `json:"pretext"`
		Text       string            `json:"text"`
		Fallback   string            `json:"fallback"`
		CallbackID string            `json:"callback_id"`
		Fields     []json.RawMessage `json:"fields"`
		Actions    []json.RawMessage `json:"actions"`
		ImageURL   string            `json:"image_url"`
		ThumbURL   string            `json:"thumb_url"`
		Footer     string            `json:"footer"`
		Color      string            `json:"color"`
		MrkdwnIn   []string          `json:"mrkdwn_in"`
	} `json:"attachments"`
}

type fakeSlack struct {
	recorder[slackMessage]
	srv     *httptest.Server
	path    string
	channel string
}

func newFakeSlack(t *testing.T, channel string) *fakeSlack {
	f := &fakeSlack{path: "/services/T0000TEST/B0000TEST/abcdefghijklmnopqrstuvwx", channel: channel}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != f.path {
			f.reject("unknown webhook " + r.URL.Path)
			http.Error(w, "no_service", http.StatusNotFound)
			return
		}
		var m slackMessage
		err := decodeJSON(r, &m)
		switch {
		case err != nil:
		case m.Text == "" && len(m.Attachments) == 0:
			err = fmt.Errorf("no text and no attachments")
		case m.Channel != f.channel:
			err = fmt.Errorf("channel %q, want %q", m.Channel, f.channel)
		}
		for _, a := range m.Attachments {
			if err == nil && a.Text == "" && a.Fallback == "" {
				err = fmt.Errorf("attachment without text or fallback")
			}
			if err == nil && len(a.Text) > 8000 {
				err = fmt.Errorf("attachment text of %d characters", len(a.Text))
			}
		}
		if err != nil {
			f.reject(err.Error())
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.accept(m)
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) url() string { return f.srv.URL + f.path }

// webhookMessage is Alertmanager's webhook payload, version 4.
type webhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

type fakeWebhook struct {
	recorder[webhookMessage]
	srv *httptest.Server
}

func newFakeWebhook(t *testing.T) *fakeWebhook {
	f := &fakeWebhook{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m webhookMessage
		err := decodeJSON(r, &m)
		switch {
		case err != nil:
		case r.URL.Path != "/dead-letter":
			err = fmt.Errorf("path %s", r.URL.Path)
		case m.Version != "4" || len(m.Alerts) == 0 || (m.Status != "firing" && m.Status != "resolved"):
			err = fmt.Errorf("version %q, status %q, %d alerts", m.Version, m.Status, len(m.Alerts))
		}
		if err != nil {
			f.reject(err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.accept(m)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWebhook) url() string { return f.srv.URL + "/dead-letter" }

// mustJSON renders v for a request body.
func mustJSON(t *testing.T, v any) *bytes.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
