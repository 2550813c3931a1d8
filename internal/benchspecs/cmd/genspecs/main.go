// Command genspecs writes synthetic SLO specs for `make bench`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slokeeper/slokeeper/internal/benchspecs"
)

func main() {
	n := flag.Int("slos", 10000, "number of SLOs")
	files := flag.Int("files", 1000, "number of files")
	out := flag.String("o", "", "output directory")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genspecs: -o DIR is required")
		os.Exit(1)
	}
	names, contents := benchspecs.Files(*n, *files)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "genspecs:", err)
		os.Exit(1)
	}
	for i, name := range names {
		if err := os.WriteFile(filepath.Join(*out, name), contents[i], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "genspecs:", err)
			os.Exit(1)
		}
	}
}
