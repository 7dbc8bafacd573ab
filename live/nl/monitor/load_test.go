package monitor_test

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// loadEvents is the size of the storm: RACEROUTE_LOAD_EVENTS, default
// 600,000 (issue 4).
func loadEvents(t *testing.T) int {
	n := 600_000
	if s := os.Getenv("RACEROUTE_LOAD_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 12 {
			t.Fatalf("RACEROUTE_LOAD_EVENTS=%q: want a number >= 12", s)
		}
		n = v
	}
	return n
}

// StormRoutes returns the host routes of a storm of n events: adds of
// 5n/12 routes, replaces of the first 3n/12, deletes of the first 4n/12.
func stormRoutes(n int) (adds, repl, dels []trace.Route) {
	na, nr, nd := n*5/12, n*3/12, n-n*5/12-n*3/12
	adds = make([]trace.Route, na)
	for i := range adds {
		a := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
		adds[i] = trace.Route{Family: 4, Dst: netip.PrefixFrom(a, 32), Gateway: netip.MustParseAddr("10.9.0.2"), Metric: 1024}
	}
	repl = make([]trace.Route, nr)
	for i := range repl {
		repl[i] = adds[i]
		repl[i].Gateway = netip.MustParseAddr("10.9.0.3")
	}
	dels = make([]trace.Route, nd)
	copy(dels, adds)
	copy(dels, repl[:min(nr, nd)])
	return adds, repl, dels
}

// TestLoadStormNothingLost writes a storm of route events in batches
// while two subscriptions follow it: one with the default buffer (32 MiB),
// and one made to overflow (small buffer, deliberately slow consumer
// during the storm). Both must end equal to a fresh dump.
func TestLoadStormNothingLost(t *testing.T) {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	n := loadEvents(t)
	a, _ := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := nl.Options{Netns: a.Name, Families: []int{4}}

	var fastRecs atomic.Uint64
	fastOpts := monitor.Options{Options: opts}
	fastOpts.Handler = func(trace.Record) { fastRecs.Add(1) }
	fast, err := monitor.Subscribe(ctx, fastOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fast.Close() })

	var slowDown atomic.Bool
	slowDown.Store(true)
	var slowCount int
	slowOpts := monitor.Options{Options: opts}
	slowOpts.RcvBuf = 64 << 10
	slowOpts.Queue = 4
	slowOpts.Handler = func(trace.Record) {
		slowCount++
		if slowDown.Load() && slowCount%64 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	slow, err := monitor.Subscribe(ctx, slowOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slow.Close() })

	w, err := write.NewRouteWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	adds, repl, dels := stormRoutes(n)
	start := time.Now()
	for _, step := range []struct {
		op write.Op
		rs []trace.Route
	}{{write.OpAdd, adds}, {write.OpReplace, repl}, {write.OpDelete, dels}} {
		if got, err := w.Write(ctx, step.op, step.rs); err != nil || got != len(step.rs) {
			t.Fatalf("%v: %d of %d routes: %v", step.op, got, len(step.rs), err)
		}
	}
	wrote := time.Since(start)
	slowDown.Store(false)
	waitConverged(t, fast, opts, 60*time.Second)
	fastDone := time.Since(start)
	waitConverged(t, slow, opts, 90*time.Second)
	slowDone := time.Since(start)

	fs, ss := fast.Stats(), slow.Stats()
	t.Logf("storm: %d route events written in %v (%.0f/s)", n, wrote.Round(time.Millisecond), float64(n)/wrote.Seconds())
	t.Logf("default-buffer subscription: %d events, %d drops, %d resyncs (%d differences), view = dump after %v (%.0f events/s)",
		fs.Events, fs.Drops, fs.Resyncs, fs.ResyncRecords, fastDone.Round(time.Millisecond), float64(fs.Events)/fastDone.Seconds())
	t.Logf("overflowing subscription: %d events, %d drops, %d resyncs (%d differences), view = dump after %v",
		ss.Events, ss.Drops, ss.Resyncs, ss.ResyncRecords, slowDone.Round(time.Millisecond))
	if fs.Drops == 0 && fs.Events < uint64(n) {
		t.Errorf("default-buffer subscription saw %d of %d events without reporting a drop", fs.Events, n)
	}
	// Overflows that come while a resync is due are healed by that one
	// resync: at least one resync per run of drops.
	if (fs.Drops > 0) != (fs.Resyncs > 0) || fs.Resyncs > fs.Drops {
		t.Errorf("default-buffer subscription: %d drops but %d resyncs", fs.Drops, fs.Resyncs)
	}
	if ss.Drops == 0 || ss.Resyncs == 0 {
		t.Errorf("the slow subscription never overflowed (stats %+v): the test proves nothing about healing", ss)
	}
	if ss.Resyncs > ss.Drops {
		t.Errorf("slow subscription: %d drops but %d resyncs", ss.Drops, ss.Resyncs)
	}
}
