package embedded

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"gopkg.in/yaml.v3"
)

// Defaults of ScrapeConfig.
const (
	DefaultScrapeInterval = 15 * time.Second
	DefaultScrapeTimeout  = 10 * time.Second
)

// ScrapeConfig is one scrape job with static targets.
type ScrapeConfig struct {
	JobName string
	// Targets are host:port addresses.
	Targets []string
	// Labels are added to every series of the job's targets.
	Labels map[string]string
	// Interval between scrapes (default 15s) and Timeout of one scrape
	// (default 10s, at most Interval).
	Interval, Timeout time.Duration
	// MetricsPath (default /metrics) and Scheme (default http).
	MetricsPath string
	Scheme      string
	// HonorLabels keeps the job and instance labels a target exposes
	// (the demo traffic generator needs it, see package demo).
	HonorLabels bool
}

func (c ScrapeConfig) check() error {
	if c.JobName == "" {
		return fmt.Errorf("embedded engine: a scrape config has no job name")
	}
	if len(c.Targets) == 0 {
		return fmt.Errorf("embedded engine: scrape job %q has no targets", c.JobName)
	}
	for _, t := range c.Targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return fmt.Errorf("embedded engine: scrape job %q: target %q is not host:port: %w", c.JobName, t, err)
		}
	}
	if c.Interval < 0 || c.Timeout < 0 {
		return fmt.Errorf("embedded engine: scrape job %q: negative interval or timeout", c.JobName)
	}
	switch c.Scheme {
	case "", "http", "https":
	default:
		return fmt.Errorf("embedded engine: scrape job %q: scheme %q is neither http nor https", c.JobName, c.Scheme)
	}
	return nil
}

type yamlStatic struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

type yamlScrape struct {
	JobName        string       `yaml:"job_name"`
	ScrapeInterval string       `yaml:"scrape_interval"`
	ScrapeTimeout  string       `yaml:"scrape_timeout"`
	MetricsPath    string       `yaml:"metrics_path,omitempty"`
	Scheme         string       `yaml:"scheme,omitempty"`
	HonorLabels    bool         `yaml:"honor_labels"`
	StaticConfigs  []yamlStatic `yaml:"static_configs"`
}

type yamlConfig struct {
	Global struct {
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []yamlScrape `yaml:"scrape_configs"`
}

// promConfig renders the scrape configs as a Prometheus configuration and
// loads it through Prometheus's own loader, so that every default and
// validation of a prometheus.yml applies.
func (e *Engine) promConfig() (*config.Config, error) {
	var yc yamlConfig
	yc.Global.EvaluationInterval = model.Duration(e.opts.EvaluationInterval).String()
	for _, sc := range e.opts.ScrapeConfigs {
		iv := sc.Interval
		if iv == 0 {
			iv = DefaultScrapeInterval
		}
		to := sc.Timeout
		if to == 0 {
			to = min(DefaultScrapeTimeout, iv)
		}
		yc.ScrapeConfigs = append(yc.ScrapeConfigs, yamlScrape{
			JobName:        sc.JobName,
			ScrapeInterval: model.Duration(iv).String(),
			ScrapeTimeout:  model.Duration(to).String(),
			MetricsPath:    sc.MetricsPath,
			Scheme:         sc.Scheme,
			HonorLabels:    sc.HonorLabels,
			StaticConfigs:  []yamlStatic{{Targets: sc.Targets, Labels: sc.Labels}},
		})
	}
	b, err := yaml.Marshal(yc)
	if err != nil {
		return nil, fmt.Errorf("embedded engine: rendering the scrape configuration: %w", err)
	}
	cfg, err := config.Load(string(b), e.logger)
	if err != nil {
		return nil, fmt.Errorf("embedded engine: scrape configuration: %w", err)
	}
	return cfg, nil
}

func (e *Engine) applyScrapeConfigs() error {
	cfg, err := e.promConfig()
	if err != nil {
		return err
	}
	if err := e.scrape.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("embedded engine: applying the scrape configuration: %w", err)
	}
	return nil
}

// targetGroups are the static target groups per job, what discovery would
// send for static_configs.
func (e *Engine) targetGroups() map[string][]*targetgroup.Group {
	out := map[string][]*targetgroup.Group{}
	cfg, err := e.promConfig()
	if err != nil { // checked in Open
		e.logger.Error("scrape configuration", "err", err)
		return out
	}
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.ServiceDiscoveryConfigs {
			static, ok := d.(discovery.StaticConfig)
			if !ok {
				continue
			}
			for i, tg := range static {
				if tg.Source == "" {
					tg.Source = strconv.Itoa(i)
				}
				out[sc.JobName] = append(out[sc.JobName], tg)
			}
		}
	}
	return out
}
