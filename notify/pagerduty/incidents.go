package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"
)

// Defaults of the incident source.
const (
	DefaultAPIURL   = "https://api.pagerduty.com"
	DefaultPageSize = 100
	DefaultMaxPages = 20
)

// Incident is an open PagerDuty incident.
type Incident struct {
	ID        string
	Title     string
	ServiceID string
	Urgency   string // high or low
	Priority  string // priority name ("P1"), empty when none
	Status    string // triggered or acknowledged
	CreatedAt time.Time
	HTMLURL   string
}

// IncidentSourceConfig configures an IncidentSource.
type IncidentSourceConfig struct {
	// APIToken is a REST API key (read-only is enough).
	APIToken string
	// APIURL overrides the REST API base URL (tests).
	APIURL string
	// HTTPClient is used for every request; a client with Timeout
	// (DefaultTimeout) if nil.
	HTTPClient *http.Client
	Timeout    time.Duration
	// PageSize is the page size (1 to 100, DefaultPageSize if 0).
	PageSize uint
	// MaxPages bounds one listing (DefaultMaxPages if 0); more is an error.
	MaxPages int
}

// IncidentSource lists open incidents, the "open PagerDuty incident"
// freeze source. It is safe for concurrent use.
type IncidentSource struct {
	cfg   IncidentSourceConfig
	httpc *http.Client
}

// NewIncidentSource checks cfg and returns a source. It does not contact
// PagerDuty.
func NewIncidentSource(cfg IncidentSourceConfig) (*IncidentSource, error) {
	if cfg.APIToken == "" || strings.ContainsAny(cfg.APIToken, " \t\r\n") {
		return nil, errors.New("pagerduty: a REST API token without whitespace is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("pagerduty: API URL %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.PageSize > 100 {
		return nil, errors.New("pagerduty: page size must be at most 100")
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	s := &IncidentSource{cfg: cfg, httpc: cfg.HTTPClient}
	if s.httpc == nil {
		t := cfg.Timeout
		if t <= 0 {
			t = DefaultTimeout
		}
		s.httpc = &http.Client{Timeout: t}
	}
	return s, nil
}

// OpenIncidents returns the triggered and acknowledged incidents of the
// given services (all services when empty) with one of the given
// urgencies (any when empty), following pagination. Errors are classified
// like the notifiers' (*notify.RetryError, *notify.PermanentError).
func (s *IncidentSource) OpenIncidents(ctx context.Context, serviceIDs []string, urgencies []string) ([]Incident, error) {
	rec := &recorder{next: s.httpc}
	client := pagerduty.NewClient(s.cfg.APIToken, pagerduty.WithAPIEndpoint(s.cfg.APIURL))
	client.HTTPClient = rec
	opts := pagerduty.ListIncidentsOptions{
		Limit:      s.cfg.PageSize,
		Statuses:   []string{"triggered", "acknowledged"},
		ServiceIDs: serviceIDs,
		Urgencies:  urgencies,
		SortBy:     "created_at:asc",
	}
	var out []Incident
	for page := 0; ; page++ {
		if page == s.cfg.MaxPages {
			return nil, fmt.Errorf("pagerduty: listing incidents: more than %d pages of %d", s.cfg.MaxPages, s.cfg.PageSize)
		}
		resp, err := client.ListIncidentsWithContext(ctx, opts)
		if err != nil {
			return nil, classify("listing incidents", err, rec, s.cfg.APIToken)
		}
		for _, inc := range resp.Incidents {
			out = append(out, convert(inc))
		}
		if !resp.More || len(resp.Incidents) == 0 {
			return out, nil
		}
		opts.Offset += uint(len(resp.Incidents))
	}
}

func convert(inc pagerduty.Incident) Incident {
	out := Incident{
		ID: inc.ID, Title: inc.Title, ServiceID: inc.Service.ID, Urgency: inc.Urgency,
		Status: inc.Status, HTMLURL: inc.HTMLURL,
	}
	if out.Title == "" {
		out.Title = inc.Summary
	}
	if inc.Priority != nil {
		out.Priority = inc.Priority.Name
		if out.Priority == "" {
			out.Priority = inc.Priority.Summary
		}
	}
	if t, err := time.Parse(time.RFC3339, inc.CreatedAt); err == nil {
		out.CreatedAt = t
	}
	return out
}
