// Package pagerdutytest is an in-process, strict fake of the PagerDuty
// Events API v2 (alert and change events) and of the REST API's incident
// listing, for tests. It checks every request against PagerDuty's
// documented contract, answers the way PagerDuty does, keeps the state of
// alerts by dedup key, and records accepted and rejected calls.
//
// Served endpoints, under URL():
//
//	POST /v2/enqueue          alert events (trigger, acknowledge, resolve)
//	POST /v2/change/enqueue   change events
//	GET  /incidents           REST API v2 (Authorization: Token token=...)
//
// Faults (429 with Retry-After, 5xx, slow answers, lost answers) can be
// injected for the next N requests with Fail.
package pagerdutytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/notify/internal/fakeapi"
)

// Defaults used when no option overrides them.
const (
	DefaultRoutingKey = "R0SLOKEEPERTESTROUTINGKEY0000000" // 32 characters
	DefaultAPIToken   = "u+slokeeperTestApiToken"
)

// PagerDuty's documented limits, enforced by the fake.
const (
	RoutingKeyLength = 32
	MaxDedupKey      = 255
	MaxSummary       = 1024
	MaxPayloadBytes  = 512 * 1024
	MaxListLimit     = 100
	DefaultListLimit = 25
)

// Option configures a Server.
type Option func(*Server)

// WithRoutingKey sets the integration (routing) key events must carry.
func WithRoutingKey(k string) Option { return func(s *Server) { s.routingKey = k } }

// WithAPIToken sets the REST API token.
func WithAPIToken(tok string) Option { return func(s *Server) { s.apiToken = tok } }

// Link is a link of an event.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Payload is the payload of an alert event.
type Payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// Event is an accepted alert event.
type Event struct {
	RoutingKey string           `json:"routing_key"`
	Action     string           `json:"event_action"`
	DedupKey   string           `json:"dedup_key,omitempty"`
	Client     string           `json:"client,omitempty"`
	ClientURL  string           `json:"client_url,omitempty"`
	Payload    *Payload         `json:"payload,omitempty"`
	Links      []Link           `json:"links,omitempty"`
	Images     []map[string]any `json:"images,omitempty"`
	Raw        []byte           `json:"-"`
}

// ChangePayload is the payload of a change event.
type ChangePayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source,omitempty"`
	Timestamp     string         `json:"timestamp,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// ChangeEvent is an accepted change event.
type ChangeEvent struct {
	RoutingKey string        `json:"routing_key"`
	Payload    ChangePayload `json:"payload"`
	Links      []Link        `json:"links,omitempty"`
	Raw        []byte        `json:"-"`
}

// Incident is an incident the REST API lists.
type Incident struct {
	ID        string
	Title     string
	ServiceID string
	Status    string // triggered, acknowledged, resolved
	Urgency   string // high, low
	Priority  string // e.g. "P1"; empty for none
	CreatedAt time.Time
}

// Alert states, by dedup key.
const (
	StatusTriggered    = "triggered"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// Call is one request the fake received.
type Call struct {
	At       time.Time
	Method   string
	Path     string
	Query    string
	Status   int
	Accepted bool
	Fault    bool
	// Reason explains a rejection or a fault.
	Reason string
	Body   []byte
}

// Fault is a failure to inject.
type Fault struct {
	// Status is the HTTP status to answer (429, 500, 503...); 0 serves the
	// request normally after Delay.
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up).
	RetryAfter time.Duration
	// Delay holds the request before answering (or until the client gives
	// up): longer than the client's timeout, it is a timeout.
	Delay time.Duration
	// LoseResponse applies the request, then drops the connection.
	LoseResponse bool
	// Path restricts the fault to requests whose path ends with it
	// ("/v2/enqueue", "/v2/change/enqueue", "/incidents").
	Path string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv        *httptest.Server
	routingKey string
	apiToken   string
	done       chan struct{}
	closeOnce  sync.Once

	mu        sync.Mutex
	events    []Event
	changes   []ChangeEvent
	alerts    map[string]string // dedup key -> status
	incidents []Incident
	seq       int

	calls  fakeapi.Log[Call]
	faults fakeapi.Faults[Fault]
}

// New starts a fake PagerDuty and closes it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

// NewServer starts a fake PagerDuty; the caller must Close it.
func NewServer(opts ...Option) *Server {
	s := &Server{routingKey: DefaultRoutingKey, apiToken: DefaultAPIToken, done: make(chan struct{}), alerts: map[string]string{}}
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/enqueue", s.enqueue)
	mux.HandleFunc("/v2/change/enqueue", s.changeEnqueue)
	mux.HandleFunc("/incidents", s.listIncidents)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
		if f, ok := s.faults.Take(r.URL.Path); ok {
			if f.LoseResponse {
				mux.ServeHTTP(httptest.NewRecorder(), r)
				s.calls.UpdateLast(func(c *Call) {
					c.Fault, c.Reason = true, "injected: response lost after the request was applied"
				})
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(http.ErrAbortHandler)
				}
				_ = conn.Close()
				return
			}
			if s.applyFault(w, r, &f, call) {
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
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

// URL is the base URL: the Events API endpoint for
// pagerduty.WithV2EventsAPIEndpoint and the REST endpoint for
// pagerduty.WithAPIEndpoint.
func (s *Server) URL() string { return s.srv.URL }

// EnqueueURL is the full alert-events URL (Alertmanager's pagerduty url).
func (s *Server) EnqueueURL() string { return s.srv.URL + "/v2/enqueue" }

// RoutingKey is the routing key the fake accepts.
func (s *Server) RoutingKey() string { return s.routingKey }

// APIToken is the REST API token the fake accepts.
func (s *Server) APIToken() string { return s.apiToken }

// Fail makes the next n requests (matching f.Path) fail with f.
func (s *Server) Fail(n int, f Fault) { s.faults.Add(n, f.Path, f) }

// AddIncident adds (or replaces, by ID) an incident; an empty ID gets one,
// an empty Status is "triggered", an empty Urgency "high", a zero
// CreatedAt now. It returns the ID.
func (s *Server) AddIncident(inc Incident) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inc.ID == "" {
		s.seq++
		inc.ID = fmt.Sprintf("PINC%04d", s.seq)
	}
	if inc.Status == "" {
		inc.Status = StatusTriggered
	}
	if inc.Urgency == "" {
		inc.Urgency = "high"
	}
	if inc.CreatedAt.IsZero() {
		inc.CreatedAt = time.Now().UTC().Truncate(time.Second)
	}
	for i := range s.incidents {
		if s.incidents[i].ID == inc.ID {
			s.incidents[i] = inc
			return inc.ID
		}
	}
	s.incidents = append(s.incidents, inc)
	return inc.ID
}

// SetIncidentStatus changes an incident's status; false when unknown.
func (s *Server) SetIncidentStatus(id, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.incidents {
		if s.incidents[i].ID == id {
			s.incidents[i].Status = status
			return true
		}
	}
	return false
}

// Events returns the accepted alert events, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// ChangeEvents returns the accepted change events, in order.
func (s *Server) ChangeEvents() []ChangeEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChangeEvent(nil), s.changes...)
}

// AlertStatus is the state of the alert with a dedup key ("" if none).
func (s *Server) AlertStatus(dedupKey string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.alerts[dedupKey]
}

// Calls returns every request received, in order.
func (s *Server) Calls() []Call { return s.calls.All() }

// Accepted returns the requests that passed every check, optionally only
// those to the given paths.
func (s *Server) Accepted(paths ...string) []Call {
	return s.calls.Filter(func(c Call) bool { return c.Accepted && matchPath(c, paths) })
}

// Rejected returns the requests the fake refused as invalid (not those
// answered by an injected fault).
func (s *Server) Rejected(paths ...string) []Call {
	return s.calls.Filter(func(c Call) bool { return !c.Accepted && !c.Fault && matchPath(c, paths) })
}

func matchPath(c Call, paths []string) bool {
	if len(paths) == 0 {
		return true
	}
	for _, p := range paths {
		if c.Path == p {
			return true
		}
	}
	return false
}

func (s *Server) record(c Call) {
	c.At = time.Now()
	s.calls.Add(c)
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, call Call) bool {
	call.Fault = true
	if f.Delay > 0 {
		if why := fakeapi.Hold(r, f.Delay, MaxPayloadBytes+1, s.done); why != "" {
			call.Reason = why
			s.record(call)
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	if f.Status == http.StatusTooManyRequests {
		fakeapi.SetRetryAfter(w, f.RetryAfter)
	}
	call.Status, call.Reason = f.Status, fmt.Sprintf("injected HTTP %d", f.Status)
	s.record(call)
	if f.Status == http.StatusTooManyRequests {
		writeJSON(w, f.Status, map[string]any{"status": "throttle event", "message": "Requests for this service are arriving too quickly. Please retry later."})
		return true
	}
	fakeapi.WriteHTMLError(w, f.Status)
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Heal drops every pending fault: the service works again.
func (s *Server) Heal() { s.faults.Clear() }
