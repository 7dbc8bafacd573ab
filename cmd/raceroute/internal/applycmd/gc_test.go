package applycmd

import (
	"math"
	"runtime/debug"
	"testing"
)

// setGC turns the collector off under a memory limit for a file of known
// size, keeps GOGC=400 for standard input, and leaves alone what GOGC
// or GOMEMLIMIT set.
func TestSetGC(t *testing.T) {
	pct := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	})
	for _, tc := range []struct {
		name        string
		gogc, limit string
		hint        int
		wantPct     int
		wantLimit   int64
	}{
		{name: "a file of 200,000 routes", hint: 200_000, wantPct: -1, wantLimit: 256<<20 + 200_000*4096},
		{name: "standard input", hint: 0, wantPct: 400, wantLimit: math.MaxInt64},
		{name: "GOGC set", gogc: "50", hint: 200_000, wantPct: 100, wantLimit: math.MaxInt64},
		{name: "GOMEMLIMIT set", limit: "1GiB", hint: 200_000, wantPct: 100, wantLimit: math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.limit)
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			setGC(tc.hint)
			if got := debug.SetGCPercent(100); got != tc.wantPct {
				t.Errorf("GC percent %d, want %d", got, tc.wantPct)
			}
			if got := debug.SetMemoryLimit(math.MaxInt64); got != tc.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
