package pagerdutytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func validSeverity(s string) bool {
	switch s {
	case "critical", "error", "warning", "info":
		return true
	}
	return false
}

func validTimestamp(ts string) bool {
	if ts == "" {
		return true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700"} {
		if _, err := time.Parse(layout, ts); err == nil {
			return true
		}
	}
	return false
}

// readEventBody reads and checks the framing shared by both event APIs.
func (s *Server) readEventBody(r *http.Request) ([]byte, []string) {
	if r.Method != http.MethodPost {
		return nil, []string{"method must be POST"}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return nil, []string{fmt.Sprintf("Content-Type must be application/json, got %q", ct)}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		return nil, []string{"body unreadable"}
	}
	if len(body) > MaxPayloadBytes {
		return nil, []string{fmt.Sprintf("event larger than %d bytes", MaxPayloadBytes)}
	}
	return body, nil
}

func (s *Server) checkRoutingKey(k string) []string {
	switch {
	case k == "":
		return []string{"'routing_key' is missing or blank"}
	case len(k) != RoutingKeyLength:
		return []string{fmt.Sprintf("'routing_key' must be %d characters", RoutingKeyLength)}
	case k != s.routingKey:
		return []string{"'routing_key' is invalid: no integration with this key"}
	}
	return nil
}

func checkLinks(links []Link, images []map[string]any) []string {
	var errs []string
	for i, l := range links {
		if l.Href == "" {
			errs = append(errs, fmt.Sprintf("'links[%d].href' is missing", i))
		} else if u, err := url.Parse(l.Href); err != nil || u.Scheme == "" {
			errs = append(errs, fmt.Sprintf("'links[%d].href' is not a URL", i))
		}
	}
	for i, im := range images {
		if src, _ := im["src"].(string); src == "" {
			errs = append(errs, fmt.Sprintf("'images[%d].src' is missing", i))
		}
	}
	return errs
}

func (s *Server) rejectEvent(w http.ResponseWriter, call Call, errs []string) {
	call.Status, call.Reason = http.StatusBadRequest, strings.Join(errs, "; ")
	s.record(call)
	writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": errs})
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path}
	body, errs := s.readEventBody(r)
	call.Body = body
	if errs != nil {
		s.rejectEvent(w, call, errs)
		return
	}
	var ev Event
	if err := decodeStrict(body, &ev); err != nil {
		s.rejectEvent(w, call, []string{"body is not a valid event object: " + err.Error()})
		return
	}
	ev.Raw = body
	errs = s.checkRoutingKey(ev.RoutingKey)
	switch ev.Action {
	case "trigger":
		if ev.Payload == nil {
			errs = append(errs, "'payload' is missing")
			break
		}
		p := ev.Payload
		if n := utf8.RuneCountInString(p.Summary); n == 0 || n > MaxSummary {
			errs = append(errs, fmt.Sprintf("'payload.summary' must have 1 to %d characters, has %d", MaxSummary, n))
		}
		if strings.TrimSpace(p.Source) == "" {
			errs = append(errs, "'payload.source' is missing or blank")
		}
		if !validSeverity(p.Severity) {
			errs = append(errs, fmt.Sprintf("'payload.severity' %q is not one of critical, error, warning, info", p.Severity))
		}
		if !validTimestamp(p.Timestamp) {
			errs = append(errs, fmt.Sprintf("'payload.timestamp' %q is not ISO 8601", p.Timestamp))
		}
	case "acknowledge", "resolve":
		if ev.DedupKey == "" {
			errs = append(errs, "'dedup_key' is required to "+ev.Action)
		}
	default:
		errs = append(errs, fmt.Sprintf("'event_action' %q is not one of trigger, acknowledge, resolve", ev.Action))
	}
	if utf8.RuneCountInString(ev.DedupKey) > MaxDedupKey {
		errs = append(errs, fmt.Sprintf("'dedup_key' is longer than %d characters", MaxDedupKey))
	}
	errs = append(errs, checkLinks(ev.Links, ev.Images)...)
	if len(errs) > 0 {
		s.rejectEvent(w, call, errs)
		return
	}
	s.mu.Lock()
	if ev.DedupKey == "" {
		s.seq++
		ev.DedupKey = fmt.Sprintf("pdtest%08d", s.seq)
	}
	switch ev.Action {
	case "trigger":
		s.alerts[ev.DedupKey] = StatusTriggered
	case "acknowledge":
		if s.alerts[ev.DedupKey] == StatusTriggered {
			s.alerts[ev.DedupKey] = StatusAcknowledged
		}
	case "resolve":
		if _, ok := s.alerts[ev.DedupKey]; ok {
			s.alerts[ev.DedupKey] = StatusResolved
		}
	}
	s.events = append(s.events, ev)
	s.mu.Unlock()
	call.Status, call.Accepted = http.StatusAccepted, true
	s.record(call)
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (s *Server) changeEnqueue(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path}
	body, errs := s.readEventBody(r)
	call.Body = body
	if errs != nil {
		s.rejectEvent(w, call, errs)
		return
	}
	var ev ChangeEvent
	if err := decodeStrict(body, &ev); err != nil {
		s.rejectEvent(w, call, []string{"body is not a valid change event: " + err.Error()})
		return
	}
	ev.Raw = body
	errs = s.checkRoutingKey(ev.RoutingKey)
	if n := utf8.RuneCountInString(ev.Payload.Summary); n == 0 || n > MaxSummary {
		errs = append(errs, fmt.Sprintf("'payload.summary' must have 1 to %d characters, has %d", MaxSummary, n))
	}
	if !validTimestamp(ev.Payload.Timestamp) {
		errs = append(errs, fmt.Sprintf("'payload.timestamp' %q is not ISO 8601", ev.Payload.Timestamp))
	}
	errs = append(errs, checkLinks(ev.Links, nil)...)
	if len(errs) > 0 {
		s.rejectEvent(w, call, errs)
		return
	}
	s.mu.Lock()
	s.changes = append(s.changes, ev)
	s.mu.Unlock()
	call.Status, call.Accepted = http.StatusAccepted, true
	s.record(call)
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Change event processed"})
}

func (s *Server) restError(w http.ResponseWriter, call Call, status, code int, msg string, errs ...string) {
	call.Status, call.Reason = status, msg
	if len(errs) > 0 {
		call.Reason += ": " + strings.Join(errs, "; ")
	}
	s.record(call)
	e := map[string]any{"message": msg, "code": code}
	if len(errs) > 0 {
		e["errors"] = errs
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// multi returns the values of an array parameter, given as name[] (the
// documented form) or name.
func multi(q url.Values, name string) []string {
	return append(append([]string(nil), q[name+"[]"]...), q[name]...)
}

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	if r.Method != http.MethodGet {
		s.restError(w, call, http.StatusMethodNotAllowed, 2000, "Method Not Allowed")
		return
	}
	if r.Header.Get("Authorization") != "Token token="+s.apiToken {
		s.restError(w, call, http.StatusUnauthorized, 2006, "Unauthorized")
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/vnd.pagerduty+json;version=2") {
		s.restError(w, call, http.StatusBadRequest, 2001, "Invalid Input Provided", "Accept must be application/vnd.pagerduty+json;version=2")
		return
	}
	q := r.URL.Query()
	var errs []string
	statuses := multi(q, "statuses")
	for _, st := range statuses {
		if st != StatusTriggered && st != StatusAcknowledged && st != StatusResolved {
			errs = append(errs, fmt.Sprintf("statuses: %q is not triggered, acknowledged or resolved", st))
		}
	}
	urgencies := multi(q, "urgencies")
	for _, u := range urgencies {
		if u != "high" && u != "low" {
			errs = append(errs, fmt.Sprintf("urgencies: %q is not high or low", u))
		}
	}
	services := multi(q, "service_ids")
	limit, offset := DefaultListLimit, 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			errs = append(errs, "limit must be a positive integer")
		}
		limit = min(n, MaxListLimit)
	}
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			errs = append(errs, "offset must be a non-negative integer")
		}
		offset = n
	}
	for _, k := range []string{"since", "until"} {
		if v := q.Get(k); v != "" {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, k+" must be an ISO 8601 date")
			}
		}
	}
	if len(errs) > 0 {
		s.restError(w, call, http.StatusBadRequest, 2001, "Invalid Input Provided", errs...)
		return
	}
	in := func(v string, set []string) bool {
		if len(set) == 0 {
			return true
		}
		for _, x := range set {
			if x == v {
				return true
			}
		}
		return false
	}
	if len(statuses) == 0 {
		// PagerDuty's default is every status; kept explicit here.
		statuses = []string{StatusTriggered, StatusAcknowledged, StatusResolved}
	}
	s.mu.Lock()
	var match []Incident
	for _, inc := range s.incidents {
		if in(inc.Status, statuses) && in(inc.ServiceID, services) && in(inc.Urgency, urgencies) {
			match = append(match, inc)
		}
	}
	s.mu.Unlock()
	start := min(offset, len(match))
	end := min(start+limit, len(match))
	out := make([]map[string]any, 0, end-start)
	for i, inc := range match[start:end] {
		out = append(out, s.incidentJSON(inc, start+i+1))
	}
	resp := map[string]any{"incidents": out, "limit": limit, "offset": offset, "more": end < len(match), "total": nil}
	if q.Get("total") == "true" {
		resp["total"] = len(match)
	}
	call.Status, call.Accepted = http.StatusOK, true
	s.record(call)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) incidentJSON(inc Incident, number int) map[string]any {
	out := map[string]any{
		"id": inc.ID, "type": "incident", "summary": fmt.Sprintf("[#%d] %s", number, inc.Title),
		"self": s.srv.URL + "/incidents/" + inc.ID, "html_url": s.srv.URL + "/incidents/" + inc.ID,
		"incident_number": number, "title": inc.Title, "created_at": inc.CreatedAt.UTC().Format(time.RFC3339),
		"status": inc.Status, "urgency": inc.Urgency,
		"service":  map[string]any{"id": inc.ServiceID, "type": "service_reference", "summary": inc.ServiceID},
		"priority": nil,
	}
	if inc.Priority != "" {
		out["priority"] = map[string]any{"id": "PPRIO" + inc.Priority, "type": "priority", "summary": inc.Priority, "name": inc.Priority}
	}
	return out
}
