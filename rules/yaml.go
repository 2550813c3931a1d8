package rules

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small YAML emitter for the fixed shapes this package writes (rule
// files, PrometheusRule manifests, ruler bodies). gopkg.in/yaml.v3 produces
// the same documents but is about 20x slower on the multi-megabyte outputs
// of large installations; tests decode every output with yaml.v3 and
// compare it with the structs, and check it with rulefmt and promtool.
// Keys are written in a fixed order and map keys sorted: deterministic.

// isPlain: letters, digits and _.:/- only, starting with a letter or _, not
// ending with ':' and not a YAML keyword; or a Prometheus duration.
func isPlain(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if c >= '0' && c <= '9' {
		return durationRE.MatchString(s)
	}
	if !(c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')) || s[len(s)-1] == ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == ':' || c == '/' || c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
			return false
		}
	}
	return len(s) > 5 || !yamlWords[strings.ToLower(s)]
}

var (
	durationRE = regexp.MustCompile(`^([0-9]+(ms|[smhdwy]))+$`)
	yamlWords  = map[string]bool{
		"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
		"null": true, "y": true, "n": true, "~": true,
	}
)

// appendScalar writes s as a YAML scalar: plain when unambiguous, else
// single-quoted, else (control characters, invalid UTF-8) double-quoted.
func appendScalar(b []byte, s string) []byte {
	if isPlain(s) {
		return append(b, s...)
	}
	simple := utf8.ValidString(s)
	if simple {
		for _, r := range s {
			if r < 0x20 || r == 0x7f || r == '\u0085' || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
				simple = false
				break
			}
		}
	}
	if simple {
		b = append(b, '\'')
		for {
			i := strings.IndexByte(s, '\'')
			if i < 0 {
				break
			}
			b = append(b, s[:i+1]...)
			b = append(b, '\'')
			s = s[i+1:]
		}
		b = append(b, s...)
		return append(b, '\'')
	}
	return strconv.AppendQuoteToASCII(b, s)
}

func appendKV(b []byte, indent, key, val string) []byte {
	b = append(b, indent...)
	b = append(b, key...)
	b = append(b, ": "...)
	b = appendScalar(b, val)
	return append(b, '\n')
}

func appendMap(b []byte, indent, key string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	b = append(b, indent...)
	b = append(b, key...)
	b = append(b, ":\n"...)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b = append(b, indent...)
		b = append(b, "  "...)
		b = appendScalar(b, k)
		b = append(b, ": "...)
		b = appendScalar(b, m[k])
		b = append(b, '\n')
	}
	return b
}

// appendGroup writes one rule group as a mapping whose first line starts
// with first (e.g. "  - " in a list, "" for a document) and whose other
// lines are indented with indent.
func appendGroup(b []byte, first, indent string, g *RuleGroup) []byte {
	b = appendKV(b, first, "name", g.Name)
	if g.Interval != "" {
		b = appendKV(b, indent, "interval", g.Interval)
	}
	b = append(b, indent...)
	if len(g.Rules) == 0 {
		return append(b, "rules: []\n"...)
	}
	b = append(b, "rules:\n"...)
	ri := indent + "    "
	for i := range g.Rules {
		r := &g.Rules[i]
		lead := indent + "  - "
		if r.Record != "" {
			b = appendKV(b, lead, "record", r.Record)
		} else {
			b = appendKV(b, lead, "alert", r.Alert)
		}
		b = appendKV(b, ri, "expr", r.Expr)
		if r.For != "" {
			b = appendKV(b, ri, "for", r.For)
		}
		b = appendMap(b, ri, "labels", r.Labels)
		b = appendMap(b, ri, "annotations", r.Annotations)
	}
	return b
}

// appendGroups writes "groups:" and the list, indented by indent.
func appendGroups(b []byte, indent string, gs []RuleGroup) []byte {
	b = append(b, indent...)
	if len(gs) == 0 {
		return append(b, "groups: []\n"...)
	}
	b = append(b, "groups:\n"...)
	for i := range gs {
		b = appendGroup(b, indent+"  - ", indent+"    ", &gs[i])
	}
	return b
}
