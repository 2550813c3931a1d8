package demo

import (
	"fmt"
	"regexp/syntax"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// selector is a parsed series selector: a metric name and the other
// matchers.
type selector struct {
	name     string
	matchers []*labels.Matcher
}

func parseSelector(p parser.Parser, s string) (selector, error) {
	ms, err := p.ParseMetricSelector(s)
	if err != nil {
		return selector{}, fmt.Errorf("selector %q: %w", s, err)
	}
	var sel selector
	for _, m := range ms {
		if m.Name == model.MetricNameLabel {
			if m.Type != labels.MatchEqual {
				return selector{}, fmt.Errorf("selector %q: the metric name must be given exactly", s)
			}
			sel.name = m.Value
			continue
		}
		sel.matchers = append(sel.matchers, m)
	}
	if sel.name == "" {
		return selector{}, fmt.Errorf("selector %q: no metric name", s)
	}
	return sel, nil
}

// extra returns the matchers of s that base does not have (same name,
// type and value).
func (s selector) extra(base selector) []*labels.Matcher {
	var out []*labels.Matcher
	for _, m := range s.matchers {
		found := false
		for _, b := range base.matchers {
			if b.Name == m.Name && b.Type == m.Type && b.Value == m.Value {
				found = true
				break
			}
		}
		if !found {
			out = append(out, m)
		}
	}
	return out
}

// candidates are label values tried when a matcher does not say which
// value to take, the label's usual values first.
var candidates = map[string][]string{
	"code":                      {"200", "503", "500", "404"},
	"status":                    {"200", "503", "500", "404"},
	"status_code":               {"200", "503", "500", "404"},
	"http_response_status_code": {"200", "503", "500", "404"},
	"http_status_code":          {"200", "503", "500", "404"},
	"rcode":                     {"NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED"},
	"grpc_code":                 {"OK", "Unavailable", "Internal", "NotFound"},
	"verb":                      {"GET", "LIST", "POST", "PUT", "PATCH", "DELETE", "WATCH"},
	"method":                    {"GET", "POST", "PUT", "DELETE"},
	"http_request_method":       {"GET", "POST", "PUT", "DELETE"},
	"http_route":                {"/api/cart", "/api/checkout", "/api/payment"},
	"route":                     {"/api/items", "/api/search", "/api/orders"},
	"handler":                   {"/api/items", "/api/search", "/api/orders"},
	"ingress":                   {"shop", "api", "admin"},
	"namespace":                 {"default", "shop", "platform"},
	"result":                    {"success", "error", "timeout"},
}

var genericCandidates = []string{"200", "503", "500", "OK", "NOERROR", "SERVFAIL", "GET", "POST", "success", "error", "true", "false", "a", "b", "c"}

func candidateValues(name string) []string {
	out := append([]string(nil), candidates[name]...)
	out = append(out, genericCandidates...)
	return append(out, name+"-1", name+"-2", name+"-3")
}

// regexSample returns a short string the regular expression matches fully.
func regexSample(expr string) (string, bool) {
	re, err := syntax.Parse("^(?:"+expr+")$", syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	if !sampleInto(&b, re.Simplify()) {
		return "", false
	}
	return b.String(), true
}

func sampleInto(b *strings.Builder, re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		// Prefer a digit or letter inside the class.
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for _, r := range []rune{'0', 'a', 'A'} {
				if re.Rune[i] <= r && r <= re.Rune[i+1] {
					b.WriteRune(r)
					return true
				}
			}
		}
		b.WriteRune(re.Rune[0])
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('0')
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !sampleInto(b, s) {
				return false
			}
		}
	case syntax.OpAlternate:
		return sampleInto(b, re.Sub[0])
	case syntax.OpCapture:
		return sampleInto(b, re.Sub[0])
	case syntax.OpPlus:
		return sampleInto(b, re.Sub[0])
	case syntax.OpRepeat:
		for range re.Min {
			if !sampleInto(b, re.Sub[0]) {
				return false
			}
		}
	case syntax.OpStar, syntax.OpQuest, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
	default:
		return false
	}
	return true
}

// cond is a requirement on a label value: it must match m, or (negate)
// must not.
type cond struct {
	m      *labels.Matcher
	negate bool
}

func (c cond) ok(v string) bool { return c.m.Matches(v) != c.negate }

// pickValue finds a value of label name that meets every condition,
// preferring the values the conditions name themselves.
func pickValue(name string, conds []cond) (string, bool) {
	var tries []string
	for _, c := range conds {
		switch c.m.Type {
		case labels.MatchEqual, labels.MatchNotEqual:
			tries = append(tries, c.m.Value)
		case labels.MatchRegexp, labels.MatchNotRegexp:
			if s, ok := regexSample(c.m.Value); ok {
				tries = append(tries, s)
			}
		}
	}
	// Values a positive condition asks for first, then the usual ones.
	for _, v := range append(tries, candidateValues(name)...) {
		if v == "" {
			continue
		}
		good := true
		for _, c := range conds {
			if !c.ok(v) {
				good = false
				break
			}
		}
		if good {
			return v, true
		}
	}
	return "", false
}

// labelSet builds a series' labels: the metric name, a value for every
// label the conditions constrain, and the fixed labels.
func labelSet(metric string, conds []cond, fixed map[string]string) (labels.Labels, error) {
	byName := map[string][]cond{}
	var order []string
	for _, c := range conds {
		if _, ok := byName[c.m.Name]; !ok {
			order = append(order, c.m.Name)
		}
		byName[c.m.Name] = append(byName[c.m.Name], c)
	}
	b := labels.NewBuilder(labels.EmptyLabels())
	b.Set(model.MetricNameLabel, metric)
	for k, v := range fixed {
		b.Set(k, v)
	}
	for _, name := range order {
		cs := byName[name]
		if v, ok := fixed[name]; ok {
			for _, c := range cs {
				if !c.ok(v) {
					return labels.EmptyLabels(), fmt.Errorf("label %s=%q does not fit %s", name, v, c.m)
				}
			}
			continue
		}
		v, ok := pickValue(name, cs)
		if !ok {
			// A label the conditions allow to be absent may stay absent.
			absentOK := true
			for _, c := range cs {
				absentOK = absentOK && c.ok("")
			}
			if absentOK {
				continue
			}
			return labels.EmptyLabels(), fmt.Errorf("no value of label %s fits %v", name, cs)
		}
		b.Set(name, v)
	}
	return b.Labels(), nil
}

func (c cond) String() string {
	if c.negate {
		return "not " + c.m.String()
	}
	return c.m.String()
}

func positive(ms []*labels.Matcher) []cond {
	out := make([]cond, len(ms))
	for i, m := range ms {
		out[i] = cond{m: m}
	}
	return out
}
