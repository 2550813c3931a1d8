package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slokeeper/slokeeper/dashboards"
	"github.com/slokeeper/slokeeper/dashboards/grafana"
)

// dashboardsPushCmd is `slokeeper dashboards push`: generate the dashboards
// of the specs and write the changed ones to a Grafana through its HTTP API.
type dashboardsPushCmd struct {
	url       string
	tokenFile string
	tokenEnv  string
	orgID     int64
	folder    string
	folderUID string
	message   string
	overwrite bool
	prune     bool
	dryRun    bool
	timeout   time.Duration
	paths     []string
}

func (c *dashboardsPushCmd) name() string { return "dashboards push" }
func (c *dashboardsPushCmd) register(app *kingpin.Application) {
	cmd := app.Command("dashboards", "Grafana dashboards.").Command("push", "Generate the dashboards of the specs and push the changed ones to Grafana (unchanged dashboards are not written).")
	cmd.Flag("grafana.url", "Grafana's base URL.").Required().StringVar(&c.url)
	cmd.Flag("grafana.token-file", "File holding a Grafana service-account token (default: the "+grafana.DefaultTokenEnv+" environment variable).").StringVar(&c.tokenFile)
	cmd.Flag("grafana.token-env", "Environment variable holding the token.").Default(grafana.DefaultTokenEnv).StringVar(&c.tokenEnv)
	cmd.Flag("grafana.org-id", "Grafana organisation id (0: the token's).").Int64Var(&c.orgID)
	cmd.Flag("grafana.folder", "Folder title.").Default(dashboards.DefaultFolder).StringVar(&c.folder)
	cmd.Flag("grafana.folder-uid", "Folder UID.").Default(dashboards.DefaultFolderUID).StringVar(&c.folderUID)
	cmd.Flag("message", "Version message of the saves.").Default("pushed by slokeeper").StringVar(&c.message)
	cmd.Flag("overwrite", "Replace dashboards even when they were edited in Grafana since they were read.").BoolVar(&c.overwrite)
	cmd.Flag("prune", "Also delete the dashboards slokeeper generated earlier in the folder that the specs no longer produce (removed services and SLOs); dashboards made by people are never deleted.").BoolVar(&c.prune)
	cmd.Flag("prune.dry-run", "With --prune, list what would be deleted without deleting it.").BoolVar(&c.dryRun)
	cmd.Flag("timeout", "Time limit of the whole push.").Default("2m").DurationVar(&c.timeout)
	cmd.Arg("path", "Spec files or directories.").Required().StringsVar(&c.paths)
}

func (c *dashboardsPushCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	res, ok := loadSpecs(ctx, c.paths, stderr)
	if !ok {
		return exitInvalid
	}
	token, err := grafana.LoadToken(c.tokenFile, c.tokenEnv)
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: %v\n", err)
		return exitInvalid
	}
	client, err := grafana.New(grafana.Config{URL: c.url, Token: token, OrgID: c.orgID})
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: %v\n", err)
		return exitInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ds := dashboards.All(res.SLOs, dashboards.Options{})
	out, err := client.Push(ctx, ds, grafana.PushOptions{FolderUID: c.folderUID, FolderTitle: c.folder, Message: c.message, Overwrite: c.overwrite})
	fmt.Fprintf(stdout, "%d dashboard(s): %d written, %d unchanged\n", len(ds), len(out.Written), len(out.Unchanged))
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: pushing dashboards to %s: %v\n", c.url, err)
		return exitInvalid
	}
	if !c.prune || len(out.Keep()) == 0 {
		return exitOK
	}
	pr, err := client.Prune(ctx, grafana.PruneOptions{FolderUID: c.folderUID, Keep: out.Keep(), DryRun: c.dryRun})
	verb := "deleted"
	if c.dryRun {
		verb = "would be deleted"
	}
	for _, uid := range pr.Deleted {
		fmt.Fprintf(stdout, "stale dashboard %s %s\n", uid, verb)
	}
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: deleting stale dashboards from %s: %v\n", c.url, err)
		return exitInvalid
	}
	return exitOK
}
