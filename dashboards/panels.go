package dashboards

// Panel types slokeeper emits.
const (
	TypeRow           = "row"
	TypeTimeseries    = "timeseries"
	TypeStat          = "stat"
	TypeGauge         = "gauge"
	TypeBarGauge      = "bargauge"
	TypeTable         = "table"
	TypeStateTimeline = "state-timeline"
	TypeText          = "text"
)

// Units used by the builders (Grafana unit IDs).
const (
	UnitPercentUnit = "percentunit" // 0..1 shown as percent
	UnitPercent     = "percent"     // 0..100
	UnitSeconds     = "s"
	UnitReqPerSec   = "reqps"
	UnitOpsPerSec   = "ops"
	UnitBytes       = "bytes"
	UnitBytesPerSec = "Bps"
	UnitShort       = "short"
	UnitNone        = "none"
	UnitBurnRate    = "suffix:x"
	UnitPacketsSec  = "pps"
)

// Colours used by thresholds and overrides.
const (
	Green  = "green"
	Yellow = "yellow"
	Orange = "orange"
	Red    = "red"
	Blue   = "blue"
	Purple = "purple"
	Text   = "text"
)

// VizLegend is the legend of time series, state timelines and bar gauges.
type VizLegend struct {
	DisplayMode string   `json:"displayMode"`
	Placement   string   `json:"placement"`
	ShowLegend  bool     `json:"showLegend"`
	AsTable     bool     `json:"asTable,omitempty"`
	SortBy      string   `json:"sortBy,omitempty"`
	SortDesc    bool     `json:"sortDesc,omitempty"`
	Calcs       []string `json:"calcs"`
}

// VizTooltip is a panel's tooltip.
type VizTooltip struct {
	Mode string `json:"mode"`
	Sort string `json:"sort"`
}

// ReduceOptions say how stat-like panels reduce a series to a value.
type ReduceOptions struct {
	Values bool     `json:"values"`
	Calcs  []string `json:"calcs"`
	Fields string   `json:"fields"`
}

// TimeseriesOptions are the options of a timeseries panel.
type TimeseriesOptions struct {
	Legend  VizLegend  `json:"legend"`
	Tooltip VizTooltip `json:"tooltip"`
}

// GraphFieldConfig is fieldConfig.defaults.custom of a timeseries panel.
// Zero values are left out: Grafana's defaults apply.
type GraphFieldConfig struct {
	DrawStyle         string           `json:"drawStyle,omitempty"`
	LineInterpolation string           `json:"lineInterpolation,omitempty"`
	LineWidth         float64          `json:"lineWidth,omitempty"`
	FillOpacity       float64          `json:"fillOpacity,omitempty"`
	GradientMode      string           `json:"gradientMode,omitempty"`
	ShowPoints        string           `json:"showPoints,omitempty"`
	SpanNulls         bool             `json:"spanNulls,omitempty"`
	AxisLabel         string           `json:"axisLabel,omitempty"`
	AxisSoftMin       *float64         `json:"axisSoftMin,omitempty"`
	AxisSoftMax       *float64         `json:"axisSoftMax,omitempty"`
	ScaleDistribution *ScaleDist       `json:"scaleDistribution,omitempty"`
	Stacking          *Stacking        `json:"stacking,omitempty"`
	ThresholdsStyle   *ThresholdsStyle `json:"thresholdsStyle,omitempty"`
	LineStyle         *LineStyle       `json:"lineStyle,omitempty"`
	HideFrom          *HideSeriesConfg `json:"hideFrom,omitempty"`
}

// ScaleDist is an axis scale.
type ScaleDist struct {
	Type string  `json:"type"`
	Log  float64 `json:"log,omitempty"`
}

// Stacking configures series stacking.
type Stacking struct {
	Mode  string `json:"mode"`
	Group string `json:"group"`
}

// ThresholdsStyle says how thresholds are drawn on a graph ("off", "line",
// "dashed", "area", "line+area", "dashed+area").
type ThresholdsStyle struct {
	Mode string `json:"mode"`
}

// LineStyle is a line's dash pattern.
type LineStyle struct {
	Fill string    `json:"fill"`
	Dash []float64 `json:"dash,omitempty"`
}

// HideSeriesConfg hides a series from parts of a panel.
type HideSeriesConfg struct {
	Tooltip bool `json:"tooltip"`
	Legend  bool `json:"legend"`
	Viz     bool `json:"viz"`
}

// StatOptions are the options of a stat panel.
type StatOptions struct {
	GraphMode              string        `json:"graphMode"`
	ColorMode              string        `json:"colorMode"`
	JustifyMode            string        `json:"justifyMode"`
	TextMode               string        `json:"textMode"`
	WideLayout             bool          `json:"wideLayout"`
	ShowPercentChange      bool          `json:"showPercentChange"`
	PercentChangeColorMode string        `json:"percentChangeColorMode"`
	Orientation            string        `json:"orientation"`
	ReduceOptions          ReduceOptions `json:"reduceOptions"`
}

// GaugeOptions are the options of a gauge panel.
type GaugeOptions struct {
	ShowThresholdLabels  bool          `json:"showThresholdLabels"`
	ShowThresholdMarkers bool          `json:"showThresholdMarkers"`
	Sizing               string        `json:"sizing"`
	MinVizWidth          int           `json:"minVizWidth"`
	MinVizHeight         int           `json:"minVizHeight"`
	Orientation          string        `json:"orientation"`
	ReduceOptions        ReduceOptions `json:"reduceOptions"`
}

// BarGaugeOptions are the options of a bar gauge panel.
type BarGaugeOptions struct {
	DisplayMode   string        `json:"displayMode"`
	ValueMode     string        `json:"valueMode"`
	NamePlacement string        `json:"namePlacement"`
	ShowUnfilled  bool          `json:"showUnfilled"`
	Sizing        string        `json:"sizing"`
	MinVizWidth   int           `json:"minVizWidth"`
	MinVizHeight  int           `json:"minVizHeight"`
	MaxVizHeight  int           `json:"maxVizHeight"`
	Orientation   string        `json:"orientation"`
	Legend        VizLegend     `json:"legend"`
	ReduceOptions ReduceOptions `json:"reduceOptions"`
}

// TableOptions are the options of a table panel.
type TableOptions struct {
	FrameIndex float64       `json:"frameIndex"`
	ShowHeader bool          `json:"showHeader"`
	CellHeight string        `json:"cellHeight"`
	SortBy     []TableSortBy `json:"sortBy,omitempty"`
}

// TableSortBy sorts a table by a column.
type TableSortBy struct {
	DisplayName string `json:"displayName"`
	Desc        bool   `json:"desc"`
}

// TableFieldConfig is fieldConfig.defaults.custom of a table panel.
type TableFieldConfig struct {
	Align       string         `json:"align"`
	Inspect     bool           `json:"inspect"`
	Filterable  bool           `json:"filterable,omitempty"`
	CellOptions *TableCellOpts `json:"cellOptions,omitempty"`
	Width       float64        `json:"width,omitempty"`
}

// TableCellOpts is how a table cell is drawn ("auto", "color-text",
// "color-background", "gauge").
type TableCellOpts struct {
	Type string `json:"type"`
	Mode string `json:"mode,omitempty"`
}

// StateTimelineOptions are the options of a state timeline panel.
type StateTimelineOptions struct {
	ShowValue   string     `json:"showValue"`
	RowHeight   float64    `json:"rowHeight"`
	MergeValues bool       `json:"mergeValues"`
	AlignValue  string     `json:"alignValue"`
	Legend      VizLegend  `json:"legend"`
	Tooltip     VizTooltip `json:"tooltip"`
}

// StateTimelineFieldConfig is fieldConfig.defaults.custom of a state
// timeline panel.
type StateTimelineFieldConfig struct {
	LineWidth   int  `json:"lineWidth"`
	FillOpacity int  `json:"fillOpacity"`
	SpanNulls   bool `json:"spanNulls"`
}

// TextOptions are the options of a text panel.
type TextOptions struct {
	Mode    string `json:"mode"`
	Content string `json:"content"`
}

func ptr[T any](v T) *T { return &v }

// Steps builds absolute thresholds: a base colour, then (value, colour)
// pairs in increasing order.
func Steps(base string, steps ...any) *Thresholds {
	t := &Thresholds{Mode: "absolute", Steps: []Threshold{{Color: base}}}
	for i := 0; i+1 < len(steps); i += 2 {
		t.Steps = append(t.Steps, Threshold{Value: ptr(toFloat(steps[i])), Color: steps[i+1].(string)})
	}
	return t
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	panic("dashboards: threshold value must be a number")
}

func fieldConfig(unit string, custom any) *FieldConfigSrc {
	return &FieldConfigSrc{Defaults: FieldConfig{Unit: unit, Custom: custom}, Overrides: []Override{}}
}

func legendList() VizLegend {
	return VizLegend{DisplayMode: "list", Placement: "bottom", ShowLegend: true, Calcs: []string{}}
}

func legendTable(calcs ...string) VizLegend {
	return VizLegend{DisplayMode: "table", Placement: "bottom", ShowLegend: true, Calcs: calcs}
}

// graph is the custom field config of a line chart.
func graph() *GraphFieldConfig {
	return &GraphFieldConfig{DrawStyle: "line", LineWidth: 1, FillOpacity: 10, ShowPoints: "never"}
}

// Timeseries returns a timeseries panel.
func Timeseries(title, unit string, targets ...Target) Panel {
	return Panel{
		Type: TypeTimeseries, Title: title, Datasource: Prometheus(), Targets: targets,
		FieldConfig: fieldConfig(unit, graph()),
		Options:     &TimeseriesOptions{Legend: legendList(), Tooltip: VizTooltip{Mode: "multi", Sort: "desc"}},
	}
}

// Stat returns a stat panel showing the last value.
func Stat(title, unit string, thresholds *Thresholds, targets ...Target) Panel {
	fc := fieldConfig(unit, nil)
	fc.Defaults.Color = &FieldColor{Mode: "thresholds"}
	if thresholds == nil {
		thresholds = Steps(Text)
	}
	fc.Defaults.Thresholds = thresholds
	return Panel{
		Type: TypeStat, Title: title, Datasource: Prometheus(), Targets: targets, FieldConfig: fc,
		Options: &StatOptions{
			GraphMode: "none", ColorMode: "value", JustifyMode: "auto", TextMode: "auto",
			WideLayout: true, PercentChangeColorMode: "standard", Orientation: "auto",
			ReduceOptions: ReduceOptions{Calcs: []string{"lastNotNull"}},
		},
	}
}

// Gauge returns a gauge panel.
func Gauge(title, unit string, min, max float64, thresholds *Thresholds, targets ...Target) Panel {
	fc := fieldConfig(unit, nil)
	fc.Defaults.Color = &FieldColor{Mode: "thresholds"}
	fc.Defaults.Min, fc.Defaults.Max = ptr(min), ptr(max)
	fc.Defaults.Thresholds = thresholds
	return Panel{
		Type: TypeGauge, Title: title, Datasource: Prometheus(), Targets: targets, FieldConfig: fc,
		Options: &GaugeOptions{
			ShowThresholdMarkers: true, Sizing: "auto", MinVizWidth: 75, MinVizHeight: 75,
			Orientation: "auto", ReduceOptions: ReduceOptions{Calcs: []string{"lastNotNull"}},
		},
	}
}

// BarGauge returns a horizontal bar gauge panel, one bar per series in
// query order.
func BarGauge(title, unit string, min, max float64, thresholds *Thresholds, targets ...Target) Panel {
	fc := fieldConfig(unit, nil)
	fc.Defaults.Color = &FieldColor{Mode: "thresholds"}
	fc.Defaults.Min, fc.Defaults.Max = ptr(min), ptr(max)
	fc.Defaults.Thresholds = thresholds
	return Panel{
		Type: TypeBarGauge, Title: title, Datasource: Prometheus(), Targets: targets, FieldConfig: fc,
		Options: &BarGaugeOptions{
			DisplayMode: "gradient", ValueMode: "color", NamePlacement: "auto", ShowUnfilled: true,
			Sizing: "auto", MinVizWidth: 8, MinVizHeight: 16, MaxVizHeight: 300, Orientation: "horizontal",
			Legend:        VizLegend{DisplayMode: "list", Placement: "bottom", ShowLegend: false, Calcs: []string{}},
			ReduceOptions: ReduceOptions{Calcs: []string{"lastNotNull"}},
		},
	}
}

// Table returns a table panel.
func Table(title string, targets ...Target) Panel {
	fc := fieldConfig("", &TableFieldConfig{Align: "auto"})
	fc.Defaults.Color = &FieldColor{Mode: "thresholds"}
	fc.Defaults.Thresholds = Steps(Text)
	return Panel{
		Type: TypeTable, Title: title, Datasource: Prometheus(), Targets: targets, FieldConfig: fc,
		Options: &TableOptions{ShowHeader: true, CellHeight: "sm"},
	}
}

// StateTimeline returns a state timeline panel.
func StateTimeline(title string, mappings []ValueMapping, thresholds *Thresholds, targets ...Target) Panel {
	fc := fieldConfig("", &StateTimelineFieldConfig{LineWidth: 0, FillOpacity: 80})
	fc.Defaults.Color = &FieldColor{Mode: "thresholds"}
	fc.Defaults.Mappings = mappings
	fc.Defaults.Thresholds = thresholds
	return Panel{
		Type: TypeStateTimeline, Title: title, Datasource: Prometheus(), Targets: targets, FieldConfig: fc,
		Options: &StateTimelineOptions{
			ShowValue: "auto", RowHeight: 0.9, MergeValues: true, AlignValue: "left",
			Legend: legendList(), Tooltip: VizTooltip{Mode: "single", Sort: "none"},
		},
	}
}

// TextPanel returns a markdown text panel.
func TextPanel(title, markdown string) Panel {
	return Panel{Type: TypeText, Title: title, Options: &TextOptions{Mode: "markdown", Content: markdown}}
}

// Row returns an expanded row.
func Row(title string) Panel {
	return Panel{Type: TypeRow, Title: title, Collapsed: ptr(false), Panels: []Panel{}}
}

// Query is a range query target.
func Query(expr, legend string) Target {
	return Target{Datasource: Prometheus(), EditorMode: "code", Expr: expr, LegendFormat: legend, Range: true}
}

// Instant is an instant query target.
func Instant(expr, legend string) Target {
	return Target{Datasource: Prometheus(), EditorMode: "code", Expr: expr, LegendFormat: legend, Instant: true}
}

// TableQuery is an instant query in table format (one row per series).
func TableQuery(expr string) Target {
	return Target{Datasource: Prometheus(), EditorMode: "code", Expr: expr, Format: "table", Instant: true}
}

// ValueMap maps exact values to text and colour, in the order given as
// (value, text, colour) triples.
func ValueMap(triples ...string) ValueMapping {
	opts := map[string]MappingResult{}
	for i := 0; i+2 < len(triples); i += 3 {
		opts[triples[i]] = MappingResult{Text: triples[i+1], Color: triples[i+2], Index: i / 3}
	}
	return ValueMapping{Type: "value", Options: opts}
}

// NamesMatch are the options of the byNames matcher (an object, which the
// schema requires of matcher options; byName takes a bare string).
type NamesMatch struct {
	Mode  string   `json:"mode"`
	Names []string `json:"names"`
}

// OverrideByNames sets properties of the fields (series) with these display
// names.
func OverrideByNames(names []string, props ...Property) Override {
	return Override{Matcher: Matcher{ID: "byNames", Options: NamesMatch{Mode: "include", Names: names}}, Properties: props}
}

// FixedColor is an override property giving a series a fixed colour.
func FixedColor(c string) Property {
	return Property{ID: "color", Value: FieldColor{Mode: "fixed", FixedColor: c}}
}

// Dashed is an override property drawing a series as a dashed line.
func Dashed() Property {
	return Property{ID: "custom.lineStyle", Value: LineStyle{Fill: "dash", Dash: []float64{10, 10}}}
}

// HiddenFromTooltip keeps a reference line out of the tooltip.
func HiddenFromTooltip() Property {
	return Property{ID: "custom.hideFrom", Value: HideSeriesConfg{Tooltip: true}}
}
