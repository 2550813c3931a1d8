package rules

import (
	"fmt"
	"regexp"
	"strings"
)

// ruleFile is the Prometheus rule file layout.
type ruleFile struct {
	Groups []RuleGroup `yaml:"groups"`
}

func (o *Output) groups(service string) ([]RuleGroup, error) {
	sr, ok := o.Service(service)
	if !ok {
		return nil, fmt.Errorf("no rules for service %q", service)
	}
	return sr.Groups, nil
}

// MarshalRuleFile renders the Prometheus rule file of a service.
func (o *Output) MarshalRuleFile(service string) ([]byte, error) {
	gs, err := o.groups(service)
	if err != nil {
		return nil, err
	}
	return appendGroups(make([]byte, 0, sizeHint(gs)), "", gs), nil
}

// sizeHint estimates the YAML size of groups, to allocate once.
func sizeHint(gs []RuleGroup) int {
	n := 64
	for i := range gs {
		for j := range gs[i].Rules {
			r := &gs[i].Rules[j]
			n += len(r.Expr) + len(r.Record) + len(r.Alert) + 64
			for k, v := range r.Labels {
				n += len(k) + len(v) + 16
			}
			for k, v := range r.Annotations {
				n += len(k) + len(v) + 16
			}
		}
	}
	return n + n/4
}

// RuleFileName is the file name of a service's rule file.
func RuleFileName(service string) string { return "slo-" + fileSafe(service) + ".rules.yml" }

var dnsBad = regexp.MustCompile(`[^a-z0-9-]+`)

// ObjectName is the name of the service's PrometheusRule object and the
// Mimir/Cortex ruler namespace: "<prefix>-<service>", DNS-1123 safe.
func (o *Output) ObjectName(service string) string { return o.opts.ObjectName(service) }

// ObjectName is what Output.ObjectName returns for outputs generated with
// these options.
func (o Options) ObjectName(service string) string {
	o = o.withDefaults()
	n := dnsBad.ReplaceAllString(strings.ToLower(o.NamespacePrefix+"-"+service), "-")
	n = strings.Trim(n, "-")
	if len(n) > 253 {
		n = strings.TrimRight(n[:253], "-")
	}
	return n
}

var fileBad = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileSafe(s string) string { return fileBad.ReplaceAllString(s, "_") }

// PrometheusRule renders a prometheus-operator monitoring.coreos.com/v1
// PrometheusRule manifest holding the service's rule groups.
func (o *Output) PrometheusRule(service, namespace string, labels map[string]string) ([]byte, error) {
	gs, err := o.groups(service)
	if err != nil {
		return nil, err
	}
	l := map[string]string{"app.kubernetes.io/managed-by": "slokeeper"}
	for k, v := range labels {
		l[k] = v
	}
	b := []byte("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n")
	b = appendKV(b, "  ", "name", o.ObjectName(service))
	if namespace != "" {
		b = appendKV(b, "  ", "namespace", namespace)
	}
	b = appendMap(b, "  ", "labels", l)
	b = append(b, "spec:\n"...)
	return appendGroups(b, "  ", gs), nil
}

// RulerGroup is one request body for the Mimir/Cortex ruler API:
// POST /prometheus/config/v1/rules/{Namespace} with Body (one rule group).
type RulerGroup struct {
	Namespace string
	Name      string
	Body      []byte
}

// RulerGroups renders the service's groups for the Mimir/Cortex ruler API,
// one request body per group, all in the namespace ObjectName(service).
func (o *Output) RulerGroups(service string) ([]RulerGroup, error) {
	gs, err := o.groups(service)
	if err != nil {
		return nil, err
	}
	ns := o.ObjectName(service)
	out := make([]RulerGroup, 0, len(gs))
	for _, g := range gs {
		body := appendGroup(make([]byte, 0, sizeHint([]RuleGroup{g})), "", "", &g)
		out = append(out, RulerGroup{Namespace: ns, Name: g.Name, Body: body})
	}
	return out, nil
}
