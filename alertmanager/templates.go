package alertmanager

// Notification templates (Alertmanager's Go templates). Every alert
// slokeeper generates carries service and slo, tier alerts also slo_tier,
// severity and the burn-rate threshold, and the summary annotation holds
// the measured burn rate ("error budget burn 15.2x over 1h (page-fast)").
// Groups are per service and SLO, so CommonLabels always has both.
const (
	firstAlert = `(index .Alerts 0)`

	slackTitle = `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] ` +
		`{{ .CommonLabels.service }}/{{ .CommonLabels.slo }}{{ with .CommonLabels.slo_tier }} {{ . }}{{ end }}`
	slackTitleLink = `{{ ` + firstAlert + `.Annotations.dashboard_url }}`
	slackText      = `{{ range .Alerts }}*{{ .Labels.alertname }}*{{ with .Labels.slo_tier }} tier {{ . }}{{ end }}, ` +
		`severity {{ .Labels.severity }}{{ if eq .Status "resolved" }}, resolved{{ end }}
{{ .Annotations.summary }}
{{ with .Annotations.description }}{{ . }}
{{ end }}{{ with .Annotations.runbook_url }}Runbook: {{ . }}
{{ end }}{{ with .Annotations.dashboard_url }}Dashboard: {{ . }}
{{ end }}{{ end }}`
	slackFallback = `{{ .CommonLabels.service }}/{{ .CommonLabels.slo }}: {{ ` + firstAlert + `.Annotations.summary }}`

	pagerDutyDescription = `{{ ` + firstAlert + `.Annotations.summary }}{{ if gt (len .Alerts) 1 }} ({{ len .Alerts }} alerts){{ end }}`
	// PagerDuty accepts four severities; anything else pages as critical.
	pagerDutySeverity = `{{ if eq .CommonLabels.severity "critical" "error" "warning" "info" }}` +
		`{{ .CommonLabels.severity }}{{ else }}critical{{ end }}`
	pagerDutySource    = `{{ .CommonLabels.service }}`
	pagerDutyComponent = `{{ .CommonLabels.slo }}`
	pagerDutyGroup     = `{{ .CommonLabels.team }}`
	pagerDutyClass     = `{{ .CommonLabels.slo_tier }}`
)

// pagerDutyDetails are the custom details of a PagerDuty event;
// Alertmanager adds its own (firing, resolved, num_firing, num_resolved).
func pagerDutyDetails() map[string]string {
	return map[string]string{
		"service":       `{{ .CommonLabels.service }}`,
		"slo":           `{{ .CommonLabels.slo }}`,
		"team":          `{{ .CommonLabels.team }}`,
		"slo_tier":      `{{ .CommonLabels.slo_tier }}`,
		"runbook_url":   `{{ ` + firstAlert + `.Annotations.runbook_url }}`,
		"dashboard_url": `{{ ` + firstAlert + `.Annotations.dashboard_url }}`,
	}
}
