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

	"github.com/slokeeper/slokeeper/alertmanager"
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
	am         bool
	amOpts     alertmanager.Options
}

// Defaults of the Alertmanager flags. The dead-letter URL is a placeholder
// under the reserved .invalid domain: it never resolves, so deliveries to
// it fail visibly until a real receiver is configured.
const (
	defaultPagerDutyKeyFile = "/etc/alertmanager/secrets/pagerduty-routing-key"
	defaultSlackURLFile     = "/etc/alertmanager/secrets/slack-api-url"
	defaultSlackChannel     = "#slo-alerts"
	defaultDeadLetterURL    = "http://dead-letter.invalid/slokeeper"
)

func (c *generateCmd) name() string { return "generate" }
func (c *generateCmd) register(app *kingpin.Application) {
	cmd := app.Command("generate", "Generate Prometheus rule files, PrometheusRule manifests, Mimir/Cortex ruler payloads, Grafana dashboards (with a provisioning file) and the Alertmanager routing of the alerts from SLO specs. Same input, byte-identical output.")
	cmd.Flag("output", "Output directory; its rules/, prometheusrule/, mimir/, dashboards/ and alertmanager/ folders are owned by slokeeper (files it no longer generates are removed).").Short('o').Required().StringVar(&c.out)
	cmd.Flag("k8s.namespace", "Namespace of the PrometheusRule objects.").StringVar(&c.namespace)
	cmd.Flag("k8s.rule-label", "Label on the PrometheusRule objects, for the operator's ruleSelector (repeatable), e.g. role=alert-rules.").StringMapVar(&c.ruleLabels)
	cmd.Flag("dashboard.url", "Dashboard URL put on alerts; {service}, {slo} and {team} are replaced.").StringVar(&c.dashboard)
	cmd.Flag("grafana.folder", "Grafana folder of the provisioned dashboards.").Default(dashboards.DefaultFolder).StringVar(&c.prov.Folder)
	cmd.Flag("grafana.folder-uid", "UID of that folder.").Default(dashboards.DefaultFolderUID).StringVar(&c.prov.FolderUID)
	cmd.Flag("grafana.dashboards-path", "Where Grafana reads the dashboard files from (the provider's options.path).").Default("/var/lib/grafana/dashboards/slokeeper").StringVar(&c.prov.Path)
	cmd.Flag("alertmanager", "Also write alertmanager/slokeeper.yml, the Alertmanager routing of the generated alerts (--no-alertmanager skips it and leaves alertmanager/ alone).").Default("true").BoolVar(&c.am)
	cmd.Flag("alertmanager.pagerduty-routing-key-file", "File Alertmanager reads the PagerDuty Events API v2 routing key from (page-class alerts).").Default(defaultPagerDutyKeyFile).StringVar(&c.amOpts.PagerDutyRoutingKeyFile)
	cmd.Flag("alertmanager.pagerduty-url", "PagerDuty Events API v2 URL (default: Alertmanager's, https://events.pagerduty.com/v2/enqueue).").StringVar(&c.amOpts.PagerDutyURL)
	cmd.Flag("alertmanager.slack-api-url-file", "File Alertmanager reads the Slack incoming webhook URL from (ticket-class alerts).").Default(defaultSlackURLFile).StringVar(&c.amOpts.SlackAPIURLFile)
	cmd.Flag("alertmanager.slack-channel", "Slack channel of the ticket notifications (empty: the webhook's own).").Default(defaultSlackChannel).StringVar(&c.amOpts.SlackChannel)
	cmd.Flag("alertmanager.dead-letter-url", "Webhook receiving the alerts no route matches (the default is a placeholder that never resolves: set it).").Default(defaultDeadLetterURL).StringVar(&c.amOpts.DeadLetterURL)
	cmd.Flag("alertmanager.group-wait", "Alertmanager group_wait.").Default("30s").DurationVar(&c.amOpts.GroupWait)
	cmd.Flag("alertmanager.group-interval", "Alertmanager group_interval.").Default("5m").DurationVar(&c.amOpts.GroupInterval)
	cmd.Flag("alertmanager.repeat-interval", "Alertmanager repeat_interval of pages.").Default("4h").DurationVar(&c.amOpts.RepeatInterval)
	cmd.Flag("alertmanager.ticket-repeat-interval", "Alertmanager repeat_interval of the Slack (ticket) routes.").Default("24h").DurationVar(&c.amOpts.TicketRepeatInterval)
	cmd.Arg("path", "Spec files or directories.").Required().StringsVar(&c.paths)
}

func (c *generateCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	res, ok := loadSpecs(ctx, c.paths, stderr)
	if !ok {
		return exitInvalid
	}
	opts := artifacts.Options{Namespace: c.namespace, RuleLabels: c.ruleLabels, Provisioning: c.prov}
	opts.Rules.DashboardURL = c.dashboard
	dirs := artifacts.Dirs()
	var amFiles alertmanager.Files
	if c.am {
		amOpts := c.amOpts
		amOpts.Tiers = opts.Rules.Tiers
		var err error
		if amFiles, err = alertmanager.Generate(res.SLOs, amOpts); err != nil {
			fmt.Fprintf(stderr, "slokeeper: generating the Alertmanager configuration: %v\n", err)
			return exitInvalid
		}
		dirs = append(dirs, alertmanager.Dir)
	}
	written, unchanged, removed, err := writeTree(c.out, dirs, func(emit func(artifacts.File) error) error {
		if err := artifacts.Each(res.SLOs, opts, emit); err != nil {
			return err
		}
		for _, f := range amFiles {
			if err := emit(artifacts.File{Path: f.Path, Data: f.Data}); err != nil {
				return err
			}
		}
		return nil
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
// folders (dirs, relative to dir) that were not generated this time.
// Nothing is removed when generation or a write fails.
func writeTree(dir string, dirs []string, gen func(emit func(artifacts.File) error) error) (written, unchanged, removed int, err error) {
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
	for _, sub := range dirs {
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
