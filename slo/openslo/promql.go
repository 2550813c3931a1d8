package openslo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/slokeeper/slokeeper/slo"
)

// OpenSLO queries are instant queries: the tool that reads them decides over
// which time it aggregates. slokeeper's raw queries instead say where the
// window goes with {{.window}}. rewrite turns the one into the other, editing
// the user's text in place (so that its formatting survives) at positions
// taken from the PromQL parser.

// seriesMode says what a bare series selector in a query holds.
type seriesMode int

const (
	// counters: a bare selector x becomes rate(x[{{.window}}]).
	counters seriesMode = iota
	// gauges: a bare selector x becomes avg_over_time(x[{{.window}}]).
	gauges
)

func (m seriesMode) wrapper() string {
	if m == gauges {
		return "avg_over_time"
	}
	return "rate"
}

// rewritten is the outcome of rewrite.
type rewritten struct {
	query string
	// ranges lists the literal ranges of rate() and increase() replaced by
	// {{.window}}, as written ("5m").
	ranges []string
	// wrapped counts the bare selectors wrapped in rate() or avg_over_time().
	wrapped int
}

func (r rewritten) changed() bool { return len(r.ranges) > 0 || r.wrapped > 0 }

type edit struct {
	start, end int
	text       string
}

// parseQuery parses q, turning a parser panic into an error.
func parseQuery(p parser.Parser, q string) (e parser.Expr, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("malformed query: %v", r)
		}
	}()
	e, err = p.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("empty query")
	}
	return e, nil
}

// rewrite puts {{.window}} into q (parsed as e): the literal range of every
// rate() and increase() becomes [{{.window}}], and every bare series
// selector (one not already under a range) is wrapped as mode says. Ranges
// of other functions (min_over_time(x[2m])) and subqueries are part of what
// the query measures and stay as written.
func rewrite(p parser.Parser, q string, e parser.Expr, mode seriesMode) (rewritten, error) {
	var (
		edits []edit
		res   rewritten
		err   error
	)
	var walk func(n parser.Node)
	walk = func(n parser.Node) {
		if err != nil || n == nil {
			return
		}
		switch n := n.(type) {
		case *parser.Call:
			if n.Func != nil && (n.Func.Name == "rate" || n.Func.Name == "increase") && len(n.Args) == 1 {
				if ms, ok := n.Args[0].(*parser.MatrixSelector); ok {
					if ed, lit, ok := rangeEdit(q, ms); ok {
						edits = append(edits, ed)
						res.ranges = append(res.ranges, lit)
					}
					return
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parser.MatrixSelector, *parser.SubqueryExpr:
			// A range the query defines itself: leave it alone.
		case *parser.VectorSelector:
			start, end := int(n.PosRange.Start), int(n.PosRange.End)
			if start < 0 || end > len(q) || start >= end {
				err = fmt.Errorf("cannot locate the series selector %s in the query", n.String())
				return
			}
			if n.OriginalOffset != 0 || n.OriginalOffsetExpr != nil || n.Timestamp != nil || n.StartOrEnd != 0 {
				err = fmt.Errorf("the selector %s uses offset or @, which slokeeper cannot wrap in %s(); write the query with [%s] yourself", clip(q[start:end]), mode.wrapper(), slo.WindowVar)
				return
			}
			edits = append(edits,
				edit{start, start, mode.wrapper() + "("},
				edit{end, end, "[" + slo.WindowVar + "])"})
			res.wrapped++
		case *parser.AggregateExpr:
			walk(n.Param)
			walk(n.Expr)
		case *parser.BinaryExpr:
			walk(n.LHS)
			walk(n.RHS)
		case *parser.ParenExpr:
			walk(n.Expr)
		case *parser.UnaryExpr:
			walk(n.Expr)
		case *parser.StepInvariantExpr:
			walk(n.Expr)
		}
	}
	walk(e)
	if err != nil {
		return rewritten{}, err
	}
	res.query = applyEdits(q, edits)
	if res.changed() {
		if _, perr := parseQuery(p, strings.ReplaceAll(res.query, slo.WindowVar, "5m")); perr != nil {
			return rewritten{}, fmt.Errorf("slokeeper could not rewrite the query for its windows (%s); write it with [%s] yourself", oneLine(perr), slo.WindowVar)
		}
	}
	return res, nil
}

// rangeEdit replaces the literal range of ms with {{.window}}. It returns the
// range as written.
func rangeEdit(q string, ms *parser.MatrixSelector) (edit, string, bool) {
	vs, ok := ms.VectorSelector.(*parser.VectorSelector)
	if !ok || vs == nil {
		return edit{}, "", false
	}
	i := int(vs.PosRange.End)
	if i < 0 || i > len(q) {
		return edit{}, "", false
	}
	for i < len(q) && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r') {
		i++
	}
	if i >= len(q) || q[i] != '[' {
		return edit{}, "", false
	}
	j := strings.IndexByte(q[i:], ']')
	if j < 0 {
		return edit{}, "", false
	}
	lit := strings.TrimSpace(q[i+1 : i+j])
	if lit == slo.WindowVar {
		return edit{}, "", false
	}
	return edit{i + 1, i + j, slo.WindowVar}, lit, true
}

func applyEdits(q string, edits []edit) string {
	if len(edits) == 0 {
		return q
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last || e.end < e.start || e.end > len(q) {
			continue
		}
		b.WriteString(q[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(q[last:])
	return b.String()
}

// plainSelector says whether e is a series selector, or sum() of one without
// grouping, and returns the selector's text. The generator writes rate() and
// sum() around such selectors itself, which lets it choose the cheapest rules.
func plainSelector(q string, e parser.Expr) (string, bool) {
	e = unparen(e)
	if a, ok := e.(*parser.AggregateExpr); ok {
		if a.Op != parser.SUM || len(a.Grouping) > 0 || a.Without || a.Param != nil {
			return "", false
		}
		e = unparen(a.Expr)
	}
	vs, ok := e.(*parser.VectorSelector)
	if !ok || vs.OriginalOffset != 0 || vs.OriginalOffsetExpr != nil || vs.Timestamp != nil || vs.StartOrEnd != 0 {
		return "", false
	}
	start, end := int(vs.PosRange.Start), int(vs.PosRange.End)
	if start < 0 || end > len(q) || start >= end {
		return "", false
	}
	return q[start:end], true
}

func unparen(e parser.Expr) parser.Expr {
	for i := 0; i < 1000; i++ {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
	return e
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// describeRewrite says in one line what rewrite did.
func describeRewrite(r rewritten, mode seriesMode) string {
	var parts []string
	if len(r.ranges) > 0 {
		seen := map[string]bool{}
		var lits []string
		for _, l := range r.ranges {
			if !seen[l] {
				seen[l] = true
				lits = append(lits, "["+l+"]")
			}
		}
		parts = append(parts, fmt.Sprintf("the range %s of rate()/increase() became [%s]", strings.Join(lits, ", "), slo.WindowVar))
	}
	if r.wrapped > 0 {
		what := "counters"
		if mode == gauges {
			what = "gauges"
		}
		parts = append(parts, fmt.Sprintf("series selectors were wrapped in %s(...[%s]) as %s", mode.wrapper(), slo.WindowVar, what))
	}
	return strings.Join(parts, "; ")
}
