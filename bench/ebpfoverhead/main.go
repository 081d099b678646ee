// Command ebpfoverhead measures what the eBPF sensor costs the processes it
// watches: a fork-exec loop of /bin/true and an open/close loop of a
// non-sensitive file, timed with no sensor, with the sensor filtering
// opens in the kernel, and with every open sent to user space (to show
// what the in-kernel filter saves). Modes alternate round by round so load
// from other work on the machine spreads over all of them; the median
// round is reported. Needs root. Run by bench/ebpf-overhead.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/ebpf"
)

type mode struct {
	name   string
	sensor bool
	user   bool
}

var modes = []mode{{"no sensor", false, false}, {"sensor, in-kernel open filter", true, false}, {"sensor, user-space open filter", true, true}}

type result struct {
	spawn, open []float64 // per-second rates, one per round
	// CPU time per operation (µs): the workload's own user+system time,
	// children's included for spawns. Other load on the machine moves
	// wall-clock rates a lot and CPU time much less.
	spawnCPU, openCPU []float64
	events            []float64 // sensor events/s during the spawn loop
	// sensorCore is this process's CPU outside the workload thread (the
	// sensor's user space, plus Go runtime work that the no-sensor mode
	// measures too and is subtracted) as a share of one core during the
	// spawn loop.
	sensorCore []float64
	dropped    uint64
}

func main() {
	spawns := flag.Int("spawns", 5000, "fork-execs of /bin/true per round")
	opens := flag.Int("opens", 200000, "open/close calls per round")
	rounds := flag.Int("rounds", 3, "rounds per mode")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res := make([]result, len(modes))
	for r := 0; r < *rounds; r++ {
		for i, m := range modes {
			if err := round(m, *spawns, *opens, &res[i], log); err != nil {
				fmt.Fprintln(os.Stderr, "ebpfoverhead:", err)
				os.Exit(1)
			}
		}
	}
	base := res[0]
	fmt.Printf("%d fork-execs of /bin/true and %d open/close per round, median of %d rounds\n", *spawns, *opens, *rounds)
	fmt.Println("rates are wall-clock; CPU is the workload's user+sys per operation (overhead vs no sensor)")
	for i, m := range modes {
		s, o := median(res[i].spawn), median(res[i].open)
		sc, oc := median(res[i].spawnCPU), median(res[i].openCPU)
		fmt.Printf("%-32s spawn %6.0f/s (%+6.1f%%) CPU %6.1fµs (%+6.1f%%)   open %7.0f/s (%+6.1f%%) CPU %5.2fµs (%+6.1f%%)",
			m.name, s, pct(s, median(base.spawn)), sc, pct(sc, median(base.spawnCPU)), o, pct(o, median(base.open)), oc, pct(oc, median(base.openCPU)))
		if m.sensor {
			fmt.Printf("   sensor events %4.0f/s using %4.1f%% of a core, dropped %d", median(res[i].events), 100*(median(res[i].sensorCore)-median(base.sensorCore)), res[i].dropped)
		}
		fmt.Println()
	}
}

// pct is the throughput change against the baseline (negative: slower).
func pct(v, base float64) float64 { return (v/base - 1) * 100 }

// cpu is user+system time of who (RUSAGE_THREAD, RUSAGE_CHILDREN).
func cpu(who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(m mode, spawns, opens int, res *result, log *slog.Logger) error {
	var n atomic.Uint64
	var stop func() event.Stats = func() event.Stats { return event.Stats{} }
	if m.sensor {
		s, err := ebpf.New(ebpf.Options{Logger: log, FilterInUserSpace: m.user})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, func(*event.Event) { n.Add(1) }) }()
		stop = func() event.Stats {
			cancel()
			<-done
			st := s.Stats()
			s.Close()
			return st
		}
		time.Sleep(200 * time.Millisecond) // let the reader start
	}
	// One OS thread does the work, so RUSAGE_THREAD is the workload's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n.Store(0)
	th0, ch0, self0 := cpu(unix.RUSAGE_THREAD), cpu(unix.RUSAGE_CHILDREN), cpu(unix.RUSAGE_SELF)
	t0 := time.Now()
	for range spawns {
		if err := exec.Command("/bin/true").Run(); err != nil {
			return fmt.Errorf("run /bin/true: %w", err)
		}
	}
	d := time.Since(t0)
	thUsed := cpu(unix.RUSAGE_THREAD) - th0
	used := thUsed + cpu(unix.RUSAGE_CHILDREN) - ch0
	res.sensorCore = append(res.sensorCore, float64(cpu(unix.RUSAGE_SELF)-self0-thUsed)/float64(d))
	res.spawn = append(res.spawn, float64(spawns)/d.Seconds())
	res.spawnCPU = append(res.spawnCPU, float64(used.Microseconds())/float64(spawns))
	res.events = append(res.events, float64(n.Load())/d.Seconds())
	th0 = cpu(unix.RUSAGE_THREAD)
	t0 = time.Now()
	for range opens {
		fd, err := syscall.Open("/etc/hostname", syscall.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("open: %w", err)
		}
		syscall.Close(fd)
	}
	res.open = append(res.open, float64(opens)/time.Since(t0).Seconds())
	res.openCPU = append(res.openCPU, float64((cpu(unix.RUSAGE_THREAD)-th0).Nanoseconds())/1e3/float64(opens))
	res.dropped += stop().Dropped
	return nil
}
