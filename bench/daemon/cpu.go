package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuSample is the machine's CPU time and that of the benchmark's
// processes, in clock ticks, at one moment: the machine may be shared, and
// what the other processes took is reported with the latencies.
type cpuSample struct {
	busy, total int64 // whole machine (/proc/stat)
	ours        int64 // this process, Prometheus and the daemon
}

func readCPU(pids ...int) cpuSample {
	var s cpuSample
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		for i := 1; i < len(f) && i <= 8; i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			s.total += v
			if i != 4 && i != 5 { // idle, iowait
				s.busy += v
			}
		}
	}
	for _, pid := range append([]int{os.Getpid()}, pids...) {
		s.ours += procTicks(pid)
	}
	return s
}

// procTicks is a process's user and system time (/proc/PID/stat fields 14
// and 15).
func procTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command may hold spaces: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// cpuUse is the share of the machine that was busy between two samples,
// in all and for other processes than the benchmark's, in percent of all
// CPUs.
func cpuUse(a, b cpuSample) (busy, others float64) {
	dt := float64(b.total - a.total)
	if dt <= 0 {
		return 0, 0
	}
	busy = 100 * float64(b.busy-a.busy) / dt
	others = max(0, 100*float64((b.busy-a.busy)-(b.ours-a.ours))/dt)
	return busy, others
}
