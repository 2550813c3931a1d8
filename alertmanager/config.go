package alertmanager

// The few Alertmanager configuration types slokeeper writes, with the field
// names of Alertmanager's configuration file (0.25 and later). Field order
// is the order written; yaml.v3 sorts map keys, so output is deterministic.

// Config is a complete Alertmanager configuration.
type Config struct {
	Route        Route         `yaml:"route"`
	InhibitRules []InhibitRule `yaml:"inhibit_rules,omitempty"`
	Receivers    []Receiver    `yaml:"receivers"`
}

// Route is a node of the routing tree.
type Route struct {
	Receiver       string   `yaml:"receiver,omitempty"`
	Matchers       []string `yaml:"matchers,omitempty"`
	GroupBy        []string `yaml:"group_by,omitempty"`
	GroupWait      string   `yaml:"group_wait,omitempty"`
	GroupInterval  string   `yaml:"group_interval,omitempty"`
	RepeatInterval string   `yaml:"repeat_interval,omitempty"`
	Routes         []Route  `yaml:"routes,omitempty"`
}

// InhibitRule mutes the alerts matching TargetMatchers while an alert
// matching SourceMatchers fires with the same values of the Equal labels.
type InhibitRule struct {
	SourceMatchers []string `yaml:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers"`
	Equal          []string `yaml:"equal"`
}

// Receiver is a named set of notification integrations.
type Receiver struct {
	Name             string            `yaml:"name"`
	PagerDutyConfigs []PagerDutyConfig `yaml:"pagerduty_configs,omitempty"`
	SlackConfigs     []SlackConfig     `yaml:"slack_configs,omitempty"`
	WebhookConfigs   []WebhookConfig   `yaml:"webhook_configs,omitempty"`
}

// PagerDutyConfig sends PagerDuty Events API v2 events. The routing key is
// read from RoutingKeyFile by Alertmanager (0.25+), never written here.
type PagerDutyConfig struct {
	SendResolved   bool              `yaml:"send_resolved"`
	RoutingKeyFile string            `yaml:"routing_key_file"`
	URL            string            `yaml:"url,omitempty"`
	Description    string            `yaml:"description"`
	Severity       string            `yaml:"severity"`
	Source         string            `yaml:"source"`
	Component      string            `yaml:"component"`
	Group          string            `yaml:"group"`
	Class          string            `yaml:"class"`
	Details        map[string]string `yaml:"details"`
}

// SlackConfig posts to a Slack incoming webhook whose URL Alertmanager reads
// from APIURLFile.
type SlackConfig struct {
	SendResolved bool   `yaml:"send_resolved"`
	APIURLFile   string `yaml:"api_url_file"`
	Channel      string `yaml:"channel,omitempty"`
	Title        string `yaml:"title"`
	TitleLink    string `yaml:"title_link"`
	Text         string `yaml:"text"`
	Fallback     string `yaml:"fallback"`
}

// WebhookConfig posts Alertmanager's webhook payload (version 4) to URL.
type WebhookConfig struct {
	SendResolved bool   `yaml:"send_resolved"`
	URL          string `yaml:"url"`
}
