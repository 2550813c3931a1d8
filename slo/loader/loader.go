// Package loader reads SLO spec files of every supported format (native
// slokeeper.io/v1, Sloth, Pyrra, OpenSLO), converts them into the one
// slo.SLO model, and validates them. Files are read at the edge (Load);
// Parse is pure and takes file contents.
package loader

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
	"github.com/slokeeper/slokeeper/slo/native"
	"github.com/slokeeper/slokeeper/slo/openslo"
	"github.com/slokeeper/slokeeper/slo/pyrra"
	"github.com/slokeeper/slokeeper/slo/sloth"
)

// Importer converts the documents of one spec format. Import receives every
// accepted document of every file at once, so that formats with references
// across files (OpenSLO's indicatorRef) can resolve them.
type Importer struct {
	Format  slo.Format
	Accepts func(apiVersion, kind string) bool
	Import  func(docs []ynode.Doc, ps *slo.Problems) []slo.SLO
}

// Importers lists the supported formats in the order they are tried.
func Importers() []Importer {
	return []Importer{
		{Format: slo.FormatNative, Accepts: native.Accepts, Import: native.Import},
		{Format: slo.FormatSloth, Accepts: sloth.Accepts, Import: sloth.Import},
		{Format: slo.FormatPyrra, Accepts: pyrra.Accepts, Import: pyrra.Import},
		{Format: slo.FormatOpenSLO, Accepts: openslo.Accepts, Import: openslo.Import},
	}
}

// File is one spec file's name and content.
type File struct {
	Name string
	Data []byte
}

// Result is what loading produced: the SLOs that are valid, and every
// problem found. SLOs with errors are left out of SLOs; Invalid lists their
// files so a daemon can keep their last good version.
type Result struct {
	SLOs     []slo.SLO
	Problems slo.Problems
	// Files lists every file read, in order.
	Files []string
	// InvalidFiles lists files with at least one error.
	InvalidFiles map[string]bool
}

// Options tunes loading.
type Options struct {
	// Validate runs the semantic checks (default true via Load/Parse callers).
	Validate slo.ValidateOptions
}

// Parse loads specs from file contents: split into documents, import each
// with its format's importer, validate. It never panics on user input.
func Parse(files []File, opts Options) Result {
	res := Result{InvalidFiles: map[string]bool{}}
	importers := Importers()
	batches := make([][]ynode.Doc, len(importers))
	parsed := parseAll(files)
	for i, f := range files {
		res.Files = append(res.Files, f.Name)
		docs, ps := parsed[i].docs, parsed[i].ps
		res.Problems = append(res.Problems, ps...)
		said := map[string]bool{} // one line per file for the same refusal
	docLoop:
		for _, d := range docs {
			for i, imp := range importers {
				if imp.Accepts(d.APIVersion, d.Kind) {
					batches[i] = append(batches[i], d)
					continue docLoop
				}
			}
			if p := unknownDoc(d); !said[p.Message] {
				said[p.Message] = true
				res.Problems = append(res.Problems, p)
			}
		}
	}
	var all []slo.SLO
	for i, imp := range importers {
		if len(batches[i]) == 0 {
			continue
		}
		all = append(all, safeImport(imp, batches[i], &res.Problems)...)
	}
	// One problem per position: a value the importer already refused (a
	// malformed duration, say) is not reported again by validation.
	at := map[slo.Pos]bool{}
	for _, p := range res.Problems {
		at[p.Pos.WithPath("")] = true
	}
	for _, p := range slo.Validate(all, opts.Validate) {
		if !at[p.Pos.WithPath("")] {
			res.Problems = append(res.Problems, p)
		}
	}
	for _, p := range res.Problems {
		if p.Severity == slo.Error {
			res.InvalidFiles[p.Pos.File] = true
		}
	}
	// An SLO is kept only when its file has no error: a half-valid file is
	// not applied, so the last good version of the whole file keeps running.
	for _, s := range all {
		if !res.InvalidFiles[s.Source.File] {
			res.SLOs = append(res.SLOs, s)
		}
	}
	sort.SliceStable(res.SLOs, func(i, j int) bool { return res.SLOs[i].ID() < res.SLOs[j].ID() })
	res.Problems.Sort()
	return res
}

type parsedFile struct {
	docs []ynode.Doc
	ps   slo.Problems
}

// parseAll splits every file into YAML documents, on all cores: YAML parsing
// is most of the cost of loading thousands of files.
func parseAll(files []File) []parsedFile {
	out := make([]parsedFile, len(files))
	workers := min(runtime.GOMAXPROCS(0), len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i].docs, out[i].ps = ynode.ParseFile(files[i].Name, files[i].Data)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// safeImport runs an importer and turns a panic into a problem: a bug in one
// importer must not take the daemon down with it.
func safeImport(imp Importer, docs []ynode.Doc, ps *slo.Problems) (out []slo.SLO) {
	defer func() {
		if r := recover(); r != nil {
			ps.Add(docs[0].Pos(), "internal error importing %s specs: %v", imp.Format, r)
			out = nil
		}
	}()
	return imp.Import(docs, ps)
}

func unknownDoc(d ynode.Doc) slo.Problem {
	pos := d.Pos()
	msg := ""
	switch {
	case d.APIVersion == "" && d.Kind == "" && hasKey(d, "groups"):
		msg = "not an SLO spec: this is a Prometheus rule file (groups:), e.g. rules generated by another tool"
	case d.Kind == "PrometheusRule" && strings.HasPrefix(d.APIVersion, "monitoring.coreos.com/"):
		msg = "not an SLO spec: this is a Prometheus operator PrometheusRule, e.g. rules generated by another tool"
	case d.APIVersion == "" && d.Kind == "":
		msg = "not an SLO spec: the document has no apiVersion and kind (supported: " + supported + ")"
	default:
		msg = fmt.Sprintf("unsupported apiVersion %q and kind %q (supported: %s)", d.APIVersion, d.Kind, supported)
	}
	return slo.Problem{Pos: pos, Message: msg}
}

const supported = "slokeeper.io/v1 ServiceLevelObjectives, Sloth prometheus/v1 and sloth.slok.dev/v1 PrometheusServiceLevel, pyrra.dev/v1alpha1 ServiceLevelObjective, openslo/v1 SLO, SLI, Service, AlertPolicy, AlertCondition, AlertNotificationTarget and DataSource, openslo/v1alpha SLO"

func hasKey(d ynode.Doc, key string) bool {
	for i := 0; i+1 < len(d.Root.Content); i += 2 {
		if d.Root.Content[i].Value == key {
			return true
		}
	}
	return false
}

// Load reads the files and directories at paths (directories recursively,
// *.yaml and *.yml only) and parses them. Paths are read in sorted order so
// results are deterministic.
func Load(ctx context.Context, paths []string, opts Options) (Result, error) {
	files, ps, err := ReadFiles(ctx, paths)
	if err != nil {
		return Result{}, err
	}
	res := Parse(files, opts)
	res.Problems = append(ps, res.Problems...)
	for _, p := range ps {
		res.InvalidFiles[p.Pos.File] = true
	}
	res.Problems.Sort()
	return res, nil
}

// ReadFiles reads spec files from paths. A path that does not exist or a file
// that cannot be read is a problem, not an error; err is only ctx's.
func ReadFiles(ctx context.Context, paths []string) ([]File, slo.Problems, error) {
	var (
		files []File
		ps    slo.Problems
		seen  = map[string]bool{}
	)
	add := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		data, err := readLimited(name)
		if err != nil {
			ps.Add(slo.Pos{File: name}, "%v", err)
			return
		}
		files = append(files, File{Name: name, Data: data})
	}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		st, err := os.Stat(p)
		if err != nil {
			ps.Add(slo.Pos{File: p}, "cannot read: %v", unwrapPathErr(err))
			continue
		}
		if !st.IsDir() {
			add(p)
			continue
		}
		var names []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				ps.Add(slo.Pos{File: path}, "cannot read: %v", unwrapPathErr(err))
				return nil
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if IsSpecFile(path) {
				names = append(names, path)
			}
			return ctx.Err()
		})
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			add(n)
		}
	}
	return files, ps, nil
}

// IsSpecFile says whether a file found in a directory walk is read as a spec.
func IsSpecFile(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(base))
	return ext == ".yaml" || ext == ".yml"
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathErr(err))
	}
	if st.Size() > ynode.MaxFileSize {
		return nil, fmt.Errorf("file is %d bytes, over the %d MiB limit", st.Size(), ynode.MaxFileSize>>20)
	}
	data := make([]byte, 0, st.Size()+1)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := f.Read(buf)
		data = append(data, buf[:n]...)
		if len(data) > ynode.MaxFileSize {
			return nil, fmt.Errorf("file is over the %d MiB limit", ynode.MaxFileSize>>20)
		}
		if rerr != nil {
			break
		}
	}
	return data, nil
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if ok := asPathErr(err, &pe); ok {
		return pe.Err
	}
	return err
}

func asPathErr(err error, target **fs.PathError) bool {
	pe, ok := err.(*fs.PathError)
	if ok {
		*target = pe
	}
	return ok
}
