// Package pyrra imports pyrra SLO specs into the slo model.
package pyrra

import (
	"github.com/slokeeper/slokeeper/internal/ynode"
	"github.com/slokeeper/slokeeper/slo"
)

// Accepts says whether the document is a pyrra spec.
func Accepts(apiVersion, kind string) bool { return false }

// Import converts documents into SLOs, reporting problems with positions.
func Import(docs []ynode.Doc, ps *slo.Problems) []slo.SLO { return nil }
