package charts

import (
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday

func hourly(n int, f func(i int) float64) []Point {
	ps := make([]Point, n)
	for i := range ps {
		ps[i] = Point{T: t0.Add(time.Duration(i) * time.Hour), V: f(i)}
	}
	return ps
}

func goldenCharts() map[string]Chart {
	week := t0.Add(7 * 24 * time.Hour)
	rem := hourly(169, func(i int) float64 { return 0.8 - float64(i)*0.002 - 0.1*math.Max(0, float64(i-100))/68 })
	freeze := []Band{{From: t0.Add(120 * time.Hour), To: t0.Add(140 * time.Hour), Label: "freeze: budget exhausted", Class: "freeze"}, {From: t0.Add(160 * time.Hour), Label: "alert: page-slow", Class: "alert"}}
	return map[string]Chart{
		"budget": BudgetBurnDown(BudgetInput{Title: "checkout / availability: error budget", Remaining: rem, From: t0, To: week, Period: 28 * 24 * time.Hour, Bands: freeze}),
		"burn": BurnRates(BurnRateInput{
			Title: "checkout / availability: burn rate",
			Windows: []Series{
				{Name: "1h", Points: hourly(169, func(i int) float64 { return 1 + math.Sin(float64(i)/6) })},
				{Name: "6h", Points: hourly(169, func(i int) float64 { return 1 + 0.5*math.Sin(float64(i)/12) })},
			},
			Tiers: []Threshold{{Name: "page-slow 5.6x", Value: 5.6, Class: "page"}, {Name: "ticket-slow 0.93x", Value: 0.93, Class: "ticket"}},
			From:  t0, To: week,
		}),
		"sli-gaps": SLI(SLIInput{Title: "SLI with gaps", Objective: 0.999, From: t0, To: t0.Add(24 * time.Hour),
			SLI: append(hourly(10, func(i int) float64 {
				if i == 4 {
					return math.NaN()
				}
				return 0.9995 - float64(i)*0.0001
			}), Point{T: t0.Add(20 * time.Hour), V: 0.9999}, Point{T: t0.Add(21 * time.Hour), V: 0.9998})}),
		"empty": {Title: "nothing yet", From: t0, To: t0.Add(6 * time.Hour), Width: 320, Height: 160},
	}
}

func TestGolden(t *testing.T) {
	for name, c := range goldenCharts() {
		t.Run(name, func(t *testing.T) {
			got, err := c.SVG()
			if err != nil {
				t.Fatal(err)
			}
			mustParseXML(t, string(got))
			path := filepath.Join("testdata", name+".svg")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./charts -update)", err)
			}
			if string(want) != string(got) {
				t.Errorf("%s differs from the golden file (run go test ./charts -update and review the diff)", path)
			}
		})
	}
}

// mustParseXML decodes the whole document and returns its elements' names.
func mustParseXML(t *testing.T, s string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	names := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok {
			names[se.Name.Local]++
		}
	}
	return names
}

func TestHostileTextIsEscaped(t *testing.T) {
	evil := `</title><script>alert("x")</script>' & "`
	c := Chart{
		Title:       evil,
		Description: evil,
		From:        t0, To: t0.Add(time.Hour),
		YFormat:    func(float64) string { return evil },
		Series:     []Series{{Name: evil, Class: `x" onload="alert(1)`, Points: []Point{{t0, 1}, {t0.Add(time.Minute), 2}}}},
		Thresholds: []Threshold{{Name: evil, Value: 1.5, Class: evil}},
		Bands:      []Band{{From: t0, To: t0.Add(time.Minute), Label: evil, Class: "<b>"}},
		NoData:     evil,
	}
	got, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	names := mustParseXML(t, s)
	if names["script"] != 0 {
		t.Errorf("a <script> element made it into the SVG")
	}
	for _, bad := range []string{"<script", `"x"`, `onload="`, "<b>"} {
		if strings.Contains(s, bad) {
			t.Errorf("SVG contains unescaped %q", bad)
		}
	}
	if !strings.Contains(s, "&lt;script&gt;") {
		t.Errorf("escaped title missing")
	}
}

func TestStructure(t *testing.T) {
	c := goldenCharts()["sli-gaps"]
	got, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	names := mustParseXML(t, s)
	// NaN at hour 4 and the 10h hole split the SLI into three lines.
	if n := strings.Count(s, `class="line sli"`); n != 3 {
		t.Errorf("got %d SLI path segments, want 3 (NaN and the long gap break the line)", n)
	}
	if names["title"] == 0 || !strings.Contains(s, `role="img"`) || !strings.Contains(s, `aria-label="SLI with gaps"`) {
		t.Errorf("missing accessibility attributes")
	}
	if !strings.Contains(s, "objective 99.9%") {
		t.Errorf("objective threshold label missing")
	}
	if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
		t.Errorf("non-finite coordinate written")
	}
}

func TestNoData(t *testing.T) {
	for name, c := range map[string]Chart{
		"no series":    {Title: "a"},
		"all NaN":      {Title: "b", Series: []Series{{Name: "x", Points: []Point{{t0, math.NaN()}, {t0.Add(time.Hour), math.Inf(1)}}}}},
		"out of range": {Title: "c", From: t0, To: t0.Add(time.Hour), Series: []Series{{Name: "x", Points: []Point{{t0.Add(-time.Hour), 1}}}}},
		"custom text":  {Title: "d", NoData: "waiting for Prometheus"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := c.SVG()
			if err != nil {
				t.Fatal(err)
			}
			want := "no data"
			if c.NoData != "" {
				want = c.NoData
			}
			if !strings.Contains(string(got), `class="nodata"`) || !strings.Contains(string(got), want) {
				t.Errorf("no-data text missing:\n%s", got)
			}
			mustParseXML(t, string(got))
		})
	}
}

func TestErrors(t *testing.T) {
	for name, c := range map[string]Chart{
		"negative size":  {Width: -1},
		"reversed range": {From: t0.Add(time.Hour), To: t0},
		"empty y range":  {YMin: Float(1), YMax: Float(1)},
		"nan bound":      {YMin: Float(math.NaN())},
		"too narrow":     {Width: 50},
		"too short":      {Height: 40},
	} {
		if _, err := c.SVG(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	for _, tc := range []struct {
		span  time.Duration
		step  time.Duration
		label string
	}{
		{7 * 24 * time.Hour, 24 * time.Hour, "Tue 3 Mar"},
		{24 * time.Hour, 6 * time.Hour, "06:00"},
		{2 * time.Hour, 30 * time.Minute, "00:30"},
	} {
		c := Chart{From: t0, To: t0.Add(tc.span), Series: []Series{{Points: []Point{{t0, 1}}}}}
		l, err := c.layout()
		if err != nil {
			t.Fatal(err)
		}
		if l.xstep != tc.step {
			t.Errorf("span %v: step %v, want %v", tc.span, l.xstep, tc.step)
		}
		if len(l.xticks) < 2 || l.tickLabel(l.xticks[1]) != tc.label {
			t.Errorf("span %v: second tick label %q, want %q", tc.span, l.tickLabel(l.xticks[1]), tc.label)
		}
	}
	// Local time: ticks fall on local midnights.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	c := Chart{From: t0, To: t0.Add(72 * time.Hour), Location: berlin}
	l, err := c.layout()
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range l.xticks {
		if lt := tk.In(berlin); lt.Hour()%12 != 0 || lt.Minute() != 0 {
			t.Errorf("tick %v not on a local boundary", lt)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{FormatPercent(0.9995), "99.95%"},
		{FormatPercent(1), "100%"},
		{FormatPercent(-0.25), "-25%"},
		{FormatFactor(14.4), "14.4x"},
		{FormatNumber(0.25), "0.25"},
		{FormatNumber(1234567), "1.23e+06"},
		{FormatNumber(0), "0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestIdealLine(t *testing.T) {
	rem := []Point{{t0, math.NaN()}, {t0.Add(time.Hour), 0.5}, {t0.Add(2 * time.Hour), 0.4}}
	c := BudgetBurnDown(BudgetInput{Remaining: rem, From: t0, To: t0.Add(25 * time.Hour), Period: 24 * time.Hour})
	if len(c.Series) != 2 {
		t.Fatalf("want budget and ideal series, got %d", len(c.Series))
	}
	ideal := c.Series[1].Points
	if ideal[0].T != t0.Add(time.Hour) || ideal[0].V != 0.5 || ideal[1].V != -0.5 {
		t.Errorf("ideal line %v: want from 0.5 at 01:00 to -0.5 a day later", ideal)
	}
}
