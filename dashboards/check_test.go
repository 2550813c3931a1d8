package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// defaultSchemaDir is where the Grafana Foundation SDK's JSON schemas are:
// the shared folder beside the repository (../../shared from this
// package). SLOKEEPER_GRAFANA_SCHEMAS overrides it.
const defaultSchemaDir = "../../shared/schemas/grafana"

func schemaDirectory() string {
	if d := os.Getenv("SLOKEEPER_GRAFANA_SCHEMAS"); d != "" {
		return d
	}
	return defaultSchemaDir
}

// panelSchemaFile maps a panel type to its schema file.
var panelSchemaFile = map[string]string{
	TypeTimeseries:    "timeseries",
	TypeStat:          "stat",
	TypeGauge:         "gauge",
	TypeBarGauge:      "bargauge",
	TypeTable:         "table",
	TypeStateTimeline: "statetimeline",
	TypeText:          "text",
}

type schemas struct {
	dashboard *jsonschema.Schema
	target    *jsonschema.Schema
	options   map[string]*jsonschema.Schema
	custom    map[string]*jsonschema.Schema // nil entry: the type has no custom field config
}

var (
	schemasMu    sync.Mutex
	schemasCache = map[string]*schemas{}
)

// loadSchemas compiles the schemas once per folder; it skips the test when
// the shared folder is absent.
func loadSchemas(t testing.TB) *schemas {
	t.Helper()
	dir := schemaDirectory()
	if _, err := os.Stat(filepath.Join(dir, "dashboard.jsonschema.json")); err != nil {
		t.Skipf("Grafana schemas not found in %s (the shared folder beside the repository): %v", dir, err)
	}
	schemasMu.Lock()
	defer schemasMu.Unlock()
	if s, ok := schemasCache[dir]; ok {
		return s
	}
	s, err := compileSchemas(dir)
	if err != nil {
		t.Fatal(err)
	}
	schemasCache[dir] = s
	return s
}

func compileSchemas(schemaDir string) (*schemas, error) {
	c := jsonschema.NewCompiler()
	files, err := filepath.Glob(filepath.Join(schemaDir, "*.jsonschema.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := c.AddResource("file:///schemas/"+filepath.Base(f), doc); err != nil {
			return nil, err
		}
	}
	compile := func(file, ptr string) (*jsonschema.Schema, error) {
		return c.Compile("file:///schemas/" + file + ".jsonschema.json" + ptr)
	}
	s := &schemas{options: map[string]*jsonschema.Schema{}, custom: map[string]*jsonschema.Schema{}}
	if s.dashboard, err = compile("dashboard", ""); err != nil {
		return nil, err
	}
	if s.target, err = compile("prometheus", "#/definitions/Dataquery"); err != nil {
		return nil, err
	}
	for typ, file := range panelSchemaFile {
		if s.options[typ], err = compile(file, "#/definitions/Options"); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(schemaDir, file+".jsonschema.json"))
		if err != nil {
			return nil, err
		}
		var raw struct {
			Definitions map[string]json.RawMessage `json:"definitions"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, err
		}
		s.custom[typ] = nil
		if _, ok := raw.Definitions["FieldConfig"]; ok {
			if s.custom[typ], err = compile(file, "#/definitions/FieldConfig"); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// validate checks a dashboard's JSON against the dashboard schema, each
// panel's options and custom field config against its panel schema, and
// each target against the Prometheus dataquery schema.
func (s *schemas) validate(data []byte) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if err := s.dashboard.Validate(doc); err != nil {
		return fmt.Errorf("dashboard schema: %v", err)
	}
	panels, _ := doc.(map[string]any)["panels"].([]any)
	var all []map[string]any
	for _, p := range panels {
		pm := p.(map[string]any)
		all = append(all, pm)
		if children, ok := pm["panels"].([]any); ok {
			for _, c := range children {
				all = append(all, c.(map[string]any))
			}
		}
	}
	for _, pm := range all {
		typ, _ := pm["type"].(string)
		if typ == TypeRow {
			continue
		}
		where := fmt.Sprintf("panel %v %q (%s)", pm["id"], pm["title"], typ)
		opt, ok := s.options[typ]
		if !ok {
			return fmt.Errorf("%s: no schema for panel type", where)
		}
		if err := opt.Validate(pm["options"]); err != nil {
			return fmt.Errorf("%s: options: %v", where, err)
		}
		var custom any
		if fc, ok := pm["fieldConfig"].(map[string]any); ok {
			if defs, ok := fc["defaults"].(map[string]any); ok {
				custom = defs["custom"]
			}
		}
		if cs := s.custom[typ]; cs != nil {
			if custom == nil {
				custom = map[string]any{}
			}
			if err := cs.Validate(custom); err != nil {
				return fmt.Errorf("%s: fieldConfig.defaults.custom: %v", where, err)
			}
		} else if custom != nil {
			return fmt.Errorf("%s: fieldConfig.defaults.custom set, but the panel type has no custom field config", where)
		}
		targets, _ := pm["targets"].([]any)
		for i, tg := range targets {
			if err := s.target.Validate(tg); err != nil {
				return fmt.Errorf("%s: target %d: %v", where, i, err)
			}
		}
	}
	return nil
}

// Grafana variable substitution, as Grafana does it before a query reaches
// Prometheus: built-in intervals and ranges, then dashboard variables (a
// multi-value variable inside a regex matcher becomes a|b).
var (
	builtinVars = []struct{ name, value string }{
		{"${__from:date:seconds}", "1700000000"},
		{"${__to:date:seconds}", "1702592000"},
		{"$__rate_interval_ms", "60000"},
		{"$__rate_interval", "1m"},
		{"$__interval_ms", "15000"},
		{"$__interval", "15s"},
		{"$__range_s", "2419200"},
		{"$__range_ms", "2419200000"},
		{"$__range", "28d"},
		{"$__from", "1700000000000"},
		{"$__to", "1702592000000"},
	}
	bracedVar = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}`)
	plainVar  = regexp.MustCompile(`\$([A-Za-z0-9_]+)`)
)

func substitute(expr string) string {
	for _, b := range builtinVars {
		expr = strings.ReplaceAll(expr, b.name, b.value)
	}
	expr = bracedVar.ReplaceAllString(expr, "value_a|value_b")
	return plainVar.ReplaceAllString(expr, "value_a|value_b")
}

// labelValues matches label_values(selector, label) in variable queries.
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)$`)

// exprs lists every PromQL expression of a dashboard with where it is: panel
// targets, Prometheus annotations, and the selectors of query variables.
func exprs(d *Dashboard) (out [][2]string) {
	var walk func(ps []Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, [2]string{fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, t.RefID), t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out = append(out, [2]string{"annotation " + a.Name, a.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Query)
		if m == nil {
			out = append(out, [2]string{"variable " + v.Name, "unsupported variable query: " + v.Query})
			continue
		}
		out = append(out, [2]string{"variable " + v.Name, m[1]})
	}
	return out
}

// checkPromQL parses every expression with the Prometheus 3 parser after
// substituting Grafana's variables.
func checkPromQL(d *Dashboard) error {
	p := parser.NewParser(parser.Options{})
	var errs []string
	for _, e := range exprs(d) {
		if _, err := p.ParseExpr(substitute(e[1])); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s: %q: %v", d.UID, e[0], e[1], err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d invalid expression(s):\n%s", len(errs), strings.Join(errs, "\n"))
	}
	return nil
}

var uidRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// checkShape checks what the schemas cannot: UID form, unique panel IDs,
// grid bounds, the datasource variable on every query, $__rate_interval in
// every rate, and the size limit.
func checkShape(d *Dashboard, data []byte) error {
	if !uidRE.MatchString(d.UID) {
		return fmt.Errorf("uid %q: not 1-40 letters, digits, '-' or '_'", d.UID)
	}
	if len(data) > 300<<10 {
		return fmt.Errorf("%s: JSON is %d bytes, over 300 KiB", d.UID, len(data))
	}
	ids := map[int]bool{}
	var walk func(ps []Panel) error
	walk = func(ps []Panel) error {
		for _, p := range ps {
			if ids[p.ID] || p.ID <= 0 {
				return fmt.Errorf("%s: panel id %d repeated or not positive", d.UID, p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 || g.Y < 0 {
				return fmt.Errorf("%s: panel %q: grid position %+v out of bounds", d.UID, p.Title, g)
			}
			if p.Datasource != nil && *p.Datasource != *Prometheus() {
				return fmt.Errorf("%s: panel %q: datasource %+v is not the datasource variable", d.UID, p.Title, *p.Datasource)
			}
			for _, t := range p.Targets {
				if t.Datasource == nil || *t.Datasource != *Prometheus() {
					return fmt.Errorf("%s: panel %q: target without the datasource variable", d.UID, p.Title)
				}
				if strings.Contains(t.Expr, "rate(") && !strings.Contains(t.Expr, "$__rate_interval") && !strings.Contains(t.Expr, "[1h]") {
					return fmt.Errorf("%s: panel %q: rate without $__rate_interval: %s", d.UID, p.Title, t.Expr)
				}
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(d.Panels)
}
