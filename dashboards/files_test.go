package dashboards

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFiles(t *testing.T) {
	slos := testSLOs()
	files, err := Files(slos, Options{}, Provisioning{Folder: `SLOs "generated"`, FolderUID: "slo-folder", Path: "/srv/grafana/slokeeper"})
	if err != nil {
		t.Fatal(err)
	}
	ds := All(slos, Options{})
	if len(files) != len(ds)+1 {
		t.Fatalf("%d files for %d dashboards", len(files), len(ds))
	}
	for i, d := range ds {
		f := files[i]
		if f.Path != "dashboards/"+d.UID+".json" {
			t.Errorf("file %d: path %q", i, f.Path)
		}
		var back struct {
			UID   string `json:"uid"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal(f.Data, &back); err != nil || back.UID != d.UID || back.Title != d.Title {
			t.Errorf("%s: does not read back: %v %+v", f.Path, err, back)
		}
	}
	prov := files[len(files)-1]
	if prov.Path != "dashboards/slokeeper-provider.yaml" {
		t.Errorf("provider path %q", prov.Path)
	}
	var cfg struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name      string `yaml:"name"`
			OrgID     int    `yaml:"orgId"`
			Folder    string `yaml:"folder"`
			FolderUID string `yaml:"folderUid"`
			Type      string `yaml:"type"`
			Options   struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
			AllowUIUpdates bool `yaml:"allowUiUpdates"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(prov.Data, &cfg); err != nil {
		t.Fatalf("provider YAML: %v\n%s", err, prov.Data)
	}
	if cfg.APIVersion != 1 || len(cfg.Providers) != 1 {
		t.Fatalf("provider YAML: %+v", cfg)
	}
	p := cfg.Providers[0]
	if p.Name != "slokeeper" || p.OrgID != 1 || p.Folder != `SLOs "generated"` || p.FolderUID != "slo-folder" ||
		p.Type != "file" || p.Options.Path != "/srv/grafana/slokeeper" || p.AllowUIUpdates {
		t.Errorf("provider: %+v", p)
	}
	// Defaults.
	if y := string(ProviderYAML(Provisioning{})); !strings.Contains(y, `folderUid: "slokeeper"`) || !strings.Contains(y, `path: "/var/lib/grafana/dashboards/slokeeper"`) {
		t.Errorf("default provider:\n%s", y)
	}
	// Same input, same files.
	again, _ := Files(slos, Options{}, Provisioning{Folder: `SLOs "generated"`, FolderUID: "slo-folder", Path: "/srv/grafana/slokeeper"})
	for i := range files {
		if files[i].Path != again[i].Path || string(files[i].Data) != string(again[i].Data) {
			t.Errorf("%s differs between runs", files[i].Path)
		}
	}
}

func TestRenderFilesDuplicateUID(t *testing.T) {
	d := USENodes(Options{})
	if _, err := RenderFiles([]Dashboard{d, d}, Provisioning{}); err == nil {
		t.Error("two dashboards with one UID: no error")
	}
}
