package loader

import (
	"testing"

	"github.com/slokeeper/slokeeper/internal/benchspecs"
)

// BenchmarkParse10k loads and validates 10,000 SLOs spread over 1,000 files
// (target: <= 1 s on 2 cores; peak RSS is measured by scripts/bench.sh).
func BenchmarkParse10k(b *testing.B) {
	names, contents := benchspecs.Files(10000, 1000)
	files := make([]File, len(names))
	for i := range names {
		files[i] = File{Name: names[i], Data: contents[i]}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := Parse(files, Options{})
		if len(r.SLOs) != 10000 || r.Problems.HasErrors() {
			b.Fatalf("loaded %d SLOs; problems: %v", len(r.SLOs), r.Problems[:min(3, len(r.Problems))])
		}
	}
}
