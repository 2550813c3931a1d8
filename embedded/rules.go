package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/rules"

	"github.com/slokeeper/slokeeper/internal/atomicfile"
)

// validRuleFileName accepts plain file names: rule files live flat in
// Dir/rules.
func validRuleFileName(name string) error {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return fmt.Errorf("rule file name %q: must be a plain file name", name)
	}
	return nil
}

// parseRuleFile validates a rule file the way Prometheus's rule manager
// does when it loads it.
func (e *Engine) parseRuleFile(name string, data []byte) (*rulefmt.RuleGroups, error) {
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation, e.parser, e.logger)
	if len(errs) > 0 {
		return nil, fmt.Errorf("rule file %s: %w", name, errors.Join(errs...))
	}
	return rgs, nil
}

// SetRules replaces the loaded rule files by files (file name -> rule file
// YAML, as package rules marshals them). Every file is validated first; on
// any error nothing changes and the previous rules keep being evaluated.
// The files are written under Dir/rules (atomically, one by one; files no
// longer in the set are removed) and loaded into the rules manager, which
// keeps the state of unchanged groups. changed is false when the set was
// already loaded.
func (e *Engine) SetRules(ctx context.Context, files map[string][]byte) (changed bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := validRuleFileName(name); err != nil {
			return false, fmt.Errorf("embedded engine: %w", err)
		}
		if _, err := e.parseRuleFile(name, files[name]); err != nil {
			return false, fmt.Errorf("embedded engine: %w", err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false, errors.New("embedded engine: closed")
	}
	if maps.EqualFunc(files, e.ruleFiles, bytes.Equal) {
		return false, nil
	}
	old := e.ruleFiles
	if err := writeRuleFiles(rulesDir(e.opts.Dir), files, old); err != nil {
		return false, fmt.Errorf("embedded engine: %w", err)
	}
	if err := e.updateManager(files); err != nil {
		// Put the previous files back so that a restart loads what runs.
		if rerr := writeRuleFiles(rulesDir(e.opts.Dir), old, files); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restoring the previous rule files: %w", rerr))
		}
		return false, fmt.Errorf("embedded engine: %w", err)
	}
	e.ruleFiles = maps.Clone(files)
	return true, nil
}

// Rules returns the loaded rule files.
func (e *Engine) Rules() map[string][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.ruleFiles)
}

func writeRuleFiles(dir string, files, previous map[string][]byte) error {
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if _, err := atomicfile.Write(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return fmt.Errorf("writing rule file %s: %w", name, err)
		}
	}
	for name := range previous {
		if _, ok := files[name]; ok {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("removing rule file %s: %w", name, err)
		}
	}
	return nil
}

func (e *Engine) updateManager(files map[string][]byte) error {
	paths := make([]string, 0, len(files))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		paths = append(paths, filepath.Join(rulesDir(e.opts.Dir), name))
	}
	if err := e.rules.Update(e.opts.EvaluationInterval, paths, labels.EmptyLabels(), e.extURL, nil); err != nil {
		return fmt.Errorf("loading rules: %w", err)
	}
	return nil
}

// loadExistingRules loads the rule files a previous run left, so that
// evaluation goes on before the daemon sets its rules.
func (e *Engine) loadExistingRules() error {
	dir := rulesDir(e.opts.Dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	files := map[string][]byte{}
	for _, de := range entries {
		if de.IsDir() || validRuleFileName(de.Name()) != nil || strings.Contains(de.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			return fmt.Errorf("reading rule file %s: %w", de.Name(), err)
		}
		if _, err := e.parseRuleFile(de.Name(), b); err != nil {
			return err
		}
		files[de.Name()] = b
	}
	if len(files) == 0 {
		return nil
	}
	if err := e.updateManager(files); err != nil {
		return err
	}
	e.ruleFiles = files
	return nil
}

// RuleGroups are the loaded groups, by file then name (for the API).
func (e *Engine) RuleGroups() []*rules.Group { return e.rules.RuleGroups() }

// AlertingRules are the loaded alerting rules (for the API).
func (e *Engine) AlertingRules() []*rules.AlertingRule { return e.rules.AlertingRules() }
