package dashboards

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/slokeeper/slokeeper/slo"
)

// File is a generated file: a path relative to the output directory, and
// its content.
type File struct {
	Path string
	Data []byte
}

// Provisioning describes Grafana's file provisioning of the dashboards.
type Provisioning struct {
	// Dir is the folder of the output directory the files go to (default
	// "dashboards").
	Dir string
	// Provider names the provisioning provider (default "slokeeper").
	Provider string
	// OrgID is the Grafana organisation (default 1).
	OrgID int
	// Folder and FolderUID are the Grafana folder the dashboards go in
	// (defaults "SLOs" and "slokeeper").
	Folder    string
	FolderUID string
	// Path is where Grafana reads the dashboard JSON files from, on the
	// Grafana host (default "/var/lib/grafana/dashboards/slokeeper").
	Path string
	// UpdateIntervalSeconds is how often Grafana rescans Path (default 60).
	UpdateIntervalSeconds int
	// AllowUIUpdates lets users save provisioned dashboards in Grafana
	// (default false: the files are the truth).
	AllowUIUpdates bool
}

// Defaults of Provisioning.
const (
	DefaultDir       = "dashboards"
	DefaultProvider  = "slokeeper"
	DefaultFolder    = "SLOs"
	DefaultFolderUID = "slokeeper"
	DefaultPath      = "/var/lib/grafana/dashboards/slokeeper"
	ProviderFile     = "slokeeper-provider.yaml"
)

func (p Provisioning) withDefaults() Provisioning {
	if p.Dir == "" {
		p.Dir = DefaultDir
	}
	if p.Provider == "" {
		p.Provider = DefaultProvider
	}
	if p.OrgID == 0 {
		p.OrgID = 1
	}
	if p.Folder == "" {
		p.Folder = DefaultFolder
	}
	if p.FolderUID == "" {
		p.FolderUID = DefaultFolderUID
	}
	if p.Path == "" {
		p.Path = DefaultPath
	}
	if p.UpdateIntervalSeconds == 0 {
		p.UpdateIntervalSeconds = 60
	}
	return p
}

// Files builds every dashboard of the SLOs (as All does) and renders them
// as provisioning files: Dir/<uid>.json for each dashboard and
// Dir/slokeeper-provider.yaml, the Grafana provisioning provider that
// loads them from Path into the folder. Paths are relative to the output
// directory and in a stable order; the caller writes them.
func Files(slos []slo.SLO, opts Options, prov Provisioning) ([]File, error) {
	return RenderFiles(All(slos, opts), prov)
}

// RenderFiles renders dashboards as provisioning files (see Files).
func RenderFiles(ds []Dashboard, prov Provisioning) ([]File, error) {
	prov = prov.withDefaults()
	files := make([]File, len(ds)+1)
	errs := make([]error, len(ds))
	seen := make(map[string]bool, len(ds))
	for i := range ds {
		if seen[ds[i].UID] {
			return nil, fmt.Errorf("dashboard uid %q used twice", ds[i].UID)
		}
		seen[ds[i].UID] = true
	}
	// JSON rendering is most of the cost for many services: on all cores.
	workers := min(runtime.GOMAXPROCS(0), len(ds))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ds); i += workers {
				data, err := ds[i].JSON()
				files[i] = File{Path: prov.Dir + "/" + ds[i].UID + ".json", Data: data}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", ds[i].UID, err)
		}
	}
	files[len(ds)] = File{Path: prov.Dir + "/" + ProviderFile, Data: ProviderYAML(prov)}
	return files, nil
}

// ProviderYAML renders the Grafana dashboard provisioning file
// (apiVersion 1) with one file provider.
func ProviderYAML(prov Provisioning) []byte {
	prov = prov.withDefaults()
	var b strings.Builder
	b.WriteString("# Grafana dashboard provisioning for the dashboards slokeeper generates.\n")
	b.WriteString("# Put this file in Grafana's provisioning/dashboards folder, and the JSON\n")
	b.WriteString("# files beside it in options.path.\n")
	b.WriteString("apiVersion: 1\nproviders:\n")
	b.WriteString("  - name: " + yamlString(prov.Provider) + "\n")
	b.WriteString("    orgId: " + strconv.Itoa(prov.OrgID) + "\n")
	b.WriteString("    folder: " + yamlString(prov.Folder) + "\n")
	b.WriteString("    folderUid: " + yamlString(prov.FolderUID) + "\n")
	b.WriteString("    type: file\n")
	b.WriteString("    disableDeletion: false\n")
	b.WriteString("    updateIntervalSeconds: " + strconv.Itoa(prov.UpdateIntervalSeconds) + "\n")
	b.WriteString("    allowUiUpdates: " + strconv.FormatBool(prov.AllowUIUpdates) + "\n")
	b.WriteString("    options:\n")
	b.WriteString("      path: " + yamlString(prov.Path) + "\n")
	b.WriteString("      foldersFromFilesStructure: false\n")
	return []byte(b.String())
}

// yamlString renders s as a double-quoted YAML scalar.
func yamlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// EachFile renders the same files as Files, handing each to fn as soon as it
// is rendered: the per-service dashboards one service at a time, then the
// shared ones and the provider file. Memory stays bounded by one service,
// which matters for thousands of services.
func EachFile(slos []slo.SLO, opts Options, prov Provisioning, fn func(File) error) error {
	opts = opts.withDefaults()
	prov = prov.withDefaults()
	emit := func(d Dashboard) error {
		data, err := d.JSON()
		if err != nil {
			return fmt.Errorf("dashboard %s: %w", d.UID, err)
		}
		return fn(File{Path: prov.Dir + "/" + d.UID + ".json", Data: data})
	}
	byService := groupByService(slos)
	if err := emit(Overview(slos, opts)); err != nil {
		return err
	}
	for _, svc := range slo.SortedKeys(byService) {
		if err := emit(SLODetail(svc, byService[svc], opts)); err != nil {
			return err
		}
		if err := emit(RED(svc, byService[svc], opts)); err != nil {
			return err
		}
	}
	if !opts.NoNodes {
		if err := emit(USENodes(opts)); err != nil {
			return err
		}
	}
	for _, k := range opts.Platform {
		if d, ok := Platform(k, opts); ok {
			if err := emit(d); err != nil {
				return err
			}
		}
	}
	return fn(File{Path: prov.Dir + "/" + ProviderFile, Data: ProviderYAML(prov)})
}
