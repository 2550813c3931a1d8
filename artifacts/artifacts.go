// Package artifacts assembles everything `slokeeper generate` writes, as a
// pure function of the SLOs: file paths (relative to the output directory)
// and contents. Writing them is the caller's job.
package artifacts

import (
	"fmt"
	"path"
	"regexp"
	"sort"

	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// Output folders, relative to the output directory.
const (
	DirRules          = "rules"
	DirPrometheusRule = "prometheusrule"
	DirMimir          = "mimir"
	DirDashboards     = "dashboards"
)

// Dirs lists the folders Build writes, which a writer owns and may prune.
func Dirs() []string { return []string{DirRules, DirPrometheusRule, DirMimir, DirDashboards} }

// File is one generated file.
type File struct {
	Path string // slash-separated, relative to the output directory
	Data []byte
}

// Options tune generation.
type Options struct {
	Rules rules.Options
	// Namespace is the Kubernetes namespace of PrometheusRule objects ("" for none).
	Namespace string
	// RuleLabels are put on PrometheusRule objects so the operator's
	// ruleSelector picks them (e.g. prometheus: k8s, role: alert-rules).
	RuleLabels map[string]string
	// Dashboards tunes the Grafana dashboards; its Tiers default to the
	// rules' tiers so thresholds drawn match the alerts.
	Dashboards dashboards.Options
	// Provisioning describes Grafana's file provisioning of the dashboards.
	Provisioning dashboards.Provisioning
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Build generates every artefact for slos, sorted by path. It holds them
// all in memory; Each streams them for large inputs.
func Build(slos []slo.SLO, opts Options) ([]File, error) {
	var files []File
	err := Each(slos, opts, func(f File) error {
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// Each generates the artefacts service by service and hands every file to
// fn as soon as it is rendered, so memory stays bounded by one service.
func Each(slos []slo.SLO, opts Options, fn func(File) error) error {
	err := rules.GenerateEach(slos, opts.Rules, func(out *rules.Output) error {
		for _, svc := range out.ServiceNames() {
			if err := serviceFiles(out, svc, opts, fn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("generating rules: %w", err)
	}
	dopts := opts.Dashboards
	if dopts.Tiers == nil {
		dopts.Tiers = opts.Rules.Tiers
	}
	prov := opts.Provisioning
	prov.Dir = DirDashboards
	err = dashboards.EachFile(slos, dopts, prov, func(f dashboards.File) error {
		return fn(File{Path: f.Path, Data: f.Data})
	})
	if err != nil {
		return fmt.Errorf("generating dashboards: %w", err)
	}
	return nil
}

func serviceFiles(out *rules.Output, svc string, opts Options, fn func(File) error) error {
	data, err := out.MarshalRuleFile(svc)
	if err != nil {
		return fmt.Errorf("rendering the rule file of %s: %w", svc, err)
	}
	if err := fn(File{Path: path.Join(DirRules, rules.RuleFileName(svc)), Data: data}); err != nil {
		return err
	}
	pr, err := out.PrometheusRule(svc, opts.Namespace, opts.RuleLabels)
	if err != nil {
		return fmt.Errorf("rendering the PrometheusRule of %s: %w", svc, err)
	}
	if err := fn(File{Path: path.Join(DirPrometheusRule, out.ObjectName(svc)+".yaml"), Data: pr}); err != nil {
		return err
	}
	groups, err := out.RulerGroups(svc)
	if err != nil {
		return fmt.Errorf("rendering the ruler groups of %s: %w", svc, err)
	}
	// One file per ruler request: mimir/<namespace>/<group>.yaml is the
	// body of POST /prometheus/config/v1/rules/<namespace>.
	for _, g := range groups {
		if err := fn(File{Path: path.Join(DirMimir, g.Namespace, unsafe.ReplaceAllString(g.Name, "_")+".yaml"), Data: g.Body}); err != nil {
			return err
		}
	}
	return nil
}
