package rules

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/slokeeper/slokeeper/slo"
)

// benchSLOs builds n SLOs over n/10 services, cycling through the SLI kinds
// and periods of testSLOs.
func benchSLOs(n int) []slo.SLO {
	base := testSLOs()
	out := make([]slo.SLO, 0, n)
	for i := 0; i < n; i++ {
		s := base[i%len(base)]
		s.Service = fmt.Sprintf("svc-%04d", i/10)
		s.Name = fmt.Sprintf("%s-%d", s.Name, i)
		if i%len(base) == 2 && i%3 == 0 {
			s.Period = slo.Period{Kind: slo.Rolling, Rolling: 30 * 24 * time.Hour}
		}
		out = append(out, s)
	}
	return out
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func maxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux: KiB
}

// BenchmarkGenerate10k generates and marshals the rule files of 10,000
// SLOs spread over 1,000 services, service by service as `slokeeper
// generate` does (target: <= 2 s, <= 300 MiB peak RSS).
func BenchmarkGenerate10k(b *testing.B) {
	slos := benchSLOs(10000)
	b.ReportAllocs()
	var bytes int
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		bytes = 0
		err := GenerateEach(slos, Options{}, func(out *Output) error {
			for _, svc := range out.ServiceNames() {
				y, err := out.MarshalRuleFile(svc)
				if err != nil {
					return err
				}
				bytes += len(y)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(bytes)/(1<<20), "MiB-out")
	b.ReportMetric(maxRSSMiB(), "MiB-maxrss")
}

// BenchmarkGenerateAll10k measures Generate holding all 10,000 SLOs' rules
// in memory at once (no marshalling). Run it alone: max RSS is per process.
func BenchmarkGenerateAll10k(b *testing.B) {
	slos := benchSLOs(10000)
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if _, err := Generate(slos, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
	b.ReportMetric(maxRSSMiB(), "MiB-maxrss")
}
