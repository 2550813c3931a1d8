// Package grafanatest is an in-process fake Grafana for tests. It serves
// the part of Grafana's HTTP API slokeeper uses and enforces its
// documented contract: methods and paths, the Bearer token (401 without
// it, 403 for a viewer's token on writes), JSON bodies with their
// required fields, existing folders, dashboard versions (412
// version-mismatch when a save without overwrite carries a stale version,
// 412 name-exists for a duplicate title in a folder), UID limits, search
// parameters (limit at most 5000, the two types, no parameter it would
// silently ignore). It counts writes and deletes and can inject 429, 5xx
// and slow answers.
package grafanatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake Grafana.
type Server struct {
	*httptest.Server
	// Token is the editor service-account token; ViewerToken one that may
	// read but not write.
	Token, ViewerToken string

	mu          sync.Mutex
	folders     map[string]*folder
	dashboards  map[string]*dashboard
	annotations map[int64]*Annotation
	nextID      int64
	faults      []*Fault
	requests    []Request
	// Counters of successful writes.
	dashboardWrites, dashboardDeletes, folderCreates, annotationPosts int
}

type folder struct {
	ID    int64  `json:"id"`
	UID   string `json:"uid"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

type dashboard struct {
	id        int64
	model     map[string]any
	version   int
	folderUID string
	messages  []string
}

// Annotation is an annotation as stored.
type Annotation struct {
	ID           int64    `json:"id"`
	DashboardUID string   `json:"dashboardUID,omitempty"`
	PanelID      int64    `json:"panelId,omitempty"`
	Time         int64    `json:"time"`
	TimeEnd      int64    `json:"timeEnd"`
	Tags         []string `json:"tags"`
	Text         string   `json:"text"`
}

// Request is a request the server saw, with the status it answered.
type Request struct {
	Method, Path string
	Status       int
}

// Fault makes the next Times requests matching Method (empty: any) and
// Path (a prefix) fail with Status (and Retry-After when set), or answer
// only after Delay (then normally, unless Status is set too).
type Fault struct {
	Method     string
	Path       string
	Status     int
	RetryAfter string
	Delay      time.Duration
	Times      int
}

// NewServer starts a fake Grafana accepting token (editor) and
// viewerToken (read only; may be empty).
func NewServer(token, viewerToken string) *Server {
	s := &Server{
		Token: token, ViewerToken: viewerToken,
		folders: map[string]*folder{}, dashboards: map[string]*dashboard{}, annotations: map[int64]*Annotation{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// DashboardWrites is the number of successful POST /api/dashboards/db.
func (s *Server) DashboardWrites() int { s.mu.Lock(); defer s.mu.Unlock(); return s.dashboardWrites }

// DashboardDeletes is the number of successful DELETE
// /api/dashboards/uid/{uid}.
func (s *Server) DashboardDeletes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.dashboardDeletes }

// FolderCreates is the number of folders created.
func (s *Server) FolderCreates() int { s.mu.Lock(); defer s.mu.Unlock(); return s.folderCreates }

// Requests lists the requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request{}, s.requests...)
}

// Annotations lists the stored annotations by ID.
func (s *Server) Annotations() []Annotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Annotation
	for _, a := range s.annotations {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Dashboard returns the stored model of a dashboard, its version and
// folder, and the version messages of its saves.
func (s *Server) Dashboard(uid string) (model map[string]any, version int, folderUID string, messages []string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	if !ok {
		return nil, 0, "", nil, false
	}
	return clone(d.model), d.version, d.folderUID, append([]string{}, d.messages...), true
}

// Edit changes a stored dashboard as a user would in the UI: f edits the
// model, and the version goes up.
func (s *Server) Edit(uid string, f func(model map[string]any)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	if !ok {
		return false
	}
	f(d.model)
	d.version++
	d.model["version"] = d.version
	return true
}

// AddFolder creates a folder directly.
func (s *Server) AddFolder(uid, title string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.folders[uid] = &folder{ID: s.nextID, UID: uid, Title: title, URL: "/dashboards/f/" + uid}
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

var uidRE = regexp.MustCompile(`^[a-zA-Z0-9\-_]{1,40}$`)

type answer struct {
	status int
	body   any
	header map[string]string
}

func msg(status int, message string, extra ...string) answer {
	b := map[string]string{"message": message}
	if len(extra) > 0 {
		b["status"] = extra[0]
	}
	return answer{status: status, body: b}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	a, delay := s.handle(r)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: a.status})
	s.mu.Unlock()
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

func (s *Server) handle(r *http.Request) (answer, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var delay time.Duration
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.Path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			delay = f.Delay
			if f.Status != 0 {
				a := msg(f.Status, http.StatusText(f.Status))
				if f.RetryAfter != "" {
					a.header = map[string]string{"Retry-After": f.RetryAfter}
				}
				return a, delay
			}
			break
		}
	}
	// Authentication: a service-account token as a Bearer token.
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	switch {
	case !ok || token == "" || (token != s.Token && (s.ViewerToken == "" || token != s.ViewerToken)):
		return msg(http.StatusUnauthorized, "Unauthorized"), delay
	case token == s.ViewerToken && r.Method != http.MethodGet:
		return msg(http.StatusForbidden, "You'll need additional permissions to perform this action. Permissions needed: dashboards:write"), delay
	}
	if hasBody(r.Method) && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return msg(http.StatusUnsupportedMediaType, "Content-Type must be application/json"), delay
	}
	path := r.URL.Path
	switch {
	case path == "/api/folders":
		if r.Method != http.MethodPost {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		return s.createFolder(r), delay
	case strings.HasPrefix(path, "/api/folders/"):
		if r.Method != http.MethodGet {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		f, ok := s.folders[strings.TrimPrefix(path, "/api/folders/")]
		if !ok {
			return msg(http.StatusNotFound, "folder not found", "not-found"), delay
		}
		return answer{status: http.StatusOK, body: f}, delay
	case path == "/api/dashboards/db":
		if r.Method != http.MethodPost {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		return s.saveDashboard(r), delay
	case path == "/api/search" || path == "/api/search/":
		if r.Method != http.MethodGet {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		return s.search(r.URL.Query()), delay
	case strings.HasPrefix(path, "/api/dashboards/uid/"):
		uid := strings.TrimPrefix(path, "/api/dashboards/uid/")
		switch r.Method {
		case http.MethodGet:
		case http.MethodDelete:
			return s.deleteDashboard(uid), delay
		default:
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		d, ok := s.dashboards[uid]
		if !ok {
			return msg(http.StatusNotFound, "Dashboard not found", "not-found"), delay
		}
		return answer{status: http.StatusOK, body: map[string]any{
			"dashboard": d.model,
			"meta": map[string]any{"version": d.version, "folderUid": d.folderUID, "slug": slug(d.model),
				"url": "/d/" + uid + "/" + slug(d.model), "isFolder": false, "canSave": true},
		}}, delay
	case path == "/api/annotations":
		if r.Method != http.MethodPost {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		return s.postAnnotation(r), delay
	case strings.HasPrefix(path, "/api/annotations/"):
		if r.Method != http.MethodPatch {
			return msg(http.StatusMethodNotAllowed, "method not allowed"), delay
		}
		return s.patchAnnotation(r, strings.TrimPrefix(path, "/api/annotations/")), delay
	}
	return msg(http.StatusNotFound, "Not found"), delay
}

// hasBody says whether requests of method carry a JSON body.
func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// decode reads a JSON object body, keeping numbers exact.
func decode(r *http.Request) (map[string]any, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 32<<20)); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("bad request data: %w", err)
	}
	if m == nil {
		return nil, fmt.Errorf("bad request data: not an object")
	}
	return m, nil
}

func (s *Server) createFolder(r *http.Request) answer {
	m, err := decode(r)
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	title, _ := m["title"].(string)
	uid, _ := m["uid"].(string)
	if strings.TrimSpace(title) == "" {
		return msg(http.StatusBadRequest, "folder title cannot be empty")
	}
	if uid != "" && !uidRE.MatchString(uid) {
		return msg(http.StatusBadRequest, "uid contains illegal characters or is too long")
	}
	if _, ok := s.folders[uid]; ok {
		return msg(http.StatusConflict, "a folder with the same uid already exists")
	}
	for _, f := range s.folders {
		if f.Title == title {
			return msg(http.StatusConflict, "a folder or dashboard in the general folder with the same name already exists")
		}
	}
	s.nextID++
	if uid == "" {
		uid = "folder" + strconv.FormatInt(s.nextID, 10)
	}
	f := &folder{ID: s.nextID, UID: uid, Title: title, URL: "/dashboards/f/" + uid}
	s.folders[uid] = f
	s.folderCreates++
	return answer{status: http.StatusOK, body: f}
}

func (s *Server) saveDashboard(r *http.Request) answer {
	m, err := decode(r)
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	model, ok := m["dashboard"].(map[string]any)
	if !ok {
		return msg(http.StatusBadRequest, "dashboard is required (an object)")
	}
	overwrite, ok := m["overwrite"].(bool)
	if !ok {
		return msg(http.StatusBadRequest, "overwrite is required (true or false)")
	}
	title, _ := model["title"].(string)
	if strings.TrimSpace(title) == "" {
		return msg(http.StatusBadRequest, "Dashboard title cannot be empty", "empty-name")
	}
	uid, _ := model["uid"].(string)
	if uid == "" {
		return msg(http.StatusBadRequest, "dashboard uid is required (slokeeper sets stable UIDs)")
	}
	if !uidRE.MatchString(uid) {
		return msg(http.StatusBadRequest, "uid contains illegal characters or is longer than 40", "bad-uid")
	}
	if _, ok := model["panels"].([]any); !ok {
		return msg(http.StatusBadRequest, "dashboard panels must be a list")
	}
	folderUID, _ := m["folderUid"].(string)
	if _, ok := m["folderId"]; ok && folderUID != "" {
		return msg(http.StatusBadRequest, "give folderUid or folderId, not both")
	}
	if folderUID != "" {
		if _, ok := s.folders[folderUID]; !ok {
			return msg(http.StatusBadRequest, "folder not found", "folder-not-found")
		}
	}
	message, _ := m["message"].(string)
	old, exists := s.dashboards[uid]
	if !overwrite {
		if exists {
			v, _ := model["version"].(json.Number)
			n, _ := v.Int64()
			if int(n) != old.version {
				return msg(http.StatusPreconditionFailed, "The dashboard has been changed by someone else", "version-mismatch")
			}
		}
		for other, d := range s.dashboards {
			if other != uid && d.folderUID == folderUID && d.model["title"] == title {
				return msg(http.StatusPreconditionFailed, "A dashboard with the same name in the folder already exists", "name-exists")
			}
		}
	}
	d := old
	if !exists {
		s.nextID++
		d = &dashboard{id: s.nextID}
		s.dashboards[uid] = d
	}
	d.version++
	model["id"] = d.id
	model["version"] = d.version
	d.model = clone(model)
	d.folderUID = folderUID
	d.messages = append(d.messages, message)
	s.dashboardWrites++
	return answer{status: http.StatusOK, body: map[string]any{
		"id": d.id, "uid": uid, "url": "/d/" + uid + "/" + slug(model), "status": "success",
		"version": d.version, "slug": slug(model),
	}}
}

func slug(model map[string]any) string {
	t, _ := model["title"].(string)
	var b strings.Builder
	for _, r := range strings.ToLower(t) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func num(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func (s *Server) postAnnotation(r *http.Request) answer {
	m, err := decode(r)
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	text, _ := m["text"].(string)
	if strings.TrimSpace(text) == "" {
		return msg(http.StatusBadRequest, "text is required")
	}
	a := &Annotation{Text: text, Time: time.Now().UnixMilli()}
	if v, ok := m["time"]; ok {
		t, ok := num(v)
		if !ok || t <= 0 {
			return msg(http.StatusBadRequest, "time must be epoch milliseconds")
		}
		a.Time = t
	}
	a.TimeEnd = a.Time
	if v, ok := m["timeEnd"]; ok {
		t, ok := num(v)
		if !ok || t < a.Time {
			return msg(http.StatusBadRequest, "timeEnd must be epoch milliseconds, not before time")
		}
		a.TimeEnd = t
	}
	if tags, ok := m["tags"]; ok {
		list, ok := tags.([]any)
		if !ok {
			return msg(http.StatusBadRequest, "tags must be a list of strings")
		}
		for _, t := range list {
			ts, ok := t.(string)
			if !ok {
				return msg(http.StatusBadRequest, "tags must be a list of strings")
			}
			a.Tags = append(a.Tags, ts)
		}
	}
	if v, ok := m["dashboardUID"]; ok {
		uid, _ := v.(string)
		if _, ok := s.dashboards[uid]; !ok {
			return msg(http.StatusNotFound, "Dashboard not found")
		}
		a.DashboardUID = uid
	}
	if v, ok := m["panelId"]; ok {
		id, ok := num(v)
		if !ok {
			return msg(http.StatusBadRequest, "panelId must be a number")
		}
		a.PanelID = id
	}
	s.nextID++
	a.ID = s.nextID
	s.annotations[a.ID] = a
	s.annotationPosts++
	return answer{status: http.StatusOK, body: map[string]any{"message": "Annotation added", "id": a.ID}}
}

func (s *Server) patchAnnotation(r *http.Request, idStr string) answer {
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil {
		return msg(http.StatusBadRequest, "annotationId is invalid")
	}
	a, ok := s.annotations[id]
	if !ok {
		return msg(http.StatusNotFound, "Annotation not found")
	}
	m, err := decode(r)
	if err != nil {
		return msg(http.StatusBadRequest, err.Error())
	}
	if v, ok := m["timeEnd"]; ok {
		t, ok := num(v)
		if !ok || t < a.Time {
			return msg(http.StatusBadRequest, "timeEnd must be epoch milliseconds, not before time")
		}
		a.TimeEnd = t
	}
	if v, ok := m["text"].(string); ok && v != "" {
		a.Text = v
	}
	return answer{status: http.StatusOK, body: map[string]any{"message": "Annotation patched"}}
}
