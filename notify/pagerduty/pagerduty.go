// Package pagerduty announces change freezes to PagerDuty through the
// Events API v2, and reads open incidents (a freeze source) through the
// REST API.
//
// A freeze triggers an alert with the dedup key slokeeper/freeze/<service>
// and its lift resolves it; a budget warning does the same with severity
// "warning" and slokeeper/budget-warning/<service>. PagerDuty deduplicates
// triggers and resolves by dedup key, so resending one after a crash is
// harmless. Manual freezes, unfreezes and exemptions are change events;
// PagerDuty does not deduplicate those, so a resend after a crash in the
// middle of a send may record one twice (the idempotency key is in its
// custom details).
package pagerduty

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/slokeeper/slokeeper/notify"
)

// Defaults and limits.
const (
	DefaultEventsURL = "https://events.pagerduty.com"
	DefaultSource    = "slokeeper"
	DefaultSeverity  = "critical"
	DefaultTimeout   = 15 * time.Second
	maxSummary       = 1024
	maxDedupKey      = 255
	routingKeyLength = 32
)

// Receipt keys.
const (
	ReceiptDedupKey = "dedup_key"
	ReceiptAction   = "action" // trigger, resolve or change
)

// Config configures the notifier.
type Config struct {
	// RoutingKey is the integration key of an Events API v2 integration
	// (32 characters).
	RoutingKey string
	// EventsURL overrides the Events API base URL (tests); the client
	// appends /v2/enqueue and /v2/change/enqueue.
	EventsURL string
	// Source is payload.source (DefaultSource if empty).
	Source string
	// Severity of freeze alerts (DefaultSeverity if empty); warnings are
	// always "warning".
	Severity string
	// ClientURL links back to slokeeper (its UI) from the alert.
	ClientURL string
	// HTTPClient is used for every request; a client with Timeout
	// (DefaultTimeout) if nil.
	HTTPClient *http.Client
	Timeout    time.Duration
	// Logger receives one line per event sent; slog.Default() if nil.
	Logger *slog.Logger
}

// Notifier sends events to PagerDuty. It is safe for concurrent use.
type Notifier struct {
	cfg   Config
	httpc *http.Client
	log   *slog.Logger
}

var _ notify.Notifier = (*Notifier)(nil)

// New checks cfg and returns a notifier. It does not contact PagerDuty.
func New(cfg Config) (*Notifier, error) {
	if len(cfg.RoutingKey) != routingKeyLength || strings.ContainsAny(cfg.RoutingKey, " \t\r\n") {
		return nil, fmt.Errorf("pagerduty: the routing key must be %d characters (an Events API v2 integration key)", routingKeyLength)
	}
	if cfg.EventsURL == "" {
		cfg.EventsURL = DefaultEventsURL
	}
	cfg.EventsURL = strings.TrimSuffix(cfg.EventsURL, "/")
	if u, err := url.Parse(cfg.EventsURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("pagerduty: events URL %q is not an http(s) URL", cfg.EventsURL)
	}
	if cfg.Source == "" {
		cfg.Source = DefaultSource
	}
	if cfg.Severity == "" {
		cfg.Severity = DefaultSeverity
	}
	switch cfg.Severity {
	case "critical", "error", "warning", "info":
	default:
		return nil, fmt.Errorf("pagerduty: severity %q is not one of critical, error, warning, info", cfg.Severity)
	}
	n := &Notifier{cfg: cfg, httpc: cfg.HTTPClient, log: cfg.Logger}
	if n.httpc == nil {
		t := cfg.Timeout
		if t <= 0 {
			t = DefaultTimeout
		}
		n.httpc = &http.Client{Timeout: t}
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.log = n.log.With("notifier", "pagerduty")
	return n, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return "pagerduty" }

// DedupKey returns the dedup key of a service's alert of the given family
// ("freeze", "budget-warning"): slokeeper/<family>/<service>, shortened
// with a hash when longer than PagerDuty's 255 characters.
func DedupKey(family, service string) string {
	k := "slokeeper/" + family + "/" + service
	if len(k) <= maxDedupKey {
		return k
	}
	sum := sha256.Sum256([]byte(service))
	h := "~" + hex.EncodeToString(sum[:8])
	return notify.TruncateBytes(k, maxDedupKey-len(h)) + h
}

// Send implements notify.Notifier.
func (n *Notifier) Send(ctx context.Context, m notify.Message, prior notify.Receipt) (notify.Receipt, error) {
	if err := m.Validate(); err != nil {
		return nil, notify.Permanent(fmt.Errorf("pagerduty: %w", err))
	}
	rec := &recorder{next: n.httpc}
	client := pagerduty.NewClient("", pagerduty.WithV2EventsAPIEndpoint(n.cfg.EventsURL))
	client.HTTPClient = rec
	switch m.Kind {
	case notify.FreezeStarted, notify.BudgetWarning:
		return n.alert(ctx, client, rec, m, "trigger")
	case notify.FreezeLifted, notify.WarningCleared:
		return n.alert(ctx, client, rec, m, "resolve")
	default:
		return n.change(ctx, client, rec, m)
	}
}

func family(k notify.Kind) (fam, severity string) {
	switch k {
	case notify.BudgetWarning, notify.WarningCleared:
		return "budget-warning", "warning"
	default:
		return "freeze", ""
	}
}

func (n *Notifier) alert(ctx context.Context, client *pagerduty.Client, rec *recorder, m notify.Message, action string) (notify.Receipt, error) {
	fam, severity := family(m.Kind)
	if severity == "" {
		severity = n.cfg.Severity
	}
	ev := &pagerduty.V2Event{
		RoutingKey: n.cfg.RoutingKey,
		Action:     action,
		DedupKey:   DedupKey(fam, m.Service),
		Client:     "slokeeper",
		ClientURL:  n.cfg.ClientURL,
	}
	if action == "trigger" {
		ev.Payload = &pagerduty.V2Payload{
			Summary:   notify.Truncate(notify.Summary(m), maxSummary),
			Source:    n.cfg.Source,
			Severity:  severity,
			Timestamp: m.At.UTC().Format(time.RFC3339),
			Component: m.Service,
			Group:     "slo",
			Class:     string(m.Kind),
			Details:   details(m),
		}
		ev.Links = links(m, n.cfg.ClientURL)
	}
	resp, err := client.ManageEventWithContext(ctx, ev)
	if err != nil {
		return nil, n.classify(action+" of "+ev.DedupKey, err, rec)
	}
	if resp.Status != "" && resp.Status != "success" {
		return nil, notify.Permanent(fmt.Errorf("pagerduty: %s of %s: status %q: %s", action, ev.DedupKey, resp.Status, resp.Message))
	}
	n.log.Info("pagerduty event sent", "key", m.Key, "kind", m.Kind, "service", m.Service, "action", action,
		"dedup_key", ev.DedupKey, "summary", notify.Headline(m))
	return notify.Receipt{ReceiptDedupKey: ev.DedupKey, ReceiptAction: action}, nil
}

func (n *Notifier) change(ctx context.Context, client *pagerduty.Client, rec *recorder, m notify.Message) (notify.Receipt, error) {
	ce := pagerduty.ChangeEvent{
		RoutingKey: n.cfg.RoutingKey,
		Payload: pagerduty.ChangeEventPayload{
			Summary:       notify.Truncate(notify.Summary(m), maxSummary),
			Source:        n.cfg.Source,
			Timestamp:     m.At.UTC().Format(time.RFC3339),
			CustomDetails: details(m),
		},
	}
	for _, l := range links(m, n.cfg.ClientURL) {
		ll := l.(pagerduty.ChangeEventLink)
		ce.Links = append(ce.Links, ll)
	}
	resp, err := client.CreateChangeEventWithContext(ctx, ce)
	if err != nil {
		return nil, n.classify("change event", err, rec)
	}
	if resp.Status != "" && resp.Status != "success" {
		return nil, notify.Permanent(fmt.Errorf("pagerduty: change event: status %q: %s", resp.Status, resp.Message))
	}
	n.log.Info("pagerduty change event sent", "key", m.Key, "kind", m.Kind, "service", m.Service, "summary", notify.Headline(m))
	return notify.Receipt{ReceiptAction: "change"}, nil
}

// details are the custom details of an event: everything a responder
// needs, and the idempotency key.
func details(m notify.Message) map[string]any {
	d := map[string]any{
		"service": m.Service, "kind": string(m.Kind), "key": m.Key,
	}
	if m.Episode != "" {
		d["episode"] = m.Episode
	}
	if len(m.Sources) > 0 {
		d["sources"] = m.Sources
	}
	if len(m.Reasons) > 0 {
		d["reasons"] = m.Reasons
	}
	if m.Until != nil {
		d["until"] = m.Until.UTC().Format(time.RFC3339)
	}
	for k, v := range map[string]string{"author": m.Author, "exemption": m.Exemption, "change": m.Change, "dashboard_url": m.DashboardURL} {
		if v != "" {
			d[k] = v
		}
	}
	if len(m.SLOs) > 0 {
		slos := make([]map[string]any, 0, len(m.SLOs))
		for _, l := range m.SLOs {
			e := map[string]any{"name": l.Name, "objective": notify.FormatPercent(l.Objective),
				"budget_remaining": notify.FormatBudget(l.BudgetRemaining)}
			if len(l.BurnRates) > 0 {
				e["burn_rates"] = notify.FormatBurnRates(l.BurnRates)
			}
			if l.DashboardURL != "" {
				e["dashboard_url"] = l.DashboardURL
			}
			if l.RunbookURL != "" {
				e["runbook_url"] = l.RunbookURL
			}
			slos = append(slos, e)
		}
		d["slos"] = slos
	}
	return d
}

// links returns the event links (dashboard, runbooks, slokeeper), as
// pagerduty.ChangeEventLink values (which also marshal as alert links).
func links(m notify.Message, clientURL string) []any {
	var out []any
	seen := map[string]bool{}
	add := func(href, text string) {
		if href == "" || seen[href] {
			return
		}
		if u, err := url.Parse(href); err != nil || u.Scheme == "" {
			return
		}
		seen[href] = true
		out = append(out, pagerduty.ChangeEventLink{Href: href, Text: text})
	}
	add(m.DashboardURL, "Dashboard")
	for _, l := range m.SLOs {
		add(l.RunbookURL, "Runbook: "+l.Name)
	}
	add(clientURL, "slokeeper")
	return out
}

// recorder is the HTTP client of one Send: it keeps the status,
// Retry-After and error body of the last response, which go-pagerduty
// does not expose.
type recorder struct {
	next *http.Client

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	body       string
	transport  error
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.next.Do(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transport = err
	if err != nil {
		return resp, err
	}
	r.status = resp.StatusCode
	r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		r.body = string(b)
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// classify maps a failed call to notify's retry classes; the message
// never contains the routing key or API token.
func (n *Notifier) classify(op string, err error, rec *recorder) error {
	return classify(op, err, rec, n.cfg.RoutingKey)
}

func classify(op string, err error, rec *recorder, secrets ...string) error {
	rec.mu.Lock()
	status, after, body, transport := rec.status, rec.retryAfter, rec.body, rec.transport
	rec.mu.Unlock()

	var apiErr pagerduty.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		status = apiErr.StatusCode
	}
	var evErr pagerduty.EventsAPIV2Error
	if errors.As(err, &evErr) && evErr.StatusCode != 0 {
		status = evErr.StatusCode
	}
	msg := err.Error()
	if transport == nil && status >= 300 {
		msg = fmt.Sprintf("HTTP %d", status)
		if b := strings.TrimSpace(body); b != "" && !strings.HasPrefix(b, "<") {
			msg += ": " + notify.Truncate(b, 512)
		}
	}
	var wrapped error
	if transport != nil {
		// Keeps errors.Is(err, context.DeadlineExceeded) working.
		wrapped = fmt.Errorf("pagerduty: %s: %w", op, notify.RedactError(transport, secrets...))
	} else {
		wrapped = fmt.Errorf("pagerduty: %s: %s", op, notify.Redact(msg, secrets...))
	}
	switch {
	case transport != nil:
		return notify.Retry(0, wrapped)
	case status == http.StatusTooManyRequests:
		return notify.Retry(after, wrapped)
	case status == http.StatusRequestTimeout || status >= 500:
		return notify.Retry(after, wrapped)
	case status >= 400:
		return notify.Permanent(wrapped)
	default:
		// A 2xx answer that could not be decoded, or a failure before
		// the request left: retry.
		return notify.Retry(0, wrapped)
	}
}
