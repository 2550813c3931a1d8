package dashboards

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

const (
	docsPath   = "../docs/dashboards.md"
	docsBegin  = "<!-- BEGIN GENERATED: go test ./dashboards -run TestDocs -update -->"
	docsEnd    = "<!-- END GENERATED -->"
	docsIntro  = "The panels and queries below are generated from the example specs in testdata/slos; the test keeps them in sync with the code.\n"
	codeFence  = "```"
	promqlLang = "promql"
)

// TestDocs keeps the generated part of docs/dashboards.md (every panel and
// query of each dashboard kind, for the example SLOs) in sync with the
// builders; go test -update rewrites it.
func TestDocs(t *testing.T) {
	slos := exampleSLOs(t)
	byService := groupByService(slos)
	var b strings.Builder
	b.WriteString(docsIntro)
	ds := []Dashboard{
		SLODetail("checkout", byService["checkout"], Options{}),
		RED("checkout", byService["checkout"], Options{}),
		RED("catalog", byService["catalog"], Options{}),
		Overview(slos, Options{}),
		USENodes(Options{}),
	}
	for _, k := range PlatformKinds() {
		d, _ := Platform(k, Options{})
		ds = append(ds, d)
	}
	for i := range ds {
		docDashboard(&b, &ds[i])
	}
	gen := b.String()
	old, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(old, []byte(docsBegin)), bytes.Index(old, []byte(docsEnd))
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q and %q not found", docsPath, docsBegin, docsEnd)
	}
	cur := string(old[i+len(docsBegin)+1 : j])
	if cur == gen {
		return
	}
	if !*update {
		t.Fatalf("%s is out of date: go test ./dashboards -run TestDocs -update", docsPath)
	}
	out := string(old[:i+len(docsBegin)+1]) + gen + string(old[j:])
	if err := os.WriteFile(docsPath, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func docDashboard(b *strings.Builder, d *Dashboard) {
	fmt.Fprintf(b, "\n### %s\n\nUID `%s`; tags %s.\n", d.Title, d.UID, "`"+strings.Join(d.Tags, "`, `")+"`")
	var vars []string
	for _, v := range d.Templating.List {
		s := "`" + v.Name + "` (" + v.Type
		if v.Type == "query" || v.Type == "constant" {
			s += ": `" + v.Query + "`"
		}
		if v.Multi {
			s += ", multi, All = `.*`"
		}
		vars = append(vars, s+")")
	}
	fmt.Fprintf(b, "Variables: %s.\n", strings.Join(vars, ", "))
	var ann []string
	for _, a := range d.Annotations.List {
		switch {
		case a.BuiltIn == 1:
		case a.Target != nil:
			ann = append(ann, a.Name+" (Grafana annotations tagged `"+strings.Join(a.Target.Tags, "`, `")+"`)")
		case a.Expr != "":
			ann = append(ann, a.Name+" (`"+a.Expr+"`)")
		}
	}
	if len(ann) > 0 {
		fmt.Fprintf(b, "Annotations: %s.\n", strings.Join(ann, "; "))
	}
	var links []string
	for _, l := range d.Links {
		if l.URL != "" {
			links = append(links, l.Title+" (`"+l.URL+"`)")
		}
	}
	if len(links) > 0 {
		fmt.Fprintf(b, "Links: %s.\n", strings.Join(links, ", "))
	}
	b.WriteString("\n")
	for _, p := range d.Panels {
		if p.IsRow() {
			fmt.Fprintf(b, "\n**Row: %s**\n\n", p.Title)
			continue
		}
		extra := ""
		if p.TimeFrom != "" {
			extra = ", time range " + p.TimeFrom
		}
		if p.FieldConfig != nil && p.FieldConfig.Defaults.Unit != "" {
			extra += ", unit " + p.FieldConfig.Defaults.Unit
		}
		fmt.Fprintf(b, "- **%s** (%s%s)", p.Title, p.Type, extra)
		if len(p.Targets) == 0 {
			b.WriteString("\n")
			continue
		}
		b.WriteString(":\n\n  " + codeFence + promqlLang + "\n")
		for _, t := range p.Targets {
			line := t.Expr
			if t.LegendFormat != "" {
				line += "    # " + t.LegendFormat
			}
			b.WriteString("  " + line + "\n")
		}
		b.WriteString("  " + codeFence + "\n")
	}
}
