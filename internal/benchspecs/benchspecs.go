// Package benchspecs writes synthetic native SLO specs for benchmarks:
// n SLOs spread over a number of files, one service per file, every SLI kind.
package benchspecs

import (
	"fmt"
	"strings"
)

// Files returns file names and contents holding n SLOs over files files.
func Files(n, files int) (names []string, contents [][]byte) {
	if files < 1 {
		files = 1
	}
	per := (n + files - 1) / files
	written := 0
	for f := 0; f < files && written < n; f++ {
		var b strings.Builder
		svc := fmt.Sprintf("svc-%04d", f)
		fmt.Fprintf(&b, "apiVersion: slokeeper.io/v1\nkind: ServiceLevelObjectives\nmetadata:\n  service: %s\n  team: team-%02d\n  labels: {tier: \"%d\"}\nspec:\n  window: 28d\n  policy: standard\n  slos:\n", svc, f%40, f%3)
		for i := 0; i < per && written < n; i, written = i+1, written+1 {
			fmt.Fprintf(&b, "  - name: slo-%03d\n    objective: 99.%d\n", i, 1+i%9)
			job := fmt.Sprintf(`job="%s",handler="/api/v%d"`, svc, i)
			switch i % 4 {
			case 0:
				fmt.Fprintf(&b, "    sli:\n      ratio:\n        errors: http_requests_total{%s,code=~\"5..\"}\n        total: http_requests_total{%s}\n    groupBy: [route]\n", job, job)
			case 1:
				fmt.Fprintf(&b, "    sli:\n      latency:\n        histogram: http_request_duration_seconds{%s}\n        threshold: 250ms\n", job)
			case 2:
				fmt.Fprintf(&b, "    sli:\n      availability:\n        gauge: up{%s}\n", job)
			case 3:
				fmt.Fprintf(&b, "    sli:\n      ratio:\n        good: grpc_server_handled_total{%s,grpc_code=\"OK\"}\n        total: grpc_server_handled_total{%s}\n    alerting:\n      minEvents: 50\n", job, job)
			}
		}
		names = append(names, fmt.Sprintf("%s.yaml", svc))
		contents = append(contents, []byte(b.String()))
	}
	return names, contents
}
