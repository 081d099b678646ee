package main

import (
	"os"
	"runtime/debug"
)

// Replay allocates a little per event and keeps little live (correlation
// state, held alerts), so at the default GOGC=100 the collector took ~12% of
// the replay's CPU. replayGC lets the heap grow to 3× the live data between
// collections (~6%): memory stays proportional to the live data, which the
// engine's and aggregator's caps bound. No memory limit: near a limit below
// the live data the collector would run continuously. GOGC or GOMEMLIMIT in
// the environment win. The returned func restores the previous setting.
func replayGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(replayGCPercent)
	return func() { debug.SetGCPercent(old) }
}

const replayGCPercent = 200
