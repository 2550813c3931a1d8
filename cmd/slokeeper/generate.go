package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slokeeper/slokeeper/artifacts"
	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/internal/atomicfile"
)

type generateCmd struct {
	out        string
	namespace  string
	ruleLabels map[string]string
	dashboard  string
	prov       dashboards.Provisioning
	paths      []string
}

func (c *generateCmd) name() string { return "generate" }
func (c *generateCmd) register(app *kingpin.Application) {
	cmd := app.Command("generate", "Generate Prometheus rule files, PrometheusRule manifests, Mimir/Cortex ruler payloads and Grafana dashboards (with a provisioning file) from SLO specs. Same input, byte-identical output.")
	cmd.Flag("output", "Output directory; its rules/, prometheusrule/, mimir/ and dashboards/ folders are owned by slokeeper (files it no longer generates are removed).").Short('o').Required().StringVar(&c.out)
	cmd.Flag("k8s.namespace", "Namespace of the PrometheusRule objects.").StringVar(&c.namespace)
	cmd.Flag("k8s.rule-label", "Label on the PrometheusRule objects, for the operator's ruleSelector (repeatable), e.g. role=alert-rules.").StringMapVar(&c.ruleLabels)
	cmd.Flag("dashboard.url", "Dashboard URL put on alerts; {service}, {slo} and {team} are replaced.").StringVar(&c.dashboard)
	cmd.Flag("grafana.folder", "Grafana folder of the provisioned dashboards.").Default(dashboards.DefaultFolder).StringVar(&c.prov.Folder)
	cmd.Flag("grafana.folder-uid", "UID of that folder.").Default(dashboards.DefaultFolderUID).StringVar(&c.prov.FolderUID)
	cmd.Flag("grafana.dashboards-path", "Where Grafana reads the dashboard files from (the provider's options.path).").Default("/var/lib/grafana/dashboards/slokeeper").StringVar(&c.prov.Path)
	cmd.Arg("path", "Spec files or directories.").Required().StringsVar(&c.paths)
}

func (c *generateCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	res, ok := loadSpecs(ctx, c.paths, stderr)
	if !ok {
		return exitInvalid
	}
	opts := artifacts.Options{Namespace: c.namespace, RuleLabels: c.ruleLabels, Provisioning: c.prov}
	opts.Rules.DashboardURL = c.dashboard
	written, unchanged, removed, err := writeTree(c.out, func(emit func(artifacts.File) error) error {
		return artifacts.Each(res.SLOs, opts, emit)
	})
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: writing %s: %v\n", c.out, err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "%d SLO(s): %d file(s) written, %d unchanged, %d removed in %s\n", len(res.SLOs), written, unchanged, removed, c.out)
	return exitOK
}

// writeTree writes the files produced by gen under dir atomically, as they
// come, on a few goroutines (each write ends with an fsync, which dominates
// the cost for thousands of files), then removes the files of slokeeper's
// folders that were not generated this time. Nothing is removed when
// generation or a write fails.
func writeTree(dir string, gen func(emit func(artifacts.File) error) error) (written, unchanged, removed int, err error) {
	const writers = 8
	var (
		mu       sync.Mutex
		keep     = map[string]bool{}
		firstErr error
		wg       sync.WaitGroup
		queue    = make(chan artifacts.File, writers)
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range queue {
				p := filepath.Join(dir, filepath.FromSlash(f.Path))
				changed, err := atomicfile.Write(p, f.Data, 0o644)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil:
					firstErr = err
				case changed:
					written++
				case err == nil:
					unchanged++
				}
				mu.Unlock()
			}
		}()
	}
	err = gen(func(f artifacts.File) error {
		mu.Lock()
		keep[filepath.Join(dir, filepath.FromSlash(f.Path))] = true
		failed := firstErr
		mu.Unlock()
		if failed != nil {
			return failed
		}
		queue <- f
		return nil
	})
	close(queue)
	wg.Wait()
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return written, unchanged, removed, err
	}
	for _, sub := range artifacts.Dirs() {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() || keep[p] {
				return nil
			}
			if err := os.Remove(p); err != nil {
				return err
			}
			removed++
			return nil
		})
		if err != nil {
			return written, unchanged, removed, err
		}
		removeEmptyDirs(root)
	}
	return written, unchanged, removed, nil
}

// removeEmptyDirs removes the empty folders below root (not root itself).
func removeEmptyDirs(root string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			p := filepath.Join(root, e.Name())
			removeEmptyDirs(p)
			_ = os.Remove(p) // fails, as wanted, when not empty
		}
	}
}
