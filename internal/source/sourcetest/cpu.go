package sourcetest

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// ThreadCPU measures the CPU time of the benchmark's own thread, which a
// busy shared machine inflates far less than wall time; Stop reports it as
// cpu-ns/op (and per unit, when per > 1, as cpu-ns/<unit>). Background GC
// on other threads is not counted.
type ThreadCPU struct {
	b     *testing.B
	start time.Duration
}

// StartThreadCPU pins the goroutine to its thread and starts measuring.
func StartThreadCPU(b *testing.B) *ThreadCPU {
	runtime.LockOSThread()
	return &ThreadCPU{b: b, start: threadCPU()}
}

// Stop reports the CPU time per op, and per unit when per > 1.
func (c *ThreadCPU) Stop(per int, unit string) {
	d := threadCPU() - c.start
	runtime.UnlockOSThread()
	n := float64(c.b.N)
	c.b.ReportMetric(float64(d.Nanoseconds())/n, "cpu-ns/op")
	if per > 1 {
		c.b.ReportMetric(float64(d.Nanoseconds())/n/float64(per), "cpu-ns/"+unit)
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
