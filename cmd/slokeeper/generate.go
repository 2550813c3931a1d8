package main

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"
)

type generateCmd struct {
	out   string
	paths []string
}

func (c *generateCmd) name() string { return "generate" }
func (c *generateCmd) register(app *kingpin.Application) {
	cmd := app.Command("generate", "Generate Prometheus rules (and more) from SLO specs into a directory.")
	cmd.Flag("output", "Output directory.").Short('o').Required().StringVar(&c.out)
	cmd.Arg("path", "Spec files or directories.").Required().StringsVar(&c.paths)
}

func (c *generateCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	if _, ok := loadSpecs(ctx, c.paths, stderr); !ok {
		return exitInvalid
	}
	fmt.Fprintln(stderr, "slokeeper: generate: being built")
	return exitInvalid
}
