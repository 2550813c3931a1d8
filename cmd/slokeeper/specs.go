package main

import (
	"context"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/loader"
	"github.com/slokeeper/slokeeper/slo/native"
)

// loadSpecs loads paths and prints every problem on stderr. ok is false when
// any problem is an error.
func loadSpecs(ctx context.Context, paths []string, stderr io.Writer) (loader.Result, bool) {
	res, err := loader.Load(ctx, paths, loader.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: loading specs: %v\n", err)
		return res, false
	}
	for _, p := range res.Problems {
		fmt.Fprintln(stderr, p.String())
	}
	return res, !res.Problems.HasErrors()
}

type validateCmd struct {
	paths []string
	quiet bool
}

func (c *validateCmd) name() string { return "validate" }
func (c *validateCmd) register(app *kingpin.Application) {
	cmd := app.Command("validate", "Check SLO specs (native, Sloth, Pyrra, OpenSLO); every problem as path:line:col: field: message. Exit 0 when valid, 1 when not.")
	cmd.Flag("quiet", "Print nothing when the specs are valid.").Short('q').BoolVar(&c.quiet)
	cmd.Arg("path", "Spec files or directories (walked recursively for *.yaml and *.yml).").Required().StringsVar(&c.paths)
}

func (c *validateCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	res, ok := loadSpecs(ctx, c.paths, stderr)
	if !ok {
		errs := 0
		for _, p := range res.Problems {
			if p.Severity == slo.Error {
				errs++
			}
		}
		fmt.Fprintf(stderr, "%d error(s) in %d file(s)\n", errs, len(res.InvalidFiles))
		return exitInvalid
	}
	if !c.quiet {
		services := map[string]bool{}
		for _, s := range res.SLOs {
			services[s.Service] = true
		}
		fmt.Fprintf(stdout, "%d SLO(s) of %d service(s) in %d file(s): valid\n", len(res.SLOs), len(services), len(res.Files))
	}
	return exitOK
}

type convertCmd struct {
	to    string
	paths []string
}

func (c *convertCmd) name() string { return "convert" }
func (c *convertCmd) register(app *kingpin.Application) {
	cmd := app.Command("convert", "Print specs of any supported format in slokeeper's native format, to migrate.")
	cmd.Flag("to", "Output format.").Default("native").EnumVar(&c.to, "native")
	cmd.Arg("path", "Spec files or directories.").Required().StringsVar(&c.paths)
}

func (c *convertCmd) run(ctx context.Context, stdout, stderr io.Writer) int {
	res, ok := loadSpecs(ctx, c.paths, stderr)
	if !ok {
		return exitInvalid
	}
	out, err := native.Marshal(res.SLOs)
	if err != nil {
		fmt.Fprintf(stderr, "slokeeper: writing native specs: %v\n", err)
		return exitInvalid
	}
	_, _ = stdout.Write(out)
	return exitOK
}
