package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneWebhookGC: admission serve raises GOGC and sets a soft memory
// limit, unless the operator set GOGC or GOMEMLIMIT.
func TestTuneWebhookGC(t *testing.T) {
	tests := []struct {
		name, gogc, memlimit string
		wantPercent          int
		wantLimit            int64
	}{
		{"defaults", "", "", 400, 160 << 20},
		{"operator GOGC", "150", "", 150, 160 << 20},
		{"operator GOMEMLIMIT", "", "1GiB", 400, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.memlimit)
			// The runtime read the environment at start: stand in for it.
			oldPercent := debug.SetGCPercent(150)
			oldLimit := debug.SetMemoryLimit(math.MaxInt64)
			defer func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) }()
			if tt.gogc == "" {
				debug.SetGCPercent(100)
			}
			tuneWebhookGC()
			if got := debug.SetGCPercent(oldPercent); got != tt.wantPercent {
				t.Errorf("GOGC = %d, want %d", got, tt.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tt.wantLimit)
			}
		})
	}
}
