// Package ynode decodes YAML documents node by node, so that every value and
// every problem keeps its file, line, column and field path. The spec loaders
// use it instead of yaml.Unmarshal, which loses positions and stops at the
// first error.
package ynode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/slokeeper/slokeeper/slo"
)

// MaxFileSize is the largest spec file read (10 MiB).
const MaxFileSize = 10 << 20

// Doc is one YAML document of a spec file.
type Doc struct {
	File string
	// Root is the document's top-level mapping.
	Root *yaml.Node
	// Path is the document's field path prefix: "" for a plain document,
	// "[2]" for the third element of a file holding a YAML list of documents.
	Path       string
	APIVersion string
	Kind       string
	// Index is the document's position in its file (0-based).
	Index int
}

// Pos is the document's own position.
func (d Doc) Pos() slo.Pos {
	return slo.Pos{File: d.File, Line: d.Root.Line, Col: d.Root.Column, Path: d.Path}
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// ParseFile splits data into YAML documents. A document that is a YAML
// sequence of mappings (as some OpenSLO files are) yields one Doc per
// element. Problems are returned with positions; the documents parsed before
// a syntax error are still returned.
func ParseFile(file string, data []byte) ([]Doc, slo.Problems) {
	var ps slo.Problems
	at := func(line, col int) slo.Pos { return slo.Pos{File: file, Line: line, Col: col} }
	switch {
	case len(data) > MaxFileSize:
		ps.Add(at(1, 1), "file is %d bytes, over the %d MiB limit", len(data), MaxFileSize>>20)
		return nil, ps
	case len(bytes.TrimSpace(data)) == 0:
		ps.Add(at(1, 1), "file is empty: expected a YAML document with apiVersion and kind")
		return nil, ps
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		line := 1 + bytes.Count(data[:firstBinary(data)], []byte("\n"))
		ps.Add(at(line, 1), "file is not UTF-8 text (binary data)")
		return nil, ps
	}
	var docs []Doc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for idx := 0; ; idx++ {
		var n yaml.Node
		err := decodeSafe(dec, &n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ps = append(ps, syntaxProblem(file, data, err))
			break
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		root = Resolve(root)
		switch {
		case root.Kind == yaml.ScalarNode && root.Tag == "!!null":
			continue // an empty document between two ---
		case root.Kind == yaml.SequenceNode:
			for i, el := range root.Content {
				el = Resolve(el)
				path := fmt.Sprintf("[%d]", i)
				if el.Kind != yaml.MappingNode {
					ps.Add(slo.Pos{File: file, Line: el.Line, Col: el.Column, Path: path}, "expected a mapping (a document with apiVersion and kind), got %s", kindName(el))
					continue
				}
				docs = append(docs, newDoc(file, el, path, idx))
			}
		case root.Kind != yaml.MappingNode:
			ps.Add(slo.Pos{File: file, Line: root.Line, Col: root.Column}, "expected a mapping (a document with apiVersion and kind), got %s", kindName(root))
		default:
			docs = append(docs, newDoc(file, root, "", idx))
		}
	}
	if len(docs) == 0 && len(ps) == 0 {
		ps.Add(at(1, 1), "file holds no YAML document")
	}
	return docs, ps
}

// decodeSafe turns a panic inside the YAML library into an error: a spec
// must never crash the daemon.
func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: malformed document: %v", r)
		}
	}()
	return dec.Decode(n)
}

func firstBinary(data []byte) int {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

func syntaxProblem(file string, data []byte, err error) slo.Problem {
	msg := err.Error()
	line, col := 1, 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	if strings.Contains(msg, "found character that cannot start any token") || strings.Contains(msg, "found a tab") {
		if l, c, ok := findTab(data, line); ok {
			line, col = l, c
			msg = "tab character: YAML indentation must use spaces (" + msg + ")"
		}
	}
	return slo.Problem{Pos: slo.Pos{File: file, Line: line, Col: col}, Message: "invalid YAML: " + msg}
}

// findTab returns the position of the first tab on or after line.
func findTab(data []byte, line int) (int, int, bool) {
	lines := bytes.Split(data, []byte("\n"))
	for i := max(line-1, 0); i < len(lines); i++ {
		if c := bytes.IndexByte(lines[i], '\t'); c >= 0 {
			return i + 1, c + 1, true
		}
	}
	return 0, 0, false
}

func newDoc(file string, root *yaml.Node, path string, idx int) Doc {
	d := Doc{File: file, Root: root, Path: path, Index: idx}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], Resolve(root.Content[i+1])
		if v.Kind != yaml.ScalarNode {
			continue
		}
		switch k.Value {
		case "apiVersion":
			d.APIVersion = v.Value
		case "version": // Sloth's prometheus/v1 has no apiVersion
			if d.APIVersion == "" {
				d.APIVersion = v.Value
			}
		case "kind":
			d.Kind = v.Value
		}
	}
	return d
}

// Resolve follows alias nodes.
func Resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %q", clip(n.Value))
		case "!!int", "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return "the boolean " + n.Value
		}
		return fmt.Sprintf("%q", clip(n.Value))
	}
	return "an unexpected node"
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Decoder walks nodes of one file and collects problems.
type Decoder struct {
	File     string
	Problems *slo.Problems
}

// NewDecoder returns a decoder adding problems to ps.
func NewDecoder(file string, ps *slo.Problems) *Decoder {
	return &Decoder{File: file, Problems: ps}
}

// PosOf is the position of node n with field path path.
func (d *Decoder) PosOf(n *yaml.Node, path string) slo.Pos {
	return slo.Pos{File: d.File, Line: n.Line, Col: n.Column, Path: path}
}

// Errorf adds an error at n.
func (d *Decoder) Errorf(n *yaml.Node, path, format string, args ...any) {
	d.Problems.Add(d.PosOf(n, path), format, args...)
}

// Warnf adds a warning at n.
func (d *Decoder) Warnf(n *yaml.Node, path, format string, args ...any) {
	d.Problems.Warn(d.PosOf(n, path), format, args...)
}

// Map is a YAML mapping being decoded. Keys read through it are marked seen;
// Done reports the others as unknown fields.
type Map struct {
	d     *Decoder
	Node  *yaml.Node
	Path  string
	keys  []*yaml.Node
	vals  map[string]*yaml.Node
	order []string
	seen  map[string]bool
	asked map[string]bool
}

// Map opens n as a mapping at path; it reports and returns nil if n is not one.
func (d *Decoder) Map(n *yaml.Node, path string) *Map {
	n = Resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.Errorf(n, path, "expected a mapping, got %s", kindName(n))
		return nil
	}
	m := &Map{d: d, Node: n, Path: path, vals: map[string]*yaml.Node{}, seen: map[string]bool{}, asked: map[string]bool{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := Resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.Errorf(k, path, "mapping keys must be strings, got %s", kindName(k))
			continue
		}
		if prev, dup := m.vals[k.Value]; dup {
			_ = prev
			first := m.keys[indexOf(m.order, k.Value)]
			d.Errorf(k, join(path, k.Value), "duplicate key %q (first defined at line %d)", k.Value, first.Line)
			continue
		}
		m.vals[k.Value] = v
		m.keys = append(m.keys, k)
		m.order = append(m.order, k.Value)
	}
	return m
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func join(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Decoder returns the map's decoder.
func (m *Map) Decoder() *Decoder { return m.d }

// Pos is the mapping's own position.
func (m *Map) Pos() slo.Pos { return m.d.PosOf(m.Node, m.Path) }

// FieldPath is the path of key inside the mapping.
func (m *Map) FieldPath(key string) string { return join(m.Path, key) }

// Has says whether key is present (without marking it seen).
func (m *Map) Has(key string) bool {
	m.asked[key] = true
	_, ok := m.vals[key]
	return ok
}

// Keys lists the keys in document order.
func (m *Map) Keys() []string { return append([]string(nil), m.order...) }

// Get returns the value node of key, marking it seen; nil when absent.
func (m *Map) Get(key string) *yaml.Node {
	m.asked[key] = true
	v, ok := m.vals[key]
	if !ok {
		return nil
	}
	m.seen[key] = true
	return Resolve(v)
}

// PosOf is the position of key's value (or of the mapping when absent).
func (m *Map) PosOf(key string) slo.Pos {
	if v, ok := m.vals[key]; ok {
		return m.d.PosOf(Resolve(v), join(m.Path, key))
	}
	return m.d.PosOf(m.Node, join(m.Path, key))
}

// KeyPos is the position of key itself.
func (m *Map) KeyPos(key string) slo.Pos {
	if i := indexOf(m.order, key); i >= 0 {
		return m.d.PosOf(m.keys[i], join(m.Path, key))
	}
	return m.Pos()
}

// Errorf reports a problem at key's value (or the mapping when key is absent).
func (m *Map) Errorf(key, format string, args ...any) {
	m.d.Problems.Add(m.PosOf(key), format, args...)
}

// Warnf reports a warning at key's value.
func (m *Map) Warnf(key, format string, args ...any) {
	m.d.Problems.Warn(m.PosOf(key), format, args...)
}

// Ignore marks keys as known without reading them.
func (m *Map) Ignore(keys ...string) {
	for _, k := range keys {
		m.seen[k] = true
		m.asked[k] = true
	}
}

// Require reports every key of keys that is absent; it returns false if any is.
func (m *Map) Require(keys ...string) bool {
	ok := true
	for _, k := range keys {
		if !m.Has(k) || isNull(m.vals[k]) {
			m.d.Problems.Add(m.Pos().WithPath(join(m.Path, k)), "required field is missing")
			ok = false
		}
	}
	return ok
}

func isNull(n *yaml.Node) bool {
	n = Resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// Done reports every key that was never read as an unknown field.
func (m *Map) Done() {
	for i, k := range m.order {
		if !m.seen[k] {
			m.d.Errorf(m.keys[i], join(m.Path, k), "unknown field %q%s", k, suggest(k, m.asked))
		}
	}
}

func suggest(k string, known map[string]bool) string {
	best, bestD := "", 3
	for cand := range known {
		if cand == "" || cand == k {
			continue
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(cand)); d < bestD || (d == bestD && cand < best && best != "") {
			best, bestD = cand, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// scalar returns key's scalar node, reporting a type problem.
func (m *Map) scalar(key, want string) *yaml.Node {
	n := m.Get(key)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		m.Errorf(key, "expected %s, got %s", want, kindName(n))
		return nil
	}
	return n
}

// String reads a string. Numbers and booleans written unquoted are accepted
// as their text, as Kubernetes does not; here a name like 2 is fine.
func (m *Map) String(key string) (string, bool) {
	n := m.scalar(key, "a string")
	if n == nil {
		return "", false
	}
	return n.Value, true
}

// StrictString reads a string and refuses numbers and booleans.
func (m *Map) StrictString(key string) (string, bool) {
	n := m.scalar(key, "a string")
	if n == nil {
		return "", false
	}
	if n.Tag != "!!str" {
		m.Errorf(key, "expected a string, got %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// Float reads a number; a quoted number is accepted when quotedOK (Pyrra
// writes targets as strings).
func (m *Map) Float(key string, quotedOK bool) (float64, bool) {
	n := m.scalar(key, "a number")
	if n == nil {
		return 0, false
	}
	if n.Tag != "!!int" && n.Tag != "!!float" && !(quotedOK && n.Tag == "!!str") {
		m.Errorf(key, "expected a number, got %s", kindName(n))
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(n.Value), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		m.Errorf(key, "expected a finite number, got %q", clip(n.Value))
		return 0, false
	}
	return f, true
}

// Int reads an integer.
func (m *Map) Int(key string) (int, bool) {
	n := m.scalar(key, "an integer")
	if n == nil {
		return 0, false
	}
	i, err := strconv.Atoi(n.Value)
	if n.Tag != "!!int" || err != nil {
		m.Errorf(key, "expected an integer, got %s", kindName(n))
		return 0, false
	}
	return i, true
}

// Bool reads a boolean.
func (m *Map) Bool(key string) (bool, bool) {
	n := m.scalar(key, "a boolean")
	if n == nil {
		return false, false
	}
	b, err := strconv.ParseBool(n.Value)
	if n.Tag != "!!bool" || err != nil {
		m.Errorf(key, "expected a boolean (true or false), got %s", kindName(n))
		return false, false
	}
	return b, true
}

// Duration reads a Prometheus duration (5m, 1h30m, 28d, 2w).
func (m *Map) Duration(key string) (time.Duration, bool) {
	n := m.scalar(key, "a duration")
	if n == nil {
		return 0, false
	}
	d, err := ParseDuration(n.Value)
	if err != nil {
		m.Errorf(key, "%v", err)
		return 0, false
	}
	return d, true
}

// ParseDuration parses a Prometheus duration such as 5m, 1h30m, 28d or 2w.
func ParseDuration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a number and a unit (ms, s, m, h, d, w, y), e.g. 5m or 28d", clip(s))
	}
	return time.Duration(d), nil
}

// StringMap reads a mapping of strings to strings.
func (m *Map) StringMap(key string) map[string]string {
	n := m.Get(key)
	if n == nil || isNull(n) {
		return nil
	}
	sub := m.d.Map(n, join(m.Path, key))
	if sub == nil {
		return nil
	}
	out := make(map[string]string, len(sub.order))
	for _, k := range sub.order {
		if v, ok := sub.String(k); ok {
			out[k] = v
		}
	}
	return out
}

// IsNull says whether key is absent or null.
func (m *Map) IsNull(key string) bool { return isNull(m.vals[key]) }

// Sub opens key's value as a mapping; nil when absent or not a mapping.
func (m *Map) Sub(key string) *Map {
	n := m.Get(key)
	if n == nil || isNull(n) {
		return nil
	}
	return m.d.Map(n, join(m.Path, key))
}

// Item is one element of a list.
type Item struct {
	Node *yaml.Node
	Path string
}

// List reads key's value as a list.
func (m *Map) List(key string) []Item {
	n := m.Get(key)
	if n == nil || isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		m.Errorf(key, "expected a list, got %s", kindName(n))
		return nil
	}
	out := make([]Item, 0, len(n.Content))
	for i, el := range n.Content {
		out = append(out, Item{Node: Resolve(el), Path: fmt.Sprintf("%s[%d]", join(m.Path, key), i)})
	}
	return out
}

// StringList reads key's value as a list of strings.
func (m *Map) StringList(key string) []string {
	items := m.List(key)
	if items == nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it.Node.Kind != yaml.ScalarNode || isNull(it.Node) {
			m.d.Errorf(it.Node, it.Path, "expected a string, got %s", kindName(it.Node))
			continue
		}
		out = append(out, it.Node.Value)
	}
	return out
}
