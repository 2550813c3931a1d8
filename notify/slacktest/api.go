package slacktest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// apiError is a rejection: a Slack error code and the reason in words.
type apiError struct {
	code   string
	reason string
	status int // HTTP status, 200 unless set
}

func reject(code, format string, args ...any) *apiError {
	return &apiError{code: code, reason: fmt.Sprintf(format, args...)}
}

// readParams extracts the arguments of a Web API call: form values (query
// and urlencoded body) or a JSON body. It returns the token found in the
// body (form only; JSON bodies must use the Authorization header).
func readParams(r *http.Request) (params map[string]string, bodyToken string, aerr *apiError) {
	params = map[string]string{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	if r.Method == http.MethodGet {
		if _, ok := params["token"]; ok {
			// Slack no longer accepts tokens in query strings.
			delete(params, "token")
			return params, "", reject("invalid_auth", "token passed in the query string")
		}
		return params, "", nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, "", reject("invalid_form_data", "reading body: %v", err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "", reject("invalid_form_data", "body is not urlencoded: %v", err)
		}
		for k, v := range vals {
			if len(v) > 1 && k != "token" {
				return nil, "", reject("invalid_arguments", "argument %q given %d times", k, len(v))
			}
			params[k] = v[0]
		}
		bodyToken = params["token"]
		delete(params, "token")
	case "application/json":
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&obj); err != nil {
			return nil, "", reject("invalid_json", "body is not a JSON object: %v", err)
		}
		for k, raw := range obj {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				params[k] = s
				continue
			}
			params[k] = string(raw)
		}
		if _, ok := params["token"]; ok {
			delete(params, "token")
			return nil, "", reject("invalid_auth", "token in a JSON body is not supported: use the Authorization header")
		}
	default:
		return nil, "", reject("invalid_form_data", "unsupported Content-Type %q", ct)
	}
	return params, bodyToken, nil
}

func (s *Server) authenticate(r *http.Request, bodyToken string) *apiError {
	h := r.Header.Get("Authorization")
	switch {
	case h != "":
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return reject("invalid_auth", "Authorization header is not a Bearer token")
		}
		if tok != s.token {
			return reject("invalid_auth", "wrong token in Authorization header")
		}
		if bodyToken != "" && bodyToken != s.token {
			return reject("invalid_auth", "token in the body differs from the Authorization header")
		}
	case bodyToken != "":
		if bodyToken != s.token {
			return reject("invalid_auth", "wrong token in the body")
		}
	default:
		return reject("not_authed", "no token: neither Authorization: Bearer header nor token argument")
	}
	return nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, call Call) {
	params, bodyToken, aerr := readParams(r)
	call.Params = params
	if aerr == nil {
		aerr = s.authenticate(r, bodyToken)
	}
	var resp map[string]any
	if aerr == nil {
		switch call.API {
		case "chat.postMessage":
			resp, aerr = s.postMessage(r, params)
		case "chat.update":
			resp, aerr = s.update(r, params)
		case "conversations.history":
			resp, aerr = s.history(params)
		case "conversations.replies":
			resp, aerr = s.replies(params)
		case "auth.test":
			resp = map[string]any{"ok": true, "url": s.srv.URL + "/", "team": "slokeeper-test", "user": "slokeeper", "team_id": "T0SLOKEEP", "user_id": botUserID, "bot_id": botID}
		default:
			aerr = &apiError{code: "unknown_method", reason: "method not served by the fake", status: http.StatusNotFound}
		}
	}
	if aerr != nil {
		status := aerr.status
		if status == 0 {
			status = http.StatusOK
		}
		call.Status, call.Error, call.Reason = status, aerr.code, aerr.reason
		s.record(call)
		writeJSON(w, status, map[string]any{
			"ok":                false,
			"error":             aerr.code,
			"response_metadata": map[string]any{"messages": []string{"[ERROR] " + aerr.reason}},
		})
		return
	}
	call.Status, call.Accepted = http.StatusOK, true
	s.record(call)
	writeJSON(w, http.StatusOK, resp)
}

func requirePost(r *http.Request) *apiError {
	if r.Method != http.MethodPost {
		return &apiError{code: "method_not_supported_for_channel_type", reason: "method requires POST, got " + r.Method, status: http.StatusMethodNotAllowed}
	}
	return nil
}

// content validates text, blocks, attachments and metadata of a message.
func content(params map[string]string) (text string, blocks, attachments json.RawMessage, md *Metadata, aerr *apiError) {
	text = params["text"]
	if utf8.RuneCountInString(text) > MaxMessageText {
		return "", nil, nil, nil, reject("msg_too_long", "text has %d characters (max %d)", utf8.RuneCountInString(text), MaxMessageText)
	}
	if b, ok := params["blocks"]; ok {
		if err := ValidateBlocks([]byte(b)); err != nil {
			return "", nil, nil, nil, reject("invalid_blocks", "%v", err)
		}
		blocks = json.RawMessage(b)
	}
	if a, ok := params["attachments"]; ok {
		if err := validateAttachments([]byte(a)); err != nil {
			return "", nil, nil, nil, reject("invalid_attachments", "%v", err)
		}
		attachments = json.RawMessage(a)
	}
	if m, ok := params["metadata"]; ok && m != "" {
		var meta Metadata
		if err := json.Unmarshal([]byte(m), &meta); err != nil {
			return "", nil, nil, nil, reject("invalid_metadata_format", "metadata is not JSON: %v", err)
		}
		if meta.EventType == "" || meta.EventPayload == nil {
			return "", nil, nil, nil, reject("invalid_metadata_schema", "metadata needs event_type and event_payload")
		}
		md = &meta
	}
	if strings.TrimSpace(text) == "" && !nonEmptyArray(blocks) && !nonEmptyArray(attachments) {
		return "", nil, nil, nil, reject("no_text", "message has no text, blocks or attachments")
	}
	return text, blocks, attachments, md, nil
}

func nonEmptyArray(raw json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(raw, &a) == nil && len(a) > 0
}

func (s *Server) postMessage(r *http.Request, params map[string]string) (map[string]any, *apiError) {
	if aerr := requirePost(r); aerr != nil {
		return nil, aerr
	}
	ch := params["channel"]
	if ch == "" {
		return nil, reject("channel_not_found", "channel argument missing")
	}
	text, blocks, atts, md, aerr := content(params)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[ch]; !ok {
		return nil, reject("channel_not_found", "unknown channel %q", ch)
	}
	threadTS := params["thread_ts"]
	if threadTS != "" {
		parent := s.find(ch, threadTS)
		if parent == nil {
			return nil, reject("thread_not_found", "thread_ts %q is not a message of %s", threadTS, ch)
		}
		if parent.ThreadTS != "" {
			threadTS = parent.ThreadTS
		}
		if parent.ThreadTS == "" {
			parent.ThreadTS = parent.TS
		}
	}
	m := &Message{Channel: ch, TS: s.nextTS(), ThreadTS: threadTS, Text: text, Blocks: blocks, Attachments: atts, Metadata: md}
	s.channels[ch] = append(s.channels[ch], m)
	return map[string]any{"ok": true, "channel": ch, "ts": m.TS, "message": wireMessage(m, md != nil)}, nil
}

func (s *Server) update(r *http.Request, params map[string]string) (map[string]any, *apiError) {
	if aerr := requirePost(r); aerr != nil {
		return nil, aerr
	}
	ch, ts := params["channel"], params["ts"]
	if ch == "" {
		return nil, reject("channel_not_found", "channel argument missing")
	}
	if ts == "" {
		return nil, reject("message_not_found", "ts argument missing")
	}
	text, blocks, atts, md, aerr := content(params)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[ch]; !ok {
		return nil, reject("channel_not_found", "unknown channel %q", ch)
	}
	m := s.find(ch, ts)
	if m == nil {
		return nil, reject("message_not_found", "no message %s in %s", ts, ch)
	}
	m.Text = text
	if _, ok := params["blocks"]; ok {
		m.Blocks = blocks
	}
	if _, ok := params["attachments"]; ok {
		m.Attachments = atts
	}
	if md != nil {
		m.Metadata = md
	}
	m.Updates++
	return map[string]any{"ok": true, "channel": ch, "ts": ts, "text": text, "message": wireMessage(m, false)}, nil
}

// wireMessage renders a stored message the way the Web API returns it.
func wireMessage(m *Message, withMetadata bool) map[string]any {
	out := map[string]any{"type": "message", "user": botUserID, "bot_id": botID, "text": m.Text, "ts": m.TS}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		out["attachments"] = m.Attachments
	}
	if m.Updates > 0 {
		out["edited"] = map[string]any{"user": botUserID, "ts": m.TS}
	}
	if withMetadata && m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	return out
}

func parseBool(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

func parseTS(s string) (float64, *apiError) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, reject("invalid_ts_oldest", "timestamp %q is not a number", s)
	}
	return f, nil
}

type page struct {
	limit, offset int
}

func readPage(params map[string]string) (page, *apiError) {
	p := page{limit: DefaultHistoryLimit}
	if l := params["limit"]; l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return p, reject("invalid_limit", "limit %q is not a non-negative integer", l)
		}
		if n > 0 {
			p.limit = min(n, MaxHistoryLimit)
		}
	}
	if c := params["cursor"]; c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return p, reject("invalid_cursor", "cursor %q is not one this server issued", c)
		}
		off, ok := strings.CutPrefix(string(raw), "offset:")
		n, err := strconv.Atoi(off)
		if !ok || err != nil || n < 0 {
			return p, reject("invalid_cursor", "cursor %q is not one this server issued", c)
		}
		p.offset = n
	}
	return p, nil
}

func (p page) apply(msgs []*Message, withMetadata bool) (out []map[string]any, hasMore bool, next string) {
	if p.offset > len(msgs) {
		p.offset = len(msgs)
	}
	end := min(p.offset+p.limit, len(msgs))
	for _, m := range msgs[p.offset:end] {
		out = append(out, wireMessage(m, withMetadata))
	}
	if out == nil {
		out = []map[string]any{}
	}
	if end < len(msgs) {
		return out, true, base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return out, false, ""
}

func inRange(ts string, oldest, latest float64, inclusive bool) bool {
	f, err := strconv.ParseFloat(ts, 64)
	if err != nil {
		return false
	}
	if oldest > 0 && (f < oldest || (!inclusive && f == oldest)) {
		return false
	}
	if latest > 0 && (f > latest || (!inclusive && f == latest)) {
		return false
	}
	return true
}

func (s *Server) history(params map[string]string) (map[string]any, *apiError) {
	ch := params["channel"]
	if ch == "" {
		return nil, reject("channel_not_found", "channel argument missing")
	}
	oldest, aerr := parseTS(params["oldest"])
	if aerr != nil {
		return nil, aerr
	}
	latest, aerr := parseTS(params["latest"])
	if aerr != nil {
		return nil, aerr
	}
	pg, aerr := readPage(params)
	if aerr != nil {
		return nil, aerr
	}
	inclusive, withMD := parseBool(params["inclusive"]), parseBool(params["include_all_metadata"])
	s.mu.Lock()
	defer s.mu.Unlock()
	all, ok := s.channels[ch]
	if !ok {
		return nil, reject("channel_not_found", "unknown channel %q", ch)
	}
	var msgs []*Message
	for _, m := range all {
		if m.ThreadTS != "" && m.ThreadTS != m.TS {
			continue // thread replies are not part of the channel history
		}
		if inRange(m.TS, oldest, latest, inclusive) {
			msgs = append(msgs, m)
		}
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].TS > msgs[j].TS }) // newest first
	out, more, next := pg.apply(msgs, withMD)
	return map[string]any{"ok": true, "messages": out, "has_more": more, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}}, nil
}

func (s *Server) replies(params map[string]string) (map[string]any, *apiError) {
	ch, ts := params["channel"], params["ts"]
	if ch == "" {
		return nil, reject("channel_not_found", "channel argument missing")
	}
	if ts == "" {
		return nil, reject("thread_not_found", "ts argument missing")
	}
	oldest, aerr := parseTS(params["oldest"])
	if aerr != nil {
		return nil, aerr
	}
	latest, aerr := parseTS(params["latest"])
	if aerr != nil {
		return nil, aerr
	}
	pg, aerr := readPage(params)
	if aerr != nil {
		return nil, aerr
	}
	inclusive, withMD := parseBool(params["inclusive"]), parseBool(params["include_all_metadata"])
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[ch]; !ok {
		return nil, reject("channel_not_found", "unknown channel %q", ch)
	}
	parent := s.find(ch, ts)
	if parent == nil {
		return nil, reject("thread_not_found", "no message %s in %s", ts, ch)
	}
	root := ts
	if parent.ThreadTS != "" {
		root = parent.ThreadTS
		parent = s.find(ch, root)
	}
	msgs := []*Message{parent}
	for _, m := range s.channels[ch] {
		if m.ThreadTS == root && m.TS != root && inRange(m.TS, oldest, latest, inclusive) {
			msgs = append(msgs, m)
		}
	}
	out, more, next := pg.apply(msgs, withMD)
	return map[string]any{"ok": true, "messages": out, "has_more": more,
		"response_metadata": map[string]any{"next_cursor": next}}, nil
}

func (s *Server) serveWebhook(w http.ResponseWriter, r *http.Request, call Call) {
	fail := func(status int, code, reason string) {
		call.Status, call.Error, call.Reason = status, code, reason
		s.record(call)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, code)
	}
	if r.URL.Path != s.webhookPath {
		fail(http.StatusNotFound, "no_service", "unknown webhook path")
		return
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_payload", "webhook requires POST")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, webhookContentLength+1))
	if err != nil || len(body) > webhookContentLength {
		fail(http.StatusBadRequest, "invalid_payload", "body unreadable or too large")
		return
	}
	call.Body = body
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	payload := body
	if ct == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(body))
		if err != nil || vals.Get("payload") == "" {
			fail(http.StatusBadRequest, "invalid_payload", "form body without a payload field")
			return
		}
		payload = []byte(vals.Get("payload"))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		fail(http.StatusBadRequest, "invalid_payload", fmt.Sprintf("payload is not a JSON object: %v", err))
		return
	}
	params := map[string]string{}
	for k, raw := range obj {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			params[k] = str
		} else {
			params[k] = string(raw)
		}
	}
	call.Params = params
	text, blocks, atts, _, aerr := content(params)
	if aerr != nil {
		fail(http.StatusBadRequest, aerr.code, aerr.reason)
		return
	}
	for _, f := range []string{"channel", "username", "icon_emoji", "icon_url", "thread_ts"} {
		if raw, ok := obj[f]; ok {
			var str string
			if json.Unmarshal(raw, &str) != nil {
				fail(http.StatusBadRequest, "invalid_payload", f+" is not a string")
				return
			}
		}
	}
	s.mu.Lock()
	s.webhooks = append(s.webhooks, WebhookPost{Text: text, Channel: params["channel"], Username: params["username"],
		ThreadTS: params["thread_ts"], Blocks: blocks, Attachments: atts, Raw: body})
	s.mu.Unlock()
	call.Status, call.Accepted = http.StatusOK, true
	s.record(call)
	w.Header().Set("Content-Type", "text/html")
	_, _ = io.WriteString(w, "ok")
}
