package slo

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a Problem.
type Severity int

// Problem severities.
const (
	Error Severity = iota
	Warning
)

// Problem is one thing wrong with a spec, at a position.
type Problem struct {
	Pos      Pos
	Message  string
	Severity Severity
}

// String renders the problem as path:line:col: field.path: message.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Pos.File)
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Pos.Line, max(p.Pos.Col, 1))
	}
	b.WriteString(": ")
	if p.Severity == Warning {
		b.WriteString("warning: ")
	}
	if p.Pos.Path != "" {
		b.WriteString(p.Pos.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is a list of problems.
type Problems []Problem

// Add appends an error at pos.
func (ps *Problems) Add(pos Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Message: fmt.Sprintf(format, args...)})
}

// Warn appends a warning at pos.
func (ps *Problems) Warn(pos Pos, format string, args ...any) {
	*ps = append(*ps, Problem{Pos: pos, Message: fmt.Sprintf(format, args...), Severity: Warning})
}

// HasErrors says whether any problem is an error (not a warning).
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == Error {
			return true
		}
	}
	return false
}

// Sort orders problems by file, line, column, then message.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i].Pos, ps[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return ps[i].Message < ps[j].Message
	})
}

// Error lets Problems be returned as an error: one problem a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// WithPath returns p with another field path.
func (p Pos) WithPath(path string) Pos { p.Path = path; return p }
