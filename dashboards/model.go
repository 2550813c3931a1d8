package dashboards

import (
	"bytes"
	"encoding/json"
)

// This file is the typed model of Grafana's classic dashboard JSON (what
// POST /api/dashboards/db takes under "dashboard", and what file
// provisioning reads), limited to what slokeeper emits. Field order is the
// JSON order, maps are emitted with sorted keys by encoding/json, so the
// output is deterministic. The model is checked against the Grafana
// Foundation SDK's JSON schemas in the tests.

// SchemaVersion is the dashboard schema version the JSON is written for.
const SchemaVersion = 41

// Dashboard is one Grafana dashboard.
type Dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Tags          []string   `json:"tags"`
	Timezone      string     `json:"timezone,omitempty"`
	Editable      bool       `json:"editable"`
	GraphTooltip  int        `json:"graphTooltip"`
	Time          TimeRange  `json:"time"`
	Timepicker    *Timepick  `json:"timepicker,omitempty"`
	Refresh       string     `json:"refresh,omitempty"`
	SchemaVersion int        `json:"schemaVersion"`
	Templating    Templating `json:"templating"`
	Annotations   Annots     `json:"annotations"`
	Links         []Link     `json:"links"`
	Panels        []Panel    `json:"panels"`
}

// TimeRange is a dashboard's default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Timepick configures the time picker.
type Timepick struct {
	RefreshIntervals []string `json:"refresh_intervals,omitempty"`
}

// DataSourceRef points at a data source by type and UID.
type DataSourceRef struct {
	Type string `json:"type,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// DatasourceVar is the name of the data source variable every dashboard has.
const DatasourceVar = "datasource"

// Prometheus is the reference every panel and target uses: the Prometheus
// data source chosen in the dashboard's datasource variable, never a
// hard-coded UID.
func Prometheus() *DataSourceRef {
	return &DataSourceRef{Type: "prometheus", UID: "${" + DatasourceVar + "}"}
}

// grafanaDS is Grafana's built-in annotation data source.
func grafanaDS() *DataSourceRef { return &DataSourceRef{Type: "grafana", UID: "-- Grafana --"} }

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a visualisation or a row. Rows (Type "row") carry Collapsed and
// Panels (their children when collapsed; empty otherwise).
type Panel struct {
	Type            string           `json:"type"`
	ID              int              `json:"id"`
	Title           string           `json:"title,omitempty"`
	Description     string           `json:"description,omitempty"`
	Collapsed       *bool            `json:"collapsed,omitempty"`
	Datasource      *DataSourceRef   `json:"datasource,omitempty"`
	GridPos         GridPos          `json:"gridPos"`
	Repeat          string           `json:"repeat,omitempty"`
	RepeatDirection string           `json:"repeatDirection,omitempty"`
	MaxPerRow       int              `json:"maxPerRow,omitempty"`
	Interval        string           `json:"interval,omitempty"`
	TimeFrom        string           `json:"timeFrom,omitempty"`
	HideTimeOverr   bool             `json:"hideTimeOverride,omitempty"`
	Links           []Link           `json:"links,omitempty"`
	Targets         []Target         `json:"targets,omitempty"`
	Transformations []Transformation `json:"transformations,omitempty"`
	FieldConfig     *FieldConfigSrc  `json:"fieldConfig,omitempty"`
	Options         any              `json:"options,omitempty"`
	Panels          []Panel          `json:"panels,omitzero"`
}

// IsRow says whether the panel is a row.
func (p *Panel) IsRow() bool { return p.Type == "row" }

// Target is a Prometheus query of a panel (the Prometheus data source's
// dataquery).
type Target struct {
	RefID        string         `json:"refId"`
	Datasource   *DataSourceRef `json:"datasource,omitempty"`
	EditorMode   string         `json:"editorMode,omitempty"`
	Expr         string         `json:"expr"`
	LegendFormat string         `json:"legendFormat,omitempty"`
	Format       string         `json:"format,omitempty"`
	Instant      bool           `json:"instant,omitempty"`
	Range        bool           `json:"range"`
	Interval     string         `json:"interval,omitempty"`
	Hide         bool           `json:"hide,omitempty"`
}

// Transformation is a data transformation of a panel.
type Transformation struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

// FieldConfigSrc is a panel's field configuration: defaults and overrides.
type FieldConfigSrc struct {
	Defaults  FieldConfig `json:"defaults"`
	Overrides []Override  `json:"overrides"`
}

// FieldConfig is the display configuration of a panel's fields.
type FieldConfig struct {
	DisplayName string         `json:"displayName,omitempty"`
	Unit        string         `json:"unit,omitempty"`
	Decimals    *int           `json:"decimals,omitempty"`
	Min         *float64       `json:"min,omitempty"`
	Max         *float64       `json:"max,omitempty"`
	Color       *FieldColor    `json:"color,omitempty"`
	Thresholds  *Thresholds    `json:"thresholds,omitempty"`
	Mappings    []ValueMapping `json:"mappings,omitempty"`
	Links       []Link         `json:"links,omitempty"`
	NoValue     string         `json:"noValue,omitempty"`
	Custom      any            `json:"custom,omitempty"`
}

// FieldColor is a field's colour scheme.
type FieldColor struct {
	Mode       string `json:"mode"`
	FixedColor string `json:"fixedColor,omitempty"`
}

// Thresholds map values to colours; the first step's value is null
// (-Infinity).
type Thresholds struct {
	Mode  string      `json:"mode"`
	Steps []Threshold `json:"steps"`
}

// Threshold is one step of Thresholds.
type Threshold struct {
	Value *float64 `json:"value"`
	Color string   `json:"color"`
}

// Override changes the field configuration of matching fields. Property
// values are objects (the schema allows nothing else).
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects fields (byName, byRegexp, byFrameRefID ...).
type Matcher struct {
	ID      string `json:"id"`
	Options any    `json:"options,omitempty"`
}

// Property is one overridden field option.
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// ValueMapping maps values to text and colour (type "value", "range" or
// "special").
type ValueMapping struct {
	Type    string `json:"type"`
	Options any    `json:"options"`
}

// MappingResult is what a mapped value shows.
type MappingResult struct {
	Text  string `json:"text,omitempty"`
	Color string `json:"color,omitempty"`
	Index int    `json:"index"`
}

// RangeOptions are the options of a range mapping.
type RangeOptions struct {
	From   *float64      `json:"from"`
	To     *float64      `json:"to"`
	Result MappingResult `json:"result"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a template variable.
type Variable struct {
	Type        string         `json:"type"`
	Name        string         `json:"name"`
	Label       string         `json:"label,omitempty"`
	Description string         `json:"description,omitempty"`
	Hide        int            `json:"hide"`
	Datasource  *DataSourceRef `json:"datasource,omitempty"`
	Query       string         `json:"query"`
	Definition  string         `json:"definition,omitempty"`
	Current     *VarOption     `json:"current,omitempty"`
	Options     []VarOption    `json:"options,omitempty"`
	Multi       bool           `json:"multi"`
	IncludeAll  bool           `json:"includeAll"`
	AllValue    string         `json:"allValue,omitempty"`
	Refresh     int            `json:"refresh,omitempty"`
	Regex       string         `json:"regex,omitempty"`
	Sort        int            `json:"sort,omitempty"`
	SkipURLSync bool           `json:"skipUrlSync"`
}

// VarOption is a value of a variable. Text and Value are a string, or a
// []string for multi-value selections.
type VarOption struct {
	Selected bool `json:"selected"`
	Text     any  `json:"text"`
	Value    any  `json:"value"`
}

// Variable hide modes.
const (
	HideNothing = 0
	HideLabel   = 1
	HideAll     = 2
)

// Variable refresh modes.
const (
	RefreshOnLoad      = 1
	RefreshOnTimeRange = 2
)

// Annots holds the dashboard's annotation queries.
type Annots struct {
	List []Annotation `json:"list"`
}

// Annotation is an annotation query: Grafana's own annotations filtered by
// tags, or a Prometheus expression.
type Annotation struct {
	Name            string            `json:"name"`
	Datasource      *DataSourceRef    `json:"datasource,omitempty"`
	Enable          bool              `json:"enable"`
	Hide            bool              `json:"hide"`
	IconColor       string            `json:"iconColor"`
	BuiltIn         int               `json:"builtIn,omitempty"`
	Type            string            `json:"type,omitempty"`
	Target          *AnnotationTarget `json:"target,omitempty"`
	Expr            string            `json:"expr,omitempty"`
	Step            string            `json:"step,omitempty"`
	TitleFormat     string            `json:"titleFormat,omitempty"`
	TextFormat      string            `json:"textFormat,omitempty"`
	TagKeys         string            `json:"tagKeys,omitempty"`
	UseValueForTime bool              `json:"useValueForTime,omitempty"`
}

// AnnotationTarget is the query of an annotation on Grafana's own data source.
type AnnotationTarget struct {
	Type     string   `json:"type"`
	Tags     []string `json:"tags"`
	Limit    int      `json:"limit"`
	MatchAny bool     `json:"matchAny"`
}

// Link is a dashboard link, a panel link or a data link. Every field but
// URL is required by the schema, so none is omitted.
type Link struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"`
	Icon        string   `json:"icon"`
	Tooltip     string   `json:"tooltip"`
	URL         string   `json:"url,omitempty"`
	Tags        []string `json:"tags"`
	AsDropdown  bool     `json:"asDropdown"`
	TargetBlank bool     `json:"targetBlank"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
}

// IndentLimit is the size above which JSON gives up indentation: a
// dashboard that big (a service with many SLOs) is written compact, to
// stay well within the size Grafana and the tests accept.
const IndentLimit = 200 << 10

// JSON renders the dashboard as indented JSON ending in a newline (compact
// when the indented form would exceed IndentLimit): the form written to
// provisioning files. Same dashboard, same bytes.
func (d *Dashboard) JSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(48 << 10)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	compact := buf.Bytes()
	if out := indent(compact, IndentLimit); out != nil {
		return out, nil
	}
	return compact, nil
}

// indent indents compact JSON by two spaces, as json.Indent does (empty
// objects and arrays stay "{}" and "[]"), several times faster. It returns
// nil when the result would be longer than limit.
func indent(src []byte, limit int) []byte {
	dst := make([]byte, 0, min(len(src)*2, limit+1))
	const spaces = "                                                                "
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for n := 2 * depth; n > 0; n -= len(spaces) {
			dst = append(dst, spaces[:min(n, len(spaces))]...)
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			// Copy the string up to its closing quote in one go.
			j := i + 1
			for j < len(src) {
				k := bytes.IndexAny(src[j:], "\"\\")
				if k < 0 {
					j = len(src)
					break
				}
				j += k
				if src[j] == '\\' {
					j += 2
					continue
				}
				break
			}
			j = min(j+1, len(src))
			dst = append(dst, src[i:j]...)
			i = j - 1
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			dst = append(dst, c)
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
		if len(dst) > limit {
			return nil
		}
	}
	return dst
}
