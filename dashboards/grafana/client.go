// Package grafana pushes slokeeper's dashboards and annotations to
// Grafana's HTTP API: folders (GET/POST /api/folders), dashboards
// (GET and DELETE /api/dashboards/uid/{uid}, POST /api/dashboards/db,
// GET /api/search) and annotations (POST /api/annotations, PATCH
// /api/annotations/{id}).
//
// Prune deletes the generated dashboards of services no longer specified.
//
// A dashboard is written only when its content differs from what Grafana
// has (or it is in another folder), so pushing the same dashboards twice
// writes once. Requests are retried with exponential backoff on 429 and
// 5xx, honouring Retry-After. The service-account token is sent as a
// Bearer token and never appears in errors or logs.
package grafana

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slokeeper/slokeeper/dashboards"
)

// Token is a Grafana service-account token. It prints as [REDACTED], so
// that it is never logged by accident.
type Token string

func (Token) String() string               { return "[REDACTED]" }
func (Token) GoString() string             { return `"[REDACTED]"` }
func (Token) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }
func (t Token) LogValue() slog.Value       { return slog.StringValue("[REDACTED]") }
func (t Token) reveal() string             { return string(t) }
func (t Token) redact(s string) string     { return redact(s, string(t)) }
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// DefaultTokenEnv is the environment variable LoadToken reads when no file
// is given.
const DefaultTokenEnv = "GRAFANA_TOKEN"

// LoadToken reads the token from file (surrounding white space removed)
// or, when file is empty, from the environment variable env (default
// GRAFANA_TOKEN).
func LoadToken(file, env string) (Token, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the Grafana token: %w", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("the Grafana token file %s is empty", file)
		}
		return Token(t), nil
	}
	if env == "" {
		env = DefaultTokenEnv
	}
	t := strings.TrimSpace(os.Getenv(env))
	if t == "" {
		return "", fmt.Errorf("no Grafana token: set %s or give a token file", env)
	}
	return Token(t), nil
}

// Config configures a Client.
type Config struct {
	// URL is Grafana's base URL, e.g. https://grafana.example.com (a
	// sub-path such as /grafana is kept).
	URL string
	// Token is the service-account token (see LoadToken).
	Token Token
	// OrgID, when set, is sent as X-Grafana-Org-Id.
	OrgID int64
	// HTTPClient sends the requests (default: 30 s timeout).
	HTTPClient *http.Client
	// Retries is how many times a failed request is retried (default 4;
	// negative: never).
	Retries int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// retries (defaults 500 ms and 30 s). A Retry-After above MaxBackoff is
	// capped to it.
	MinBackoff, MaxBackoff time.Duration
	// VerifyEvery: a dashboard pushed or found unchanged less than this
	// long ago, with the same content, is not even read back (default 0:
	// always compare with Grafana, which notices edits made in the UI).
	VerifyEvery time.Duration
	// Logger receives one debug line per request and one per retry.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Client talks to one Grafana. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	cfg    Config
	http   *http.Client
	log    *slog.Logger
	mu     sync.Mutex
	pushed map[string]pushedState
}

type pushedState struct {
	hash, folder string
	at           time.Time
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("grafana URL %q: want http(s)://host[:port][/path]", cfg.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("grafana URL: credentials in the URL are not supported, use a token")
	}
	if cfg.Token == "" {
		return nil, errors.New("grafana: no token")
	}
	if cfg.Retries == 0 {
		cfg.Retries = 4
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Client{base: u, cfg: cfg, http: hc, log: lg, pushed: map[string]pushedState{}}, nil
}

// Errors an *APIError wraps, by HTTP status, for errors.Is.
var (
	ErrUnauthorized    = errors.New("unauthorized: the token is missing, invalid or expired")
	ErrForbidden       = errors.New("forbidden: the service account lacks the permission (it needs the Editor role, or dashboards:write and folders:create)")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrVersionMismatch = errors.New("version mismatch: the dashboard was changed in Grafana after it was read; push again, or push with overwrite")
	ErrNameExists      = errors.New("name exists: another dashboard in the folder has the same title")
	ErrPrecondition    = errors.New("precondition failed")
)

// APIError is an error answer of Grafana.
type APIError struct {
	Method, Path string
	StatusCode   int
	// Status is Grafana's status word when it gives one (version-mismatch,
	// name-exists, plugin-dashboard, not-found).
	Status  string
	Message string
	// Attempts is the number of requests made.
	Attempts int
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "grafana: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if s := e.Unwrap(); s != nil {
		b.WriteString(": " + s.Error())
	}
	if e.Message != "" {
		b.WriteString(" (grafana says: " + e.Message + ")")
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// Unwrap returns the sentinel error of the status.
func (e *APIError) Unwrap() error {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusPreconditionFailed:
		switch e.Status {
		case "version-mismatch":
			return ErrVersionMismatch
		case "name-exists":
			return ErrNameExists
		}
		return ErrPrecondition
	}
	return nil
}

// request is one API call.
type request struct {
	method, path string
	// query is the encoded query string, if any.
	query string
	body  any
	// idempotent requests are retried on every 5xx and transport error;
	// the others (annotation posts) only where Grafana surely did nothing:
	// 429 and 503.
	idempotent bool
}

// do sends req, retrying as configured, and decodes a 2xx answer into out.
func (c *Client) do(ctx context.Context, req request, out any) error {
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return fmt.Errorf("grafana: %s %s: encoding the request: %w", req.method, req.path, err)
		}
	}
	u := *c.base
	u.Path = c.base.Path + req.path
	u.RawQuery = req.query
	for attempt := 1; ; attempt++ {
		status, header, data, err := c.once(ctx, req.method, u.String(), body)
		if err == nil && status/100 == 2 {
			if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return fmt.Errorf("grafana: %s %s: decoding the answer: %w", req.method, req.path, err)
				}
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("grafana: %s %s: %w", req.method, req.path, ctx.Err())
		}
		retry := false
		var apiErr *APIError
		if err != nil {
			retry = req.idempotent
			err = fmt.Errorf("grafana: %s %s: %s", req.method, req.path, c.cfg.Token.redact(err.Error()))
		} else {
			apiErr = &APIError{Method: req.method, Path: req.path, StatusCode: status, Attempts: attempt}
			var msg struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			}
			if json.Unmarshal(data, &msg) == nil {
				apiErr.Message, apiErr.Status = c.cfg.Token.redact(msg.Message), msg.Status
			}
			switch {
			case status == http.StatusTooManyRequests, status == http.StatusServiceUnavailable:
				retry = true
			case status >= 500:
				retry = req.idempotent
			}
		}
		if !retry || attempt > c.cfg.Retries {
			if apiErr != nil {
				return apiErr
			}
			if attempt > 1 {
				return fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		wait := c.backoff(attempt, header)
		c.log.Debug("grafana request failed, retrying", "method", req.method, "path", req.path,
			"status", status, "attempt", attempt, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("grafana: %s %s: %w", req.method, req.path, ctx.Err())
		case <-t.C:
		}
	}
}

// once sends one request.
func (c *Client) once(ctx context.Context, method, u string, body []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return 0, nil, nil, err
	}
	hr.Header.Set("Authorization", "Bearer "+c.cfg.Token.reveal())
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "slokeeper")
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.OrgID > 0 {
		hr.Header.Set("X-Grafana-Org-Id", strconv.FormatInt(c.cfg.OrgID, 10))
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is ours; keep the cause
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, nil, nil, fmt.Errorf("timeout: %w", err)
		}
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	c.log.Debug("grafana request", "method", method, "path", hr.URL.Path, "status", resp.StatusCode)
	return resp.StatusCode, resp.Header, data, nil
}

// backoff is the wait before retry number attempt: Retry-After when
// Grafana sends it, else exponential with jitter; at most MaxBackoff.
func (c *Client) backoff(attempt int, h http.Header) time.Duration {
	if d, ok := retryAfter(h, c.cfg.Now()); ok {
		return min(d, c.cfg.MaxBackoff)
	}
	d := c.cfg.MinBackoff << (attempt - 1)
	if d <= 0 || d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	// Jitter in [d/2, d): clients retrying together spread out.
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// Folder is a Grafana folder.
type Folder struct {
	ID    int64  `json:"id,omitempty"`
	UID   string `json:"uid"`
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
}

// EnsureFolder returns the folder with uid, creating it with title when it
// does not exist. An existing folder keeps its title.
func (c *Client) EnsureFolder(ctx context.Context, uid, title string) (Folder, error) {
	if uid == "" || title == "" {
		return Folder{}, errors.New("grafana: a folder needs a uid and a title")
	}
	var f Folder
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/folders/" + url.PathEscape(uid), idempotent: true}, &f)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Folder{}, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/folders", body: Folder{UID: uid, Title: title}, idempotent: true}, &f)
	if errors.Is(err, ErrConflict) { // created meanwhile by someone else
		err = c.do(ctx, request{method: http.MethodGet, path: "/api/folders/" + url.PathEscape(uid), idempotent: true}, &f)
	}
	if err != nil {
		return Folder{}, err
	}
	return f, nil
}

// DashboardMeta is the part of GET /api/dashboards/uid/{uid}'s meta the
// client uses.
type DashboardMeta struct {
	Version   int    `json:"version"`
	FolderUID string `json:"folderUid"`
	URL       string `json:"url"`
	Slug      string `json:"slug"`
}

// RemoteDashboard is a dashboard as Grafana has it.
type RemoteDashboard struct {
	Dashboard json.RawMessage `json:"dashboard"`
	Meta      DashboardMeta   `json:"meta"`
}

// Version is the dashboard's version in Grafana.
func (r *RemoteDashboard) Version() int {
	var v struct {
		Version int `json:"version"`
	}
	_ = json.Unmarshal(r.Dashboard, &v)
	if v.Version == 0 {
		return r.Meta.Version
	}
	return v.Version
}

// GetDashboard reads a dashboard; the error wraps ErrNotFound when there is
// none with uid.
func (c *Client) GetDashboard(ctx context.Context, uid string) (*RemoteDashboard, error) {
	var r RemoteDashboard
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/dashboards/uid/" + url.PathEscape(uid), idempotent: true}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveRequest is the body of POST /api/dashboards/db.
type SaveRequest struct {
	Dashboard any    `json:"dashboard"`
	FolderUID string `json:"folderUid"`
	Message   string `json:"message"`
	Overwrite bool   `json:"overwrite"`
}

// SaveResult is Grafana's answer to a save.
type SaveResult struct {
	ID      int64  `json:"id"`
	UID     string `json:"uid"`
	URL     string `json:"url"`
	Status  string `json:"status"`
	Version int    `json:"version"`
	Slug    string `json:"slug"`
}

// versioned adds id and version to a dashboard's JSON, for saves that are
// checked against the stored version.
type versioned struct {
	dashboards.Dashboard
	Version int `json:"version"`
}

// SaveDashboard writes d with POST /api/dashboards/db. With overwrite false
// and version > 0, Grafana refuses (412, ErrVersionMismatch) when its
// version is not version, i.e. when someone changed it meanwhile.
func (c *Client) SaveDashboard(ctx context.Context, d dashboards.Dashboard, folderUID, message string, overwrite bool, version int) (SaveResult, error) {
	var body any = d
	if version > 0 {
		body = versioned{Dashboard: d, Version: version}
	}
	var res SaveResult
	err := c.do(ctx, request{method: http.MethodPost, path: "/api/dashboards/db", idempotent: true,
		body: SaveRequest{Dashboard: body, FolderUID: folderUID, Message: message, Overwrite: overwrite}}, &res)
	return res, err
}

// PushOptions tune Push.
type PushOptions struct {
	// FolderUID and FolderTitle are the folder the dashboards go in
	// (created when missing; defaults as in dashboards.Provisioning).
	FolderUID, FolderTitle string
	// Message is the version message of the saves (default "generated by
	// slokeeper"); the content hash is appended.
	Message string
	// Overwrite replaces dashboards whatever their version. Without it, a
	// dashboard changed in Grafana between the read and the write is not
	// overwritten: the push fails with ErrVersionMismatch.
	Overwrite bool
}

// PushResult says what a push did.
type PushResult struct {
	// Written lists the UIDs saved (new or changed), Unchanged the UIDs
	// left alone because Grafana already had them.
	Written, Unchanged []string
	// UIDs lists the UIDs of every dashboard pushed, written or not, in
	// the order given.
	UIDs []string
}

// Keep is the set of UIDs pushed: what PruneOptions.Keep wants after a
// successful push.
func (r PushResult) Keep() map[string]bool {
	m := make(map[string]bool, len(r.UIDs))
	for _, u := range r.UIDs {
		m[u] = true
	}
	return m
}

// Push ensures the folder, then writes each dashboard that Grafana does not
// already have with the same content in the folder. It stops at the first
// error, returning what was done so far.
func (c *Client) Push(ctx context.Context, ds []dashboards.Dashboard, opts PushOptions) (PushResult, error) {
	var res PushResult
	if opts.FolderUID == "" {
		opts.FolderUID = dashboards.DefaultFolderUID
	}
	if opts.FolderTitle == "" {
		opts.FolderTitle = dashboards.DefaultFolder
	}
	if opts.Message == "" {
		opts.Message = "generated by slokeeper"
	}
	if _, err := c.EnsureFolder(ctx, opts.FolderUID, opts.FolderTitle); err != nil {
		return res, err
	}
	for i := range ds {
		written, err := c.pushOne(ctx, &ds[i], opts)
		if err != nil {
			return res, fmt.Errorf("pushing dashboard %s: %w", ds[i].UID, err)
		}
		if written {
			res.Written = append(res.Written, ds[i].UID)
		} else {
			res.Unchanged = append(res.Unchanged, ds[i].UID)
		}
		res.UIDs = append(res.UIDs, ds[i].UID)
	}
	return res, nil
}

func (c *Client) pushOne(ctx context.Context, d *dashboards.Dashboard, opts PushOptions) (bool, error) {
	ours, err := canonical(d)
	if err != nil {
		return false, err
	}
	hash := hashOf(ours)
	if c.cfg.VerifyEvery > 0 {
		c.mu.Lock()
		p, ok := c.pushed[d.UID]
		c.mu.Unlock()
		if ok && p.hash == hash && p.folder == opts.FolderUID && c.cfg.Now().Sub(p.at) < c.cfg.VerifyEvery {
			return false, nil
		}
	}
	version := 0
	remote, err := c.GetDashboard(ctx, d.UID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return false, err
	default:
		theirs, err := canonical(remote.Dashboard)
		if err != nil {
			return false, fmt.Errorf("reading the dashboard Grafana has: %w", err)
		}
		if hashOf(theirs) == hash && remote.Meta.FolderUID == opts.FolderUID {
			c.remember(d.UID, hash, opts.FolderUID)
			return false, nil
		}
		version = remote.Version()
	}
	msg := opts.Message + " (content " + hash[:12] + ")"
	if opts.Overwrite {
		version = 0
	}
	if _, err := c.SaveDashboard(ctx, *d, opts.FolderUID, msg, opts.Overwrite, version); err != nil {
		return false, err
	}
	c.remember(d.UID, hash, opts.FolderUID)
	return true, nil
}

func (c *Client) remember(uid, hash, folder string) {
	c.mu.Lock()
	c.pushed[uid] = pushedState{hash: hash, folder: folder, at: c.cfg.Now()}
	c.mu.Unlock()
}

// canonical renders a dashboard (a value, or its JSON) without the fields
// Grafana manages (id, version), with object keys sorted: equal content,
// equal bytes.
func canonical(v any) ([]byte, error) {
	var raw []byte
	switch x := v.(type) {
	case json.RawMessage:
		raw = x
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	delete(m, "id")
	delete(m, "version")
	return json.Marshal(m)
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ContentHash is the hash Push compares: the SHA-256 of the dashboard's
// canonical JSON (without id and version).
func ContentHash(d *dashboards.Dashboard) (string, error) {
	b, err := canonical(d)
	if err != nil {
		return "", err
	}
	return hashOf(b), nil
}

// Annotation is a Grafana annotation: an event at Time, or a region to
// TimeEnd.
type Annotation struct {
	// DashboardUID and PanelID, when set, pin the annotation to a
	// dashboard (and panel); otherwise it is an organisation annotation,
	// shown on every dashboard that queries its tags.
	DashboardUID string
	PanelID      int
	Time         time.Time
	TimeEnd      time.Time
	Tags         []string
	Text         string
}

type annotationBody struct {
	DashboardUID string   `json:"dashboardUID,omitempty"`
	PanelID      int      `json:"panelId,omitempty"`
	Time         int64    `json:"time,omitempty"`
	TimeEnd      int64    `json:"timeEnd,omitempty"`
	Tags         []string `json:"tags"`
	Text         string   `json:"text"`
}

// Deployment is the annotation of a deployment of service, as the SLO and
// RED dashboards show it.
func Deployment(service, text string, at time.Time) Annotation {
	return Annotation{Time: at, Text: text,
		Tags: []string{dashboards.AnnotationTag, dashboards.TagDeployment, dashboards.ServiceTag(service)}}
}

// Freeze is the annotation of a change freeze of service, from start to
// end (zero end: still frozen; close it with EndAnnotation).
func Freeze(service, reason string, start, end time.Time) Annotation {
	return Annotation{Time: start, TimeEnd: end, Text: reason,
		Tags: []string{dashboards.AnnotationTag, dashboards.TagFreeze, dashboards.ServiceTag(service)}}
}

// Annotate posts an annotation and returns its ID. It is retried only on
// 429 and 503, so that a retry never adds a second copy.
func (c *Client) Annotate(ctx context.Context, a Annotation) (int64, error) {
	if strings.TrimSpace(a.Text) == "" {
		return 0, errors.New("grafana: an annotation needs a text")
	}
	body := annotationBody{DashboardUID: a.DashboardUID, PanelID: a.PanelID, Tags: a.Tags, Text: a.Text}
	if body.Tags == nil {
		body.Tags = []string{}
	}
	if !a.Time.IsZero() {
		body.Time = a.Time.UnixMilli()
	}
	if !a.TimeEnd.IsZero() {
		if a.TimeEnd.Before(a.Time) {
			return 0, errors.New("grafana: annotation ends before it starts")
		}
		body.TimeEnd = a.TimeEnd.UnixMilli()
	}
	var res struct {
		ID int64 `json:"id"`
	}
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/annotations", body: body}, &res); err != nil {
		return 0, err
	}
	return res.ID, nil
}

// EndAnnotation sets the end of annotation id (a freeze that lifted),
// making it a region.
func (c *Client) EndAnnotation(ctx context.Context, id int64, end time.Time) error {
	body := map[string]int64{"timeEnd": end.UnixMilli()}
	return c.do(ctx, request{method: http.MethodPatch, path: "/api/annotations/" + strconv.FormatInt(id, 10), body: body, idempotent: true}, nil)
}
