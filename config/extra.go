package config

import (
	"net/url"
	"regexp"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slokeeper/slokeeper/internal/ynode"
)

// ModeEmbedded is the rule delivery of the embedded engine: the daemon
// evaluates the rules itself (no prometheus.url).
const ModeEmbedded = "embedded"

// Defaults of the embedded engine and the reports.
const (
	DefaultRetention      = 15 * 24 * time.Hour
	DefaultScrapeInterval = 15 * time.Second
	DefaultReportSchedule = "0 9 * * MON"
	DefaultReportKeep     = 12
	DefaultReportSpan     = 7 * 24 * time.Hour
)

// Embedded configures the Prometheus engine the daemon runs itself when
// prometheus.url is absent: TSDB retention and what it scrapes.
type Embedded struct {
	Retention     time.Duration
	ScrapeConfigs []ScrapeConfig
}

// ScrapeConfig is one scrape job of the embedded engine.
type ScrapeConfig struct {
	JobName        string
	Targets        []string // host:port
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
	MetricsPath    string
	Scheme         string
}

// Web configures links to the daemon and to Grafana.
type Web struct {
	// ExternalURL is where users reach the daemon (links in reports and
	// notifications), e.g. https://slokeeper.example.com.
	ExternalURL string
	// GrafanaURL is linked from the UI (default: grafana.url).
	GrafanaURL string
}

// Reports schedules the weekly review.
type Reports struct {
	// Schedule is a cron expression (5 fields) or a descriptor (@weekly).
	Schedule string
	TimeZone string
	Keep     int
	Span     time.Duration
	// Slack posts the digest through freeze.notifications.slack.
	Slack bool
}

var jobName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]*$`)

func (p parser) embedded(m *ynode.Map) *Embedded {
	out := &Embedded{Retention: DefaultRetention}
	if v, ok := positive(m, "retention"); ok {
		if v < 2*time.Hour {
			m.Errorf("retention", "must be at least 2h")
		}
		out.Retention = v
	}
	seen := map[string]bool{}
	for _, it := range m.List("scrape_configs") {
		sm := m.Decoder().Map(it.Node, it.Path)
		if sm == nil {
			continue
		}
		sc := ScrapeConfig{ScrapeInterval: DefaultScrapeInterval, MetricsPath: "/metrics", Scheme: "http"}
		if sm.Require("job_name", "static_configs") {
			sc.JobName, _ = sm.String("job_name")
			if !jobName.MatchString(sc.JobName) {
				sm.Errorf("job_name", "%q is not a valid job name", sc.JobName)
			}
			if seen[sc.JobName] {
				sm.Errorf("job_name", "job %q is defined twice", sc.JobName)
			}
			seen[sc.JobName] = true
		}
		if v, ok := positive(sm, "scrape_interval"); ok {
			sc.ScrapeInterval = v
		}
		sc.ScrapeTimeout = min(10*time.Second, sc.ScrapeInterval)
		if v, ok := positive(sm, "scrape_timeout"); ok {
			if v > sc.ScrapeInterval {
				sm.Errorf("scrape_timeout", "must not exceed scrape_interval")
			}
			sc.ScrapeTimeout = v
		}
		if v, ok := sm.String("metrics_path"); ok {
			if len(v) == 0 || v[0] != '/' {
				sm.Errorf("metrics_path", "must start with /")
			}
			sc.MetricsPath = v
		}
		if v, ok := sm.String("scheme"); ok {
			if v != "http" && v != "https" {
				sm.Errorf("scheme", "must be http or https")
			}
			sc.Scheme = v
		}
		for _, st := range sm.List("static_configs") {
			stm := m.Decoder().Map(st.Node, st.Path)
			if stm == nil {
				continue
			}
			for _, t := range stm.StringList("targets") {
				if _, err := url.Parse("http://" + t); err != nil || t == "" {
					stm.Errorf("targets", "%q is not host:port", t)
					continue
				}
				sc.Targets = append(sc.Targets, t)
			}
			stm.Done()
		}
		sm.Done()
		out.ScrapeConfigs = append(out.ScrapeConfigs, sc)
	}
	m.Done()
	return out
}

func (p parser) web(m *ynode.Map) Web {
	w := Web{ExternalURL: httpURL(m, "external_url", false), GrafanaURL: httpURL(m, "grafana_url", false)}
	m.Done()
	return w
}

func (p parser) reports(m *ynode.Map) *Reports {
	r := &Reports{Schedule: DefaultReportSchedule, Keep: DefaultReportKeep, Span: DefaultReportSpan, TimeZone: "UTC"}
	if v, ok := m.String("schedule"); ok {
		if _, err := cron.ParseStandard(v); err != nil {
			m.Errorf("schedule", "invalid cron expression %q: %v", v, err)
		}
		r.Schedule = v
	}
	if v, ok := m.String("time_zone"); ok {
		if _, err := time.LoadLocation(v); err != nil || v == "Local" {
			m.Errorf("time_zone", "unknown time zone %q", v)
		}
		r.TimeZone = v
	}
	if v, ok := m.Int("keep"); ok {
		if v < 1 || v > 1000 {
			m.Errorf("keep", "must be from 1 to 1000")
		}
		r.Keep = v
	}
	if v, ok := positive(m, "span"); ok {
		if v < time.Hour || v > 90*24*time.Hour {
			m.Errorf("span", "must be from 1h to 90d")
		}
		r.Span = v
	}
	if v, ok := m.Bool("slack"); ok {
		r.Slack = v
	}
	m.Done()
	return r
}
