package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/internal/atomicfile"
	"github.com/slokeeper/slokeeper/rules"
	"github.com/slokeeper/slokeeper/slo"
)

// RuleSink receives the complete set of rule files when the rules are
// evaluated in-process (the embedded engine). It returns whether anything
// changed; on error it keeps its previous rules.
type RuleSink interface {
	SetRules(ctx context.Context, files map[string][]byte) (changed bool, err error)
}

// byService splits SLOs (sorted by ID) into runs of one service.
func byService(slos []slo.SLO) [][]slo.SLO {
	var out [][]slo.SLO
	for i := 0; i < len(slos); {
		j := i + 1
		for j < len(slos) && slos[j].Service == slos[i].Service {
			j++
		}
		out = append(out, slos[i:j])
		i = j
	}
	return out
}

// eachService generates the rules of every service in turn and hands them
// to fn. A service whose rules cannot be generated is reported in failed
// and its error joined; the others go ahead.
func (d *Daemon) eachService(slos []slo.SLO, fn func(svc string, out *rules.Output) error) (failed map[string]bool, err error) {
	opts := d.ruleOptions()
	failed = map[string]bool{}
	var errs []error
	for _, run := range byService(slos) {
		svc := run[0].Service
		gerr := rules.GenerateEach(run, opts, func(out *rules.Output) error { return fn(svc, out) })
		if gerr != nil {
			failed[svc] = true
			errs = append(errs, fmt.Errorf("service %s: %w", svc, gerr))
		}
	}
	return failed, errors.Join(errs...)
}

// deliver generates the rules of the configured mode and delivers them:
// files or manifests written atomically into the directory (files no longer
// generated removed, Prometheus reloaded when something changed or a
// previous reload failed), groups sent to the Mimir ruler, or the rule set
// handed to the embedded engine.
func (d *Daemon) deliver(ctx context.Context, slos []slo.SLO) error {
	r := d.cfg.Rules
	if d.opts.RuleSink != nil {
		files := map[string][]byte{}
		_, gerr := d.eachService(slos, func(svc string, out *rules.Output) error {
			data, err := out.MarshalRuleFile(svc)
			if err == nil {
				files[rules.RuleFileName(svc)] = data
			}
			return err
		})
		if gerr != nil {
			// Never hand the engine a partial set: it would drop the
			// failed services' rules.
			return fmt.Errorf("generating rules: %w", gerr)
		}
		changed, err := d.opts.RuleSink.SetRules(ctx, files)
		if err != nil {
			return fmt.Errorf("loading rules into the embedded engine: %w", err)
		}
		if changed {
			d.m.deliveries.WithLabelValues(r.Mode, "write").Inc()
			d.log.Info("rules loaded into the embedded engine", "files", len(files))
		}
		return nil
	}
	// Files, objects and namespaces are named "<prefix>-<service>".
	ropts := d.ruleOptions()
	prefix := strings.TrimSuffix(ropts.ObjectName("x"), "x")
	switch r.Mode {
	case config.ModeFiles:
		return d.deliverFiles(ctx, slos, func(svc string) string { return rules.RuleFileName(svc) },
			func(n string) bool { return strings.HasPrefix(n, "slo-") && strings.HasSuffix(n, ".rules.yml") },
			func(svc string, out *rules.Output) ([]byte, error) { return out.MarshalRuleFile(svc) })
	case config.ModePrometheusOperator:
		return d.deliverFiles(ctx, slos, func(svc string) string { return ropts.ObjectName(svc) + ".yaml" },
			func(n string) bool { return strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".yaml") },
			func(svc string, out *rules.Output) ([]byte, error) {
				return out.PrometheusRule(svc, r.Namespace, r.Labels)
			})
	case config.ModeMimir:
		return d.deliverMimir(ctx, slos, prefix)
	default:
		return fmt.Errorf("rules.mode %s: not supported", r.Mode)
	}
}

// deliverFiles writes one file per service, removes the owned files no
// longer generated (but never those of a service whose generation failed:
// its last good file keeps running) and reloads Prometheus when needed.
func (d *Daemon) deliverFiles(ctx context.Context, slos []slo.SLO, name func(svc string) string, owned func(string) bool,
	render func(svc string, out *rules.Output) ([]byte, error)) error {
	r := d.cfg.Rules
	keep := map[string]bool{}
	changed := false
	failed, gerr := d.eachService(slos, func(svc string, out *rules.Output) error {
		data, err := render(svc, out)
		if err != nil {
			return err
		}
		n := name(svc)
		keep[n] = true
		c, err := atomicfile.Write(filepath.Join(r.Directory, n), data, 0o644)
		if err != nil {
			return fmt.Errorf("writing %s: %w", n, err)
		}
		if c {
			changed = true
			d.m.deliveries.WithLabelValues(r.Mode, "write").Inc()
			d.log.Info("rule file written", "file", n)
		}
		return nil
	})
	for svc := range failed {
		keep[name(svc)] = true
	}
	entries, err := os.ReadDir(r.Directory)
	if err != nil && !os.IsNotExist(err) {
		return errors.Join(gerr, fmt.Errorf("listing %s: %w", r.Directory, err))
	}
	for _, e := range entries {
		if e.IsDir() || keep[e.Name()] || !owned(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(r.Directory, e.Name())); err != nil {
			return errors.Join(gerr, fmt.Errorf("removing %s: %w", e.Name(), err))
		}
		changed = true
		d.m.deliveries.WithLabelValues(r.Mode, "remove").Inc()
		d.log.Info("rule file removed", "file", e.Name())
	}
	if gerr != nil {
		gerr = fmt.Errorf("generating rules: %w", gerr)
	}
	if r.Mode != config.ModeFiles || r.ReloadURL == "" {
		return gerr
	}
	d.mu.Lock()
	due := changed || d.reloadDue
	d.mu.Unlock()
	if !due {
		return gerr
	}
	err = d.reload(ctx)
	d.mu.Lock()
	d.reloadDue = err != nil
	d.mu.Unlock()
	return errors.Join(gerr, err)
}

// deliverMimir sends the changed rule groups of every service to the ruler
// and deletes those no longer generated; the namespaces of services whose
// generation failed are left as they are.
func (d *Daemon) deliverMimir(ctx context.Context, slos []slo.SLO, prefix string) error {
	var groups []rules.RulerGroup
	failed, gerr := d.eachService(slos, func(svc string, out *rules.Output) error {
		gs, err := out.RulerGroups(svc)
		groups = append(groups, gs...)
		return err
	})
	skip := map[string]bool{}
	for svc := range failed {
		skip[d.ruleOptions().ObjectName(svc)] = true
	}
	res, err := d.mimir.sync(ctx, groups, func(ns string) bool { return strings.HasPrefix(ns, prefix) && !skip[ns] })
	d.m.deliveries.WithLabelValues(config.ModeMimir, "write").Add(float64(res.written))
	d.m.deliveries.WithLabelValues(config.ModeMimir, "remove").Add(float64(res.removed))
	if gerr != nil {
		gerr = fmt.Errorf("generating rules: %w", gerr)
	}
	return errors.Join(gerr, err)
}
