// Package deploy_test checks the deployment files: the Helm chart (rendered
// with Go's text/template and the few functions its templates use, since
// helm is not available here), the kustomize base, the Dockerfile, the
// systemd unit and the example configurations.
package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	promconfig "github.com/prometheus/prometheus/config"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/config"
	"github.com/slokeeper/slokeeper/slo/loader"
)

// manifest is one Kubernetes object, as parsed YAML.
type manifest map[string]any

func (m manifest) kind() string { s, _ := m["kind"].(string); return s }
func (m manifest) name() string { s, _ := get(m, "metadata", "name").(string); return s }

// get walks maps by keys.
func get(v any, keys ...string) any {
	for _, k := range keys {
		if m, ok := v.(manifest); ok {
			v = map[string]any(m)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	if m, ok := v.(manifest); ok { // yaml.v3 decodes nested maps as the outer map type
		return map[string]any(m)
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

// parseManifests parses a multi-document YAML stream; empty documents are
// skipped, every other one needs apiVersion, kind and metadata.name.
func parseManifests(t *testing.T, what string, data []byte) []manifest {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []manifest
	for {
		var m manifest
		err := dec.Decode(&m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: invalid YAML: %v\n%s", what, err, data)
		}
		if m == nil {
			continue
		}
		if m["apiVersion"] == nil || m.kind() == "" || m.name() == "" {
			t.Errorf("%s: a document without apiVersion, kind or metadata.name: %v", what, m)
		}
		out = append(out, m)
	}
	return out
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSpecs loads SLO spec files through the real loader: no errors.
func checkSpecs(t *testing.T, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := loader.Load(context.Background(), []string{dir}, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Problems.HasErrors() || len(res.SLOs) == 0 {
		t.Errorf("SLO specs: %d SLOs, problems: %v", len(res.SLOs), res.Problems)
	}
}

// checkDeployment checks the pod runs as non-root with a read-only root,
// the configuration file and the specs mounted from ConfigMaps, and the
// rule directory writable; it returns the ConfigMap names mounted for the
// configuration and the specs.
func checkDeployment(t *testing.T, what string, dep manifest, cfg *config.Config) (configCM, slosCM string) {
	t.Helper()
	pod := get(dep, "spec", "template", "spec")
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot is not true", what)
	}
	if uid, ok := get(pod, "securityContext", "runAsUser").(int); !ok || uid == 0 {
		t.Errorf("%s: runAsUser = %v, want a non-zero UID", what, get(pod, "securityContext", "runAsUser"))
	}
	cs := list(get(pod, "containers"))
	if len(cs) != 1 {
		t.Fatalf("%s: %d containers", what, len(cs))
	}
	c := cs[0]
	if get(c, "securityContext", "allowPrivilegeEscalation") != false || get(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("%s: container securityContext = %v", what, get(c, "securityContext"))
	}
	var args []string
	for _, a := range list(get(c, "args")) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "serve" || !slices.Contains(args, "--config.file=/etc/slokeeper/config/slokeeper.yml") || !slices.Contains(args, "--storage.path=/var/lib/slokeeper/data") {
		t.Errorf("%s: args = %v", what, args)
	}
	if p := get(list(get(c, "ports"))[0], "containerPort"); p != 9740 {
		t.Errorf("%s: containerPort = %v", what, p)
	}
	volumes := map[string]any{}
	for _, v := range list(get(pod, "volumes")) {
		volumes[get(v, "name").(string)] = v
	}
	mounts := map[string]any{} // mountPath -> volume
	readOnly := map[string]bool{}
	for _, m := range list(get(c, "volumeMounts")) {
		p := get(m, "mountPath").(string)
		mounts[p] = volumes[get(m, "name").(string)]
		readOnly[p] = get(m, "readOnly") == true
		if mounts[p] == nil {
			t.Errorf("%s: mount %s of an undeclared volume", what, p)
		}
	}
	cfgVol := mounts["/etc/slokeeper/config"]
	configCM, _ = get(cfgVol, "configMap", "name").(string)
	if configCM == "" {
		t.Errorf("%s: the configuration is not mounted from a ConfigMap at /etc/slokeeper/config (a directory, so that updates reach the daemon)", what)
	}
	if _, ok := mounts["/var/lib/slokeeper/data"]; !ok || readOnly["/var/lib/slokeeper/data"] {
		t.Errorf("%s: --storage.path /var/lib/slokeeper/data is not a writable mount", what)
	}
	for _, s := range cfg.Specs {
		v, ok := mounts[s]
		if !ok {
			t.Errorf("%s: spec path %s is not mounted", what, s)
			continue
		}
		slosCM, _ = get(v, "configMap", "name").(string)
	}
	if slosCM == "" {
		t.Errorf("%s: the specs are not mounted from a ConfigMap", what)
	}
	if d := cfg.Rules.Directory; d != "" {
		if _, ok := mounts[d]; !ok || readOnly[d] {
			t.Errorf("%s: rules.directory %s is not a writable mount (the root file system is read-only)", what, d)
		}
	}
	return configCM, slosCM
}

// --- Helm ---

// helmFuncs are the Helm functions the chart's templates may use.
var helmFuncs = template.FuncMap{
	"toYaml": func(v any) (string, error) {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"nindent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
	},
	"default": func(def, v any) any {
		if v == nil || v == "" || v == false || v == 0 {
			return def
		}
		return v
	},
	"printf": fmt.Sprintf,
	"quote": func(v any) string {
		b, _ := yaml.Marshal(v)
		return `"` + strings.ReplaceAll(strings.TrimSpace(strings.Trim(strings.TrimSpace(string(b)), `"'`)), `"`, `\"`) + `"`
	},
}

// renderChart renders every template of the chart with its values.yaml
// (changed by set) and returns the manifests.
func renderChart(t *testing.T, set func(values map[string]any)) []manifest {
	t.Helper()
	dir := filepath.Join("helm", "slokeeper")
	var chart map[string]any
	if err := yaml.Unmarshal(readFile(t, filepath.Join(dir, "Chart.yaml")), &chart); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	if chart["apiVersion"] != "v2" || chart["name"] != "slokeeper" || chart["version"] == nil || chart["appVersion"] == nil {
		t.Errorf("Chart.yaml = %v", chart)
	}
	var values map[string]any
	if err := yaml.Unmarshal(readFile(t, filepath.Join(dir, "values.yaml")), &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	if set != nil {
		set(values)
	}
	data := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": "slokeeper", "Namespace": "monitoring", "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	tpls, err := filepath.Glob(filepath.Join(dir, "templates", "*.yaml"))
	if err != nil || len(tpls) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	var out []manifest
	for _, p := range tpls {
		tpl, err := template.New(filepath.Base(p)).Option("missingkey=error").Funcs(helmFuncs).Parse(string(readFile(t, p)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var b bytes.Buffer
		if err := tpl.Execute(&b, data); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, parseManifests(t, p, b.Bytes())...)
	}
	return out
}

func byKind(ms []manifest) map[string][]manifest {
	out := map[string][]manifest{}
	for _, m := range ms {
		out[m.kind()] = append(out[m.kind()], m)
	}
	return out
}

func TestHelmChart(t *testing.T) {
	ms := renderChart(t, nil)
	kinds := byKind(ms)
	for _, k := range []string{"Deployment", "ConfigMap", "Service", "ServiceMonitor", "ServiceAccount"} {
		if len(kinds[k]) == 0 {
			t.Errorf("no %s rendered", k)
		}
	}
	for _, k := range []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} {
		if len(kinds[k]) != 0 {
			t.Errorf("%s rendered: slokeeper does not call the Kubernetes API", k)
		}
	}
	cms := map[string]manifest{}
	for _, cm := range kinds["ConfigMap"] {
		cms[cm.name()] = cm
	}
	dep := kinds["Deployment"][0]
	// The configuration in the ConfigMap must pass `slokeeper check config`.
	var cfg *config.Config
	for _, cm := range kinds["ConfigMap"] {
		if s, ok := get(cm, "data", "slokeeper.yml").(string); ok {
			var err error
			if cfg, err = config.Parse("/etc/slokeeper/slokeeper.yml", []byte(s)); err != nil {
				t.Fatalf("the chart's configuration:\n%v\n%s", err, s)
			}
		}
	}
	if cfg == nil {
		t.Fatal("no ConfigMap holds slokeeper.yml")
	}
	configCM, slosCM := checkDeployment(t, "helm", dep, cfg)
	if get(cms[configCM], "data", "slokeeper.yml") == nil {
		t.Errorf("the mounted ConfigMap %q does not hold slokeeper.yml", configCM)
	}
	specs := map[string]string{}
	data, _ := get(cms[slosCM], "data").(map[string]any)
	for k, v := range data {
		specs[k], _ = v.(string)
	}
	if len(specs) == 0 {
		t.Errorf("the mounted specs ConfigMap %q holds no spec", slosCM)
	}
	checkSpecs(t, specs)
	// The Service and the ServiceMonitor select the pods.
	podLabels := get(dep, "spec", "template", "metadata", "labels").(map[string]any)
	for _, sel := range []any{get(kinds["Service"][0], "spec", "selector"), get(kinds["ServiceMonitor"][0], "spec", "selector", "matchLabels")} {
		for k, v := range sel.(map[string]any) {
			if podLabels[k] != v {
				t.Errorf("selector %s=%v does not match the pod labels %v", k, v, podLabels)
			}
		}
	}
	if get(list(get(kinds["ServiceMonitor"][0], "spec", "endpoints"))[0], "port") != "http" {
		t.Errorf("ServiceMonitor endpoint is not the http port")
	}

	// Optional parts off, extra args on.
	ms = renderChart(t, func(v map[string]any) {
		v["serviceMonitor"].(map[string]any)["enabled"] = false
		v["serviceAccount"].(map[string]any)["create"] = false
		v["extraArgs"] = []any{"--log.format=json"}
	})
	kinds = byKind(ms)
	if len(kinds["ServiceMonitor"]) != 0 || len(kinds["ServiceAccount"]) != 0 {
		t.Errorf("disabled parts rendered: %v", kinds)
	}
	args := list(get(list(get(kinds["Deployment"][0], "spec", "template", "spec", "containers"))[0], "args"))
	if args[len(args)-1] != "--log.format=json" {
		t.Errorf("extraArgs not passed: %v", args)
	}
}

// --- kustomize ---

func TestKustomizeBase(t *testing.T) {
	dir := filepath.Join("kustomize", "base")
	var k struct {
		APIVersion         string   `yaml:"apiVersion"`
		Kind               string   `yaml:"kind"`
		Resources          []string `yaml:"resources"`
		ConfigMapGenerator []struct {
			Name  string   `yaml:"name"`
			Files []string `yaml:"files"`
		} `yaml:"configMapGenerator"`
		Labels []map[string]any `yaml:"labels"`
		Images []map[string]any `yaml:"images"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, filepath.Join(dir, "kustomization.yaml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.Kind != "Kustomization" || len(k.Resources) == 0 {
		t.Fatalf("kustomization = %+v", k)
	}
	var ms []manifest
	for _, r := range k.Resources {
		ms = append(ms, parseManifests(t, r, readFile(t, filepath.Join(dir, r)))...)
	}
	generated := map[string][]string{}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("configMapGenerator %s: %v", g.Name, err)
			}
			generated[g.Name] = append(generated[g.Name], f)
		}
	}
	kinds := byKind(ms)
	if len(kinds["Deployment"]) != 1 || len(kinds["Service"]) != 1 || len(kinds["ServiceAccount"]) != 1 {
		t.Fatalf("kinds = %v", kinds)
	}
	cfg, err := config.Load(filepath.Join(dir, "slokeeper.yml"))
	if err != nil {
		t.Fatalf("the base's configuration: %v", err)
	}
	// The Deployment mounts the generated ConfigMaps (kustomize renames
	// them with a hash and rewrites the references).
	configCM, slosCM := checkDeployment(t, "kustomize", kinds["Deployment"][0], cfg)
	if !slices.Contains(generated[configCM], "slokeeper.yml") {
		t.Errorf("the configuration ConfigMap %q is not generated from slokeeper.yml: %v", configCM, generated)
	}
	specs := map[string]string{}
	for _, f := range generated[slosCM] {
		specs[filepath.Base(f)] = string(readFile(t, filepath.Join(dir, f)))
	}
	if len(specs) == 0 {
		t.Errorf("the specs ConfigMap %q is not generated", slosCM)
	}
	checkSpecs(t, specs)
	if sa := get(kinds["Deployment"][0], "spec", "template", "spec", "serviceAccountName"); sa != kinds["ServiceAccount"][0].name() {
		t.Errorf("serviceAccountName = %v", sa)
	}
}

// --- the rest ---

func TestDockerfile(t *testing.T) {
	s := string(readFile(t, "Dockerfile"))
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(froms) < 2 {
		t.Fatalf("not multi-stage: %v", froms)
	}
	final := froms[len(froms)-1][1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final base %s is not distroless/static or scratch", final)
	}
	if !strings.Contains(s, "CGO_ENABLED=0") {
		t.Error("the binary is not built static (CGO_ENABLED=0)")
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "0") || strings.HasPrefix(users[len(users)-1][1], "root") {
		t.Errorf("does not run as a non-root user: %v", users)
	}
	if !strings.Contains(s, "./cmd/slokeeper") || !strings.Contains(s, "EXPOSE 9740") {
		t.Error("does not build ./cmd/slokeeper or expose 9740")
	}
}

func TestSystemdUnit(t *testing.T) {
	s := string(readFile(t, filepath.Join("systemd", "slokeeper.service")))
	for _, want := range []string{"[Unit]", "[Service]", "[Install]", "ExecStart=/usr/local/bin/slokeeper serve", "--config.file=/etc/slokeeper/slokeeper.yml", "ExecReload=/bin/kill -HUP $MAINPID", "User=slokeeper", "NoNewPrivileges=yes", "WantedBy=multi-user.target"} {
		if !strings.Contains(s, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^User=root`).MatchString(s) {
		t.Error("runs as root")
	}
}

func TestExamples(t *testing.T) {
	cfg, err := config.Load(filepath.Join("examples", "slokeeper.yml"))
	if err != nil {
		t.Fatalf("examples/slokeeper.yml: %v", err)
	}
	pc, err := promconfig.LoadFile(filepath.Join("examples", "prometheus.yml"), false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("examples/prometheus.yml: %v", err)
	}
	// Prometheus reads the files slokeeper writes, and slokeeper reloads it.
	want := filepath.Join(cfg.Rules.Directory, "*.rules.yml")
	if !slices.Contains(pc.RuleFiles, want) {
		t.Errorf("rule_files = %v, want %s (rules.directory of the slokeeper example)", pc.RuleFiles, want)
	}
	if cfg.Rules.ReloadURL != "http://localhost:9090/-/reload" {
		t.Errorf("reload_url = %s", cfg.Rules.ReloadURL)
	}
	if !strings.Contains(string(readFile(t, filepath.Join("examples", "prometheus.yml"))), "--web.enable-lifecycle") {
		t.Error("prometheus.yml does not document --web.enable-lifecycle")
	}
	jobs := map[string]bool{}
	for _, sc := range pc.ScrapeConfigs {
		jobs[sc.JobName] = true
	}
	if !jobs["slokeeper"] {
		t.Errorf("no slokeeper scrape job: %v", jobs)
	}
}

// TestPipelineExamples checks the CI/CD examples of docs/freeze.md: each is
// valid YAML, appears verbatim in the doc, and calls the gate the way the
// CLI and the API define it.
func TestPipelineExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/freeze.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("examples/pipelines/*.y*ml")
	if err != nil || len(files) != 4 {
		t.Fatalf("pipeline examples: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, data) {
			t.Errorf("%s is not in docs/freeze.md as it is", f)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		var kinds []string
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if k, ok := m["kind"].(string); ok {
				kinds = append(kinds, k)
			}
		}
		s := string(data)
		switch filepath.Base(f) {
		case "github-actions.yml", "argocd-presync-job.yaml":
			if !strings.Contains(s, "freeze check --service checkout") && !strings.Contains(s, `"freeze", "check", "--service", "checkout"`) {
				t.Errorf("%s does not run slokeeper freeze check", f)
			}
		case "gitlab-ci.yml":
			for _, want := range []string{"/api/v1/freeze?service=$SERVICE&exempt=$EXEMPTION", ".allowed", "/api/v1/freeze/exemptions"} {
				if !strings.Contains(s, want) {
					t.Errorf("%s lacks %s", f, want)
				}
			}
		case "argo-rollouts-analysis.yaml":
			if !slices.Equal(kinds, []string{"AnalysisTemplate", "Rollout"}) || !strings.Contains(s, `jsonPath: "{$.allowed}"`) || !strings.Contains(s, "successCondition: result == true") {
				t.Errorf("%s: kinds %v, or the web metric does not read .allowed", f, kinds)
			}
		}
	}
}
