// Command slokeeper checks SLO specs, generates Prometheus rules and Grafana
// dashboards from them, and converts peer formats to its own.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slokeeper/slokeeper/internal/version"
)

// Exit codes.
const (
	exitOK      = 0
	exitInvalid = 1
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: its flags are registered on the kingpin
// command, and run is called when it is chosen.
type command interface {
	register(app *kingpin.Application)
	name() string
	run(ctx context.Context, stdout, stderr io.Writer) int
}

// run parses args and runs the chosen command. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := kingpin.New("slokeeper", "SLOs in; Prometheus rules, Grafana dashboards, budgets and change freezes out.")
	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	terminated := false
	app.Terminate(func(int) { terminated = true })
	app.HelpFlag.Short('h')
	cmds := []command{
		&validateCmd{},
		&convertCmd{},
		&generateCmd{},
		&versionCmd{},
		&serveCmd{},
		&dashboardsPushCmd{},
		&freezeCmd{},
		&reportCmd{},
	}
	for _, c := range cmds {
		c.register(app)
	}
	chosen, err := app.Parse(args)
	if terminated { // --help printed the usage
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: %v (see slokeeper --help)\n", err)
		return exitInvalid
	}
	for _, c := range cmds {
		if c.name() == chosen {
			return c.run(ctx, stdout, stderr)
		}
	}
	// --help and --version end here.
	return exitOK
}

type versionCmd struct{}

func (c *versionCmd) name() string { return "version" }
func (c *versionCmd) register(app *kingpin.Application) {
	app.Command("version", "Print the version.")
}
func (c *versionCmd) run(_ context.Context, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, version.Info("slokeeper"))
	return exitOK
}
